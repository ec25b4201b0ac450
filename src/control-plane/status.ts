/**
 * metav1.Status answers, worded exactly as the recorded kube-apiserver words them. Handlers throw an
 * ApiError; the server turns it into the response, so no failure path writes its own body.
 */
import type { ResourceType } from './catalog.js'
import type { Obj } from './types.js'

export interface Cause {
  readonly reason: string
  readonly message: string
  readonly field?: string
}

export interface StatusDetails {
  readonly name?: string
  readonly group?: string
  readonly kind?: string
  readonly uid?: string
  readonly causes?: readonly Cause[]
  readonly retryAfterSeconds?: number
}

export class ApiError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    /** undefined: no details key; {}: `"details":{}` as some answers carry. */
    readonly details?: StatusDetails,
    readonly extra: {
      headers?: Record<string, string>
      metadata?: Obj
      indented?: boolean
      /** Warning header values gathered before the failure (admission webhooks' warnings). */
      warnings?: readonly string[]
      /** The answer of a long-running request (exec, attach, port-forward): no Pf headers. */
      exemptFromFairness?: boolean
    } = {},
  ) {
    super(message)
  }

  status(): Obj {
    return statusBody(this.code, this.reason, this.message, this.details, this.extra.metadata)
  }
}

export function statusBody(
  code: number,
  reason: string,
  message: string,
  details?: StatusDetails,
  metadata?: Obj,
): Obj {
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: metadata ?? {},
    status: 'Failure',
    ...(message ? { message } : {}),
    ...(reason ? { reason } : {}),
    ...(details !== undefined ? { details: cleanDetails(details) } : {}),
    code,
  }
}

function cleanDetails(d: StatusDetails): Obj {
  const out: Obj = {}
  if (d.name) out.name = d.name
  if (d.group) out.group = d.group
  if (d.kind) out.kind = d.kind
  if (d.uid) out.uid = d.uid
  if (d.causes)
    out.causes = d.causes.map((c) => ({
      ...(c.reason ? { reason: c.reason } : {}),
      message: c.message,
      ...(c.field ? { field: c.field } : {}),
    }))
  if (d.retryAfterSeconds !== undefined) out.retryAfterSeconds = d.retryAfterSeconds
  return out
}

/** "deployments.apps" / "configmaps": how errors name a resource. */
export function qualified(type: Pick<ResourceType, 'resource' | 'group'>): string {
  return type.group ? `${type.resource}.${type.group}` : type.resource
}

export function notFound(type: Pick<ResourceType, 'resource' | 'group'>, name: string): ApiError {
  return new ApiError(404, 'NotFound', `${qualified(type)} "${name}" not found`, {
    name,
    ...(type.group ? { group: type.group } : {}),
    kind: type.resource,
  })
}

export function namespaceNotFound(name: string): ApiError {
  return notFound({ resource: 'namespaces', group: '' }, name)
}

export function alreadyExists(type: ResourceType, name: string): ApiError {
  return new ApiError(409, 'AlreadyExists', `${qualified(type)} "${name}" already exists`, {
    name,
    ...(type.group ? { group: type.group } : {}),
    kind: type.resource,
  })
}

export function conflict(type: ResourceType, name: string): ApiError {
  return new ApiError(
    409,
    'Conflict',
    `Operation cannot be fulfilled on ${qualified(type)} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
    { name, ...(type.group ? { group: type.group } : {}), kind: type.resource },
  )
}

export function badRequest(message: string): ApiError {
  return new ApiError(400, 'BadRequest', message)
}

/** The plain "the server could not find the requested resource" 404. */
export function resourceNotFound(): ApiError {
  return new ApiError(404, 'NotFound', 'the server could not find the requested resource', {})
}

export function methodNotAllowed(): ApiError {
  return new ApiError(
    405,
    'MethodNotAllowed',
    'the server does not allow this method on the requested resource',
    {},
  )
}

/** A 422 about an object: `Kind.group "name" is invalid: ...`. */
export function invalid(
  kindQualified: string,
  name: string,
  causes: Cause[],
  group?: string,
  kind?: string,
): ApiError {
  const text = (c: Cause) => (c.field ? `${c.field}: ${c.message}` : c.message)
  const summary = causes.length === 1 ? text(causes[0]!) : `[${causes.map(text).join(', ')}]`
  return new ApiError(422, 'Invalid', `${kindQualified} "${name}" is invalid: ${summary}`, {
    ...(name ? { name } : {}),
    ...(group ? { group } : {}),
    kind: kind ?? kindQualified.split('.')[0],
    causes,
  })
}

/** A 422 about request options: `ListOptions.meta.k8s.io "" is invalid: ...`. */
export function invalidOptions(optionsKind: string, causes: Cause[]): ApiError {
  const text = (c: Cause) => (c.field ? `${c.field}: ${c.message}` : c.message)
  const summary = causes.length === 1 ? text(causes[0]!) : `[${causes.map(text).join(', ')}]`
  return new ApiError(422, 'Invalid', `${optionsKind}.meta.k8s.io "" is invalid: ${summary}`, {
    group: 'meta.k8s.io',
    kind: optionsKind,
    causes,
  })
}

export const EXPIRED_CONTINUE_MESSAGE =
  'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.'
