/**
 * Something that runs only while this process holds a Lease (a watcher, an agent), seen from outside
 * as one steady thing: the server registers one live source per cluster at start, whichever replica
 * leads later. While this replica stands by, the source says so (health.standby names the holder) and
 * tells no events; when it starts leading, the events of what it runs are told through the same
 * subscribers, so a dashboard left open on a standby picks up when it takes over.
 */
import type { ClusterEvent, WatchHealth } from '../api-types.js'
import type { LiveClusterSource } from '../server/live-clusters.js'
import { type Campaign, type LeaderElectionOptions, LeaderElector } from './leader.js'

/** What runs while leading: started synchronously, stopped (and awaited) when leadership ends. */
export interface Leading {
  source?: LiveClusterSource
  stop(): Promise<void>
}

export interface Elected {
  /** steady across changes of leader */
  source: LiveClusterSource
  readonly leading: boolean
  /** stop leading (if leading), release the Lease */
  stop(): Promise<void>
  /** settles when the campaign ends */
  done: Promise<void>
}

function standbyHealth(startedAt: string, holder: string): WatchHealth {
  return {
    synced: false,
    kinds: [],
    objects: 0,
    eventsPerSecond: 0,
    discoveryErrors: [],
    startedAt,
    standby: { holder },
  }
}

export function startElected(name: string, election: LeaderElectionOptions, lead: () => Leading): Elected {
  const elector = new LeaderElector(election)
  const startedAt = new Date().toISOString()
  const listeners = new Set<(event: ClusterEvent) => void>()
  const tell = (event: ClusterEvent) => {
    for (const listener of listeners) listener(event)
  }
  let current: Leading | undefined
  const source: LiveClusterSource = {
    name,
    health: () => current?.source?.health() ?? standbyHealth(startedAt, elector.holder),
    podSecurity: () => current?.source?.podSecurity() ?? [],
    subscribe(listener) {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
  }
  const campaign: Campaign = elector.campaign(() => {
    const started = lead()
    const unsubscribe = started.source?.subscribe(tell)
    current = started
    return async () => {
      current = undefined
      unsubscribe?.()
      await started.stop()
      tell({ type: 'health', at: new Date().toISOString(), health: standbyHealth(startedAt, elector.holder) })
    }
  })
  return {
    source,
    get leading() {
      return current !== undefined
    },
    stop: () => campaign.stop(),
    done: campaign.done,
  }
}
