/**
 * Reads audit rule files (kind AuditRule) into AuditRuleDefinitions, as check-loader.ts reads checks:
 * one YAML parse gives the values and the line of every field, and every mistake is reported as
 * `file:line: rule 'id': field: problem`.
 */

import { type FieldReader, readYamlDocuments } from '../../policy/yaml-fields.js'
import type { PathSegment } from '../../resources/types.js'
import { PRIORITIES, type Priority } from '../types.js'
import {
  AUDIT_RULE_KIND,
  type AuditExampleExpectation,
  type AuditRuleDefinition,
  type AuditRuleExample,
  type AuditRuleMatch,
  EXAMPLE_EXPECTATIONS,
  type NamedExpression,
  STAGES,
  type Stage,
} from './format.js'

export const AUDIT_RULE_API_VERSION = 'plimsoll.dev/v1'

export class AuditRuleLoadError extends Error {
  constructor(
    readonly file: string,
    readonly line: number,
    readonly ruleId: string | undefined,
    readonly field: string,
    readonly problem: string,
  ) {
    super(`${file}:${line}: ${ruleId ? `rule '${ruleId}': ` : ''}${field ? `${field}: ` : ''}${problem}`)
    this.name = 'AuditRuleLoadError'
  }
}

const ID_PATTERN = /^[a-z0-9][a-z0-9-]*$/
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/

type Reader = FieldReader

function readResource(r: Reader, value: string, path: PathSegment[]): string {
  const parts = value.split('/')
  if (parts.length > 2 || parts.some((p) => p === ''))
    r.fail(path, "expected 'resource', 'resource/subresource', 'resource/*', '*/subresource' or '*'")
  return value
}

function readMatch(r: Reader, raw: unknown): AuditRuleMatch {
  const p = ['spec', 'match']
  const m = r.map(raw, p)
  r.noUnknown(
    m,
    [
      'stages',
      'verbs',
      'resources',
      'apiGroups',
      'namespaces',
      'users',
      'groups',
      'responseCodes',
      'ignoreUsers',
      'ignoreGroups',
    ],
    p,
  )
  const stages = r.strings(m, 'stages', p).map((s, i) => {
    if (!(STAGES as readonly string[]).includes(s))
      r.fail([...p, 'stages', i], `expected one of: ${STAGES.join(', ')}`)
    return s as Stage
  })
  return {
    stages: stages.length > 0 ? stages : ['ResponseComplete'],
    verbs: r.strings(m, 'verbs', p),
    resources: r.strings(m, 'resources', p).map((v, i) => readResource(r, v, [...p, 'resources', i])),
    apiGroups: r.strings(m, 'apiGroups', p, true),
    namespaces: r.strings(m, 'namespaces', p, true),
    users: r.strings(m, 'users', p),
    groups: r.strings(m, 'groups', p),
    responseCodes: r.list(m.responseCodes, [...p, 'responseCodes']).map((c, i) => {
      if (typeof c !== 'number' || !Number.isInteger(c) || c < 100 || c > 599)
        r.fail([...p, 'responseCodes', i], 'expected an HTTP status code (100-599)')
      return c
    }),
    ignoreUsers: r.strings(m, 'ignoreUsers', p),
    ignoreGroups: r.strings(m, 'ignoreGroups', p),
  }
}

function readVariables(r: Reader, items: unknown[]): NamedExpression[] {
  const seen = new Set<string>()
  return items.map((raw, i) => {
    const p = ['spec', 'variables', i]
    const obj = r.map(raw, p)
    r.noUnknown(obj, ['name', 'expression'], p)
    const name = r.string(obj, 'name', p, true)
    if (!IDENTIFIER.test(name)) r.fail([...p, 'name'], 'must be a CEL identifier')
    if (seen.has(name)) r.fail([...p, 'name'], `duplicate name '${name}'`)
    seen.add(name)
    return { name, expression: r.string(obj, 'expression', p, true), line: r.at([...p, 'expression']) }
  })
}

function readExamples(r: Reader, items: unknown[]): AuditRuleExample[] {
  return items.map((raw, i) => {
    const p = ['examples', i]
    const obj = r.map(raw, p)
    r.noUnknown(obj, ['name', 'expect', 'output', 'event'], p)
    const expect = r.string(obj, 'expect', p, true)
    if (!(EXAMPLE_EXPECTATIONS as readonly string[]).includes(expect))
      r.fail([...p, 'expect'], `expected one of: ${EXAMPLE_EXPECTATIONS.join(', ')}`)
    const example: AuditRuleExample = {
      name: r.string(obj, 'name', p, true),
      expect: expect as AuditExampleExpectation,
      event: r.map(obj.event, [...p, 'event']),
      line: r.at(p),
    }
    const output = r.string(obj, 'output', p)
    if (output !== undefined) {
      if (example.expect !== 'detect')
        r.fail([...p, 'output'], "only an example that expects 'detect' has an output")
      example.output = output
    }
    return example
  })
}

function readRule(r: Reader, doc: unknown, file: string): AuditRuleDefinition {
  const root = r.map(doc, [])
  r.noUnknown(root, ['apiVersion', 'kind', 'metadata', 'spec', 'examples'], [])
  if (root.apiVersion !== AUDIT_RULE_API_VERSION)
    r.fail(['apiVersion'], `expected '${AUDIT_RULE_API_VERSION}'`)
  if (root.kind !== AUDIT_RULE_KIND) r.fail(['kind'], `expected '${AUDIT_RULE_KIND}'`)
  const mp = ['metadata']
  const m = r.map(root.metadata, mp)
  r.noUnknown(m, ['id', 'title', 'priority', 'tags', 'description', 'rationale', 'remediation', 'docs'], mp)
  const id = r.string(m, 'id', mp, true)
  if (!ID_PATTERN.test(id)) r.fail([...mp, 'id'], 'must match ^[a-z0-9][a-z0-9-]*$')
  r.id = id
  const priority = r.string(m, 'priority', mp, true)
  if (!(PRIORITIES as readonly string[]).includes(priority))
    r.fail([...mp, 'priority'], `expected one of: ${PRIORITIES.join(', ')}`)
  const metadata: AuditRuleDefinition['metadata'] = {
    id,
    title: r.string(m, 'title', mp, true),
    priority: priority as Priority,
    tags: r.strings(m, 'tags', mp),
  }
  for (const key of ['description', 'rationale', 'remediation', 'docs'] as const) {
    const v = r.string(m, key, mp)
    if (v) metadata[key] = v
  }

  const sp = ['spec']
  const spec = r.map(root.spec, sp)
  r.noUnknown(spec, ['match', 'variables', 'condition', 'output'], sp)
  const match = readMatch(r, spec.match ?? {})
  const variables = readVariables(r, r.list(spec.variables, [...sp, 'variables']))
  const condition = {
    name: 'condition',
    expression: r.string(spec, 'condition', sp, true),
    line: r.at([...sp, 'condition']),
  }
  const output = { template: r.string(spec, 'output', sp, true), line: r.at([...sp, 'output']) }
  const examples = readExamples(r, r.list(root.examples, ['examples']))
  return { metadata, match, variables, condition, output, examples, origin: { file, line: r.at([]) } }
}

/** Parses every rule of a file (documents separated by `---`). Throws AuditRuleLoadError at the first problem. */
export function parseAuditRuleFile(file: string, text: string): AuditRuleDefinition[] {
  return readYamlDocuments(file, text, AuditRuleLoadError, (r, doc) => readRule(r, doc, file))
}
