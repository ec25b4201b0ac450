import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { openStore } from '../../src/store/connect.js'
import { verifyToken } from '../../src/store/tokens.js'
import { run } from '../helpers/cli.js'

describe('plimsoll token', () => {
  it('creates a token shown once, lists tokens without their secret, and revokes them', async () => {
    const db = join(mkdtempSync(join(tmpdir(), 'plimsoll-token-')), 't.db')
    const created = run(['token', 'create', '--name', 'ci-bot', '--role', 'admin', '--db', db])
    expect(created.code).toBe(0)
    const token = created.stdout.trim()
    expect(token).toMatch(/^plm_[A-Za-z0-9_-]{43}$/)
    expect(created.stderr).toMatch(/created token 1 \(admin\) for ci-bot; store it now/)
    const list = run(['token', 'list', '--db', db])
    expect(list.stdout).toMatch(/^1\s+admin\s+ci-bot {2}created \S+$/m)
    expect(list.stdout).not.toContain(token)
    let store = await openStore(db)
    try {
      expect((await verifyToken(store, token))?.role).toBe('admin')
      const stored = await store.db.selectFrom('tokens').select('token_hash').executeTakeFirstOrThrow()
      expect(stored.token_hash).not.toContain(token.slice(4)) // only a hash is kept
    } finally {
      await store.close()
    }
    expect(run(['token', 'revoke', '1', '--db', db]).code).toBe(0)
    store = await openStore(db)
    try {
      expect(await verifyToken(store, token)).toBeUndefined()
    } finally {
      await store.close()
    }
    const again = run(['token', 'revoke', '1', '--db', db])
    expect(again.code).toBe(2)
    expect(again.stderr).toMatch(/no token 1/)
    const badRole = run(['token', 'create', '--name', 'x', '--role', 'root', '--db', db])
    expect(badRole.code).toBe(2)
    expect(badRole.stderr).toMatch(/expected viewer or admin or agent/)
  })

  it('creates agent tokens for one cluster each, and says what is wrong with a cluster that is not given or not a name', async () => {
    const db = join(mkdtempSync(join(tmpdir(), 'plimsoll-token-agent-')), 't.db')
    const created = run([
      'token',
      'create',
      '--name',
      'eu-agent',
      '--role',
      'agent',
      '--cluster',
      'prod-eu',
      '--db',
      db,
    ])
    expect(created.code).toBe(0)
    expect(created.stderr).toMatch(/created token 1 \(agent of cluster prod-eu\) for eu-agent/)
    expect(run(['token', 'list', '--db', db]).stdout).toMatch(/^1\s+agent\s+eu-agent \(cluster prod-eu\)/m)
    const store = await openStore(db)
    try {
      expect(await verifyToken(store, created.stdout.trim())).toMatchObject({
        role: 'agent',
        cluster: 'prod-eu',
      })
    } finally {
      await store.close()
    }
    const cases: [string[], RegExp][] = [
      [['--role', 'agent'], /--role agent needs --cluster <name>/],
      [['--role', 'viewer', '--cluster', 'prod-eu'], /--cluster is for agent tokens only/],
      [
        ['--role', 'agent', '--cluster', 'Prod EU!'],
        /--cluster: cluster name 'Prod EU!': expected lower-case letters/,
      ],
    ]
    for (const [args, message] of cases) {
      const refused = run(['token', 'create', '--name', 'x', ...args, '--db', db])
      expect(refused.code).toBe(2)
      expect(refused.stderr).toMatch(message)
    }
    expect(run(['token', 'list', '--db', db]).stdout.trim().split('\n')).toHaveLength(1)
  })
})
