/**
 * Discovery: /version, /api, /apis (the legacy documents and aggregated discovery v2 and v2beta1,
 * chosen by Accept, with an ETag answered by 304), /apis/{group}, the APIResourceLists of each
 * group/version, and the health endpoints. Documents are rebuilt only when the served resources change
 * (a CRD becomes Established or is deleted).
 */
import { createHash } from 'node:crypto'
import type { ResourceType } from './catalog.js'
import type { ResourceRegistry } from './registry.js'
import type { Obj } from './types.js'

export const VERSION_INFO = {
  major: '1',
  minor: '32',
  gitVersion: 'v1.32.13',
  gitCommit: '63adf010aa20e104c0b7043b47f42f50c9f72b17',
  gitTreeState: 'clean',
  buildDate: '2026-12-06T00:36:24Z',
  goVersion: 'go1.23.5',
  compiler: 'gc',
  platform: 'linux/amd64',
}

/** /version is the one document the server indents. */
export function versionBody(): string {
  return JSON.stringify(VERSION_INFO, null, 2)
}

const CHECKS = [
  'poststarthook/start-apiserver-admission-initializer',
  'poststarthook/generic-apiserver-start-informers',
  'poststarthook/priority-and-fairness-config-consumer',
  'poststarthook/priority-and-fairness-filter',
  'poststarthook/storage-object-count-tracker-hook',
  'poststarthook/start-apiextensions-informers',
  'poststarthook/start-apiextensions-controllers',
  'poststarthook/crd-informer-synced',
  'poststarthook/start-system-namespaces-controller',
  'poststarthook/start-cluster-authentication-info-controller',
  'poststarthook/start-kube-apiserver-identity-lease-controller',
  'poststarthook/start-kube-apiserver-identity-lease-garbage-collector',
  'poststarthook/start-legacy-token-tracking-controller',
  'poststarthook/start-service-ip-repair-controllers',
  'poststarthook/rbac/bootstrap-roles',
  'poststarthook/scheduling/bootstrap-system-priority-classes',
  'poststarthook/priority-and-fairness-config-producer',
  'poststarthook/bootstrap-controller',
  'poststarthook/start-kube-aggregator-informers',
  'poststarthook/apiservice-status-local-available-controller',
  'poststarthook/apiservice-status-remote-available-controller',
  'poststarthook/apiservice-registration-controller',
  'poststarthook/apiservice-wait-for-first-sync',
  'poststarthook/apiservice-discovery-controller',
  'poststarthook/kube-apiserver-autoregistration',
  'autoregister-completion',
  'poststarthook/apiservice-openapi-controller',
  'poststarthook/apiservice-openapiv3-controller',
]

/** /healthz, /livez, /readyz: "ok", or with ?verbose the list of checks the recorded server ran. */
export function healthBody(path: '/healthz' | '/livez' | '/readyz', verbose: boolean): string {
  if (!verbose) return 'ok'
  const name = path.slice(1)
  const first = path === '/readyz' ? ['ping', 'log', 'informer-sync'] : ['ping', 'log', 'etcd']
  const last = path === '/readyz' ? ['shutdown'] : []
  const lines = [...first, ...CHECKS, ...last].map((c) => `[+]${c} ok`)
  return `${lines.join('\n')}\n${name} check passed\n`
}

export interface Discovered {
  readonly body: string
  readonly etag?: string
}

/** Kinds' versions are empty in responseKind unless they differ from the resource's (Scale, Eviction). */
function responseKind(t: ResourceType, kind: string, groupVersion?: string): Obj {
  if (t.custom) return { group: t.group, version: t.version, kind }
  if (groupVersion) {
    const [g, v] = groupVersion.split('/', 2)
    return { group: g, version: v, kind }
  }
  return { group: '', version: '', kind }
}

function aggregatedResource(t: ResourceType): Obj {
  const r: Obj = {
    resource: t.resource,
    responseKind: responseKind(t, t.kind),
    scope: t.namespaced ? 'Namespaced' : 'Cluster',
    singularResource: t.singular,
    verbs: t.verbs,
  }
  if (t.shortNames.length) r.shortNames = t.shortNames
  if (t.categories.length) r.categories = t.categories
  if (t.subresources.length) {
    r.subresources = t.subresources.map((s) => ({
      subresource: s.name,
      responseKind:
        t.custom && !s.groupVersion ? responseKind(t, s.kind) : responseKind(t, s.kind, s.groupVersion),
      verbs: s.verbs,
    }))
  }
  return r
}

function legacyResources(t: ResourceType): Obj[] {
  const main: Obj = {
    name: t.resource,
    singularName: t.singular,
    namespaced: t.namespaced,
    kind: t.kind,
    verbs: t.verbs,
  }
  if (t.shortNames.length) main.shortNames = t.shortNames
  if (t.categories.length) main.categories = t.categories
  if (t.storageVersionHash && t.resource !== 'componentstatuses')
    main.storageVersionHash = t.storageVersionHash
  const out = [main]
  for (const s of t.subresources) {
    const e: Obj = { name: `${t.resource}/${s.name}`, singularName: '', namespaced: t.namespaced }
    if (s.groupVersion && !t.custom) {
      const [g, v] = s.groupVersion.split('/', 2)
      e.group = g
      e.version = v
    }
    e.kind = s.kind
    e.verbs = s.verbs
    out.push(e)
  }
  return out
}

function etagOf(body: string): string {
  return `"${createHash('sha512').update(body).digest('hex').toUpperCase()}"`
}

export class Discovery {
  private cache = new Map<string, Discovered>()
  private cachedAt = -1

  constructor(
    private readonly registry: ResourceRegistry,
    private readonly serverAddress: () => string,
  ) {}

  private cached(key: string, build: () => Discovered): Discovered {
    if (this.cachedAt !== this.registry.revision) {
      this.cache = new Map()
      this.cachedAt = this.registry.revision
    }
    let d = this.cache.get(key)
    if (!d) {
      d = build()
      this.cache.set(key, d)
    }
    return d
  }

  legacyApi(): string {
    return `${JSON.stringify({
      kind: 'APIVersions',
      versions: ['v1'],
      serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: this.serverAddress() }],
    })}\n`
  }

  private groupDoc(group: string, versions: readonly string[]): Obj {
    const gvs = versions.map((v) => ({ groupVersion: `${group}/${v}`, version: v }))
    return { name: group, versions: gvs, preferredVersion: gvs[0] }
  }

  legacyApis(): string {
    return this.cached('apis', () => {
      const groups = this.registry
        .groupVersions()
        .filter((g) => g.group !== '')
        .map((g) => this.groupDoc(g.group, g.versions))
      return { body: `${JSON.stringify({ kind: 'APIGroupList', apiVersion: 'v1', groups })}\n` }
    }).body
  }

  /** /apis/{group}, or undefined for a group that is not served. */
  group(group: string): string | undefined {
    const g = this.registry.groupVersions().find((x) => x.group === group && group !== '')
    if (!g) return undefined
    return `${JSON.stringify({ kind: 'APIGroup', apiVersion: 'v1', ...this.groupDoc(g.group, g.versions) })}\n`
  }

  /** /api/v1 or /apis/{group}/{version}, or undefined when not served. */
  resourceList(group: string, version: string): string | undefined {
    if (!this.registry.servesGroupVersion(group, version)) return undefined
    return this.cached(`rl:${group}/${version}`, () => {
      const resources = this.registry.typesIn(group, version).flatMap(legacyResources)
      const doc = group
        ? { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: `${group}/${version}`, resources }
        : { kind: 'APIResourceList', groupVersion: version, resources }
      return { body: `${JSON.stringify(doc)}\n` }
    }).body
  }

  /** Aggregated discovery for /api (core only) or /apis (every group), with its ETag. */
  aggregated(prefix: 'api' | 'apis', version: 'v2' | 'v2beta1'): Discovered {
    const v2 = this.cached(`agg:${prefix}:v2`, () => {
      const items = this.registry
        .groupVersions()
        .filter((g) => (prefix === 'api' ? g.group === '' : g.group !== ''))
        .map((g) => ({
          metadata: g.group ? { name: g.group, creationTimestamp: null } : { creationTimestamp: null },
          versions: g.versions.map((v) => ({
            version: v,
            resources: this.registry.typesIn(g.group, v).map(aggregatedResource),
            freshness: 'Current',
          })),
        }))
      const body = `${JSON.stringify({ kind: 'APIGroupDiscoveryList', apiVersion: 'apidiscovery.k8s.io/v2', metadata: {}, items })}\n`
      return { body, etag: etagOf(body) }
    })
    if (version === 'v2') return v2
    return this.cached(`agg:${prefix}:v2beta1`, () => ({
      body: v2.body.replace(
        '"apiVersion":"apidiscovery.k8s.io/v2"',
        '"apiVersion":"apidiscovery.k8s.io/v2beta1"',
      ),
      ...(v2.etag ? { etag: v2.etag } : {}),
    }))
  }
}
