/**
 * The control plane's audit events against the recorded kube-apiserver v1.32's
 * (shared/corpus/kube-apiserver/06-audit): the recorded activities (activities.json) are replayed —
 * the same kubectl commands with the same stdin, the same plain HTTPS requests — against a control
 * plane started with the recorded audit policy and a webhook kubeconfig naming a small HTTPS receiver
 * here (mTLS, as the API server presents a client certificate when the kubeconfig has one), and the
 * EventList batches the receiver gets are compared with the recorded batches, event by event.
 *
 * Compared, activity by activity: which events in which order, and of each its stage, level, verb,
 * requestURI, objectRef, user name and groups, user agent, responseStatus (all of it but the message
 * text and a uid in details), which of requestObject / responseObject it has, its annotation keys, the
 * authorization decision and reason, the PodSecurity enforce-policy, and its field names in order;
 * the batch framing (EventList, apiVersion, URL, headers); and every requestObject itself (the
 * decoded and defaulted creates, the patches, the DeleteOptions). Left to vary per run: auditID,
 * timestamps, uids and resourceVersions, credential ids.
 *
 * Where this control plane answers a request differently from the recorded server, the event records
 * this control plane's answer, and CONTROL_PLANE_DIFFERENCES below says what and why (A04: a protobuf
 * Service body is not decoded, 415; A11: POST .../bindings is not served, 405, so the exec and
 * port-forward of A12-A14 meet a pod with no node, as in 05-admission cases 08 and 10). kubectl's
 * schema fetches (/openapi/*, a CRD list) differ because the control plane serves minimal OpenAPI
 * documents, and are left out. Not compared: responseObject contents beyond their kind (they are the
 * response bodies, which the transcript tests compare; the recorded pods also carry the OpenShift
 * fork's fourth projected volume source).
 *
 * Events that are not the activities' own are left out on both sides: the controllers'
 * (kube-controller-manager, the API server's own loopback client), the recorder's readiness probes
 * with curl, and the recorder's polls between activities (GET serviceaccounts/default until the
 * service-account controller made it, GET the namespace until the namespace controller removed it):
 * their count depends on timing.
 */
import { execFile } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { request as httpsRequest } from 'node:https'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { dump } from 'js-yaml'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Pki } from '../../src/control-plane/certs.js'
import { type ControlPlane, startControlPlane } from '../../src/control-plane/server.js'
import { type AuditSink, sinkKubeconfig, startAuditSink } from '../helpers/audit-sink.js'
import { corpusPath } from '../helpers/corpus.js'

type Obj = Record<string, unknown>
interface Step {
  readonly type: 'kubectl' | 'http'
  readonly argv?: string[]
  readonly stdin?: string | null
  readonly exitCode?: number
  readonly method?: string
  readonly path?: string
  readonly auth?: string
  readonly requestHeaders?: [string, string][]
  readonly status?: number
}
interface Activity {
  readonly id: string
  readonly startedAt: string
  readonly endedAt: string
  readonly steps: Step[]
}

const AUDIT = (file: string) => corpusPath('kube-apiserver', '06-audit', file)

let receiverPki: Pki
let receiver: AuditSink
/** Which activity each of our events (by auditID) belongs to. */
const activityOf = new Map<string, string>()
let current = ''
let cp: ControlPlane
let dir: string

function recordedEvents(): Obj[] {
  const index = JSON.parse(readFileSync(AUDIT('batches/index.json'), 'utf8')) as {
    batches: { file: string }[]
  }
  return index.batches.flatMap(
    (b) => (JSON.parse(readFileSync(AUDIT(b.file), 'utf8')) as { items: Obj[] }).items,
  )
}

/** The activities' own requests: kubectl's (and its dispatcher's) and the recorder's HTTP steps. */
function activityEvent(e: Obj): boolean {
  const ua = String(e.userAgent ?? '')
  if (ua.startsWith('kubectl')) return true
  if (!ua.startsWith('transcript-recorder')) return false
  const uri = String(e.requestURI)
  // The recorder's polls (not activities): waiting for the default ServiceAccount, then for the
  // namespace to be gone.
  return !/^\/api\/v1\/namespaces\/audit-demo(\/serviceaccounts\/default)?$/.test(uri)
}

/**
 * /version is allowed to an authenticated user by two bootstrap ClusterRoleBindings, system:discovery
 * and system:public-info-viewer; the RBAC authorizer names the first it visits, in its informer
 * cache's (undefined) order: the recorded server named system:discovery in A08 and
 * system:public-info-viewer in A17. Either is accepted.
 */
function bootstrapReason(reason: string | undefined): string | null {
  if (reason === undefined) return null
  return reason.replace(
    /^RBAC: allowed by ClusterRoleBinding "system:(discovery|public-info-viewer)" of ClusterRole "system:\1" to Group "system:authenticated"$/,
    'RBAC: allowed by ClusterRoleBinding "system:discovery" (or "system:public-info-viewer") to Group "system:authenticated"',
  )
}

/** What is compared of an event; values that differ per run are normalised. */
interface Summary {
  readonly stage: unknown
  readonly level: unknown
  readonly verb: unknown
  readonly requestURI: string
  readonly user: unknown
  readonly groups: unknown
  readonly userAgent: string
  readonly objectRef: Obj | null
  readonly code: unknown
  readonly status: Obj | null
  readonly requestObject: boolean
  readonly responseObject: boolean
  readonly annotations: string[]
  readonly decision: string | null
  readonly reason: string | null
  readonly enforcePolicy: string | null
  readonly keys: string[]
}

function summary(e: Obj): Summary {
  const user = (e.user ?? {}) as Obj
  const status = (e.responseStatus ?? undefined) as Obj | undefined
  const annotations = (e.annotations ?? {}) as Record<string, string>
  return {
    stage: e.stage,
    level: e.level,
    verb: e.verb,
    requestURI: String(e.requestURI).replace(/hash=[0-9A-F]+/, 'hash=<hash>'),
    user: user.username ?? null,
    groups: user.groups ?? null,
    userAgent: String(e.userAgent ?? '').replace(/ \(.*$/, ''),
    objectRef: (e.objectRef as Obj | undefined) ?? null,
    code: status?.code ?? null,
    status: status
      ? {
          ...status,
          message: status.message ? '<message>' : undefined,
          details: status.details ? { ...(status.details as Obj), uid: undefined } : undefined,
        }
      : null,
    requestObject: 'requestObject' in e,
    responseObject: 'responseObject' in e,
    annotations: Object.keys(annotations).sort(),
    decision: annotations['authorization.k8s.io/decision'] ?? null,
    reason: bootstrapReason(annotations['authorization.k8s.io/reason']),
    enforcePolicy: annotations['pod-security.kubernetes.io/enforce-policy'] ?? null,
    keys: Object.keys(e),
  }
}

function kubectl(
  env: NodeJS.ProcessEnv,
  args: string[],
  input?: string | null,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(
      'kubectl',
      args,
      { encoding: 'utf8', timeout: 20_000, env },
      (err, stdout, stderr) =>
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
    )
    child.stdin?.end(input ?? '')
  })
}

function get(path: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      `${cp.url}${path}`,
      { method: 'GET', headers, ca: cp.ca, agent: false },
      (res) => {
        res.resume()
        res.on('end', () => resolve(res.statusCode ?? 0))
      },
    )
    req.on('error', reject)
    req.end()
  })
}

function tokenKubeconfig(path: string, token: string, namespace?: string): string {
  writeFileSync(
    path,
    dump({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [
        {
          name: 'cp',
          cluster: { server: cp.url, 'certificate-authority-data': Buffer.from(cp.ca).toString('base64') },
        },
      ],
      users: [{ name: 'sa', user: { token } }],
      contexts: [{ name: 'sa', context: { cluster: 'cp', user: 'sa', ...(namespace ? { namespace } : {}) } }],
      'current-context': 'sa',
    }),
  )
  return path
}

const replayed: { id: string; argv: string; code: number; stderr: string }[] = []

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'plimsoll-audit-corpus-'))
  receiverPki = new Pki()
  receiver = await startAuditSink(receiverPki, { mtls: true })
  // The recorded --audit-webhook-config-file, with this receiver, its CA and a client certificate.
  const kubeconfig = sinkKubeconfig(
    receiver.url,
    receiverPki.serverCa.cert,
    receiverPki.clientCertificate('kube-apiserver', []),
  )
  cp = await startControlPlane({
    namespaceFinalizeMs: 200,
    audit: {
      sink: (e) => {
        if (!activityOf.has(String(e.auditID))) activityOf.set(String(e.auditID), current)
      },
      policy: readFileSync(AUDIT('audit-policy.yaml'), 'utf8'),
      webhook: { kubeconfig },
      // The recorded server's --audit-webhook-batch-max-wait was 1 s.
      batchMaxWaitMs: 1000,
      initialBackoffMs: 100,
    },
  })
  const admin = cp.kubeconfig(join(dir, 'admin.kubeconfig'))
  const env = (kubeconfig: string): NodeJS.ProcessEnv => ({
    ...process.env,
    KUBECONFIG: kubeconfig,
    HOME: dir,
  })
  const activities = (
    JSON.parse(readFileSync(AUDIT('activities.json'), 'utf8')) as { activities: Activity[] }
  ).activities
  const tokens: Record<string, string> = {}
  for (const a of activities) {
    current = a.id
    for (const s of a.steps) {
      if (s.type === 'http') {
        const headers: Record<string, string> = {}
        for (const [k, v] of s.requestHeaders ?? []) {
          if (k === 'Host' || k === 'Connection') continue
          headers[k] = k === 'Authorization' ? 'Bearer not-a-token-this-server-knows' : v
        }
        const code = await get(s.path ?? '/', headers)
        replayed.push({ id: a.id, argv: `${s.method} ${s.path}`, code, stderr: '' })
        continue
      }
      const args = (s.argv ?? []).slice(1)
      // A08 runs as ServiceAccount reader, A17's get and delete as nobody (bearer tokens).
      let kubeconfigFile = admin
      if (a.id === 'A08')
        kubeconfigFile = tokenKubeconfig(join(dir, 'reader.kubeconfig'), tokens.reader ?? '')
      if (a.id === 'A17' && (args[0] === 'get' || args[0] === 'delete'))
        kubeconfigFile = tokenKubeconfig(join(dir, 'nobody.kubeconfig'), tokens.nobody ?? '')
      const r = await kubectl(env(kubeconfigFile), args, s.stdin)
      if (args[0] === 'create' && args[1] === 'token') tokens[args[2] ?? ''] = r.stdout.trim()
      replayed.push({ id: a.id, argv: args.join(' '), code: r.code, stderr: r.stderr })
    }
  }
  await cp.auditor?.flush()
}, 120_000)

afterAll(async () => {
  await cp?.stop()
  await receiver?.close()
  receiverPki?.dispose()
  if (dir) rmSync(dir, { recursive: true, force: true })
})

/** The recorded activities' events, by activity (by time window; HTTP steps by their Audit-Id). */
function recordedByActivity(): Map<string, Obj[]> {
  const activities = (
    JSON.parse(readFileSync(AUDIT('activities.json'), 'utf8')) as { activities: Activity[] }
  ).activities
  const out = new Map<string, Obj[]>(activities.map((a) => [a.id, []]))
  for (const e of recordedEvents().filter(activityEvent)) {
    const t = Date.parse(String(e.requestReceivedTimestamp))
    const a = activities.find((x) => t >= Date.parse(x.startedAt) && t <= Date.parse(x.endedAt) + 50)
    if (a) out.get(a.id)?.push(e)
  }
  return out
}

function oursByActivity(): Map<string, Obj[]> {
  const out = new Map<string, Obj[]>()
  for (const e of receiver.posts.flatMap((b) => b.body.items).filter(activityEvent)) {
    const id = activityOf.get(String(e.auditID)) ?? '?'
    if (!out.has(id)) out.set(id, [])
    out.get(id)?.push(e)
  }
  return out
}

/**
 * kubectl's client-side validation fetches schemas: from the recorded server /openapi/v3 (then 304
 * with its ETag) and /openapi/v3/api/v1?hash=...; from this control plane, which serves minimal
 * OpenAPI documents, it falls back to /openapi/v2 and lists CustomResourceDefinitions. Those
 * requests are the control plane's discovery, not auditing, and are left out of the comparison.
 */
function schemaFetch(e: Obj): boolean {
  return /^\/openapi\//.test(String(e.requestURI)) || /customresourcedefinitions/.test(String(e.requestURI))
}

/**
 * Where the control plane answers differently from the recorded server (not the auditor: the events
 * record those answers faithfully), the recorded events are turned into what a faithful audit of
 * this control plane's answers is; each says which field and why.
 */
const CONTROL_PLANE_DIFFERENCES: Record<string, (events: Summary[]) => Summary[]> = {
  // kubectl create service sends a protobuf Service, which the control plane's protobuf decoder does
  // not read: 415 UnsupportedMediaType instead of 201, so no name from the body in objectRef.
  A04: (events) =>
    events.map((e) =>
      e.verb === 'create' && e.stage === 'ResponseComplete'
        ? {
            ...e,
            code: 415,
            objectRef: { resource: 'services', namespace: 'audit-demo', apiVersion: 'v1' },
            status: failure('UnsupportedMediaType', 415),
          }
        : e,
    ),
  // The control plane does not serve POST .../bindings (kubectl create -f of a Binding): 405
  // MethodNotAllowed instead of 201 Success. The pod stays without a node, which changes A12-A14.
  A11: (events) =>
    events.map((e) =>
      e.objectRef?.resource === 'bindings' && e.stage === 'ResponseComplete'
        ? { ...e, code: 405, status: { ...failure('MethodNotAllowed', 405), details: {} } }
        : e,
    ),
  // kubectl exec on a pod without a node: the recorded server's answer to that (05-admission case
  // 08): 400 BadRequest "pod exec-target does not have a host assigned" to the websocket GET
  // (ResponseStarted and ResponseComplete with the Status as responseObject), then kubectl's SPDY
  // POST (a create) with the same answer. Here instead of the recorded 101 and the kubelet error.
  A12: unboundExec,
  A13: unboundExec,
  // port-forward on a pod without a node: 400 BadRequest (as 05-admission case 10) for the GET and
  // kubectl's POST, instead of the recorded 500 "error dialing backend".
  A14: (events) =>
    events.map((e) =>
      e.objectRef?.subresource === 'portforward' && e.stage !== 'RequestReceived'
        ? { ...e, code: 400, status: failure('BadRequest', 400) }
        : e,
    ),
}

function failure(reason: string, code: number): Obj {
  return { metadata: {}, status: 'Failure', message: '<message>', reason, code, details: undefined }
}

function unboundExec(events: Summary[]): Summary[] {
  const out: Summary[] = []
  for (const e of events) {
    const exec = e.objectRef?.subresource === 'exec'
    if (!exec) {
      out.push(e)
      continue
    }
    if (e.stage === 'RequestReceived') {
      out.push(e)
      continue
    }
    const keys = e.keys.flatMap((k) => (k === 'responseStatus' ? [k, 'responseObject'] : [k]))
    const answered = { ...e, code: 400, status: failure('BadRequest', 400), responseObject: true, keys }
    out.push(answered)
    if (e.stage === 'ResponseComplete') {
      const received = events.find((x) => x.stage === 'RequestReceived' && x.requestURI === e.requestURI)
      if (received) out.push({ ...received, verb: 'create' })
      out.push({ ...answered, stage: 'ResponseStarted', verb: 'create' })
      out.push({ ...answered, stage: 'ResponseComplete', verb: 'create' })
    }
  }
  return out
}

describe('audit events against the recorded webhook batches (06-audit)', () => {
  it('replays the activities with the recorded outcomes', () => {
    const activities = (
      JSON.parse(readFileSync(AUDIT('activities.json'), 'utf8')) as { activities: Activity[] }
    ).activities
    const recorded = activities.flatMap((a) =>
      a.steps.map((s) => ({
        id: a.id,
        argv: s.type === 'http' ? `${s.method} ${s.path}` : (s.argv ?? []).slice(1).join(' '),
        code: s.type === 'http' ? s.status : s.exitCode,
      })),
    )
    // See CONTROL_PLANE_DIFFERENCES: the Service (A04) and the Binding (A11) are refused here.
    const differ = new Set(['A04 create service nodeport web-nodeport -n audit-demo --tcp=80:8080'])
    const expected = recorded.map((r, i) =>
      differ.has(`${r.id} ${r.argv}`) ||
      (r.id === 'A11' && i === recorded.findIndex((x) => x.id === 'A11') + 3)
        ? { ...r, code: 1 }
        : r,
    )
    expect(replayed.map(({ id, argv, code }) => ({ id, argv, code }))).toEqual(expected)
  })

  it('posts EventLists as the webhook backend does', () => {
    expect(receiver.posts.length).toBeGreaterThan(0)
    for (const b of receiver.posts) {
      expect(b.url).toBe('/audit?timeout=30s')
      expect(b.headers['content-type']).toBe('application/json')
      expect(b.headers.accept).toBe('application/json, */*')
      expect(b.body.kind).toBe('EventList')
      expect(b.body.apiVersion).toBe('audit.k8s.io/v1')
      expect(b.body.metadata).toEqual({})
      expect(b.body.items.length).toBeLessThanOrEqual(400)
    }
  })

  it('sends the same events in the same order, activity by activity', () => {
    const theirs = recordedByActivity()
    const ours = oursByActivity()
    const report: Obj = {}
    for (const [id, recorded] of theirs) {
      const fix = CONTROL_PLANE_DIFFERENCES[id] ?? ((x: Summary[]) => x)
      const want = fix(recorded.filter((e) => !schemaFetch(e)).map(summary))
      const got = (ours.get(id) ?? []).filter((e) => !schemaFetch(e)).map(summary)
      report[id] = { want, got }
    }
    for (const [id, r] of Object.entries(report) as [string, { want: Summary[]; got: Summary[] }][])
      expect({ id, events: r.got }).toEqual({ id, events: r.want })
  })

  it('logs the request objects the recorded server logged (creates as decoded and defaulted, patches, DeleteOptions)', () => {
    const theirs = recordedByActivity()
    const ours = oursByActivity()
    let compared = 0
    for (const [id, recorded] of theirs) {
      const want = recorded.filter((e) => 'requestObject' in e)
      const got = (ours.get(id) ?? []).filter((e) => 'requestObject' in e)
      expect(got.map((e) => e.requestURI)).toEqual(want.map((e) => e.requestURI))
      want.forEach((w, i) => {
        // Compared as JSON values: key order is Go's struct order there, the body's order here.
        expect({ id, uri: w.requestURI, object: got[i]?.requestObject }).toEqual({
          id,
          uri: w.requestURI,
          object: w.requestObject,
        })
        compared++
      })
    }
    expect(compared).toBeGreaterThanOrEqual(8)
  })

  it('logs the response bodies as responseObject at RequestResponse level', () => {
    for (const e of receiver.posts.flatMap((b) => b.body.items).filter(activityEvent)) {
      if (!('responseObject' in e)) continue
      const o = e.responseObject as Obj
      const status = e.responseStatus as Obj
      if (o.kind === 'Status') expect(o.code ?? status.code).toBe(status.code)
      else expect(((o.metadata ?? {}) as Obj).name ?? o.kind).toBeTruthy()
      expect(e.level).toBe('RequestResponse')
    }
  })
})
