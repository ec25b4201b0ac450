/**
 * List, then watch, one kind: the reflector of client-go, in our terms. The list is read in pages and
 * handed over object by object (a page at a time in memory, never the whole kind); the watch goes on
 * from the list's resourceVersion with bookmarks, and:
 * - ends normally at its timeout: watched again from the last resourceVersion seen;
 * - 410 Gone (the resourceVersion was compacted away), as an ERROR event or on a continue token: listed
 *   again from scratch, the consumer told which objects are gone;
 * - a dropped connection or another error: watched again after a backoff with jitter;
 * - 403 Forbidden: said once, and tried again slowly (permissions may be granted later).
 */
import type { WatchedKindStatus } from '../api-types.js'
import { Backoff } from './backoff.js'
import { type ApiClient, ApiError, type WatchEvent, type WatchHandle } from './client.js'
import type { ApiResource } from './discovery.js'

export type KubeObject = Record<string, unknown>

/** What a reflector tells its consumer. Objects come as the server sent them. */
export interface ReflectorSink {
  /** a full list begins: every object it holds follows, then listEnded */
  listStarted(resource: ApiResource): void
  listed(resource: ApiResource, object: KubeObject): void
  /** the list is complete: objects of this kind not listed since listStarted are gone */
  listEnded(resource: ApiResource): void
  changed(resource: ApiResource, type: 'ADDED' | 'MODIFIED' | 'DELETED', object: KubeObject): void
  health(resource: ApiResource, health: KindHealth): void
}

export type KindState = WatchedKindStatus['state']

/** A kind's health, as the reflector knows it (the watcher adds which kind). */
export type KindHealth = Omit<WatchedKindStatus, 'group' | 'version' | 'kind' | 'resource' | 'mode'>

export interface ReflectorOptions {
  /** items per list page (client-go's pager uses 500) */
  pageSize?: number
  /**
   * List metadata only (PartialObjectMetadataList) for kinds whose content no policy reads. Watches
   * still carry whole objects: client-node's Watch sets no Accept header, and watch events come one
   * at a time, so they are dropped as soon as their metadata is read.
   */
  metadataOnly?: boolean
  /** a watch lasts a random time in [min, 2 × min) seconds, as client-go's does (5-10 minutes) */
  watchTimeoutSeconds?: number
  backoff?: Backoff
  /** wait after a 403 before asking again */
  forbiddenRetryMs?: number
  /** label selector to narrow the kind (namespaces are filtered by the consumer) */
  labelSelector?: string
}

/** The Accept of a metadata-only list (PartialObjectMetadataList), with a plain list as the fallback. */
export const METADATA_ACCEPT =
  'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1beta1,application/json'

interface ListPage {
  metadata?: { resourceVersion?: string; continue?: string }
  items?: KubeObject[]
}

function isGone(err: unknown): boolean {
  return err instanceof ApiError && (err.code === 410 || err.reason === 'Expired' || err.reason === 'Gone')
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (signal.aborted) return resolve()
    const t = setTimeout(resolve, ms)
    signal.addEventListener('abort', () => {
      clearTimeout(t)
      resolve()
    })
  })

export class Reflector {
  private readonly stopped = new AbortController()
  private watchHandle: WatchHandle | undefined
  private readonly status: KindHealth = { state: 'listing', events: 0, lists: 0 }
  private running: Promise<void> | undefined

  constructor(
    private readonly client: ApiClient,
    readonly resource: ApiResource,
    private readonly sink: ReflectorSink,
    private readonly options: ReflectorOptions = {},
  ) {}

  start(): void {
    this.running ??= this.loop()
  }

  async stop(): Promise<void> {
    this.stopped.abort()
    this.watchHandle?.stop()
    await this.running
    this.report('stopped')
  }

  get health(): KindHealth {
    return { ...this.status }
  }

  private report(state: KindState, error?: string): void {
    this.status.state = state
    if (error === undefined) delete this.status.error
    else this.status.error = error
    this.sink.health(this.resource, this.health)
  }

  private async loop(): Promise<void> {
    const backoff = this.options.backoff ?? new Backoff()
    let rv: string | undefined
    while (!this.stopped.signal.aborted) {
      try {
        if (rv === undefined) rv = await this.list()
        if (this.stopped.signal.aborted) break
        rv = await this.watch(rv)
        backoff.reset()
      } catch (err) {
        if (this.stopped.signal.aborted) break
        if (isGone(err)) {
          rv = undefined // compacted away: list again, at once
          continue
        }
        const e = err instanceof ApiError ? err : new ApiError(0, '', (err as Error).message)
        if (e.code === 403 || e.code === 401) {
          this.report('forbidden', e.message)
          await sleep(this.options.forbiddenRetryMs ?? 60_000, this.stopped.signal)
          rv = undefined
          continue
        }
        if (e.code === 404) rv = undefined // the kind went away (a CRD deleted): the consumer stops us
        this.report('backoff', e.message)
        await sleep(backoff.next(), this.stopped.signal)
      }
    }
  }

  /** One full list, page by page; returns the resourceVersion to watch from. */
  private async list(): Promise<string> {
    this.report('listing', this.status.error)
    const started = performance.now()
    const accept = this.options.metadataOnly ? METADATA_ACCEPT : 'application/json'
    let expiredOnce = false
    for (;;) {
      this.sink.listStarted(this.resource)
      let token: string | undefined
      let rv = ''
      let count = 0
      try {
        do {
          const page = await this.client.get<ListPage>(
            this.resource.path,
            {
              limit: expiredOnce ? undefined : (this.options.pageSize ?? 500),
              continue: token,
              labelSelector: this.options.labelSelector,
            },
            accept,
          )
          if (this.stopped.signal.aborted) return ''
          rv = page.metadata?.resourceVersion ?? rv
          for (const item of page.items ?? []) {
            this.sink.listed(this.resource, this.withKind(item))
            count++
          }
          token = page.metadata?.continue || undefined
        } while (token)
      } catch (err) {
        // A continue token compacted away mid-list: once more from the start, then in one piece.
        if (isGone(err) && token !== undefined && !expiredOnce) {
          expiredOnce = true
          continue
        }
        throw err
      }
      this.sink.listEnded(this.resource)
      this.status.lists++
      this.status.lastSync = new Date().toISOString()
      this.status.listMs = Math.round(performance.now() - started)
      this.status.listed = count
      return rv
    }
  }

  /**
   * Watches from `rv` until the stream ends; returns the last resourceVersion seen. Throws an ApiError
   * (410 among them) when the stream fails.
   */
  private async watch(rv: string): Promise<string> {
    const min = this.options.watchTimeoutSeconds ?? 300
    const timeoutSeconds = Math.floor(min + Math.random() * min)
    let last = rv
    let gone: ApiError | undefined
    let handle: WatchHandle | undefined
    this.report('watching')
    handle = await this.client.watch(
      this.resource.path,
      {
        resourceVersion: rv,
        allowWatchBookmarks: true,
        timeoutSeconds,
        labelSelector: this.options.labelSelector,
      },
      (event: WatchEvent) => {
        const meta = (event.object.metadata ?? {}) as { resourceVersion?: string }
        if (event.type === 'ERROR') {
          const status = event.object as { code?: number; reason?: string; message?: string }
          gone = new ApiError(status.code ?? 0, status.reason ?? '', status.message ?? 'watch error')
          handle?.stop()
          return
        }
        if (meta.resourceVersion) last = meta.resourceVersion
        if (event.type === 'BOOKMARK') return
        this.status.events++
        this.sink.changed(this.resource, event.type, this.withKind(event.object))
      },
    )
    this.watchHandle = handle
    // Stopped (or told 410) while the request was on its way: there was no handle to stop then.
    if (gone || this.stopped.signal.aborted) handle.stop()
    // The server ends a watch at its timeout; one silent past that (a half-open connection) is dead.
    const watchdog = setTimeout(() => handle?.stop(), (timeoutSeconds + 30) * 1000)
    try {
      await handle.done
    } catch (err) {
      if (gone) throw gone
      if (this.stopped.signal.aborted) return last
      throw err
    } finally {
      clearTimeout(watchdog)
    }
    if (gone) throw gone
    return last
  }

  /** List items come without apiVersion and kind; the consumer wants every object whole. */
  private withKind(object: KubeObject): KubeObject {
    if (object.kind && object.apiVersion && !this.options.metadataOnly) return object
    const { group, version, kind } = this.resource
    object.apiVersion = group === '' ? version : `${group}/${version}`
    object.kind = kind
    return object
  }
}
