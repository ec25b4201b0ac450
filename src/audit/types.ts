/**
 * The audit door's shared vocabulary: the API server's audit events as they arrive, and the detections
 * rules make of them. Everything in src/audit speaks these; the ingest, the rules, the noise filter and
 * the notifiers know nothing else of each other.
 */

/**
 * One audit.k8s.io Event, v1 or v1beta1, as the API server wrote it: kept as its parsed JSON, since
 * rules read any field (Falco's `jevt.value[/requestObject/spec/...]`). The fields below are the ones
 * the pipeline itself reads; v1beta1 events have the same ones.
 */
export interface AuditEvent {
  readonly kind?: string
  readonly apiVersion?: string
  readonly level?: string
  readonly auditID?: string
  readonly stage?: string
  readonly requestURI?: string
  readonly verb?: string
  readonly user?: { readonly username?: string; readonly groups?: readonly string[]; readonly uid?: string }
  readonly impersonatedUser?: { readonly username?: string; readonly groups?: readonly string[] }
  readonly sourceIPs?: readonly string[]
  readonly userAgent?: string
  readonly objectRef?: {
    readonly resource?: string
    readonly namespace?: string
    readonly name?: string
    readonly apiGroup?: string
    readonly apiVersion?: string
    readonly subresource?: string
  }
  readonly responseStatus?: { readonly code?: number; readonly status?: string; readonly reason?: string }
  readonly requestObject?: unknown
  readonly responseObject?: unknown
  readonly requestReceivedTimestamp?: string
  readonly stageTimestamp?: string
  readonly annotations?: Readonly<Record<string, string>>
  readonly [field: string]: unknown
}

/** Falco's priorities, most severe first: detections from every source use them. */
export const PRIORITIES = [
  'emergency',
  'alert',
  'critical',
  'error',
  'warning',
  'notice',
  'informational',
  'debug',
] as const
export type Priority = (typeof PRIORITIES)[number]

/** Where a detection comes from. */
export type DetectionSource =
  /** a Falco k8saudit rules file (Falco's own, or a team's), evaluated on an audit event */
  | 'falco-rules'
  /** Plimsoll's own audit rules (CEL over the audit event) */
  | 'plimsoll'
  /** Falco's runtime detections, received from its http_output or falcosidekick */
  | 'falco-runtime'
  /** an identity doing something its baseline has not seen */
  | 'anomaly'

/** Something a rule found: what the noise filter groups and the notifiers send. */
export interface Detection {
  /** the rule's name (Falco's `rule:`, a Plimsoll rule id, `anomaly: <what>`) */
  readonly rule: string
  readonly source: DetectionSource
  readonly priority: Priority
  /** the rule's output, its fields filled in */
  readonly output: string
  /** when it happened (the event's stageTimestamp, else when it was received), ISO */
  readonly time: string
  /**
   * What an alert is grouped, routed, silenced and inhibited by (Alertmanager's labels): `rule`,
   * `priority`, `source`, and `user`, `verb`, `resource`, `namespace`, `name`, `cluster` when known.
   */
  readonly labels: Readonly<Record<string, string>>
  readonly tags: readonly string[]
  /** the audit event it was found in, when it came from one */
  readonly auditID?: string
}
