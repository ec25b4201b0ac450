/**
 * The clusters agents push, as the server shows them live: each agent reports its watch's health and
 * Pod Security view every few seconds, and each message it pushes is told to the cluster's live
 * streams once committed. A cluster whose agent has not reported for a while stops being live (its
 * findings stay in the store). A cluster this server watches itself is never shadowed by an agent's.
 *
 * With a store to share (several replicas behind one Service), each report is also kept in the store
 * and every replica reads the others' every few seconds: an agent's connection goes to one replica,
 * and the dashboard, on whichever replica, shows its cluster live with its latest health. The live
 * stream's change events stay with the replica that applied the agent's message (the other replicas'
 * streams say the health only).
 */
import type { ClusterEvent, LiveFinding, NamespacePodSecurity, Severity, WatchHealth } from '../api-types.js'
import { saveStatus, statusesSince } from '../store/agent-sessions.js'
import type { Store } from '../store/connect.js'
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
  private readonly follower: NodeJS.Timeout | undefined
  private following: Promise<void> | undefined

  constructor(
    /** the server's live clusters, by name: the hub adds and removes the agents' */
    private readonly sources: Map<string, LiveClusterSource>,
    /** an agent silent this long is no longer live, ms */
    private readonly staleMs = 60_000,
    /** the store the replicas share: reports are kept there, and the others' read every `followMs` */
    private readonly shared?: { store: Store; followMs?: number; onError?: (err: Error) => void },
  ) {
    this.timer = setInterval(() => this.sweep(), Math.min(10_000, staleMs)).unref()
    if (shared) this.follower = setInterval(() => void this.follow(), shared.followMs ?? 2000).unref()
  }

  /**
   * The agent's latest status, from its session; false when the name is a cluster watched here (not
   * the agent's to show). Kept in the shared store, if any, for the other replicas.
   */
  async report(cluster: string, session: string, status: AgentStatus): Promise<boolean> {
    const now = Date.now()
    if (!this.take(cluster, status, now)) return false
    if (this.shared) await saveStatus(this.shared.store, session, status, new Date(now))
    return true
  }

  /** The other replicas' reports since the staleness window began, when newer than what is here. */
  follow(): Promise<void> {
    if (!this.shared) return Promise.resolve()
    this.following ??= (async () => {
      try {
        const since = new Date(Date.now() - this.staleMs)
        for (const r of await statusesSince(this.shared!.store, since)) {
          const entry = this.entries.get(r.cluster)
          if (entry && entry.reportedAt >= r.reportedAt) continue
          this.take(r.cluster, r.status as AgentStatus, r.reportedAt)
        }
      } catch (err) {
        // The store away a moment: the next look reads what was missed.
        this.shared!.onError?.(err as Error)
      } finally {
        this.following = undefined
      }
    })()
    return this.following
  }

  private take(cluster: string, status: AgentStatus, at: number): boolean {
    const entry = this.entries.get(cluster)
    if (entry) {
      entry.status = status
      entry.reportedAt = at
      return true
    }
    if (this.sources.has(cluster)) return false
    const listeners = new Set<(event: ClusterEvent) => void>()
    const created: Entry = {
      status,
      listeners,
      reportedAt: at,
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
    if (this.follower) clearInterval(this.follower)
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
