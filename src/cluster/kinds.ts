/**
 * Which of the served kinds the watcher lists and watches, and how much of each it keeps: the kinds a
 * check or policy names, the kinds cross-resource checks read records of, and Namespaces (their labels)
 * are kept whole and evaluated; custom resources, when cross-resource checks run, are listed as
 * metadata only (records). Everything else is never fetched: a cluster's Events, Leases and
 * EndpointSlices churn the most and no policy reads them.
 */
import type { Engine } from '../policy/engine.js'
import { INVENTORY_KINDS, mayMakePods } from '../policy/inventory.js'
import type { ApiResource } from './discovery.js'
import type { KeepMode } from './live-state.js'

export interface WatchedKind {
  resource: ApiResource
  mode: KeepMode
  /** list metadata only: a custom resource kept only to know a namespace has custom resources */
  metadataOnly: boolean
}

export function selectKinds(engine: Engine, served: readonly ApiResource[]): WatchedKind[] {
  const out: WatchedKind[] = []
  const cross = engine.hasCrossResourceChecks
  for (const resource of served) {
    const { group, kind } = resource
    // A kind fetched whole is evaluated too (wildcard checks look at every kind), as scan evaluates
    // every resource of its input: the same objects give the same findings and sums.
    const whole =
      engine.wantsKind(resource) ||
      (group === '' && kind === 'Namespace') ||
      (cross && (INVENTORY_KINDS.includes(kind) || engine.podTemplates.lookup(group, kind) !== undefined))
    if (whole) out.push({ resource, mode: 'evaluate', metadataOnly: false })
    else if (cross && resource.custom && resource.namespaced && mayMakePods(group))
      // Cross-resource checks ask whether a namespace holds custom resources (inventory.hasCustomResources);
      // reports (PolicyReports, ours among them) do not count, and are not fetched.
      out.push({ resource, mode: 'inventory', metadataOnly: true })
  }
  return out
}
