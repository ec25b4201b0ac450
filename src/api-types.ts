/**
 * The API's JSON as types (docs/api.md): what `plimsoll serve` answers and takes. One definition for
 * both sides: the server's modules (src/policy, src/store, src/server) use and re-export these, and the
 * dashboard imports them (web/src/api.ts). Types, the few value lists the wire format enumerates and
 * the few facts both sides read from it; no import and no Node types, so that the web's typecheck and
 * bundle can take this file as it is.
 */

// --- checks ------------------------------------------------------------------------------------

export type Severity = 'info' | 'low' | 'medium' | 'high' | 'critical'

/** A framework control a check implements (`metadata.controls`). */
export interface Control {
  framework: string
  id: string
}

/** A check's metadata (docs/check-format.md), as `GET /api/checks` lists it. */
export interface CheckMetadata {
  id: string
  title: string
  severity: Severity
  category: string
  rationale?: string
  remediation?: string
  docs?: string
  controls: Control[]
  /**
   * Set for a check the served library does not hold, known only from the findings that carry its id:
   * another tool's (imported, `trivy:KSV-0001`: the tool before the colon) or a custom policy's
   */
  external?: { tool?: string; findings: number; open: number }
}

// --- findings and resources --------------------------------------------------------------------

export const FINDING_STATES = ['open', 'excepted', 'resolved'] as const
export type FindingState = (typeof FINDING_STATES)[number]

export const FINDING_SORTS = ['severity', 'check', 'resource', 'first_seen', 'last_seen'] as const
export type FindingSort = (typeof FINDING_SORTS)[number]

export type Order = 'asc' | 'desc'

/**
 * What excepts a finding: an annotation on the resource (owner and expiry optional: from its `.owner`
 * and `.expires` annotations), or an exceptions file's (or the register's, `file: "store#<id>"`) entry.
 */
export type Exception =
  | { source: 'annotation'; reason: string; owner?: string; expires?: string }
  | { source: 'file'; file: string; index: number; owner: string; reason: string; expires: string }

/** `file` of a register exception, as scans apply it and findings record it: `store#<id>` (`index` is the id). */
export const REGISTER_FILE_PREFIX = 'store#'

/** How people name an exceptions file's entry (`debt.yaml #3`, counting from 1) or the register's (`register #12`). */
export function entryName(file: string, index: number): string {
  return file.startsWith(REGISTER_FILE_PREFIX) ? `register #${index}` : `${file} #${index + 1}`
}

/** An exception that says neither who answers for it nor when it ends: only an annotation can be one. */
export function isUnaccounted(e: Exception): boolean {
  return e.source === 'annotation' && e.owner === undefined && e.expires === undefined
}

export interface ResourceRef {
  id: number
  kind: string
  namespace: string
  name: string
  group: string
}

export interface FindingRow {
  id: number
  target: string
  checkId: string
  severity: Severity
  category: string
  message: string
  state: FindingState
  path: string
  container: string | null
  file: string
  line: number
  column: number
  firstSeen: string
  lastSeen: string
  resolvedAt: string | null
  reopened: number
  /** An excepted finding's exception; on an open finding, one that matched but has expired (`expired`). */
  exception: (Exception & { expired?: true }) | null
  resource: ResourceRef
}

/** A page of a list: `{total, limit, offset, items}`. */
export interface Page<T> {
  total: number
  limit: number
  offset: number
  items: T[]
}

/**
 * A page of a list that also pages by cursor (findings, exceptions): `next` goes in the next request's
 * `cursor` to get the items after this page's last; null after the last page.
 */
export interface CursorPage<T> extends Page<T> {
  next: string | null
}

/** A resource where it was last seen. */
export interface Resource {
  id: number
  target: string
  group: string
  kind: string
  namespace: string
  name: string
  file: string
  firstSeen: string
  lastSeen: string
  /** the resource's YAML document; null when not stored (Secrets, credentials); absent on older servers */
  manifest?: string | null
  /** 1-based line of the manifest's first line in `file` */
  manifestLine?: number | null
}

/** `GET /api/resources/:id`: the resource and all its findings. */
export interface ResourceDetail extends Resource {
  findings: FindingRow[]
}

// --- posture -----------------------------------------------------------------------------------

export interface Scored {
  /** share of check × resource evaluations that pass, in percent, to a tenth */
  score: number
  applied: number
  failed: number
}

/** `GET /api/summary`: the posture now. */
export interface Summary extends Scored {
  /** open findings by severity; a severity without any is absent */
  open: Partial<Record<Severity, number>>
  byCategory: (Scored & { category: string })[]
  byFramework: { id: string; title: string; score: number }[]
  byNamespace: (Scored & { namespace: string })[]
  topChecks: { checkId: string; title: string; severity: Severity; open: number }[]
  topNamespaces: { namespace: string; open: number }[]
  targets: string[]
  /**
   * imported vulnerabilities (`plimsoll import`); each image counts once in the score, as the
   * `vulnerabilities` category: it fails while an open critical or high vulnerability has a fix
   */
  vulnerabilities: VulnerabilityPosture
}

/** What the posture counts of imported vulnerabilities. */
export interface VulnerabilityPosture {
  /** images with any vulnerability recorded, in any state */
  images: number
  /** images with an open critical or high vulnerability that has a fix */
  failingImages: number
  open: number
  /** open with a fixed version known */
  fixable: number
  /** open, critical or high, fixable, first seen over `overdueDays` days ago */
  overdue: number
  overdueDays: number
}

/** One day of `GET /api/trends`. */
export interface TrendPoint {
  /** YYYY-MM-DD */
  day: string
  open: number
  excepted: number
  bySeverity: Record<Severity, number>
}

export type ControlStatus = 'pass' | 'fail' | 'not-applicable'

export interface ControlResult {
  framework: string
  id: string
  title: string
  status: ControlStatus
  checks: string[]
  /** failures: (check, resource) pairs among the control's checks where the check failed */
  failed: number
}

/** `GET /api/compliance/:framework` (and a scan's compliance section). */
export interface ComplianceReport {
  framework: string
  title: string
  controls: ControlResult[]
  /** passing controls as a percentage of the applicable ones; 100 when none applies */
  score: number
}

// --- the exceptions register -------------------------------------------------------------------

/** What `POST /api/exceptions` and `PUT /api/exceptions/:id` take. */
export interface ExceptionInput {
  checks: string[]
  kinds?: string[]
  namespaces?: string[]
  names?: string[]
  labels?: Record<string, string>
  owner: string
  reason: string
  /** YYYY-MM-DD, today or later; the exception holds through that day */
  expires: string
}

/** An exception of the register, as the API answers it. */
export interface StoredExceptionView extends Required<ExceptionInput> {
  id: number
  createdBy: string
  createdAt: string
  expired: boolean
  /** findings it covers (or covered, if expired) in the targets' latest runs */
  matches: number
  /** every target has been scanned since it was created, and it matched nothing: remove it or fix it */
  stale: boolean
}

/**
 * The register's states: `active` in force (expires today or later), `expiring` in force and expiring
 * within EXPIRING_WITHIN_DAYS, `expired` past its date, `stale` matching nothing although every target
 * has been scanned since it was added.
 */
export const EXCEPTION_STATES = ['active', 'expiring', 'expired', 'stale'] as const
export type ExceptionState = (typeof EXCEPTION_STATES)[number]
export const EXPIRING_WITHIN_DAYS = 14

/** `GET /api/exceptions/summary`: the whole register in figures, for the debt page. */
export interface RegisterSummary {
  total: number
  active: number
  expiring: number
  expired: number
  stale: number
  expiringWithinDays: number
  /** exceptions in force, counted by expiry date, soonest first */
  inForce: { expires: string; count: number }[]
  /** owners with most exceptions first (at most 200) */
  owners: { owner: string; count: number }[]
}

// --- clusters ----------------------------------------------------------------------------------

export const PSS_LEVELS = ['privileged', 'baseline', 'restricted'] as const
export type PssLevel = (typeof PSS_LEVELS)[number]
export type PsaMode = 'enforce' | 'warn' | 'audit'

/** What one `pod-security.kubernetes.io/<mode>` label (and its `-version`) says. */
export interface PsaSetting {
  level: PssLevel
  /** `latest` or `v1.N` */
  version: string
  /** the label's value was not a level or a version (the API server refuses such labels today) */
  invalid?: string
}

/** A running pod, as Pod Security judges it. */
export interface PodVerdict {
  name: string
  /** the controller that made it, when it says (ownerReferences): `ReplicaSet/web-7d9f` */
  owner?: string
  /** the highest level it meets, at the version asked */
  level: PssLevel
  /** what keeps it below the next level: check ids */
  violations: string[]
}

/** A stricter setting, and the running pods the API server would then refuse. */
export interface WhatBreaks {
  level: PssLevel
  version: string
  pods: PodVerdict[]
}

export interface NamespacePodSecurity {
  namespace: string
  /** the labelled modes; enforce unset means privileged */
  modes: Partial<Record<PsaMode, PsaSetting>>
  /** running pods (not Succeeded or Failed) */
  pods: number
  /** running pods by the highest level they meet at the enforced version */
  levels: Record<PssLevel, number>
  /** running pods that violate what is enforced now (admitted before the label, or exempted) */
  violating: PodVerdict[]
  /** each stricter setting: the pods it would refuse */
  whatBreaks: WhatBreaks[]
}

/** One kind the watcher lists and watches. */
export interface WatchedKindStatus {
  group: string
  version: string
  kind: string
  /** the plural resource name */
  resource: string
  /** evaluate: kept whole and checked; inventory: metadata only, for cross-resource checks */
  mode: 'evaluate' | 'inventory'
  state: 'listing' | 'watching' | 'backoff' | 'forbidden' | 'stopped'
  error?: string
  /** when its last full list completed (ISO) */
  lastSync?: string
  listMs?: number
  listed?: number
  /** watch events received (bookmarks excluded) */
  events: number
  /** lists made: 1, plus the re-lists after a 410 or a lost permission */
  lists: number
}

/** A live watcher's health. */
export interface WatchHealth {
  /** every kind listed once (or refused): the findings are whole */
  synced: boolean
  kinds: WatchedKindStatus[]
  objects: number
  /** watch events per second over the last minute */
  eventsPerSecond: number
  /** from a watch event to its findings committed in the store: p50 and p99 over the last 1,000, ms */
  commitMs?: { p50: number; p99: number }
  discoveryErrors: string[]
  startedAt: string
  /**
   * This replica stands by (serve --cluster --leader-elect): another replica, the Lease's holder ('' if
   * none yet), watches the cluster; the findings shown come from the store it writes to.
   */
  standby?: { holder: string }
}

/** A cluster: a target whose runs come from a watcher (here, or an agent's). */
export interface ClusterSummary {
  name: string
  /** shown live right now: watched by this server, or its agent reporting */
  live: boolean
  open: Record<Severity, number>
  excepted: number
  lastRun?: { id: number; startedAt: string; finishedAt: string; complete: boolean; resources: number }
  health?: WatchHealth
  /** pushed by an agent (`plimsoll agent`): its current session */
  agent?: { startedAt: string; lastPushAt: string; messages: number; version: string }
  /** watched by another replica of this server, the Lease's holder ('' while nobody holds it) */
  standby?: { holder: string }
}

export interface ClusterNamespace {
  namespace: string
  open: Record<Severity, number>
  /** from a live watcher only */
  podSecurity?: NamespacePodSecurity
}

export interface ClusterDetail extends ClusterSummary {
  namespaces: ClusterNamespace[]
}

/** A finding as a live event names it. */
export interface LiveFinding {
  checkId: string
  severity: Severity
  kind: string
  namespace: string
  name: string
  message: string
  path: string
}

/** One line of `GET /api/clusters/{name}/events` (newline-delimited JSON). */
export type ClusterEvent =
  | {
      type: 'changes'
      at: string
      opened: LiveFinding[]
      resolved: LiveFinding[]
      open: Record<Severity, number>
    }
  | { type: 'health'; at: string; health: WatchHealth }
  /** the first sync is recorded: every kind listed, every finding stored (read the cluster again) */
  | { type: 'synced'; at: string }

// --- admission ---------------------------------------------------------------------------------

export const ADMISSION_OUTCOMES = ['denied', 'warned', 'audited', 'allowed', 'exempt'] as const
/** the strongest thing the webhook did with a review */
export type AdmissionOutcome = (typeof ADMISSION_OUTCOMES)[number]

/** What the webhook does with a failing check, in Pod Security Admission's vocabulary. */
export const ENFORCEMENT_MODES = ['enforce', 'warn', 'audit', 'off'] as const
export type EnforcementMode = (typeof ENFORCEMENT_MODES)[number]

/** One failing check of a decision and what it did (`excepted`: an exception held, nothing done). */
export interface AdmissionCheck {
  id: string
  mode: EnforcementMode | 'excepted'
  severity: string
  message: string
  path: string
}

/** One recorded decision, as `GET /api/admissions` lists them (newest first). */
export interface AdmissionDecision {
  id: number
  at: string
  cluster: string
  operation: string
  group: string
  kind: string
  /** '' for a cluster-scoped object */
  namespace: string
  name: string
  username: string
  outcome: AdmissionOutcome
  checks: AdmissionCheck[]
  /** the decisions it stands for: 1, more when allowed ones were sampled under load */
  weight: number
}

/** `GET /api/admissions/summary`. */
export interface AdmissionSummary {
  /** decisions by outcome (sampled rows counted by their weight) */
  outcomes: Record<AdmissionOutcome, number>
  /** denials per hour (`YYYY-MM-DDTHH`), oldest first; hours without one are left out */
  deniedByHour: { hour: string; denied: number }[]
  topDeniedChecks: { check: string; denied: number }[]
  topDeniedNamespaces: { namespace: string; denied: number }[]
}

/** The ladder a check climbs in a namespace: audit, then warn, then enforce. */
export const ENFORCEMENT_STEPS = ['audit', 'warn', 'enforce'] as const
export type EnforcementStep = (typeof ENFORCEMENT_STEPS)[number]

/** One check in one namespace: the evidence, and the next step. */
export interface PlanNamespace {
  /** '' for cluster-scoped objects */
  namespace: string
  /** who owns what fails here: the team label of the namespace and of its failing objects */
  teams: string[]
  /** objects in the namespace that fail the check now (open findings of the cluster scan) */
  failing: number
  /** a few of them, `Kind/name` */
  examples: string[]
  /** the window's admissions that the check would have denied under enforce (it warned or audited) */
  wouldDeny: number
  /** the window's admissions that it did deny (enforced) */
  denied: number
  /** the mode the enforcement configuration gives it today */
  current: EnforcementMode
  suggested: EnforcementStep
  /** why, in a sentence */
  reason: string
}

export interface PlanCheck {
  id: string
  title: string
  severity: Severity | 'unknown'
  failing: number
  wouldDeny: number
  denied: number
  /** namespaces by suggested step: `enforce` lists the namespaces ready now */
  ladder: Record<EnforcementStep, string[]>
  /** namespaces where the configuration turns the check off on purpose: left as they are */
  off: string[]
  /** every namespace the cluster scan saw or an admission named, worst first */
  namespaces: PlanNamespace[]
}

/** A cluster a plan can be made for (`GET /api/enforcement/clusters`). */
export interface PlannableCluster {
  name: string
  /** the cluster scan recorded it */
  scanned: boolean
  /** admissions the webhook recorded for it, all time (sampled ones by their weight) */
  admissions: number
}

/** `plimsoll enforce plan`, and `GET /api/enforcement/plan`. */
export interface EnforcementPlan {
  cluster: string
  generatedAt: string
  /** the admissions read: those at or after `since` */
  window: { days: number; since: string }
  /** the cluster scan the plan reads: its latest run, if any */
  scan?: { runId: number; startedAt: string; complete: boolean; resources: number }
  /** admissions recorded in the window (sampled ones by their weight) */
  admissions: number
  /** namespaces the scan saw or an admission named, exempt ones left out */
  namespaces: string[]
  /** namespaces the enforcement configuration exempts: never in a plan */
  exempt: string[]
  /** the label that names a namespace's or an object's team */
  teamLabel: string
  /** checks with evidence first: most would-be denials, then most failing objects */
  checks: PlanCheck[]
  totals: { checks: number; readyEverywhere: number; pairs: Record<EnforcementStep, number> }
}

// --- errors ------------------------------------------------------------------------------------

/** One problem with a request, as a 400 lists them. */
export interface Problem {
  /** the part of the request: body, querystring, params */
  in: string
  /** JSON pointer into the part (`/owner`, `/checks/0`) */
  path: string
  message: string
}

// --- audit: detections, alerts, silences ---------------------------------------------------------

/** Falco's priorities, most severe first (src/audit/types.ts): every detection has one. */
export const AUDIT_PRIORITIES = [
  'emergency',
  'alert',
  'critical',
  'error',
  'warning',
  'notice',
  'informational',
  'debug',
] as const
export type AuditPriority = (typeof AUDIT_PRIORITIES)[number]

/** Where a detection comes from: a Falco rules file, Plimsoll's rules, Falco's runtime, a baseline. */
export const DETECTION_SOURCES = ['falco-rules', 'plimsoll', 'falco-runtime', 'anomaly'] as const
export type DetectionSourceName = (typeof DETECTION_SOURCES)[number]

/** One detection, as `GET /api/audit/detections` lists them (newest first). */
export interface AuditDetection {
  id: number
  /** the `audit serve --cluster-name` that found it */
  cluster: string
  rule: string
  source: DetectionSourceName
  priority: AuditPriority
  /** the rule's output, its fields filled in */
  output: string
  /** when it happened, ISO */
  time: string
  /** the alert's labels: rule, priority, source, user, verb, resource, namespace, name, ... */
  labels: Record<string, string>
  tags: string[]
  /** the audit event it was found in (Falco's runtime detections have none) */
  auditID?: string
}

/** One stored stage of an audit event, its credentials redacted (src/audit/redact.ts). */
export interface AuditEventRecord {
  id: number
  stage: string | null
  /** ISO time the receiver stored it */
  receivedAt: string
  /** 'webhook', or 'log:<name>' */
  source: string
  event: Record<string, unknown>
}

/** `GET /api/audit/detections/{id}`: `events` is empty once the queue no longer keeps the event. */
export interface AuditDetectionDetail {
  detection: AuditDetection
  events: AuditEventRecord[]
}

/** Per rule, what the alert pipelines did with its detections (summed over pipelines). */
export interface RuleNoiseView {
  rule: string
  /** detections in */
  detections: number
  allowlisted: number
  rateLimited: number
  /** folded into an alert already firing */
  deduped: number
  /** arrived while a silence covered them */
  silenced: number
  alerts: number
  /** notifications out carrying at least one of its alerts */
  notifications: number
  /** detections per notification (detections when none went out) */
  ratio: number
}

/** An alert pipeline (`audit serve --cluster-name`) and when it last saved its state. */
export interface AlertPipelineState {
  cluster: string
  updatedAt: string
}

/** `GET /api/audit/summary`. */
export interface AuditSummary {
  /** detections by priority */
  priorities: Partial<Record<AuditPriority, number>>
  /** detections per hour (`YYYY-MM-DDTHH`), oldest first; hours without one left out */
  byHour: { hour: string; detections: number }[]
  topRules: { rule: string; source: string; detections: number }[]
  /** the identities most detections name */
  topUsers: { user: string; detections: number }[]
  /** per rule, most detections first: since each pipeline's state began, not only since `since` */
  noise: RuleNoiseView[]
  /** detections into the pipelines, notifications out (a notification counted once per rule it carries) */
  totals: { detections: number; notifications: number; ratio: number }
  pipelines: AlertPipelineState[]
}

export type AlertStatusName = 'firing' | 'resolved'

export interface AlertView {
  fingerprint: string
  labels: Record<string, string>
  /** summary (the rule's output), tags, auditID */
  annotations: Record<string, string>
  startsAt: string
  /** when it resolves unless detected again (or when it resolved) */
  endsAt: string
  status: AlertStatusName
  /** ids of the silences muting it now */
  silencedBy: string[]
}

/** An open aggregation group of a pipeline. */
export interface AlertGroupView {
  cluster: string
  key: string
  receiver: string
  groupLabels: Record<string, string>
  /** its next flush (a notification if anything changed) */
  nextFlushAt: string
  /** a first flush has happened (after group_wait) */
  hasFlushed: boolean
  /** the last notification sent for it, if any */
  lastNotifiedAt: string | null
  alerts: AlertView[]
}

/** `GET /api/audit/alerts`: groups with the most recent activity first. */
export interface AlertGroups {
  pipelines: AlertPipelineState[]
  groups: AlertGroupView[]
}

export const SILENCE_STATES = ['active', 'pending', 'expired'] as const
export type SilenceState = (typeof SILENCE_STATES)[number]

export interface SilenceMatcher {
  name: string
  type: '=' | '!=' | '=~' | '!~'
  value: string
}

/** A silence, as Alertmanager's: active from startsAt to endsAt. */
export interface SilenceView {
  id: string
  matchers: SilenceMatcher[]
  startsAt: string
  endsAt: string
  createdBy: string
  comment: string
  createdAt: string
  updatedAt: string
  state: SilenceState
}

/** `POST /api/audit/silences`: `endsAt` or `duration` (`2h`, `1h30m`), not both. */
export interface SilenceRequest {
  /** `user="ci-bot"`, `rule=~"Attach.*"`, or parsed */
  matchers: (string | SilenceMatcher)[]
  startsAt?: string
  endsAt?: string
  duration?: string
  comment: string
}

// --- usage: snapshots, utilisation, rightsizing, cost (docs/usage.md) ----------------------------

/** How sure a recommendation is (src/usage/types.ts Confidence). */
export const USAGE_CONFIDENCES = ['low', 'medium', 'high'] as const
export type UsageConfidence = (typeof USAGE_CONFIDENCES)[number]

/**
 * Which of the latest snapshots' containers `GET /api/usage/rightsizing` gives (the store's
 * ContainerFilter).
 */
export interface RightsizingQuery {
  cluster?: string
  namespace?: string
  /** the team label's value; `__unallocated__`: containers without one */
  team?: string
  /** the workload's name */
  workload?: string
  confidence?: UsageConfidence
  limit?: number
  offset?: number
}

/** What the cost page groups by. */
export const USAGE_COST_GROUPS = ['namespace', 'team'] as const
export type UsageCostGroup = (typeof USAGE_COST_GROUPS)[number]

/** What a collection could not read: the figures that depend on it are missing. */
export interface UsageGap {
  what: string
  message: string
}

/** CPU in cores, memory in bytes: averages over the window (requests and usage x the pods running). */
export interface UsageAmounts {
  requested: number
  used: number
  /** the nodes' allocatable; null for a namespace (allocatable is a node's, not a namespace's) */
  allocatable: number | null
}

/** Money over the snapshot's window and as a monthly rate (OpenCost's 730-hour month). */
export interface UsageMoney {
  window: number
  monthly: number
}

/** One recorded `plimsoll usage --store`: one cluster over one window (`GET /api/usage/snapshots`). */
export interface UsageSnapshotView {
  id: number
  cluster: string
  /** when it was recorded */
  takenAt: string
  /** the window's ends, and its length */
  from: string
  to: string
  windowHours: number
  strategy: string
  currency: string
  /** true when the collection had gaps: the figures that depend on them are missing */
  partial: boolean
  gaps: UsageGap[]
  containers: number
  nodes: number
  cpu: UsageAmounts & { capacity: number | null }
  memory: UsageAmounts & { capacity: number | null }
  cost: {
    /** what the nodes cost (capacity x price); null when no node was read */
    nodes: UsageMoney | null
    /** the workloads' allocation: max(request, usage) x hours x price */
    workloads: UsageMoney
    /** nodes - workloads; null when no node was read */
    idle: UsageMoney | null
    /** the cost of the requests above the recommendations */
    waste: UsageMoney
    /** what applying the recommendations saves (negative where they raise requests) */
    savings: UsageMoney
  }
}

/** A node of a snapshot: CPU in cores, memory in bytes; requested now, used on average. */
export interface UsageNodeView {
  cluster: string
  name: string
  instanceType: string | null
  capacityType: string | null
  capacity: { cpu: number; memory: number }
  allocatable: { cpu: number; memory: number }
  requested: { cpu: number; memory: number }
  used: { cpu: number; memory: number }
  /** over the window */
  cost: UsageMoney
}

/** One snapshot's figures on a utilisation plot. */
export interface UtilisationPoint {
  snapshotId: number
  takenAt: string
  partial: boolean
  cpu: UsageAmounts
  memory: UsageAmounts
}

/** `GET /api/usage/utilisation`: per cluster (and namespace, when asked), oldest first. */
export interface UsageUtilisation {
  series: { cluster: string; namespace: string | null; points: UtilisationPoint[] }[]
  /** each cluster's latest snapshot */
  latest: UsageSnapshotView[]
  /** the nodes of the latest snapshots: the bin-packing view */
  nodes: UsageNodeView[]
  /** the namespaces of the latest snapshots, most CPU requested first */
  namespaces: {
    cluster: string
    namespace: string
    containers: number
    cpu: UsageAmounts
    memory: UsageAmounts
  }[]
}

/** One resource of one container: what it asked for, what it used, and what to set instead. */
export interface ResourceEvidence {
  request: number | null
  limit: number | null
  /** null: no usage series in the window */
  usage: { p50: number; p95: number; p99: number; max: number; mean: number | null } | null
  recommended: {
    request: number | null
    limit: number | null
    /** the `vpa` strategy's bounds around the request */
    lower: number | null
    upper: number | null
  }
  reasons: string[]
}

/** A container of the latest snapshot with its recommendation and the evidence for it. */
export interface RightsizingRow {
  snapshotId: number
  cluster: string
  namespace: string
  kind: string
  workload: string
  container: string
  team: string | null
  pods: number
  maxReplicas: number
  restarts: number
  oomKills: { at: string; memory: number }[]
  /** fraction of CFS periods throttled, where measured */
  cpuThrottled: number | null
  history: { from: string; to: string; samples: number }
  /** the resources a HorizontalPodAutoscaler scales it on */
  hpa: string[] | null
  cpu: ResourceEvidence
  memory: ResourceEvidence
  strategy: string
  confidence: UsageConfidence | null
  /** why there is no recommendation (no usage at all) */
  skipped: string | null
  cost: UsageMoney
  /** null without a recommendation */
  waste: UsageMoney | null
  savings: UsageMoney | null
}

/** `GET /api/usage/rightsizing`: the latest snapshots' containers, most monthly savings first. */
export interface UsageRightsizing {
  snapshots: UsageSnapshotView[]
  total: number
  limit: number
  offset: number
  items: RightsizingRow[]
}

/** A namespace's or team's cost in the latest snapshots. */
export interface UsageCostGroupView {
  /** the namespace or the team (`__unallocated__`: no team label) */
  key: string
  /** the namespace's cluster; null for a team (summed over the clusters) */
  cluster: string | null
  containers: number
  cost: UsageMoney
  /** of the containers with a recommendation */
  waste: UsageMoney
  savings: UsageMoney
}

/** `GET /api/usage/cost`. */
export interface UsageCost {
  by: UsageCostGroup
  currency: string
  snapshots: UsageSnapshotView[]
  /** the latest snapshots together, monthly rates */
  totals: {
    nodes: number | null
    workloads: number
    idle: number | null
    waste: number
    savings: number
  }
  groups: UsageCostGroupView[]
  /** per snapshot, oldest first: the monthly rates, and each group's */
  trend: {
    snapshotId: number
    cluster: string
    takenAt: string
    partial: boolean
    nodes: number | null
    workloads: number
    idle: number | null
    waste: number
    savings: number
    groups: { key: string; cost: number }[]
  }[]
}

// --- maturity assessments (docs/assess.md) -------------------------------------------------------
// What `plimsoll assess --store` records (src/maturity/assess.ts: Assessment, which these describe for
// the dashboard; the server's routes check that they line up) and the questionnaire's answers.

/** Where a criterion, an aspect or Level 3 stands: never "met" without evidence or an answer. */
export const ASSESSMENT_STANDINGS = ['meets', 'partly', 'not-yet', 'unknown'] as const
export type AssessmentStanding = (typeof ASSESSMENT_STANDINGS)[number]

/** The model's five aspects, in the order reports show them. */
export const ASSESSMENT_ASPECTS = ['business-outcomes', 'people', 'process', 'policy', 'technology'] as const
export type AssessmentAspect = (typeof ASSESSMENT_ASPECTS)[number]

/** A questionnaire's answer. */
export const ASSESSMENT_ANSWERS = ['yes', 'partly', 'no'] as const
export type AssessmentAnswerValue = (typeof ASSESSMENT_ANSWERS)[number]

/** From facts alone, from facts and an answer, or from an answer alone. */
export type AssessmentJudged = 'automatic' | 'partly' | 'self-reported'
export type AssessmentGrade = 'low' | 'medium' | 'high'

export interface AssessmentCounts {
  meets: number
  partly: number
  notYet: number
  unknown: number
  total: number
}

/** An aspect's Level 3 criteria: standing, score ((meets + partly / 2) / total) and counts. */
export interface AssessmentAspectView extends AssessmentCounts {
  aspect: AssessmentAspect
  standing: AssessmentStanding
  score: number
}

/** `GET /api/assessments`: one recorded assessment's Level 3 figures, for the trend (oldest first). */
export interface AssessmentSummaryView {
  id: number
  takenAt: string
  standing: AssessmentStanding
  score: number
  meets: number
  partly: number
  notYet: number
  unknown: number
  aspects: readonly AssessmentAspectView[]
}

/** A fact a criterion read, with where it was seen (files, cluster objects, store tables). */
export interface AssessmentEvidenceView {
  /** `<source>.<name>` */
  fact: string
  description: string
  value: number | readonly string[]
  sources: readonly string[]
}

/** A questionnaire's answer: always self-reported, by someone, on a date. */
export interface AssessmentAnswerView {
  question: string
  value: AssessmentAnswerValue
  note?: string
  answeredBy: string
  answeredAt: string
}

/** One criterion as an assessment judged it. */
export interface AssessmentCriterionView {
  id: string
  level: 2 | 3 | 4
  aspect: AssessmentAspect
  title: string
  /** the model's sentence it comes from (a page of the CNCF Cloud Native Maturity Model) */
  quote: { page: string; text: string }
  judged: AssessmentJudged
  standing: AssessmentStanding
  why: string
  evidence: readonly AssessmentEvidenceView[]
  /** the facts it reads that no collector gave */
  unknownFacts: readonly string[]
  question?: { id: string; text: string }
  answer?: AssessmentAnswerView & { questionText: string; selfReported: true }
  advice: string
  /** Level 4: what it would take and bring */
  next?: { effort: AssessmentGrade; value: AssessmentGrade }
}

/** `GET /api/assessments/{id}`: a whole assessment, as recorded. */
export interface AssessmentView {
  version: 1
  takenAt: string
  inputs: {
    repositories: readonly string[]
    cluster?: string
    store?: string
    answers?: { origin: string; answeredBy: string; answeredAt: string }
  }
  /** what the collectors could not read */
  problems: readonly string[]
  level3: AssessmentCounts & { standing: AssessmentStanding; score: number }
  aspects: readonly AssessmentAspectView[]
  /** every criterion (Levels 2, 3 and 4), in catalogue order */
  criteria: readonly AssessmentCriterionView[]
  /** ids of the Level 2 criteria not met */
  foundations: readonly string[]
  /** ids of the Level 3 criteria partly met or not yet */
  gaps: readonly string[]
  /** ids of the Level 4 criteria not met, most valuable and least effort first */
  next: readonly string[]
}

/** `GET /api/assessments/questions`: a question of the questionnaire, with the answer given so far. */
export interface AssessmentQuestionView {
  id: string
  text: string
  /** the criterion that asks it */
  criterion: string
  title: string
  level: 2 | 3 | 4
  aspect: AssessmentAspect
  judged: AssessmentJudged
  quote: { page: string; text: string }
  answer: AssessmentAnswerView | null
}

/** `PUT /api/assessments/answers` (admin): recorded as self-reported by the token's name, dated now. */
export interface AssessmentAnswersRequest {
  answers: { question: string; answer: AssessmentAnswerValue; note?: string }[]
}

/** An imported vulnerability's fix state, in Grype's words (Trivy's statuses are mapped onto them). */
export const FIX_STATES = ['fixed', 'not-fixed', 'wont-fix', 'unknown'] as const
export type FixState = (typeof FIX_STATES)[number]

/** `GET /api/vulnerabilities`: a vulnerability imported from Trivy or Grype, with its finding's state. */
export interface VulnerabilityView {
  /** the finding's id (`GET /api/findings/{id}`) */
  findingId: number
  target: string
  /** CVE, GHSA, RHSA... as the tool named it */
  advisory: string
  /** the other ids the report gives for it */
  aliases: string[]
  tool: string
  package: string
  /** the tool's word for the package's ecosystem (apk, deb, gem...); '' when not stated */
  packageType: string
  installedVersion: string
  /** null when no fixed version is known */
  fixedVersion: string | null
  fixState: FixState
  /** a fixed version is known */
  fixable: boolean
  /** the image or artifact the package is in */
  image: string
  severity: Severity
  state: FindingState
  resource: { kind: string; namespace: string; name: string }
  container: string | null
  firstSeen: string
  lastSeen: string
  /** whole days since first seen */
  ageDays: number
}

export const VULNERABILITY_GROUPINGS = ['image', 'advisory'] as const
export type VulnerabilityGrouping = (typeof VULNERABILITY_GROUPINGS)[number]

/** `GET /api/vulnerabilities/by/{image|advisory}`: the vulnerabilities of one image or one advisory. */
export interface VulnerabilityGroupView {
  /** the image, or the advisory */
  key: string
  count: number
  fixable: number
  /** the worst severity among them */
  severity: Severity
  bySeverity: Record<Severity, number>
  images: number
  packages: number
  targets: number
  /** days since the oldest of them was first seen */
  oldestDays: number
}

/** `GET /api/vulnerabilities/summary`. */
export interface VulnerabilitySummaryView {
  count: number
  fixable: number
  notFixable: number
  byFixState: Record<FixState, number>
  bySeverity: Record<Severity, number>
  /** bands of days since first seen, [from, to); `to` null for the last */
  age: { label: string; from: number; to: number | null; count: number; fixable: number }[]
  /** the worst images and advisories, and how many there are */
  images: Page<VulnerabilityGroupView>
  advisories: Page<VulnerabilityGroupView>
}

// --- upgrade readiness (docs/upgrade-check.md) -----------------------------------------------------
// What `plimsoll upgrade-check --store` records (src/upgrade: UpgradeReport, whose JSON these follow:
// releases as `v1.N`, findings with the fields of the CLI's JSON report).

/** breaks: fails or stops working at the target; changes: a Pod Security verdict moves; deprecated: still works there. */
export const UPGRADE_IMPACTS = ['breaks', 'changes', 'deprecated'] as const
export type UpgradeImpact = (typeof UPGRADE_IMPACTS)[number]
export const UPGRADE_AREAS = ['api', 'feature', 'pod-security'] as const
export type UpgradeArea = (typeof UPGRADE_AREAS)[number]
export type UpgradeCounts = Record<UpgradeImpact, number>

/** `GET /api/upgrade-checks`: the latest check of a target to a release. */
export interface UpgradeCheckSummaryView {
  id: number
  target: string
  checkedAt: string
  /** `v1.N` */
  from: string
  to: string
  /** where `from` came from: --from, the cluster's /version, or one release before `to` */
  fromSource: 'flag' | 'cluster' | 'default'
  /** the newest release the data knew */
  newestKnown: string
  /** the cluster's gitVersion, when the check read a cluster */
  clusterVersion: string | null
  objects: number
  files: number
  /** inputs that could not be read or parsed */
  errors: number
  counts: UpgradeCounts
  byArea: Record<UpgradeArea, UpgradeCounts>
  /** how many checks of this target to this release are kept (this one included) */
  checks: number
  plimsollVersion: string
}

export interface UpgradeFindingView {
  area: UpgradeArea
  impact: UpgradeImpact
  /** `policy/v1beta1 PodDisruptionBudget`, a feature's id, or a Pod Security check's id */
  id: string
  title: string
  object: { apiVersion: string; kind: string; name: string; namespace?: string }
  file?: string
  line?: number
  column?: number
  /** the field it is about */
  path?: string
  /** the release it happens in, `v1.N` */
  version: string
  message: string
  /** what to use or do instead */
  replacement?: string
  /** the field changes the move needs */
  notes?: string
}

/** `GET /api/upgrade-checks/{id}`: one check, with its findings (those of the impacts and areas asked for). */
export interface UpgradeCheckView extends UpgradeCheckSummaryView {
  notes: string[]
  /** changes the upgrade reaches that manifests cannot show (cgroup v1 nodes...) */
  notVisibleInManifests: { id: string; title: string; version: string; instead: string; cannotSee: string }[]
  /** the Pod Security Standards checks whose rules change between the two releases */
  podSecurityStandardChanges: {
    id: string
    title: string
    level: 'baseline' | 'restricted'
    versions: string[]
  }[]
  /** API versions the cluster serves that the upgrade removes or deprecates (a check of a cluster) */
  servedAtRisk: {
    apiVersion: string
    kind: string
    deprecatedIn?: string
    removedIn?: string
    replacement?: string
  }[]
  /** what of the cluster could not be read */
  notRead: { what: string; message: string }[]
  /** the first of the inputs' errors */
  errorList: { file: string; line?: number; message: string }[]
  findings: Page<UpgradeFindingView>
}
