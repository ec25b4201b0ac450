/**
 * The audit pipeline's middle (src/audit/pipeline.ts) over a real store: queued events through Falco's
 * default k8saudit rules and the anomaly baselines; detections written with the 'processed' mark, so a
 * second consumer (a restart) finds nothing left and writes nothing twice.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Baselines } from '../../src/audit/anomaly/baselines.js'
import { loadFalcoRules, parseAuditLines } from '../../src/audit/falco/index.js'
import { AuditConsumer, type Detector } from '../../src/audit/pipeline.js'
import type { Detection } from '../../src/audit/types.js'
import { loadBaselines, pendingBaselineResets, resetBaseline } from '../../src/store/audit-baselines.js'
import { listDetections } from '../../src/store/audit-detections.js'
import { enqueueAuditEvents } from '../../src/store/audit-queue.js'
import { openStore, type Store } from '../../src/store/connect.js'
import { CORPUS } from '../helpers/corpus.js'
import { failingOnce } from '../helpers/failing-store.js'
import { tempFiles } from '../helpers/temp-files.js'

const FALCO = join(CORPUS, 'falco-k8saudit')
const TRACES = join(FALCO, 'falcosecurity-falco', 'test', 'trace_files', 'k8s_audit')
const RULES = join(FALCO, 'falcosecurity-plugins', 'plugins', 'k8saudit', 'rules', 'k8s_audit_rules.yaml')
const trace = (name: string) => parseAuditLines(readFileSync(join(TRACES, name), 'utf8')).events

const { dir } = tempFiles('plimsoll-audit-pipeline-')
let store: Store
const falco = loadFalcoRules([{ name: 'k8s_audit_rules.yaml', text: readFileSync(RULES, 'utf8') }])
const rules: Detector = { name: 'falco', evaluate: (e) => falco.evaluate(e) }

beforeAll(async () => {
  store = await openStore(join(dir, 'pipeline.db'))
})
afterAll(async () => {
  await store.close()
})

describe('the audit consumer', () => {
  it('writes each event’s detections once, with the events marked processed, then hands them on', async () => {
    await enqueueAuditEvents(store, 'webhook', [
      ...trace('exec_pod.json'),
      ...trace('create_nginx_pod_privileged.json'),
      ...trace('create_deployment.json'),
    ])
    const handed: Detection[] = []
    const consumer = new AuditConsumer({
      store,
      cluster: 'lab',
      detectors: [rules],
      onDetections: (d) => handed.push(...d),
      pageSize: 2,
    })
    const processed = await consumer.drain()
    expect(processed).toBeGreaterThan(2)
    const stored = await listDetections(store, { cluster: 'lab' })
    // Falco's default rules also say, at informational priority, that a Deployment was created.
    const expected = ['Attach/Exec Pod', 'Create Privileged Pod', 'K8s Deployment Created']
    expect(stored.map((d) => d.rule).sort()).toEqual(expected)
    expect(handed.map((d) => d.rule).sort()).toEqual(expected)
    expect(consumer.counts).toMatchObject({ events: processed, detections: 3, detectorErrors: 0 })
    // A restart: nothing left, nothing written again.
    const again = new AuditConsumer({ store, cluster: 'lab', detectors: [rules] })
    expect(await again.drain()).toBe(0)
    expect(await listDetections(store, { cluster: 'lab' })).toHaveLength(3)
  })

  it('counts a detector that throws, and still evaluates the event with the others', async () => {
    await enqueueAuditEvents(store, 'webhook', trace('attach_pod.json'))
    const broken: Detector = {
      name: 'broken',
      evaluate: () => {
        throw new Error('boom')
      },
    }
    const lines: string[] = []
    const consumer = new AuditConsumer({
      store,
      cluster: 'lab2',
      detectors: [broken, rules],
      log: (l) => lines.push(l),
    })
    await consumer.drain()
    expect(consumer.counts.detectorErrors).toBeGreaterThan(0)
    expect(lines[0]).toMatch(/broken failed on event .*: boom/)
    expect((await listDetections(store, { cluster: 'lab2' })).map((d) => d.rule)).toEqual(['Attach/Exec Pod'])
  })

  it('learns baselines with the events and reports what an identity does for the first time', async () => {
    const baselines = new Baselines({ learningMs: 60_000 })
    const at = (s: number) => new Date(Date.parse('2026-12-06T10:00:00Z') + s * 1000).toISOString()
    const ev = (s: number, resource: string) => ({
      verb: 'get',
      user: { username: 'ci-bot' },
      objectRef: { resource, namespace: 'shop' },
      stageTimestamp: at(s),
      auditID: `b-${s}`,
    })
    await enqueueAuditEvents(store, 'webhook', [
      ev(0, 'pods'),
      ev(10, 'pods'),
      ev(120, 'pods'),
      ev(130, 'secrets'),
    ])
    const consumer = new AuditConsumer({ store, cluster: 'lab3', detectors: [], baselines })
    await consumer.drain()
    const found = await listDetections(store, { cluster: 'lab3' })
    expect(found.map((d) => [d.rule, d.labels.value])).toEqual([['anomaly: first action', 'get secrets']])
  })

  it('reports what is new again when the write of its page failed: the baselines are rolled back too', async () => {
    const baselines = new Baselines({ learningMs: 60_000 })
    const at = (s: number) => new Date(Date.parse('2026-12-06T12:00:00Z') + s * 1000).toISOString()
    const ev = (s: number, namespace: string) => ({
      verb: 'list',
      user: { username: 'night-job' },
      objectRef: { resource: 'configmaps', namespace },
      stageTimestamp: at(s),
      auditID: `r-${s}`,
    })
    await enqueueAuditEvents(store, 'webhook', [ev(0, 'batch'), ev(10, 'batch')])
    const consumer = new AuditConsumer({ store, cluster: 'lab4', detectors: [], baselines })
    await consumer.drain()
    await enqueueAuditEvents(store, 'webhook', [ev(120, 'kube-system')])
    // The store refuses the page's transaction once, as a PostgreSQL restart would.
    const { store: flaky, failNext } = failingOnce(store, 'connection terminated')
    failNext()
    const failing = new AuditConsumer({ store: flaky, cluster: 'lab4', detectors: [], baselines })
    await expect(failing.step()).rejects.toThrow(/connection terminated/)
    await failing.drain()
    const found = await listDetections(store, { cluster: 'lab4' })
    expect(found.map((d) => [d.rule, d.labels.value])).toEqual([['anomaly: first namespace', 'kube-system']])
  })

  it('takes up a baseline reset asked for while it runs: the identity is learned again from its next event', async () => {
    const baselines = new Baselines({ learningMs: 60_000 })
    const at = (s: number) => new Date(Date.parse('2026-12-06T14:00:00Z') + s * 1000).toISOString()
    const ev = (s: number, namespace: string) => ({
      verb: 'get',
      user: { username: 'migrator' },
      objectRef: { resource: 'jobs', namespace },
      stageTimestamp: at(s),
      auditID: `reset-${s}`,
    })
    const consumer = new AuditConsumer({ store, cluster: 'lab5', detectors: [], baselines })
    await enqueueAuditEvents(store, 'webhook', [ev(0, 'db')])
    await consumer.drain()
    // learned and past its learning period: a new namespace would be news; but it is reset first
    expect(await resetBaseline(store, 'lab5', 'migrator', 'admin')).toBe(true)
    await enqueueAuditEvents(store, 'webhook', [ev(300, 'db-v2')])
    await consumer.drain()
    expect(await listDetections(store, { cluster: 'lab5' })).toEqual([])
    const [fresh] = await loadBaselines(store, 'lab5')
    expect(fresh).toMatchObject({ identity: 'migrator', firstSeen: at(300), seen: { namespace: ['db-v2'] } })
    expect(await pendingBaselineResets(store.db, 'lab5')).toEqual([])
    // a reset with no events after it is taken up too
    await resetBaseline(store, 'lab5', 'migrator', 'admin')
    expect(await consumer.step()).toBe(0)
    expect(await pendingBaselineResets(store.db, 'lab5')).toEqual([])
    expect(baselines.get('migrator')).toBeUndefined()
  })
})
