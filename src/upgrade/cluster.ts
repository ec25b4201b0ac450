/**
 * What an upgrade check reads from a cluster through the real client: the server's version (/version),
 * the API versions it serves (discovery), and the objects of the kinds an upgrade can touch. Objects come
 * back in the version they are asked for, so the version a manifest still uses shows only in kubectl's
 * last-applied-configuration annotation; that is read, then dropped with the rest strip() drops.
 * Secrets are never listed.
 */
import { type ApiClient, ApiError } from '../cluster/client.js'
import { type ApiResource, discover } from '../cluster/discovery.js'
import { isSecretKind, strip } from '../cluster/objects.js'
import type { ApiLifecycle } from '../policy/api-lifecycle.js'
import type { PodTemplateTable } from '../resources/pod-templates.js'
import type { UpgradeObject } from './evaluate.js'

const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration'

/** Kinds besides workloads that a feature of upgrade-features.yaml looks at. */
const FEATURE_KINDS = new Set([
  'Namespace',
  'PersistentVolumeClaim',
  'PersistentVolume',
  'StorageClass',
  'Service',
  'Ingress',
  'PodSecurityPolicy',
])

/**
 * Kinds of the lifecycle table not worth listing: records the cluster writes itself (events, leases,
 * endpoints of every Service), whose version is the server's choice, not a manifest's.
 */
const NOT_LISTED = new Set([
  'Event',
  'Lease',
  'Endpoints',
  'EndpointSlice',
  'ComponentStatus',
  'ControllerRevision',
])

export interface ServerVersion {
  gitVersion: string
  /** v1.N -> N */
  minor: number
}

export interface ClusterRead {
  version: ServerVersion
  /** every group-version the server serves (`v1`, `apps/v1`, `policy/v1beta1`...) */
  served: string[]
  /** `apiVersion/kind` of every kind discovery listed (each group's preferred version) */
  servedKinds: string[]
  objects: UpgradeObject[]
  /** kinds that could not be listed (forbidden, failing aggregated APIs), with why */
  notRead: { what: string; message: string }[]
}

/** The server's release from /version: gitVersion's minor (`v1.32.13`, `v1.31.4-gke.1`). */
export async function serverVersion(client: ApiClient): Promise<ServerVersion> {
  const body = await client.get<{ gitVersion?: string; major?: string; minor?: string }>('/version')
  const git = String(body.gitVersion ?? '')
  const m = /^v?1\.(\d+)/.exec(git) ?? /^(\d+)/.exec(String(body.minor ?? ''))
  if (!m) throw new Error(`the server's /version names no Kubernetes 1.x release: ${JSON.stringify(body)}`)
  return { gitVersion: git || `v1.${m[1]}`, minor: Number(m[1]) }
}

/** Every group-version the server serves, not only each group's preferred one. */
export async function servedGroupVersions(client: ApiClient): Promise<string[]> {
  const core = await client.get<{ versions?: string[] }>('/api')
  const groups = await client.get<{ groups: { versions: { groupVersion: string }[] }[] }>('/apis')
  return [...(core.versions ?? []), ...groups.groups.flatMap((g) => g.versions.map((v) => v.groupVersion))]
}

/** The kinds to list: those with a pod template, those a feature looks at, those the lifecycle table names. */
function wanted(resource: ApiResource, lifecycle: ApiLifecycle, podTemplates: PodTemplateTable): boolean {
  if (resource.custom || isSecretKind(resource) || NOT_LISTED.has(resource.kind)) return false
  return (
    podTemplates.lookup(resource.group, resource.kind) !== undefined ||
    FEATURE_KINDS.has(resource.kind) ||
    lifecycle.entries.some((e) => e.kind === resource.kind)
  )
}

/** Owned by a controller the check also reads: its findings belong to the owner. */
export function controlled(object: Record<string, unknown>): boolean {
  const owners = (object.metadata as { ownerReferences?: { controller?: boolean }[] } | undefined)
    ?.ownerReferences
  return Array.isArray(owners) && owners.some((o) => o.controller === true)
}

/** The apiVersion in kubectl's last-applied copy, when it is not the one the object was read with. */
function appliedAs(object: Record<string, unknown>): string | undefined {
  const text = (object.metadata as { annotations?: Record<string, string> } | undefined)?.annotations?.[
    LAST_APPLIED
  ]
  if (typeof text !== 'string') return undefined
  try {
    const applied = JSON.parse(text) as { apiVersion?: unknown }
    return typeof applied.apiVersion === 'string' && applied.apiVersion !== object.apiVersion
      ? applied.apiVersion
      : undefined
  } catch {
    return undefined
  }
}

async function listAll(client: ApiClient, resource: ApiResource): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = []
  let token: string | undefined
  do {
    const page = await client.get<{ items?: Record<string, unknown>[]; metadata?: { continue?: string } }>(
      resource.path,
      { limit: 500, continue: token },
    )
    items.push(...(page.items ?? []))
    token = page.metadata?.continue || undefined
  } while (token)
  return items
}

export async function readCluster(
  client: ApiClient,
  options: {
    lifecycle: ApiLifecycle
    podTemplates: PodTemplateTable
    includeNamespace: (namespace: string) => boolean
  },
): Promise<ClusterRead> {
  const [version, served, discovery] = await Promise.all([
    serverVersion(client),
    servedGroupVersions(client),
    discover(client),
  ])
  const notRead = discovery.failed.map((f) => ({ what: f.groupVersion, message: f.message }))
  const objects: UpgradeObject[] = []
  const kinds = discovery.resources.filter((r) => wanted(r, options.lifecycle, options.podTemplates))
  const lists = await Promise.all(
    kinds.map(async (resource) => {
      try {
        return { resource, items: await listAll(client, resource) }
      } catch (err) {
        if (!(err instanceof ApiError)) throw err
        notRead.push({ what: `${resource.kind} (${resource.path})`, message: err.message })
        return { resource, items: [] }
      }
    }),
  )
  for (const { resource, items } of lists) {
    const apiVersion = resource.group ? `${resource.group}/${resource.version}` : resource.version
    for (const item of items) {
      const object: Record<string, unknown> = { ...item, apiVersion, kind: resource.kind }
      const namespace = (object.metadata as { namespace?: string } | undefined)?.namespace
      if (namespace !== undefined && !options.includeNamespace(namespace)) continue
      if (controlled(object)) continue
      const applied = appliedAs(object)
      objects.push({ object: strip(object), ...(applied ? { appliedAs: applied } : {}) })
    }
  }
  const servedKinds = discovery.resources.map((r) => `${r.group ? `${r.group}/` : ''}${r.version}/${r.kind}`)
  return { version, served, servedKinds, objects, notRead }
}
