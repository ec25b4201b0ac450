/**
 * A watcher at work: the engine, the live state, the reflectors and the store's recorder put together,
 * the register of exceptions read again every minute, and what happens said in plain lines. Used by
 * `plimsoll watch` and by `plimsoll serve --cluster`; neither needs to know the parts.
 */
import type { ClusterEvent, LiveFinding, WatchedKindStatus } from '../api-types.js'
import type { Severity } from '../policy/check.js'
import { SEVERITIES } from '../policy/check.js'
import { Engine } from '../policy/engine.js'
import { type ExceptionRule, utcToday } from '../policy/exceptions.js'
import type { Library } from '../policy/library.js'
import type { LiveClusterSource } from '../server/live-clusters.js'
import type { Store } from '../store/connect.js'
import { toolInfo } from '../version.js'
import type { ApiClient } from './client.js'
import { type Elected, startElected } from './elected.js'
import type { LeaderElectionOptions } from './leader.js'
import { LiveState, type ObjectChange } from './live-state.js'
import { PodSecurityView } from './pod-security.js'
import { LiveRecorder, type RunWriter, storeWriter } from './recorder.js'
import type { ReflectorOptions } from './reflector.js'
import { Watcher } from './watcher.js'

export interface WatcherSetup {
  client: ApiClient
  library: Library
  /** policy version (minor); LATEST_VERSION for latest */
  version: number
  /** the cluster's name: the store's target */
  target: string
  fileRules: readonly ExceptionRule[]
  /** the store the run is recorded in (and the register read from) */
  store?: Store
  /** or where else the run goes (an agent's central server); a store, if given too, is ignored */
  writer?: RunWriter
  /** reads the exceptions register (default: the store's) */
  register?: () => Promise<ExceptionRule[]>
  includeNamespace?: (namespace: string) => boolean
  log: (line: string) => void
  /** re-read the register this often, ms */
  registerEveryMs?: number
  /** list page size, watch timeouts, backoff (tests and benches tune them) */
  reflector?: ReflectorOptions
  /** how long the first sync waits for a kind that keeps failing, ms (see WatcherOptions) */
  syncTimeoutMs?: number
  /**
   * What else follows the watcher (PolicyReports written back to the cluster, ...): each is started
   * with it, and stopped before the watcher is.
   */
  attach?: readonly ((running: RunningWatcher) => Attachment)[]
}

/** Something started with a watcher and stopped with it. */
export interface Attachment {
  stop(): Promise<void>
}

export interface SyncSummary {
  objects: number
  kinds: number
  findings: number
  excepted: number
  bySeverity: Record<Severity, number>
  refused: string[]
  runId?: number
  resolved: number
  seconds: number
}

export interface RunningWatcher {
  watcher: Watcher
  state: LiveState
  recorder: LiveRecorder | undefined
  /** the first sync: every kind listed, evaluated and recorded */
  synced: Promise<SyncSummary>
  /** what the server shows of it (serve --cluster) */
  source: LiveClusterSource
  stop(): Promise<void>
}

function severityLine(by: Record<Severity, number>): string {
  const parts = SEVERITIES.filter((s) => by[s] > 0).map((s) => `${by[s]} ${s}`)
  return parts.length > 0 ? ` (${parts.join(', ')})` : ''
}

/** What a batch of changes opened and resolved, as events and logs name findings (excepted ones aside). */
export function liveFindings(changes: readonly ObjectChange[]): {
  opened: LiveFinding[]
  resolved: LiveFinding[]
} {
  const opened: LiveFinding[] = []
  const resolved: LiveFinding[] = []
  for (const c of changes) {
    const { kind, namespace, name } = c.resource
    for (const f of c.opened)
      if (!f.excepted)
        opened.push({
          checkId: f.checkId,
          severity: f.severity,
          kind,
          namespace,
          name,
          message: f.message,
          path: f.path,
        })
    for (const m of c.resolved)
      if (!m.excepted)
        resolved.push({
          checkId: m.checkId,
          severity: m.severity,
          kind,
          namespace,
          name,
          message: m.message,
          path: m.path,
        })
  }
  return { opened, resolved }
}

function describe(f: LiveFinding): string {
  return `${f.severity} ${f.checkId} ${f.kind} ${f.namespace ? `${f.namespace}/` : ''}${f.name}`
}

/** The last `size` samples, for percentiles. */
class Samples {
  private readonly values: number[] = []

  constructor(private readonly size = 1000) {}

  add(values: readonly number[]): void {
    this.values.push(...values)
    if (this.values.length > this.size) this.values.splice(0, this.values.length - this.size)
  }

  percentiles(): { p50: number; p99: number } | undefined {
    if (this.values.length === 0) return undefined
    const sorted = [...this.values].sort((a, b) => a - b)
    const at = (q: number) =>
      Math.round(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]! * 10) / 10
    return { p50: at(0.5), p99: at(0.99) }
  }
}

export function startWatcher(setup: WatcherSetup): RunningWatcher {
  const { library, target, store, log } = setup
  const engine = new Engine(library.checks, library.podTemplates, { version: setup.version }, library.foreign)
  let registered: ExceptionRule[] = []
  const exceptionsNow = () => ({ rules: [...setup.fileRules, ...registered], today: utcToday() })
  const state = new LiveState(engine, {
    target,
    exceptions: exceptionsNow(),
    ...(setup.includeNamespace ? { includeNamespace: setup.includeNamespace } : {}),
  })
  const watcher = new Watcher({
    client: setup.client,
    engine,
    state,
    ...(setup.reflector ? { reflector: setup.reflector } : {}),
    ...(setup.syncTimeoutMs !== undefined ? { syncTimeoutMs: setup.syncTimeoutMs } : {}),
    // Evaluation waits while the store is behind: memory holds a few thousand changes, not a cluster's.
    backpressure: () => recorder?.behind(),
  })
  const writer = setup.writer ?? (store ? storeWriter(store) : undefined)
  const readRegister =
    setup.register ??
    (store ? async () => (await import('../store/exceptions.js')).exceptionRules(store) : undefined)
  const recorder = writer
    ? new LiveRecorder(writer, {
        target,
        plimsollVersion: toolInfo().version,
        policyVersion: setup.version === Number.MAX_SAFE_INTEGER ? 'latest' : `v1.${setup.version}`,
        checks: engine.metadata().length,
        onError: (message) => log(message),
      })
    : undefined
  const commits = new Samples()
  const listeners = new Set<(event: ClusterEvent) => void>()
  let initial = true
  // Changes are told once committed (with a store) so that whoever reads the store then finds them.
  const told = (changes: readonly ObjectChange[]) => {
    const { opened, resolved } = liveFindings(changes)
    if (initial || (opened.length === 0 && resolved.length === 0)) return
    for (const f of opened) log(`+ ${describe(f)}: ${f.message}`)
    for (const f of resolved) log(`- resolved ${describe(f)}`)
    const event: ClusterEvent = {
      type: 'changes',
      at: new Date().toISOString(),
      opened,
      resolved,
      open: { ...state.totals.bySeverity },
    }
    for (const listener of listeners) listener(event)
  }
  if (recorder)
    recorder.options.onCommit = (changes, waits) => {
      commits.add(waits)
      told(changes)
    }
  watcher.on('changes', (changes: ObjectChange[]) => {
    if (recorder) recorder.submit(changes)
    else told(changes)
  })
  watcher.on('error', (message: string) => log(message))
  // A kind refused is said once (and again if it is refused anew after being granted).
  const refused = new Set<string>()
  watcher.on('health', (k: WatchedKindStatus) => {
    const id = `${k.group}/${k.kind}`
    if (k.state === 'forbidden' && !refused.has(id)) {
      refused.add(id)
      log(
        `cannot read ${k.kind}${k.group ? ` (${k.group})` : ''}: ${k.error}; its findings are missing (docs/cluster.md says what to grant)`,
      )
    } else if (k.state === 'watching') refused.delete(id)
  })
  const started = performance.now()
  let registerTimer: NodeJS.Timeout | undefined
  const synced = (async (): Promise<SyncSummary> => {
    if (readRegister) {
      registered = await readRegister()
      state.setExceptions(exceptionsNow())
      let last = JSON.stringify(exceptionsNow())
      registerTimer = setInterval(async () => {
        try {
          registered = await readRegister()
        } catch (err) {
          log(`cannot read the exceptions register: ${(err as Error).message}`)
          return
        }
        const now = JSON.stringify(exceptionsNow())
        if (now !== last) {
          last = now
          watcher.setExceptions(exceptionsNow())
        }
      }, setup.registerEveryMs ?? 60_000)
      registerTimer.unref()
    }
    await recorder?.begin(() => state.totals)
    await watcher.start()
    await watcher.whenSynced
    await recorder?.drain()
    initial = false
    const refused = watcher.refusedKinds().map((k) => `${k.kind}: ${k.error ?? 'forbidden'}`)
    const closed = await recorder?.syncDone({ complete: refused.length === 0, errors: refused.length })
    const t = state.totals
    const summary: SyncSummary = {
      objects: state.size,
      kinds: watcher.health().kinds.length,
      findings: t.findings,
      excepted: t.excepted,
      bySeverity: { ...t.bySeverity },
      refused,
      resolved: closed?.resolved ?? 0,
      seconds: Math.round((performance.now() - started) / 100) / 10,
      ...(recorder?.run !== undefined ? { runId: recorder.run } : {}),
    }
    for (const listener of listeners) listener({ type: 'synced', at: new Date().toISOString() })
    const where = writer ? `; run ${summary.runId} in ${writer.location}` : ''
    log(
      `synced ${summary.objects} objects of ${summary.kinds} kinds in ${summary.seconds} s: ` +
        `${summary.findings} findings${severityLine(summary.bySeverity)}, ${summary.excepted} excepted${where}` +
        (summary.resolved > 0 ? `; ${summary.resolved} resolved since the last sync` : ''),
    )
    return summary
  })()

  const podSecurity = new PodSecurityView(state)
  const source: LiveClusterSource = {
    name: target,
    health: () => {
      const health = watcher.health()
      const commitMs = commits.percentiles()
      return commitMs ? { ...health, commitMs } : health
    },
    podSecurity: () => podSecurity.all(),
    subscribe(listener) {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
  }
  const running: RunningWatcher = {
    watcher,
    state,
    recorder,
    synced,
    source,
    async stop() {
      clearInterval(registerTimer)
      for (const attachment of attachments) await attachment.stop()
      await watcher.stop()
      await recorder?.close()
    },
  }
  const attachments = (setup.attach ?? []).map((start) => start(running))
  return running
}

/**
 * The CLI's watcher: runs until SIGINT or SIGTERM (or, with `once`, until the first sync is recorded),
 * then stops cleanly: every change accepted is written before the store is closed.
 */
export async function runWatcher(setup: WatcherSetup & { once: boolean }): Promise<{ ok: boolean }> {
  setup.log(`watching cluster '${setup.target}' at ${setup.client.server}`)
  const running = startWatcher(setup)
  let summary: SyncSummary | undefined
  try {
    if (setup.once) summary = await running.synced
    else {
      const signalled = new Promise<void>((resolve) => {
        process.once('SIGINT', resolve)
        process.once('SIGTERM', resolve)
      })
      await Promise.race([signalled, running.synced.then(() => signalled)])
      setup.log('stopping: writing what is pending')
    }
  } catch (err) {
    setup.log(`cannot watch ${setup.client.server}: ${(err as Error).message}`)
    await running.stop().catch(() => {})
    await setup.store?.close()
    return { ok: false }
  }
  await running.stop()
  await setup.store?.close()
  return { ok: summary === undefined || summary.refused.length === 0 }
}

/**
 * The CLI's watcher under leader election (watch --leader-elect): a watcher runs only while this
 * process holds the Lease, is stopped when it loses it, and the process stands by otherwise; until
 * SIGINT or SIGTERM, when it stops the watcher (writing what is pending) and releases the Lease.
 */
export async function runElectedWatcher(
  setup: WatcherSetup,
  election: LeaderElectionOptions,
): Promise<{ ok: boolean }> {
  setup.log(
    `watching cluster '${setup.target}' at ${setup.client.server} while leader ` +
      `(lease ${election.namespace}/${election.name}, identity ${election.identity})`,
  )
  const elected = startElectedWatcher(setup, election)
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve)
    process.once('SIGTERM', resolve)
  })
  setup.log('stopping: writing what is pending')
  await elected.stop()
  await setup.store?.close()
  return { ok: true }
}

/** A watcher that runs while this process holds the Lease; its source is steady across leaders. */
export function startElectedWatcher(setup: WatcherSetup, election: LeaderElectionOptions): Elected {
  return startElected(setup.target, election, () => {
    const running = startWatcher(setup)
    running.synced.catch((err: Error) => setup.log(`cannot watch ${setup.client.server}: ${err.message}`))
    return {
      source: running.source,
      stop: () => running.stop().catch((err: Error) => setup.log(`stopping the watcher: ${err.message}`)),
    }
  })
}
