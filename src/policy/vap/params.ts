/**
 * The parameter resources a (policy, binding) pair is evaluated with, chosen among the resources of the
 * input as the API server chooses them among the cluster's (generic.CollectParams).
 */

import type { AdmissionRequestInfo } from '../admission/request.js'
import { kindInfo, parseApiVersion } from '../admission/resources.js'
import type { Json } from '../admission/shape.js'
import { selectorMatches } from '../cel/selectors.js'
import { isJsonMap } from '../json-map.js'
import type { ParamKind, ParamRef } from './load.js'

/** Params to evaluate with (null: the policy runs once without params), or a configuration error. */
export type ParamSelection = { params: (Json | null)[] } | { configError: string }

function metaOf(object: Json): Json {
  return isJsonMap(object.metadata) ? object.metadata : {}
}

/**
 * Whether the paramKind is namespaced: known for built-in kinds; for a custom kind, namespaced when the
 * binding or one of its resources names a namespace (the API server would ask the CRD).
 */
function isNamespaced(kind: ParamKind, ref: ParamRef, candidates: readonly Json[]): boolean {
  const { group } = parseApiVersion(kind.apiVersion)
  const guess = ref.namespace !== undefined || candidates.some((c) => typeof metaOf(c).namespace === 'string')
  return kindInfo(group, kind.kind, guess).scope === 'Namespaced'
}

export function selectParams(
  paramKind: ParamKind | undefined,
  paramRef: ParamRef | undefined,
  request: AdmissionRequestInfo,
  available: readonly Json[],
): ParamSelection {
  if (!paramKind || !paramRef) return { params: [null] }
  const candidates = available.filter(
    (r) => r.apiVersion === paramKind.apiVersion && r.kind === paramKind.kind,
  )
  let inScope = candidates
  if (isNamespaced(paramKind, paramRef, candidates)) {
    const namespace = paramRef.namespace ?? request.namespace
    if (!namespace)
      return {
        configError: 'cannot use namespaced paramRef in policy binding that matches cluster-scoped resources',
      }
    // A manifest without a namespace lands in `default`, as `kubectl apply` puts it.
    inScope = candidates.filter((c) => (metaOf(c).namespace ?? 'default') === namespace)
  } else if (paramRef.namespace !== undefined) {
    return { configError: 'paramRef.namespace must not be provided for a cluster-scoped `paramKind`' }
  }
  const params =
    paramRef.by === 'name'
      ? inScope.filter((c) => metaOf(c).name === paramRef.name)
      : inScope.filter((c) => selectorMatches(paramRef.selector, metaOf(c).labels ?? {}))
  if (params.length === 0 && paramRef.parameterNotFoundAction === 'Deny')
    return { configError: 'no params found for policy binding with `Deny` parameterNotFoundAction' }
  return { params }
}
