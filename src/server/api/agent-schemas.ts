/**
 * What an agent may send, as JSON schemas: every field the store writes is checked before it is
 * written, and everything is bounded (a message is one transaction; its size bounds the lock it holds).
 */
import { PSS_LEVELS } from '../../api-types.js'
import { SEVERITIES } from '../../policy/check.js'
import type { JsonSchema } from '../route.js'

const str = (maxLength = 1024): JsonSchema => ({ type: 'string', maxLength })
const count: JsonSchema = { type: 'integer', minimum: 0 }
const time: JsonSchema = { type: 'string', format: 'date-time' }
const severity: JsonSchema = { type: 'string', enum: [...SEVERITIES] }
const object = (required: string[], properties: Record<string, JsonSchema>): JsonSchema => ({
  type: 'object',
  required,
  additionalProperties: false,
  properties,
})
const list = (items: JsonSchema, maxItems: number): JsonSchema => ({ type: 'array', items, maxItems })

/** The largest message: well above what an agent packs (it keeps each under a quarter of this). */
export const MESSAGE_BYTES = 16 * 1024 * 1024
/** Changes in one message, at most. */
export const MESSAGE_CHANGES = 5000

export const SESSION_ID: JsonSchema = { type: 'string', pattern: '^[A-Za-z0-9_-]{16,64}$' }

const EXCEPTION: JsonSchema = {
  oneOf: [
    object(['source', 'reason'], {
      source: { const: 'annotation' },
      reason: str(4096),
      owner: str(),
      expires: str(64),
      expired: { type: 'boolean' },
    }),
    object(['source', 'file', 'index', 'owner', 'reason', 'expires'], {
      source: { const: 'file' },
      file: str(),
      index: count,
      owner: str(),
      reason: str(4096),
      expires: str(64),
      expired: { type: 'boolean' },
    }),
  ],
}

/** A finding as the engine makes it (src/scan/scan-file.ts's Finding). */
const FINDING = object(
  ['checkId', 'title', 'severity', 'category', 'status', 'message', 'resource', 'path', 'location'],
  {
    checkId: str(253),
    title: str(),
    severity,
    category: str(253),
    status: { type: 'string', enum: ['fail', 'error'] },
    message: str(8192),
    resource: object(['apiVersion', 'kind', 'name'], {
      apiVersion: str(253),
      kind: str(253),
      name: str(253),
      namespace: str(253),
    }),
    container: object(['name', 'type'], { name: str(253), type: str(64) }),
    path: str(),
    location: object(['file', 'line', 'column', 'documentIndex'], {
      file: str(),
      line: count,
      column: count,
      documentIndex: count,
      template: str(),
    }),
    excepted: EXCEPTION,
    exceptionExpired: EXCEPTION,
    inBaseline: { const: true },
  },
)

const STATS: JsonSchema = {
  type: 'object',
  maxProperties: 100_000,
  additionalProperties: object(['applied', 'failed'], { applied: count, failed: count }),
}

const TOTALS = object(['resources', 'passed', 'findings', 'excepted', 'bySeverity'], {
  resources: count,
  passed: count,
  findings: count,
  excepted: count,
  bySeverity: object([...SEVERITIES], Object.fromEntries(SEVERITIES.map((s) => [s, count]))),
  checkStats: STATS,
  namespaceStats: STATS,
})

const CHANGE = object(['resource', 'upserts', 'resolved'], {
  resource: object(['group', 'kind', 'namespace', 'name'], {
    group: str(253),
    kind: str(253),
    namespace: str(253),
    name: str(253),
  }),
  upserts: list(FINDING, 10_000),
  resolved: list({ type: 'string', pattern: '^[0-9a-f]{32}$' }, 10_000),
  manifest: str(1024 * 1024),
})

export const SESSION_BODY = object(['session', 'agentVersion', 'run'], {
  session: SESSION_ID,
  agentVersion: str(64),
  run: object(['startedAt', 'plimsollVersion', 'policyVersion', 'checks'], {
    startedAt: time,
    plimsollVersion: str(64),
    policyVersion: str(64),
    checks: count,
  }),
})

export const MESSAGE_BODY: JsonSchema = {
  oneOf: [
    object(['seq', 'type', 'batch'], {
      seq: { type: 'integer', minimum: 1 },
      type: { const: 'changes' },
      batch: object(['at', 'changes', 'totals'], {
        at: time,
        changes: list(CHANGE, MESSAGE_CHANGES),
        totals: TOTALS,
        refreshSeen: { type: 'boolean' },
      }),
    }),
    object(['seq', 'type', 'at', 'complete', 'errors'], {
      seq: { type: 'integer', minimum: 1 },
      type: { const: 'sync' },
      at: time,
      complete: { type: 'boolean' },
      errors: count,
    }),
  ],
}

const KIND_STATUS = object(['group', 'version', 'kind', 'resource', 'mode', 'state', 'events', 'lists'], {
  group: str(253),
  version: str(64),
  kind: str(253),
  resource: str(253),
  mode: { type: 'string', enum: ['evaluate', 'inventory'] },
  state: { type: 'string', enum: ['listing', 'watching', 'backoff', 'forbidden', 'stopped'] },
  error: str(4096),
  lastSync: time,
  listMs: { type: 'number', minimum: 0 },
  listed: count,
  events: count,
  lists: count,
})

const HEALTH = object(['synced', 'kinds', 'objects', 'eventsPerSecond', 'discoveryErrors', 'startedAt'], {
  synced: { type: 'boolean' },
  kinds: list(KIND_STATUS, 2000),
  objects: count,
  eventsPerSecond: { type: 'number', minimum: 0 },
  commitMs: object(['p50', 'p99'], {
    p50: { type: 'number', minimum: 0 },
    p99: { type: 'number', minimum: 0 },
  }),
  discoveryErrors: list(str(4096), 100),
  startedAt: time,
})

const PSS_LEVEL: JsonSchema = { type: 'string', enum: [...PSS_LEVELS] }
const PSS_VERSION = str(16)

const PSA_SETTING = object(['level', 'version'], {
  level: PSS_LEVEL,
  version: PSS_VERSION,
  invalid: str(253),
})

const POD_VERDICT = object(['name', 'level', 'violations'], {
  name: str(253),
  owner: str(512),
  level: PSS_LEVEL,
  violations: list(str(253), 100),
})

/** A namespace's Pod Security view, field by field: the dashboard shows it as the agent sent it. */
const POD_SECURITY = object(['namespace', 'modes', 'pods', 'levels', 'violating', 'whatBreaks'], {
  namespace: str(253),
  modes: object([], { enforce: PSA_SETTING, warn: PSA_SETTING, audit: PSA_SETTING }),
  pods: count,
  levels: object([...PSS_LEVELS], { privileged: count, baseline: count, restricted: count }),
  violating: list(POD_VERDICT, 10_000),
  whatBreaks: list(
    object(['level', 'version', 'pods'], {
      level: PSS_LEVEL,
      version: PSS_VERSION,
      pods: list(POD_VERDICT, 10_000),
    }),
    100,
  ),
})

export const STATUS_BODY = object(['health', 'podSecurity'], {
  health: HEALTH,
  podSecurity: list(POD_SECURITY, 20_000),
})
