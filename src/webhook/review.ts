/**
 * The AdmissionReview an API server sends a webhook (admission.k8s.io/v1 and v1beta1), read strictly
 * enough that nothing malformed reaches a policy, and the review the webhook answers with: the same
 * apiVersion, the request's uid, allowed or a Status, warnings, a JSONPatch, audit annotations.
 */

import type { JsonPatchOperation } from '../policy/json-patch.js'

export const REVIEW_VERSIONS = ['admission.k8s.io/v1', 'admission.k8s.io/v1beta1'] as const
export type ReviewVersion = (typeof REVIEW_VERSIONS)[number]

export const OPERATIONS = ['CREATE', 'UPDATE', 'DELETE', 'CONNECT'] as const
export type Operation = (typeof OPERATIONS)[number]

type Obj = Record<string, unknown>

export interface AdmissionUser {
  readonly username: string
  readonly uid?: string
  readonly groups: readonly string[]
  readonly extra?: Readonly<Record<string, readonly string[]>>
}

export interface AdmissionRequest {
  readonly uid: string
  readonly kind: { readonly group: string; readonly version: string; readonly kind: string }
  readonly resource: { readonly group: string; readonly version: string; readonly resource: string }
  /** '' for the resource itself: `status`, `scale`, `exec`, `ephemeralcontainers`... */
  readonly subResource: string
  readonly name: string
  /** '' for a cluster-scoped object */
  readonly namespace: string
  readonly operation: Operation
  readonly userInfo: AdmissionUser
  /** the object as it would be stored; null for DELETE (and for CONNECT, the options object) */
  readonly object: Obj | null
  /** the object before an UPDATE, and the object deleted by a DELETE */
  readonly oldObject: Obj | null
  readonly dryRun: boolean
  /** CreateOptions, UpdateOptions, DeleteOptions, or a CONNECT's PodExecOptions... */
  readonly options: Obj | null
  /** the whole request as sent, for policies that read fields not modelled here */
  readonly raw: Obj
}

export type ParsedReview =
  | { readonly ok: true; readonly version: ReviewVersion; readonly request: AdmissionRequest }
  | { readonly ok: false; readonly message: string }

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v)

/** What is wrong with a review, said as the field that is and what was expected. */
class Malformed extends Error {}

function str(o: Obj, field: string, where: string, required = false): string {
  const v = o[field]
  if (v === undefined || v === null) {
    if (required) throw new Malformed(`${where}.${field}: expected a string`)
    return ''
  }
  if (typeof v !== 'string') throw new Malformed(`${where}.${field}: expected a string, not ${typeof v}`)
  return v
}

function objOrNull(o: Obj, field: string, where: string): Obj | null {
  const v = o[field]
  if (v === undefined || v === null) return null
  if (!isObj(v)) throw new Malformed(`${where}.${field}: expected an object or null`)
  return v
}

function groupVersion(o: Obj, field: string, third: 'kind' | 'resource'): Record<string, string> {
  const v = o[field]
  if (!isObj(v)) throw new Malformed(`request.${field}: expected {group, version, ${third}}`)
  return {
    group: str(v, 'group', `request.${field}`),
    version: str(v, 'version', `request.${field}`, true),
    [third]: str(v, third, `request.${field}`, true),
  }
}

function userInfo(o: Obj): AdmissionUser {
  const v = o.userInfo
  if (v === undefined || v === null) return { username: '', groups: [] }
  if (!isObj(v)) throw new Malformed('request.userInfo: expected an object')
  const groups = v.groups ?? []
  if (!Array.isArray(groups) || groups.some((g) => typeof g !== 'string'))
    throw new Malformed('request.userInfo.groups: expected a list of strings')
  const extra = v.extra
  if (extra !== undefined && extra !== null) {
    if (
      !isObj(extra) ||
      Object.values(extra).some((e) => !Array.isArray(e) || e.some((x) => typeof x !== 'string'))
    )
      throw new Malformed('request.userInfo.extra: expected a map of string lists')
  }
  const uid = str(v, 'uid', 'request.userInfo')
  return {
    username: str(v, 'username', 'request.userInfo'),
    ...(uid ? { uid } : {}),
    groups: groups as string[],
    ...(isObj(extra) ? { extra: extra as Record<string, string[]> } : {}),
  }
}

/** Reads a review from its JSON text; the message of a failure names the field and what was expected. */
export function parseReview(text: string): ParsedReview {
  let doc: unknown
  try {
    doc = JSON.parse(text)
  } catch (err) {
    return { ok: false, message: `the body is not JSON: ${(err as Error).message}` }
  }
  try {
    if (!isObj(doc)) throw new Malformed('expected an AdmissionReview object')
    if (doc.kind !== 'AdmissionReview')
      throw new Malformed(`kind: expected AdmissionReview, not ${JSON.stringify(doc.kind)}`)
    const version = doc.apiVersion as ReviewVersion
    if (!REVIEW_VERSIONS.includes(version))
      throw new Malformed(
        `apiVersion: expected ${REVIEW_VERSIONS.join(' or ')}, not ${JSON.stringify(doc.apiVersion)}`,
      )
    const r = doc.request
    if (!isObj(r))
      throw new Malformed('request: expected an object (a review without a request is a response)')
    const operation = str(r, 'operation', 'request', true) as Operation
    if (!OPERATIONS.includes(operation))
      throw new Malformed(
        `request.operation: expected one of ${OPERATIONS.join(', ')}, not ${JSON.stringify(operation)}`,
      )
    const uid = str(r, 'uid', 'request', true)
    if (uid === '') throw new Malformed('request.uid: expected a non-empty string')
    const dryRun = r.dryRun ?? false
    if (typeof dryRun !== 'boolean') throw new Malformed('request.dryRun: expected a boolean')
    const request: AdmissionRequest = {
      uid,
      kind: groupVersion(r, 'kind', 'kind') as AdmissionRequest['kind'],
      resource: groupVersion(r, 'resource', 'resource') as AdmissionRequest['resource'],
      subResource: str(r, 'subResource', 'request'),
      name: str(r, 'name', 'request'),
      namespace: str(r, 'namespace', 'request'),
      operation,
      userInfo: userInfo(r),
      object: objOrNull(r, 'object', 'request'),
      oldObject: objOrNull(r, 'oldObject', 'request'),
      dryRun,
      options: objOrNull(r, 'options', 'request'),
      raw: r,
    }
    return { ok: true, version, request }
  } catch (err) {
    if (err instanceof Malformed) return { ok: false, message: err.message }
    throw err
  }
}

/** What the webhook decided for one request. */
export type Verdict =
  | {
      readonly allowed: true
      readonly warnings?: readonly string[]
      /** RFC 6902 operations on the request's object, as a mutating webhook answers */
      readonly patch?: readonly JsonPatchOperation[]
      readonly auditAnnotations?: Readonly<Record<string, string>>
    }
  | {
      readonly allowed: false
      /** HTTP code of the Status (403 unless said) */
      readonly code?: number
      readonly reason?: string
      readonly message: string
      readonly warnings?: readonly string[]
      readonly auditAnnotations?: Readonly<Record<string, string>>
    }

/**
 * The API server passes on 4,096 characters of warnings in all; past that it cuts each to 256 and
 * drops what still does not fit, and it refuses a warning with control characters. Doing the same
 * first keeps the warnings readable and lets the last one say how many were left out.
 */
const TOTAL_WARNING_CHARS = 4096
const CUT_WARNING_CHARS = 256

function cleanWarnings(warnings: readonly string[] | undefined): string[] | undefined {
  if (!warnings || warnings.length === 0) return undefined
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is removed
  let clean = warnings.map((w) => w.replace(/[\u0000-\u001f\u007f]+/g, ' '))
  const total = (list: string[]) => list.reduce((n, w) => n + w.length, 0)
  if (total(clean) <= TOTAL_WARNING_CHARS) return clean
  clean = clean.map((w) => (w.length > CUT_WARNING_CHARS ? `${w.slice(0, CUT_WARNING_CHARS - 3)}...` : w))
  const kept: string[] = []
  let used = 40 // room for the last word
  for (const w of clean) {
    if (used + w.length > TOTAL_WARNING_CHARS) break
    kept.push(w)
    used += w.length
  }
  if (kept.length < clean.length) kept.push(`and ${clean.length - kept.length} more warnings`)
  return kept
}

/** The review the webhook answers with, as JSON. */
export function reviewResponse(version: ReviewVersion, uid: string, verdict: Verdict): string {
  const warnings = cleanWarnings(verdict.warnings)
  const response: Obj = { uid, allowed: verdict.allowed }
  if (!verdict.allowed)
    response.status = {
      metadata: {},
      status: 'Failure',
      message: verdict.message,
      ...(verdict.reason ? { reason: verdict.reason } : {}),
      code: verdict.code ?? 403,
    }
  if (warnings) response.warnings = warnings
  if (verdict.allowed && verdict.patch && verdict.patch.length > 0) {
    response.patchType = 'JSONPatch'
    response.patch = Buffer.from(JSON.stringify(verdict.patch)).toString('base64')
  }
  if (verdict.auditAnnotations && Object.keys(verdict.auditAnnotations).length > 0)
    response.auditAnnotations = verdict.auditAnnotations
  return JSON.stringify({ apiVersion: version, kind: 'AdmissionReview', response })
}
