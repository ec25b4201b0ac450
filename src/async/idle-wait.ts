/**
 * The idle wait of a background loop that new work should end at once: the loop sleeps until its next
 * deadline, and whoever hands it work calls `wake()`. A wake that comes while the loop is busy is not
 * lost: the next `sleep()` returns at once, so the loop looks again before it sleeps.
 */
export class IdleWait {
  private resolveNow: (() => void) | undefined
  private woken = false

  sleep(ms: number): Promise<void> {
    if (this.woken) {
      this.woken = false
      return Promise.resolve()
    }
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms)
      const self = this
      function done() {
        clearTimeout(timer)
        self.resolveNow = undefined
        resolve()
      }
      this.resolveNow = done
    })
  }

  wake(): void {
    if (this.resolveNow) this.resolveNow()
    else this.woken = true
  }
}
