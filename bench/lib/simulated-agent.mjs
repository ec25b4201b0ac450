// Simulated cluster agents for the scale-out bench (bench/agents.mjs) and its test
// (test/unit/scale-out.test.ts): a deterministic estate evaluated by the watcher's own LiveState, then
// pushed by the agent's own LiveRecorder and RemoteWriter through a line to several server replicas,
// as a Kubernetes Service would spread them. The line moves the agent to another replica mid-run,
// loses some answers (the agent sends the message again, to the other replica) and sends some
// messages to both replicas at once: the server must apply each exactly once.
//
// The modules come from the caller (the built dist/ for the bench, src/ for the test), so that both
// drive the same code.

/** The kinds generateObjects makes, as discovery would serve them. */
const KINDS = {
  Namespace: ['', 'v1', 'namespaces', false],
  Deployment: ['apps', 'v1', 'deployments', true],
  ReplicaSet: ['apps', 'v1', 'replicasets', true],
  Pod: ['', 'v1', 'pods', true],
  Service: ['', 'v1', 'services', true],
  ConfigMap: ['', 'v1', 'configmaps', true],
  ServiceAccount: ['', 'v1', 'serviceaccounts', true],
  Role: ['rbac.authorization.k8s.io', 'v1', 'roles', true],
  RoleBinding: ['rbac.authorization.k8s.io', 'v1', 'rolebindings', true],
}

function apiResource(kind) {
  const served = KINDS[kind]
  if (!served) throw new Error(`simulated-agent: no served kind for ${kind} (add it to KINDS)`)
  const [group, version, resource, namespaced] = served
  const base = group ? `/apis/${group}/${version}` : `/api/${version}`
  return { group, version, kind, resource, namespaced, path: `${base}/${resource}`, custom: false }
}

/**
 * A cluster's first sync, evaluated: the changes its agent pushes, the run's sums, and every finding
 * it has (fingerprints), which the store must hold exactly once each when the push is done.
 * `m`: { Engine, LiveState, generateObjects }; `engine`: one compiled engine, shared by the clusters.
 */
export function evaluateCluster(m, engine, cluster, objects, seed) {
  const state = new m.LiveState(engine, { target: cluster })
  const resources = new Map()
  for (const object of m.generateObjects(objects, seed)) {
    let resource = resources.get(object.kind)
    if (!resource) {
      resource = apiResource(object.kind)
      resources.set(object.kind, resource)
      state.listStarted(resource)
    }
    state.upsert(resource, object, 'evaluate')
  }
  for (const resource of resources.values()) state.listEnded(resource)
  const changes = state.evaluateDirty()
  const fingerprints = new Set()
  for (const mark of state.findingMarks()) fingerprints.add(mark.fingerprint)
  // The sums as the recorder reads them at each write; a copy, so that the state can go.
  const totals = structuredClone(state.totals)
  return { cluster, changes, totals, fingerprints, objects: state.size, checks: engine.metadata().length }
}

/**
 * The agent's line to a Service in front of the replicas: a Central (keep-alive connection) per
 * replica, the current one taking every request. After `switchAfter` posts the agent moves to the
 * other replica; every `loseEvery`-th post's answer is dropped after the server gave it (the agent
 * sends it again, and the Service routes the new try to the other replica); every `twinEvery`-th
 * message goes to both replicas at once.
 */
export class ServiceLine {
  constructor(m, { urls, token, ca, first = 0, switchAfter = 0, loseEvery = 0, twinEvery = 0 }) {
    this.m = m
    this.lines = urls.map((url) => new m.Central({ url, token, ...(ca ? { ca } : {}) }))
    this.current = first % this.lines.length
    this.options = { switchAfter, loseEvery, twinEvery }
    this.posts = 0
    /** ms from a message's POST to its answer, each try */
    this.latencies = []
    this.served = this.lines.map(() => 0)
    this.lost = 0
    this.twins = 0
    this.switches = 0
  }

  get url() {
    return this.lines[0].url
  }

  moveOn() {
    this.current = (this.current + 1) % this.lines.length
    this.switches++
  }

  async timed(index, method, path, body) {
    const t0 = performance.now()
    const answer = await this.lines[index].request(method, path, body)
    if (path.endsWith('/messages')) this.latencies.push(performance.now() - t0)
    this.served[index]++
    return answer
  }

  async request(method, path, body) {
    const counted = method === 'POST'
    if (!counted) return this.timed(this.current, method, path, body)
    const n = ++this.posts
    const { switchAfter, loseEvery, twinEvery } = this.options
    if (switchAfter && n === switchAfter) this.moveOn()
    if (twinEvery && n % twinEvery === 0 && path.endsWith('/messages') && this.lines.length > 1) {
      this.twins++
      const other = (this.current + 1) % this.lines.length
      const [mine] = await Promise.all([
        this.timed(this.current, method, path, body),
        this.timed(other, method, path, body),
      ])
      return mine
    }
    const answer = await this.timed(this.current, method, path, body)
    if (loseEvery && n % loseEvery === 0 && answer.status < 300) {
      this.lost++
      this.moveOn()
      throw new this.m.Unreachable('the answer was lost on the way (simulated)')
    }
    return answer
  }

  close() {
    for (const line of this.lines) line.close()
  }
}

/** A watch health report like an agent's (what the dashboard shows of the cluster). */
function health(evaluated, startedAt, synced) {
  return {
    health: {
      synced,
      kinds: [],
      objects: evaluated.objects,
      eventsPerSecond: 0,
      discoveryErrors: [],
      startedAt,
    },
    podSecurity: [],
  }
}

/**
 * Pushes the cluster's first sync as its agent does (LiveRecorder over RemoteWriter), reporting its
 * health every `reportEveryMs`; `messageChanges` as the agent's (default 1,000 a message). Resolves with
 * the push's time, the agent's session and what the writer counted.
 * `m`: { LiveRecorder, RemoteWriter, Backoff, Central, Unreachable }.
 */
export async function pushCluster(
  m,
  evaluated,
  line,
  { reportEveryMs = 5000, messageChanges, log = () => {} } = {},
) {
  const writer = new m.RemoteWriter(line, {
    agentVersion: 'bench',
    log,
    ...(messageChanges ? { messageChanges } : {}),
    // A lost answer is tried again soon, as an agent's first retry is.
    backoff: new m.Backoff({ initialMs: 20, maxMs: 1000 }),
  })
  const recorder = new m.LiveRecorder(writer, {
    target: evaluated.cluster,
    plimsollVersion: 'bench',
    policyVersion: 'latest',
    checks: evaluated.checks,
    onError: log,
  })
  const startedAt = new Date().toISOString()
  const t0 = performance.now()
  // One report at a time, as the agent's: the last one said is the one the replicas keep.
  let reporting = Promise.resolve()
  const report = (synced) => {
    reporting = reporting.then(() => writer.report(health(evaluated, startedAt, synced))).then(() => {})
    return reporting
  }
  const reporter = setInterval(() => void report(false), reportEveryMs)
  try {
    await recorder.begin(() => evaluated.totals)
    recorder.submit(evaluated.changes)
    await recorder.syncDone({ complete: true, errors: 0 })
    clearInterval(reporter)
    await report(true)
    await recorder.close()
  } finally {
    clearInterval(reporter)
    writer.stop('pushed')
  }
  return { ms: performance.now() - t0, session: writer.session, sent: { ...writer.sent } }
}

/**
 * What the store holds of the clusters, against what their agents saw: per cluster the findings
 * stored (not resolved), the distinct ones, the expected ones missing and the unexpected ones, its
 * agent sessions and runs; and every (cluster, fingerprint) stored more than once. `ok` when each
 * cluster holds exactly its findings, once, from one session and one run.
 * `db`: a Kysely of the store (openStore(...).db).
 */
export async function verifyClusters(db, evaluated) {
  const clusters = []
  for (const e of evaluated) {
    const rows = await db
      .selectFrom('findings')
      .select(['fingerprint', 'reopened'])
      .where('target', '=', e.cluster)
      .where('state', '<>', 'resolved')
      .execute()
    const stored = new Set(rows.map((r) => r.fingerprint))
    const count = async (table, column) =>
      Number(
        (
          await db
            .selectFrom(table)
            .select((eb) => eb.fn.countAll().as('n'))
            .where(column, '=', e.cluster)
            .executeTakeFirstOrThrow()
        ).n,
      )
    clusters.push({
      cluster: e.cluster,
      expected: e.fingerprints.size,
      stored: rows.length,
      distinct: stored.size,
      missing: [...e.fingerprints].filter((f) => !stored.has(f)).length,
      unexpected: [...stored].filter((f) => !e.fingerprints.has(f)).length,
      reopened: rows.filter((r) => Number(r.reopened) > 0).length,
      sessions: await count('agent_sessions', 'cluster'),
      runs: await count('runs', 'target'),
    })
  }
  const duplicated = await db
    .selectFrom('findings')
    .select(['target', 'fingerprint', (eb) => eb.fn.countAll().as('n')])
    .groupBy(['target', 'fingerprint'])
    .having((eb) => eb.fn.countAll(), '>', 1)
    .execute()
  const ok =
    duplicated.length === 0 &&
    clusters.every(
      (c) =>
        c.stored === c.expected &&
        c.distinct === c.expected &&
        c.missing === 0 &&
        c.unexpected === 0 &&
        c.reopened === 0 &&
        c.sessions === 1 &&
        c.runs === 1,
    )
  return { ok, clusters, duplicated: duplicated.length }
}
