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
