import type { Position, Resource } from '../resources/types.js'
import type { CheckMetadata } from './check.js'

export type ResultStatus = 'pass' | 'fail' | 'error'

export interface ContainerRef {
  name: string
  type: 'containers' | 'initContainers' | 'ephemeralContainers'
  index: number
}

/**
 * What a policy itself says admission does with its failures: a Kyverno rule's failureAction
 * (Enforce, Audit), a ValidatingPolicy's or a ValidatingAdmissionPolicy binding's validationActions
 * (Deny, Warn, Audit). Plimsoll's own checks declare none: the webhook's enforcement rules decide.
 */
export type DeclaredAction = 'enforce' | 'warn' | 'audit'

/** The verdict of one check on one resource (and one container, for container-scoped validations). */
export interface CheckResult {
  check: CheckMetadata
  resource: Resource
  status: ResultStatus
  container?: ContainerRef
  /** fail/error only */
  message?: string
  /** field path within the resource, fail/error only */
  path?: string
  position?: Position
  /** fail/error of a foreign policy only: what the policy declares admission does with it */
  action?: DeclaredAction
}
