/**
 * `--as-server v1.N` in a scan: each resource is judged as that release's API server would store it
 * (resources/as-server.ts), after any mutating policy, as the server runs its own changes after mutating
 * admission. What the server changed is kept for the reports, per resource.
 *
 * Findings keep pointing into the file as written: the server never reorders a list, so a path of the
 * stored object is a path of the written one as far as the file has it; a field the server copied from an
 * annotation is located at that annotation.
 */

import type { ServerChange, ServerDefaulting } from '../resources/as-server.js'
import { ownCopy } from '../resources/own-copy.js'
import type { PodTemplateTable } from '../resources/pod-templates.js'
import type { PathSegment, Resource } from '../resources/types.js'
import { mutatedResource, type ReportedResource, reportedResource } from './mutate.js'

/** What the server changed in one resource, for the reports. */
export interface ServerDefaultedResource extends ReportedResource {
  changes: ServerChange[]
}

/** The resource as the server would store it, and what changed, when anything did. */
export function defaultForScan(
  server: ServerDefaulting,
  resource: Resource,
  podTemplates: PodTemplateTable,
): { resource: Resource; changed?: ServerDefaultedResource } {
  const outcome = server.apply(resource, podTemplates)
  if (!outcome) return { resource }
  const stored = mutatedResource(resource, outcome.object)
  const followed = stored.locate
  stored.locate = (path: readonly PathSegment[]) => {
    const annotation = outcome.locatedAt(path)
    return annotation ? resource.locate(annotation) : followed(path)
  }
  // Copies: the parser's strings are slices of the file's text, which they would keep alive.
  const changed: ServerDefaultedResource = {
    ...reportedResource(resource),
    changes: ownCopy(outcome.changes),
  }
  return { resource: stored, changed }
}
