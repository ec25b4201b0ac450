/**
 * The store's evidence collector (src/maturity/collect/store.ts), on a SQLite file and on the test run's
 * PostgreSQL server, over stores filled by the real recording functions: CI and cluster runs on several
 * days (recordRun), the exceptions register, admissions as the webhook records them, audit events,
 * the audit door's detections and alert pipelines (test/helpers/audit-alerts-store.ts) and usage
 * snapshots (test/helpers/usage-snapshots.ts). Each fact's value and sources; an empty store; and each
 * fact flipping on evidence.
 */
import { join } from 'node:path'
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Aggregator } from '../../src/audit/alerts/aggregator.js'
import { parseAlertsConfig } from '../../src/audit/alerts/config.js'
import { collectStoreFacts } from '../../src/maturity/collect/store.js'
import type { CollectedFacts } from '../../src/maturity/facts.js'
import { FACTS } from '../../src/maturity/facts.js'
import { recordAdmissions } from '../../src/store/admissions.js'
import { saveAlertState } from '../../src/store/alert-state.js'
import { enqueueAuditEvents } from '../../src/store/audit-queue.js'
import { openStore, type Store } from '../../src/store/connect.js'
import { createException } from '../../src/store/exceptions.js'
import { dayAfter } from '../../src/store/queries.js'
import { formatMoney, monthly } from '../../src/usage/cost/money.js'
import {
  ALPINE_SCAN,
  admission,
  exception,
  execEvents,
  importImageScan,
  RUBY_SCAN,
  recordScan,
} from '../helpers/assess-estate.js'
import { ALERTS_YAML, fillAuditStore } from '../helpers/audit-alerts-store.js'
import { freshDatabase } from '../helpers/postgres.js'
import { tempFiles } from '../helpers/temp-files.js'
import { type FilledUsage, fillUsageStore, prodReport } from '../helpers/usage-snapshots.js'

const { dir } = tempFiles('plimsoll-maturity-store-')

const backends: [string, (name: string) => Promise<string>][] = [
  ['sqlite', async (name) => join(dir, `${name}-${Math.random().toString(36).slice(2)}.db`)],
  ['postgres', (name) => freshDatabase(name)],
]

const DAY = 86_400_000
/** The assessment's time: everything recorded is before it (the helpers record at the real time). */
const NOW = new Date(Date.now() + 10 * 60_000)
const ago = (days: number) => NOW.getTime() - days * DAY
const iso = (ms: number) => new Date(ms).toISOString()
const day = (ms: number) => iso(ms).slice(0, 10)
const SINCE = day(ago(30))
const STORE_FACTS = FACTS.filter((f) => f.source === 'store').map((f) => `store.${f.name}`)

const collect = (store: Store) => collectStoreFacts(store, { now: NOW })
const value = (c: CollectedFacts, name: string) => c.facts.get(`store.${name}`)?.value

describe.each(backends)('the store evidence collector (%s)', (_backend, location) => {
  describe('a store with history', () => {
    let store: Store
    let usage: FilledUsage
    let collected: CollectedFacts

    beforeAll(async () => {
      store = await openStore(await location('assess_full'))
      // CI: repo-a on 12 days (10 findings until 6 days ago, then 6), an older run 40 days ago (the
      // baseline: 10), each with one excepted finding; repo-b once, 3 days ago (2 findings).
      await recordScan(store, 'ci', 'repo-a', ago(40), 10, { excepted: true })
      for (let d = 12; d >= 1; d--)
        await recordScan(store, 'ci', 'repo-a', ago(d), d >= 6 ? 10 : 6, { excepted: true })
      await recordScan(store, 'ci', 'repo-b', ago(3), 2)
      // Clusters: prod 35 and 2 days ago (5 findings), staging 10 days ago, a watcher's live run
      // started 40 days ago and still recording, old only 45 days ago.
      await recordScan(store, 'cluster', 'old', ago(45), 0)
      await recordScan(store, 'cluster', 'prod', ago(35), 5)
      await recordScan(store, 'cluster', 'prod', ago(2), 5)
      await recordScan(store, 'cluster', 'staging', ago(10), 0)
      await recordScan(store, 'cluster', 'live', ago(40), 0, { durationMs: 39 * DAY })
      // The register: four owned, two without (ids 5 and 6).
      for (const owner of ['alice', 'bob', 'ops', 'sre', '', '  '])
        await createException(store, exception(owner), 'test')
      // Admissions: prod/shop enforced; prod/web warned; prod/legacy enforced, then only warned (its last
      // mode); an object without a namespace enforced; kube-system exempt; staging/dev enforced;
      // prod/ancient enforced 40 days ago (out of the window).
      await recordAdmissions(store, [
        admission('prod', 'ancient', 'enforce', ago(40)),
        admission('prod', 'legacy', 'enforce', ago(10)),
        admission('prod', 'shop', 'enforce', ago(5)),
        admission('prod', 'web', 'warn', ago(4)),
        admission('prod', 'shop', 'excepted', ago(3)),
        admission('prod', 'legacy', 'warn', ago(2)),
        admission('prod', '', 'enforce', ago(2)),
        admission('prod', 'kube-system', 'none', ago(2)),
        admission('staging', 'dev', 'enforce', ago(1)),
      ])
      // Audit: 3 events a day ago, 1 six and a half days ago, 2 eight days ago (out of the window), and
      // the alerts fixture's one; its pipelines: prod 13 detections and 4 notifications, dev 3 and 0.
      await enqueueAuditEvents(store, 'webhook', execEvents(ago(1), 3), { receivedAt: iso(ago(1)) })
      await enqueueAuditEvents(store, 'webhook', execEvents(ago(6.5), 1), { receivedAt: iso(ago(6.5)) })
      await enqueueAuditEvents(store, 'webhook', execEvents(ago(8), 2), { receivedAt: iso(ago(8)) })
      await fillAuditStore(store, ago(0) - 5 * 60_000)
      // A pipeline last saved 40 days ago: left out.
      const old = new Aggregator(parseAlertsConfig('alerts.yml', ALERTS_YAML))
      await saveAlertState(store.db, 'old', old.snapshot(), ago(40))
      // Usage: prod a week apart, staging once.
      usage = await fillUsageStore(store, ago(0) - 2 * 3_600_000)
      collected = await collect(store)
    })
    afterAll(async () => {
      await store?.close()
    })

    it('produces every store fact, and no problem', () => {
      expect(collected.problems).toEqual([])
      expect([...collected.facts.keys()].sort()).toEqual([...STORE_FACTS].sort())
    })

    it('counts the days with a CI scan in the last 30', () => {
      expect(collected.facts.get('store.ciScanDays')).toEqual({
        value: 12,
        sources: [
          `store: runs (source ci), 12 days from ${day(ago(12))} to ${day(ago(1))} (13 runs of 2 targets)`,
        ],
      })
    })

    it('counts the clusters scanned in the last 30 days, a live run started before them included', () => {
      expect(collected.facts.get('store.clusters')).toEqual({
        value: 3,
        sources: [`store: runs (source cluster), 3 clusters scanned since ${SINCE}: live, prod, staging`],
      })
    })

    it('says the change in open findings over 30 days as a share of where they started', () => {
      // 30 days ago: repo-a 10, prod 5; now: repo-a 6, repo-b 2, prod 5. The excepted ones are left out.
      expect(collected.facts.get('store.findingsTrend')).toEqual({
        value: (13 - 15) / 15,
        sources: [
          `store: findings (not excepted), 15 open on ${SINCE}, 13 open on ${day(ago(0))} (by first_seen and resolved_at)`,
        ],
      })
    })

    it('says the share of exceptions with an owner, naming those without', () => {
      expect(collected.facts.get('store.exceptionsOwnedShare')).toEqual({
        value: 4 / 6,
        sources: ['store: exceptions, 4 of 6 with an owner (without: #5, #6)'],
      })
    })

    it('counts the namespaces whose last recorded failing check was enforced', () => {
      expect(collected.facts.get('store.enforcedNamespaces')).toEqual({
        value: 2,
        sources: [
          `store: admissions since ${SINCE}, 8 decisions of 2 clusters (prod, staging): 2 of 4 namespaces with a failing check enforce one (prod/shop, staging/dev)`,
        ],
      })
    })

    it('counts the audit events received in the last 7 days', () => {
      const fact = collected.facts.get('store.auditEvents')!
      expect(fact.value).toBe(5)
      expect(fact.sources).toHaveLength(1)
      expect(fact.sources[0]).toMatch(
        new RegExp(
          `^store: audit_events, 5 received from ${iso(ago(6.5)).replace(/[.]/g, '\\.')} to \\S+ \\(`,
        ),
      )
    })

    it("says the alert pipelines' notifications per detection, leaving out one not saved in 30 days", () => {
      expect(collected.facts.get('store.alertNoiseRatio')).toEqual({
        value: 4 / 16,
        sources: [
          `store: alert_state, 2 alert pipelines (dev, prod): 4 notifications for 16 detections, counted since each started; left out, not saved since ${SINCE}: old`,
        ],
      })
    })

    it('counts the usage snapshots of the last 30 days', () => {
      expect(collected.facts.get('store.usageSnapshots')).toEqual({
        value: 3,
        sources: [`store: usage_snapshots, 3 snapshots since ${SINCE}: prod 2, staging 1`],
      })
    })

    it('says the change in monthly waste of the clusters with two snapshots', () => {
      const before = usage.prodOld.waste.total.waste.total
      const after = usage.prodNew.waste.total.waste.total
      expect(before).toBeGreaterThan(0)
      const fact = collected.facts.get('store.wasteTrend')!
      expect(fact.value).toBeCloseTo((after - before) / before, 9)
      const money = (w: number) => formatMoney(monthly(w, 168))
      expect(fact.sources).toEqual([
        `store: usage_snapshots, monthly waste of 1 cluster: prod ${money(before)} on ${usage.prodOld.takenAt.slice(0, 10)} to ${money(after)} on ${usage.prodNew.takenAt.slice(0, 10)}; one snapshot only: staging`,
      ])
    })
  })

  it('an empty store: honest zeros for the counts over a period, the rest unknown with why', async () => {
    const store = await openStore(await location('assess_empty'))
    try {
      const c = await collect(store)
      expect(Object.fromEntries([...c.facts].map(([k, f]) => [k, f.value]))).toEqual({
        'store.ciScanDays': 0,
        'store.clusters': 0,
        'store.auditEvents': 0,
        'store.usageSnapshots': 0,
        'store.imageScans': 0,
        'store.overdueVulnerabilities': 0,
      })
      expect(c.facts.get('store.ciScanDays')!.sources).toEqual([
        `store: runs (source ci), no scan on the 30 days from ${dayAfter(day(ago(0)), -29)} to ${day(ago(0))}`,
      ])
      expect(c.facts.get('store.auditEvents')!.sources).toEqual([
        `store: audit_events, none received since ${iso(ago(7))}`,
      ])
      expect(c.problems).toEqual([
        `store.findingsTrend unknown: no run recorded before ${SINCE}: no baseline for the findings trend`,
        'store.exceptionsOwnedShare unknown: no exception in the register',
        `store.enforcedNamespaces unknown: no admission recorded since ${SINCE}`,
        `store.alertNoiseRatio unknown: no alert pipeline saved its state since ${SINCE}`,
        `store.wasteTrend unknown: no cluster with two usage snapshots since ${SINCE}`,
      ])
    } finally {
      await store.close()
    }
  })

  it('a fact whose query fails is a problem; the others are still collected', async () => {
    const store = await openStore(await location('assess_broken'))
    try {
      await sql`alter table usage_snapshots rename to usage_snapshots_gone`.execute(store.db)
      const c = await collect(store)
      expect(c.facts.has('store.ciScanDays')).toBe(true)
      expect(c.facts.has('store.usageSnapshots')).toBe(false)
      const failed = c.problems.filter((p) => !p.includes(' unknown: '))
      expect(failed).toEqual([
        expect.stringMatching(/^store\.usageSnapshots: reading .+ failed: .*usage_snapshots/),
        expect.stringMatching(/^store\.wasteTrend: reading .+ failed: .*usage_snapshots/),
      ])
    } finally {
      await store.close()
    }
  })

  describe('each fact flips on evidence', () => {
    let store: Store
    beforeAll(async () => {
      store = await openStore(await location('assess_flips'))
    })
    afterAll(async () => {
      await store?.close()
    })

    it('ciScanDays: 0 with CI scans only before the window, 12 with scans on 12 days', async () => {
      await recordScan(store, 'ci', 'repo', ago(45), 3)
      await recordScan(store, 'ci', 'repo', ago(31), 3)
      await recordScan(store, 'cluster', 'prod', ago(1), 0)
      expect(value(await collect(store), 'ciScanDays')).toBe(0)
      // Twice a day: still one day each.
      for (let d = 12; d >= 1; d--) {
        await recordScan(store, 'ci', 'repo', ago(d), 3)
        await recordScan(store, 'ci', 'repo', ago(d) + 1000, 3)
      }
      expect(value(await collect(store), 'ciScanDays')).toBe(12)
    })

    it('findingsTrend: 0 when flat, positive when findings grow, unknown from none to some', async () => {
      // repo had 3 open 30 days ago (the run 31 days ago) and 3 now.
      expect(value(await collect(store), 'findingsTrend')).toBe(0)
      await recordScan(store, 'ci', 'repo', ago(0.5), 6)
      expect(value(await collect(store), 'findingsTrend')).toBe(1)
      await recordScan(store, 'ci', 'repo', ago(0.4), 0)
      expect(value(await collect(store), 'findingsTrend')).toBe(-1)

      const fresh = await openStore(await location('assess_trend'))
      try {
        await recordScan(fresh, 'ci', 'repo', ago(40), 0)
        const flat = await collect(fresh)
        expect(flat.facts.get('store.findingsTrend')!.value).toBe(0)
        await recordScan(fresh, 'ci', 'repo', ago(1), 2)
        const c = await collect(fresh)
        expect(c.facts.has('store.findingsTrend')).toBe(false)
        expect(c.problems).toContain(
          `store.findingsTrend unknown: no open finding on ${SINCE} and 2 on ${day(ago(0))}: no base for a share`,
        )
      } finally {
        await fresh.close()
      }
    })

    it('exceptionsOwnedShare: 1 when all are owned, 1/2 when half are', async () => {
      await createException(store, exception('alice'), 'test')
      await createException(store, exception('bob'), 'test')
      expect(value(await collect(store), 'exceptionsOwnedShare')).toBe(1)
      await createException(store, exception(''), 'test')
      await createException(store, exception(''), 'test')
      const c = await collect(store)
      expect(c.facts.get('store.exceptionsOwnedShare')).toEqual({
        value: 0.5,
        sources: ['store: exceptions, 2 of 4 with an owner (without: #3, #4)'],
      })
    })

    it('enforcedNamespaces: 0 while the webhook only warns, 1 once a namespace is enforced', async () => {
      await recordAdmissions(store, [
        admission('prod', 'shop', 'warn', ago(3)),
        admission('prod', 'web', 'none', ago(3)),
      ])
      const warned = await collect(store)
      expect(warned.facts.get('store.enforcedNamespaces')).toEqual({
        value: 0,
        sources: [
          `store: admissions since ${SINCE}, 2 decisions of 1 cluster (prod): 0 of 1 namespace with a failing check enforce one`,
        ],
      })
      await recordAdmissions(store, [admission('prod', 'shop', 'enforce', ago(1), 'host-path')])
      expect(value(await collect(store), 'enforcedNamespaces')).toBe(1)
    })

    it('auditEvents and alertNoiseRatio: none, then events and a pipeline that took detections in', async () => {
      const before = await collect(store)
      expect(value(before, 'auditEvents')).toBe(0)
      expect(before.facts.has('store.alertNoiseRatio')).toBe(false)
      // A pipeline saved before any detection came: no base.
      const config = parseAlertsConfig('alerts.yml', ALERTS_YAML)
      await saveAlertState(store.db, 'prod', new Aggregator(config).snapshot(), ago(1))
      expect((await collect(store)).problems).toContain(
        'store.alertNoiseRatio unknown: 1 alert pipeline (prod) took in no detection',
      )
      await enqueueAuditEvents(store, 'webhook', execEvents(ago(2), 4), { receivedAt: iso(ago(2)) })
      await fillAuditStore(store, ago(0) - 5 * 60_000)
      const after = await collect(store)
      expect(value(after, 'auditEvents')).toBe(5)
      expect(value(after, 'alertNoiseRatio')).toBe(4 / 16)
    })

    it('usageSnapshots and wasteTrend: one snapshot counts but has no trend; a second one has', async () => {
      const { recordUsageSnapshot } = await import('../../src/store/usage.js')
      const { recommendAll } = await import('../../src/usage/recommend/index.js')
      const { costReport } = await import('../../src/usage/cost/allocate.js')
      const { defaultPriceSheet } = await import('../../src/usage/cost/prices.js')
      const snapshot = async (to: number, pods: number, load: number) => {
        const r = prodReport(to, pods, load)
        await recordUsageSnapshot(store, {
          report: r,
          recommendations: recommendAll(r.containers, 'simple', { now: new Date(to) }),
          strategy: 'simple',
          costs: costReport(defaultPriceSheet(), r.containers, r.nodes),
          takenAt: iso(to),
        })
      }
      await snapshot(ago(40), 3, 1)
      await snapshot(ago(20), 3, 1)
      const one = await collect(store)
      expect(value(one, 'usageSnapshots')).toBe(1)
      expect(one.problems).toContain(
        `store.wasteTrend unknown: no cluster with two usage snapshots since ${SINCE}; one snapshot only: prod`,
      )
      await snapshot(ago(1), 3, 1)
      const two = await collect(store)
      expect(value(two, 'usageSnapshots')).toBe(2)
      // The same workloads and load: the same waste.
      expect(value(two, 'wasteTrend')).toBeCloseTo(0, 9)
    })

    it('imageScans and overdueVulnerabilities: real image scans imported 40 days ago, then again', async () => {
      // Ruby: three highs, two of them with a fix; alpine: four mediums, all with a fix.
      const importAt = (scan: readonly [string, string], target: string, at: number) =>
        importImageScan(store, scan, target, at)
      const facts = async () => {
        const c = await collect(store)
        return { images: value(c, 'imageScans'), overdue: value(c, 'overdueVulnerabilities'), c }
      }
      const none = await facts()
      expect([none.images, none.overdue]).toEqual([0, 0])
      expect(none.c.facts.get('store.imageScans')!.sources).toEqual([
        `store: vulnerabilities, no image scan imported since ${SINCE}`,
      ])

      // Scanned 40 days ago only: not scanned in the window, and the two fixable highs are overdue.
      await importAt(RUBY_SCAN, 'ruby/grype', ago(40))
      const old = await facts()
      expect([old.images, old.overdue]).toEqual([0, 2])
      expect(old.c.facts.get('store.overdueVulnerabilities')!.sources).toEqual([
        'store: vulnerabilities, 2 fixable critical or high vulnerabilities open over 30 days (3 open vulnerabilities in 1 image)',
      ])

      // Scanned again yesterday (still there, first seen 40 days ago), and alpine for the first time.
      await importAt(RUBY_SCAN, 'ruby/grype', ago(1))
      await importAt(ALPINE_SCAN, 'alpine/trivy', ago(1))
      const both = await facts()
      expect([both.images, both.overdue]).toEqual([2, 2])
      expect(both.c.facts.get('store.imageScans')!.sources[0]).toMatch(
        /^store: vulnerabilities, 2 images scanned by grype, trivy since /,
      )
    })
  })
})
