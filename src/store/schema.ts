/**
 * The store's tables, as Kysely sees them. Timestamps are ISO-8601 UTC text in both SQLite and
 * PostgreSQL, so that ordering, range filters and day buckets (`substr(t, 1, 10)`) are the same SQL on
 * both; JSON columns are text for the same reason.
 */
import type { Generated, Insertable, Selectable } from 'kysely'
import type { FindingState } from '../api-types.js'

export type { FindingState } from '../api-types.js'

export const RUN_SOURCES = ['ci', 'cluster', 'admission', 'import'] as const
export type RunSource = (typeof RUN_SOURCES)[number]

export { FINDING_STATES } from '../api-types.js'

export interface RunTable {
  id: Generated<number>
  source: RunSource
  /** what was scanned: a repository path, a cluster name; findings' lifecycles are per target */
  target: string
  started_at: string
  finished_at: string
  plimsoll_version: string
  policy_version: string
  /** 1 when every input was read, so findings absent from this run are resolved; else 0 */
  complete: number
  files: number
  resources: number
  checks: number
  findings: number
  critical: number
  high: number
  medium: number
  low: number
  info: number
  excepted: number
  errors: number
  /** check × resource evaluations that passed */
  passed: Generated<number>
}

export interface RunCheckTable {
  run_id: number
  check_id: string
  applied: number
  failed: number
}

export interface RunNamespaceTable {
  run_id: number
  namespace: string
  applied: number
  failed: number
}

/** viewers read, admins also change; an agent only pushes its own cluster's findings */
export const ROLES = ['viewer', 'admin', 'agent'] as const
export type Role = (typeof ROLES)[number]

export interface TokenTable {
  id: Generated<number>
  name: string
  role: Role
  /** sha256 of the token: tokens are 256 random bits, so a fast hash is enough */
  token_hash: string
  created_at: string
  last_used_at: string | null
  /** an agent token's cluster: the only target it may write (null for viewers and admins) */
  cluster: string | null
}

/**
 * An agent's session: one process's run of one cluster, pushed as numbered messages. `last_seq` is the
 * last message applied; it moves in the same transaction as the message's writes, so a message resent
 * after a lost answer is recognised and applied once.
 */
export interface AgentSessionTable {
  /** chosen by the agent (random), so that opening a session can be retried too */
  id: string
  cluster: string
  token_id: number
  run_id: number
  /** the cluster's sessions count up: a newer one supersedes an older one still pushing */
  generation: number
  last_seq: number
  started_at: string
  last_push_at: string
  agent_version: string
  /** the agent's latest status report (JSON, as the API took it), shown live by every replica */
  status: string | null
  reported_at: string | null
}

export interface AdmissionTable {
  id: Generated<number>
  /** ISO time the review was decided */
  at: string
  /** the webhook's cluster name */
  cluster: string
  operation: string
  api_group: string
  kind: string
  /** '' for a cluster-scoped object */
  namespace: string
  name: string
  username: string
  /** denied, warned, audited, allowed, exempt: the strongest thing done */
  outcome: string
  /** JSON of AdmissionCheck[]: the failing checks and what each did */
  checks: string
  /** the decisions this row stands for: 1, or more when allowed ones were sampled under load */
  weight: number
}

export interface ResourceTable {
  id: Generated<number>
  target: string
  api_group: string
  kind: string
  namespace: string
  name: string
  file: string
  first_seen: string
  last_seen: string
  /** the YAML document as last scanned; null when not kept (Secrets, credentials, no source text) */
  manifest: string | null
  /** 1-based line in `file` where `manifest` starts */
  manifest_line: number | null
}

export interface FindingTable {
  id: Generated<number>
  target: string
  /** check, resource, container and field path: the baseline's fingerprint, never a line number */
  fingerprint: string
  check_id: string
  severity: string
  category: string
  message: string
  resource_id: number
  container: string | null
  path: string
  file: string
  line: number
  column: number
  state: FindingState
  /** JSON: the exception that covers it, while excepted; on an open finding, one that expired (`expired: true`) */
  exception: string | null
  first_seen: string
  last_seen: string
  resolved_at: string | null
  first_run_id: number
  last_run_id: number
  /** times it came back after being resolved */
  reopened: number
  /** the resource's identity, copied from its row so that lists filter and sort without a join */
  api_group: string
  kind: string
  namespace: string
  resource_name: string
  /** 0 critical ... 4 info: "worst first" is an index walk */
  severity_rank: number
  /** lower-cased message, check, kind/namespace/name and path: what search looks in (on SQLite through
   * `findings_search`, a trigram index kept by triggers; migration 0004) */
  search_text: string
}

/** The debt register: accepted findings, with who owns them, why, and until when. */
export interface ExceptionTable {
  id: Generated<number>
  /** JSON arrays of globs: which checks, kinds, namespaces and names it covers */
  checks: string
  kinds: string
  namespaces: string
  names: string
  /** JSON object: labels the resource must carry */
  labels: string
  owner: string
  reason: string
  /** YYYY-MM-DD */
  expires: string
  created_by: string
  created_at: string
}

/** An audit event received (webhook batch, log file) and kept until processed, then for a retention. */
export interface AuditEventTable {
  id: Generated<number>
  /** ISO time it was stored */
  received_at: string
  /** 'webhook', or 'log:<name>' for a followed audit log file */
  source: string
  /** null when the event has none: such events are never taken for duplicates */
  audit_id: string | null
  stage: string | null
  /** the event's JSON text */
  event: string
  /** 1 once a consumer has processed it (in the transaction of what it wrote) */
  processed: Generated<number>
  processed_at: string | null
}

/** How far a followed audit log file has been read: the file's identity, the byte offset and line. */
export interface AuditLogPositionTable {
  source: string
  path: string
  /** the file's device and inode (as text: inodes exceed 2^53 on some filesystems) */
  dev: string
  ino: string
  /** bytes read: the next line starts here */
  byte_offset: number
  /** lines read */
  line_number: number
  /** sha256 (hex) of the file's first `head_bytes` bytes: tells a truncated and rewritten file apart */
  head: string
  head_bytes: number
  updated_at: string
}

/** A silence of the audit alerts: Alertmanager's fields. */
export interface AlertSilenceTable {
  /** a random UUID */
  id: string
  /** JSON array of { name, type: '=' | '!=' | '=~' | '!~', value } */
  matchers: string
  /** ISO times: active from starts_at to ends_at; expiring a silence sets ends_at to now */
  starts_at: string
  ends_at: string
  created_by: string
  comment: string
  created_at: string
  updated_at: string
}

/** The alert notifiers' outbox: a notification for one receiver integration, kept until delivered. */
export interface AlertOutboxTable {
  id: Generated<number>
  receiver: string
  /** which of the receiver's configs: `webhook[0]`, `slack[1]`, `alertmanager[0]` */
  integration: string
  group_key: string
  /** JSON of the Notification */
  payload: string
  created_at: string
  /** 1 once the receiver accepted it */
  delivered: Generated<number>
  delivered_at: string | null
  attempts: Generated<number>
  /** ISO time before which it is not tried (again) */
  next_attempt_at: string
  /** ISO time until which a sender has it in hand: another process leaves it alone */
  lease_until: string | null
  last_error: string | null
}

/** A detection of the audit rules (src/audit): what alerts are made of. */
export interface AuditDetectionTable {
  id: Generated<number>
  /** ISO time it happened */
  at: string
  cluster: string
  rule: string
  /** falco-rules, plimsoll, falco-runtime, anomaly */
  source: string
  priority: string
  output: string
  /** JSON object: the labels alerts are grouped, silenced and routed by */
  labels: string
  /** JSON array */
  tags: string
  audit_id: string | null
  /** 1 once its cluster's alert pipeline took it in (in the transaction that saved its state) */
  alerted: Generated<number>
}

/** What one identity has been seen doing (src/audit/anomaly/baselines.ts). */
export interface AuditBaselineTable {
  cluster: string
  identity: string
  first_seen: string
  last_seen: string
  /** JSON: values seen per dimension */
  seen: string
}

/**
 * An alert pipeline's state (src/audit/alerts/pipeline.ts): the aggregator's snapshot, written in the
 * transaction that puts its notifications in the outbox and marks the detections it took in.
 */
export interface AlertStateTable {
  /** the pipeline's name: the cluster of the `audit serve` running it */
  name: string
  /** JSON of the AggregatorSnapshot */
  state: string
  updated_at: string
}

/** A request to forget an identity's baseline, until the audit consumer has taken it up. */
export interface AuditBaselineResetTable {
  cluster: string
  identity: string
  requested_at: string
  /** the API token's name, or `cli` */
  requested_by: string
}

/**
 * One `plimsoll usage --store` (src/store/usage.ts): one cluster over one window. CPU in cores, memory
 * in bytes: averages over the window (per-pod requests and usage x the pods running; the nodes'
 * allocatable and capacity x the time they ran). Money in unrounded dollars over the window.
 */
export interface UsageSnapshotTable {
  id: Generated<number>
  cluster: string
  taken_at: string
  window_from: string
  window_to: string
  window_hours: number
  strategy: string
  currency: string
  /** JSON array of { what, message }: empty when the collection read everything */
  gaps: string
  containers: number
  nodes: number
  cpu_requested: number
  cpu_used: number
  /** null when no node was read */
  cpu_allocatable: number | null
  cpu_capacity: number | null
  memory_requested: number
  memory_used: number
  memory_allocatable: number | null
  memory_capacity: number | null
  node_cost: number | null
  workload_cost: number
  idle_cost: number | null
  waste: number
  savings: number
}

/** One container of a snapshot's workloads: usage, requests, the recommendation and its cost. */
export interface UsageContainerTable {
  snapshot_id: number
  namespace: string
  kind: string
  workload: string
  container: string
  team: string | null
  pods: number
  max_replicas: number
  running_seconds: number
  restarts: number
  cpu_throttled: number | null
  cpu_request: number | null
  cpu_limit: number | null
  cpu_p50: number | null
  cpu_p95: number | null
  cpu_p99: number | null
  cpu_max: number | null
  cpu_mean: number | null
  memory_request: number | null
  memory_limit: number | null
  memory_p50: number | null
  memory_p95: number | null
  memory_p99: number | null
  memory_max: number | null
  memory_mean: number | null
  rec_cpu_request: number | null
  rec_cpu_limit: number | null
  rec_memory_request: number | null
  rec_memory_limit: number | null
  /** null without a recommendation (skipped) */
  confidence: string | null
  cost: number
  /** null without a recommendation to weigh against */
  waste: number | null
  savings: number | null
  /** JSON: history, OOM kills, HPA, the recommendation's bounds and reasons, why skipped */
  details: string
}

export interface UsageNodeTable {
  snapshot_id: number
  name: string
  instance_type: string | null
  capacity_type: string | null
  capacity_cpu: number
  capacity_memory: number
  allocatable_cpu: number
  allocatable_memory: number
  requested_cpu: number
  requested_memory: number
  used_cpu: number
  used_memory: number
  running_seconds: number
  cost: number
}

/** A snapshot's sums per namespace (its containers'; waste and savings of those with a recommendation). */
export interface UsageNamespaceTable {
  snapshot_id: number
  namespace: string
  containers: number
  cpu_requested: number
  cpu_used: number
  memory_requested: number
  memory_used: number
  cost: number
  waste: number
  savings: number
}

export interface UsageTeamTable {
  snapshot_id: number
  /** the team label's value, or `__unallocated__` */
  team: string
  containers: number
  cost: number
  waste: number
  savings: number
}

export interface AssessmentTable {
  id: Generated<number>
  taken_at: string
  /** Level 3's standing: meets, partly, not-yet, unknown */
  standing: string
  score: number
  meets: number
  partly: number
  not_yet: number
  unknown: number
  /** JSON: AspectResult[] */
  aspects: string
  /** JSON: the whole Assessment */
  assessment: string
}

/** The questionnaire's answers given on the dashboard: the latest per question. */
export interface AssessmentAnswerTable {
  question: string
  /** yes, partly or no */
  answer: string
  note: string | null
  answered_by: string
  answered_at: string
}

/**
 * An imported vulnerability (`plimsoll import` of Trivy or Grype): the facts of the finding of the same
 * target and fingerprint, which carries its severity, state and resource.
 */
export interface VulnerabilityTable {
  target: string
  fingerprint: string
  /** the tool that reported it: trivy, grype */
  tool: string
  /** CVE, GHSA, RHSA... as the tool named it */
  advisory: string
  /** JSON array of the other ids the report gives for it (Grype's related vulnerabilities, Trivy's vendor ids) */
  aliases: string
  package: string
  /** the package's ecosystem as the tool names it (apk, deb, gem...); '' when not stated */
  package_type: string
  installed_version: string
  /** null when no fixed version is known */
  fixed_version: string | null
  /** fixed, not-fixed, wont-fix or unknown */
  fix_state: string
  /** the image or artifact the package is in */
  artifact: string
  /** the finding's first_seen */
  first_seen: string
  /** the import run that last reported it */
  last_run_id: number
}

/** `plimsoll upgrade-check --store`: one check of one target, kept with its history. */
export interface UpgradeCheckTable {
  id: Generated<number>
  target: string
  checked_at: string
  /** the releases, v1.N as N */
  from_minor: number
  to_minor: number
  /** flag, cluster or default: where the starting release came from */
  from_source: string
  /** the newest release the data knew */
  newest_known: number
  /** the cluster's gitVersion, when the check read a cluster */
  cluster_version: string | null
  objects: number
  files: number
  /** inputs that could not be read or parsed */
  errors: number
  /** findings by impact */
  breaks: number
  deprecated: number
  changes: number
  /** JSON: impact counts by area */
  by_area: string
  /** JSON: notes, what manifests cannot show, the Pod Security changes, the cluster's served APIs, errors */
  details: string
  plimsoll_version: string
}

/** A finding of an upgrade check (src/upgrade/evaluate.ts: UpgradeFinding). */
export interface UpgradeCheckFindingTable {
  check_id: number
  /** its place in the report */
  seq: number
  /** impact then area, as the report groups them (breaks, changes, deprecated; api, feature, pod-security) */
  rank: number
  area: string
  impact: string
  /** the API version and kind, the feature or the Pod Security check */
  finding_id: string
  title: string
  api_version: string
  kind: string
  namespace: string | null
  name: string
  file: string | null
  line: number | null
  column: number | null
  path: string | null
  /** the release it happens in, v1.N as N */
  version: number
  message: string
  replacement: string | null
  notes: string | null
}

export interface Database {
  runs: RunTable
  resources: ResourceTable
  findings: FindingTable
  exceptions: ExceptionTable
  run_checks: RunCheckTable
  run_namespaces: RunNamespaceTable
  tokens: TokenTable
  agent_sessions: AgentSessionTable
  admissions: AdmissionTable
  audit_events: AuditEventTable
  audit_log_positions: AuditLogPositionTable
  alert_silences: AlertSilenceTable
  alert_outbox: AlertOutboxTable
  audit_detections: AuditDetectionTable
  audit_baselines: AuditBaselineTable
  alert_state: AlertStateTable
  audit_baseline_resets: AuditBaselineResetTable
  usage_snapshots: UsageSnapshotTable
  assessments: AssessmentTable
  assessment_answers: AssessmentAnswerTable
  usage_containers: UsageContainerTable
  usage_nodes: UsageNodeTable
  usage_namespaces: UsageNamespaceTable
  usage_teams: UsageTeamTable
  vulnerabilities: VulnerabilityTable
  upgrade_checks: UpgradeCheckTable
  upgrade_check_findings: UpgradeCheckFindingTable
}

export type Run = Selectable<RunTable>
export type NewRun = Insertable<RunTable>
export type StoredFinding = Selectable<FindingTable>
export type StoredException = Selectable<ExceptionTable>
