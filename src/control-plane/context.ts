/**
 * The state handlers share (one per control plane) and the per-request context they receive.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Users } from './auth.js'
import type { ResourceType } from './catalog.js'
import type { ClusterIpAllocator } from './defaults.js'
import type { ControlPlaneHooks } from './hooks.js'
import type { WireIdentity } from './http.js'
import type { ObjectStore } from './objects.js'
import type { Authorizer } from './rbac.js'
import type { ResourceRegistry } from './registry.js'
import type { ResourceRoute } from './request.js'
import type { UserInfo } from './types.js'

export interface Timing {
  /** How often an open watch with allowWatchBookmarks gets a BOOKMARK (the API server: 1 min). */
  readonly bookmarkIntervalMs: number
  /** How long a list or watch waits for a future resourceVersion before 504 (the API server: 3 s). */
  readonly tooLargeWaitMs: number
  /** How long a deleted namespace stays Terminating before the namespace controller empties it. */
  readonly namespaceFinalizeMs: number
}

export interface Shared {
  readonly store: ObjectStore
  readonly registry: ResourceRegistry
  readonly users: Users
  readonly authorizer: Authorizer
  readonly wire: WireIdentity
  readonly hooks: ControlPlaneHooks[]
  readonly ips: ClusterIpAllocator
  readonly timing: Timing
  /** PEM of the serving CA, published in every namespace as kube-root-ca.crt. */
  readonly caPem: string
  /** Open watch responses, so dropWatches() can cut them. */
  readonly watches: Set<ServerResponse>
}

export interface Ctx {
  readonly shared: Shared
  readonly req: IncomingMessage
  readonly res: ServerResponse
  readonly url: URL
  readonly query: URLSearchParams
  readonly route: ResourceRoute
  readonly type: ResourceType
  readonly user: UserInfo
  readonly receivedAt: Date
}
