/**
 * Batching: the containers of a cluster split into batches of at most `batchSize`, by whole namespaces
 * where they fit (a regex matcher over a set of namespaces), a namespace larger than a batch split by
 * its pods. The number of queries is then (batches x queries per batch) + a fixed few, whatever the
 * number of containers: never one query per workload (KRR's, which took Prometheus down: krr#332).
 */
import type { BatchScope } from './promql.js'

/** containers per batch unless told: a batch's heaviest query then holds ~4 million points over 14 days */
export const DEFAULT_BATCH_SIZE = 1000

export interface Batch extends BatchScope {
  /** containers in it, as counted by the inventory */
  readonly containers: number
}

/** Namespaces (with their container counts) packed into batches, in name order, first fit. */
export function packNamespaces(counts: ReadonlyMap<string, number>, batchSize: number): Batch[] {
  const batches: Batch[] = []
  let current: { namespaces: string[]; containers: number } = { namespaces: [], containers: 0 }
  for (const ns of [...counts.keys()].sort()) {
    const n = counts.get(ns) ?? 0
    if (current.namespaces.length > 0 && current.containers + n > batchSize) {
      batches.push(current)
      current = { namespaces: [], containers: 0 }
    }
    current.namespaces.push(ns)
    current.containers += n
  }
  if (current.namespaces.length > 0) batches.push(current)
  return batches
}

/** A namespace's pods (with their container counts) in batches of at most batchSize containers. */
export function packPods(namespace: string, pods: ReadonlyMap<string, number>, batchSize: number): Batch[] {
  const batches: Batch[] = []
  let current: { pods: string[]; containers: number } = { pods: [], containers: 0 }
  for (const pod of [...pods.keys()].sort()) {
    const n = pods.get(pod) ?? 0
    if (current.pods.length > 0 && current.containers + n > batchSize) {
      batches.push({ namespaces: [namespace], ...current })
      current = { pods: [], containers: 0 }
    }
    current.pods.push(pod)
    current.containers += n
  }
  if (current.pods.length > 0) batches.push({ namespaces: [namespace], ...current })
  return batches
}

/** "namespaces a, b and c" or "pods x-1 ... of namespace a": what a gap says a batch was. */
export function describeBatch(batch: BatchScope): string {
  const list = (xs: readonly string[]) =>
    xs.length <= 10 ? xs.join(', ') : `${xs.slice(0, 10).join(', ')} and ${xs.length - 10} more`
  if (batch.pods)
    return `${batch.pods.length} pod${batch.pods.length === 1 ? '' : 's'} of namespace ${batch.namespaces[0]} (${list(batch.pods)})`
  return `namespace${batch.namespaces.length === 1 ? '' : 's'} ${list(batch.namespaces)}`
}
