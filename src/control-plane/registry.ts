/**
 * The resources served right now: the built-in catalogue plus those of Established
 * CustomResourceDefinitions. Discovery documents are derived from it and cached until it changes.
 */
import {
  BUILT_IN_GROUPS,
  BUILT_IN_TYPES,
  BUILT_IN_VERSIONS,
  type CustomVersion,
  type ResourceType,
  storageVersionHash,
} from './catalog.js'
import { isObj, type Obj, objAt, strAt } from './types.js'

export interface GroupVersions {
  readonly group: string
  /** Preferred first. */
  readonly versions: readonly string[]
}

const CUSTOM_VERBS = ['delete', 'deletecollection', 'get', 'list', 'patch', 'create', 'update', 'watch']

/** Kubernetes' version priority: v2 > v1 > v1beta2 > v1beta1 > v1alpha1 > anything else (by name). */
export function compareKubeVersions(a: string, b: string): number {
  const parse = (v: string) => {
    const m = /^v(\d+)(?:(alpha|beta)(\d+))?$/.exec(v)
    if (!m) return null
    const stage = m[2] === undefined ? 3 : m[2] === 'beta' ? 2 : 1
    return { major: Number(m[1]), stage, minor: Number(m[3] ?? 0) }
  }
  const pa = parse(a)
  const pb = parse(b)
  if (pa && pb) {
    if (pa.stage !== pb.stage) return pb.stage - pa.stage
    if (pa.major !== pb.major) return pb.major - pa.major
    return pb.minor - pa.minor
  }
  if (pa) return -1
  if (pb) return 1
  return a < b ? -1 : a > b ? 1 : 0
}

export class ResourceRegistry {
  private readonly byKey = new Map<string, ResourceType>()
  /** CRD name -> the resource types it serves (one per served version). */
  private readonly custom = new Map<string, ResourceType[]>()
  /** Bumped on every change, so discovery caches know when to rebuild. */
  revision = 0

  constructor() {
    for (const t of BUILT_IN_TYPES) this.byKey.set(key(t.group, t.version, t.resource), t)
  }

  lookup(group: string, version: string, resource: string): ResourceType | undefined {
    return this.byKey.get(key(group, version, resource))
  }

  /** Whether a group/version is served at all (an unknown one is a plain-text 404). */
  servesGroupVersion(group: string, version: string): boolean {
    return this.groupVersions().some((g) => g.group === group && g.versions.includes(version))
  }

  groupVersions(): GroupVersions[] {
    const out: GroupVersions[] = BUILT_IN_GROUPS.map((g) => ({
      group: g,
      versions: BUILT_IN_VERSIONS.get(g) ?? [],
    }))
    const customGroups = new Map<string, Set<string>>()
    for (const types of this.custom.values()) {
      for (const t of types) {
        const set = customGroups.get(t.group) ?? new Set<string>()
        set.add(t.version)
        customGroups.set(t.group, set)
      }
    }
    for (const [g, versions] of [...customGroups].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      out.push({ group: g, versions: [...versions].sort(compareKubeVersions) })
    }
    return out
  }

  /** Resource types of one group/version, in discovery order (by resource name). */
  typesIn(group: string, version: string): ResourceType[] {
    const out: ResourceType[] = []
    for (const t of this.byKey.values()) if (t.group === group && t.version === version) out.push(t)
    return out.sort((a, b) => (a.resource < b.resource ? -1 : a.resource > b.resource ? 1 : 0))
  }

  /** Every served type (all versions). */
  all(): ResourceType[] {
    return [...this.byKey.values()]
  }

  /** The type a resource is looked up by in RBAC and storage terms, whatever version was asked. */
  byResource(group: string, resource: string): ResourceType | undefined {
    const versions = this.groupVersions().find((g) => g.group === group)?.versions ?? []
    for (const v of versions) {
      const t = this.lookup(group, v, resource)
      if (t) return t
    }
    return undefined
  }

  /** Resolves a kind in a group (for kubeconfig-free helpers such as seeding from YAML). */
  byKind(apiVersion: string, kind: string): ResourceType | undefined {
    const [group, version] = apiVersion.includes('/') ? apiVersion.split('/', 2) : ['', apiVersion]
    for (const t of this.byKey.values())
      if (t.group === group && t.version === version && t.kind === kind) return t
    return undefined
  }

  /** Serves the versions of an Established CRD (replacing what it served before). */
  defineCustom(crd: Obj): ResourceType[] {
    const name = strAt(objAt(crd, 'metadata'), 'name') ?? ''
    this.removeCustom(name)
    const spec = objAt(crd, 'spec') ?? {}
    const group = strAt(spec, 'group') ?? ''
    const names = objAt(spec, 'names') ?? {}
    const plural = strAt(names, 'plural') ?? ''
    const kind = strAt(names, 'kind') ?? ''
    const namespaced = strAt(spec, 'scope') !== 'Cluster'
    const versions = Array.isArray(spec.versions) ? spec.versions.filter(isObj) : []
    const storage = versions.find((v) => v.storage === true) ?? versions[0]
    const hash = storageVersionHash(`${group}/${strAt(storage, 'name') ?? ''}/${kind}`)
    const types: ResourceType[] = []
    for (const v of versions) {
      if (v.served !== true) continue
      const ver = strAt(v, 'name') ?? ''
      const subs = objAt(v, 'subresources') ?? {}
      const statusSub = isObj(subs.status)
      const columns = Array.isArray(v.additionalPrinterColumns)
        ? v.additionalPrinterColumns.filter(isObj)
        : []
      const custom: CustomVersion = {
        schema: objAt(objAt(v, 'schema'), 'openAPIV3Schema') ?? {},
        printerColumns: columns.map((c) => ({
          name: strAt(c, 'name') ?? '',
          type: strAt(c, 'type') ?? 'string',
          jsonPath: strAt(c, 'jsonPath') ?? '',
          ...(strAt(c, 'format') ? { format: strAt(c, 'format') } : {}),
          ...(strAt(c, 'description') ? { description: strAt(c, 'description') } : {}),
          priority: typeof c.priority === 'number' ? c.priority : 0,
        })),
        statusSubresource: statusSub,
      }
      const strings = (x: unknown) =>
        Array.isArray(x) ? x.filter((s): s is string => typeof s === 'string') : []
      const t: ResourceType = {
        group,
        version: ver,
        apiVersion: `${group}/${ver}`,
        resource: plural,
        kind,
        listKind: strAt(names, 'listKind') ?? `${kind}List`,
        singular: strAt(names, 'singular') ?? kind.toLowerCase(),
        namespaced,
        verbs: CUSTOM_VERBS,
        shortNames: strings(names.shortNames),
        categories: strings(names.categories),
        subresources: [
          ...(statusSub
            ? [{ name: 'status', kind, verbs: ['get', 'patch', 'update'], groupVersion: `${group}/${ver}` }]
            : []),
          ...(isObj(subs.scale)
            ? [
                {
                  name: 'scale',
                  kind: 'Scale',
                  verbs: ['get', 'patch', 'update'],
                  groupVersion: 'autoscaling/v1',
                },
              ]
            : []),
        ],
        storageKey: `${group}/${plural}`,
        traits: { generation: true, deleteReturnsObject: true, virtual: false },
        custom,
        storageVersionHash: hash,
      }
      types.push(t)
      this.byKey.set(key(group, ver, plural), t)
    }
    this.custom.set(name, types)
    this.revision++
    return types
  }

  removeCustom(crdName: string): ResourceType[] {
    const types = this.custom.get(crdName)
    if (!types) return []
    for (const t of types) this.byKey.delete(key(t.group, t.version, t.resource))
    this.custom.delete(crdName)
    this.revision++
    return types
  }

  isCustomGroup(group: string): boolean {
    return !BUILT_IN_VERSIONS.has(group)
  }
}

function key(group: string, version: string, resource: string): string {
  return `${group}/${version}/${resource}`
}
