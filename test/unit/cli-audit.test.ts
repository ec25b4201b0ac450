/**
 * `plimsoll audit serve` end to end, as deployed: a batch of audit events POSTed over HTTPS with a
 * bearer token is stored, evaluated by Falco's default k8saudit rules and Plimsoll's own, recorded as
 * detections, and sent to a webhook receiver as the alerts config groups them; `audit kubeconfig`
 * prints what the API server needs to send there.
 */
import type { ChildProcess } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import { join } from 'node:path'
import { load } from 'js-yaml'
import { afterAll, describe, expect, it } from 'vitest'
import { parseAuditLines } from '../../src/audit/falco/index.js'
import { loadBaselines, pendingBaselineResets, saveBaselines } from '../../src/store/audit-baselines.js'
import { listDetections } from '../../src/store/audit-detections.js'
import { openStore } from '../../src/store/connect.js'
import { get, post } from '../helpers/audit-ingest.js'
import { auditServing, auditServe as serve } from '../helpers/audit-serve.js'
import { run } from '../helpers/cli.js'
import { CORPUS } from '../helpers/corpus.js'
import { stopped } from '../helpers/serve.js'
import { until } from '../helpers/until.js'

/** Every audit serve here starts with `serving.args`: its certificate and how the API server authenticates. */
const serving = auditServing('plimsoll-cli-audit-')
const { dir, file, certs, token: TOKEN, tokenFile } = serving
const FALCO = join(CORPUS, 'falco-k8saudit')
const RULES = join(FALCO, 'falcosecurity-plugins', 'plugins', 'k8saudit', 'rules', 'k8s_audit_rules.yaml')
const TRACES = join(FALCO, 'falcosecurity-falco', 'test', 'trace_files', 'k8s_audit')
const children: ChildProcess[] = []
let hook: Server | undefined

afterAll(async () => {
  for (const c of children) await stopped(c)
  await new Promise((r) => (hook ? hook.close(r) : r(undefined)))
})

/** `audit serve` on a port of its own, stopped after the tests. */
async function auditServe(args: string[]) {
  const server = await serve(args)
  children.push(server.child)
  return server
}

describe('plimsoll audit serve', () => {
  it('stores a batch, detects with Falco’s rules and its own, and sends the grouped alert', async () => {
    const received: { body: string }[] = []
    hook = createServer((req, res) => {
      let body = ''
      req.on('data', (d) => {
        body += d
      })
      req.on('end', () => {
        received.push({ body })
        res.end('ok')
      })
    })
    await new Promise<void>((r) => hook!.listen(0, '127.0.0.1', r))
    const hookPort = (hook.address() as { port: number }).port
    const alerts = file(
      'alerts.yaml',
      `route:
  receiver: security
  group_by: [rule]
  group_wait: 1s
  group_interval: 1m
  repeat_interval: 4h
receivers:
  - name: security
    webhook_configs:
      - url: http://127.0.0.1:${hookPort}/hook
        secret: test-secret
`,
    )
    const db = join(dir, 'audit.db')
    const server = await auditServe([
      ...serving.args,
      '--store',
      db,
      '--cluster-name',
      'lab',
      '--falco-rules',
      RULES,
      '--alerts',
      alerts,
    ])
    const events = parseAuditLines(readFileSync(join(TRACES, 'exec_pod.json'), 'utf8')).events
    const body = JSON.stringify({ kind: 'EventList', apiVersion: 'audit.k8s.io/v1beta1', items: events })
    const { ca } = serving
    expect((await post(server.url, body, { ca, token: 'wrong' })).status).toBe(401)
    expect((await post(server.url, body, { ca, token: TOKEN })).status).toBe(200)
    await until('the alert sent', async () => (received.length > 0 ? true : undefined))
    expect(received[0]!.body).toMatch(/Attach\/Exec Pod/)
    // A Falco runtime alert, as Falco's http_output sends it: the same path to the same receiver.
    const shell = JSON.stringify({
      output: 'A shell was spawned in a container with an attached terminal (user=root k8s_pod=web-1)',
      priority: 'Notice',
      rule: 'Terminal shell in container',
      source: 'syscall',
      tags: ['container', 'shell'],
      time: new Date().toISOString(),
      output_fields: { 'k8s.ns.name': 'shop', 'k8s.pod.name': 'web-1', 'user.name': 'root' },
    })
    expect((await post(server.url, shell, { ca, token: 'wrong', path: '/falco' })).status).toBe(401)
    const taken = await post(server.url, shell, { ca, token: TOKEN, path: '/falco' })
    expect(taken).toMatchObject({ status: 200 })
    expect(JSON.parse(taken.body)).toEqual({ accepted: 1, errors: [] })
    expect((await post(server.url, '{"rule": 1}', { ca, token: TOKEN, path: '/falco' })).status).toBe(400)
    await until('the runtime alert sent', async () =>
      received.some((r) => /Terminal shell in container/.test(r.body)) ? true : undefined,
    )
    // What it did, for Prometheus: events evaluated, detections, the runtime alert, notifications out.
    const metrics = (await get(server.url, '/metrics', ca)).body
    const value = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(metrics)?.[1])
    expect(value('plimsoll_audit_events_processed_total')).toBe(events.length)
    expect(value('plimsoll_audit_detections_total')).toBe(2)
    expect(value('plimsoll_audit_falco_alerts_total')).toBe(1)
    expect(value('plimsoll_alert_detections_total')).toBe(3)
    // grouped by rule: Falco's exec rule, Plimsoll's, and the runtime one
    expect(value('plimsoll_alert_notifications_total')).toBe(3)
    expect(value('plimsoll_alert_outbox_pending')).toBe(0)
    const store = await openStore(db)
    try {
      const found = await listDetections(store, { cluster: 'lab' })
      expect(found.map((d) => `${d.source} ${d.rule}`).sort()).toEqual([
        'falco-rules Attach/Exec Pod',
        'falco-runtime Terminal shell in container',
        'plimsoll pod-exec-attach',
      ])
    } finally {
      await store.close()
    }
    expect(await stopped(server.child)).toBe(0)
  }, 60_000)

  it('refuses to start without a way to authenticate the API server, or with a broken rules file', () => {
    const noAuth = run([
      'audit',
      'serve',
      '--tls-cert',
      certs.certFile,
      '--tls-key',
      certs.keyFile,
      '--store',
      join(dir, 'x.db'),
    ])
    expect(noAuth.code).toBe(2)
    expect(noAuth.stderr).toMatch(/give --client-ca or --token-file/)
    const broken = file(
      'broken.yaml',
      '- rule: half\n  desc: no condition\n  output: x\n  priority: WARNING\n  source: k8s_audit\n',
    )
    const r = run(['audit', 'serve', ...serving.args, '--store', join(dir, 'y.db'), '--falco-rules', broken])
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/broken\.yaml:1: .*half/)
  })
})

describe('plimsoll audit baselines', () => {
  it('lists what each identity was seen doing, and resets one for audit serve to learn again', async () => {
    const db = join(dir, 'baselines.db')
    const store = await openStore(db)
    try {
      await saveBaselines(store.db, 'lab', [
        {
          identity: 'system:serviceaccount:ci:deployer',
          firstSeen: '2026-11-20T08:00:00.000Z',
          lastSeen: '2026-12-05T17:00:00.000Z',
          seen: {
            action: ['patch deployments'],
            namespace: ['shop'],
            source: ['10.0.8.0/24'],
            client: ['argocd'],
          },
        },
      ])
    } finally {
      await store.close()
    }
    const listed = run(['audit', 'baselines', '--store', db, '--cluster-name', 'lab'])
    expect(listed.code).toBe(0)
    expect(listed.stdout).toMatch(/system:serviceaccount:ci:deployer {2}first 2026-11-20T08:00:00\.000Z/)
    expect(listed.stdout).toMatch(/ {2}action: patch deployments\n/)
    expect(run(['audit', 'baselines', '--store', db, '--cluster-name', 'other']).stdout).toMatch(
      /No baselines for cluster other/,
    )
    const reset = run([
      'audit',
      'baselines',
      'reset',
      'system:serviceaccount:ci:deployer',
      '--store',
      db,
      '--cluster-name',
      'lab',
    ])
    expect(reset.code).toBe(0)
    expect(reset.stdout).toMatch(/Reset system:serviceaccount:ci:deployer in cluster lab/)
    const after = await openStore(db)
    try {
      expect(await loadBaselines(after, 'lab')).toEqual([])
      expect(await pendingBaselineResets(after.db, 'lab')).toEqual(['system:serviceaccount:ci:deployer'])
    } finally {
      await after.close()
    }
  })
})

describe('plimsoll audit kubeconfig', () => {
  it('prints the webhook kubeconfig the API server reads: the URL, the CA and the token', () => {
    const r = run([
      'audit',
      'kubeconfig',
      '--server',
      'https://10.0.0.5:9444/audit',
      '--ca-file',
      certs.caFile,
      '--token-file',
      tokenFile,
    ])
    expect(r.code).toBe(0)
    const config = load(r.stdout) as {
      clusters: { cluster: { server: string; 'certificate-authority-data': string } }[]
      users: { user: { token: string } }[]
    }
    expect(config.clusters[0]!.cluster.server).toBe('https://10.0.0.5:9444/audit')
    expect(Buffer.from(config.clusters[0]!.cluster['certificate-authority-data'], 'base64').toString()).toBe(
      readFileSync(certs.caFile, 'utf8'),
    )
    expect(config.users[0]!.user.token).toBe(TOKEN)
    const none = run(['audit', 'kubeconfig', '--server', 'https://x/audit', '--ca-file', certs.caFile])
    expect(none.code).toBe(2)
    expect(none.stderr).toMatch(/give --token-file, or --client-cert with --client-key/)
  })
})
