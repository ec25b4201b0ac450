/**
 * Reads check files into CheckDefinitions. Every mistake is reported with the file, the line of the
 * offending field and what was expected; the caller decides whether one bad check stops the run.
 */
import type { PathSegment } from '../resources/types.js'
import {
  type CheckDefinition,
  type CheckExample,
  type Control,
  EXAMPLE_EXPECTATIONS,
  type ExampleExpectation,
  isSeverity,
  type NamedExpression,
  type RuleSet,
  SCOPES,
  type Scope,
  SEVERITIES,
  type ValidationDefinition,
} from './check.js'
import { splitPathRoot } from './path-root.js'
import { exampleUsageValue, UsageDataError } from './usage.js'
import { type FieldReader, type Raw, readYamlDocuments } from './yaml-fields.js'

export const CHECK_API_VERSION = 'plimsoll.dev/v1'

export class CheckLoadError extends Error {
  constructor(
    readonly file: string,
    readonly line: number,
    readonly checkId: string | undefined,
    readonly field: string,
    readonly problem: string,
  ) {
    super(`${file}:${line}: ${checkId ? `check '${checkId}': ` : ''}${field ? `${field}: ` : ''}${problem}`)
    this.name = 'CheckLoadError'
  }
}

const ID_PATTERN = /^[a-z0-9][a-z0-9-]*$/
const VERSION_PATTERN = /^v1\.(\d+)$/

type Reader = FieldReader

function readNamed(
  r: Reader,
  items: unknown[],
  path: PathSegment[],
  namePattern: RegExp,
  nameRule: string,
): NamedExpression[] {
  const seen = new Set<string>()
  return items.map((raw, i) => {
    const p = [...path, i]
    const obj = r.map(raw, p)
    r.noUnknown(obj, ['name', 'expression'], p)
    const name = r.string(obj, 'name', p, true)
    if (!namePattern.test(name)) r.fail([...p, 'name'], nameRule)
    if (seen.has(name)) r.fail([...p, 'name'], `duplicate name '${name}'`)
    seen.add(name)
    return { name, expression: r.string(obj, 'expression', p, true), line: r.at([...p, 'expression']) }
  })
}

function readValidations(
  r: Reader,
  items: unknown[],
  path: PathSegment[],
  checkScope: Scope,
): ValidationDefinition[] {
  if (items.length === 0) r.fail(path, 'at least one validation is required')
  return items.map((raw, i) => {
    const p = [...path, i]
    const obj = r.map(raw, p)
    r.noUnknown(obj, ['expression', 'message', 'messageExpression', 'path', 'pathExpression', 'scope'], p)
    const v: ValidationDefinition = {
      expression: r.string(obj, 'expression', p, true),
      line: r.at([...p, 'expression']),
    }
    const message = r.string(obj, 'message', p)
    const messageExpression = r.string(obj, 'messageExpression', p)
    if (!message && !messageExpression) r.fail(p, "needs a 'message' or a 'messageExpression'")
    if (message) v.message = message
    if (messageExpression) v.messageExpression = messageExpression
    const fieldPath = r.string(obj, 'path', p)
    if (fieldPath !== undefined) {
      try {
        splitPathRoot(fieldPath)
      } catch (err) {
        r.fail([...p, 'path'], (err as Error).message)
      }
      v.path = fieldPath
    }
    const pathExpression = r.string(obj, 'pathExpression', p)
    if (pathExpression) v.pathExpression = pathExpression
    const scope = r.string(obj, 'scope', p)
    if (scope !== undefined) {
      if (!(SCOPES as readonly string[]).includes(scope))
        r.fail([...p, 'scope'], `expected one of: ${SCOPES.join(', ')}`)
      if (checkScope === 'resource' && scope !== 'resource')
        r.fail([...p, 'scope'], "pod and container scopes need match kind 'PodTemplate'")
      v.scope = scope as Scope
    }
    return v
  })
}

function readRuleSet(r: Reader, obj: Raw, path: PathSegment[], since: number, scope: Scope): RuleSet {
  return {
    since,
    matchConditions: readNamed(
      r,
      r.list(obj.matchConditions, [...path, 'matchConditions']),
      [...path, 'matchConditions'],
      /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/,
      'must be a qualified name (letters, digits, -, _ and .)',
    ),
    variables: readNamed(
      r,
      r.list(obj.variables, [...path, 'variables']),
      [...path, 'variables'],
      /^[A-Za-z_][A-Za-z0-9_]*$/,
      'must be a CEL identifier',
    ),
    validations: readValidations(
      r,
      r.list(obj.validations, [...path, 'validations'], true),
      [...path, 'validations'],
      scope,
    ),
  }
}

function readExamples(r: Reader, items: unknown[]): CheckExample[] {
  return items.map((raw, i) => {
    const p = ['examples', i]
    const obj = r.map(raw, p)
    r.noUnknown(obj, ['name', 'expect', 'version', 'resource', 'inventory', 'usage'], p)
    const expect = r.string(obj, 'expect', p, true)
    if (!(EXAMPLE_EXPECTATIONS as readonly string[]).includes(expect)) {
      r.fail([...p, 'expect'], `expected one of: ${EXAMPLE_EXPECTATIONS.join(', ')}`)
    }
    const example: CheckExample = {
      name: r.string(obj, 'name', p, true),
      expect: expect as ExampleExpectation,
      resource: r.map(obj.resource, [...p, 'resource']),
      line: r.at(p),
    }
    if (obj.inventory !== undefined) {
      example.inventory = r
        .list(obj.inventory, [...p, 'inventory'])
        .map((item, j) => r.map(item, [...p, 'inventory', j]))
    }
    if (obj.usage !== undefined) {
      try {
        exampleUsageValue(obj.usage, { kind: 'Pod', name: 'example' })
      } catch (err) {
        if (!(err instanceof UsageDataError)) throw err
        r.fail([...p, 'usage'], err.message)
      }
      example.usage = obj.usage
    }
    if (obj.version !== undefined) {
      const version = typeof obj.version === 'string' ? parseVersion(obj.version) : undefined
      if (version === undefined) r.fail([...p, 'version'], "expected a version like 'v1.25'")
      example.version = version
    }
    return example
  })
}

export function parseVersion(text: string): number | undefined {
  const m = VERSION_PATTERN.exec(text)
  return m ? Number(m[1]) : undefined
}

function readCheck(r: Reader, doc: unknown, file: string, line: number): CheckDefinition {
  const root = r.map(doc, [])
  r.noUnknown(root, ['apiVersion', 'kind', 'metadata', 'spec', 'examples'], [])
  if (root.apiVersion !== CHECK_API_VERSION) r.fail(['apiVersion'], `expected '${CHECK_API_VERSION}'`)
  if (root.kind !== 'Check') r.fail(['kind'], "expected 'Check'")
  const m = r.map(root.metadata, ['metadata'])
  const mp = ['metadata']
  r.noUnknown(m, ['id', 'title', 'severity', 'category', 'rationale', 'remediation', 'docs', 'controls'], mp)
  const id = r.string(m, 'id', mp, true)
  if (!ID_PATTERN.test(id)) r.fail([...mp, 'id'], 'must match ^[a-z0-9][a-z0-9-]*$')
  r.id = id
  const severity = m.severity
  if (!isSeverity(severity)) r.fail([...mp, 'severity'], `expected one of: ${SEVERITIES.join(', ')}`)
  const controls: Control[] = r.list(m.controls, [...mp, 'controls']).map((raw, i) => {
    const p = [...mp, 'controls', i]
    const c = r.map(raw, p)
    r.noUnknown(c, ['framework', 'id'], p)
    return { framework: r.string(c, 'framework', p, true), id: String(r.string(c, 'id', p, true)) }
  })
  const metadata: CheckDefinition['metadata'] = {
    id,
    title: r.string(m, 'title', mp, true),
    severity,
    category: r.string(m, 'category', mp, true),
    controls,
  }
  for (const key of ['rationale', 'remediation', 'docs'] as const) {
    const v = r.string(m, key, mp)
    if (v) metadata[key] = v
  }

  const spec = r.map(root.spec, ['spec'])
  const sp = ['spec']
  r.noUnknown(spec, ['match', 'scope', 'matchConditions', 'variables', 'validations', 'versions'], sp)
  const match = r.map(spec.match, [...sp, 'match'])
  r.noUnknown(match, ['kinds'], [...sp, 'match'])
  const kinds = r.list(match.kinds, [...sp, 'match', 'kinds'], true).map((k, i) => {
    if (typeof k !== 'string' || k === '') r.fail([...sp, 'match', 'kinds', i], 'expected a kind name')
    return k
  })
  if (kinds.length === 0) r.fail([...sp, 'match', 'kinds'], 'at least one kind is required')
  const podTemplate = kinds.includes('PodTemplate')
  const scopeText = r.string(spec, 'scope', sp) ?? (podTemplate ? 'pod' : 'resource')
  if (!(SCOPES as readonly string[]).includes(scopeText))
    r.fail([...sp, 'scope'], `expected one of: ${SCOPES.join(', ')}`)
  const scope = scopeText as Scope
  if (scope !== 'resource' && !podTemplate)
    r.fail([...sp, 'scope'], "pod and container scopes need match kind 'PodTemplate'")

  let ruleSets: RuleSet[]
  if (spec.versions !== undefined) {
    for (const k of ['matchConditions', 'variables', 'validations']) {
      if (spec[k] !== undefined)
        r.fail([...sp, k], "goes inside each 'versions' entry when 'versions' is used")
    }
    const versions = r.list(spec.versions, [...sp, 'versions'], true)
    if (versions.length === 0) r.fail([...sp, 'versions'], 'at least one version is required')
    ruleSets = versions.map((raw, i) => {
      const p = [...sp, 'versions', i]
      const v = r.map(raw, p)
      r.noUnknown(v, ['since', 'matchConditions', 'variables', 'validations'], p)
      const since = typeof v.since === 'string' ? parseVersion(v.since) : undefined
      if (since === undefined) r.fail([...p, 'since'], "expected a version like 'v1.25'")
      return readRuleSet(r, v, p, since, scope)
    })
    ruleSets.sort((a, b) => a.since - b.since)
    for (let i = 1; i < ruleSets.length; i++) {
      if (ruleSets[i]!.since === ruleSets[i - 1]!.since)
        r.fail([...sp, 'versions'], `two entries for v1.${ruleSets[i]!.since}`)
    }
  } else {
    ruleSets = [readRuleSet(r, spec, sp, 0, scope)]
  }
  const examples = readExamples(r, r.list(root.examples, ['examples']))
  return { metadata, kinds, scope, ruleSets, examples, origin: { file, line } }
}

/** Parses every check in a file. Throws CheckLoadError at the first problem in a check. */
export function parseCheckFile(file: string, text: string): CheckDefinition[] {
  return readYamlDocuments(file, text, CheckLoadError, (r, doc) => readCheck(r, doc, file, r.at([])))
}
