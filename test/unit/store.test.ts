/**
 * The store, on both backends: an embedded SQLite file and a real PostgreSQL server (started by
 * test/setup/postgres.ts). The same tests run against each.
 */
import { spawn } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import { loadLibrary } from '../../src/policy/library.js'
import { type ScanReport, scan } from '../../src/scan/scan.js'
import { openStore, type Store } from '../../src/store/connect.js'
import { migrate, POSTGRES_ID, SQLITE_ID } from '../../src/store/migrations.js'
import { recordRun } from '../../src/store/record-run.js'
import { freshDatabase } from '../helpers/postgres.js'

const tmp = mkdtempSync(join(tmpdir(), 'plimsoll-store-'))
const library = loadLibrary({})

const backends: [string, (name: string) => Promise<string>][] = [
  ['sqlite', async (name) => join(tmp, `${name}.db`)],
  ['postgres', (name) => freshDatabase(name)],
]

const pod = (name: string, opts: { privileged?: boolean; hostNetwork?: boolean; pad?: number } = {}) =>
  `${'# padding\n'.repeat(opts.pad ?? 0)}apiVersion: v1
kind: Pod
metadata: {name: ${name}, namespace: shop}
spec:
  ${opts.hostNetwork ? 'hostNetwork: true' : 'hostNetwork: false'}
  containers:
  - name: app
    image: nginx:1.27
    securityContext:
      privileged: ${opts.privileged ? 'true' : 'false'}
`

async function scanFiles(files: Record<string, string>): Promise<ScanReport> {
  const dir = mkdtempSync(join(tmp, 'input-'))
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text)
  return scan({ inputs: [dir], library, jobs: 1, showExcepted: true })
}

const options = { source: 'ci' as const, target: 'shop-repo', plimsollVersion: '0.0.0-test' }

async function findingsOf(store: Store, target = 'shop-repo') {
  return store.db
    .selectFrom('findings')
    .innerJoin('resources', 'resources.id', 'findings.resource_id')
    .select([
      'findings.id',
      'check_id',
      'resources.name as resource',
      'state',
      'line',
      'first_run_id',
      'last_run_id',
      'resolved_at',
      'reopened',
      'exception',
    ])
    .where('findings.target', '=', target)
    .orderBy('findings.id')
    .execute()
}

for (const [backend, location] of backends) {
  describe(`store on ${backend}`, () => {
    it('migrates a new store once, and opening it again changes nothing', async () => {
      const where = await location('migrate')
      const store = await openStore(where)
      expect(await migrate(store.db as never, backend === 'sqlite' ? SQLITE_ID : POSTGRES_ID)).toEqual([])
      await store.close()
      const again = await openStore(where)
      expect(await again.db.selectFrom('runs').select('id').execute()).toEqual([])
      await again.close()
    })

    it('tracks each finding from first seen to resolved, and reopens it when it returns', async () => {
      const store = await openStore(await location('lifecycle'))
      try {
        // Run 1: web is privileged and on the host network; api is privileged.
        const first = await recordRun(
          store,
          await scanFiles({
            'web.yaml': pod('web', { privileged: true, hostNetwork: true }),
            'api.yaml': pod('api', { privileged: true }),
          }),
          options,
        )
        expect(first).toMatchObject({ opened: expect.any(Number), reopened: 0, resolved: 0, complete: true })
        const before = await findingsOf(store)
        expect(before.length).toBe(first.opened)
        const privWeb = before.find((f) => f.check_id === 'pss-privileged' && f.resource === 'web')!
        const hostWeb = before.find((f) => f.check_id === 'pss-host-namespaces' && f.resource === 'web')!
        expect(privWeb.state).toBe('open')

        // Run 2: web moves down 5 lines and drops hostNetwork; a new pod arrives.
        const second = await recordRun(
          store,
          await scanFiles({
            'web.yaml': pod('web', { privileged: true, pad: 5 }),
            'api.yaml': pod('api', { privileged: true }),
            'new.yaml': pod('new', { hostNetwork: true }),
          }),
          options,
        )
        expect(second.resolved).toBe(1)
        expect(second.reopened).toBe(0)
        const after = await findingsOf(store)
        const privWebAfter = after.find((f) => f.id === privWeb.id)!
        expect(privWebAfter).toMatchObject({
          state: 'open',
          first_run_id: first.runId,
          last_run_id: second.runId,
        })
        expect(privWebAfter.line).toBe(privWeb.line + 5) // same finding, new line
        const hostWebAfter = after.find((f) => f.id === hostWeb.id)!
        expect(hostWebAfter.state).toBe('resolved')
        expect(hostWebAfter.resolved_at).not.toBeNull()
        expect(after.some((f) => f.resource === 'new' && f.first_run_id === second.runId)).toBe(true)

        // Run 3: hostNetwork is back on web.
        const third = await recordRun(
          store,
          await scanFiles({
            'web.yaml': pod('web', { privileged: true, hostNetwork: true }),
            'api.yaml': pod('api', { privileged: true }),
            'new.yaml': pod('new', { hostNetwork: true }),
          }),
          options,
        )
        expect(third.reopened).toBe(1)
        const back = (await findingsOf(store)).find((f) => f.id === hostWeb.id)!
        expect(back).toMatchObject({
          state: 'open',
          resolved_at: null,
          reopened: 1,
          last_run_id: third.runId,
        })
      } finally {
        await store.close()
      }
    })

    it('resolves nothing after a run that could not read all of its input', async () => {
      const store = await openStore(await location('incomplete'))
      try {
        await recordRun(store, await scanFiles({ 'web.yaml': pod('web', { privileged: true }) }), options)
        const partial = await scanFiles({ 'broken.yaml': 'kind: Pod\nmetadata: {name: [\n' })
        expect(partial.errors.length).toBeGreaterThan(0)
        const r = await recordRun(store, partial, options)
        expect(r).toMatchObject({ complete: false, resolved: 0 })
        expect((await findingsOf(store)).every((f) => f.state === 'open')).toBe(true)
        const runs = await store.db.selectFrom('runs').select(['complete', 'errors']).orderBy('id').execute()
        expect(runs.map((x) => [Number(x.complete), x.errors > 0])).toEqual([
          [1, false],
          [0, true],
        ])
      } finally {
        await store.close()
      }
    })

    it('keeps excepted findings as excepted, with their exception, and targets apart', async () => {
      const store = await openStore(await location('excepted'))
      try {
        const excepted = pod('debug', { privileged: true }).replace(
          'metadata: {name: debug, namespace: shop}',
          'metadata:\n  name: debug\n  namespace: shop\n  annotations:\n    plimsoll.dev/except.pss-privileged: "node debugging (OPS-7)"',
        )
        const report = await scanFiles({ 'debug.yaml': excepted })
        await recordRun(store, report, options)
        await recordRun(store, report, { ...options, target: 'other-repo' })
        const rows = await findingsOf(store)
        const priv = rows.find((f) => f.check_id === 'pss-privileged')!
        expect(priv.state).toBe('excepted')
        expect(JSON.parse(priv.exception!)).toEqual({
          source: 'annotation',
          reason: 'node debugging (OPS-7)',
        })
        expect((await findingsOf(store, 'other-repo')).length).toBe(rows.length)
      } finally {
        await store.close()
      }
    })

    it('stays consistent when the process dies in the middle of recording a run', async () => {
      const where = await location('crash')
      // A run of 30,000 findings, killed at several points while it is being written.
      const child = resolve(import.meta.dirname, '..', 'helpers', 'record-big-run.mjs')
      for (const delay of [30, 120, 400]) {
        await new Promise<void>((done, fail) => {
          const p = spawn(process.execPath, [child, where, '30000'], { stdio: ['ignore', 'pipe', 'inherit'] })
          p.stdout.once('data', () => setTimeout(() => p.kill('SIGKILL'), delay))
          p.on('exit', () => done())
          p.on('error', fail)
        })
        const store = await openStore(where)
        try {
          const runs = await store.db.selectFrom('runs').select(['id', 'findings']).execute()
          const findings = await store.db
            .selectFrom('findings')
            .select((eb) => eb.fn.countAll<number>().as('n'))
            .executeTakeFirstOrThrow()
          // 30 ms into a write of about a second, the run is surely cut off: nothing of it may show.
          if (delay === 30) expect(runs).toEqual([])
          // Either whole runs, or nothing of the run that was cut off.
          expect(Number(findings.n)).toBe(runs.length === 0 ? 0 : 30000)
          for (const run of runs) expect(run.findings).toBe(30000)
        } finally {
          await store.close()
        }
      }
    }, 60_000)
  })
}
