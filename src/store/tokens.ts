/**
 * API tokens. A token is 256 random bits, shown once when it is created; the store keeps only its
 * SHA-256, which is enough for a secret of that entropy (no password-style slow hash needed).
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'
import type { Store } from './connect.js'
import type { Role } from './schema.js'

const PREFIX = 'plm_'

function hash(token: string): string {
  return createHash('sha256').update(token).digest('hex')
}

export interface TokenInfo {
  id: number
  name: string
  role: Role
  createdAt: string
  lastUsedAt: string | null
}

export async function createToken(
  store: Store,
  name: string,
  role: Role,
): Promise<{ token: string; info: TokenInfo }> {
  const token = `${PREFIX}${randomBytes(32).toString('base64url')}`
  const createdAt = new Date().toISOString()
  const { id } = await store.db
    .insertInto('tokens')
    .values({ name, role, token_hash: hash(token), created_at: createdAt, last_used_at: null })
    .returning('id')
    .executeTakeFirstOrThrow()
  return { token, info: { id: Number(id), name, role, createdAt, lastUsedAt: null } }
}

/** The token's identity, or undefined for an unknown or malformed token. */
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
  // Last use to the minute: a write on every request would cost more than it tells.
  let lastUsedAt = row.last_used_at
  const now = new Date().toISOString()
  if (!lastUsedAt || Date.parse(now) - Date.parse(lastUsedAt) > 60_000) {
    await store.db.updateTable('tokens').set({ last_used_at: now }).where('id', '=', row.id).execute()
    lastUsedAt = now
  }
  return { id: Number(row.id), name: row.name, role: row.role, createdAt: row.created_at, lastUsedAt }
}

export async function listTokens(store: Store): Promise<TokenInfo[]> {
  const rows = await store.db.selectFrom('tokens').selectAll().orderBy('id').execute()
  return rows.map((r) => ({
    id: Number(r.id),
    name: r.name,
    role: r.role,
    createdAt: r.created_at,
    lastUsedAt: r.last_used_at,
  }))
}

export async function revokeToken(store: Store, id: number): Promise<boolean> {
  const r = await store.db.deleteFrom('tokens').where('id', '=', id).executeTakeFirst()
  return Number(r.numDeletedRows) > 0
}
