/**
 * `plimsoll agent` at work: a cluster watcher (src/cluster/run.ts) whose run goes to a central
 * `plimsoll serve` instead of a store of its own. It asks the server which cluster its token is for
 * and what the exceptions register holds, then watches, pushes each batch of changes as numbered
 * messages (remote-writer.ts), and reports its health every few seconds.
 */

import { Backoff } from '../cluster/backoff.js'
import { type RunningWatcher, startWatcher, type WatcherSetup } from '../cluster/run.js'
import type { ExceptionRule } from '../policy/exceptions.js'
import { toolInfo } from '../version.js'
import { type Central, reasonOf, Unreachable } from './central.js'
import { RemoteWriter, type WriterStopped } from './remote-writer.js'

export interface AgentSetup extends Omit<WatcherSetup, 'target' | 'store' | 'writer' | 'register'> {
  central: Central
  /** how often the agent's health is reported, ms (default 5 s) */
  reportEveryMs?: number
  /** changes per message and the backoff between tries (tests tune them) */
  push?: { messageChanges?: number; backoff?: Backoff }
}

export interface RunningAgent {
  cluster: string
  running: RunningWatcher
  writer: RemoteWriter
  /** settles when the central server refuses the agent for good */
  stopped: Promise<WriterStopped>
  stop(): Promise<void>
}

interface RegisterAnswer {
  cluster: string
  rules: ExceptionRule[]
}

/** The register and the token's cluster, asked until the server answers (it may be starting too). */
async function introduce(central: Central, log: (line: string) => void): Promise<RegisterAnswer> {
  const backoff = new Backoff({ initialMs: 500, maxMs: 15_000 })
  let said = false
  for (;;) {
    let problem: string
    try {
      const answer = await central.request('GET', '/api/agent/exceptions')
      if (answer.status === 200) return answer.body as RegisterAnswer
      if (answer.status === 401 || answer.status === 403)
        throw new Error(
          `the central server refused the agent's token (${reasonOf(answer)}); create one with plimsoll token create --role agent --cluster NAME`,
        )
      problem = reasonOf(answer)
    } catch (err) {
      if (!(err instanceof Unreachable)) throw err
      problem = err.message
    }
    const wait = backoff.next()
    if (!said) log(`cannot reach the central server (${problem}); trying again (next in ${wait} ms)`)
    said = true
    await new Promise((r) => setTimeout(r, wait))
  }
}

export async function startAgent(setup: AgentSetup): Promise<RunningAgent> {
  const { central, log } = setup
  const first = await introduce(central, log)
  const writer = new RemoteWriter(central, {
    agentVersion: toolInfo().version,
    log,
    ...setup.push,
  })
  let firstRead = true
  const register = async (): Promise<ExceptionRule[]> => {
    if (firstRead) {
      firstRead = false
      return first.rules
    }
    const answer = await central.request('GET', '/api/agent/exceptions')
    if (answer.status !== 200) throw new Error(reasonOf(answer))
    return (answer.body as RegisterAnswer).rules
  }
  const running = startWatcher({ ...setup, target: first.cluster, writer, register })
  const report = () =>
    writer
      .report({ health: running.source.health(), podSecurity: running.source.podSecurity() })
      .catch(() => false)
  // Every second until the server has a first report (the cluster shows as live, syncing, from the
  // start of a long first sync), then at the regular pace; and once more when the sync is done.
  const every = setup.reportEveryMs ?? 5000
  let reporter = setInterval(
    async () => {
      if (!(await report()) || every <= 1000) return
      clearInterval(reporter)
      reporter = setInterval(() => void report(), every)
      reporter.unref()
    },
    Math.min(1000, every),
  )
  reporter.unref()
  void running.synced.then(report, () => {})
  const stopped = writer.stopped
  void stopped.then(() => running.recorder?.abort())
  return {
    cluster: first.cluster,
    running,
    writer,
    stopped,
    async stop() {
      clearInterval(reporter)
      await running.stop()
      writer.stop('the agent stopped')
      central.close()
    },
  }
}

/**
 * The CLI's agent: runs until SIGINT or SIGTERM, then pushes what is pending (for up to `drainMs`)
 * and stops; or until the central server refuses it for good (exit non-zero: a pod restarts, and a
 * new session starts with a full list).
 */
export async function runAgent(setup: AgentSetup & { drainMs?: number }): Promise<{ ok: boolean }> {
  setup.log(`agent for ${setup.client.server}, pushing to ${setup.central.url.origin}`)
  let agent: RunningAgent
  try {
    agent = await startAgent(setup)
  } catch (err) {
    setup.log((err as Error).message)
    setup.central.close()
    return { ok: false }
  }
  const signalled = new Promise<'signal'>((resolve) => {
    process.once('SIGINT', () => resolve('signal'))
    process.once('SIGTERM', () => resolve('signal'))
  })
  const failedSync = agent.running.synced.then(
    () => new Promise<never>(() => {}),
    (err: Error) => err,
  )
  const outcome = await Promise.race([signalled, agent.stopped, failedSync])
  if (outcome === 'signal') {
    setup.log('stopping: pushing what is pending')
    const drainMs = setup.drainMs ?? 20_000
    const timer = setTimeout(() => agent.writer.stop(`not pushed within ${drainMs} ms`), drainMs)
    await agent.stop().catch((err: Error) => setup.log(err.message))
    clearTimeout(timer)
    return { ok: true }
  }
  setup.log(outcome instanceof Error ? outcome.message : String(outcome))
  agent.writer.stop()
  await agent.stop().catch(() => {})
  return { ok: false }
}
