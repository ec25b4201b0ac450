/**
 * A watcher at work: the engine, the live state, the reflectors and the store's recorder put together,
 * the register of exceptions read again every minute, and what happens said in plain lines. Used by
 * `plimsoll watch` and by `plimsoll serve --cluster`; neither needs to know the parts.
 */
import type { Severity } from '../policy/check.js'
import { SEVERITIES } from '../policy/check.js'
import { Engine } from '../policy/engine.js'
import { type ExceptionRule, utcToday } from '../policy/exceptions.js'
import type { Library } from '../policy/library.js'
import { fingerprint } from '../scan/baseline.js'
import type { Store } from '../store/connect.js'
import { toolInfo } from '../version.js'
import type { ApiClient } from './client.js'
import { LiveState, type ObjectChange } from './live-state.js'
import { LiveRecorder } from './recorder.js'
import { Watcher } from './watcher.js'

export interface WatcherSetup {
  client: ApiClient
  library: Library
  /** policy version (minor); LATEST_VERSION for latest */
  version: number
  /** the cluster's name: the store's target */
  target: string
  fileRules: readonly ExceptionRule[]
  store?: Store
  includeNamespace?: (namespace: string) => boolean
  log: (line: string) => void
  /** re-read the register this often, ms */
  registerEveryMs?: number
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
  stop(): Promise<void>
}

function severityLine(by: Record<Severity, number>): string {
  const parts = SEVERITIES.filter((s) => by[s] > 0).map((s) => `${by[s]} ${s}`)
  return parts.length > 0 ? ` (${parts.join(', ')})` : ''
}

/** One line per object whose findings changed: what is new, what is resolved. */
function changeLogger(log: (line: string) => void) {
  const seen = new Map<string, Map<string, string>>()
  return (changes: readonly ObjectChange[], quiet: boolean) => {
    for (const c of changes) {
      const now = new Map(
        c.findings.filter((f) => !f.excepted).map((f) => [fingerprint(f), `${f.severity} ${f.checkId}`]),
      )
      const before = seen.get(c.key) ?? new Map<string, string>()
      if (now.size > 0) seen.set(c.key, now)
      else seen.delete(c.key)
      if (quiet) continue
      const opened = [...now].filter(([fp]) => !before.has(fp)).map(([, d]) => d)
      const resolved = [...before].filter(([fp]) => !now.has(fp)).map(([, d]) => d)
      const { kind, namespace, name } = c.resource
      const what = `${kind} ${namespace ? `${namespace}/` : ''}${name}`
      if (opened.length > 0) log(`+ ${what}: ${opened.join(', ')}`)
      if (resolved.length > 0) log(`- ${what}${c.gone ? ' (deleted)' : ''}: resolved ${resolved.join(', ')}`)
    }
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
  const watcher = new Watcher({ client: setup.client, engine, state })
  const recorder = store
    ? new LiveRecorder(store, {
        target,
        plimsollVersion: toolInfo().version,
        policyVersion: setup.version === Number.MAX_SAFE_INTEGER ? 'latest' : `v1.${setup.version}`,
        checks: engine.metadata().length,
        onError: (message) => log(message),
      })
    : undefined
  const logChanges = changeLogger(log)
  let initial = true
  watcher.on('changes', (changes: ObjectChange[]) => {
    recorder?.submit(changes)
    logChanges(changes, initial)
  })
  watcher.on('error', (message: string) => log(message))
  const reported = new Set<string>()
  watcher.on('health', (k: { kind: string; group: string; state: string; error?: string }) => {
    const id = `${k.group}/${k.kind}`
    if (k.state === 'forbidden' && !reported.has(id)) {
      reported.add(id)
      log(
        `cannot read ${k.kind}${k.group ? ` (${k.group})` : ''}: ${k.error}; its findings are missing (docs/cluster.md says what to grant)`,
      )
    } else if (k.state === 'watching') reported.delete(id)
  })

  const started = performance.now()
  let registerTimer: NodeJS.Timeout | undefined
  const synced = (async (): Promise<SyncSummary> => {
    if (store) {
      const { exceptionRules } = await import('../store/exceptions.js')
      registered = await exceptionRules(store)
      state.setExceptions(exceptionsNow())
      let last = JSON.stringify(exceptionsNow())
      registerTimer = setInterval(async () => {
        try {
          registered = await exceptionRules(store)
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
    const where = store ? `; run ${summary.runId} in ${store.location}` : ''
    log(
      `synced ${summary.objects} objects of ${summary.kinds} kinds in ${summary.seconds} s: ` +
        `${summary.findings} findings${severityLine(summary.bySeverity)}, ${summary.excepted} excepted${where}` +
        (summary.resolved > 0 ? `; ${summary.resolved} resolved since the last sync` : ''),
    )
    return summary
  })()

  return {
    watcher,
    state,
    recorder,
    synced,
    async stop() {
      clearInterval(registerTimer)
      await watcher.stop()
      await recorder?.close()
    },
  }
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
