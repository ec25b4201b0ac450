/**
 * The repository evidence collector: walks the repositories `plimsoll assess --repo` names and counts
 * what a Level 3 organisation keeps in them (every `repo.*` fact of ../facts.ts), each count with the
 * files (and lines) it was seen in.
 *
 * The walk is streamed: each file is judged by its name, and read (once, a bounded number at a time)
 * only when its name says it may hold evidence, so a repository's contents are never held whole. YAML is
 * read document by document, as a scan reads it (src/resources), so that one broken document is a
 * problem with its file and line and the file's other documents still count.
 *
 * A count of 0 cites where it was sought: `<repository>: none in 1,234 files`, one source per
 * repository read (the files its walk looked at), so that a report can say what "none" rests on.
 *
 * Secret values are never read into the result: a plaintext Secret is reported by its path and the line
 * of its `data:` / `stringData:` key, and YAML problems are reported by their reason, never a snippet.
 */
import type { Dirent } from 'node:fs'
import { open, readdir, realpath, stat } from 'node:fs/promises'
import { dirname, join, posix, resolve } from 'node:path'
import { YAMLException } from 'js-yaml'
import { DocumentLocator } from '../../resources/locate.js'
import { DEFAULT_LIMITS, isBinary, loadWithEvents } from '../../resources/parse.js'
import { splitDocuments } from '../../resources/split.js'
import type { PathSegment } from '../../resources/types.js'
import type { CollectedFacts, FactValue } from '../facts.js'

export interface RepoCollectOptions {
  /** Files larger than this are not read (default 2 MiB). */
  maxFileBytes?: number
}

/** The facts this collector produces, in the order of facts.ts. */
export const REPO_FACTS = [
  'ciWorkflows',
  'ciPolicyChecks',
  'ciImageScans',
  'ciTests',
  'testFiles',
  'manifests',
  'helmCharts',
  'kustomizations',
  'gitopsApplications',
  'iacFiles',
  'plaintextSecrets',
  'managedSecrets',
  'alertRules',
  'dashboards',
] as const

type RepoFact = (typeof REPO_FACTS)[number]

const DEFAULT_MAX_FILE_BYTES = 2 * 1024 * 1024
/** Sources listed per fact before "... and N more". */
const MAX_SOURCES = 20
/** Problems listed per repository before "... and N more". */
const MAX_PROBLEMS = 50
/** Files read at once. */
const CONCURRENCY = 16
/** How much of a file over the size limit is read to tell whether it might hold evidence. */
const HEAD_BYTES = 64 * 1024
const SKIPPED_DIRECTORIES = new Set([
  '.git',
  '.hg',
  '.svn',
  'node_modules',
  'vendor',
  'dist',
  'build',
  '.terraform',
])

// --- what a CI definition runs -------------------------------------------------------------------------

/** Policy and configuration checks on manifests. */
const POLICY_TOOLS: readonly RegExp[] = [
  /\b(?:plimsoll|kyverno|conftest|opa|kube-linter|polaris|kubeconform|kubeval|checkov|kubescape|datree|gator)\b/i,
]

/** Container image vulnerability scans. */
const IMAGE_SCANS: readonly RegExp[] = [
  /\b(?:trivy|grype|clair|clairctl)\b/i,
  /\bsnyk\s+container\b/i,
  /\bsnyk\s+test\b[^\n]*\s--docker\b/i,
  /\bsnyk\/actions\/docker\b/i,
  /\bdocker\s+scout\b/i,
  /\bdocker\/scout-action\b/i,
  /\banchore\/scan-action\b/i,
  // GitLab's container scanning template (include: template: Jobs/Container-Scanning.gitlab-ci.yml)
  /\bContainer-Scanning\b/,
]

/** Test runs. */
const TEST_RUNS: readonly RegExp[] = [
  /\b(?:npm|pnpm|yarn|bun)\s+(?:-{1,2}\S+\s+)*(?:run\s+|run-script\s+)?test\b/i,
  /\bnpm\s+(?:t|cit|it|install-test)\b(?!-)/i,
  /\bgo\s+test\b/i,
  /\b(?:pytest|py\.test)\b/i,
  /\b(?:mvn|mvnw)\b[^\n]*?\s(?:test|verify)\b(?!-)/i,
  /\b(?:gradle|gradlew)\b[^\n]*?\s(?:\S*:)?test\b(?!-)/i,
  /\bcargo\s+(?:\+\S+\s+)?(?:test|nextest)\b/i,
  /\bmake\b[^\n]*?\s(?:test|tests)\b(?!-)/i,
  /\bdotnet\s+test\b/i,
  /\brspec\b/i,
  /\b(?:bundle\s+exec\s+)?rake\s+(?:test|spec)\b/i,
  /\b(?:vitest|jest|tox|phpunit|ctest)\b/i,
]

/** Keys whose values a CI definition runs (GitHub Actions, GitLab, CircleCI, Azure, Bitbucket). */
const COMMAND_KEYS = new Set([
  'run',
  'uses',
  'script',
  'before_script',
  'after_script',
  'command',
  'bash',
  'pwsh',
  'powershell',
  'inlineScript',
  'task',
  'template',
  'pipe',
])
/** pre-commit hooks name what they run by these. */
const HOOK_KEYS = new Set(['id', 'repo', 'entry', 'name'])
/** GitLab jobs run what they include or extend (e.g. Plimsoll's template: `extends: .plimsoll-scan`). */
const GITLAB_KEYS = new Set(['remote', 'component', 'extends'])

type CiKind = 'github' | 'gitlab' | 'jenkins' | 'pre-commit' | 'azure' | 'circleci' | 'bitbucket'

function ciKindOf(rel: string, name: string): CiKind | undefined {
  const lower = name.toLowerCase()
  if (rel === `.github/workflows/${name}` || rel.endsWith(`/.github/workflows/${name}`))
    return /\.ya?ml$/i.test(name) ? 'github' : undefined
  if (name === '.gitlab-ci.yml' || name === '.gitlab-ci.yaml') return 'gitlab'
  if (name === 'Jenkinsfile' || name.startsWith('Jenkinsfile.') || lower.endsWith('.jenkinsfile'))
    return 'jenkins'
  if (name === '.pre-commit-config.yaml' || name === '.pre-commit-config.yml') return 'pre-commit'
  if (name === 'azure-pipelines.yml' || name === 'azure-pipelines.yaml') return 'azure'
  if (name === 'bitbucket-pipelines.yml') return 'bitbucket'
  if (
    (name === 'config.yml' || name === 'config.yaml') &&
    (rel === `.circleci/${name}` || rel.endsWith(`/.circleci/${name}`))
  )
    return 'circleci'
  return undefined
}

// --- what a file is, by its name -----------------------------------------------------------------------

const SOURCE_EXTENSIONS =
  /\.(?:ts|tsx|js|jsx|mjs|cjs|mts|cts|py|go|rb|java|kt|kts|scala|rs|cs|fs|php|swift|c|cc|cpp|cxx|h|hpp|ex|exs|clj|groovy|sh|bats)$/i

function isTestFile(rel: string, name: string): boolean {
  if (name.endsWith('_test.go')) return true
  if (/\.test\.(?:ts|js|tsx|jsx|mjs|cjs|mts|cts)$/.test(name)) return true
  if (/\.spec\.[^.]+$/.test(name) && SOURCE_EXTENSIONS.test(name)) return true
  if (/^test_.*\.py$/.test(name) || /_test\.py$/.test(name) || /_spec\.rb$/.test(name)) return true
  return SOURCE_EXTENSIONS.test(name) && /(?:^|\/)(?:test|tests|__tests__)\//.test(rel)
}

const isYamlName = (name: string) => /\.ya?ml$/i.test(name)
const isJsonName = (name: string) => /\.json$/i.test(name)

// --- the result being gathered --------------------------------------------------------------------------

interface Seen {
  path: string
  line?: number
}

class Tally {
  readonly found = new Map<RepoFact, Seen[]>(REPO_FACTS.map((f) => [f, []]))
  add(fact: RepoFact, path: string, line?: number): void {
    this.found.get(fact)!.push(line === undefined ? { path } : { path, line })
  }
}

function bySource(a: Seen, b: Seen): number {
  if (a.path !== b.path) return a.path < b.path ? -1 : 1
  return (a.line ?? 0) - (b.line ?? 0)
}

/** How many files the walk of a repository looked at: what a count of 0 was sought in. */
interface Walked {
  /** the repository path as given */
  repo: string
  files: number
}

/**
 * A count with the files (and lines) it was seen in; a count of 0 with where it was sought: each
 * repository read and how many files of it were looked at.
 */
function factValue(seen: Seen[], walkedRepos: readonly Walked[]): FactValue {
  if (seen.length === 0)
    return {
      value: 0,
      sources: walkedRepos.map(
        (w) => `${w.repo}: none in ${w.files.toLocaleString('en-US')} file${w.files === 1 ? '' : 's'}`,
      ),
    }
  seen.sort(bySource)
  const sources = seen
    .slice(0, MAX_SOURCES)
    .map((s) => (s.line === undefined ? s.path : `${s.path}:${s.line}`))
  if (seen.length > MAX_SOURCES) sources.push(`... and ${seen.length - MAX_SOURCES} more`)
  return { value: seen.length, sources }
}

/** One repository's problems, bounded. */
class Problems {
  readonly list: string[] = []
  private over = 0
  constructor(private readonly all: string[]) {}
  add(message: string): void {
    if (this.list.length < MAX_PROBLEMS) this.list.push(message)
    else this.over++
  }
  flush(repo: string): void {
    this.all.push(...this.list)
    if (this.over > 0) this.all.push(`repository ${repo}: ... and ${this.over} more problems`)
  }
}

/** Runs at most `limit` tasks at once; `run` waits while all slots are taken. */
class Pool {
  private active = 0
  private waiting: (() => void)[] = []
  private idle: (() => void)[] = []
  private failure: unknown
  constructor(private readonly limit: number) {}
  async run(task: () => Promise<void>): Promise<void> {
    while (this.active >= this.limit) await new Promise<void>((r) => this.waiting.push(r))
    this.active++
    task()
      .catch((err) => {
        this.failure ??= err
      })
      .finally(() => {
        this.active--
        this.waiting.shift()?.()
        if (this.active === 0) for (const r of this.idle.splice(0)) r()
      })
  }
  async drain(): Promise<void> {
    while (this.active > 0) await new Promise<void>((r) => this.idle.push(r))
    if (this.failure) throw this.failure
  }
}

// --- reading YAML and JSON -------------------------------------------------------------------------------

/** One YAML document (or JSON file) of a file, with what it takes to say where a field of it is. */
interface Doc {
  value: unknown
  /** 1-based line in the file of the node at `path` (a field: its key). */
  line(path: readonly PathSegment[]): number
  /** 1-based line in the file of the first line at or after `from` that holds `needle`, if any. */
  find(needle: string, from: number): number | undefined
}

function makeDoc(value: unknown, text: string, lineOffset: number, locator: DocumentLocator): Doc {
  let lines: string[] | undefined
  return {
    value,
    line: (path) => locator.locate(path).line,
    find(needle, from) {
      lines ??= text.split('\n')
      for (let i = Math.max(0, from - lineOffset - 1); i < lines.length; i++)
        if (lines[i]!.includes(needle)) return i + lineOffset + 1
      return undefined
    },
  }
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v)

/**
 * The documents of a YAML or JSON file. A document that is not YAML is a problem naming the file and
 * the line (said only where it matters: not in a Helm template, which is not YAML until rendered).
 */
function readDocuments(
  display: string,
  text: string,
  json: boolean,
  templated: boolean,
  problem: (message: string) => void,
): Doc[] {
  if (text.charCodeAt(0) === 0xfeff) text = ` ${text.slice(1)}`
  if (json) {
    try {
      const value = JSON.parse(text)
      return [makeDoc(value, text, 0, new DocumentLocator(text, 0))]
    } catch {
      // not JSON: the YAML reader (a superset) says where the problem is
    }
  }
  const docs: Doc[] = []
  for (const chunk of splitDocuments(text)) {
    try {
      const { value, events } = loadWithEvents(chunk.text, display, DEFAULT_LIMITS)
      if (value === null || value === undefined) continue
      docs.push(
        makeDoc(value, chunk.text, chunk.startLine, new DocumentLocator(chunk.text, chunk.startLine, events)),
      )
    } catch (err) {
      if (templated || chunk.text.includes('{{')) continue
      const syntax = json ? 'JSON' : 'YAML'
      if (err instanceof YAMLException) {
        const line = chunk.startLine + (err.mark ? err.mark.line : 0) + 1
        problem(`${display}:${line}: invalid ${syntax}: ${err.reason || 'cannot be read'}`)
      } else {
        problem(
          `${display}:${chunk.startLine + 1}: invalid ${syntax}: ${(err as Error).message.split('\n')[0]}`,
        )
      }
    }
  }
  return docs
}

/** Whether a text might hold evidence worth parsing it for. */
function mightHoldEvidence(text: string): boolean {
  return (
    text.includes('apiVersion') ||
    text.includes('sops') ||
    text.includes('panels') ||
    (text.includes('groups') && text.includes('alert'))
  )
}

// --- what a document is ----------------------------------------------------------------------------------

const GITOPS: Record<string, readonly string[]> = {
  'argoproj.io': ['Application', 'ApplicationSet'],
  'kustomize.toolkit.fluxcd.io': ['Kustomization'],
  'helm.toolkit.fluxcd.io': ['HelmRelease'],
  'source.toolkit.fluxcd.io': ['GitRepository', 'OCIRepository', 'HelmRepository'],
}
const CROSSPLANE: Record<string, readonly string[]> = {
  'apiextensions.crossplane.io': ['Composition', 'CompositeResourceDefinition'],
  'pkg.crossplane.io': ['Provider', 'Configuration', 'Function'],
}
const MANAGED_SECRETS: Record<string, readonly string[]> = {
  'bitnami.com': ['SealedSecret'],
  'external-secrets.io': ['ExternalSecret', 'ClusterExternalSecret', 'SecretStore', 'ClusterSecretStore'],
  'secrets-store.csi.x-k8s.io': ['SecretProviderClass'],
  'secrets.hashicorp.com': ['VaultStaticSecret', 'VaultDynamicSecret', 'VaultPKISecret'],
}
/** Kustomize's own configuration: not a resource for a cluster. */
const NOT_RESOURCES = new Set(['kustomize.config.k8s.io'])

const groupOf = (apiVersion: string) =>
  apiVersion.includes('/') ? apiVersion.slice(0, apiVersion.indexOf('/')) : ''
const isKind = (table: Record<string, readonly string[]>, group: string, kind: string) =>
  table[group]?.includes(kind) ?? false

function hasAlertRule(groups: unknown): boolean {
  return (
    Array.isArray(groups) &&
    groups.some(
      (g) => isObject(g) && Array.isArray(g.rules) && g.rules.some((r) => isObject(r) && 'alert' in r),
    )
  )
}

function isDashboardJson(v: unknown): boolean {
  if (!isObject(v)) return false
  if (Array.isArray(v.panels) && ('schemaVersion' in v || 'title' in v)) return true
  // the API's export form: {"dashboard": {...}, "overwrite": true}
  return isObject(v.dashboard) && Array.isArray(v.dashboard.panels) && !('apiVersion' in v)
}

const nonEmptyMap = (v: unknown) => isObject(v) && Object.keys(v).length > 0

/** A SOPS-encrypted document: a top-level `sops:` map with its `mac`. */
const isSops = (v: unknown) => isObject(v) && isObject(v.sops) && 'mac' in v.sops

function classifyObject(
  obj: Record<string, unknown>,
  at: readonly PathSegment[],
  doc: Doc,
  path: string,
  encrypted: boolean,
  tally: Tally,
): void {
  const { apiVersion, kind } = obj
  if (typeof apiVersion !== 'string' || typeof kind !== 'string') return
  const group = groupOf(apiVersion)
  if (kind.endsWith('List') && Array.isArray(obj.items)) {
    obj.items.forEach((item, i) => {
      if (isObject(item)) classifyObject(item, [...at, 'items', i], doc, path, encrypted, tally)
    })
    return
  }
  if (NOT_RESOURCES.has(group)) return
  const line = doc.line(at)
  tally.add('manifests', path, line)
  if (isKind(GITOPS, group, kind)) tally.add('gitopsApplications', path, line)
  else if (isKind(CROSSPLANE, group, kind)) tally.add('iacFiles', path, line)
  else if (isKind(MANAGED_SECRETS, group, kind)) tally.add('managedSecrets', path, line)
  else if (group === '' && kind === 'Secret' && !encrypted) {
    const key = nonEmptyMap(obj.data) ? 'data' : nonEmptyMap(obj.stringData) ? 'stringData' : undefined
    if (key) tally.add('plaintextSecrets', path, doc.line([...at, key]))
  } else if (group === 'monitoring.coreos.com' && kind === 'PrometheusRule') {
    if (isObject(obj.spec) && hasAlertRule(obj.spec.groups)) tally.add('alertRules', path, line)
  } else if (group === 'grafana.integreatly.org' && kind === 'GrafanaDashboard')
    tally.add('dashboards', path, line)
  else if (group === '' && kind === 'ConfigMap') {
    const labels = isObject(obj.metadata) ? obj.metadata.labels : undefined
    if (isObject(labels) && 'grafana_dashboard' in labels) tally.add('dashboards', path, line)
  }
}

function classifyDocuments(docs: readonly Doc[], path: string, name: string, tally: Tally): void {
  // SOPS encrypts each document of a file; one that is encrypted makes the file a managed secret.
  const sops = docs.find((d) => isSops(d.value))
  if (sops) tally.add('managedSecrets', path, sops.line(['sops']))
  if (name === 'Chart.yaml') {
    const chart = docs[0]?.value
    if (
      isObject(chart) &&
      (chart.apiVersion === 'v1' || chart.apiVersion === 'v2') &&
      typeof chart.name === 'string'
    )
      tally.add('helmCharts', path)
    return
  }
  for (const doc of docs) {
    const v = doc.value
    if (!isObject(v)) continue
    if (typeof v.apiVersion === 'string' && typeof v.kind === 'string') {
      classifyObject(v, [], doc, path, sops !== undefined, tally)
    } else if (hasAlertRule(v.groups)) {
      tally.add('alertRules', path, doc.line(['groups']))
    } else if (isDashboardJson(v)) {
      tally.add('dashboards', path, doc.line([]))
    }
  }
}

// --- what a CI definition runs ---------------------------------------------------------------------------

/** A command a CI definition runs, and where its text starts. */
interface Command {
  text: string
  /** line of its key (YAML) or of its first character (Jenkinsfile) */
  line: number
  /** for YAML: the document, to find the line of the matching text */
  doc?: Doc
}

/** Shell comments blanked (a `#` at the start of a line or after a blank), so that only commands match. */
function withoutShellComments(text: string): string {
  return text.replace(/(^|[ \t])#[^\n]*/g, (m, lead: string) => lead + ' '.repeat(m.length - lead.length))
}

function yamlCommands(docs: readonly Doc[], kind: CiKind): Command[] {
  const commands: Command[] = []
  const keys =
    kind === 'pre-commit'
      ? new Set([...COMMAND_KEYS, ...HOOK_KEYS])
      : kind === 'gitlab'
        ? new Set([...COMMAND_KEYS, ...GITLAB_KEYS])
        : COMMAND_KEYS
  const visit = (v: unknown, path: PathSegment[], doc: Doc, depth: number, key: string | undefined) => {
    if (depth > 64) return
    if (typeof v === 'string') {
      if (key !== undefined && keys.has(key)) commands.push({ text: v, line: doc.line(path), doc })
    } else if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) visit(v[i], [...path, i], doc, depth + 1, key)
    } else if (isObject(v)) {
      for (const [k, child] of Object.entries(v)) visit(child, [...path, k], doc, depth + 1, k)
    }
  }
  for (const doc of docs) visit(doc.value, [], doc, 0, undefined)
  return commands
}

/**
 * The strings a Jenkinsfile's `sh`, `bat` and `powershell` steps run, with their lines; comments and
 * other strings are not commands.
 */
function jenkinsCommands(source: string): Command[] {
  const commands: Command[] = []
  let code = '' // the code before the current point, comments dropped and strings as ""
  let line = 1
  let i = 0
  const n = source.length
  const step =
    /\b(?:sh|bat|powershell|pwsh)\b[\s(]*(?:(?:label|returnStdout|returnStatus|encoding)\s*:\s*[^,]*,\s*)*(?:script\s*:\s*)?$/
  while (i < n) {
    const c = source[i]!
    if (c === '\n') line++
    if (c === '/' && source[i + 1] === '/') {
      while (i < n && source[i] !== '\n') i++
      continue
    }
    if (c === '/' && source[i + 1] === '*') {
      const end = source.indexOf('*/', i + 2)
      const stop = end < 0 ? n : end + 2
      for (let k = i; k < stop; k++) if (source[k] === '\n') line++
      i = stop
      code += ' '
      continue
    }
    if (c === "'" || c === '"') {
      const quote = source.startsWith(c.repeat(3), i) ? c.repeat(3) : c
      const start = i + quote.length
      let k = start
      while (k < n && !source.startsWith(quote, k)) {
        if (source[k] === '\\') k++
        else if (quote.length === 1 && source[k] === '\n') break
        k++
      }
      const text = source.slice(start, Math.min(k, n))
      if (step.test(code.slice(-200))) commands.push({ text, line })
      for (let m = i; m < Math.min(k, n); m++) if (source[m] === '\n') line++
      i = Math.min(k + quote.length, n)
      code += '""'
      continue
    }
    code += c === '\n' ? ' ' : c
    if (code.length > 400) code = code.slice(-200)
    i++
  }
  return commands
}

/** The line of the first command matching any of `patterns`, or undefined. */
function firstMatch(commands: readonly Command[], patterns: readonly RegExp[]): number | undefined {
  let best: number | undefined
  for (const command of commands) {
    const text = withoutShellComments(command.text)
    for (const pattern of patterns) {
      const m = pattern.exec(text)
      if (!m) continue
      let line: number
      const before = text.slice(0, m.index)
      const offset = (before.match(/\n/g) ?? []).length
      if (command.doc) {
        // the command's own line in the file: the source line holding the matching line's text
        const lineText = command.text.split('\n')[offset]!.trim()
        line = (lineText && command.doc.find(lineText, command.line)) || command.line
      } else {
        line = command.line + offset
      }
      if (best === undefined || line < best) best = line
    }
  }
  return best
}

function tallyCi(commands: readonly Command[], path: string, tally: Tally): void {
  const policy = firstMatch(commands, POLICY_TOOLS)
  if (policy !== undefined) tally.add('ciPolicyChecks', path, policy)
  const scan = firstMatch(commands, IMAGE_SCANS)
  if (scan !== undefined) tally.add('ciImageScans', path, scan)
  const tests = firstMatch(commands, TEST_RUNS)
  if (tests !== undefined) tally.add('ciTests', path, tests)
}

/** The local files a .gitlab-ci.yml includes (`include: path`, `include: [{local: path}]`). */
function gitlabLocalIncludes(docs: readonly Doc[]): string[] {
  const found: string[] = []
  for (const doc of docs) {
    if (!isObject(doc.value)) continue
    const include = doc.value.include
    for (const item of Array.isArray(include) ? include : [include]) {
      const local = typeof item === 'string' ? item : isObject(item) ? item.local : undefined
      if (typeof local === 'string' && !/^[a-z]+:\/\//i.test(local) && !local.includes('*')) found.push(local)
    }
  }
  return found
}

// --- the walk --------------------------------------------------------------------------------------------

interface Context {
  tally: Tally
  problems: Problems
  /** the repository path as given, prefixed to every source */
  prefix: string
  maxFileBytes: number
  pool: Pool
  /** real paths of directories walked, across repositories: a repository inside another is read once */
  walked: Set<string>
  /** CI definitions read, by absolute path (for GitLab includes) */
  ciFiles: Set<string>
  /** GitLab local includes to read after the walk, by absolute path */
  includes: Map<string, Include>
  /** files the walk of this repository looked at (by name, and read when the name says so) */
  files: number
}

const display = (ctx: Context, rel: string) =>
  ctx.prefix === '' ? rel : ctx.prefix.endsWith('/') ? `${ctx.prefix}${rel}` : `${ctx.prefix}/${rel}`

/** A file a .gitlab-ci.yml includes: its path, and the directory its own includes are relative to. */
interface Include {
  abs: string
  rel: string
  baseAbs: string
  baseRel: string
}

function addIncludes(ctx: Context, docs: readonly Doc[], baseAbs: string, baseRel: string): void {
  for (const include of gitlabLocalIncludes(docs)) {
    const local = include.replace(/^\/+/, '')
    const abs = join(baseAbs, local)
    if (!ctx.includes.has(abs))
      ctx.includes.set(abs, {
        abs,
        rel: baseRel === '' ? local : posix.join(baseRel, local),
        baseAbs,
        baseRel,
      })
  }
}

interface FileRead {
  text?: string
  /** over the size limit: the head read to tell whether it matters */
  tooLarge?: number
}

async function readBounded(abs: string, max: number): Promise<FileRead> {
  const handle = await open(abs, 'r')
  try {
    const { size } = await handle.stat()
    if (size > max) {
      const head = Buffer.alloc(Math.min(HEAD_BYTES, size))
      const { bytesRead } = await handle.read(head, 0, head.length, 0)
      return { text: head.toString('utf8', 0, bytesRead), tooLarge: size }
    }
    return { text: (await handle.readFile()).toString('utf8') }
  } finally {
    await handle.close()
  }
}

function explain(err: unknown): string {
  const { code, message } = err as NodeJS.ErrnoException
  if (code === 'ENOENT') return 'no such file or directory'
  if (code === 'EACCES' || code === 'EPERM') return `permission denied (${code})`
  return code ?? message
}

async function processFile(ctx: Context, abs: string, rel: string, name: string, templated: boolean) {
  const path = display(ctx, rel)
  const ci = ciKindOf(rel, name)
  const yaml = isYamlName(name)
  const json = isJsonName(name)
  if (ci) ctx.tally.add('ciWorkflows', path)
  if (!ci && !yaml && !json) return
  let read: FileRead
  try {
    read = await readBounded(abs, ctx.maxFileBytes)
  } catch (err) {
    ctx.problems.add(`${path}: cannot read: ${explain(err)}`)
    return
  }
  const text = read.text ?? ''
  if (read.tooLarge !== undefined) {
    if (ci || mightHoldEvidence(text))
      ctx.problems.add(`${path}: not read: ${read.tooLarge} bytes, over the ${ctx.maxFileBytes}-byte limit`)
    return
  }
  if (isBinary(text)) return
  if (ci === 'jenkins') {
    tallyCi(jenkinsCommands(text), path, ctx.tally)
    return
  }
  if (!ci && !mightHoldEvidence(text)) return
  const docs = readDocuments(path, text, json, templated, (m) => ctx.problems.add(m))
  if (ci) {
    ctx.ciFiles.add(abs)
    tallyCi(yamlCommands(docs, ci), path, ctx.tally)
    if (ci === 'gitlab') {
      const baseRel = posix.dirname(rel)
      addIncludes(ctx, docs, dirname(abs), baseRel === '.' ? '' : baseRel)
    }
  }
  classifyDocuments(docs, path, name, ctx.tally)
}

/** A GitLab include, read after the walk: a CI definition of its own, unless the walk read it as one. */
async function processInclude(ctx: Context, { abs, rel, baseAbs, baseRel }: Include): Promise<void> {
  if (ctx.ciFiles.has(abs)) return
  ctx.ciFiles.add(abs)
  const path = display(ctx, rel)
  let read: FileRead
  try {
    read = await readBounded(abs, ctx.maxFileBytes)
  } catch (err) {
    ctx.problems.add(`${path}: included by .gitlab-ci.yml, cannot read: ${explain(err)}`)
    return
  }
  if (read.tooLarge !== undefined) {
    ctx.problems.add(`${path}: not read: ${read.tooLarge} bytes, over the ${ctx.maxFileBytes}-byte limit`)
    return
  }
  ctx.tally.add('ciWorkflows', path)
  const docs = readDocuments(path, read.text ?? '', false, false, (m) => ctx.problems.add(m))
  tallyCi(yamlCommands(docs, 'gitlab'), path, ctx.tally)
  addIncludes(ctx, docs, baseAbs, baseRel)
}

async function walk(ctx: Context, abs: string, rel: string, templated: boolean): Promise<void> {
  if (ctx.walked.has(abs)) return
  ctx.walked.add(abs)
  let entries: Dirent[]
  try {
    entries = await readdir(abs, { withFileTypes: true })
  } catch (err) {
    ctx.problems.add(`${display(ctx, rel || '.')}: cannot read directory: ${explain(err)}`)
    return
  }
  const chart = entries.some((e) => e.name === 'Chart.yaml' && e.isFile())
  for (const entry of entries) {
    const { name } = entry
    const childAbs = join(abs, name)
    const childRel = rel === '' ? name : `${rel}/${name}`
    if (entry.isDirectory()) {
      if (SKIPPED_DIRECTORIES.has(name)) continue
      await walk(ctx, childAbs, childRel, templated || (chart && name === 'templates'))
      continue
    }
    let isFile = entry.isFile()
    if (entry.isSymbolicLink()) {
      // a link to a file is read as the file; a link to a directory is not followed (no loops)
      isFile = await stat(childAbs).then(
        (s) => s.isFile(),
        () => false,
      )
    }
    if (!isFile) continue
    ctx.files++
    // by name alone
    if (isTestFile(childRel, name)) ctx.tally.add('testFiles', display(ctx, childRel))
    if (name.endsWith('.tf') || name.endsWith('.tf.json')) ctx.tally.add('iacFiles', display(ctx, childRel))
    if (name === 'kustomization.yaml' || name === 'kustomization.yml' || name === 'Kustomization')
      ctx.tally.add('kustomizations', display(ctx, childRel))
    if (name === '.sops.yaml' || name === '.sops.yml') {
      ctx.tally.add('managedSecrets', display(ctx, childRel))
      continue
    }
    if (name.endsWith('.tf.json')) continue
    await ctx.pool.run(() =>
      processFile(ctx, childAbs, childRel, name, templated).catch((err: unknown) => {
        // one file that cannot be judged is said, and the walk goes on
        ctx.problems.add(
          `${display(ctx, childRel)}: cannot be read: ${(err as Error)?.message ?? String(err)}`,
        )
      }),
    )
  }
}

/**
 * Every `repo.*` fact over the repositories at `paths` (directories). A path that cannot be read is a
 * problem and the others go on; when none can be read there are no facts (unknown), only problems.
 */
export async function collectRepoFacts(
  paths: readonly string[],
  options: RepoCollectOptions = {},
): Promise<CollectedFacts> {
  const tally = new Tally()
  const problems: string[] = []
  const walked = new Set<string>()
  const walkedRepos: Walked[] = []
  let read = 0
  for (const given of paths) {
    let info: Awaited<ReturnType<typeof stat>>
    try {
      info = await stat(given)
    } catch (err) {
      const { code } = err as NodeJS.ErrnoException
      problems.push(`repository ${given}: ${code === 'ENOENT' ? 'no such directory' : explain(err)}`)
      continue
    }
    if (!info.isDirectory()) {
      problems.push(`repository ${given}: not a directory`)
      continue
    }
    const root = await realpath(given).catch(() => resolve(given))
    if (walked.has(root)) {
      read++
      continue
    }
    const repoProblems = new Problems(problems)
    const ctx: Context = {
      tally,
      problems: repoProblems,
      prefix: given === '.' || given === './' ? '' : given,
      maxFileBytes: options.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES,
      pool: new Pool(CONCURRENCY),
      walked,
      ciFiles: new Set(),
      includes: new Map(),
      files: 0,
    }
    let readable = true
    try {
      await readdir(root)
    } catch (err) {
      problems.push(`repository ${given}: cannot read directory: ${explain(err)}`)
      readable = false
    }
    if (!readable) continue
    read++
    await walk(ctx, root, '', false)
    await ctx.pool.drain()
    // includes of includes are added to the map as it is iterated, and visited in turn
    for (const include of ctx.includes.values()) await processInclude(ctx, include)
    repoProblems.flush(given)
    walkedRepos.push({ repo: given, files: ctx.files })
  }
  const facts = new Map<string, FactValue>()
  if (read > 0)
    for (const fact of REPO_FACTS) facts.set(`repo.${fact}`, factValue(tally.found.get(fact)!, walkedRepos))
  return { facts, problems }
}
