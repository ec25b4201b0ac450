/**
 * Exponential backoff with full jitter: a cluster's worth of watchers that lost the API server together
 * must not come back together (client-go's reflector backs off from 800 ms to 30 s the same way).
 */
export interface BackoffOptions {
  initialMs: number
  maxMs: number
  /** random source in [0, 1): a test passes its own */
  random?: () => number
}

export class Backoff {
  private attempt = 0

  constructor(private readonly options: BackoffOptions = { initialMs: 800, maxMs: 30_000 }) {}

  /** The wait before the next attempt: uniform in [ceiling/2, ceiling), the ceiling doubling each time. */
  next(): number {
    const { initialMs, maxMs, random = Math.random } = this.options
    const ceiling = Math.min(maxMs, initialMs * 2 ** this.attempt)
    this.attempt++
    return Math.round(ceiling / 2 + random() * (ceiling / 2))
  }

  reset(): void {
    this.attempt = 0
  }
}
