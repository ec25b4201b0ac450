/**
 * Policies written for other engines, loaded side by side: Kyverno ClusterPolicy/Policy, Kyverno's
 * CEL-native ValidatingPolicy, and the policy kinds Plimsoll recognises but cannot run offline (listed
 * with the reason). Both `plimsoll kyverno test` and `plimsoll scan --policy` go through here, so a policy
 * gives the same verdict in both.
 */
import type { PathSegment, Resource } from '../../resources/types.js'
import { UnsupportedFeatureError } from '../admission/cel-policy.js'
import type { AdmissionRequestInfo, LiveAdmission } from '../admission/request.js'
import { kindInfo, parseApiVersion } from '../admission/resources.js'
import { isJsonMap } from '../json-map.js'
import { type CelException, readCelException } from '../kyverno/cel-exceptions.js'
import {
  admissionRequestOf,
  applyKyvernoPolicy,
  type PolicyRequest,
  type RuleStatus,
} from '../kyverno/evaluate.js'
import { type CompiledGeneratingPolicy, loadGeneratingPolicy } from '../kyverno/generating-policy.js'
import { annotationsOf, isKyvernoPolicy, type KyvernoProblem, loadKyvernoPolicy } from '../kyverno/load.js'
import { type CompiledMutatingPolicy, loadMutatingPolicy } from '../kyverno/mutating-policy.js'
import type { PodSecurityChecks } from '../kyverno/pod-security.js'
import type { KyvernoPolicy } from '../kyverno/policy.js'
import { type CompiledValidatingPolicy, loadValidatingPolicy } from '../kyverno/validating-policy.js'
import type { DeclaredAction } from '../result.js'
import { evaluateAdmission, type VapSet } from '../vap/evaluate.js'
import { isAdmissionPolicyDocument, loadAdmissionPolicies, type ValidationAction } from '../vap/load.js'
import { isMutatingAdmissionDocument, loadMutatingAdmissionPolicies, type MapSet } from '../vap/mutating.js'

export interface UnsupportedPolicy {
  kind: string
  name: string
  reason: string
  file: string
  line: number
}

/** A Kyverno ValidatingPolicy, with the annotations that describe it (title, severity...). */
export interface ValidatingEntry {
  policy: CompiledValidatingPolicy
  annotations: Record<string, string>
}

export interface PolicySet {
  kyverno: KyvernoPolicy[]
  validating: ValidatingEntry[]
  /** ValidatingAdmissionPolicies and their bindings (compiled by completePolicySet) */
  vap: VapSet
  /** Kyverno MutatingPolicies and GeneratingPolicies: run by `kyverno test`, not by scans */
  mutating: CompiledMutatingPolicy[]
  generating: CompiledGeneratingPolicy[]
  /** MutatingAdmissionPolicies and their bindings (compiled by completePolicySet) */
  map: MapSet
  /** the MutatingAdmissionPolicy documents read so far */
  mapDocuments: Resource[]
  /** PolicyExceptions of Kyverno's CEL policy kinds (applied to MutatingPolicies and GeneratingPolicies) */
  celExceptions: CelException[]
  /** other documents of the policy files: the parameter resources VAP bindings may refer to */
  params: Record<string, unknown>[]
  unsupported: UnsupportedPolicy[]
  problems: KyvernoProblem[]
  /** the VAP documents read so far, compiled together once every file is read */
  vapDocuments: Resource[]
  /** what Kyverno's podSecurity rules are answered with (handed in by whoever loads the set) */
  podSecurity?: PodSecurityChecks
}

const KYVERNO_CEL_GROUP = 'policies.kyverno.io/'

const UNSUPPORTED_KINDS: Record<string, string> = {
  ImageValidatingPolicy: 'image verification needs the image registry',
  DeletingPolicy: 'deletion acts on a cluster',
  NamespacedValidatingPolicy: 'namespaced CEL policies are not implemented yet',
}

export function emptyPolicySet(podSecurity?: PodSecurityChecks): PolicySet {
  return {
    kyverno: [],
    validating: [],
    vap: { policies: [], bindings: [] },
    mutating: [],
    generating: [],
    map: { policies: [], bindings: [] },
    mapDocuments: [],
    celExceptions: [],
    params: [],
    unsupported: [],
    problems: [],
    vapDocuments: [],
    ...(podSecurity ? { podSecurity } : {}),
  }
}

/** Whether a document is a policy of another engine that this module loads (or reports). */
export function isForeignPolicy(apiVersion: string, kind: string): boolean {
  return (
    isKyvernoPolicy(apiVersion, kind) ||
    apiVersion.startsWith(KYVERNO_CEL_GROUP) ||
    isAdmissionPolicyDocument({ apiVersion, kind }) ||
    isMutatingAdmissionDocument({ apiVersion, kind })
  )
}

/** How a Kyverno CEL policy kind is loaded into the set; undefined for the kinds not run. */
function celPolicyLoader(set: PolicySet, doc: Resource): (() => void) | undefined {
  const origin = { file: doc.source.file, locate: (path: readonly PathSegment[]) => doc.locate(path) }
  switch (doc.kind) {
    case 'ValidatingPolicy':
      return () => {
        const policy = loadValidatingPolicy(doc.object, origin)
        set.validating.push({ policy, annotations: annotationsOf(doc.object) })
      }
    case 'MutatingPolicy':
      return () => {
        set.mutating.push(loadMutatingPolicy(doc.object, origin))
      }
    case 'GeneratingPolicy':
      return () => {
        set.generating.push(loadGeneratingPolicy(doc.object, origin))
      }
    case 'PolicyException':
      return () => {
        set.celExceptions.push(readCelException(doc.object, doc.source.file))
      }
    default:
      return undefined
  }
}

/**
 * Adds the foreign policies among `resources` (the documents of one file) to the set; with
 * `keepParams`, the other documents are kept as parameter resources for VAP bindings.
 */
export function addPolicies(set: PolicySet, resources: readonly Resource[], keepParams = false): void {
  for (const doc of resources) {
    if (isAdmissionPolicyDocument(doc)) {
      set.vapDocuments.push(doc)
      continue
    }
    if (isMutatingAdmissionDocument(doc)) {
      set.mapDocuments.push(doc)
      continue
    }
    if (keepParams && !isForeignPolicy(doc.apiVersion, doc.kind)) set.params.push(doc.object)
    const line = doc.source.position.line
    const file = doc.source.file
    if (isKyvernoPolicy(doc.apiVersion, doc.kind)) {
      const { policy, problems } = loadKyvernoPolicy(doc.object, file, (path) => doc.locate(path).line)
      set.kyverno.push(policy)
      set.problems.push(...problems)
    } else if (doc.apiVersion.startsWith(KYVERNO_CEL_GROUP)) {
      const load = celPolicyLoader(set, doc)
      if (load) {
        try {
          load()
        } catch (err) {
          if (err instanceof UnsupportedFeatureError)
            set.unsupported.push({ kind: doc.kind, name: doc.name, reason: err.message, file, line })
          else
            set.problems.push({
              file,
              line,
              policy: doc.name,
              field: 'spec',
              message: (err as Error).message,
            })
        }
      } else {
        const reason = UNSUPPORTED_KINDS[doc.kind] ?? `${doc.kind} is not a policy kind Plimsoll knows`
        set.unsupported.push({ kind: doc.kind, name: doc.name, reason, file, line })
      }
    }
  }
}

/** Compiles the ValidatingAdmissionPolicies and bindings read, once every file has been added. */
export function completePolicySet(set: PolicySet): PolicySet {
  const { policies, bindings, errors } = loadAdmissionPolicies(set.vapDocuments)
  set.vap = { policies, bindings }
  const mutating = loadMutatingAdmissionPolicies(set.mapDocuments)
  set.map = { policies: mutating.policies, bindings: mutating.bindings }
  errors.push(...mutating.errors)
  for (const e of errors)
    set.problems.push({
      file: e.file,
      line: e.line,
      policy: e.name,
      field: e.field,
      message: `${e.kind}: ${e.message}`,
    })
  return set
}

/**
 * The namespace a resource would live in, as `kubectl apply` places it (`default` for a namespaced kind
 * that names none), and its Namespace object as far as the input tells (a bare one when it does not).
 */
export function namespaceOf(
  resource: Pick<Resource, 'apiVersion' | 'kind' | 'namespace'>,
  known: ReadonlyMap<string, Record<string, unknown>>,
): { name: string; object: Record<string, unknown> | null } {
  const { group } = parseApiVersion(resource.apiVersion)
  const namespaced = kindInfo(group, resource.kind, resource.namespace !== undefined).scope === 'Namespaced'
  if (!namespaced) return { name: '', object: null }
  const name = resource.namespace ?? 'default'
  return { name, object: known.get(name) ?? { apiVersion: 'v1', kind: 'Namespace', metadata: { name } } }
}

const ANONYMOUS = { username: '', groups: [], roles: [], clusterRoles: [] }

/**
 * A policy request's all but object and kind: who asks and how, and the resource's namespace. As an
 * API server sent it (`admission`: the webhook), or a CREATE by nobody in particular (a manifest).
 * Kyverno's roles and clusterRoles come from the cluster's RBAC, which a request does not carry; a
 * namespace the caller does not know has no labels (Kyverno's namespaceSelector reads them).
 */
export function requestContext(
  resource: Pick<Resource, 'apiVersion' | 'kind' | 'namespace'>,
  namespaces: ReadonlyMap<string, Record<string, unknown>>,
  admission: LiveAdmission | undefined,
): Omit<PolicyRequest, 'object' | 'kind'> {
  const namespaceObject = namespaceOf(resource, namespaces).object
  const labels = (namespaceObject?.metadata as { labels?: unknown } | undefined)?.labels
  const user = admission?.request.userInfo
  return {
    oldObject: admission?.oldObject ?? null,
    operation: admission?.request.operation ?? 'CREATE',
    user: user
      ? { username: user.username, groups: [...user.groups], roles: [], clusterRoles: [] }
      : ANONYMOUS,
    namespaceObject,
    namespaceLabels: isJsonMap(labels) ? (labels as Record<string, string>) : {},
    ...(admission ? { admission: admission.request } : {}),
  }
}

/** One verdict of one policy (and rule, for Kyverno policies) on one resource. */
export interface PolicyResponse {
  policyKind:
    | 'ClusterPolicy'
    | 'Policy'
    | 'ValidatingPolicy'
    | 'ValidatingAdmissionPolicy'
    | 'MutatingPolicy'
    | 'MutatingAdmissionPolicy'
    | 'GeneratingPolicy'
  policy: string
  /** namespace of a namespaced Kyverno Policy */
  policyNamespace?: string
  /** the Kyverno rule, or the binding of a ValidatingAdmissionPolicy */
  rule?: string
  status: RuleStatus
  message: string
  path?: string
  severity?: string
  annotations: Record<string, string>
  /** what the policy declares admission does with a failure (validate rules and policies only) */
  action?: DeclaredAction
}

/** Deny wins over Warn, Warn over Audit, as the API server applies a binding's validationActions. */
function actionOf(actions: readonly ValidationAction[]): DeclaredAction {
  return actions.includes('Deny') ? 'enforce' : actions.includes('Warn') ? 'warn' : 'audit'
}

export function evaluatePolicySet(set: PolicySet, req: PolicyRequest): PolicyResponse[] {
  const out: PolicyResponse[] = []
  const services = set.podSecurity ? { podSecurity: set.podSecurity } : {}
  for (const policy of set.kyverno) {
    for (const r of applyKyvernoPolicy(policy, req, services)) {
      const response: PolicyResponse = {
        policyKind: policy.kind,
        policy: policy.name,
        rule: r.rule.name,
        status: r.status,
        message: r.message,
        annotations: policy.annotations,
      }
      if (r.rule.type === 'validate')
        response.action = r.rule.failureAction === 'Enforce' ? 'enforce' : 'audit'
      if (policy.namespace !== undefined) response.policyNamespace = policy.namespace
      if (r.path !== undefined) response.path = r.path
      out.push(response)
    }
  }
  if (set.validating.length === 0 && set.vap.policies.length === 0) return out
  const request = admissionRequestOf(req)
  for (const { policy: vp, annotations } of set.validating) {
    const verdict = vp.evaluate(req.object, request, req.namespaceObject ?? null, {
      oldObject: req.oldObject,
      ...(req.data ? { data: req.data } : {}),
    })
    if (!verdict) continue
    out.push({
      policyKind: 'ValidatingPolicy',
      policy: vp.name,
      status: verdict.status,
      message: verdict.message ?? '',
      annotations,
      action: actionOf(vp.validationActions),
    })
  }
  if (set.vap.policies.length > 0) out.push(...vapResponses(set, req, request))
  return out
}

const VAP_STATUS = { skip: 'skip', pass: 'pass', fail: 'fail', error: 'error' } as const

function vapResponses(set: PolicySet, req: PolicyRequest, request: AdmissionRequestInfo): PolicyResponse[] {
  const results = evaluateAdmission(set.vap, {
    object: req.operation === 'DELETE' ? null : req.object,
    oldObject: req.oldObject,
    request,
    namespaceObject: req.namespaceObject ?? null,
    paramResources: set.params,
  })
  const actions = new Map(set.vap.bindings.map((b) => [b.name, actionOf(b.validationActions)]))
  return results.map((r) => {
    const v = r.verdict
    const message =
      v.status === 'fail'
        ? v.violations.map((x) => x.message).join('; ')
        : v.status === 'error'
          ? v.message
          : v.status === 'skip'
            ? v.reason
            : ''
    const param = r.param
      ? ` (params ${r.param.namespace ? `${r.param.namespace}/` : ''}${r.param.name})`
      : ''
    return {
      policyKind: 'ValidatingAdmissionPolicy' as const,
      policy: r.policy,
      rule: r.binding,
      status: VAP_STATUS[v.status],
      message: message ? `${message}${param}` : '',
      annotations: {},
      action: actions.get(r.binding) ?? 'enforce',
    }
  })
}
