/**
 * `plimsoll watch`'s core: discovers what the cluster serves, lists and watches the kinds the policies
 * need (one reflector each), keeps their objects in a LiveState, evaluates what changes and hands the
 * changes on (to the store through a LiveRecorder, to whoever listens). Discovery is read again when a
 * CustomResourceDefinition comes or goes, and every few minutes.
 */
import { EventEmitter } from 'node:events'
import { setFlagsFromString } from 'node:v8'
import type { WatchedKindStatus, WatchHealth } from '../api-types.js'
import type { Engine } from '../policy/engine.js'
import type { ExceptionContext } from '../scan/scan-file.js'
import type { ApiClient } from './client.js'
import { type ApiResource, discover } from './discovery.js'
import { selectKinds, type WatchedKind } from './kinds.js'
import type { KeepMode, LiveState, ObjectChange } from './live-state.js'
import {
  type KindHealth,
  type KubeObject,
  Reflector,
  type ReflectorOptions,
  type ReflectorSink,
} from './reflector.js'

export interface WatcherOptions {
  client: ApiClient
  engine: Engine
  state: LiveState
  reflector?: ReflectorOptions
  /** read discovery again this often, ms (CRD events also trigger it) */
  rediscoverEveryMs?: number
  /** objects evaluated between two turns of the event loop, at most */
  evaluateSlice?: number
  /**
   * Time spent evaluating between two turns of the event loop, at most, ms (default 10): what waits
   * for a turn (a watch event, the store's writer thread answering a statement, an API request) waits
   * no longer than this.
   */
  evaluateSliceMs?: number
  /**
   * How long the first sync waits for a kind that keeps failing (an aggregated API down, a server
   * error) before it goes on without it, ms (default 2 minutes): the kind is said to be missing and the
   * run incomplete, and it joins as soon as it lists.
   */
  syncTimeoutMs?: number
  /**
   * Asked between two slices of evaluation: a promise to wait for before the next one (the store is
   * behind), or undefined. Without it, a first sync of 50,000 objects would hold every change in memory
   * until the store had written them.
   */
  backpressure?: () => Promise<void> | undefined
  /**
   * How far V8 lets this process's heap grow past what it held after its last full collection, in
   * percent (default 25; 0 leaves V8's own rule). See HEAP_GROWTH.
   */
  heapGrowthPercent?: number
}

/**
 * V8 lets a heap grow to up to four times what it held after a full collection when collecting is
 * cheap next to the program's work, as it is while a watcher lists and evaluates a cluster: a watcher
 * that held 160 MB of a 50,000-object cluster took 600 MB before collecting. What a watcher makes
 * besides its state is short-lived (list pages, evaluations, changes on their way to the store), so it
 * asks for collections at a quarter more than it holds instead; it costs a few more collections, each
 * of them mostly done on V8's helper threads. The setting is the process's (`serve --cluster` shares it).
 */
const HEAP_GROWTH = 25

export type KindStatus = WatchedKindStatus

/** Events: 'changes' (ObjectChange[]), 'synced' (), 'health' (KindStatus), 'error' (string). */
export class Watcher extends EventEmitter {
  private readonly reflectors = new Map<string, { reflector: Reflector; watched: WatchedKind }>()
  private readonly firstListDone = new Set<string>()
  private synced = false
  private syncedResolve!: () => void
  /** resolves when every kind has been listed once and everything evaluated */
  readonly whenSynced = new Promise<void>((r) => {
    this.syncedResolve = r
  })
  private evaluating = false
  private stopped = false
  private discoveryTimer: NodeJS.Timeout | undefined
  private rediscoverSoon: NodeJS.Timeout | undefined
  private crdReflector: Reflector | undefined
  private discoveryErrors: string[] = []
  private readonly eventTimes: number[] = []
  private readonly startedAt = new Date().toISOString()

  constructor(private readonly options: WatcherOptions) {
    super()
  }

  get state(): LiveState {
    return this.options.state
  }

  async start(): Promise<void> {
    const growth = this.options.heapGrowthPercent ?? HEAP_GROWTH
    if (growth > 0) setFlagsFromString(`--heap-growing-percent=${growth}`)
    await this.rediscover()
    const timeout = setTimeout(() => {
      if (this.synced) return
      const late = [...this.reflectors].filter(([id]) => !this.firstListDone.has(id))
      for (const [id, { watched }] of late) {
        this.lateKinds.add(id)
        this.firstListDone.add(id)
        this.emit(
          'error',
          `${watched.resource.kind} not listed yet: going on without it (${watched.resource.path})`,
        )
      }
      this.checkSynced()
    }, this.options.syncTimeoutMs ?? 120_000)
    timeout.unref()
    this.discoveryTimer = setInterval(
      () => void this.rediscover().catch((err) => this.emit('error', `discovery: ${(err as Error).message}`)),
      this.options.rediscoverEveryMs ?? 300_000,
    )
    this.discoveryTimer.unref()
  }

  async stop(): Promise<void> {
    this.stopped = true
    clearInterval(this.discoveryTimer)
    clearTimeout(this.rediscoverSoon)
    await Promise.all([
      this.crdReflector?.stop(),
      ...[...this.reflectors.values()].map(({ reflector }) => reflector.stop()),
    ])
  }

  health(): WatchHealth {
    const now = Date.now()
    while (this.eventTimes.length > 0 && this.eventTimes[0]! < now - 60_000) this.eventTimes.shift()
    return {
      synced: this.synced,
      kinds: [...this.reflectors.values()].map(({ reflector, watched }) =>
        this.statusOf(watched, reflector.health),
      ),
      objects: this.state.size,
      eventsPerSecond: Math.round((this.eventTimes.length / 60) * 10) / 10,
      discoveryErrors: [...this.discoveryErrors],
      startedAt: this.startedAt,
    }
  }

  /** New exception rules (the register changed, or a new day): every finding is judged again. */
  setExceptions(exceptions: ExceptionContext | undefined): void {
    this.state.setExceptions(exceptions)
    this.schedule()
  }

  private statusOf(watched: WatchedKind, health: KindHealth): KindStatus {
    const { group, version, kind, resource } = watched.resource
    return { group, version, kind, resource, mode: watched.mode, ...health }
  }

  private async rediscover(): Promise<void> {
    if (this.stopped) return
    const found = await discover(this.options.client)
    this.discoveryErrors = found.failed.map((f) => `${f.groupVersion}: ${f.message}`)
    const wanted = selectKinds(this.options.engine, found.resources)
    const keys = new Set(wanted.map((w) => resourceId(w.resource)))
    for (const [id, { reflector }] of this.reflectors) {
      if (keys.has(id)) continue
      // No longer served (its CRD deleted) or no longer wanted: its objects are gone from the view.
      this.reflectors.delete(id)
      this.firstListDone.delete(id)
      await reflector.stop()
      this.state.forget(reflector.resource)
      this.schedule()
    }
    for (const watched of wanted) {
      const id = resourceId(watched.resource)
      if (this.reflectors.has(id)) continue
      const reflector = new Reflector(this.options.client, watched.resource, this.sink, {
        ...this.options.reflector,
        metadataOnly: watched.metadataOnly,
      })
      this.reflectors.set(id, { reflector, watched })
      reflector.start()
    }
    this.watchDefinitions(found.resources)
  }

  /** A CRD created, established or deleted changes what is served: discovery is read again, soon. */
  private watchDefinitions(served: readonly ApiResource[]): void {
    if (this.crdReflector) return
    const crd = served.find(
      (r) => r.group === 'apiextensions.k8s.io' && r.kind === 'CustomResourceDefinition',
    )
    if (!crd) return
    const later = () => {
      if (!this.firstListDone.has('crd')) return
      clearTimeout(this.rediscoverSoon)
      this.rediscoverSoon = setTimeout(
        () =>
          void this.rediscover().catch((err) => this.emit('error', `discovery: ${(err as Error).message}`)),
        500,
      )
    }
    this.crdReflector = new Reflector(
      this.options.client,
      crd,
      {
        listStarted: () => {},
        listed: () => {},
        listEnded: () => {
          this.firstListDone.add('crd')
        },
        changed: later,
        health: () => {},
      },
      { ...this.options.reflector, metadataOnly: true },
    )
    this.crdReflector.start()
  }

  private readonly sink: ReflectorSink = {
    listStarted: (resource) => this.state.listStarted(resource),
    listed: (resource, object) => this.state.upsert(resource, object, this.modeOf(resource)),
    listEnded: (resource) => {
      this.state.listEnded(resource)
      this.firstListDone.add(resourceId(resource))
      this.checkSynced()
      this.schedule()
    },
    changed: (resource, type, object: KubeObject) => {
      this.eventTimes.push(Date.now())
      if (this.eventTimes.length > 100_000) this.eventTimes.splice(0, 50_000)
      if (type === 'DELETED') this.state.delete(resource, object)
      else this.state.upsert(resource, object, this.modeOf(resource))
      this.schedule()
    },
    health: (resource, health) => {
      const entry = this.reflectors.get(resourceId(resource))
      if (!entry) return
      if (health.state === 'forbidden') {
        this.firstListDone.add(resourceId(resource))
        this.checkSynced()
      }
      this.emit('health', this.statusOf(entry.watched, health))
    },
  }

  private modeOf(resource: ApiResource): KeepMode {
    return this.reflectors.get(resourceId(resource))?.watched.mode ?? 'inventory'
  }

  private checkSynced(): void {
    if (this.synced) return
    for (const id of this.reflectors.keys()) if (!this.firstListDone.has(id)) return
    this.synced = true
    this.schedule()
  }

  /** Evaluates what is dirty in slices, yielding between them; only once every kind is listed. */
  private schedule(): void {
    if (this.evaluating || !this.synced || this.stopped) return
    this.evaluating = true
    const slice = this.options.evaluateSlice ?? 500
    const sliceMs = this.options.evaluateSliceMs ?? 10
    const step = () => {
      if (this.stopped) {
        this.evaluating = false
        return
      }
      const changes: ObjectChange[] = this.state.evaluateDirty(slice, performance.now() + sliceMs)
      if (changes.length > 0) this.emit('changes', changes)
      if (this.state.pending > 0) {
        const wait = this.options.backpressure?.()
        if (wait) void wait.then(() => setImmediate(step))
        else setImmediate(step)
      } else {
        this.evaluating = false
        if (!this.firstSyncAnnounced) {
          this.firstSyncAnnounced = true
          this.syncedResolve()
          this.emit('synced')
        }
      }
    }
    setImmediate(step)
  }

  private firstSyncAnnounced = false
  /** kinds the first sync went on without */
  private readonly lateKinds = new Set<string>()

  /** Kinds the first sync could not read (a 403, or still failing when it went on), for the run's errors. */
  refusedKinds(): KindStatus[] {
    return this.health().kinds.filter(
      (k) => k.state === 'forbidden' || (this.lateKinds.has(resourceId(k)) && k.lastSync === undefined),
    )
  }
}

function resourceId(r: Pick<ApiResource, 'group' | 'version' | 'resource'>): string {
  return `${r.group}/${r.version}/${r.resource}`
}
