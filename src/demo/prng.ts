/**
 * A small seeded pseudo-random generator (mulberry32) for the demo estate: the same seed gives the same
 * numbers on every machine and every run, which Math.random cannot promise.
 */
export type Random = () => number

/** Uniform numbers in [0, 1), determined by the seed. */
export function seededRandom(seed: number): Random {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** The alphabet Kubernetes uses for generated names (no vowels, no look-alikes). */
export const NAME_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789'

/** A generated name's random suffix (`-7x2kq`'s `7x2kq`), as the API server and controllers draw them. */
export function randomSuffix(random: Random, length = 5): string {
  let out = ''
  for (let i = 0; i < length; i++) out += NAME_ALPHABET[Math.floor(random() * NAME_ALPHABET.length)]
  return out
}

/** A version 4 UUID (an object's uid, an audit ID). */
export function uuid(random: Random): string {
  const word = () =>
    Math.floor(random() * 0x100000000)
      .toString(16)
      .padStart(8, '0')
  const h = word() + word() + word() + word()
  const variant = '89ab'[Math.floor(random() * 4)]
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20)}`
}

const HOUR = 3_600_000

/** Weights of the UTC hours (0 to 23) at which people (and the pipelines they trigger) work. */
export const WORKING_HOURS = [0, 0, 0, 0, 0, 0, 0, 1, 3, 7, 9, 8, 4, 6, 9, 8, 6, 3, 1, 1, 0, 0, 0, 0]
/** Weights of the hours of a day: at any hour, more by day. */
export const ANY_HOUR = [1, 1, 1, 1, 1, 1, 2, 3, 4, 4, 4, 4, 4, 4, 4, 4, 4, 3, 3, 3, 2, 2, 1, 1]

/** A time on a day, its hour drawn by the weights. */
export function timeOn(random: Random, dayStart: number, weights: readonly number[]): number {
  const total = weights.reduce((a, b) => a + b, 0)
  let r = random() * total
  let hour = 0
  while (hour < 23 && r >= weights[hour]!) r -= weights[hour++]!
  return dayStart + hour * HOUR + Math.floor(random() * HOUR)
}
