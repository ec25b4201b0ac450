/**
 * Follows an audit log file (the API server's `--audit-log-path`, `--audit-log-format=json`: one Event
 * per line) into the audit queue, as `tail -F` would, and more carefully:
 *
 * - Where it stopped is in the store (the file's device and inode, the byte offset and line of the next
 *   unread line, a hash of the file's first bytes), moved in the same transaction as the events read up
 *   to there: after a restart it goes on from there, never reading a line twice nor skipping one.
 * - Rotation by rename (the API server's own, `--audit-log-maxsize`; logrotate's default): the path
 *   names a new file. The old one is looked for in the same directory by its inode, read to its end
 *   (its last line needs no newline), then the new one from its start.
 * - Rotation by copy and truncate (logrotate's `copytruncate`): the same inode, shorter than where it was
 *   read to, or its first bytes no longer the ones it had. The copy is looked for in the same directory
 *   by those first bytes and read from where the file was read to; then the file from its start.
 * - A line that is not an audit Event (not JSON, not an object, another kind) is counted, reported with
 *   its file and line number, and skipped; so is one longer than `maxLineBytes`. The rest goes on.
 * - A last line without its newline is left until the writer finishes it (or the file is rotated).
 *
 * What it cannot do: read a rotated file that was moved to another directory, compressed or deleted
 * before it was read to its end (the lines not read yet are lost; it logs the line it had got to and counts it in `counts.lost`), or a second
 * rotated file when the path was rotated twice between two polls (keep `pollMs` well under the time the
 * API server takes to fill a file).
 */
import { createHash } from 'node:crypto'
import type { BigIntStats } from 'node:fs'
import { type FileHandle, open, readdir, stat } from 'node:fs/promises'
import { basename, dirname, join, resolve } from 'node:path'
import { Counter, type Registry } from 'prom-client'
import {
  type AuditLogPosition,
  insertAuditEvents,
  readAuditLogPosition,
  writeAuditLogPosition,
} from '../../store/audit-queue.js'
import type { Store } from '../../store/connect.js'
import type { AuditEvent } from '../types.js'
import { parseEventLine } from './event-list.js'

export interface AuditLogFollowerOptions {
  readonly store: Store
  /** the audit log file: --audit-log-path */
  readonly path: string
  /** the name its position is kept under; its events' source is `log:<name>` (default: the absolute path) */
  readonly name?: string
  /** how often the file is looked at, ms (default 1 s) */
  readonly pollMs?: number
  /** events stored per transaction (default 1,000) */
  readonly batchEvents?: number
  /** a longer line is skipped as malformed (default 32 MiB) */
  readonly maxLineBytes?: number
  /** where a file never seen before is read from: its beginning (default) or its end (only what comes next) */
  readonly startAt?: 'beginning' | 'end'
  readonly onMalformed?: (line: MalformedLine) => void
  readonly log?: (line: string) => void
  /** a registry to add its counters to (several followers share them, by source) */
  readonly registry?: Registry
}

export interface MalformedLine {
  readonly file: string
  /** 1-based */
  readonly line: number
  readonly message: string
}

export interface FollowerCounts {
  /** events stored */
  events: number
  /** events already in the queue (same auditID and stage) */
  duplicates: number
  malformed: number
  /** rotations by rename seen */
  rotations: number
  /** rotations by copy and truncate seen */
  truncations: number
  /** rotated files that could not be found to read to their end (moved away or deleted first) */
  lost: number
}

/** The file's first bytes hashed, to tell it from another file that took its inode or its place. */
const HEAD_BYTES = 256
const CHUNK_BYTES = 1024 * 1024

interface Identity {
  readonly dev: string
  readonly ino: string
  readonly size: number
}

function identityOf(st: BigIntStats): Identity {
  return { dev: String(st.dev), ino: String(st.ino), size: Number(st.size) }
}

async function statOrUndefined(path: string): Promise<BigIntStats | undefined> {
  try {
    return await stat(path, { bigint: true })
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw err
  }
}

async function headOf(fd: FileHandle, size: number): Promise<{ head: string; headBytes: number }> {
  const headBytes = Math.min(HEAD_BYTES, size)
  const buf = Buffer.alloc(headBytes)
  let got = 0
  while (got < headBytes) {
    const { bytesRead } = await fd.read(buf, got, headBytes - got, got)
    if (bytesRead === 0) break
    got += bytesRead
  }
  return { head: createHash('sha256').update(buf.subarray(0, got)).digest('hex'), headBytes: got }
}

function counter(registry: Registry | undefined, name: string, help: string): Counter<'source'> | undefined {
  if (!registry) return undefined
  const existing = registry.getSingleMetric(name)
  if (existing) return existing as Counter<'source'>
  return new Counter({ name, help, labelNames: ['source'], registers: [registry] })
}

export class AuditLogFollower {
  readonly source: string
  readonly counts: FollowerCounts = {
    events: 0,
    duplicates: 0,
    malformed: 0,
    rotations: 0,
    truncations: 0,
    lost: 0,
  }
  /** the latest malformed lines (at most 100) */
  readonly malformedLines: MalformedLine[] = []

  readonly #options: AuditLogFollowerOptions
  readonly #path: string
  readonly #name: string
  readonly #log: (line: string) => void
  readonly #metrics: {
    events?: Counter<'source'>
    malformed?: Counter<'source'>
    rotations?: Counter<'source'>
  }
  #position: AuditLogPosition | undefined
  #loaded = false
  #turn: Promise<unknown> = Promise.resolve()
  #timer: NodeJS.Timeout | undefined
  #stopped = false

  constructor(options: AuditLogFollowerOptions) {
    this.#options = options
    this.#path = resolve(options.path)
    this.#name = options.name ?? this.#path
    this.source = `log:${this.#name}`
    this.#log = options.log ?? (() => {})
    this.#metrics = {
      events: counter(
        options.registry,
        'plimsoll_audit_log_events_total',
        'Audit events read from log files and stored',
      ),
      malformed: counter(
        options.registry,
        'plimsoll_audit_log_malformed_lines_total',
        'Audit log lines skipped: not an audit Event, or too long',
      ),
      rotations: counter(
        options.registry,
        'plimsoll_audit_log_rotations_total',
        'Audit log file rotations seen (rename, or copy and truncate)',
      ),
    }
  }

  /** Polls every `pollMs` until stopped; a failed poll is logged and tried again at the next. */
  start(): void {
    if (this.#timer || this.#stopped) return
    const tick = () => {
      this.poll()
        .catch((err: Error) => this.#log(`audit log ${this.#path}: ${err.message}`))
        .finally(() => {
          if (!this.#stopped) this.#timer = setTimeout(tick, this.#options.pollMs ?? 1000)
        })
    }
    this.#timer = setTimeout(tick, 0)
  }

  /** Stops polling; resolves once a poll under way has finished. */
  async stop(): Promise<void> {
    this.#stopped = true
    if (this.#timer) clearTimeout(this.#timer)
    this.#timer = undefined
    await this.#turn.catch(() => {})
  }

  /**
   * Reads whatever is there to read now, rotations included; one poll at a time. Resolves with events
   * stored. `complete`: the file is no longer written, so a last line without its newline is read too
   * (a file copied from elsewhere, Falco's trace files); never for a file the API server still writes.
   */
  poll(options: { complete?: boolean } = {}): Promise<number> {
    const run = this.#turn.catch(() => {}).then(() => this.#pollOnce(options.complete ?? false))
    this.#turn = run
    return run
  }

  async #pollOnce(complete: boolean): Promise<number> {
    if (!this.#loaded) {
      this.#position = await readAuditLogPosition(this.#options.store.db, this.#name)
      this.#loaded = true
    }
    const before = this.counts.events
    const st = await statOrUndefined(this.#path)
    if (!st?.isFile()) return 0
    const current = identityOf(st)
    const position = this.#position
    if (!position) {
      // A file never seen: from its start, or from its end (as a line boundary: after its last newline).
      const fd = await open(this.#path, 'r')
      try {
        const head = await headOf(fd, current.size)
        let offset = 0
        if (this.#options.startAt === 'end') offset = await lastLineEnd(fd, current.size)
        await this.#commit([], [], { path: this.#path, ...current, offset, line: 0, ...head })
      } finally {
        await fd.close()
      }
      if (this.#options.startAt === 'end') return 0
    } else if (position.dev === current.dev && position.ino === current.ino) {
      const fd = await open(this.#path, 'r')
      let truncated = false
      try {
        const head = await headOf(fd, Math.min(position.headBytes, current.size))
        truncated =
          current.size < position.offset || head.headBytes < position.headBytes || head.head !== position.head
      } finally {
        await fd.close()
      }
      if (truncated) {
        this.counts.truncations++
        this.#metrics.rotations?.inc({ source: this.source })
        await this.#finishCopy(position)
        await this.#startNew(current)
      }
    } else {
      this.counts.rotations++
      this.#metrics.rotations?.inc({ source: this.source })
      await this.#finishRenamed(position)
      await this.#startNew(current)
    }
    await this.#drain(this.#path, complete)
    return this.counts.events - before
  }

  /** The file at the path is new: read it from its start. */
  async #startNew(current: Identity): Promise<void> {
    const fd = await open(this.#path, 'r')
    try {
      const head = await headOf(fd, current.size)
      await this.#commit([], [], {
        path: this.#path,
        dev: current.dev,
        ino: current.ino,
        offset: 0,
        line: 0,
        ...head,
      })
    } finally {
      await fd.close()
    }
  }

  /** Rotated by rename: the old file, found in the directory by its inode, read to its end. */
  async #finishRenamed(position: AuditLogPosition): Promise<void> {
    const old = await this.#sibling(
      (st) => String(st.dev) === position.dev && String(st.ino) === position.ino,
    )
    if (!old) {
      this.#lost(position, 'was rotated and is no longer in its directory')
      return
    }
    this.#position = { ...position, path: old }
    await this.#drain(old, true)
  }

  /** Rotated by copy and truncate: the copy, found in the directory by its first bytes, read on from the offset. */
  async #finishCopy(position: AuditLogPosition): Promise<void> {
    const copy = await this.#sibling(async (st, path) => {
      if (String(st.ino) === position.ino && String(st.dev) === position.dev) return false
      if (Number(st.size) < position.offset || Number(st.size) < position.headBytes) return false
      const fd = await open(path, 'r')
      try {
        return (await headOf(fd, position.headBytes)).head === position.head
      } finally {
        await fd.close()
      }
    })
    if (!copy) {
      this.#lost(position, 'was truncated and its copy is not in its directory')
      return
    }
    const st = await stat(copy, { bigint: true })
    this.#position = { ...position, path: copy, ...identityOf(st), offset: position.offset }
    await this.#drain(copy, true)
  }

  #lost(position: AuditLogPosition, what: string): void {
    // How much is unknown: the file is gone. Said once, with where reading had got to.
    this.counts.lost++
    this.#log(
      `audit log ${this.#path} ${what}: lines after line ${position.line} (byte ${position.offset}) of it may be lost`,
    )
  }

  async #sibling(
    test: (st: BigIntStats, path: string) => boolean | Promise<boolean>,
  ): Promise<string | undefined> {
    const dir = dirname(this.#path)
    const own = basename(this.#path)
    let names: string[]
    try {
      names = await readdir(dir)
    } catch {
      return undefined
    }
    // Files named like the log first (audit-2026-...log, audit.log.1): the usual place of a rotated one.
    const stem = own.replace(/\.[^.]*$/, '')
    names.sort((a, b) => Number(!b.startsWith(stem)) - Number(!a.startsWith(stem)) || a.localeCompare(b))
    for (const name of names) {
      if (name === own) continue
      const path = join(dir, name)
      const st = await statOrUndefined(path)
      if (st?.isFile() && (await test(st, path))) return path
    }
    return undefined
  }

  /**
   * Reads `file` from the position's offset: every complete line, and when `final` (a rotated file that
   * will not grow) a last line without its newline too. Events are stored in transactions of
   * `batchEvents`, each moving the position past the lines it holds.
   */
  async #drain(file: string, final: boolean): Promise<void> {
    const start = this.#position!
    const batch = this.#options.batchEvents ?? 1000
    const maxLine = this.#options.maxLineBytes ?? 32 * 1024 * 1024
    const fd = await open(file, 'r')
    try {
      // Rotated between the look at the path and its opening: the next poll sees it.
      const st = await fd.stat({ bigint: true })
      if (String(st.ino) !== start.ino || String(st.dev) !== start.dev) return
      let offset = start.offset
      let line = start.line
      let events: AuditEvent[] = []
      /** each event's line, stored as its text */
      let texts: string[] = []
      let dirty = false
      const commit = async () => {
        let head = { head: start.head, headBytes: start.headBytes }
        // A file first seen nearly empty: its head grows with it, up to HEAD_BYTES.
        if (start.headBytes < HEAD_BYTES) head = await headOf(fd, Math.min(HEAD_BYTES, offset))
        await this.#commit(events, texts, { ...this.#position!, path: file, offset, line, ...head })
        events = []
        texts = []
        dirty = false
      }
      const take = (bytes: Buffer, from: number, to: number) => {
        line++
        let end = to
        if (end > from && bytes[end - 1] === 13) end-- // \r\n
        const text = bytes.toString('utf8', from, end)
        dirty = true
        if (text.trim() === '') return
        const parsed = parseEventLine(text)
        if (parsed.ok) {
          events.push(parsed.event)
          texts.push(text)
        } else this.#malformed({ file, line, message: parsed.message })
      }
      const buf = Buffer.alloc(CHUNK_BYTES)
      let pending = Buffer.alloc(0)
      /** the file offset of pending[0] */
      let pendingAt = offset
      let skipping = false
      let readAt = offset
      for (;;) {
        const { bytesRead } = await fd.read(buf, 0, CHUNK_BYTES, readAt)
        if (bytesRead === 0) break
        readAt += bytesRead
        const data =
          pending.length > 0
            ? Buffer.concat([pending, buf.subarray(0, bytesRead)])
            : buf.subarray(0, bytesRead)
        let from = 0
        for (;;) {
          const nl = data.indexOf(10, from)
          if (nl < 0) break
          if (skipping) {
            line++
            skipping = false
            dirty = true
          } else take(data, from, nl)
          from = nl + 1
          offset = pendingAt + from
          if (events.length >= batch) await commit()
        }
        if (data.length - from > maxLine) {
          if (!skipping) this.#malformed({ file, line: line + 1, message: `longer than ${maxLine} bytes` })
          skipping = true
          pendingAt += data.length
          pending = Buffer.alloc(0)
        } else {
          // Copied: `buf` is read into again.
          pending = Buffer.from(data.subarray(from))
          pendingAt += from
        }
      }
      if (final && (pending.length > 0 || skipping)) {
        if (skipping) {
          line++
          dirty = true
        } else take(pending, 0, pending.length)
        offset = readAt
      }
      if (dirty || events.length > 0) await commit()
    } finally {
      await fd.close()
    }
  }

  #malformed(m: MalformedLine): void {
    this.counts.malformed++
    this.#metrics.malformed?.inc({ source: this.source })
    this.malformedLines.push(m)
    if (this.malformedLines.length > 100) this.malformedLines.shift()
    this.#log(`audit log ${m.file}:${m.line}: skipped, ${m.message}`)
    this.#options.onMalformed?.(m)
  }

  /** Stores events and the position after them in one transaction. */
  async #commit(
    events: readonly AuditEvent[],
    texts: readonly string[],
    position: AuditLogPosition,
  ): Promise<void> {
    const result = await this.#options.store.db.transaction().execute(async (trx) => {
      const r = await insertAuditEvents(trx, this.source, events, { texts })
      await writeAuditLogPosition(trx, this.#name, position)
      return r
    })
    this.#position = position
    this.counts.events += result.stored
    this.counts.duplicates += result.duplicates
    this.#metrics.events?.inc({ source: this.source }, result.stored)
  }
}

/** The offset just after the file's last newline (0 if it has none). */
async function lastLineEnd(fd: FileHandle, size: number): Promise<number> {
  const buf = Buffer.alloc(64 * 1024)
  let end = size
  while (end > 0) {
    const from = Math.max(0, end - buf.length)
    const { bytesRead } = await fd.read(buf, 0, end - from, from)
    const nl = buf.subarray(0, bytesRead).lastIndexOf(10)
    if (nl >= 0) return from + nl + 1
    end = from
  }
  return 0
}
