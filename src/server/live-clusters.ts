/**
 * What the server asks of a cluster it watches itself (`plimsoll serve --cluster`). The server defines
 * it and the cluster door implements it: the HTTP layer never imports a watcher.
 */
import type { ClusterEvent, NamespacePodSecurity, WatchHealth } from '../api-types.js'

export interface LiveClusterSource {
  readonly name: string
  health(): WatchHealth
  /** every namespace's Pod Security Admission view */
  podSecurity(): NamespacePodSecurity[]
  /** live events (changes as they are committed); returns what unsubscribes */
  subscribe(listener: (event: ClusterEvent) => void): () => void
}
