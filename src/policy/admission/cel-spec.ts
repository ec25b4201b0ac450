/**
 * Reads the CEL parts of a policy spec (matchConditions, variables, validations, auditAnnotations) with
 * the API server's validation of their shape: required fields, unique names, known reasons.
 */
import type { PathSegment } from '../../resources/types.js'
import type { CelPolicySpec, NamedExpression, ValidationSpec } from './cel-policy.js'
import type { Json, Shape } from './shape.js'

const REASONS = ['Unauthorized', 'Forbidden', 'Invalid', 'RequestEntityTooLarge'] as const
const CEL_IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/

function readNamed(
  shape: Shape,
  spec: Json,
  path: PathSegment[],
  nameRule: { pattern: RegExp; expected: string },
): NamedExpression[] {
  const seen = new Set<string>()
  const out: NamedExpression[] = []
  for (const { item, path: at } of shape.objects(spec, path)) {
    const name = shape.string(item, [...at, 'name'], { required: true })
    const expression = shape.string(item, [...at, 'expression'], { required: true })
    if (name !== undefined && !nameRule.pattern.test(name))
      shape.fail([...at, 'name'], `'${name}' is not ${nameRule.expected}`)
    else if (name !== undefined && seen.has(name)) shape.fail([...at, 'name'], `duplicate name '${name}'`)
    if (name !== undefined) seen.add(name)
    if (name !== undefined && expression !== undefined) out.push({ name, expression })
  }
  return out
}

function readValidation(shape: Shape, item: Json, at: PathSegment[]): ValidationSpec | undefined {
  const expression = shape.string(item, [...at, 'expression'], { required: true })
  const message = shape.string(item, [...at, 'message'])
  const messageExpression = shape.string(item, [...at, 'messageExpression'])
  const reason = shape.string(item, [...at, 'reason'], { oneOf: REASONS })
  if (message?.includes('\n')) shape.fail([...at, 'message'], 'must not contain line breaks')
  if (expression === undefined) return undefined
  const v: ValidationSpec = { expression }
  if (message !== undefined) v.message = message
  if (messageExpression !== undefined) v.messageExpression = messageExpression
  if (reason !== undefined) v.reason = reason
  return v
}

/**
 * `qualifiedNames: false` accepts any matchCondition name: Kyverno's CEL policies do not restrict them
 * (their CRDs and compiler leave names alone), where the API server requires qualified names.
 */
export function readCelSpec(
  shape: Shape,
  spec: Json,
  base: PathSegment[],
  options: { qualifiedNames?: boolean } = {},
): CelPolicySpec {
  const validations = shape
    .objects(spec, [...base, 'validations'])
    .map(({ item, path }) => readValidation(shape, item, path))
    .filter((v): v is ValidationSpec => v !== undefined)
  const keys = new Set<string>()
  const auditAnnotations = shape.objects(spec, [...base, 'auditAnnotations']).flatMap(({ item, path }) => {
    const key = shape.string(item, [...path, 'key'], { required: true })
    const valueExpression = shape.string(item, [...path, 'valueExpression'], { required: true })
    if (key !== undefined && keys.has(key)) shape.fail([...path, 'key'], `duplicate key '${key}'`)
    if (key !== undefined) keys.add(key)
    return key !== undefined && valueExpression !== undefined ? [{ key, valueExpression }] : []
  })
  return {
    matchConditions: readNamed(
      shape,
      spec,
      [...base, 'matchConditions'],
      options.qualifiedNames === false
        ? { pattern: /./, expected: 'a name' }
        : {
            pattern: /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/,
            expected: 'a qualified name (letters, digits, -, _ and .)',
          },
    ),
    variables: readNamed(shape, spec, [...base, 'variables'], {
      pattern: CEL_IDENTIFIER,
      expected: 'a CEL identifier',
    }),
    validations,
    auditAnnotations,
  }
}
