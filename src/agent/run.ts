/**
 * `plimsoll agent` at work: a cluster watcher (src/cluster/run.ts) whose run goes to a central
 * `plimsoll serve` instead of a store of its own. It asks the server which cluster its token is for
 * and what the exceptions register holds, then watches, pushes each batch of changes as numbered
 * messages (remote-writer.ts), and reports its health every few seconds.
 */

import { Backoff } from '../cluster/backoff.js'
import { startElected } from '../cluster/elected.js'
import type { LeaderElectionOptions } from '../cluster/leader.js'
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

/** Pushes what is pending for up to `drainMs` (default 20 s), then stops the agent. */
async function drainAndStop(agent: RunningAgent, log: (line: string) => void, drainMs = 20_000) {
  const timer = setTimeout(() => agent.writer.stop(`not pushed within ${drainMs} ms`), drainMs)
  await agent.stop().catch((err: Error) => log(err.message))
  clearTimeout(timer)
}

const signalled = () =>
  new Promise<'signal'>((resolve) => {
    process.once('SIGINT', () => resolve('signal'))
    process.once('SIGTERM', () => resolve('signal'))
  })

/** Why an agent ended on its own: refused for good by the central server, or its first sync failed. */
function endOf(agent: RunningAgent): Promise<Error> {
  const failedSync = agent.running.synced.then(
    () => new Promise<never>(() => {}),
    (err: Error) => err,
  )
  return Promise.race([agent.stopped, failedSync])
}

/**
 * The CLI's agent: runs until SIGINT or SIGTERM, then pushes what is pending (for up to `drainMs`)
 * and stops; or until the central server refuses it for good (exit non-zero: a pod restarts, and a
 * new session starts with a full list). With an election, the agent runs only while this process
 * holds the Lease: of several replicas, one pushes.
 */
export async function runAgent(
  setup: AgentSetup & { drainMs?: number },
  election?: LeaderElectionOptions,
): Promise<{ ok: boolean }> {
  setup.log(`agent for ${setup.client.server}, pushing to ${setup.central.url.origin}`)
  if (election) return runElectedAgent(setup, election)
  let agent: RunningAgent
  try {
    agent = await startAgent(setup)
  } catch (err) {
    setup.log((err as Error).message)
    setup.central.close()
    return { ok: false }
  }
  const outcome = await Promise.race([signalled(), endOf(agent)])
  if (outcome === 'signal') {
    setup.log('stopping: pushing what is pending')
    await drainAndStop(agent, setup.log, setup.drainMs)
    return { ok: true }
  }
  setup.log(outcome.message)
  agent.writer.stop()
  await agent.stop().catch(() => {})
  return { ok: false }
}

async function runElectedAgent(
  setup: AgentSetup & { drainMs?: number },
  election: LeaderElectionOptions,
): Promise<{ ok: boolean }> {
  setup.log(
    `pushing while leader (lease ${election.namespace}/${election.name}, identity ${election.identity})`,
  )
  let fail: (err: Error) => void = () => {}
  const failed = new Promise<Error>((resolve) => {
    fail = resolve
  })
  const elected = startElected('agent', election, () => {
    // Its own stop (leadership lost) ends the writer too: that is no failure.
    let stopping = false
    const started = startAgent(setup).then(
      (agent) => {
        void endOf(agent).then((err) => stopping || fail(err))
        return agent
      },
      (err: Error) => {
        fail(err)
        return undefined
      },
    )
    return {
      stop: async () => {
        stopping = true
        const agent = await started
        if (agent) await drainAndStop(agent, setup.log, setup.drainMs)
      },
    }
  })
  const outcome = await Promise.race([signalled(), failed])
  if (outcome === 'signal') setup.log('stopping: pushing what is pending')
  else setup.log(outcome.message)
  // Leading stops first (the agent drains), then the Lease is released for a standby.
  await elected.stop()
  return { ok: outcome === 'signal' }
}
