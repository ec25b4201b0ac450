/**
 * Silences, as Alertmanager has them: label matchers (=, !=, =~, !~), a time range, who made it and
 * why. Kept in the store so that every replica mutes the same alerts; an expired silence stops muting
 * (its alerts are sent at their group's next flush, if still firing).
 */
import { createSilence, expireSilence, listSilences, type StoredSilence } from '../../store/alerts.js'
import type { Store } from '../../store/connect.js'
import type { Silence } from './aggregator.js'
import { compileMatcher, type Matcher, MatcherError, parseMatcher, parseMatchers } from './matchers.js'

export interface SilenceInput {
  /** matcher strings (`user="ci-bot"`, `rule=~"Pod exec.*"`, or `{a="b",c!="d"}`), or parsed ones */
  readonly matchers: readonly (string | Matcher)[]
  /** ISO; default now */
  readonly startsAt?: string
  /** ISO */
  readonly endsAt: string
  readonly createdBy: string
  readonly comment: string
}

export class SilenceError extends Error {}

/** Validates a silence as Alertmanager does: matchers valid, at least one not matching the empty string, times in order. */
export function validateSilence(input: SilenceInput, now = Date.now()): Omit<Silence, 'id'> {
  const matchers: Matcher[] = []
  for (const m of input.matchers) {
    try {
      if (typeof m === 'string')
        matchers.push(...(m.trim().startsWith('{') ? parseMatchers(m) : [parseMatcher(m)]))
      else matchers.push({ name: m.name, type: m.type, value: m.value })
    } catch (err) {
      if (err instanceof MatcherError) throw new SilenceError(err.message)
      throw err
    }
  }
  if (matchers.length === 0) throw new SilenceError('a silence needs at least one matcher')
  try {
    const compiled = matchers.map(compileMatcher)
    if (compiled.every((m) => m.matches({})))
      throw new SilenceError(
        'at least one matcher must not match the empty string (it would silence everything)',
      )
  } catch (err) {
    if (err instanceof MatcherError) throw new SilenceError(err.message)
    throw err
  }
  const startsAt = input.startsAt ?? new Date(now).toISOString()
  const start = Date.parse(startsAt)
  const end = Date.parse(input.endsAt)
  if (!Number.isFinite(start)) throw new SilenceError(`invalid startsAt ${JSON.stringify(input.startsAt)}`)
  if (!Number.isFinite(end)) throw new SilenceError(`invalid endsAt ${JSON.stringify(input.endsAt)}`)
  if (end <= start) throw new SilenceError('endsAt must be after startsAt')
  if (end <= now) throw new SilenceError('endsAt is in the past')
  if (!input.createdBy.trim()) throw new SilenceError('createdBy is required')
  if (!input.comment.trim()) throw new SilenceError('comment is required')
  return {
    matchers,
    startsAt: new Date(start).toISOString(),
    endsAt: new Date(end).toISOString(),
    createdBy: input.createdBy,
    comment: input.comment,
  }
}

export async function addSilence(store: Store, input: SilenceInput, now = Date.now()): Promise<Silence> {
  return toSilence(await createSilence(store, validateSilence(input, now), now))
}

/** Silences not yet ended at `now` (active, or starting later): what the aggregator needs. */
export async function currentSilences(store: Store, now = Date.now()): Promise<Silence[]> {
  return (await listSilences(store, { notEndedAt: new Date(now).toISOString() })).map(toSilence)
}

export async function expire(store: Store, id: string, now = Date.now()): Promise<boolean> {
  return expireSilence(store, id, now)
}

function toSilence(s: StoredSilence): Silence {
  return {
    id: s.id,
    matchers: s.matchers,
    startsAt: s.startsAt,
    endsAt: s.endsAt,
    createdBy: s.createdBy,
    comment: s.comment,
  }
}
