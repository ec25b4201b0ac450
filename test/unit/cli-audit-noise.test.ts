/**
 * Issue 14, noise: `plimsoll audit serve` learns 20 identities from 9 days of their audit events, then
 * takes a replayed burst of 10,000 events of the last 10 minutes in which 19 of them do what they always
 * do (a CI runner exec-ing into its pod 300 times among them) and one does something new: a workload's
 * service account lists the Secrets of kube-system from an address and with a client it never used.
 * What reaches the team is two notifications, one per user as the config groups them: the CI runner's
 * single exec alert, and the new behaviour with its anomalies.
 */
import { describe, expect, it } from 'vitest'
import type { AuditEvent } from '../../src/audit/types.js'
import { loadAlertState } from '../../src/store/alert-state.js'
import { countPendingOutbox, listOutbox } from '../../src/store/alerts.js'
import { auditQueueStats } from '../../src/store/audit-queue.js'
import { openStore, type Store } from '../../src/store/connect.js'
import { type Action, auditEvent, batches, execAction, type Requester } from '../helpers/audit-events.js'
import { post } from '../helpers/audit-ingest.js'
import {
  alertsYaml,
  auditServe,
  auditServing,
  stoppedAfterAll,
  webhookReceiver,
} from '../helpers/audit-serve.js'
import { stopped } from '../helpers/serve.js'
import { until } from '../helpers/until.js'

const serving = auditServing('plimsoll-audit-noise-')
const CLUSTER = 'prod'
const DAY = 24 * 60 * 60 * 1000
const NOW = Date.now()

interface Identity {
  readonly who: Requester
  /** what it does, every day */
  readonly actions: readonly Action[]
}

const sa = (ns: string, name: string): Pick<Requester, 'username' | 'groups'> => ({
  username: `system:serviceaccount:${ns}:${name}`,
  groups: ['system:serviceaccounts', `system:serviceaccounts:${ns}`],
})
const build = 'linux/amd64) kubernetes/70d3cc9'
const kubectl = `kubectl/v1.32.0 (${build}`
/** Actions on the resources of an API group (none: the core group). */
const group =
  (apiGroup?: string) =>
  (verb: string, resource: string, namespace?: string, name?: string, subresource?: string): Action => ({
    verb,
    resource,
    ...(apiGroup ? { apiGroup } : {}),
    ...(namespace ? { namespace } : {}),
    ...(name ? { name } : {}),
    ...(subresource ? { subresource } : {}),
  })
const apps = group('apps')
const core = group()
const lease = (namespace: string, name: string): Action =>
  group('coordination.k8s.io')('update', 'leases', namespace, name)

/** A node's kubelet: it reads its pods' Secrets (the secret-read rule leaves the group system:nodes out). */
const kubelet = (node: string, ip: string, namespace: string, secret: string): Identity => ({
  who: {
    username: `system:node:${node}`,
    groups: ['system:nodes'],
    ip,
    userAgent: `kubelet/v1.32.0 (${build}`,
  },
  actions: [
    core('get', 'secrets', namespace, secret),
    core('watch', 'pods'),
    core('patch', 'nodes', undefined, node, 'status'),
  ],
})

const CHECKOUT = 'system:serviceaccount:shop:checkout'
const CI = 'system:serviceaccount:ci:runner'
const CI_EXEC = execAction('ci', 'runner-0', ['sh', '-c', 'make test'])

/** A cluster's usual traffic: controllers, node agents, operators, workloads and three people. */
const IDENTITIES: readonly Identity[] = [
  {
    who: {
      ...sa('shop', 'checkout'),
      ip: '10.244.1.17',
      userAgent: 'checkout/1.4.2 (linux/amd64) client-go/v0.32.0',
    },
    actions: [
      core('get', 'configmaps', 'shop', 'checkout-config'),
      core('watch', 'endpoints', 'shop'),
      core('list', 'pods', 'shop'),
    ],
  },
  {
    who: { ...sa('ci', 'runner'), ip: '10.244.3.41', userAgent: kubectl },
    actions: [
      CI_EXEC,
      core('get', 'pods', 'ci', 'runner-0'),
      { verb: 'list', resource: 'jobs', apiGroup: 'batch', namespace: 'ci' },
    ],
  },
  kubelet('worker-1', '10.0.0.11', 'shop', 'db-password'),
  kubelet('worker-2', '10.0.0.12', 'payments', 'api-token'),
  {
    who: {
      username: 'system:kube-controller-manager',
      ip: '10.0.0.2',
      userAgent: `kube-controller-manager/v1.32.0 (${build}/system:serviceaccount:kube-system:deployment-controller`,
    },
    actions: [
      apps('list', 'deployments'),
      apps('watch', 'replicasets'),
      apps('update', 'deployments', 'shop', 'web', 'status'),
      lease('kube-system', 'kube-controller-manager'),
    ],
  },
  {
    who: {
      username: 'system:kube-scheduler',
      ip: '10.0.0.2',
      userAgent: `kube-scheduler/v1.32.0 (${build}/scheduler`,
    },
    actions: [
      core('watch', 'pods'),
      core('get', 'nodes', undefined, 'worker-1'),
      lease('kube-system', 'kube-scheduler'),
    ],
  },
  {
    who: {
      ...sa('kube-system', 'coredns'),
      ip: '10.244.0.5',
      userAgent: 'coredns/v1.11.3 (linux/amd64) kubernetes/ef7b2ec',
    },
    actions: [
      { verb: 'watch', resource: 'endpointslices', apiGroup: 'discovery.k8s.io' },
      core('watch', 'services'),
      core('watch', 'namespaces'),
    ],
  },
  {
    who: { ...sa('monitoring', 'prometheus'), ip: '10.244.2.30', userAgent: 'Prometheus/2.54.1' },
    actions: [
      core('list', 'pods'),
      core('list', 'services'),
      core('list', 'endpoints'),
      core('watch', 'pods'),
    ],
  },
  {
    who: {
      ...sa('argocd', 'argocd-application-controller'),
      ip: '10.244.2.44',
      userAgent: 'argocd-application-controller/v2.13.1 (linux/amd64)',
    },
    actions: [
      apps('get', 'deployments', 'shop', 'web'),
      apps('patch', 'deployments', 'shop', 'web'),
      apps('get', 'deployments', 'payments', 'api'),
      apps('patch', 'deployments', 'payments', 'api'),
    ],
  },
  {
    who: {
      ...sa('cert-manager', 'cert-manager'),
      ip: '10.244.2.51',
      userAgent: 'cert-manager-controller/v1.16.2 (linux/amd64) cert-manager/a1b2c3d',
    },
    actions: [
      { verb: 'list', resource: 'certificates', apiGroup: 'cert-manager.io' },
      {
        verb: 'update',
        resource: 'certificaterequests',
        apiGroup: 'cert-manager.io',
        namespace: 'shop',
        name: 'web-tls-1',
      },
      lease('kube-system', 'cert-manager-controller'),
    ],
  },
  {
    who: { ...sa('kube-system', 'kube-proxy'), ip: '10.0.0.11', userAgent: `kube-proxy/v1.32.0 (${build}` },
    actions: [
      core('watch', 'services'),
      { verb: 'watch', resource: 'endpointslices', apiGroup: 'discovery.k8s.io' },
    ],
  },
  {
    who: { username: 'alice@example.com', groups: ['developers'], ip: '10.20.0.15', userAgent: kubectl },
    actions: [
      core('get', 'pods', 'shop', 'web-0'),
      core('list', 'pods', 'shop'),
      apps('list', 'deployments', 'shop'),
      core('get', 'pods', 'shop', 'web-0', 'log'),
    ],
  },
  {
    who: { username: 'bob@example.com', groups: ['developers'], ip: '10.20.0.16', userAgent: kubectl },
    actions: [
      core('list', 'pods', 'payments'),
      apps('get', 'deployments', 'payments', 'api'),
      core('list', 'events', 'payments'),
    ],
  },
  {
    who: {
      username: 'carol@example.com',
      groups: ['sre'],
      ip: '10.20.1.20',
      userAgent: 'k9s/v0.32.5 (linux/amd64)',
    },
    actions: [
      core('list', 'nodes'),
      core('list', 'pods', 'shop'),
      core('list', 'pods', 'payments'),
      core('get', 'nodes', undefined, 'worker-2'),
    ],
  },
  {
    who: {
      ...sa('payments', 'api'),
      ip: '10.244.1.33',
      userAgent: 'payments-api/3.2.0 (linux/amd64) client-go/v0.31.2',
    },
    actions: [core('get', 'configmaps', 'payments', 'api-config'), core('watch', 'configmaps', 'payments')],
  },
  {
    who: {
      ...sa('kube-system', 'horizontal-pod-autoscaler'),
      ip: '10.0.0.2',
      userAgent: `kube-controller-manager/v1.32.0 (${build}/system:serviceaccount:kube-system:horizontal-pod-autoscaler`,
    },
    actions: [
      apps('get', 'deployments', 'shop', 'web', 'scale'),
      apps('update', 'deployments', 'shop', 'web', 'scale'),
    ],
  },
  {
    who: {
      ...sa('ingress-nginx', 'ingress-nginx'),
      ip: '10.244.1.5',
      userAgent: 'nginx-ingress-controller/v1.11.3 (linux/amd64)',
    },
    actions: [
      { verb: 'watch', resource: 'ingresses', apiGroup: 'networking.k8s.io' },
      core('watch', 'services'),
      lease('ingress-nginx', 'ingress-nginx-leader'),
    ],
  },
  {
    who: {
      username: 'system:apiserver',
      groups: ['system:masters'],
      ip: '::1',
      userAgent: `kube-apiserver/v1.32.0 (${build}`,
    },
    actions: [
      core('list', 'namespaces'),
      core('watch', 'configmaps'),
      core('get', 'services', 'default', 'kubernetes'),
    ],
  },
  {
    who: {
      ...sa('flux-system', 'kustomize-controller'),
      ip: '10.244.2.60',
      userAgent: 'kustomize-controller/v1.4.0',
    },
    actions: [
      {
        verb: 'get',
        resource: 'kustomizations',
        apiGroup: 'kustomize.toolkit.fluxcd.io',
        namespace: 'flux-system',
        name: 'apps',
      },
      apps('patch', 'deployments', 'shop', 'web'),
      core('patch', 'configmaps', 'shop', 'checkout-config'),
    ],
  },
  {
    who: { ...sa('velero', 'velero'), ip: '10.244.2.70', userAgent: 'velero-server/v1.15.0 (linux/amd64)' },
    actions: [
      apps('list', 'deployments'),
      core('list', 'configmaps'),
      core('list', 'persistentvolumeclaims'),
    ],
  },
]

/** The same /24, another host; a newer patch release of the same client: neither is news. */
function later(who: Requester, k: number): Requester {
  const ip = who.ip.replace(/\.(\d+)$/, (_, host: string) => `.${(Number(host) + (k % 3)) % 250}`)
  return { ...who, ip, userAgent: who.userAgent.replace('v1.32.0', 'v1.32.2') }
}

/** Nine days of history: every identity does each of its things twice a day, from 9 days ago to yesterday. */
function history(): AuditEvent[] {
  const out: { at: number; event: AuditEvent }[] = []
  for (let day = 9; day >= 1; day--)
    for (const [n, identity] of IDENTITIES.entries())
      for (const [a, action] of identity.actions.entries())
        for (const hour of [9, 15]) {
          const at = NOW - day * DAY + hour * 3_600_000 - 12 * 3_600_000 + n * 60_000 + a * 1000
          out.push({ at, event: auditEvent(identity.who, action, at) })
        }
  return out.sort((x, y) => x.at - y.at).map((x) => x.event)
}

const BURST = 10_000
const CI_EXECS = 300
const NEW_THING = 12
const STRANGER: Requester = {
  ...IDENTITIES[0]!.who,
  ip: '10.99.7.3',
  userAgent: 'kubectl/v1.31.0 (linux/amd64) kubernetes/9894294',
}

/**
 * The burst: 10,000 events of the last 10 minutes, in time order. 300 are the CI runner's execs, 12 the
 * checkout service account listing kube-system's Secrets from elsewhere with kubectl; the rest each
 * identity's usual things in turn.
 */
function burst(): AuditEvent[] {
  const usual = IDENTITIES.flatMap((identity) =>
    identity.actions.filter((a) => a !== CI_EXEC).map((action) => ({ who: identity.who, action })),
  )
  const items: { order: number; who: Requester; action: Action }[] = []
  const filler = BURST - CI_EXECS - NEW_THING
  for (let i = 0; i < filler; i++) items.push({ order: i / filler, ...usual[i % usual.length]! })
  for (let j = 0; j < CI_EXECS; j++)
    items.push({ order: (j + 0.5) / CI_EXECS, who: IDENTITIES[1]!.who, action: CI_EXEC })
  for (let j = 0; j < NEW_THING; j++)
    items.push({
      order: (j + 0.3) / NEW_THING,
      who: STRANGER,
      action: core('list', 'secrets', 'kube-system'),
    })
  items.sort((x, y) => x.order - y.order)
  const start = NOW - 10 * 60_000
  return items.map((item, k) =>
    auditEvent(item.who === STRANGER ? STRANGER : later(item.who, k), item.action, start + k * 60),
  )
}

const { processes, stores, receivers } = stoppedAfterAll()

async function postAll(url: string, bodies: readonly string[], concurrency: number): Promise<void> {
  let next = 0
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < bodies.length) {
        const r = await post(url, bodies[next++]!, { ca: serving.ca, token: serving.token })
        expect(r.status).toBe(200)
      }
    }),
  )
}

async function processed(store: Store, events: number): Promise<boolean> {
  const q = await auditQueueStats(store)
  return q.pending === 0 && q.processed === events
}

describe('plimsoll audit serve, a burst of 10,000 events', () => {
  it('makes two notifications, grouped by user: the repeated exec once, and the new behaviour with its anomalies', async () => {
    const started = Date.now()
    const db = `${serving.dir}/audit.db`
    const args = [...serving.args, '--store', db, '--cluster-name', CLUSTER, '--learning-days', '7']

    // 1. Learning: nine days of history through audit serve, no alerts configured yet.
    const past = history()
    const learning = await auditServe(args)
    processes.push(learning)
    const store = await openStore(db)
    stores.push(store)
    await postAll(learning.url, batches(past, 400), 1) // in order, as one API server sends them
    await until('the history evaluated', () => processed(store, past.length), 30_000)
    expect(await stopped(learning.child)).toBe(0)
    const baselines = await store.db.selectFrom('audit_baselines').select('identity').execute()
    expect(baselines.map((b) => b.identity).sort()).toEqual(IDENTITIES.map((i) => i.who.username).sort())
    const learnedAt = Date.now()

    // 2. Alerts on, a receiver up; the burst, in the API server's default batches of 400.
    const hook = await webhookReceiver()
    receivers.push(hook)
    const alerts = serving.file(
      'alerts.yaml',
      alertsYaml(hook.port, 'group_by: [user]\ngroup_wait: 2s\ngroup_interval: 3s\nrepeat_interval: 4h'),
    )
    const live = await auditServe([...args, '--alerts', alerts])
    processes.push(live)
    const events = burst()
    expect(events).toHaveLength(BURST)
    const sending = Date.now()
    await postAll(live.url, batches(events, 400), 3)
    const sent = Date.now()
    const countUnalerted = async () =>
      Number(
        (
          await store.db
            .selectFrom('audit_detections')
            .select((eb) => eb.fn.countAll<number>().as('n'))
            .where('alerted', '=', 0)
            .executeTakeFirstOrThrow()
        ).n,
      )
    await until(
      'the burst evaluated, alerted and delivered',
      async () =>
        (await processed(store, past.length + BURST)) &&
        (await countUnalerted()) === 0 &&
        hook.received.length > 0 &&
        (await countPendingOutbox(store)) === 0,
      30_000,
    )
    const delivered = Date.now()
    // a group_interval and more: no group changes, nothing more is sent
    await new Promise((r) => setTimeout(r, 4000))
    const received = hook.received

    // What the rules found, in the store: exactly what the traffic holds.
    const found = await store.db
      .selectFrom('audit_detections')
      .select(['rule', 'source', 'labels', 'alerted'])
      .execute()
    const tally: Record<string, number> = {}
    for (const d of found) {
      const user = (JSON.parse(d.labels) as { user: string }).user
      const key = `${d.rule} ${user}`
      tally[key] = (tally[key] ?? 0) + 1
    }
    const historyExecs = 9 * 2
    expect(tally).toEqual({
      [`pod-exec-attach ${CI}`]: historyExecs + CI_EXECS,
      [`secret-read ${CHECKOUT}`]: NEW_THING,
      [`anomaly: first action ${CHECKOUT}`]: 1,
      [`anomaly: first namespace ${CHECKOUT}`]: 1,
      [`anomaly: first source address range ${CHECKOUT}`]: 1,
      [`anomaly: first client ${CHECKOUT}`]: 1,
    })
    // no anomaly for the 19 others: their usual things, even from another host of their range or a
    // newer kubectl, are known
    const anomalies = found.filter((d) => d.source === 'anomaly')
    expect(anomalies.map((d) => JSON.parse(d.labels).value).sort()).toEqual(
      ['10.99.7.0/24', 'kube-system', 'kubectl', 'list secrets'].sort(),
    )
    expect(found.every((d) => d.alerted === 1)).toBe(true)

    // What reached the team: two notifications, one per user group.
    expect(received.length).toBeLessThanOrEqual(5)
    expect(received).toHaveLength(2)
    const ids = received.map((n) => n.id)
    expect(new Set(ids).size).toBe(2)
    expect(ids.sort((a, b) => a - b)).toEqual((await listOutbox(store)).map((r) => r.id))
    for (const n of received) {
      expect(n.body.status).toBe('firing')
      expect(Object.keys(n.body.groupLabels)).toEqual(['user'])
      for (const a of n.body.alerts) expect(a.labels.user).toBe(n.body.groupLabels.user)
    }
    const byUser = new Map(received.map((n) => [n.body.groupLabels.user, n.body]))
    expect([...byUser.keys()].sort()).toEqual([CI, CHECKOUT].sort())
    // 300 execs (and the 18 of the history, from before alerts were configured): one alert
    const ci = byUser.get(CI)!
    expect(ci.alerts).toHaveLength(1)
    expect(ci.alerts[0]!.labels).toMatchObject({
      alertname: 'pod-exec-attach',
      namespace: 'ci',
      name: 'runner-0',
    })
    // the new behaviour: what it did (secret-read) and each way in which it was new
    const checkout = byUser.get(CHECKOUT)!
    expect(checkout.alerts.map((a) => a.labels.alertname).sort()).toEqual([
      'anomaly: first action',
      'anomaly: first client',
      'anomaly: first namespace',
      'anomaly: first source address range',
      'secret-read',
    ])
    for (const a of checkout.alerts.filter((x) => x.labels.source === 'anomaly'))
      expect(a.labels).toMatchObject({ priority: 'notice', user: CHECKOUT, cluster: CLUSTER })
    expect(checkout.alerts.find((a) => a.labels.dimension === 'source')!.labels.value).toBe('10.99.7.0/24')

    // The noise, as the alert pipeline saved it: the history was not counted, the burst's detections
    // were, each once; thousands of events, hundreds of detections, two notifications.
    const noise = new Map((await loadAlertState(store, CLUSTER))!.snapshot.noise.map((n) => [n.rule, n]))
    expect(noise.get('pod-exec-attach')).toMatchObject({
      detections: CI_EXECS,
      alerts: 1,
      deduped: CI_EXECS - 1,
      notifications: 1,
    })
    expect(noise.get('secret-read')).toMatchObject({
      detections: NEW_THING,
      alerts: 1,
      deduped: NEW_THING - 1,
      notifications: 1,
    })
    const detectionsIn = [...noise.values()].reduce((s, n) => s + n.detections, 0)
    expect(detectionsIn).toBe(CI_EXECS + NEW_THING + 4)
    expect(detectionsIn / received.length).toBeGreaterThan(100)

    console.log(
      `noise: ${past.length} history events (learned in ${learnedAt - started} ms), then ${BURST} events posted in ` +
        `${sent - sending} ms; ${detectionsIn} detections in (${CI_EXECS} pod-exec-attach, ${NEW_THING} secret-read, ` +
        `4 anomalies) -> ${received.length} notifications (${received.map((n) => `${n.body.groupLabels.user}: ${n.body.alerts.length} alerts`).join('; ')}), ` +
        `delivered ${delivered - sending} ms after the first batch; ${Date.now() - started} ms in all`,
    )
  }, 90_000)
})
