/**
 * The cluster's Namespaces, kept for the webhook: an AdmissionReview names the request's namespace but
 * not its labels, and rules that select by namespace labels (an EnforcementConfig rule's
 * `namespaceSelector`, a Kyverno policy's or a ValidatingAdmissionPolicy's) need them. As Kyverno's and
 * Gatekeeper's webhooks do, it lists and watches `/api/v1/namespaces` (the watcher's Reflector: pages,
 * resourceVersion, bookmarks, 410 Gone re-list, backoff) and answers from memory, never asking the API
 * server during a review. Ready once the first list is complete; a first list refused (401/403) is an
 * error naming the permission needed rather than a webhook waiting forever.
 */
import { dump } from 'js-yaml'
import type { ApiClient } from '../cluster/client.js'
import type { ApiResource } from '../cluster/discovery.js'
import { type KindHealth, type KubeObject, Reflector, type ReflectorOptions } from '../cluster/reflector.js'
import type { NamespaceObjects } from '../policy/foreign-policies.js'

export const NAMESPACES: ApiResource = {
  group: '',
  version: 'v1',
  kind: 'Namespace',
  resource: 'namespaces',
  namespaced: false,
  path: '/api/v1/namespaces',
  custom: false,
}

/** What the webhook's identity must be granted for the cache, as said in errors and in the manifest. */
export const NAMESPACE_PERMISSION = 'get, list and watch on namespaces (a ClusterRole)'

export interface NamespaceCacheOptions {
  readonly client: ApiClient
  readonly reflector?: ReflectorOptions
  /** changes of the cache's health worth saying (a watch lost, refused, back) */
  readonly log?: (line: string) => void
}

/** A first list refused by the API server's authorization. */
export class NamespacesForbidden extends Error {}

type Obj = Record<string, unknown>

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v)

function nameOf(object: KubeObject): string | undefined {
  const name = isObj(object.metadata) ? object.metadata.name : undefined
  return typeof name === 'string' ? name : undefined
}

/**
 * What is kept of a Namespace: the object without its managedFields (the only part no policy reads,
 * and most of its size). Policies see it as `namespaceObject` (CEL) or select by its labels.
 */
function kept(object: KubeObject): KubeObject {
  if (!isObj(object.metadata) || !('managedFields' in object.metadata)) return object
  const { managedFields: _, ...metadata } = object.metadata
  return { ...object, metadata }
}

export class NamespaceCache {
  /** the namespaces as last listed and watched; replaced whole when a re-list completes */
  private current = new Map<string, KubeObject>()
  /** a list under way (the first, or after 410 Gone): the current map keeps answering meanwhile */
  private listing: Map<string, KubeObject> | undefined
  private readonly reflector: Reflector
  private listed = false
  /** the last state and error said (or not worth saying) */
  private lastSaid: string | undefined
  /** whether a watch has run: 'watching again' means after trouble */
  private watched = false
  private settle!: { resolve: () => void; reject: (err: Error) => void }
  /** resolves when the first list is complete; rejects when the first list is refused (RBAC) */
  readonly whenReady: Promise<void>

  constructor(private readonly options: NamespaceCacheOptions) {
    this.whenReady = new Promise<void>((resolve, reject) => {
      this.settle = { resolve, reject }
    })
    // Nobody waiting is no reason for an unhandled rejection: the state says it too.
    this.whenReady.catch(() => {})
    this.reflector = new Reflector(
      options.client,
      NAMESPACES,
      {
        listStarted: () => {
          this.listing = new Map()
        },
        listed: (_resource, object) => {
          const name = nameOf(object)
          if (name !== undefined) this.listing?.set(name, kept(object))
        },
        listEnded: () => {
          if (this.listing) this.current = this.listing
          this.listing = undefined
          if (!this.listed) {
            this.listed = true
            this.settle.resolve()
          }
        },
        changed: (_resource, type, object) => this.changed(type, object),
        health: (_resource, health) => this.health(health),
      },
      options.reflector,
    )
  }

  /** Starts listing and watching; `whenReady` says when the first list is done. */
  start(): void {
    this.reflector.start()
  }

  async stop(): Promise<void> {
    await this.reflector.stop()
  }

  /** Whether the first list is complete. */
  get ready(): boolean {
    return this.listed
  }

  /** How many namespaces are known. */
  get size(): number {
    return this.current.size
  }

  /**
   * The namespaces as known now, by name. The map is the cache's own (not a copy: a review reads it
   * and is done within the turn), as `ValidationSetup.namespaces` and `MutationSetup.namespaces` want.
   */
  readonly snapshot = (): NamespaceObjects => this.current

  private changed(type: 'ADDED' | 'MODIFIED' | 'DELETED', object: KubeObject): void {
    const name = nameOf(object)
    if (name === undefined) return
    if (type === 'DELETED') this.current.delete(name)
    else this.current.set(name, kept(object))
  }

  private health(health: KindHealth): void {
    const { state, error } = health
    if (state === 'forbidden' && !this.listed) {
      // Refused before anything was listed: the webhook could never judge by namespace labels.
      this.settle.reject(
        new NamespacesForbidden(
          `cannot list namespaces at ${this.options.client.server}: ${error ?? 'forbidden'}; ` +
            `the webhook's identity needs ${NAMESPACE_PERMISSION}`,
        ),
      )
      return
    }
    // Said when it changes only: a watch renewed every few minutes, a retry failing alike, is no news.
    if (state === 'listing' || state === 'stopped') return
    const previous = this.lastSaid
    this.lastSaid = `${state}: ${error ?? ''}`
    if (this.lastSaid === previous) return
    const log = this.options.log ?? (() => {})
    if (state === 'watching') {
      if (this.watched) log('namespaces: watching again')
      this.watched = true
    } else if (state === 'forbidden')
      log(
        `namespaces: refused (${error ?? 'forbidden'}); keeping the ${this.current.size} known, ` +
          `asking again later (needs ${NAMESPACE_PERMISSION})`,
      )
    else if (state === 'backoff')
      log(
        `namespaces: ${error ?? 'watch failed'}; ${this.listed ? `keeping the ${this.current.size} known, ` : ''}trying again`,
      )
  }
}

/**
 * The ClusterRole and ClusterRoleBinding that let the webhook's ServiceAccount read namespaces, for
 * `webhook manifest --namespace-labels`: get, list and watch on namespaces, nothing else.
 */
export function namespaceReaderRbac(options: {
  readonly name: string
  readonly serviceAccount: { readonly namespace: string; readonly name: string }
}): string[] {
  const metadata = {
    name: `${options.name}-namespace-reader`,
    labels: { 'app.kubernetes.io/name': 'plimsoll' },
  }
  const role = {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRole',
    metadata,
    rules: [{ apiGroups: [''], resources: ['namespaces'], verbs: ['get', 'list', 'watch'] }],
  }
  const binding = {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRoleBinding',
    metadata,
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: metadata.name },
    subjects: [{ kind: 'ServiceAccount', ...options.serviceAccount }],
  }
  const header = "# Generated by plimsoll webhook manifest: the namespaces' labels the webhook reads.\n"
  return [role, binding].map((doc) => `${header}${dump(doc, { noRefs: true, lineWidth: 120 })}`)
}
