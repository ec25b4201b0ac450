/**
 * API tokens. A token is 256 random bits, shown once when it is created; the store keeps only its
 * SHA-256, which is enough for a secret of that entropy (no password-style slow hash needed).
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'
import type { Store } from './connect.js'
import type { Role, TokenTable } from './schema.js'

const PREFIX = 'plm_'

function hash(token: string): string {
  return createHash('sha256').update(token).digest('hex')
}

/** Who a token is for: a person or tool (viewer, admin), or one cluster's agent. */
export type Grant = { role: Exclude<Role, 'agent'> } | { role: 'agent'; cluster: string }

export type TokenInfo = Grant & {
  id: number
  name: string
  createdAt: string
  lastUsedAt: string | null
}

/** A cluster's name as agents push it: what Kubernetes allows in a name, and short. */
const CLUSTER_NAME = /^[a-z0-9]([a-z0-9._-]{0,61}[a-z0-9])?$/

/** What is wrong with a cluster's name, if anything. */
export function clusterNameProblem(name: string): string | undefined {
  if (CLUSTER_NAME.test(name)) return undefined
  return `cluster name '${name}': expected lower-case letters, digits, '.', '_' or '-' (at most 63), starting and ending with a letter or digit`
}

function infoOf(row: Omit<TokenTable, 'id'> & { id: number }): TokenInfo {
  const base = { id: Number(row.id), name: row.name, createdAt: row.created_at, lastUsedAt: row.last_used_at }
  // A row is an agent's only with its cluster; one without (never written so) is refused as unknown.
  if (row.role === 'agent') return { ...base, role: 'agent', cluster: row.cluster ?? '' }
  return { ...base, role: row.role }
}

export async function createToken(
  store: Store,
  name: string,
  grant: Grant,
): Promise<{ token: string; info: TokenInfo }> {
  const problem = grant.role === 'agent' ? clusterNameProblem(grant.cluster) : undefined
  if (problem) throw new Error(problem)
  const token = `${PREFIX}${randomBytes(32).toString('base64url')}`
  const createdAt = new Date().toISOString()
  const cluster = grant.role === 'agent' ? grant.cluster : null
  const { id } = await store.db
    .insertInto('tokens')
    .values({
      name,
      role: grant.role,
      cluster,
      token_hash: hash(token),
      created_at: createdAt,
      last_used_at: null,
    })
    .returning('id')
    .executeTakeFirstOrThrow()
  return { token, info: { ...grant, id: Number(id), name, createdAt, lastUsedAt: null } }
}

/**
 * The token's identity, or undefined for an unknown or malformed token. Only reads: its use is recorded
 * apart (TokenUse), so that checking a token never waits for the store's write lock.
 */
export async function verifyToken(store: Store, token: string): Promise<TokenInfo | undefined> {
  if (!token.startsWith(PREFIX) || token.length > 200) return undefined
  const digest = hash(token)
  const row = await store.db
    .selectFrom('tokens')
    .selectAll()
    .where('token_hash', '=', digest)
    .executeTakeFirst()
  // The lookup is by hash, so a timing difference reveals nothing of the token; compare anyway, in
  // constant time, so that a collision in the index cannot be mistaken for a match.
  if (!row || !timingSafeEqual(Buffer.from(row.token_hash), Buffer.from(digest))) return undefined
  if (row.role === 'agent' && !row.cluster) return undefined
  return infoOf(row)
}

/**
 * When tokens were last used, recorded off the request path: a request notes its token's use, and the
 * uses of the next second are written together, one update per token. Best effort: a write that fails
 * (the store locked by a scan for longer than a write waits) is reported and dropped, and the token's
 * next use notes it again. To the minute: a write on every request would cost more than it tells.
 */
export class TokenUse {
  readonly #pending = new Map<number, string>()
  #timer: NodeJS.Timeout | undefined
  #writing: Promise<void> = Promise.resolve()

  constructor(
    private readonly store: Store,
    private readonly failed: (err: unknown) => void,
    private readonly delayMs = 1000,
  ) {}

  note(token: TokenInfo, now: Date = new Date()): void {
    if (token.lastUsedAt && now.getTime() - Date.parse(token.lastUsedAt) <= 60_000) return
    this.#pending.set(token.id, now.toISOString())
    // unref: a pending note never keeps the process alive; flush() on shutdown writes it.
    this.#timer ??= setTimeout(() => void this.flush(), this.delayMs).unref()
  }

  /** Writes what is noted (after any write under way); never throws. */
  flush(): Promise<void> {
    clearTimeout(this.#timer)
    this.#timer = undefined
    const uses = [...this.#pending]
    this.#pending.clear()
    if (uses.length === 0) return this.#writing
    this.#writing = this.#writing.then(async () => {
      try {
        for (const [id, at] of uses)
          await this.store.db.updateTable('tokens').set({ last_used_at: at }).where('id', '=', id).execute()
      } catch (err) {
        this.failed(err)
      }
    })
    return this.#writing
  }
}

export async function listTokens(store: Store): Promise<TokenInfo[]> {
  const rows = await store.db.selectFrom('tokens').selectAll().orderBy('id').execute()
  return rows.map(infoOf)
}

export async function revokeToken(store: Store, id: number): Promise<boolean> {
  const r = await store.db.deleteFrom('tokens').where('id', '=', id).executeTakeFirst()
  return Number(r.numDeletedRows) > 0
}
