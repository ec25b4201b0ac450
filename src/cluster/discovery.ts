/**
 * Which kinds the API server serves, read from its discovery documents: the core group at /api/v1, then
 * each group's preferred version under /apis. Custom resources appear here once their CRD is
 * established, so discovery is read again when CRDs change.
 */
import type { ServedKind } from '../policy/adapters/foreign-checks.js'
import type { ApiClient } from './client.js'

export interface ApiResource extends ServedKind {
  namespaced: boolean
  /** the path to list it across namespaces: /api/v1/pods, /apis/apps/v1/deployments */
  path: string
  /** served by a CustomResourceDefinition (a group outside Kubernetes' own) */
  custom: boolean
}

export interface Discovery {
  resources: ApiResource[]
  /** group-versions whose discovery failed (an aggregated API down): said, and the rest goes on */
  failed: { groupVersion: string; message: string }[]
}

interface ResourceList {
  groupVersion: string
  resources: { name: string; kind: string; namespaced: boolean; verbs?: string[] }[]
}

interface GroupList {
  groups: {
    name: string
    preferredVersion?: { groupVersion: string }
    versions: { groupVersion: string }[]
  }[]
}

/** Kubernetes' own API groups: '' and the unqualified ones, and *.k8s.io. */
export function isBuiltinGroup(group: string): boolean {
  return group === '' || !group.includes('.') || group.endsWith('.k8s.io')
}

function resourcesOf(list: ResourceList, base: string): ApiResource[] {
  const slash = list.groupVersion.indexOf('/')
  const group = slash < 0 ? '' : list.groupVersion.slice(0, slash)
  const version = slash < 0 ? list.groupVersion : list.groupVersion.slice(slash + 1)
  return list.resources
    .filter((r) => !r.name.includes('/') && r.verbs?.includes('list') && r.verbs.includes('watch'))
    .map((r) => ({
      group,
      version,
      kind: r.kind,
      resource: r.name,
      namespaced: r.namespaced,
      path: `${base}/${r.name}`,
      custom: !isBuiltinGroup(group),
    }))
}

export async function discover(client: ApiClient): Promise<Discovery> {
  const failed: Discovery['failed'] = []
  const groups = await client.get<GroupList>('/apis')
  const lists = await Promise.all([
    client.get<ResourceList>('/api/v1').then((l) => resourcesOf(l, '/api/v1')),
    ...groups.groups.map(async (g) => {
      const gv = g.preferredVersion?.groupVersion ?? g.versions[0]?.groupVersion
      if (!gv) return []
      try {
        return resourcesOf(await client.get<ResourceList>(`/apis/${gv}`), `/apis/${gv}`)
      } catch (err) {
        failed.push({ groupVersion: gv, message: (err as Error).message })
        return []
      }
    }),
  ])
  return { resources: lists.flat(), failed }
}
