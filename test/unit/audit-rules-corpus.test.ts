/**
 * The built-in audit rules on real audit logs:
 *
 * - Falco's 2018 k8s_audit traces (minikube, audit.k8s.io v1beta1 and v1): each trace gives exactly the
 *   detections listed below, and the traces not listed give none.
 * - A 2026 kube-apiserver v1.32 run (corpus kube-apiserver/06-audit: the webhook batches, as the API
 *   server POSTed them, of a scripted session, activities.json) with its startup, controllers and
 *   scripted activities: the detections are exactly those of the scripted attacks listed below, and
 *   the rest of the traffic (bootstrap RBAC reconciliation, controllers, the namespace controller
 *   emptying a deleted namespace, kubectl's discovery, anonymous GET /version) gives none.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { parseAuditLines, parseAuditPayload } from '../../src/audit/falco/index.js'
import { preFilter } from '../../src/audit/rules/compile.js'
import type { Stage } from '../../src/audit/rules/format.js'
import { loadAuditRules } from '../../src/audit/rules/index.js'
import type { AuditEvent } from '../../src/audit/types.js'
import { corpusPath } from '../helpers/corpus.js'

const errors: string[] = []
const set = loadAuditRules({ onError: (r, _e, err) => errors.push(`${r.metadata.id}: ${err.message}`) })

const TRACES = corpusPath('falco-k8saudit/falcosecurity-falco/test/trace_files/k8s_audit')

/**
 * Trace -> the rules it must give, one entry per detection. Traces Falco's rules detect but these do
 * not, on purpose: create_pod_kube_{system,public}_namespace (the pod is created by the ReplicaSet
 * controller: pod-created-in-kube-system reports pods created there by anyone else);
 * create_service_account_token_secret (the controller manager's legacy token controller);
 * create_cluster_role_write_privileges, create_serviceaccount_kube_*_namespace,
 * create_kube_system_secret and the create/delete activity traces (no such rule here: Falco's
 * activity rules are an event stream, not detections).
 */
const TRACE_DETECTIONS: Record<string, string[]> = {
  'anonymous_creates_namespace_foo.json': ['anonymous-request-allowed'],
  'attach_cluster_admin_role.json': ['cluster-admin-binding'],
  'attach_pod.json': ['pod-exec-attach'],
  'exec_pod.json': ['pod-exec-attach'],
  'create_cluster_role_pod_exec.json': ['role-grants-pod-exec'],
  'create_cluster_role_wildcard_resources.json': ['wildcard-role'],
  'create_cluster_role_wildcard_verbs.json': ['wildcard-role'],
  // six ConfigMaps, each with one credential-like line (aws keys in four spellings, password, passphrase)
  'create_configmap_sensitive_values.json': Array(6).fill('configmap-with-credentials'),
  'create_nginx_pod_hostnetwork.json': ['host-namespace-pod-created'],
  'create_nginx_pod_privileged.json': ['privileged-pod-created'],
  'create_nginx_pod_privileged_2nd_container.json': ['privileged-pod-created'],
  'create_nginx_pod_no_secctx_1st_container_privileged_2nd_container.json': ['privileged-pod-created'],
  'create_nginx_pod_sensitive_mount.json': ['sensitive-hostpath-pod-created'],
  'create_nginx_pod_sensitive_mount_2nd_container.json': ['sensitive-hostpath-pod-created'],
  'create_nginx_service_nodeport.json': ['nodeport-service'],
  'delete_cluster_role_kube_aggregator.json': ['system-rbac-changed'],
  'modify_cluster_role_node_problem_detector.json': ['system-rbac-changed'],
}

const traceFiles = readdirSync(TRACES)
  .filter((f) => f.endsWith('.json'))
  .sort()

describe("Falco's 2018 k8s_audit traces", () => {
  it.each(traceFiles)('%s', (file) => {
    const parsed = parseAuditLines(readFileSync(`${TRACES}/${file}`, 'utf8'))
    if (file === 'fal_01_003.json') {
      // {"kind": 0}: not an audit event at all (Falco's own test of that error)
      expect(parsed.events).toEqual([])
      return
    }
    expect(parsed.errors).toEqual([])
    expect(parsed.events.length).toBeGreaterThan(0)
    const got = parsed.events.flatMap((e) => set.evaluate(e)).map((d) => d.rule)
    expect(got).toEqual(TRACE_DETECTIONS[file] ?? [])
  })

  it('names only traces that exist', () => {
    for (const file of Object.keys(TRACE_DETECTIONS)) expect(traceFiles).toContain(file)
  })

  it('the exec trace gives the detection an alert is made of', () => {
    const [event] = parseAuditLines(readFileSync(`${TRACES}/exec_pod.json`, 'utf8')).events
    expect(set.evaluate(event!)).toEqual([
      {
        rule: 'pod-exec-attach',
        source: 'plimsoll',
        priority: 'notice',
        output:
          'exec into pod default/nginx-deployment-7998647bdf-phvq7 by minikube-user (container=nginx1,nginx1 command=bash)',
        time: '2018-10-26T13:38:34.902Z',
        labels: {
          rule: 'pod-exec-attach',
          priority: 'notice',
          source: 'plimsoll',
          user: 'minikube-user',
          verb: 'create',
          resource: 'pods',
          namespace: 'default',
          name: 'nginx-deployment-7998647bdf-phvq7',
        },
        tags: ['k8s', 'mitre_execution'],
        auditID: 'ca1ed9f4-7bf4-4c85-81a8-1b11253d1ba6',
      },
    ])
  })
})

describe('a kube-apiserver v1.32 session (06-audit batches)', () => {
  const dir = corpusPath('kube-apiserver/06-audit/batches')
  const events: AuditEvent[] = readdirSync(dir)
    .filter((f) => /^\d+\.json$/.test(f))
    .sort()
    .flatMap((f) => {
      const parsed = parseAuditPayload(readFileSync(`${dir}/${f}`, 'utf8'))
      expect(parsed.errors).toEqual([])
      return parsed.events
    })

  it('reads the whole session', () => {
    expect(events.length).toBeGreaterThan(2000)
  })

  /**
   * What the scripted activities (activities.json) should give, in order. Two of them give nothing, as
   * they must: the audit policy of that run (06-audit/audit-policy.yaml) logs Services and Roles at
   * Metadata level, without their bodies, so neither A04's NodePort type nor A10's wildcard verbs is in
   * any event (nodeport-service and wildcard-role need Request level; their examples and the 2018
   * traces cover them). A14's `kubectl port-forward` gives two detections: kubectl 1.32 tries a
   * WebSocket (GET) and falls back to SPDY (POST), two requests, both allowed.
   */
  const EXPECTED = [
    ['privileged-pod-created', 'A02', 'audit-demo/privileged-pod'],
    ['host-namespace-pod-created', 'A03', 'audit-demo/hostnetwork-pod'],
    ['sensitive-hostpath-pod-created', 'A03', 'audit-demo/hostnetwork-pod'],
    ['configmap-with-credentials', 'A05', 'audit-demo/aws-config'],
    ['service-account-token-for-other', 'A07', 'audit-demo/reader'],
    ['secret-read', 'A08 (list)', 'audit-demo/'],
    ['secret-read', 'A08 (get)', 'audit-demo/app-credentials'],
    ['cluster-admin-binding', 'A09', '/audit-demo-reader-admin'],
    ['pod-exec-attach', 'A12', 'audit-demo/exec-target'],
    ['pod-exec-attach', 'A13', 'audit-demo/exec-target'],
    ['pod-port-forward', 'A14 (WebSocket)', 'audit-demo/exec-target'],
    ['pod-port-forward', 'A14 (SPDY)', 'audit-demo/exec-target'],
    ['unauthorized-request', 'A15 (anonymous list secrets)', 'kube-system/'],
    ['unauthorized-request', 'A15 (anonymous list pods)', '/'],
    ['unauthorized-request', 'A16 (invalid token)', '/'],
    ['service-account-token-for-other', 'A17', 'audit-demo/nobody'],
    ['unauthorized-request', 'A17 (list secrets)', 'kube-system/'],
    ['unauthorized-request', 'A17 (delete configmap)', 'audit-demo/aws-config'],
  ]

  it('detects the scripted activities, and nothing in the ordinary traffic', () => {
    const got = events.flatMap((e) =>
      set.evaluate(e).map((d) => [d.rule, `${d.labels.namespace ?? ''}/${d.labels.name ?? ''}`]),
    )
    expect(got).toEqual(EXPECTED.map(([rule, , object]) => [rule, object]))
  })

  it('the pre-filter decides most events: few reach any CEL', () => {
    const reaching = events.filter((e) =>
      set.rules.some((r) => r.match.stages.has(e.stage as Stage) && preFilter(r.match, e)),
    )
    // the session's events are mostly the control plane's own reads, watches and leases
    expect(reaching.length / events.length).toBeLessThan(0.05)
  })

  it('no rule fails to evaluate on any event', () => {
    expect(errors).toEqual([])
  })

  it('the invalid-token request, which has no user at all, is reported with what is known', () => {
    const event = events.find((e) => e.responseStatus?.code === 401)!
    const [d] = set.evaluate(event)
    expect(d!.output).toBe(
      'unauthenticated: (no credentials accepted) list /api/v1/namespaces (Unauthorized) from 127.0.0.1 with transcript-recorder/1.0 (node v20.20.2)',
    )
    expect(d!.labels).toEqual({
      rule: 'unauthorized-request',
      priority: 'notice',
      source: 'plimsoll',
      verb: 'list',
      resource: 'namespaces',
    })
  })
})
