import { describe, expect, it } from 'vitest'
import { IdleWait } from '../../src/async/idle-wait.js'

describe('IdleWait', () => {
  it('ends a sleep when woken, and otherwise at its deadline', async () => {
    const idle = new IdleWait()
    const long = idle.sleep(60_000)
    idle.wake()
    await long
    let ended = false
    const short = idle.sleep(20).then(() => (ended = true))
    await short
    expect(ended).toBe(true)
  })

  it('keeps a wake that came while the loop was busy: the next sleep returns at once, the one after waits', async () => {
    const idle = new IdleWait()
    idle.wake()
    await idle.sleep(60_000)
    let second = false
    const pending = idle.sleep(60_000).then(() => (second = true))
    await new Promise((r) => setTimeout(r, 30))
    expect(second).toBe(false)
    idle.wake()
    await pending
    expect(second).toBe(true)
  })
})
