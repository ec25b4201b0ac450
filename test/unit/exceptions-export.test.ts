/**
 * The exceptions register exported for Git (`plimsoll exceptions export`, GET /api/exceptions/export):
 * an ExceptionList that `--exceptions` reads back to the same rules, expired entries left out unless
 * asked for, each entry with where it came from; a creator's name cannot break out of its comment.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { readExceptionsFile } from '../../src/policy/exceptions.js'
import { buildServer } from '../../src/server/app.js'
import { openStore, type Store } from '../../src/store/connect.js'
import { createException } from '../../src/store/exceptions.js'
import { createToken } from '../../src/store/tokens.js'
import { runAsync } from '../helpers/cli.js'

const tmp = mkdtempSync(join(tmpdir(), 'plimsoll-export-'))
const db = join(tmp, 'register.db')
let store: Store

const ACTIVE = {
  checks: ['pss-privileged', 'pss-host-*'],
  kinds: ['DaemonSet'],
  namespaces: ['team-gpu-*'],
  names: ['nvidia-*'],
  labels: { team: 'gpu', 'app.kubernetes.io/part-of': 'drivers' },
  owner: 'gpu-team@example.com',
  reason: 'the driver installer needs the host: "privileged" #1\nsee GPU-12',
  expires: '2099-03-31',
}
const PLAIN = {
  checks: ['single-replica'],
  owner: 'ops@example.com',
  reason: 'yes: a colon, and a leading - dash',
  expires: '2098-01-01',
}
const EXPIRED = {
  checks: ['latest-tag'],
  owner: 'web@example.com',
  reason: 'until 2.0',
  expires: '2020-01-01',
}

beforeAll(async () => {
  store = await openStore(db)
  await createException(store, ACTIVE, 'alice\napiVersion: evil/v1')
  await createException(store, PLAIN, 'bob')
  await createException(store, EXPIRED, 'carol')
})

afterAll(async () => {
  await store.close()
})

/** What the reader makes of a file, without where it was read. */
const rulesOf = (text: string) => {
  const file = join(tmp, `read-${Math.random().toString(36).slice(2)}.yaml`)
  writeFileSync(file, text)
  return readExceptionsFile(file).map(({ file: _f, index: _i, ...rule }) => rule)
}

const full = (e: typeof ACTIVE | typeof PLAIN | typeof EXPIRED) => ({
  kinds: [],
  namespaces: [],
  names: [],
  labels: {},
  ...e,
})

describe('plimsoll exceptions export', () => {
  it('prints an ExceptionList that --exceptions reads back to the same rules, expired left out', async () => {
    const { code, stdout } = await runAsync(['exceptions', 'export', '--db', db])
    expect(code).toBe(0)
    // by expiry, as the register lists them
    expect(rulesOf(stdout)).toEqual([full(PLAIN), full(ACTIVE)])
    expect(stdout).toMatch(
      /^# The exceptions register of .*register\.db, exported \S+: 2 entries \(1 expired left out\)\./,
    )
    expect(stdout).toMatch(/# register #1, added by alice\n {2}# apiVersion: evil\/v1 on \d{4}-\d{2}-\d{2}/)
    expect(stdout.match(/^apiVersion:/gm)).toHaveLength(1)
  })

  it('keeps the expired ones with --include-expired, and writes a file with -o', async () => {
    const out = join(tmp, 'exceptions.yaml')
    const { code } = await runAsync(['exceptions', 'export', '--db', db, '--include-expired', '-o', out])
    expect(code).toBe(0)
    const text = readFileSync(out, 'utf8')
    expect(rulesOf(text)).toEqual([full(EXPIRED), full(PLAIN), full(ACTIVE)])
    expect(text).toMatch(/# register #3, added by carol on \S+; expired/)
  })

  it('says what is wrong with the store, and with the output file', async () => {
    // a directory where the store's file should be
    const bad = await runAsync(['exceptions', 'export', '--db', tmp])
    expect(bad.code).toBe(2)
    expect(bad.stderr).toMatch(/^plimsoll exceptions export: /)
    const unwritable = await runAsync([
      'exceptions',
      'export',
      '--db',
      db,
      '-o',
      join(tmp, 'missing', 'e.yaml'),
    ])
    expect(unwritable.code).toBe(2)
    expect(unwritable.stderr).toMatch(/^plimsoll exceptions export: --output: ENOENT/)
  })
})

describe('GET /api/exceptions/export', () => {
  it('answers a viewer the same file as YAML, and no one without a token', async () => {
    const app = await buildServer({ store, checks: [], frameworks: [] })
    try {
      const { token } = await createToken(store, 'reader', { role: 'viewer' })
      expect((await app.inject({ url: '/api/exceptions/export' })).statusCode).toBe(401)
      const res = await app.inject({
        url: '/api/exceptions/export',
        headers: { authorization: `Bearer ${token}` },
      })
      expect(res.statusCode).toBe(200)
      expect(res.headers['content-type']).toBe('application/yaml; charset=utf-8')
      expect(res.headers['content-disposition']).toBe('attachment; filename="exceptions.yaml"')
      expect(rulesOf(res.body)).toEqual([full(PLAIN), full(ACTIVE)])
      const all = await app.inject({
        url: '/api/exceptions/export?expired=true',
        headers: { authorization: `Bearer ${token}` },
      })
      expect(rulesOf(all.body)).toHaveLength(3)
    } finally {
      await app.close()
    }
  })
})
