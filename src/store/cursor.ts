/**
 * Keyset cursors. A page's `next` names its last row by sort key and id, so the page after it is an index
 * walk from that row however deep it is, and rows recorded in between shift nothing already seen. The
 * cursor also names the list and order it was made for: a cursor of another order would skip rows.
 */

/** A cursor this server did not make for this list and order. */
export class CursorError extends Error {}

export type KeyPart = 'string' | 'number'

export function encodeCursor(scope: string, key: readonly (string | number)[]): string {
  return Buffer.from(JSON.stringify([scope, ...key])).toString('base64url')
}

/** The key a cursor holds, if it was made for `scope` and holds values of `parts`' types. */
export function decodeCursor(cursor: string, scope: string, parts: readonly KeyPart[]): (string | number)[] {
  let value: unknown
  try {
    value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'))
  } catch {
    value = undefined
  }
  if (!Array.isArray(value) || typeof value[0] !== 'string')
    throw new CursorError('must be the `next` of a previous page')
  if (value[0] !== scope)
    throw new CursorError(`was made for another order (${value[0]}); this page is ${scope}`)
  const key = value.slice(1) as unknown[]
  const fits = (v: unknown, i: number) =>
    typeof v === parts[i] && (typeof v !== 'number' || Number.isSafeInteger(v))
  if (key.length !== parts.length || !key.every(fits))
    throw new CursorError('must be the `next` of a previous page')
  return key as (string | number)[]
}
