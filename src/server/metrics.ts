/**
 * `/metrics` for Prometheus: the open findings of the store by severity, check and namespace, and each
 * target's last scan (duration, age, findings). Read from the store at scrape time, so several server
 * replicas report the same figures.
 */
import { Gauge, Registry } from 'prom-client'
import type { Store } from '../store/connect.js'

export class StoreMetrics {
  readonly registry = new Registry()
  private readonly open = new Gauge({
    name: 'plimsoll_open_findings',
    help: 'Open findings in the store, by severity, check and namespace',
    labelNames: ['severity', 'check', 'namespace'],
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

  constructor(private readonly store: Store) {}

  async render(): Promise<string> {
    const db = this.store.db
    const open = await db
      .selectFrom('findings')
      .innerJoin('resources', 'resources.id', 'findings.resource_id')
      .select([
        'findings.severity',
        'findings.check_id',
        'resources.namespace',
        (eb) => eb.fn.countAll<number>().as('n'),
      ])
      .where('findings.state', '=', 'open')
      .groupBy(['findings.severity', 'findings.check_id', 'resources.namespace'])
      .execute()
    this.open.reset()
    for (const r of open)
      this.open.set({ severity: r.severity, check: r.check_id, namespace: r.namespace }, Number(r.n))
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
    return this.registry.metrics()
  }
}
