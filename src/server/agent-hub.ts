/**
 * The clusters agents push, as the server shows them live: each agent reports its watch's health and
 * Pod Security view every few seconds, and each message it pushes is told to the cluster's live
 * streams once committed. A cluster whose agent has not reported for a while stops being live (its
 * findings stay in the store). A cluster this server watches itself is never shadowed by an agent's.
 */
import type { ClusterEvent, LiveFinding, NamespacePodSecurity, Severity, WatchHealth } from '../api-types.js'
import type { LiveClusterSource } from './live-clusters.js'

export interface AgentStatus {
  health: WatchHealth
  podSecurity: NamespacePodSecurity[]
}

interface Entry {
  source: LiveClusterSource
  status: AgentStatus
  listeners: Set<(event: ClusterEvent) => void>
  reportedAt: number
}

export class AgentHub {
  private readonly entries = new Map<string, Entry>()
  private readonly timer: NodeJS.Timeout

  constructor(
    /** the server's live clusters, by name: the hub adds and removes the agents' */
    private readonly sources: Map<string, LiveClusterSource>,
    /** an agent silent this long is no longer live, ms */
    private readonly staleMs = 60_000,
  ) {
    this.timer = setInterval(() => this.sweep(), Math.min(10_000, staleMs)).unref()
  }

  /** The agent's latest status; false when the name is a cluster watched here (not the agent's to show). */
  report(cluster: string, status: AgentStatus): boolean {
    const entry = this.entries.get(cluster)
    if (entry) {
      entry.status = status
      entry.reportedAt = Date.now()
      return true
    }
    if (this.sources.has(cluster)) return false
    const listeners = new Set<(event: ClusterEvent) => void>()
    const created: Entry = {
      status,
      listeners,
      reportedAt: Date.now(),
      source: {
        name: cluster,
        health: () => created.status.health,
        podSecurity: () => created.status.podSecurity,
        subscribe(listener) {
          listeners.add(listener)
          return () => listeners.delete(listener)
        },
      },
    }
    this.entries.set(cluster, created)
    this.sources.set(cluster, created.source)
    return true
  }

  /** A message of the agent's was committed: its findings opened and resolved, and what is open now. */
  committed(
    cluster: string,
    changes: { opened: LiveFinding[]; resolved: LiveFinding[] },
    open: Record<Severity, number>,
  ): void {
    const entry = this.entries.get(cluster)
    if (!entry || (changes.opened.length === 0 && changes.resolved.length === 0)) return
    this.emit(entry, { type: 'changes', at: new Date().toISOString(), ...changes, open: { ...open } })
  }

  /** The agent's first sync is committed. */
  synced(cluster: string): void {
    const entry = this.entries.get(cluster)
    if (entry) this.emit(entry, { type: 'synced', at: new Date().toISOString() })
  }

  close(): void {
    clearInterval(this.timer)
  }

  private emit(entry: Entry, event: ClusterEvent): void {
    for (const listener of entry.listeners) listener(event)
  }

  private sweep(): void {
    const now = Date.now()
    for (const [cluster, entry] of this.entries)
      if (now - entry.reportedAt > this.staleMs) {
        this.entries.delete(cluster)
        if (this.sources.get(cluster) === entry.source) this.sources.delete(cluster)
      }
  }
}
