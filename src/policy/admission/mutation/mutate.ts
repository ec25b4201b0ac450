/**
 * The mutations of a MutatingAdmissionPolicy (and of Kyverno's MutatingPolicy, which has the same model):
 * read from the document, compiled with the policy's CEL, and applied in order to the object, each one
 * seeing the object the previous ones produced (k8s.io/apiserver/pkg/admission/plugin/policy/mutating,
 * dispatcher.go and patch/):
 * - `ApplyConfiguration`: the expression gives an `Object{...}`, merged as server-side apply merges
 *   (apply-configuration.ts);
 * - `JSONPatch`: the expression gives a list of `JSONPatch{op, path, from, value}`, applied as RFC 6902;
 *   a failed `test` operation leaves the object as the mutation found it.
 */
import type { Environment } from '@marcbachmann/cel-js'
import type { PathSegment } from '../../../resources/types.js'
import { isJsonMap } from '../../json-map.js'
import { applyJsonPatch, type JsonPatchOperation, JsonPatchTestFailed } from '../../json-patch.js'
import {
  type AdmissionInput,
  type CelPolicyDialect,
  type CompiledCelPolicy,
  type CompiledExpression,
  KUBERNETES_DIALECT,
} from '../cel-policy.js'
import { admissionEnvironment } from '../environment.js'
import type { Json, Shape } from '../shape.js'
import { applyConfiguration } from './apply-configuration.js'
import { schemaFor } from './merge-schema.js'
import {
  addMutationLibrary,
  fieldsOf,
  ObjectLiteral,
  objectLiteralValue,
  rewriteObjectConstructions,
  typeNameOf,
} from './object-literals.js'

export type PatchType = 'ApplyConfiguration' | 'JSONPatch'

export interface MutationSpec {
  patchType: PatchType
  expression: string
  /** where the expression sits in the document */
  path: PathSegment[]
}

/** `spec.mutations`, with the API server's validation of their shape. */
export function readMutations(shape: Shape, spec: Json, base: PathSegment[]): MutationSpec[] {
  const out: MutationSpec[] = []
  for (const { item, path } of shape.objects(spec, [...base, 'mutations'])) {
    const patchType = shape.string(item, [...path, 'patchType'], {
      required: true,
      oneOf: ['ApplyConfiguration', 'JSONPatch'],
    }) as PatchType | undefined
    if (!patchType) continue
    const field = patchType === 'ApplyConfiguration' ? 'applyConfiguration' : 'jsonPatch'
    const body = shape.object(item, [...path, field], true)
    const expression = body && shape.string(body, [...path, field, 'expression'], { required: true })
    if (expression) out.push({ patchType, expression, path: [...path, field, 'expression'] })
  }
  return out
}

/** An environment with what mutations add: object construction and `jsonpatch.escapeKey`. */
export function mutationEnvironment(base: () => Environment): () => Environment {
  let env: Environment | undefined
  return () => {
    env ??= addMutationLibrary(base().clone())
    return env
  }
}

/** The API server's dialect, for MutatingAdmissionPolicy. */
export const MUTATING_ADMISSION_DIALECT: CelPolicyDialect = {
  ...KUBERNETES_DIALECT,
  environment: mutationEnvironment(admissionEnvironment),
  rewrite: rewriteObjectConstructions,
}

export interface CompiledMutation {
  patchType: PatchType
  expr: CompiledExpression
}

export function compileMutations(cel: CompiledCelPolicy, specs: readonly MutationSpec[]): CompiledMutation[] {
  return specs.map((m) => ({ patchType: m.patchType, expr: cel.compileExpression(m.path, m.expression) }))
}

export type MutationOutcome =
  /** a match condition is false */
  | { status: 'skip'; reason: string }
  /** an expression or a patch failed; `unsupported`: it needed data offline evaluation was not given */
  | { status: 'error'; message: string; unsupported?: string; fromMatch?: boolean }
  /** `errors`: the mutations that failed and were passed over (continueOnError) */
  | { status: 'applied'; object: Json; errors?: string[] }

export interface MutationOptions {
  /** re-evaluate variables for each mutation (the API server) or keep their values (Kyverno) */
  freshVariables: boolean
  /** refuse apply configurations that set atomic parts (see apply-configuration.ts) */
  guardAtomics: boolean
  /**
   * go on with the next mutation when one fails, as the API server's dispatcher does (the failure is
   * then the failurePolicy's business); Kyverno stops at the first
   */
  continueOnError?: boolean
}

function jsonPatchOperations(value: unknown): JsonPatchOperation[] {
  if (!Array.isArray(value))
    throw new Error('type mismatch: JSONPatchType.expression should evaluate to array')
  return value.map((item) => {
    if (!(item instanceof ObjectLiteral) || typeNameOf(item) !== 'JSONPatch')
      throw new Error('type mismatch: JSONPatchType.expression should evaluate to array of JSONPatch')
    const fields = fieldsOf(item)
    const { op, path, from, value: v } = fields
    const out: JsonPatchOperation = { op: String(op ?? ''), path: String(path ?? '') }
    if (typeof from === 'string' && from !== '') out.from = from
    if ('value' in fields) out.value = objectLiteralValue(v)
    return out
  })
}

function applyOne(object: Json, patchType: PatchType, value: unknown, options: MutationOptions): Json {
  if (patchType === 'ApplyConfiguration') {
    if (!(value instanceof ObjectLiteral) || typeNameOf(value) !== 'Object')
      throw new Error('unsupported return type from ApplyConfiguration expression: expected Object{...}')
    const configuration = objectLiteralValue(value) as Json
    const schema = schemaFor(String(object.apiVersion ?? ''), String(object.kind ?? ''))
    return applyConfiguration(object, configuration, schema, { guardAtomics: options.guardAtomics })
  }
  let patched: unknown
  try {
    patched = applyJsonPatch(object, jsonPatchOperations(value))
  } catch (err) {
    if (err instanceof JsonPatchTestFailed) return object
    throw new Error(`JSON Patch: ${(err as Error).message}`)
  }
  if (!isJsonMap(patched)) throw new Error('JSON Patch: the patched document is not an object')
  return patched
}

/** Runs the match conditions, then the mutations in order, on `input.object`. */
export function runMutations(
  cel: CompiledCelPolicy,
  mutations: readonly CompiledMutation[],
  input: AdmissionInput,
  options: MutationOptions,
): MutationOutcome {
  const evaluation = cel.begin(input)
  const unmatched = evaluation.unmatched
  if (unmatched?.status === 'skip') return { status: 'skip', reason: unmatched.reason }
  if (unmatched?.status === 'error') {
    const unsupported = unmatched.problems.find((p) => p.unsupported !== undefined)?.unsupported
    return {
      status: 'error',
      message: unmatched.message,
      fromMatch: true,
      ...(unsupported ? { unsupported } : {}),
    }
  }
  let object = input.object ?? {}
  const errors: string[] = []
  for (const m of mutations) {
    const outcome = evaluation.run(m.expr)
    if (!outcome.ok) {
      if (options.continueOnError && outcome.unsupported === undefined) {
        errors.push(outcome.message)
        continue
      }
      return {
        status: 'error',
        message: outcome.message,
        ...(outcome.unsupported ? { unsupported: outcome.unsupported } : {}),
      }
    }
    try {
      object = applyOne(object, m.patchType, outcome.value, options)
    } catch (err) {
      const message = `${m.expr.field}: ${(err as Error).message}`
      if (!options.continueOnError) return { status: 'error', message }
      errors.push(message)
      continue
    }
    evaluation.replaceObject(object, options.freshVariables)
  }
  return errors.length > 0 ? { status: 'applied', object, errors } : { status: 'applied', object }
}
