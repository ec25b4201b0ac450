/**
 * A live run in the store, on both backends: the first sync recorded in batches, then each change of
 * an object opening, resolving and reopening its findings; a later sync resolving what went away
 * while nobody watched.
 */
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import type { ApiResource } from '../../src/cluster/discovery.js'
import { LiveState } from '../../src/cluster/live-state.js'
import { LiveRecorder, merge, storeWriter } from '../../src/cluster/recorder.js'
import { Engine, LATEST_VERSION } from '../../src/policy/engine.js'
import { loadLibrary } from '../../src/policy/library.js'
import { openStore, type Store } from '../../src/store/connect.js'
import { listFindings } from '../../src/store/queries.js'
import { freshDatabase } from '../helpers/postgres.js'

const tmp = mkdtempSync(join(tmpdir(), 'plimsoll-live-rec-'))
const library = loadLibrary({})
const engine = new Engine(library.checks, library.podTemplates, { version: LATEST_VERSION }, library.foreign)

const backends: [string, (name: string) => Promise<string>][] = [
  ['sqlite', async (name) => join(tmp, `${name}.db`)],
  ['postgres', (name) => freshDatabase(name)],
]

const PODS: ApiResource = {
  group: '',
  version: 'v1',
  kind: 'Pod',
  resource: 'pods',
  namespaced: true,
  path: '/api/v1/pods',
  custom: false,
}

const pod = (name: string, privileged: boolean) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace: 'shop' },
  spec: { containers: [{ name: 'app', image: 'nginx:1.27', securityContext: { privileged } }] },
})

async function privilegedStates(store: Store, target: string) {
  const rows = await store.db
    .selectFrom('findings')
    .select(['resource_name', 'state', 'reopened'])
    .where('target', '=', target)
    .where('check_id', '=', 'pss-privileged')
    .orderBy('resource_name')
    .execute()
  return rows.map(
    (r) => `${r.resource_name}:${r.state}${Number(r.reopened) > 0 ? `:reopened${r.reopened}` : ''}`,
  )
}

async function session(store: Store, target: string, pods: ReturnType<typeof pod>[]) {
  const state = new LiveState(engine, { target })
  const recorder = new LiveRecorder(storeWriter(store), {
    target,
    plimsollVersion: '0.0.0-test',
    policyVersion: 'latest',
    checks: engine.metadata().length,
    batchSize: 2,
  })
  const runId = await recorder.begin(() => state.totals)
  for (const p of pods) state.upsert(PODS, structuredClone(p), 'evaluate')
  recorder.submit(state.evaluateDirty())
  const synced = await recorder.syncDone({ complete: true, errors: 0 })
  const change = async (fn: () => void) => {
    fn()
    recorder.submit(state.evaluateDirty())
    await recorder.drain()
  }
  return { state, recorder, runId, synced, change }
}

describe.each(backends)('a live run in the store (%s)', (name, location) => {
  it('opens, resolves and reopens findings as objects change, and keeps the run’s sums', async () => {
    const store = await openStore(await location(`live_${name}`))
    try {
      const target = 'prod-eu'
      const s = await session(store, target, [pod('a', true), pod('b', true), pod('c', false)])
      expect(await privilegedStates(store, target)).toEqual(['a:open', 'b:open'])
      const run = await store.db
        .selectFrom('runs')
        .selectAll()
        .where('id', '=', s.runId)
        .executeTakeFirstOrThrow()
      expect(run.source).toBe('cluster')
      expect(Number(run.complete)).toBe(1)
      expect(Number(run.resources)).toBe(3)
      expect(Number(run.findings)).toBe(s.state.totals.findings)
      const open = await store.db
        .selectFrom('findings')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('target', '=', target)
        .where('state', '=', 'open')
        .executeTakeFirstOrThrow()
      expect(Number(open.n)).toBe(s.state.totals.findings)

      await s.change(() => s.state.upsert(PODS, pod('a', false), 'evaluate'))
      expect(await privilegedStates(store, target)).toEqual(['a:resolved', 'b:open'])
      await s.change(() => s.state.delete(PODS, pod('b', true)))
      expect(await privilegedStates(store, target)).toEqual(['a:resolved', 'b:resolved'])
      // b's other findings went with it: nothing of b is open.
      const bOpen = await store.db
        .selectFrom('findings')
        .select('check_id')
        .where('target', '=', target)
        .where('resource_name', '=', 'b')
        .where('state', '<>', 'resolved')
        .execute()
      expect(bOpen).toEqual([])
      await s.change(() => s.state.upsert(PODS, pod('a', true), 'evaluate'))
      expect(await privilegedStates(store, target)).toEqual(['a:open:reopened1', 'b:resolved'])
      expect(s.recorder.counts.reopened).toBe(1)
      await s.recorder.close()
      const after = await store.db
        .selectFrom('runs')
        .selectAll()
        .where('id', '=', s.runId)
        .executeTakeFirstOrThrow()
      expect(Number(after.resources)).toBe(2)
      expect(Number(after.findings)).toBe(s.state.totals.findings)
      const checks = await store.db
        .selectFrom('run_checks')
        .selectAll()
        .where('run_id', '=', s.runId)
        .execute()
      const privileged = checks.find((c) => c.check_id === 'pss-privileged')
      expect(privileged && [Number(privileged.applied), Number(privileged.failed)]).toEqual([2, 1])

      // Watched again later: c was deleted meanwhile. The new sync resolves its findings; a's stay open.
      const again = await session(store, target, [pod('a', true)])
      expect(again.synced.resolved).toBeGreaterThan(0)
      const cOpen = await store.db
        .selectFrom('findings')
        .select('check_id')
        .where('target', '=', target)
        .where('resource_name', '=', 'c')
        .where('state', '<>', 'resolved')
        .execute()
      expect(cOpen).toEqual([])
      expect(await privilegedStates(store, target)).toEqual(['a:open:reopened1', 'b:resolved'])
      await again.recorder.close()
    } finally {
      await store.close()
    }
  })
})

describe('changes of one object waiting together', () => {
  it('merge into what takes the store from before the first to after the second', () => {
    const state = new LiveState(engine, { target: 't' })
    state.upsert(PODS, pod('m', true), 'evaluate')
    const first = state.evaluateDirty()[0]!
    state.upsert(PODS, pod('m', false), 'evaluate')
    const second = state.evaluateDirty()[0]!
    state.upsert(PODS, pod('m', true), 'evaluate')
    const third = state.evaluateDirty()[0]!
    const checks = (fs: { checkId: string }[]) => fs.map((f) => f.checkId).sort()

    // Opened, then resolved before anything was written: resolved (a no-op for the store), not opened.
    const ab = merge(first, second)
    expect(checks(ab.opened)).not.toContain('pss-privileged')
    expect(checks(ab.resolved)).toContain('pss-privileged')
    // Resolved, then back: written again, and no longer resolved.
    const bc = merge(second, third)
    expect(checks(bc.opened)).toContain('pss-privileged')
    expect(checks(bc.resolved)).not.toContain('pss-privileged')
    // All three: the object as it is after the third, from nothing.
    const abc = merge(ab, third)
    expect(checks([...abc.opened, ...abc.updated])).toEqual(checks(first.opened))
  })
})

describe('the findings list during a live run', () => {
  it.each(backends)(
    'counts what each batch changed, though no run was added (%s)',
    async (name, location) => {
      const store = await openStore(await location(`live_list_${name}`))
      try {
        const target = 'lab'
        const s = await session(store, target, [pod('a', false)])
        const openPrivileged = async () =>
          (
            await listFindings(
              store,
              { target, state: ['open'], check: ['pss-privileged'] },
              { sort: 'severity', descending: true, limit: 10, offset: 0 },
            )
          ).total
        expect(await openPrivileged()).toBe(0)
        await s.change(() => s.state.upsert(PODS, pod('a', true), 'evaluate'))
        expect(await openPrivileged()).toBe(1)
        await s.change(() => s.state.upsert(PODS, pod('b', true), 'evaluate'))
        expect(await openPrivileged()).toBe(2)
        await s.recorder.close()
      } finally {
        await store.close()
      }
    },
  )
})
