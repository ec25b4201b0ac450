/**
 * The files of a Kyverno CLI test (cli.kyverno.io/v1alpha1): the Test itself, its Values file and its
 * UserInfo file, read into typed form. Paths are resolved against the test file's folder, as `kyverno
 * test` does. Problems name the file and the field.
 */
import { readFileSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { load } from 'js-yaml'
import { isJsonMap } from '../policy/json-map.js'
import { KUBERNETES_YAML_SCHEMA } from '../resources/yaml-schema.js'

type Json = Record<string, unknown>

export const EXPECTED_RESULTS = ['pass', 'fail', 'skip', 'warn', 'error'] as const
export type ExpectedResult = (typeof EXPECTED_RESULTS)[number]

/** One entry of `results`, for one resource (Plimsoll expands `resources:` lists). */
export interface ExpectedEntry {
  policy: string
  /** absent for CEL-native policies (ValidatingPolicy...), which have no rules */
  rule?: string
  resource: string
  kind?: string
  namespace?: string
  result: ExpectedResult
  /** which kind of policy the entry is about, from the isXxxPolicy flags */
  policyType: PolicyType
  /** the entry also compares the resource a rule patched or generated with one in the test's files */
  produces?: 'patched' | 'generated'
  /** the file holding the expected patched resource (`patchedResources`) */
  patchedFile?: string
  /** the files holding the expected generated resource (`generatedResource`, or any of `generatedResources`) */
  generatedFiles?: string[]
  /** the file holding the resources a generate rule clones (`cloneSourceResource`) */
  cloneSourceFile?: string
  /** a patched resource missing from its file fails the result (otherwise kyverno test does not count it) */
  failOnMissingResources?: boolean
}

/** The isXxxPolicy flags of a result entry, by the kind they name; `kyverno` when none is set. */
const POLICY_FLAGS = {
  isValidatingPolicy: 'ValidatingPolicy',
  isValidatingAdmissionPolicy: 'ValidatingAdmissionPolicy',
  isMutatingPolicy: 'MutatingPolicy',
  isMutatingAdmissionPolicy: 'MutatingAdmissionPolicy',
  isGeneratingPolicy: 'GeneratingPolicy',
  isImageValidatingPolicy: 'ImageValidatingPolicy',
  isDeletingPolicy: 'DeletingPolicy',
} as const

export type PolicyType = (typeof POLICY_FLAGS)[keyof typeof POLICY_FLAGS] | 'kyverno' | 'other'

export interface KyvernoTest {
  file: string
  name: string
  policies: string[]
  /** PolicyException files (`exceptions:`): those of Kyverno's CEL policy kinds apply to them */
  exceptions?: string[]
  resources: string[]
  variables?: string
  userinfo?: string
  context?: string
  results: ExpectedEntry[]
}

export class TestFileError extends Error {
  constructor(
    readonly file: string,
    message: string,
  ) {
    super(`${file}: ${message}`)
  }
}

export function readYaml(file: string): unknown {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (err) {
    throw new TestFileError(
      file,
      `cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    )
  }
  try {
    return load(text, { schema: KUBERNETES_YAML_SCHEMA })
  } catch (err) {
    throw new TestFileError(file, `invalid YAML: ${(err as Error).message.split('\n')[0]}`)
  }
}

function paths(raw: Json, key: string, base: string, file: string): string[] {
  const v = raw[key]
  if (v === undefined || v === null) return []
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string'))
    throw new TestFileError(file, `${key}: expected a list of paths`)
  return (v as string[]).map((p) => resolve(base, p))
}

function policyTypeOf(entry: Json): PolicyType {
  for (const [flag, type] of Object.entries(POLICY_FLAGS)) if (entry[flag] === true) return type
  if (Object.keys(entry).some((k) => /^is[A-Z]\w*Policy$/.test(k) && entry[k] === true)) return 'other'
  return 'kyverno'
}

function producesOf(entry: Json): ExpectedEntry['produces'] {
  if (entry.patchedResources !== undefined || entry.patchedResource !== undefined) return 'patched'
  if (
    entry.generatedResource !== undefined ||
    entry.generatedResources !== undefined ||
    entry.cloneSourceResource !== undefined
  )
    return 'generated'
  return undefined
}

/** The files a result names, resolved against the test's folder, as the CLI joins them. */
function resultFiles(r: Json, base: string): Partial<ExpectedEntry> {
  const out: Partial<ExpectedEntry> = {}
  const patched = r.patchedResources ?? r.patchedResource
  if (typeof patched === 'string' && patched !== '') out.patchedFile = resolve(base, patched)
  const many = Array.isArray(r.generatedResources)
    ? r.generatedResources.filter((x) => typeof x === 'string')
    : []
  if (many.length > 0) out.generatedFiles = many.map((f) => resolve(base, f))
  else if (typeof r.generatedResource === 'string' && r.generatedResource !== '')
    out.generatedFiles = [resolve(base, r.generatedResource)]
  if (typeof r.cloneSourceResource === 'string' && r.cloneSourceResource !== '')
    out.cloneSourceFile = resolve(base, r.cloneSourceResource)
  if (r.failOnMissingResources === true) out.failOnMissingResources = true
  return out
}

export function readKyvernoTest(file: string): KyvernoTest {
  const raw = readYaml(file)
  if (!isJsonMap(raw) || raw.kind !== 'Test')
    throw new TestFileError(file, 'expected a cli.kyverno.io Test (kind: Test)')
  const base = dirname(file)
  const meta = isJsonMap(raw.metadata) ? raw.metadata : {}
  const results: ExpectedEntry[] = []
  const list = Array.isArray(raw.results) ? raw.results : []
  list.forEach((r, i) => {
    if (!isJsonMap(r)) throw new TestFileError(file, `results[${i}]: expected a mapping`)
    const result = String(r.result ?? r.status ?? '').trim()
    if (!(EXPECTED_RESULTS as readonly string[]).includes(result))
      throw new TestFileError(
        file,
        `results[${i}].result: expected one of ${EXPECTED_RESULTS.join(', ')}, got '${result}'`,
      )
    if (typeof r.policy !== 'string')
      throw new TestFileError(file, `results[${i}].policy: expected a policy name`)
    const names = Array.isArray(r.resources)
      ? r.resources.map(String)
      : typeof r.resource === 'string'
        ? [r.resource]
        : []
    for (const resource of names) {
      const entry: ExpectedEntry = {
        policy: r.policy,
        resource,
        result: result as ExpectedResult,
        policyType: policyTypeOf(r),
      }
      const produces = producesOf(r)
      if (produces) entry.produces = produces
      Object.assign(entry, resultFiles(r, base))
      if (typeof r.rule === 'string') entry.rule = r.rule
      if (typeof r.kind === 'string') entry.kind = r.kind
      if (typeof r.namespace === 'string') entry.namespace = r.namespace
      results.push(entry)
    }
  })
  const test: KyvernoTest = {
    file,
    name: typeof meta.name === 'string' ? meta.name : typeof raw.name === 'string' ? raw.name : file,
    policies: paths(raw, 'policies', base, file),
    resources: paths(raw, 'resources', base, file),
    results,
  }
  const exceptions = paths(raw, 'exceptions', base, file)
  if (exceptions.length > 0) test.exceptions = exceptions
  for (const key of ['variables', 'userinfo', 'context'] as const) {
    if (typeof raw[key] === 'string') test[key] = resolve(base, raw[key] as string)
  }
  return test
}

/** A Values file: variables for policies, rules and resources, and namespace labels. */
export interface TestValues {
  global: Json
  /** policy -> rule -> values */
  rules: Map<string, Map<string, Json>>
  /** policy -> resource name -> values */
  resources: Map<string, Map<string, Json>>
  namespaceLabels: Map<string, Record<string, string>>
  namespaces: Map<string, Json>
}

function stringMap(v: unknown): Record<string, string> {
  const out: Record<string, string> = {}
  if (isJsonMap(v)) for (const [k, x] of Object.entries(v)) out[k] = String(x)
  return out
}

export function readValues(file: string | undefined): TestValues {
  const values: TestValues = {
    global: {},
    rules: new Map(),
    resources: new Map(),
    namespaceLabels: new Map(),
    namespaces: new Map(),
  }
  if (!file) return values
  const raw = readYaml(file)
  if (!isJsonMap(raw)) throw new TestFileError(file, 'expected a cli.kyverno.io Values document')
  if (isJsonMap(raw.globalValues)) values.global = raw.globalValues
  for (const p of Array.isArray(raw.policies) ? raw.policies : []) {
    if (!isJsonMap(p) || typeof p.name !== 'string') continue
    const rules = new Map<string, Json>()
    for (const r of Array.isArray(p.rules) ? p.rules : [])
      if (isJsonMap(r) && typeof r.name === 'string') rules.set(r.name, isJsonMap(r.values) ? r.values : {})
    const resources = new Map<string, Json>()
    for (const r of Array.isArray(p.resources) ? p.resources : [])
      if (isJsonMap(r) && typeof r.name === 'string')
        resources.set(r.name, isJsonMap(r.values) ? r.values : {})
    values.rules.set(p.name, rules)
    values.resources.set(p.name, resources)
  }
  for (const ns of Array.isArray(raw.namespaceSelector) ? raw.namespaceSelector : [])
    if (isJsonMap(ns) && typeof ns.name === 'string')
      values.namespaceLabels.set(ns.name, stringMap(ns.labels))
  for (const ns of Array.isArray(raw.namespaces) ? raw.namespaces : []) {
    const meta = isJsonMap(ns) && isJsonMap(ns.metadata) ? ns.metadata : undefined
    if (!meta || typeof meta.name !== 'string') continue
    values.namespaces.set(meta.name, ns as Json)
    if (!values.namespaceLabels.has(meta.name)) values.namespaceLabels.set(meta.name, stringMap(meta.labels))
  }
  return values
}

export interface TestUser {
  username: string
  groups: string[]
  roles: string[]
  clusterRoles: string[]
}

export function readUserInfo(file: string | undefined): TestUser {
  const user: TestUser = { username: '', groups: [], roles: [], clusterRoles: [] }
  if (!file) return user
  const raw = readYaml(file)
  if (!isJsonMap(raw)) throw new TestFileError(file, 'expected a cli.kyverno.io UserInfo document')
  const info = isJsonMap(raw.userInfo) ? raw.userInfo : {}
  if (typeof info.username === 'string') user.username = info.username
  if (Array.isArray(info.groups)) user.groups = info.groups.map(String)
  if (Array.isArray(raw.roles)) user.roles = raw.roles.map(String)
  if (Array.isArray(raw.clusterRoles)) user.clusterRoles = raw.clusterRoles.map(String)
  return user
}
