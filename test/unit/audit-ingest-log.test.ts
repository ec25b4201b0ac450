import {
  appendFileSync,
  copyFileSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  truncateSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { AuditLogFollower, type MalformedLine } from '../../src/audit/ingest/log-follower.js'
import { consumeAuditEvents, readAuditLogPosition } from '../../src/store/audit-queue.js'
import { openStore, type Store } from '../../src/store/connect.js'
import { corpusPath } from '../helpers/corpus.js'
import { freshDatabase } from '../helpers/postgres.js'

const TRACES = corpusPath('falco-k8saudit', 'falcosecurity-falco', 'test', 'trace_files', 'k8s_audit')

let n = 0
/** An audit log line as the API server writes it (--audit-log-format=json). */
function line(id = `e-${n++}`, stage = 'ResponseComplete'): string {
  return `${JSON.stringify({
    kind: 'Event',
    apiVersion: 'audit.k8s.io/v1',
    level: 'Metadata',
    auditID: id,
    stage,
    verb: 'get',
    requestURI: `/api/v1/namespaces/default/pods/${id}`,
  })}\n`
}
const lines = (count: number) => Array.from({ length: count }, () => line()).join('')

async function consumedIds(store: Store, source: string): Promise<string[]> {
  const ids: string[] = []
  while (
    (await consumeAuditEvents(
      store,
      async (page) => {
        ids.push(...page.map((e) => e.auditID ?? '(none)'))
      },
      { source, limit: 1000 },
    )) > 0
  );
  return ids
}

const idsIn = (text: string) =>
  text
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => (JSON.parse(l) as { auditID: string }).auditID)

const backends: [string, () => Promise<string>][] = [
  ['sqlite', async () => join(tmpdir(), `plimsoll-audit-log-${Math.random().toString(36).slice(2)}.db`)],
  ['postgres', () => freshDatabase('audit_log')],
]

describe.each(backends)('the audit log follower (%s)', (_name, location) => {
  let store: Store
  beforeAll(async () => {
    store = await openStore(await location())
  })
  afterAll(async () => {
    await store?.close()
  })

  const follower = (
    path: string,
    name: string,
    extra: Partial<ConstructorParameters<typeof AuditLogFollower>[0]> = {},
  ) => new AuditLogFollower({ store, path, name, ...extra })

  /** A fresh audit.log, in a directory of its own for its rotations, whose first `count` lines `name` has read. */
  const readFirstLines = async (name: string, count = 4) => {
    const dir = mkdtempSync(join(tmpdir(), 'plimsoll-audit-log-'))
    const path = join(dir, 'audit.log')
    const a = follower(path, name)
    const before = lines(count)
    writeFileSync(path, before)
    expect(await a.poll()).toBe(count)
    return { dir, path, a, before }
  }

  it('reads complete lines, waits for a line being written, and resumes after a restart without reading again', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'plimsoll-audit-log-'))
    const path = join(dir, 'audit.log')
    const first = lines(5)
    writeFileSync(path, first)
    const a = follower(path, 'resume', { batchEvents: 2 })
    expect(await a.poll()).toBe(5)
    // Half a line: not read until its newline comes.
    const next = line()
    appendFileSync(path, next.slice(0, 30))
    expect(await a.poll()).toBe(0)
    appendFileSync(path, next.slice(30))
    expect(await a.poll()).toBe(1)
    const position = await readAuditLogPosition(store.db, 'resume')
    expect(position).toMatchObject({ offset: Buffer.byteLength(first + next), line: 6 })
    await a.stop()

    // A new process: the same store, the same name.
    const b = follower(path, 'resume')
    expect(await b.poll()).toBe(0)
    const more = lines(3)
    appendFileSync(path, more)
    expect(await b.poll()).toBe(3)
    expect(await consumedIds(store, 'log:resume')).toEqual(idsIn(first + next + more))
  })

  it('follows a rotation by rename: the old file read to its end, then the new one', async () => {
    const { dir, path, a, before } = await readFirstLines('rename')
    // Written after the last poll, then renamed (as the API server's lumberjack names backups), and the
    // writer's last line to the old file without its newline.
    const unread = lines(3)
    appendFileSync(path, unread)
    const rotated = join(dir, 'audit-2026-12-06T01-17-12.000.log')
    renameSync(path, rotated)
    const tail = line()
    appendFileSync(rotated, tail.trimEnd())
    const fresh = lines(2)
    writeFileSync(path, fresh)
    expect(await a.poll()).toBe(6)
    expect(a.counts.rotations).toBe(1)
    // A restart after the rotation reads nothing again.
    expect(await follower(path, 'rename').poll()).toBe(0)
    expect(await consumedIds(store, 'log:rename')).toEqual(idsIn(before + unread + tail + fresh))
  })

  it('finishes a file rotated while it was not running, found by its inode', async () => {
    const { dir, path, a, before } = await readFirstLines('rotated-while-down')
    await a.stop()
    // While it is down: more lines, a rotation, lines in the new file.
    const unread = lines(3)
    appendFileSync(path, unread)
    renameSync(path, join(dir, 'audit-2026-12-06T02-00-00.000.log'))
    const fresh = lines(2)
    writeFileSync(path, fresh)
    const b = follower(path, 'rotated-while-down')
    expect(await b.poll()).toBe(5)
    expect(b.counts).toMatchObject({ rotations: 1, lost: 0 })
    expect(await consumedIds(store, 'log:rotated-while-down')).toEqual(idsIn(before + unread + fresh))
  })

  it('follows a rotation by copy and truncate: the lines after the last read come from the copy', async () => {
    const { dir, path, a, before } = await readFirstLines('copytruncate')
    const unread = lines(2)
    appendFileSync(path, unread)
    copyFileSync(path, join(dir, 'audit.log.1'))
    truncateSync(path, 0)
    // More than was read before, so that only the first bytes tell the file was truncated.
    const after = lines(8)
    appendFileSync(path, after)
    expect(await a.poll()).toBe(10)
    expect(a.counts.truncations).toBe(1)
    // Truncated to nothing, then the next poll.
    copyFileSync(path, join(dir, 'audit.log.2'))
    truncateSync(path, 0)
    expect(await a.poll()).toBe(0)
    const last = lines(1)
    appendFileSync(path, last)
    expect(await a.poll()).toBe(1)
    expect(await consumedIds(store, 'log:copytruncate')).toEqual(idsIn(before + unread + after + last))
  })

  it('skips a malformed line with its line number, and reads the rest', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'plimsoll-audit-log-'))
    const path = join(dir, 'audit.log')
    const seen: MalformedLine[] = []
    const a = follower(path, 'malformed', { onMalformed: (m) => seen.push(m), maxLineBytes: 4096 })
    const good1 = lines(2)
    const good2 = lines(2)
    writeFileSync(
      path,
      `${good1}{"kind":"Event","auditID":\n\n[1,2]\n{"kind":"EventList","items":[]}\n${'x'.repeat(3 * 1024 * 1024)}\n${good2}`,
    )
    expect(await a.poll()).toBe(4)
    expect(seen.map((m) => [m.line, m.message.split(' ')[0]])).toEqual([
      [3, 'not'],
      [5, 'an'],
      [6, 'kind'],
      [7, 'longer'],
    ])
    expect(seen[0]!.file).toBe(path)
    expect(a.counts.malformed).toBe(4)
    expect(await consumedIds(store, 'log:malformed')).toEqual(idsIn(good1 + good2))
  })

  it('ingests Falco’s 2018 v1beta1 trace files, the malformed one counted', async () => {
    const files = readdirSync(TRACES).filter((f) => f.endsWith('.json'))
    expect(files.length).toBe(47)
    const malformed: MalformedLine[] = []
    let stored = 0
    let duplicates = 0
    for (const file of files) {
      const f = follower(join(TRACES, file), `falco/${file}`, { onMalformed: (m) => malformed.push(m) })
      // A copy of a file no longer written: its last line needs no newline (fal_01_003.json has none).
      stored += await f.poll({ complete: true })
      duplicates += f.counts.duplicates
    }
    expect(malformed.map((m) => [m.file.split('/').pop(), m.line])).toEqual([['fal_01_003.json', 1]])
    // 51 events, two of them the same event in two files.
    expect([stored, duplicates]).toEqual([49, 2])
    const events: Record<string, unknown>[] = []
    for (const file of files)
      while (
        (await consumeAuditEvents(store, async (page) => void events.push(...page.map((e) => e.event)), {
          source: `log:falco/${file}`,
        })) > 0
      );
    expect(events.length).toBe(49)
    const original = JSON.parse(readFileSync(join(TRACES, 'create_clusterrole.json'), 'utf8').trim())
    const create = events.find((e) => e.auditID === original.auditID)
    expect(create).toMatchObject({
      verb: 'create',
      objectRef: { resource: 'clusterroles', name: 'some-reader' },
    })
    expect(create).toEqual(original)
  })

  it('reads a file never seen from its end when asked, from the line after its last newline', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'plimsoll-audit-log-'))
    const path = join(dir, 'audit.log')
    const half = line()
    writeFileSync(path, lines(3) + half.slice(0, 20))
    const a = follower(path, 'from-end', { startAt: 'end' })
    expect(await a.poll()).toBe(0)
    appendFileSync(path, half.slice(20))
    const more = lines(2)
    appendFileSync(path, more)
    expect(await a.poll()).toBe(3)
    expect(await consumedIds(store, 'log:from-end')).toEqual(idsIn(half + more))
  })

  it('polls on its own once started, and stops', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'plimsoll-audit-log-'))
    const path = join(dir, 'audit.log')
    const a = follower(path, 'timer', { pollMs: 20 })
    a.start()
    writeFileSync(path, lines(3))
    for (let i = 0; i < 200 && a.counts.events < 3; i++) await new Promise((r) => setTimeout(r, 20))
    expect(a.counts.events).toBe(3)
    await a.stop()
    appendFileSync(path, lines(1))
    await new Promise((r) => setTimeout(r, 100))
    expect(a.counts.events).toBe(3)
  })
})
