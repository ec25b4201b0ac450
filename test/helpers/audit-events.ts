/**
 * Audit events for the audit door's end-to-end tests, shaped as kube-apiserver writes them at `Metadata`
 * level (audit.k8s.io/v1): a request's verb, user, source address, user agent and object, with the
 * request URI the client sent, the authorizer's decision annotations, timestamps in microseconds
 * (metav1.MicroTime), and a UUID auditID. One event per request: the stage the rules read
 * (ResponseComplete; ResponseStarted for exec and watch streams), as an audit policy with
 * `omitStages: [RequestReceived]` sends them.
 */
import { randomUUID } from 'node:crypto'
import type { AuditEvent } from '../../src/audit/types.js'
import { microTime } from '../../src/control-plane/audit.js'
import { eventList } from './audit-ingest.js'

/** Who sends a request, from where, with what. */
export interface Requester {
  readonly username: string
  readonly groups?: readonly string[]
  readonly ip: string
  readonly userAgent: string
}

/** What a request is about: `pods/exec` is resource `pods`, subresource `exec`. */
export interface Action {
  readonly verb: string
  readonly resource: string
  readonly apiGroup?: string
  readonly subresource?: string
  readonly namespace?: string
  readonly name?: string
  /** the query string (without `?`): `command=...` of an exec; watch and list get theirs by default */
  readonly query?: string
}

const GROUP_VERSIONS: Record<string, string> = {
  apps: 'v1',
  batch: 'v1',
  'networking.k8s.io': 'v1',
  'coordination.k8s.io': 'v1',
  'discovery.k8s.io': 'v1',
  'cert-manager.io': 'v1',
  'kustomize.toolkit.fluxcd.io': 'v1',
}

/** The request URI a client sends for `action`, as the API server records it. */
export function requestURI(action: Action): string {
  const version = action.apiGroup ? (GROUP_VERSIONS[action.apiGroup] ?? 'v1') : 'v1'
  const root = action.apiGroup ? `/apis/${action.apiGroup}/${version}` : '/api/v1'
  const ns = action.namespace ? `/namespaces/${action.namespace}` : ''
  const name = action.name ? `/${action.name}` : ''
  const sub = action.subresource ? `/${action.subresource}` : ''
  const query =
    action.query ?? (action.verb === 'watch' ? 'watch=true' : action.verb === 'list' ? 'limit=500' : '')
  return `${root}${ns}/${action.resource}${name}${sub}${query ? `?${query}` : ''}`
}

/** The stage a rule reads an action at: streams when they start, everything else when it is answered. */
export function stageOf(action: Action): string {
  const streaming = ['exec', 'attach', 'portforward'].includes(action.subresource ?? '')
  return streaming || action.verb === 'watch' ? 'ResponseStarted' : 'ResponseComplete'
}

/** One audit event: `who` did `action` at `at` (ms since the epoch), allowed (101 for a stream, else 200). */
export function auditEvent(who: Requester, action: Action, at: number, auditID = randomUUID()): AuditEvent {
  const stage = stageOf(action)
  const streaming = ['exec', 'attach', 'portforward'].includes(action.subresource ?? '')
  const version = action.apiGroup ? (GROUP_VERSIONS[action.apiGroup] ?? 'v1') : 'v1'
  return {
    kind: 'Event',
    apiVersion: 'audit.k8s.io/v1',
    level: 'Metadata',
    auditID,
    stage,
    requestURI: requestURI(action),
    verb: action.verb,
    user: {
      username: who.username,
      groups: [...(who.groups ?? []), 'system:authenticated'],
    },
    sourceIPs: [who.ip],
    userAgent: who.userAgent,
    objectRef: {
      resource: action.resource,
      ...(action.namespace ? { namespace: action.namespace } : {}),
      ...(action.name ? { name: action.name } : {}),
      ...(action.apiGroup ? { apiGroup: action.apiGroup } : {}),
      apiVersion: version,
      ...(action.subresource ? { subresource: action.subresource } : {}),
    },
    responseStatus: { metadata: {}, code: streaming ? 101 : 200 } as AuditEvent['responseStatus'],
    requestReceivedTimestamp: microTime(at - 3),
    stageTimestamp: microTime(at),
    annotations: { 'authorization.k8s.io/decision': 'allow', 'authorization.k8s.io/reason': '' },
  }
}

/** `kubectl exec <pod> -- <command>` (kubectl 1.30 and later: a WebSocket GET), as `who`. */
export function execAction(namespace: string, pod: string, command: readonly string[]): Action {
  const args = command.map((c) => `command=${encodeURIComponent(c)}`).join('&')
  return {
    verb: 'get',
    resource: 'pods',
    subresource: 'exec',
    namespace,
    name: pod,
    query: `${args}&stderr=true&stdout=true`,
  }
}

/** `events` cut into EventList bodies of `size` (the API server's --audit-webhook-batch-max-size). */
export function batches(events: readonly AuditEvent[], size: number): string[] {
  const out: string[] = []
  for (let i = 0; i < events.length; i += size) out.push(eventList(events.slice(i, i + size)))
  return out
}
