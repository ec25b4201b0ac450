/**
 * What the watcher keeps of a live object, and how it becomes a Resource for the engine. Objects are
 * kept as compact JSON text, not as object graphs: 50,000 pods as parsed objects take gigabytes, as
 * text a tenth of it, and parsing one again when it must be evaluated costs tens of microseconds.
 */
import type { KubeObject, PathSegment, Position, Resource } from '../resources/types.js'
import { type WrittenYaml, writeYaml } from '../resources/yaml-writer.js'
import type { ApiResource } from './discovery.js'

/** The annotation kubectl's client-side apply keeps: a whole second copy of the object. */
const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration'

/**
 * Drops what no policy reads and what costs the most: managedFields (often half an object), the
 * last-applied copy, and status (policies judge what is asked for, not what a controller reports), but
 * a pod's phase, which says whether it still runs; and the resourceVersion, so that an update that
 * changed only what is dropped leaves the kept text as it was, and nothing is evaluated again.
 * Mutates and returns the object.
 */
export function strip(object: KubeObject): KubeObject {
  const meta = object.metadata as Record<string, unknown> | undefined
  if (meta) {
    delete meta.managedFields
    delete meta.resourceVersion
    const annotations = meta.annotations as Record<string, unknown> | undefined
    if (annotations && LAST_APPLIED in annotations) {
      delete annotations[LAST_APPLIED]
      if (Object.keys(annotations).length === 0) delete meta.annotations
    }
  }
  if ('status' in object) {
    const phase = object.kind === 'Pod' ? (object.status as { phase?: unknown } | null)?.phase : undefined
    if (typeof phase === 'string') object.status = { phase }
    else delete object.status
  }
  return object
}

export interface ObjectIdentity {
  namespace: string
  name: string
  resourceVersion: string
  uid: string
}

export function identityOf(object: KubeObject): ObjectIdentity {
  const meta = (object.metadata ?? {}) as Record<string, unknown>
  return {
    namespace: typeof meta.namespace === 'string' ? meta.namespace : '',
    name: typeof meta.name === 'string' ? meta.name : '',
    resourceVersion: typeof meta.resourceVersion === 'string' ? meta.resourceVersion : '',
    uid: typeof meta.uid === 'string' ? meta.uid : '',
  }
}

/** The key of an object within a cluster: group, kind, namespace, name. */
export function objectKey(
  resource: Pick<ApiResource, 'group' | 'kind'>,
  namespace: string,
  name: string,
): string {
  return `${resource.group}\u0000${resource.kind}\u0000${namespace}\u0000${name}`
}

/** The kinds that are never kept as text past their evaluation: their content is a credential. */
export function isSecretKind(resource: Pick<ApiResource, 'group' | 'kind'>): boolean {
  return resource.group === '' && resource.kind === 'Secret'
}

/**
 * A live object as the engine's Resource. Its "file" is the cluster; positions point into the object
 * written as YAML (made the first time a finding asks, and kept as the manifest the dashboard shows).
 */
export class LiveResource implements Resource {
  readonly apiVersion: string
  readonly kind: string
  readonly group: string
  readonly name: string
  readonly namespace?: string
  readonly source: Resource['source']
  private written: WrittenYaml | undefined

  constructor(
    readonly object: KubeObject,
    resource: ApiResource,
    identity: Pick<ObjectIdentity, 'namespace' | 'name'>,
    file: string,
  ) {
    this.apiVersion = resource.group === '' ? resource.version : `${resource.group}/${resource.version}`
    this.kind = resource.kind
    this.group = resource.group
    this.name = identity.name
    if (resource.namespaced) this.namespace = identity.namespace
    this.source = { file, documentIndex: 0, position: { line: 1, column: 1 } }
  }

  /** The object as YAML: what findings' lines count in. */
  get manifest(): string {
    return this.document().text
  }

  /** The object written as YAML, with where each of its fields is: no parse of the text to find them. */
  private document(): WrittenYaml {
    this.written ??= writeYaml(this.object)
    return this.written
  }

  locate(path: readonly PathSegment[]): Position {
    return this.document().locate(path)
  }

  detach(): never {
    throw new Error('a live resource is kept by the watcher as text, never detached')
  }
}
