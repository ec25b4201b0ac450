/**
 * At most `limit` tasks at once; the others wait their turn in order. What keeps many queries from
 * overloading a Prometheus (KRR's per-workload queries, all in flight at once, took Prometheus down:
 * krr#332): whoever asks for 10,000 queries gets 4 at a time, not 10,000.
 */
export class Limiter {
  private running = 0
  private peakRunning = 0
  private readonly waiting: Array<() => void> = []

  constructor(readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 1)
      throw new Error(`the concurrency limit is ${limit}: expected a whole number >= 1`)
  }

  /** tasks running now, and the most there ever were at once */
  get active(): number {
    return this.running
  }
  get peak(): number {
    return this.peakRunning
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.running >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve))
    else this.running++
    if (this.running > this.peakRunning) this.peakRunning = this.running
    try {
      return await task()
    } finally {
      const next = this.waiting.shift()
      // the slot passes to the next in line as it is (running stays the same), else it is freed
      if (next) next()
      else this.running--
    }
  }
}
