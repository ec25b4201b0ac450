// A Prometheus histogram read from a server's /metrics text, and its quantiles between two readings:
// how the benches take a server's own latency, measured where it answers, apart from the load generator's.

/**
 * The cumulative counts by upper bound (seconds) of the series `name`_bucket whose labels, after `le`,
 * are exactly `labels` (e.g. `,webhook="validate"`; '' for none).
 */
export function histogram(text, name, labels = '') {
  const buckets = new Map()
  const escaped = `${name}_bucket\\{le="([^"]+)"${labels.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\} (\\d+)`
  for (const m of text.matchAll(new RegExp(`^${escaped}$`, 'gm')))
    buckets.set(m[1] === '+Inf' ? Number.POSITIVE_INFINITY : Number(m[1]), Number(m[2]))
  return buckets
}

/** A quantile (ms) of what was observed between two readings, interpolated within its bucket. */
export function quantile(before, after, q) {
  const bounds = [...after.keys()].sort((a, b) => a - b)
  const count = (b) => after.get(b) - (before.get(b) ?? 0)
  const want = q * count(Number.POSITIVE_INFINITY)
  let lower = 0
  let below = 0
  for (const b of bounds) {
    const c = count(b)
    if (c >= want) {
      if (!Number.isFinite(b)) return `> ${(lower * 1000).toFixed(1)}`
      return (((b - lower) * (want - below)) / Math.max(1, c - below) + lower) * 1000
    }
    lower = b
    below = c
  }
  return Number.NaN
}
