/**
 * The AdmissionReview the API server sends a webhook, and the checks it makes on the answer
 * (staging/src/k8s.io/apiserver/pkg/admission/plugin/webhook/request in Kubernetes): the request
 * fields in AdmissionRequest's field order (05-admission/cases show them byte for byte), the first
 * of the webhook's admissionReviewVersions this server speaks, and the response rules of each
 * version (v1: matching uid and kind, patch with patchType; v1beta1: neither checked).
 */
import type { Obj, UserInfo } from './types.js'
import { isObj } from './types.js'

export interface GroupVersionKind {
  readonly group: string
  readonly version: string
  readonly kind: string
}

export interface GroupVersionResource {
  readonly group: string
  readonly version: string
  readonly resource: string
}

export interface ReviewRequest {
  readonly uid: string
  /** What the webhook is called for (after matchPolicy Equivalent conversion). */
  readonly kind: GroupVersionKind
  readonly resource: GroupVersionResource
  readonly subResource: string
  /** What the client asked for. */
  readonly requestKind: GroupVersionKind
  readonly requestResource: GroupVersionResource
  readonly requestSubResource: string
  readonly name: string
  readonly namespace: string
  readonly operation: string
  readonly userInfo: UserInfo
  readonly object: Obj | null
  readonly oldObject: Obj | null
  readonly dryRun: boolean
  readonly options: Obj | null
}

export type ReviewVersion = 'v1' | 'v1beta1'

/** The first version the webhook accepts that this server can send; undefined if none. */
export function reviewVersionFor(accepted: readonly string[]): ReviewVersion | undefined {
  for (const v of accepted) if (v === 'v1' || v === 'v1beta1') return v
  return undefined
}

function userInfoJson(u: UserInfo): Obj {
  const out: Obj = { username: u.username }
  if (u.uid) out.uid = u.uid
  if (u.groups.length > 0) out.groups = [...u.groups]
  if (u.extra && Object.keys(u.extra).length > 0) out.extra = u.extra
  return out
}

/** The review body as JSON text (one line and a newline, as the recorded calls arrived). */
export function reviewBody(version: ReviewVersion, r: ReviewRequest): string {
  const request: Obj = {
    uid: r.uid,
    kind: { group: r.kind.group, version: r.kind.version, kind: r.kind.kind },
    resource: { group: r.resource.group, version: r.resource.version, resource: r.resource.resource },
  }
  if (r.subResource) request.subResource = r.subResource
  request.requestKind = {
    group: r.requestKind.group,
    version: r.requestKind.version,
    kind: r.requestKind.kind,
  }
  request.requestResource = {
    group: r.requestResource.group,
    version: r.requestResource.version,
    resource: r.requestResource.resource,
  }
  if (r.requestSubResource) request.requestSubResource = r.requestSubResource
  if (r.name) request.name = r.name
  if (r.namespace) request.namespace = r.namespace
  request.operation = r.operation
  request.userInfo = userInfoJson(r.userInfo)
  request.object = r.object
  request.oldObject = r.oldObject
  request.dryRun = r.dryRun
  request.options = r.options
  return `${JSON.stringify({ kind: 'AdmissionReview', apiVersion: `admission.k8s.io/${version}`, request })}\n`
}

export interface ReviewResult {
  readonly allowed: boolean
  readonly patch?: Buffer
  readonly patchType?: string
  /** The webhook's Status (message, reason, code, details), as it sent it. */
  readonly status?: Obj
  readonly warnings: readonly string[]
  readonly auditAnnotations: Readonly<Record<string, string>>
}

/**
 * Checks a webhook's answer the way the API server does; throws an Error worded as its
 * `received invalid webhook response: ...` reason.
 */
export function verifyReview(
  version: ReviewVersion,
  uid: string,
  mutating: boolean,
  review: unknown,
): ReviewResult {
  if (!isObj(review)) throw new Error('webhook response was absent')
  const response = review.response
  if (!isObj(response)) throw new Error('webhook response was absent')
  const annotations: Record<string, string> = {}
  if (isObj(response.auditAnnotations))
    for (const [k, v] of Object.entries(response.auditAnnotations))
      if (typeof v === 'string') annotations[k] = v
  const warnings = Array.isArray(response.warnings) ? response.warnings.map((w) => String(w)) : []
  const status = isObj(response.status) ? response.status : undefined
  const patchText = typeof response.patch === 'string' ? response.patch : ''
  const patch = patchText ? Buffer.from(patchText, 'base64') : undefined
  const base = {
    allowed: response.allowed === true,
    ...(status ? { status } : {}),
    warnings,
    auditAnnotations: annotations,
  }
  if (version === 'v1beta1') {
    if (mutating && patch && patch.length > 0) return { ...base, patch, patchType: 'JSONPatch' }
    return base
  }
  const gotUid = typeof response.uid === 'string' ? response.uid : ''
  if (gotUid !== uid)
    throw new Error(`expected response.uid=${JSON.stringify(uid)}, got ${JSON.stringify(gotUid)}`)
  const apiVersion = typeof review.apiVersion === 'string' ? review.apiVersion : ''
  const kind = typeof review.kind === 'string' ? review.kind : ''
  if (apiVersion !== 'admission.k8s.io/v1' || kind !== 'AdmissionReview') {
    const slash = apiVersion.indexOf('/')
    const group = slash >= 0 ? apiVersion.slice(0, slash) : ''
    const ver = slash >= 0 ? apiVersion.slice(slash + 1) : apiVersion
    throw new Error(
      `expected webhook response of admission.k8s.io/v1, Kind=AdmissionReview, got ${group}/${ver}, Kind=${kind}`,
    )
  }
  const patchType = typeof response.patchType === 'string' ? response.patchType : undefined
  if (mutating) {
    if (patch && patch.length > 0 && patchType === undefined)
      throw new Error('webhook returned response.patch but not response.patchType')
    if ((!patch || patch.length === 0) && patchType !== undefined)
      throw new Error('webhook returned response.patchType but not response.patch')
    if (patchType !== undefined && patchType === '')
      throw new Error(`webhook returned invalid response.patchType of ""`)
    return { ...base, ...(patch ? { patch } : {}), ...(patchType !== undefined ? { patchType } : {}) }
  }
  if (patch && patch.length > 0) throw new Error('validating webhook may not return response.patch')
  if (patchType !== undefined) throw new Error('validating webhook may not return response.patchType')
  return base
}

/** The Status a denial answers with (admission/plugin/webhook/errors: ToStatusErr). */
export function denialStatus(
  webhookName: string,
  status: Obj | undefined,
): { code: number; reason: string; message: string; details?: Obj } {
  const deniedBy = `admission webhook ${JSON.stringify(webhookName)} denied the request`
  const rawCode = typeof status?.code === 'number' ? status.code : 0
  const code = Math.max(rawCode, 400)
  const reason = typeof status?.reason === 'string' ? status.reason : ''
  const msg = typeof status?.message === 'string' ? status.message : ''
  const message = msg
    ? `${deniedBy}: ${msg}`
    : reason
      ? `${deniedBy}: ${reason}`
      : `${deniedBy} without explanation`
  return { code, reason, message, ...(isObj(status?.details) ? { details: status.details } : {}) }
}
