import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { openStore } from '../../src/store/connect.js'
import { createException, listExceptions } from '../../src/store/exceptions.js'
import { run } from '../helpers/cli.js'
import { freshDatabase } from '../helpers/postgres.js'

const tmp = mkdtempSync(join(tmpdir(), 'plimsoll-cli-store-'))

/** The store's row of the privileged container's finding: its state and exception. */
async function privilegedRow(db: string) {
  const store = await openStore(db)
  try {
    return await store.db
      .selectFrom('findings')
      .select(['state', 'exception'])
      .where('check_id', '=', 'pss-privileged')
      .executeTakeFirstOrThrow()
  } finally {
    await store.close()
  }
}
const manifest = join(tmp, 'web.yaml')
const privileged = `apiVersion: v1
kind: Pod
metadata: {name: web, namespace: shop}
spec:
  hostNetwork: true
  containers:
  - name: app
    image: nginx:1.27
    securityContext: {privileged: true}
`

describe('plimsoll scan --store', () => {
  for (const backend of ['sqlite', 'postgres'] as const) {
    it(`records runs in ${backend} and says what changed`, async () => {
      const db = backend === 'sqlite' ? join(tmp, 'cli.db') : await freshDatabase('cli')
      writeFileSync(manifest, privileged)
      const first = run(['scan', manifest, '--store', db, '--target', 'shop', '--fail-on', 'none'])
      expect(first.code, first.stderr).toBe(0)
      const [, opened] =
        /recorded run 1 of 'shop' in .*: (\d+) new, 0 reopened, 0 seen again, 0 resolved$/m.exec(
          first.stderr,
        )!
      expect(Number(opened)).toBeGreaterThan(2)
      if (backend === 'postgres') expect(first.stderr).not.toContain(new URL(db).password)
      writeFileSync(manifest, privileged.replace('  hostNetwork: true\n', ''))
      const second = run(['scan', manifest, '--store', db, '--target', 'shop', '--fail-on', 'none'])
      expect(second.stderr).toMatch(
        new RegExp(
          `recorded run 2 of 'shop' in .*: 0 new, 0 reopened, ${Number(opened) - 1} seen again, 1 resolved$`,
          'm',
        ),
      )
    })
  }

  it("applies the store's exceptions register to the runs it records", async () => {
    const db = join(tmp, 'register.db')
    writeFileSync(manifest, privileged)
    run(['scan', manifest, '--store', db, '--target', 'shop', '--fail-on', 'none'])
    const store = await openStore(db)
    try {
      await createException(
        store,
        {
          checks: ['pss-privileged'],
          namespaces: ['shop'],
          owner: 'ops@example.com',
          reason: 'GPU driver (OPS-9)',
          expires: '2099-01-01',
        },
        'alice',
      )
    } finally {
      await store.close()
    }
    const second = run(['scan', manifest, '--store', db, '--target', 'shop', '--format', 'json'])
    const report = JSON.parse(second.stdout)
    expect(report.summary.excepted).toBe(1)
    expect(report.findings.some((f: { checkId: string }) => f.checkId === 'pss-privileged')).toBe(false)
    expect(report.staleExceptions).toEqual([])
    const row = await privilegedRow(db)
    expect(row.state).toBe('excepted')
    expect(JSON.parse(row.exception!)).toMatchObject({
      owner: 'ops@example.com',
      reason: 'GPU driver (OPS-9)',
    })
  })

  it('reports a register exception that expired on its finding, and one that matches nothing as stale', async () => {
    const db = join(tmp, 'register-debt.db')
    writeFileSync(manifest, privileged)
    const store = await openStore(db)
    let expired: number
    let stale: number
    try {
      const entry = { namespaces: ['shop'], owner: 'ops@example.com', reason: 'GPU driver (OPS-9)' }
      // Created directly: the API refuses a date in the past, the store itself does not.
      expired = (
        await createException(store, { ...entry, checks: ['pss-privileged'], expires: '2001-01-01' }, 'a')
      ).id
      stale = (await createException(store, { ...entry, checks: ['rbac-*'], expires: '2099-01-01' }, 'a')).id
    } finally {
      await store.close()
    }
    const r = run(['scan', manifest, '--store', db, '--target', 'shop', '--fail-on', 'none'])
    expect(r.stdout).toMatch(/privileged \(exception expired 2001-01-01; owner ops@example.com\)/)
    expect(r.stdout).toContain(
      `Stale exception register #${stale} (rbac-*; owner ops@example.com) matches no finding`,
    )
    const row = await privilegedRow(db)
    expect(row.state).toBe('open')
    expect(JSON.parse(row.exception!)).toMatchObject({ file: `store#${expired}`, expired: true })
    const after = await openStore(db)
    try {
      const register = await listExceptions(after)
      expect(register.find((e) => e.id === expired)).toMatchObject({
        expired: true,
        matches: 1,
        stale: false,
      })
      expect(register.find((e) => e.id === stale)).toMatchObject({ matches: 0, stale: true })
    } finally {
      await after.close()
    }
  })

  it('names the target after the inputs when --target is not given', () => {
    const db = join(tmp, 'default-target.db')
    const r = run(['scan', manifest, '--store', db, '--fail-on', 'none'])
    expect(r.stderr).toContain(`recorded run 1 of '${manifest}'`)
  })

  it('fails with a clear message, and exit 2, when the store cannot be opened', () => {
    const blocker = join(tmp, 'a-file')
    writeFileSync(blocker, '')
    const r = run(['scan', manifest, '--store', join(blocker, 'x.db'), '--fail-on', 'none'])
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/^plimsoll: --store: .*a-file/m)
    expect(r.stderr).not.toMatch(/\n\s+at /)
    const pg = run([
      'scan',
      manifest,
      '--store',
      'postgres://nobody:secret@127.0.0.1:1/none',
      '--fail-on',
      'none',
    ])
    expect(pg.code).toBe(2)
    expect(pg.stderr).toMatch(
      /^plimsoll: --store: cannot open the store at postgres:\/\/nobody:\*\*\*@127\.0\.0\.1:1\/none: /m,
    )
    expect(pg.stderr).not.toContain('secret')
  })
})
