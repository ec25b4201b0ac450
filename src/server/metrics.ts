/**
 * `/metrics` for Prometheus: the open findings of the store by severity, check, namespace and target
 * (a cluster's name, for watchers), and each target's last scan (duration, age, findings). Read from
 * the store at scrape time, so several server replicas report the same figures. With `serve --cluster`,
 * the watch's own figures too: objects, events, list durations, kinds' states, commit latency.
 */
import { Gauge, Registry } from 'prom-client'
import type { Store } from '../store/connect.js'
import type { LiveClusterSource } from './live-clusters.js'

const WATCH_STATES = ['listing', 'watching', 'backoff', 'forbidden', 'stopped'] as const

export class StoreMetrics {
  readonly registry = new Registry()
  private readonly open = new Gauge({
    name: 'plimsoll_open_findings',
    help: 'Open findings in the store, by severity, check, namespace and target',
    labelNames: ['severity', 'check', 'namespace', 'target'],
    registers: [this.registry],
  })
  private readonly excepted = new Gauge({
    name: 'plimsoll_excepted_findings',
    help: 'Findings covered by an exception',
    registers: [this.registry],
  })
  private readonly duration = new Gauge({
    name: 'plimsoll_last_scan_duration_seconds',
    help: "Duration of each target's most recent scan",
    labelNames: ['target', 'source'],
    registers: [this.registry],
  })
  private readonly finished = new Gauge({
    name: 'plimsoll_last_scan_timestamp_seconds',
    help: "When each target's most recent scan finished (Unix time)",
    labelNames: ['target', 'source'],
    registers: [this.registry],
  })
  private readonly runs = new Gauge({
    name: 'plimsoll_scan_runs',
    help: 'Scan runs recorded, by target and source',
    labelNames: ['target', 'source'],
    registers: [this.registry],
  })

  private readonly watchObjects = new Gauge({
    name: 'plimsoll_watch_objects',
    help: 'Objects a watcher keeps, by cluster',
    labelNames: ['cluster'],
    registers: [this.registry],
  })
  private readonly watchEvents = new Gauge({
    name: 'plimsoll_watch_events',
    help: 'Watch events received since the watcher started (bookmarks excluded), by cluster and kind',
    labelNames: ['cluster', 'group', 'kind'],
    registers: [this.registry],
  })
  private readonly watchRate = new Gauge({
    name: 'plimsoll_watch_events_per_second',
    help: 'Watch events per second over the last minute, by cluster',
    labelNames: ['cluster'],
    registers: [this.registry],
  })
  private readonly listSeconds = new Gauge({
    name: 'plimsoll_watch_list_duration_seconds',
    help: 'Duration of the last full list of each kind',
    labelNames: ['cluster', 'group', 'kind'],
    registers: [this.registry],
  })
  private readonly kindState = new Gauge({
    name: 'plimsoll_watch_kind_state',
    help: "1 for each kind's current state (listing, watching, backoff, forbidden, stopped)",
    labelNames: ['cluster', 'group', 'kind', 'state'],
    registers: [this.registry],
  })
  private readonly lag = new Gauge({
    name: 'plimsoll_watch_commit_seconds',
    help: 'From a watch event to its findings committed in the store, over the last 1,000 changes',
    labelNames: ['cluster', 'quantile'],
    registers: [this.registry],
  })
  private readonly synced = new Gauge({
    name: 'plimsoll_watch_synced',
    help: '1 once every kind has been listed (the findings are whole)',
    labelNames: ['cluster'],
    registers: [this.registry],
  })

  constructor(
    private readonly store: Store,
    private readonly clusters: ReadonlyMap<string, LiveClusterSource> = new Map(),
  ) {}

  private renderWatch(): void {
    for (const g of [this.watchObjects, this.watchEvents, this.watchRate, this.listSeconds, this.kindState])
      g.reset()
    this.lag.reset()
    this.synced.reset()
    for (const [cluster, live] of this.clusters) {
      const h = live.health()
      this.watchObjects.set({ cluster }, h.objects)
      this.watchRate.set({ cluster }, h.eventsPerSecond)
      this.synced.set({ cluster }, h.synced ? 1 : 0)
      if (h.commitMs) {
        this.lag.set({ cluster, quantile: '0.5' }, h.commitMs.p50 / 1000)
        this.lag.set({ cluster, quantile: '0.99' }, h.commitMs.p99 / 1000)
      }
      for (const k of h.kinds) {
        const labels = { cluster, group: k.group, kind: k.kind }
        this.watchEvents.set(labels, k.events)
        if (k.listMs !== undefined) this.listSeconds.set(labels, k.listMs / 1000)
        for (const state of WATCH_STATES) this.kindState.set({ ...labels, state }, k.state === state ? 1 : 0)
      }
    }
  }

  async render(): Promise<string> {
    const db = this.store.db
    const open = await db
      .selectFrom('findings')
      .innerJoin('resources', 'resources.id', 'findings.resource_id')
      .select([
        'findings.severity',
        'findings.check_id',
        'resources.namespace',
        'findings.target',
        (eb) => eb.fn.countAll<number>().as('n'),
      ])
      .where('findings.state', '=', 'open')
      .groupBy(['findings.severity', 'findings.check_id', 'resources.namespace', 'findings.target'])
      .execute()
    this.open.reset()
    for (const r of open)
      this.open.set(
        { severity: r.severity, check: r.check_id, namespace: r.namespace, target: r.target },
        Number(r.n),
      )
    const excepted = await db
      .selectFrom('findings')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('state', '=', 'excepted')
      .executeTakeFirstOrThrow()
    this.excepted.set(Number(excepted.n))
    const latest = db
      .selectFrom('runs')
      .select((eb) => eb.fn.max('id').as('id'))
      .groupBy(['target', 'source'])
    const last = await db
      .selectFrom('runs')
      .select(['target', 'source', 'started_at', 'finished_at'])
      .where('id', 'in', latest)
      .execute()
    this.duration.reset()
    this.finished.reset()
    for (const r of last) {
      const labels = { target: r.target, source: r.source }
      this.duration.set(labels, (Date.parse(r.finished_at) - Date.parse(r.started_at)) / 1000)
      this.finished.set(labels, Date.parse(r.finished_at) / 1000)
    }
    const counts = await db
      .selectFrom('runs')
      .select(['target', 'source', (eb) => eb.fn.countAll<number>().as('n')])
      .groupBy(['target', 'source'])
      .execute()
    this.runs.reset()
    for (const r of counts) this.runs.set({ target: r.target, source: r.source }, Number(r.n))
    this.renderWatch()
    return this.registry.metrics()
  }
}
