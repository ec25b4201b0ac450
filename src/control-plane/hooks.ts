/**
 * Extension points for what a real API server does around a request, so that an admission webhook
 * caller and an audit batcher can be added without touching the handlers:
 *
 * - `onRequest` sees every authenticated request first (before authorization) and may answer it
 *   itself by returning a status (e.g. to inject faults).
 * - `beforeWrite` is admission: it sees each create, update, patch and delete with the object as it
 *   would be stored (after defaulting and built-in admission) and the old object, and may allow
 *   (optionally replacing the object, i.e. mutate, and adding warnings) or deny with a status. Hooks
 *   run in order; a denial stops the write. It runs for dryRun requests too (with dryRun set), as
 *   webhooks declaring sideEffects None are called for them.
 * - `afterWrite` is audit: it is told, once per answered write, what was asked and what came back.
 *
 * admission-webhooks.ts implements `beforeWrite` with the API server's admission webhooks; the
 * control plane installs it unless told not to. audit.ts sends audit events when the control plane
 * is started with `audit`: it sees every request itself (reads and failures too), and takes
 * admission's audit annotations from the `beforeWrite` verdicts (denials included) and `afterWrite`.
 */
import type { ResourceType } from './catalog.js'
import type { StatusDetails } from './status.js'
import type { Obj, UserInfo } from './types.js'

export interface RequestSummary {
  readonly method: string
  /** Path with query, as sent. */
  readonly url: string
  readonly user: UserInfo
  readonly userAgent: string
  readonly sourceIp: string
}

export type Operation = 'CREATE' | 'UPDATE' | 'DELETE' | 'CONNECT'

export interface AdmissionAttributes {
  readonly operation: Operation
  readonly type: ResourceType
  readonly namespace: string
  readonly name: string
  readonly subresource: string
  /** The object to be stored (null for DELETE). Mutating it has no effect: return a replacement. */
  readonly object: Obj | null
  readonly oldObject: Obj | null
  readonly user: UserInfo
  readonly dryRun: boolean
  /**
   * The operation's options as the API server hands them to admission: CreateOptions, UpdateOptions
   * (also for patches), DeleteOptions; null for CONNECT.
   */
  readonly options: Obj | null
  /** The name was generated from metadata.generateName (admission before it is set sees none). */
  readonly nameGenerated?: boolean
}

export type AdmissionVerdict =
  | {
      readonly allowed: true
      readonly object?: Obj
      readonly warnings?: readonly string[]
      /** Annotations for the request's audit event (`<webhook>/<key>`, `mutation.webhook...`). */
      readonly auditAnnotations?: Readonly<Record<string, string>>
    }
  | {
      readonly allowed: false
      /** HTTP code of the denial (default 403) and its message, as a Status carries them. */
      readonly code?: number
      readonly reason?: string
      readonly message: string
      readonly details?: StatusDetails
      readonly warnings?: readonly string[]
      readonly auditAnnotations?: Readonly<Record<string, string>>
    }

export interface AuditRecord {
  readonly request: RequestSummary
  readonly verb: string
  readonly type: ResourceType
  readonly namespace: string
  readonly name: string
  readonly subresource: string
  readonly code: number
  readonly requestObject: Obj | null
  readonly responseObject: Obj | null
  readonly receivedAt: Date
  readonly completedAt: Date
  /** What admission added to the audit event (webhook audit annotations, mutation records). */
  readonly annotations?: Readonly<Record<string, string>>
}

export interface ControlPlaneHooks {
  onRequest?(request: RequestSummary): { code: number; reason: string; message: string } | undefined
  beforeWrite?(
    attributes: AdmissionAttributes,
  ): AdmissionVerdict | undefined | Promise<AdmissionVerdict | undefined>
  afterWrite?(record: AuditRecord): void
}
