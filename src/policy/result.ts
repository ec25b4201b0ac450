import type { Position, Resource } from '../resources/types.js'
import type { CheckMetadata } from './check.js'

export type ResultStatus = 'pass' | 'fail' | 'error'

export interface ContainerRef {
  name: string
  type: 'containers' | 'initContainers' | 'ephemeralContainers'
  index: number
}

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
}
