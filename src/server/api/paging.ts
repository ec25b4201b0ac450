/**
 * Paging of the lists that page by cursor (findings, the exceptions register) and bounds on offsets for
 * every list. An offset is walked row by row on every request, so it is bounded; past the bound, and for
 * any page of a list that changes while it is read, the `next` cursor of the previous page goes on from
 * its last row at the cost of a first page.
 */
import type { FastifyReply } from 'fastify'
import { CursorError } from '../../store/cursor.js'
import { type JsonSchema, PAGE_QUERY, pageOf } from '../route.js'

export const MAX_OFFSET = 100_000

/** `limit` and a bounded `offset`. */
export const BOUNDED_PAGE_QUERY = {
  limit: PAGE_QUERY.limit,
  offset: {
    ...PAGE_QUERY.offset,
    maximum: MAX_OFFSET,
    description: `items to skip, at most ${MAX_OFFSET}; deeper, follow \`next\` with \`cursor\``,
  },
} as const

/** `limit`, a bounded `offset` and `cursor`. */
export const CURSOR_PAGE_QUERY = {
  ...BOUNDED_PAGE_QUERY,
  cursor: {
    type: 'string',
    maxLength: 1000,
    pattern: '^[A-Za-z0-9_-]+$',
    description: "the previous page's `next`: this page starts after its last item",
  },
} as const

/** A page of a list that pages by cursor: `{total, limit, offset, next, items}`. */
export function cursorPageOf(item: JsonSchema): JsonSchema {
  const page = pageOf(item)
  return {
    ...page,
    properties: {
      ...(page.properties as object),
      next: {
        type: ['string', 'null'],
        description: 'the `cursor` of the page after this one; null on the last page',
      },
    },
  }
}

/**
 * A cursor page's JSON, its items already JSON text: byte for byte what the response schema of
 * cursorPageOf writes of `{total, limit, offset, items, next}`, in its order of keys.
 */
export function cursorPageJson(page: {
  total: number
  limit: number
  offset: number
  items: string
  next: string | null
}): string {
  const next = page.next === null ? 'null' : JSON.stringify(page.next)
  return `{"total":${page.total},"limit":${page.limit},"offset":${page.offset},"items":${page.items},"next":${next}}`
}

function badCursor(reply: FastifyReply, message: string) {
  return reply
    .code(400)
    .send({ error: 'invalid request', details: [{ in: 'querystring', path: '/cursor', message }] })
}

/**
 * The answer of a list paged by `read`, or a 400 naming the cursor when it cannot be used: combined with
 * an offset (ambiguous), or not one of this list's and order's cursors.
 */
export async function withCursor<T>(
  reply: FastifyReply,
  query: { cursor?: string; offset: number },
  read: () => Promise<T>,
): Promise<T | FastifyReply> {
  if (query.cursor !== undefined && query.offset > 0)
    return badCursor(reply, 'must not be combined with an offset: a cursor says where the page starts')
  try {
    return await read()
  } catch (err) {
    if (err instanceof CursorError) return badCursor(reply, err.message)
    throw err
  }
}
