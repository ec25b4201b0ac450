/**
 * The CI integrations run Plimsoll as docs/ci.md says: the GitHub Action (action.yml), the GitLab CI
 * template and the pre-commit hook. Their scripts are run for real, with their default settings, against
 * a copy of examples/, on the built binary (`npm test` builds first).
 */
import { spawnSync } from 'node:child_process'
import {
  chmodSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, relative, resolve, sep } from 'node:path'
import { load } from 'js-yaml'
import { describe, expect, it } from 'vitest'
import { BIN, run } from '../helpers/cli.js'

const ROOT = resolve(import.meta.dirname, '..', '..')
const readRoot = (path: string) => readFileSync(join(ROOT, path), 'utf8')
const pkg = JSON.parse(readRoot('package.json')) as { version: string; bin: Record<string, string> }

/** A fresh directory holding a copy of examples/, like a checked-out repository. */
function workspace(): string {
  const ws = mkdtempSync(join(tmpdir(), 'plimsoll-ci-'))
  cpSync(join(ROOT, 'examples'), join(ws, 'examples'), { recursive: true })
  return ws
}

/** "Scanned 40 resources in 17 files" from a text report. */
function scanned(stdout: string): string | undefined {
  return /Scanned \d+ resources? in \d+ files?/.exec(stdout)?.[0]
}

/** What a plain `plimsoll scan <ws>/examples/` reads: the whole estate, to compare an integration's scan with. */
function wholeEstate(ws: string): string | undefined {
  return scanned(run(['scan', join(ws, 'examples'), '--fail-on', 'none']).stdout)
}

/** A baseline of every finding in examples/, as `--baseline-write` records it. */
function writeBaseline(ws: string): string {
  const file = join(ws, 'baseline.json')
  expect(run(['scan', join(ws, 'examples'), '--baseline-write', file, '--fail-on', 'none']).code).toBe(0)
  return file
}

/** An exceptions file that excepts every finding. */
function writeExceptAll(ws: string): string {
  const file = join(ws, 'except-all.yaml')
  writeFileSync(
    file,
    `apiVersion: plimsoll.dev/v1
kind: ExceptionList
exceptions:
  - checks: ["*"]
    owner: platform@example.com
    reason: the example estate is broken on purpose
    expires: 2999-12-31
`,
  )
  return file
}

// ---------------------------------------------------------------------------------------------------------
// GitHub Action

interface ActionStep {
  name?: string
  id?: string
  if?: string
  uses?: string
  shell?: string
  run?: string
  env?: Record<string, string>
  with?: Record<string, string>
}

interface Action {
  name: string
  inputs: Record<string, { description: string; default?: string; required?: boolean }>
  outputs: Record<string, { description: string; value: string }>
  runs: { using: string; steps: ActionStep[] }
}

const actionText = readRoot('action.yml')
const action = load(actionText) as Action

function actionStep(id: string): ActionStep {
  const step = action.runs.steps.find((s) => s.id === id)
  if (!step) throw new Error(`action.yml has no step with id ${id}`)
  return step
}

/** `${{ <e> }}`, an expression as the workflow file writes it. */
const expression = (e: string) => `\${{ ${e} }}`

const EXPRESSION = /\$\{\{\s*(.*?)\s*\}\}/g

/** The expressions of the action: every `${{ }}` and every step's `if:` (an expression without them). */
function expressions(): string[] {
  const found = [...actionText.matchAll(EXPRESSION)].map((m) => m[1]!)
  for (const step of action.runs.steps) if (step.if) found.push(step.if)
  return found
}

interface Context {
  inputs: Record<string, string>
  steps: Record<string, Record<string, string>>
}

function defaultInputs(overrides: Record<string, string> = {}): Record<string, string> {
  for (const name of Object.keys(overrides)) expect(action.inputs, name).toHaveProperty(name)
  const inputs: Record<string, string> = {}
  for (const [name, input] of Object.entries(action.inputs)) inputs[name] = input.default ?? ''
  return { ...inputs, ...overrides }
}

/** Substitutes the only expressions a step's `env:` may hold: inputs and earlier steps' outputs. */
function evaluate(value: string, ctx: Context): string {
  return value.replace(EXPRESSION, (_, expr: string) => {
    const input = /^inputs\.([\w-]+)$/.exec(expr)
    if (input) return ctx.inputs[input[1]!] ?? ''
    const output = /^steps\.([\w-]+)\.outputs\.([\w-]+)$/.exec(expr)
    if (output) return ctx.steps[output[1]!]?.[output[2]!] ?? ''
    throw new Error(`unexpected expression in a step's env: ${expr}`)
  })
}

/** Runs one `run:` step as the runner does (`bash --noprofile --norc -eo pipefail script`). */
function runActionStep(id: string, ctx: Context, ws: string) {
  const step = actionStep(id)
  expect(step.shell).toBe('bash')
  const temp = join(ws, '_runner_temp')
  mkdirSync(temp, { recursive: true })
  const script = join(temp, `step-${id}.sh`)
  const outputFile = join(temp, `output-${id}`)
  const summaryFile = join(temp, `summary-${id}`)
  writeFileSync(script, step.run!)
  writeFileSync(outputFile, '')
  writeFileSync(summaryFile, '')
  const env: Record<string, string> = {}
  for (const [name, value] of Object.entries(step.env ?? {})) env[name] = evaluate(String(value), ctx)
  const r = spawnSync('bash', ['--noprofile', '--norc', '-eo', 'pipefail', script], {
    cwd: ws,
    encoding: 'utf8',
    env: {
      ...process.env,
      NO_COLOR: '1',
      RUNNER_TEMP: temp,
      GITHUB_ACTION_PATH: ROOT,
      GITHUB_OUTPUT: outputFile,
      GITHUB_STEP_SUMMARY: summaryFile,
      ...env,
    },
  })
  const outputs: Record<string, string> = {}
  for (const line of readFileSync(outputFile, 'utf8').split('\n')) {
    const eq = line.indexOf('=')
    if (eq > 0) outputs[line.slice(0, eq)] = line.slice(eq + 1)
  }
  ctx.steps[id] = outputs
  return {
    code: r.status,
    stdout: r.stdout,
    stderr: r.stderr,
    outputs,
    summary: readFileSync(summaryFile, 'utf8'),
  }
}

/** Install, scan and the final exit, as a workflow runs the action (the upload cannot run here). */
function runAction(overrides: Record<string, string>, ws = workspace()) {
  const ctx: Context = { inputs: defaultInputs(overrides), steps: {} }
  const install = runActionStep('install', ctx, ws)
  expect(install.code, install.stderr).toBe(0)
  const scan = runActionStep('scan', ctx, ws)
  expect(scan.code, scan.stderr).toBe(0)
  const exit = runActionStep('exit', ctx, ws)
  return { ws, install, scan, exit }
}

describe('the GitHub Action (action.yml)', () => {
  it('is a composite action whose inputs are declared, described, used and never interpolated into scripts', () => {
    expect(action.runs.using).toBe('composite')
    const declared = Object.keys(action.inputs)
    expect(declared).toEqual(
      expect.arrayContaining([
        'path',
        'fail-on',
        'framework',
        'baseline',
        'exceptions',
        'args',
        'sarif-file',
        'upload-sarif',
        'version',
      ]),
    )
    for (const [name, input] of Object.entries(action.inputs)) {
      expect(input.description, name).toBeTruthy()
      expect(input, name).toHaveProperty('default')
    }
    const referenced = new Set<string>()
    for (const expr of expressions())
      for (const m of expr.matchAll(/\binputs\.([\w-]+)/g)) referenced.add(m[1]!)
    expect([...referenced].filter((name) => !declared.includes(name))).toEqual([])
    expect(declared.filter((name) => !referenced.has(name))).toEqual([])
    // Inputs reach scripts through env: only; a `${{ }}` in a script would be pasted into the shell code.
    for (const step of action.runs.steps) if (step.run) expect(step.run, step.name).not.toContain('${{')
    for (const step of action.runs.steps)
      for (const value of Object.values(step.env ?? {}))
        for (const m of String(value).matchAll(EXPRESSION))
          expect(m[1], step.name).toMatch(/^(inputs\.[\w-]+|steps\.[\w-]+\.outputs\.[\w-]+)$/)
    expect(action.inputs.path!.default).toBe('.')
    expect(action.inputs['fail-on']!.default).toBe('high')
    expect(action.inputs['sarif-file']!.default).toBe('plimsoll.sarif')
    expect(action.inputs['upload-sarif']!.default).toBe('true')
  })

  it('sets up Node 20 when the runner lacks it, and uploads the SARIF file whatever the exit code', () => {
    const setup = action.runs.steps.find((s) => s.uses?.startsWith('actions/setup-node@'))
    expect(setup?.with?.['node-version']).toBe(20)
    const upload = action.runs.steps.find((s) => s.uses?.startsWith('github/codeql-action/upload-sarif@'))
    expect(upload?.uses).toBe('github/codeql-action/upload-sarif@v3')
    expect(upload?.if).toContain('always()')
    expect(upload?.if).toContain("inputs.upload-sarif == 'true'")
    expect(upload?.if).toContain("steps.scan.outputs.sarif-file != ''")
    expect(upload?.with?.sarif_file).toBe(expression('steps.scan.outputs.sarif-file'))
    // Upload comes after the scan and before the step that exits with the scan's code.
    const order = action.runs.steps.map((s) => s.id ?? s.uses)
    expect(order.indexOf('scan')).toBeLessThan(order.indexOf(upload!.uses))
    expect(order.indexOf(upload!.uses)).toBeLessThan(order.indexOf('exit'))
    expect(actionStep('exit').if).toContain('always()')
    expect(action.outputs['exit-code']!.value).toBe(expression('steps.scan.outputs.exit-code'))
  })

  it('without `version`, runs the checkout it was loaded from', () => {
    const { install } = runAction({ path: 'examples' })
    expect(install.outputs.bin).toBe(join(ROOT, pkg.bin.plimsoll!))
    expect(install.stdout).toContain(`plimsoll ${pkg.version}`)
  })

  it('refuses a `version` that is not an npm version or dist-tag, before running npm', () => {
    for (const version of ['1.0.0 --registry=https://example.com', '../plimsoll', '-1', 'a;b']) {
      const ws = workspace()
      const r = runActionStep('install', { inputs: defaultInputs({ version }), steps: {} }, ws)
      expect(r.code, version).toBe(2)
      expect(r.stdout).toContain('::error title=plimsoll::version')
      expect(existsSync(join(ws, '_runner_temp', 'plimsoll-npm'))).toBe(false)
    }
  })

  it('with its defaults: text in the log, annotations, a job summary and SARIF; fails on high findings', () => {
    const { ws, scan, exit } = runAction({ path: 'examples' })
    expect(scan.outputs['exit-code']).toBe('1')
    expect(exit.code).toBe(1)
    // The text report is printed with workflow commands stopped; the annotations after they resume.
    const stop = /^::stop-commands::(\S+)$/m.exec(scan.stdout)
    expect(stop).not.toBeNull()
    const resumeAt = scan.stdout.indexOf(`::${stop![1]}::`)
    expect(resumeAt).toBeGreaterThan(stop!.index)
    const text = scan.stdout.slice(stop!.index, resumeAt)
    expect(scanned(text)).toBe(wholeEstate(ws))
    const annotations = scan.stdout.slice(resumeAt)
    expect(annotations).toMatch(/^::error file=examples\/platform\/log-shipper\.yaml,line=\d+,/m)
    expect(scan.summary).toContain('findings')
    // SARIF, where code scanning reads it, with paths relative to the workspace.
    expect(scan.outputs['sarif-file']).toBe('plimsoll.sarif')
    const sarif = JSON.parse(readFileSync(join(ws, 'plimsoll.sarif'), 'utf8'))
    expect(sarif.version).toBe('2.1.0')
    expect(sarif.runs[0].results.length).toBeGreaterThan(0)
    expect(JSON.stringify(sarif.runs[0].results)).toContain('"uri":"examples/')
  })

  it('passes fail-on, baseline, exceptions, framework and args to the scan', () => {
    expect(runAction({ path: 'examples', 'fail-on': 'none' }).exit.code).toBe(0)
    expect(runAction({ path: 'examples', args: '--fail-on none' }).exit.code).toBe(0)
    const ws = workspace()
    const baseline = relative(ws, writeBaseline(ws))
    expect(runAction({ path: 'examples', baseline }, ws).exit.code).toBe(0)
    const except = relative(ws, writeExceptAll(ws))
    const excepted = runAction({ path: 'examples', exceptions: `${except}\n${except}` }, ws)
    expect(excepted.exit.code).toBe(0)
    expect(excepted.scan.stdout).toContain('excepted')
    const cis = runAction({ path: 'examples', framework: 'cis', 'fail-on': 'none' })
    expect(cis.scan.stdout).toContain('CIS Kubernetes Benchmark')
  })

  it('splits `path` on whitespace and leaves globs to Plimsoll', () => {
    const ws = workspace()
    mkdirSync(join(ws, 'examples', 'shop', 'deep'))
    cpSync(join(ws, 'examples', 'shop', 'cart.yaml'), join(ws, 'examples', 'shop', 'deep', 'cart-copy.yaml'))
    const glob = runAction({ path: 'examples/**/*.yaml\n examples/batch/order-events-worker.json' }, ws)
    expect(glob.scan.outputs['exit-code']).toBe('1')
    // Plimsoll's `**` reaches examples/shop/deep/, which a shell glob without globstar would not.
    expect(scanned(glob.scan.stdout)).toBe(wholeEstate(ws))
  })

  it('can leave out SARIF, annotations and the summary', () => {
    const { ws, scan, exit } = runAction({
      path: 'examples',
      'sarif-file': '',
      annotations: 'false',
      summary: 'false',
    })
    expect(exit.code).toBe(1)
    expect(scan.outputs).not.toHaveProperty('sarif-file')
    expect(existsSync(join(ws, 'plimsoll.sarif'))).toBe(false)
    expect(scan.stdout).not.toMatch(/^::error /m)
    expect(scan.summary).toBe('')
  })

  it('exits 2 on input it cannot read, and still reports', () => {
    const { scan, exit } = runAction({ path: 'examples no-such-dir/' })
    expect(exit.code).toBe(2)
    expect(scan.stdout).toContain('no-such-dir')
    expect(scan.outputs['sarif-file']).toBe('plimsoll.sarif')
  })
})

// ---------------------------------------------------------------------------------------------------------
// GitLab CI

interface GitlabJob {
  image: string
  stage?: string
  variables: Record<string, string>
  before_script: string[]
  script: string[]
  artifacts: { when: string; paths: string[]; reports: { junit: string; codequality: string } }
}

const GITLAB_TEMPLATE = 'ci/gitlab/plimsoll.gitlab-ci.yml'
const gitlab = load(readRoot(GITLAB_TEMPLATE)) as Record<string, GitlabJob>
const gitlabJob = gitlab['.plimsoll-scan']!

/** A `plimsoll` on the PATH that runs this checkout's binary, standing in for the npm install. */
function plimsollOnPath(ws: string): string {
  const dir = join(ws, '_bin')
  mkdirSync(dir, { recursive: true })
  const shim = join(dir, 'plimsoll')
  writeFileSync(shim, `#!/bin/sh\nexec "${process.execPath}" "${BIN}" "$@"\n`)
  chmodSync(shim, 0o755)
  return dir
}

function runGitlab(shell: 'sh' | 'bash', variables: Record<string, string>, ws = workspace()) {
  for (const name of Object.keys(variables)) expect(gitlabJob.variables, name).toHaveProperty(name)
  const r = spawnSync(shell, ['-e', '-c', gitlabJob.script.join('\n')], {
    cwd: ws,
    encoding: 'utf8',
    env: {
      ...process.env,
      NO_COLOR: '1',
      ...gitlabJob.variables,
      ...variables,
      PATH: `${plimsollOnPath(ws)}:${process.env.PATH}`,
    },
  })
  return { ws, code: r.status, stdout: r.stdout, stderr: r.stderr }
}

/** The report files the job's script names in `--format`, by format. */
function gitlabReportFiles(): Record<string, string> {
  const spec = /--format (\S+)/.exec(gitlabJob.script.join('\n'))?.[1]
  expect(spec).toBeDefined()
  const files: Record<string, string> = {}
  for (const item of spec!.split(',')) {
    const [format, path] = item.split('=')
    if (path) files[format!] = path
  }
  return files
}

describe('the GitLab CI template', () => {
  it('defines the hidden job .plimsoll-scan on node:20, installing the released package', () => {
    expect(Object.keys(gitlab)).toEqual(['.plimsoll-scan'])
    expect(gitlabJob.image).toBe('node:20')
    expect(Object.keys(gitlabJob.variables).every((v) => v.startsWith('PLIMSOLL_'))).toBe(true)
    expect(gitlabJob.variables).toMatchObject({
      PLIMSOLL_PATH: '.',
      PLIMSOLL_FAIL_ON: 'high',
      PLIMSOLL_ARGS: '',
    })
    // Bump the default with each release.
    expect(gitlabJob.variables.PLIMSOLL_PACKAGE).toBe(`plimsoll@${pkg.version}`)
    const install = gitlabJob.before_script.join('\n')
    expect(install).toMatch(/npm install --prefix (\S+) .*"\$PLIMSOLL_PACKAGE"/)
    // Not --global: npm does not run a git package's build with its dev dependencies then (npm/cli#8440).
    expect(install).not.toContain('--global')
    const prefix = /npm install --prefix (\S+)/.exec(install)![1]
    expect(install).toContain(`export PATH="${prefix}/node_modules/.bin:$PATH"`)
    expect(gitlabJob.script.join('\n')).toMatch(/^\s*plimsoll "\$@"/m)
  })

  it('keeps every report it writes as an artifact, JUnit and Code Quality as reports, pass or fail', () => {
    const files = gitlabReportFiles()
    expect(Object.keys(files).sort()).toEqual(['codequality', 'junit', 'markdown', 'sarif'])
    expect(gitlabJob.artifacts.when).toBe('always')
    expect(gitlabJob.artifacts.reports.junit).toBe(files.junit)
    expect(gitlabJob.artifacts.reports.codequality).toBe(files.codequality)
    expect([...gitlabJob.artifacts.paths].sort()).toEqual(Object.values(files).sort())
  })

  for (const shell of ['sh', 'bash'] as const) {
    it(`with its defaults (${shell}): fails on high findings and writes the reports`, () => {
      const { ws, code, stdout, stderr } = runGitlab(shell, { PLIMSOLL_PATH: 'examples' })
      expect(code, stderr).toBe(1)
      expect(scanned(stdout)).toBe(wholeEstate(ws))
      for (const file of Object.values(gitlabReportFiles()))
        expect(existsSync(join(ws, file)), file).toBe(true)
      expect(readFileSync(join(ws, gitlabReportFiles().junit!), 'utf8')).toContain(
        '<testsuites name="plimsoll"',
      )
      expect(JSON.parse(readFileSync(join(ws, gitlabReportFiles().sarif!), 'utf8')).version).toBe('2.1.0')
      expect(
        JSON.parse(readFileSync(join(ws, gitlabReportFiles().codequality!), 'utf8')).length,
      ).toBeGreaterThan(0)
    })
  }

  it('passes its variables to the scan', () => {
    expect(runGitlab('sh', { PLIMSOLL_PATH: 'examples', PLIMSOLL_FAIL_ON: 'none' }).code).toBe(0)
    expect(runGitlab('sh', { PLIMSOLL_PATH: 'examples', PLIMSOLL_ARGS: '--fail-on none' }).code).toBe(0)
    const ws = workspace()
    const baseline = relative(ws, writeBaseline(ws))
    expect(runGitlab('sh', { PLIMSOLL_PATH: 'examples', PLIMSOLL_BASELINE: baseline }, ws).code).toBe(0)
    const except = relative(ws, writeExceptAll(ws))
    expect(
      runGitlab('sh', { PLIMSOLL_PATH: 'examples', PLIMSOLL_EXCEPTIONS: `${except} ${except}` }, ws).code,
    ).toBe(0)
    const cis = runGitlab('sh', {
      PLIMSOLL_PATH: 'examples',
      PLIMSOLL_FRAMEWORK: 'cis',
      PLIMSOLL_FAIL_ON: 'none',
    })
    expect(cis.stdout).toContain('CIS Kubernetes Benchmark')
  })

  it('leaves globs in PLIMSOLL_PATH to Plimsoll', () => {
    const ws = workspace()
    mkdirSync(join(ws, 'examples', 'shop', 'deep'))
    cpSync(join(ws, 'examples', 'shop', 'cart.yaml'), join(ws, 'examples', 'shop', 'deep', 'cart-copy.yaml'))
    const r = runGitlab(
      'sh',
      { PLIMSOLL_PATH: 'examples/**/*.yaml examples/batch/order-events-worker.json' },
      ws,
    )
    expect(r.code).toBe(1)
    // Every YAML file (examples/shop/deep/ included, which a shell glob would miss) and the JSON one.
    expect(scanned(r.stdout)).toBe(wholeEstate(ws))
  })
})

// ---------------------------------------------------------------------------------------------------------
// pre-commit

interface Hook {
  id: string
  name: string
  description: string
  entry: string
  language: string
  files: string
  exclude?: string
  args?: string[]
  pass_filenames?: boolean
  require_serial?: boolean
}

const hooks = load(readRoot('.pre-commit-hooks.yaml')) as Hook[]
const hook = hooks.find((h) => h.id === 'plimsoll-scan')!
const systemHook = hooks.find((h) => h.id === 'plimsoll-scan-system')!

/** The files pre-commit would pass the hook (it matches `files` and `exclude` with Python's re.search). */
function selected(paths: string[]): string[] {
  const files = new RegExp(hook.files)
  const exclude = hook.exclude ? new RegExp(hook.exclude) : undefined
  return paths.filter((p) => files.test(p) && !exclude?.test(p))
}

function listFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => relative(ROOT, join(e.parentPath, e.name)).split(sep).join('/'))
    .sort()
}

/** The hook's command line for these files, as pre-commit builds it: entry, args, file names. */
function runHook(files: string[], args: string[] = hook.args ?? []) {
  const [command, ...entryArgs] = hook.entry.split(' ')
  expect(command).toBe(Object.keys(pkg.bin)[0])
  return run([...entryArgs, ...args, ...files])
}

describe('the pre-commit hook', () => {
  it('is a node hook that scans the YAML files being committed, in one run', () => {
    expect(hook).toBeDefined()
    expect(hook.language).toBe('node')
    // The same hook running the plimsoll on the PATH, for when pre-commit cannot install the package.
    expect(systemHook).toEqual({
      ...hook,
      id: 'plimsoll-scan-system',
      language: 'system',
      description: systemHook.description,
    })
    expect(hook.pass_filenames).toBe(true)
    expect(hook.require_serial).toBe(true)
    expect(hook.entry).toMatch(/^plimsoll scan\b/)
    expect(hook.entry).toContain('--fail-on high')
  })

  it('takes every YAML file but the parts of Helm charts that are not manifests', () => {
    const taken = [
      'k8s/deployment.yaml',
      'deploy/prod/app.yml',
      'k8s/chartmuseum.yaml',
      '.github/workflows/ci.yml',
      'docker-compose.yml',
      'charts/app/values.yaml',
    ]
    const left = [
      'charts/app/Chart.yaml',
      'charts/app/templates/deployment.yaml',
      'README.md',
      'package.json',
    ]
    expect(selected([...taken, ...left])).toEqual(taken)
  })

  it('skips staged YAML that holds no Kubernetes object, and still scans the manifests', () => {
    const ws = workspace()
    mkdirSync(join(ws, '.github', 'workflows'), { recursive: true })
    const workflow = join(ws, '.github', 'workflows', 'ci.yml')
    writeFileSync(workflow, 'name: ci\non: push\njobs: {}\n')
    const compose = join(ws, 'docker-compose.yml')
    writeFileSync(compose, 'services:\n  web: {image: nginx}\n')
    const manifest = join(ws, 'pod.yaml')
    writeFileSync(
      manifest,
      'apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: a\n    image: nginx:1.27\n    securityContext: {privileged: true}\n',
    )
    const r = runHook([workflow, compose, manifest])
    expect(r.code, r.stderr).toBe(1) // the privileged pod; the other two are skipped, not errors
    expect(r.stdout).toMatch(/skipped 2 files with no Kubernetes objects/)
    // Without the flag, a file named explicitly that holds no Kubernetes object is an error.
    expect(run(['scan', workflow]).code).toBe(2)
  })

  it("run on examples/: fails on high findings; the user's args come last and win", () => {
    const files = selected(listFiles('examples'))
    // Every YAML manifest in examples/, and nothing else (README.md, the JSON manifest).
    expect(files.length).toBeGreaterThan(0)
    expect(files).toEqual(listFiles('examples').filter((f) => /\.ya?ml$/.test(f)))
    const r = runHook(files)
    expect(r.code, r.stderr).toBe(1)
    expect(scanned(r.stdout)).toMatch(new RegExp(` in ${files.length} files$`))
    expect(runHook(files, ['--fail-on', 'none']).code).toBe(0)
  })
})

// ---------------------------------------------------------------------------------------------------------
// docs/ci.md

const ciDoc = readRoot('docs/ci.md')
const yamlBlocks = [...ciDoc.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => load(m[1]!))

/** Every object anywhere in a parsed YAML value. */
function objects(value: unknown): Record<string, unknown>[] {
  if (Array.isArray(value)) return value.flatMap(objects)
  if (value && typeof value === 'object') {
    const record = value as Record<string, unknown>
    return [record, ...Object.values(record).flatMap(objects)]
  }
  return []
}

describe('docs/ci.md', () => {
  const all = yamlBlocks.flatMap(objects)

  it('uses the action with inputs it declares', () => {
    const uses = all.filter((o) => typeof o.uses === 'string' && /\/plimsoll@/.test(o.uses))
    expect(uses.length).toBeGreaterThan(0)
    for (const step of uses)
      for (const input of Object.keys((step.with as Record<string, string>) ?? {}))
        expect(action.inputs, input).toHaveProperty(input)
    const workflow = yamlBlocks.find((b) => objects(b).some((o) => 'jobs' in o)) as Record<string, unknown>
    expect(workflow.permissions).toMatchObject({ 'security-events': 'write' })
  })

  it('includes the GitLab template that exists and extends its job with variables it declares', () => {
    const includes = all.flatMap((o) =>
      Array.isArray(o.include) ? (o.include as Record<string, string>[]) : [],
    )
    expect(includes.length).toBeGreaterThan(0)
    for (const include of includes) {
      const file = include.remote ?? include.file ?? include.local
      expect(file).toMatch(new RegExp(`/${GITLAB_TEMPLATE.replaceAll('.', '\\.')}$`))
    }
    const jobs = all.filter((o) => 'extends' in o)
    expect(jobs.length).toBeGreaterThan(0)
    for (const job of jobs) {
      expect(gitlab).toHaveProperty([job.extends as string])
      for (const variable of Object.keys((job.variables as Record<string, string>) ?? {}))
        expect(gitlabJob.variables, variable).toHaveProperty(variable)
    }
  })

  it('configures hooks that exist', () => {
    // A pre-commit configuration (repos: [{hooks: [...]}]), or a fragment: a list of hooks.
    const configured = [
      ...all.flatMap((o) => (Array.isArray(o.hooks) ? (o.hooks as Record<string, unknown>[]) : [])),
      ...yamlBlocks.flatMap((b) =>
        Array.isArray(b)
          ? (b as Record<string, unknown>[]).filter((o) => 'id' in o && !('uses' in o) && !('run' in o))
          : [],
      ),
    ]
    const ids = configured.map((o) => o.id)
    expect(ids.length).toBeGreaterThan(0)
    for (const id of ids) expect(hooks.map((h) => h.id)).toContain(id)
  })

  it('links only to files that exist', () => {
    const links = [...ciDoc.matchAll(/\]\(([^)#:]+)(#[^)]*)?\)/g)].map((m) => m[1]!)
    expect(links).toEqual(
      expect.arrayContaining(['../action.yml', `../${GITLAB_TEMPLATE}`, '../.pre-commit-hooks.yaml']),
    )
    for (const link of links)
      expect(existsSync(resolve(dirname(join(ROOT, 'docs/ci.md')), link)), link).toBe(true)
  })
})
