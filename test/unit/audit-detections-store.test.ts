/**
 * The audit detections and the anomaly baselines in the store, on SQLite and PostgreSQL: written in the
 * caller's transaction, read back by filters and summed for the alerts page.
 */
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Baselines } from '../../src/audit/anomaly/baselines.js'
import type { Detection } from '../../src/audit/types.js'
import { loadBaselines, resetBaseline, saveBaselines } from '../../src/store/audit-baselines.js'
import { detectionSummary, listDetections, recordDetections } from '../../src/store/audit-detections.js'
import { openStore, type Store } from '../../src/store/connect.js'
import { freshDatabase } from '../helpers/postgres.js'
import { tempFiles } from '../helpers/temp-files.js'

const { dir } = tempFiles('plimsoll-audit-store-')

const detection = (
  rule: string,
  user: string,
  time: string,
  priority: Detection['priority'] = 'warning',
): Detection => ({
  rule,
  source: 'falco-rules',
  priority,
  output: `${rule} by ${user}`,
  time,
  labels: { rule, priority, source: 'falco-rules', user },
  tags: ['k8s'],
  auditID: `a-${rule}-${time}`,
})

const backends: [string, () => Promise<string>][] = [
  ['sqlite', async () => join(dir, `audit-${Math.random().toString(36).slice(2)}.db`)],
  ['postgres', () => freshDatabase('audit')],
]

describe.each(backends)('audit detections and baselines in the store (%s)', (_name, location) => {
  let store: Store
  beforeAll(async () => {
    store = await openStore(await location())
  })
  afterAll(async () => {
    await store?.close()
  })

  it('records detections in a transaction, lists them newest first with filters, and sums them', async () => {
    await store.db.transaction().execute(async (trx) => {
      await recordDetections(trx, 'prod', [
        detection('Attach/Exec Pod', 'alice', '2026-12-06T10:00:00.000Z'),
        detection('Attach/Exec Pod', 'alice', '2026-12-06T10:05:00.000Z'),
        detection('Create Privileged Pod', 'bob', '2026-12-06T11:00:00.000Z', 'critical'),
      ])
      await recordDetections(trx, 'dev', [detection('Attach/Exec Pod', 'carol', '2026-12-06T12:00:00.000Z')])
    })
    const prod = await listDetections(store, { cluster: 'prod' })
    expect(prod.map((d) => [d.rule, d.labels.user])).toEqual([
      ['Create Privileged Pod', 'bob'],
      ['Attach/Exec Pod', 'alice'],
      ['Attach/Exec Pod', 'alice'],
    ])
    expect(prod[0]).toMatchObject({
      priority: 'critical',
      tags: ['k8s'],
      auditID: 'a-Create Privileged Pod-2026-12-06T11:00:00.000Z',
    })
    expect(await listDetections(store, { priority: 'critical' })).toHaveLength(1)
    expect(await listDetections(store, { since: '2026-12-06T11:30:00.000Z' })).toHaveLength(1)
    const older = await listDetections(store, { cluster: 'prod', beforeId: prod[0]!.id, limit: 1 })
    expect(older.map((d) => d.id)).toEqual([prod[1]!.id])
    const summary = await detectionSummary(store, { cluster: 'prod' })
    expect(summary.priorities).toEqual({ warning: 2, critical: 1 })
    expect(summary.byHour).toEqual([
      { hour: '2026-12-06T10', detections: 2 },
      { hour: '2026-12-06T11', detections: 1 },
    ])
    expect(summary.topRules[0]).toEqual({ rule: 'Attach/Exec Pod', source: 'falco-rules', detections: 2 })
    expect(summary.topUsers).toEqual([
      { user: 'alice', detections: 2 },
      { user: 'bob', detections: 1 },
    ])
  })

  it('keeps baselines per cluster and identity, updates them in place, and resets one', async () => {
    const b = new Baselines({ learningMs: 1000 })
    b.observe({
      verb: 'get',
      user: { username: 'alice' },
      objectRef: { resource: 'pods', namespace: 'shop' },
      stageTimestamp: '2026-12-06T10:00:00.000Z',
    })
    await saveBaselines(store.db, 'prod', b.changes())
    b.observe({
      verb: 'list',
      user: { username: 'alice' },
      objectRef: { resource: 'pods', namespace: 'data' },
      stageTimestamp: '2026-12-06T10:00:00.500Z',
    })
    await saveBaselines(store.db, 'prod', b.changes())
    const [alice] = await loadBaselines(store, 'prod')
    expect(alice!.seen.namespace.sort()).toEqual(['data', 'shop'])
    expect(alice!.lastSeen).toBe('2026-12-06T10:00:00.500Z')
    expect(await loadBaselines(store, 'dev')).toEqual([])
    expect(await resetBaseline(store, 'prod', 'alice', 'test')).toBe(true)
    expect(await resetBaseline(store, 'prod', 'alice', 'test')).toBe(false)
    expect(await loadBaselines(store, 'prod')).toEqual([])
  })
})
