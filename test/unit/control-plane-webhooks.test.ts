/**
 * Admission webhooks in the local control plane, held to the recorded kube-apiserver v1.32
 * (shared/corpus/kube-apiserver/05-admission): the webhook configurations are created through the
 * control plane's API exactly as the recorder POSTed them (only the webhook's URL and CA differ), the
 * recorded client requests are sent again, and the AdmissionReviews a real HTTPS webhook server
 * written here receives are compared field by field with the recorded ones, as are the answers the
 * client gets. Further tests cover what the corpus does not show: v1beta1, service references,
 * reinvocation, failure modes, CEL errors and dry runs. One run goes through kubectl.
 */
import { execFile } from 'node:child_process'
import { mkdtempSync, readFileSync } from 'node:fs'
import { request as httpsRequest } from 'node:https'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { AuditRecord } from '../../src/control-plane/hooks.js'
import { type ControlPlane, startControlPlane } from '../../src/control-plane/server.js'
import { corpusPath } from '../helpers/corpus.js'
import {
  allow,
  type ReceivedCall,
  reviewUid,
  startWebhookServer,
  type WebhookServer,
} from '../helpers/webhook-server.js'

// ------------------------------------------------------------------------------------------- corpus

interface Exchange {
  readonly method: string
  readonly path: string
  readonly headers: [string, string][]
  readonly body: string | null
}

interface RecordedResponse {
  readonly status: number
  readonly headers: [string, string][]
  readonly body: string
}

interface Step {
  readonly step: string
  readonly request?: Exchange
  readonly response?: RecordedResponse
  readonly kubectl?: {
    argv: string[]
    stdin: string | null
    exitCode: number
    stdout: string
    stderr: string
  }
}

interface RecordedCall {
  readonly url: string
  readonly headers: [string, string][]
  readonly body: string
  readonly response: { status: number; body: string }
  readonly handlerMs: number
  readonly connectionClosedByCallerBeforeResponse?: boolean
}

interface Case {
  readonly id: string
  readonly description: string
  readonly steps: Step[]
  readonly webhookCalls: RecordedCall[]
  readonly auditEvents: { auditID: string; annotations?: Record<string, string> }[]
}

interface Setup {
  readonly request: Exchange
  readonly response: RecordedResponse
}

const ADMISSION = 'kube-apiserver/05-admission'
const RECORDED_WEBHOOK = 'https://127.0.0.1:38361'

function readCase(name: string): Case {
  return JSON.parse(readFileSync(corpusPath(ADMISSION, 'cases', `${name}.json`), 'utf8')) as Case
}

function readSetup(name: string): Setup {
  return JSON.parse(readFileSync(corpusPath(ADMISSION, 'setup', `${name}.json`), 'utf8')) as Setup
}

// ------------------------------------------------------------------------------------------- client

interface Answer {
  readonly status: number
  readonly headers: [string, string][]
  readonly body: string
}

function send(
  cp: ControlPlane,
  method: string,
  path: string,
  headers: [string, string][],
  body: string | null,
): Promise<Answer> {
  const h: Record<string, string> = {}
  for (const [k, v] of headers) if (!/^(host|connection|content-length)$/i.test(k)) h[k] = v
  if (body !== null) h['Content-Length'] = String(Buffer.byteLength(body))
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      new URL(path, cp.url),
      { method, headers: h, ca: cp.ca, agent: false, cert: cp.admin.cert, key: cp.admin.key },
      (res) => {
        const chunks: Buffer[] = []
        const pairs: [string, string][] = []
        for (let i = 0; i < res.rawHeaders.length; i += 2)
          pairs.push([res.rawHeaders[i]!, res.rawHeaders[i + 1]!])
        res.on('data', (d: Buffer) => chunks.push(d))
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: pairs,
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        )
      },
    )
    req.on('error', reject)
    req.end(body ?? undefined)
  })
}

const JSON_HEADERS: [string, string][] = [
  ['User-Agent', 'transcript-recorder/1.0 (node v20.20.2)'],
  ['Accept', 'application/json'],
  ['Content-Type', 'application/json'],
]

function api(
  cp: ControlPlane,
  method: string,
  path: string,
  body?: unknown,
  contentType = 'application/json',
) {
  const headers: [string, string][] = [...JSON_HEADERS.slice(0, 2), ['Content-Type', contentType]]
  return send(cp, method, path, headers, body === undefined ? null : JSON.stringify(body))
}

function kubectl(
  kubeconfig: string,
  args: string[],
  input: string | null,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(
      'kubectl',
      ['--kubeconfig', kubeconfig, ...args],
      { encoding: 'utf8', timeout: 30_000 },
      (err, stdout, stderr) =>
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
    )
    child.stdin?.end(input ?? '')
  })
}

const warningsOf = (pairs: [string, string][]) =>
  pairs.filter(([k]) => k.toLowerCase() === 'warning').map(([, v]) => v)

// -------------------------------------------------------------------------------------- normalising

const VOLATILE = new Set(['uid', 'resourceVersion', 'creationTimestamp', 'deletionTimestamp', 'time'])

/**
 * What neither side can reproduce (ids, times, ports, certificates) and what the recorded server got
 * from parts this control plane does not have: the fork's extra projected volume source, and the
 * fields kube-controller-manager writes (workload status, the revision annotation, its managedFields).
 */
function normalize(value: unknown, key = '', parent: Record<string, unknown> | null = null): unknown {
  if (Array.isArray(value)) {
    let items = value
    if (key === 'sources')
      items = items.filter(
        (s) => !(s && typeof s === 'object' && JSON.stringify(s).includes('openshift-service-ca.crt')),
      )
    if (key === 'managedFields') {
      items = items.filter(
        (m) =>
          !(m && typeof m === 'object' && (m as { manager?: string }).manager === 'kube-controller-manager'),
      )
      // Where an updated manager's entry goes in the list is the managed-fields module's business.
      const rank = (m: unknown) =>
        JSON.stringify([
          (m as { manager?: string }).manager,
          (m as { subresource?: string }).subresource ?? '',
        ])
      items = [...items].sort((a, b) => (rank(a) < rank(b) ? -1 : rank(a) > rank(b) ? 1 : 0))
    }
    return items.map((v) => normalize(v))
  }
  if (value !== null && typeof value === 'object') {
    const o = value as Record<string, unknown>
    const out: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(o)) {
      if (k === 'deployment.kubernetes.io/revision') continue
      if (k === 'status' && (o.kind === 'Deployment' || o.kind === 'Scale') && v && typeof v === 'object') {
        out[k] = o.kind === 'Scale' ? { ...(v as object), replicas: '<controller>' } : '<controller>'
        continue
      }
      out[k] = normalize(v, k, o)
    }
    if (key === 'annotations' && Object.keys(out).length === 0) return undefined
    return out
  }
  if (typeof value === 'string') {
    if (VOLATILE.has(key)) return `<${key}>`
    if (key === 'caBundle') return '<ca>'
    if (key === 'url' && value.startsWith('https://127.0.0.1:')) return value.replace(/:\d+/, ':<port>')
    if (key === 'name' && parent && typeof parent.generateName === 'string')
      return `${parent.generateName}<suffix>`
    if (key === 'name' && /^kube-api-access-/.test(value)) return 'kube-api-access-<suffix>'
    return value
      .replace(/X509SHA256=[0-9a-f]{64}/, 'X509SHA256=<fingerprint>')
      .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, '<uid>')
  }
  return value
}

/** JSON.parse, then normalize, then drop the keys normalize removed (undefined). */
function norm(text: string): unknown {
  return JSON.parse(JSON.stringify(normalize(JSON.parse(text))))
}

// ------------------------------------------------------------------------------------ corpus replay

describe('admission webhooks replayed from the recorded kube-apiserver', () => {
  let cp: ControlPlane
  let hook: WebhookServer
  let kubeconfig: string
  const audits: AuditRecord[] = []
  /** The recorded calls the webhook answers from: it gives each path's recorded answers in order. */
  let script: RecordedCall[] = []

  const ours = (text: string) => text.split(RECORDED_WEBHOOK).join(hook.url)
  const withOurWebhook = (body: string) =>
    ours(body).replace(/"caBundle":"[^"]*"/g, `"caBundle":"${hook.caBundle}"`)

  beforeAll(async () => {
    hook = await startWebhookServer()
    cp = await startControlPlane()
    cp.hooks.push({ afterWrite: (r) => audits.push(r) })
    kubeconfig = cp.kubeconfig(join(mkdtempSync(join(tmpdir(), 'plimsoll-webhooks-')), 'admin.kubeconfig'))
    hook.handler = (call) => {
      const path = call.url
      const i = script.findIndex((r) => r.url === path.replace(/^\//, '/'))
      if (i < 0) return allow(call)
      const [recorded] = script.splice(i, 1)
      const body = recorded!.response.body.replace(/"uid":"[^"]*"/, `"uid":"${reviewUid(call)}"`)
      return {
        status: recorded!.response.status,
        body,
        delayMs: recorded!.handlerMs > 1000 ? recorded!.handlerMs : 0,
      }
    }
    for (const [name, labels] of [
      ['adm', { 'admission-rec': 'on' }],
      ['adm-timeout-fail', { 'timeout-test': 'fail' }],
      ['adm-timeout-ignore', { 'timeout-test': 'ignore' }],
    ] as const) {
      const r = await api(cp, 'POST', '/api/v1/namespaces', {
        apiVersion: 'v1',
        kind: 'Namespace',
        metadata: { name, labels },
      })
      expect(r.status).toBe(201)
    }
  })

  afterAll(async () => {
    await cp?.stop()
    await hook?.stop()
  })

  it('creates the configurations (and the CRD) as the recorded server did, defaults included', async () => {
    for (const name of [
      'crd-gadgets',
      'mutatingwebhookconfiguration',
      'validatingwebhookconfiguration',
      'validatingwebhookconfiguration-timeout-fail',
      'validatingwebhookconfiguration-timeout-ignore',
    ]) {
      const s = readSetup(name)
      const r = await send(
        cp,
        s.request.method,
        s.request.path,
        s.request.headers,
        withOurWebhook(s.request.body ?? ''),
      )
      expect(r.status, name).toBe(s.response.status)
      if (name === 'crd-gadgets') continue
      expect(norm(r.body), name).toEqual(norm(s.response.body))
      expect(r.body.indexOf('"webhooks"'), `${name}: field order`).toBeGreaterThan(0)
      // Field order matters to a byte-for-byte reader: compare the keys in order too.
      expect(Object.keys((JSON.parse(r.body) as { webhooks: object[] }).webhooks[0]!)).toEqual(
        Object.keys((JSON.parse(s.response.body) as { webhooks: object[] }).webhooks[0]!),
      )
    }
    // The CRD's versions are served once it is Established.
    for (let i = 0; i < 100; i++) {
      const r = await api(cp, 'GET', '/apis/rec.example.com/v2')
      if (r.status === 200) break
      await new Promise((res) => setTimeout(res, 20))
    }
  })

  it('refuses the invalid configuration with the recorded 422', async () => {
    const s = readSetup('invalid-webhook-configuration')
    const r = await send(
      cp,
      s.request.method,
      s.request.path,
      s.request.headers,
      withOurWebhook(s.request.body ?? ''),
    )
    expect(r.status).toBe(422)
    expect(JSON.parse(r.body)).toEqual(JSON.parse(s.response.body))
  })

  /** Replays a recorded case; `calls` picks the recorded webhook calls this control plane is expected to make. */
  async function replay(
    name: string,
    opts: { calls?: (recorded: RecordedCall[]) => RecordedCall[] } = {},
  ): Promise<void> {
    const c = readCase(name)
    // Controllers (ReplicaSet, garbage collector) are not part of this control plane: their calls are not replayed.
    const direct = c.webhookCalls.filter(
      (w) =>
        !(
          JSON.parse(w.body) as { request: { userInfo: { username: string } } }
        ).request.userInfo.username.startsWith('system:'),
    )
    const expected = opts.calls ? opts.calls(direct) : direct
    script = [...expected]
    hook.calls.length = 0
    for (const step of c.steps) {
      if (step.request && step.response) {
        const rq = step.request
        const r = await send(cp, rq.method, rq.path, rq.headers, rq.body)
        expect(r.status, `${name} ${step.step}`).toBe(step.response.status)
        expect(warningsOf(r.headers), `${name} ${step.step}: Warning headers`).toEqual(
          warningsOf(step.response.headers),
        )
        const shape = (h: [string, string][]) =>
          h
            .map(([k]) => k.toLowerCase())
            .filter((k) => /^(content-type|cache-control|audit-id|x-kubernetes-pf-.*)$/.test(k))
        expect(shape(r.headers), `${name} ${step.step}: headers`).toEqual(shape(step.response.headers))
        const ct = step.response.headers.find(([k]) => k === 'Content-Type')?.[1]
        if (ct === 'application/json')
          expect(norm(r.body.split(hook.url).join(RECORDED_WEBHOOK)), `${name} ${step.step}: body`).toEqual(
            norm(step.response.body),
          )
      } else if (step.kubectl) {
        const k = step.kubectl
        const r = await kubectl(kubeconfig, k.argv.slice(1), k.stdin)
        expect(r.code, `${name} kubectl ${k.argv.join(' ')}`).toBe(k.exitCode)
        expect(ours(r.stderr).replace(hook.url, RECORDED_WEBHOOK), `${name} kubectl stderr`).toBe(
          ours(k.stderr).replace(hook.url, RECORDED_WEBHOOK),
        )
        expect(r.stdout).toBe(k.stdout)
      }
    }
    // Validating webhooks are called in parallel: their arrival order is not part of the behaviour.
    const order = <T extends { url: string }>(calls: T[]): T[] => {
      const mutating = calls.filter((c) => c.url.startsWith('/mutate/'))
      const rest = calls
        .filter((c) => !c.url.startsWith('/mutate/'))
        .sort((a, b) => (a.url < b.url ? -1 : a.url > b.url ? 1 : 0))
      return [...mutating, ...rest]
    }
    const received = hook.calls.filter(
      (call) =>
        !String(
          (call.review?.request as { userInfo?: { username?: string } })?.userInfo?.username,
        ).startsWith('system:'),
    )
    const got = order(received)
    const want = order(expected)
    expect(
      got.map((r) => r.url),
      `${name}: webhook calls`,
    ).toEqual(want.map((r) => r.url))
    for (const [i, call] of got.entries()) {
      const rec = want[i]!
      expect(norm(call.body), `${name}: AdmissionReview #${i} (${rec.url})`).toEqual(norm(rec.body))
      const names = (h: [string, string][]) =>
        h.map(([k, v]) => [k, /^(host|content-length)$/i.test(k) ? '<varies>' : v])
      expect(names(call.headers), `${name}: headers of call #${i}`).toEqual(names(rec.headers))
      expect(call.body.endsWith('\n')).toBe(true)
      if (rec.connectionClosedByCallerBeforeResponse) {
        for (let t = 0; t < 50 && !call.closedEarly; t++) await new Promise((r) => setTimeout(r, 20))
        expect(call.closedEarly, `${name}: call #${i} given up`).toBe(true)
      }
    }
  }

  it('01 Deployment create: mutating then validating, the JSONPatch applied in between', async () => {
    await replay('01-deployment-create')
    const last = audits.filter((a) => a.type.resource === 'deployments').at(-1)!
    const recordedAudit = readCase('01-deployment-create').auditEvents[0]!.annotations!
    for (const k of [
      'mutation.webhook.admission.k8s.io/round_0_index_0',
      'patch.webhook.admission.k8s.io/round_0_index_0',
    ])
      expect(last.annotations?.[k], k).toBe(recordedAudit[k])
  })
  it('02 scale subresource: the validating webhook sees Scale objects', () => replay('02-deployment-scale'))
  it('03 Deployment image change (strategic merge patch): UPDATE with oldObject', () =>
    replay('03-deployment-image-change'))
  it('04 dry-run create: webhooks with sideEffects None are called with dryRun true', () =>
    replay('04-deployment-create-dryrun'))
  it('05 Deployment delete: DELETE with oldObject and DeleteOptions', () => replay('05-deployment-delete'))
  it('06 Pod create: the validating webhook sees the mutated pod', () => replay('06-pod-create'))
  it('07 objectSelector excludes the pod from the mutating webhook', () =>
    replay('07-pod-create-objectselector-skip'))
  it('08 kubectl exec: CONNECT pods/exec for the websocket attempt and the SPDY fallback', () =>
    replay('08-pod-exec-kubectl'))
  it('09 the two exec requests sent raw: CONNECT with PodExecOptions, then 400 (no node)', () =>
    replay('09-pod-exec-raw'))
  it('10 port-forward: CONNECT with PodPortForwardOptions', () => replay('10-pod-portforward-raw'))
  it('11 ephemeral containers (as kubectl debug adds them): UPDATE on pods/ephemeralcontainers with the whole Pod', () =>
    replay('11-pod-ephemeral-container'))
  it('12 Pod delete (the recorded server asked three times during graceful deletion; once here)', () =>
    replay('12-pod-delete', { calls: (r) => r.slice(0, 1) }))
  it('13 ConfigMap allowed', () => replay('13-configmap-allowed'))
  it('14 allowed with a warning: Warning header and audit annotation', async () => {
    await replay('14-configmap-allowed-with-warnings')
    const last = audits.filter((a) => a.type.resource === 'configmaps').at(-1)!
    expect(last.annotations?.['validate-configmaps.rec.example.com/decision']).toBe('allowed-with-warning')
  })
  it('15 denied with status 403, warnings and audit annotations; kubectl create and apply print it', () =>
    replay('15-configmap-denied'))
  it('16 denied without a status: 400 "without explanation"', () =>
    replay('16-configmap-denied-without-status'))
  it('17 a false matchCondition skips the webhook', () => replay('17-configmap-matchconditions-skip'))
  it('18 UPDATE (merge patch) then DELETE', () => replay('18-configmap-update-delete'))
  it('19 UPDATE denied', () => replay('19-configmap-update-denied'))
  it('20 matchPolicy Equivalent: a v2 request reaches the v1 webhook converted, Exact does not', () =>
    replay('20-matchpolicy-equivalent-v2'))
  it('21 a v1 request reaches both gadget webhooks', () => replay('21-matchpolicy-v1'))
  it(
    '22 timeout with failurePolicy Fail: 500 after timeoutSeconds',
    () => replay('22-webhook-timeout-failurepolicy-fail'),
    15_000,
  )
  it('23 timeout with failurePolicy Ignore: created, failed-open annotation', async () => {
    await replay('23-webhook-timeout-failurepolicy-ignore')
    const last = audits.filter((a) => a.type.resource === 'configmaps').at(-1)!
    expect(last.annotations?.['failed-open.validating.webhook.admission.k8s.io/round_0_index_0']).toBe(
      'slow-ignore.rec.example.com',
    )
  }, 15_000)
  it('24 the timeout as kubectl create prints it', () => replay('24-webhook-timeout-fail-kubectl'), 15_000)
})

// ------------------------------------------------------------------------------- further behaviour

describe('admission webhooks: behaviour beyond the recorded cases', () => {
  let cp: ControlPlane
  let hook: WebhookServer
  let limited: { cert: string; key: string }
  const audits: AuditRecord[] = []
  let routes: Record<string, (call: ReceivedCall) => ReturnType<WebhookServer['handler']>> = {}

  beforeAll(async () => {
    hook = await startWebhookServer({ dnsNames: ['svc.hooks.svc'] })
    cp = await startControlPlane({
      webhooks: {
        serviceAddress: (ns, name, port) =>
          ns === 'hooks' && name === 'svc' && port === 8443 ? hook.url : undefined,
      },
    })
    cp.hooks.push({ afterWrite: (r) => audits.push(r) })
    const creds = cp.user('limited', {
      rules: [{ verbs: ['create', 'delete', 'get'], apiGroups: [''], resources: ['configmaps'] }],
    })
    limited = { cert: creds.cert, key: creds.key }
    hook.handler = (call) => {
      const path = call.url.split('?')[0]!
      return (routes[path] ?? allow)(call)
    }
    await api(cp, 'POST', '/api/v1/namespaces', {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: 'beh', labels: { t: 'b' } },
    })
    await api(cp, 'POST', '/api/v1/namespaces', {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: 'other' },
    })
  })

  afterAll(async () => {
    await cp?.stop()
    await hook?.stop()
  })

  const CM_RULE = { apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE'], resources: ['configmaps'] }

  function webhook(name: string, path: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
    return {
      name,
      clientConfig: { url: `${hook.url}${path}`, caBundle: hook.caBundle },
      admissionReviewVersions: ['v1'],
      sideEffects: 'None',
      rules: [CM_RULE],
      namespaceSelector: { matchLabels: { t: 'b' } },
      ...extra,
    }
  }

  const configPath = (mutating: boolean) =>
    `/apis/admissionregistration.k8s.io/v1/${mutating ? 'mutating' : 'validating'}webhookconfigurations`

  /** Creates configurations, runs the body, deletes them again, and clears what the webhook saw. */
  async function withConfigs(
    configs: { name: string; mutating?: boolean; webhooks: Record<string, unknown>[] }[],
    r: Record<string, (call: ReceivedCall) => ReturnType<WebhookServer['handler']>>,
    body: () => Promise<void>,
  ): Promise<void> {
    routes = r
    hook.calls.length = 0
    for (const c of configs) {
      const res = await api(cp, 'POST', configPath(Boolean(c.mutating)), {
        apiVersion: 'admissionregistration.k8s.io/v1',
        kind: c.mutating ? 'MutatingWebhookConfiguration' : 'ValidatingWebhookConfiguration',
        metadata: { name: c.name },
        webhooks: c.webhooks,
      })
      expect(res.status, res.body).toBe(201)
    }
    try {
      await body()
    } finally {
      for (const c of configs) await api(cp, 'DELETE', `${configPath(Boolean(c.mutating))}/${c.name}`)
      routes = {}
    }
  }

  let n = 0
  const configMap = (labels: Record<string, string> = {}, extra: Record<string, unknown> = {}) => ({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: `cm-${++n}`, labels: { x: 'y', ...labels } },
    data: { k: 'v' },
    ...extra,
  })
  const patchOf = (ops: unknown[]) => ({
    patchType: 'JSONPatch',
    patch: Buffer.from(JSON.stringify(ops)).toString('base64'),
  })
  // biome-ignore lint/suspicious/noExplicitAny: the tests read deep into received JSON
  const req = (call: ReceivedCall) => call.review?.request as Record<string, any>
  const statusOf = (r: Answer) =>
    JSON.parse(r.body) as { code: number; message: string; reason?: string; details?: unknown }

  it('calls mutating webhooks in configuration-name order, applies each patch before the next, and reinvokes IfNeeded once', async () => {
    await withConfigs(
      [
        { name: 'b-second', mutating: true, webhooks: [webhook('b.mutate.test.io', '/b')] },
        {
          name: 'a-first',
          mutating: true,
          webhooks: [webhook('a.mutate.test.io', '/a', { reinvocationPolicy: 'IfNeeded' })],
        },
        { name: 'v', webhooks: [webhook('v.validate.test.io', '/v')] },
      ],
      {
        '/a': (call) => allow(call, patchOf([{ op: 'add', path: '/metadata/labels/a', value: '1' }])),
        '/b': (call) => allow(call, patchOf([{ op: 'add', path: '/metadata/labels/b', value: '1' }])),
      },
      async () => {
        const r = await api(cp, 'POST', '/api/v1/namespaces/beh/configmaps', configMap())
        expect(r.status).toBe(201)
        expect(JSON.parse(r.body).metadata.labels).toEqual({ x: 'y', a: '1', b: '1' })
        expect(hook.calls.map((c) => c.url)).toEqual([
          '/a?timeout=10s',
          '/b?timeout=10s',
          '/a?timeout=10s',
          '/v?timeout=10s',
        ])
        expect(req(hook.calls[1]!).object.metadata.labels).toEqual({ x: 'y', a: '1' })
        expect(req(hook.calls[2]!).object.metadata.labels).toEqual({ x: 'y', a: '1', b: '1' })
        expect(req(hook.calls[3]!).object.metadata.labels).toEqual({ x: 'y', a: '1', b: '1' })
        const annotations = audits.at(-1)!.annotations!
        expect(JSON.parse(annotations['mutation.webhook.admission.k8s.io/round_0_index_0']!)).toEqual({
          configuration: 'a-first',
          webhook: 'a.mutate.test.io',
          mutated: true,
        })
        expect(
          JSON.parse(annotations['mutation.webhook.admission.k8s.io/round_0_index_1']!).configuration,
        ).toBe('b-second')
        expect(JSON.parse(annotations['mutation.webhook.admission.k8s.io/round_1_index_0']!).mutated).toBe(
          false,
        )
      },
    )
  })

  it('sends v1beta1 when the webhook lists it first, and accepts its answer without a uid', async () => {
    await withConfigs(
      [
        {
          name: 'beta',
          webhooks: [webhook('beta.test.io', '/beta', { admissionReviewVersions: ['v1beta1', 'v1'] })],
        },
      ],
      {
        '/beta': () => ({
          body: {
            apiVersion: 'admission.k8s.io/v1beta1',
            kind: 'AdmissionReview',
            response: { allowed: true },
          },
        }),
      },
      async () => {
        expect((await api(cp, 'POST', '/api/v1/namespaces/beh/configmaps', configMap())).status).toBe(201)
        expect(hook.calls[0]!.review?.apiVersion).toBe('admission.k8s.io/v1beta1')
      },
    )
  })

  it('calls a service reference at the address the test maps it to, with the service host name', async () => {
    const service = { namespace: 'hooks', name: 'svc', path: '/svc', port: 8443 }
    await withConfigs(
      [
        {
          name: 'svc',
          webhooks: [webhook('svc.test.io', '', { clientConfig: { service, caBundle: hook.caBundle } })],
        },
      ],
      {},
      async () => {
        expect((await api(cp, 'POST', '/api/v1/namespaces/beh/configmaps', configMap())).status).toBe(201)
        expect(hook.calls[0]!.url).toBe('/svc?timeout=10s')
        expect(hook.calls[0]!.headers.find(([k]) => k === 'Host')?.[1]).toBe('svc.hooks.svc:8443')
      },
    )
    await withConfigs(
      [
        {
          name: 'nosvc',
          webhooks: [
            webhook('nosvc.test.io', '', {
              clientConfig: { service: { ...service, name: 'gone' }, caBundle: hook.caBundle },
            }),
          ],
        },
      ],
      {},
      async () => {
        const r = await api(cp, 'POST', '/api/v1/namespaces/beh/configmaps', configMap())
        expect(r.status).toBe(500)
        expect(statusOf(r).message).toBe(
          'Internal error occurred: failed calling webhook "nosvc.test.io": failed to call webhook: Post "https://gone.hooks.svc:8443/svc?timeout=10s": dial tcp: lookup gone.hooks.svc: no such host',
        )
      },
    )
  })

  it('trusts the caBundle and nothing else; failurePolicy Ignore fails open with the audit annotation', async () => {
    const wrongCa = Buffer.from(cp.ca).toString('base64')
    await withConfigs(
      [
        {
          name: 'tls',
          webhooks: [
            webhook('tls.test.io', '/tls', { clientConfig: { url: `${hook.url}/tls`, caBundle: wrongCa } }),
          ],
        },
      ],
      {},
      async () => {
        const r = await api(cp, 'POST', '/api/v1/namespaces/beh/configmaps', configMap())
        expect(r.status).toBe(500)
        expect(statusOf(r)).toMatchObject({
          reason: 'InternalError',
          message: `Internal error occurred: failed calling webhook "tls.test.io": failed to call webhook: Post "${hook.url}/tls?timeout=10s": tls: failed to verify certificate: x509: certificate signed by unknown authority`,
        })
        expect(hook.calls).toHaveLength(0)
      },
    )
    await withConfigs(
      [
        {
          name: 'tls',
          webhooks: [
            webhook('tls.test.io', '/tls', {
              failurePolicy: 'Ignore',
              clientConfig: { url: `${hook.url}/tls`, caBundle: wrongCa },
            }),
          ],
        },
      ],
      {},
      async () => {
        expect((await api(cp, 'POST', '/api/v1/namespaces/beh/configmaps', configMap())).status).toBe(201)
        expect(
          audits.at(-1)!.annotations?.['failed-open.validating.webhook.admission.k8s.io/round_0_index_0'],
        ).toBe('tls.test.io')
      },
    )
  })

  it('words a refused connection as the API server does', async () => {
    const closed = await startWebhookServer()
    const port = closed.port
    await closed.stop()
    await withConfigs(
      [
        {
          name: 'down',
          webhooks: [
            webhook('down.test.io', '', {
              clientConfig: { url: `https://127.0.0.1:${port}/x`, caBundle: hook.caBundle },
            }),
          ],
        },
      ],
      {},
      async () => {
        const r = await api(cp, 'POST', '/api/v1/namespaces/beh/configmaps', configMap())
        expect(statusOf(r).message).toBe(
          `Internal error occurred: failed calling webhook "down.test.io": failed to call webhook: Post "https://127.0.0.1:${port}/x?timeout=10s": dial tcp 127.0.0.1:${port}: connect: connection refused`,
        )
      },
    )
  })

  it('treats a wrong uid, a malformed review, a patch from a validating webhook and an HTTP error as webhook failures', async () => {
    const cases: [string, (call: ReceivedCall) => ReturnType<WebhookServer['handler']>, string][] = [
      [
        '/uid',
        () => ({
          body: {
            apiVersion: 'admission.k8s.io/v1',
            kind: 'AdmissionReview',
            response: { uid: 'nope', allowed: true },
          },
        }),
        'received invalid webhook response: expected response.uid="<uid>", got "nope"',
      ],
      [
        '/kind',
        (call) => ({
          body: {
            apiVersion: 'admission.k8s.io/v1beta1',
            kind: 'AdmissionReview',
            response: { uid: reviewUid(call), allowed: true },
          },
        }),
        'received invalid webhook response: expected webhook response of admission.k8s.io/v1, Kind=AdmissionReview, got admission.k8s.io/v1beta1, Kind=AdmissionReview',
      ],
      [
        '/empty',
        () => ({ body: { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview' } }),
        'received invalid webhook response: webhook response was absent',
      ],
      [
        '/patch',
        (call) => allow(call, patchOf([{ op: 'add', path: '/metadata/labels/z', value: '1' }])),
        'received invalid webhook response: validating webhook may not return response.patch',
      ],
      [
        '/oops',
        () => ({ status: 500, body: 'oops' }),
        'failed to call webhook: an error on the server ("oops") has prevented the request from succeeding',
      ],
    ]
    for (const [path, answer, reason] of cases) {
      await withConfigs(
        [{ name: 'bad', webhooks: [webhook('bad.test.io', path)] }],
        { [path]: answer },
        async () => {
          const r = await api(cp, 'POST', '/api/v1/namespaces/beh/configmaps', configMap())
          expect(r.status, path).toBe(500)
          const uid = reviewUid(hook.calls[0]!)
          expect(statusOf(r).message.replace(uid, '<uid>'), path).toBe(
            `Internal error occurred: failed calling webhook "bad.test.io": ${reason}`,
          )
        },
      )
    }
  })

  it('refuses a mutation of a DELETE, and a mutation that makes the object invalid', async () => {
    const cm = configMap()
    expect((await api(cp, 'POST', '/api/v1/namespaces/beh/configmaps', cm)).status).toBe(201)
    await withConfigs(
      [
        {
          name: 'del',
          mutating: true,
          webhooks: [webhook('del.test.io', '/del', { rules: [{ ...CM_RULE, operations: ['DELETE'] }] })],
        },
      ],
      { '/del': (call) => allow(call, patchOf([{ op: 'add', path: '/metadata/labels/z', value: '1' }])) },
      async () => {
        const r = await api(cp, 'DELETE', `/api/v1/namespaces/beh/configmaps/${cm.metadata.name}`)
        expect(r.status).toBe(500)
        expect(statusOf(r).message).toBe(
          'Internal error occurred: admission webhook "del.test.io" attempted to modify the object, which is not supported for this operation',
        )
        expect(req(hook.calls[0]!).object).toBeNull()
        expect(req(hook.calls[0]!).oldObject.metadata.name).toBe(cm.metadata.name)
      },
    )
    await withConfigs(
      [{ name: 'bad-label', mutating: true, webhooks: [webhook('bad-label.test.io', '/bl')] }],
      { '/bl': (call) => allow(call, patchOf([{ op: 'add', path: '/metadata/labels/bad', value: '-no-' }])) },
      async () => {
        const r = await api(cp, 'POST', '/api/v1/namespaces/beh/configmaps', configMap())
        expect(r.status).toBe(422)
        expect(statusOf(r).message).toMatch(
          /^ConfigMap "cm-\d+" is invalid: metadata.labels: Invalid value: "-no-"/,
        )
      },
    )
  })

  it('words denials as the API server does and passes every webhook warning on', async () => {
    await withConfigs(
      [
        {
          name: 'deny',
          webhooks: [webhook('one.test.io', '/one'), webhook('two.test.io', '/two')],
        },
      ],
      {
        '/one': (call) => allow(call, { warnings: ['first warning'] }),
        '/two': (call) =>
          allow(call, {
            allowed: false,
            status: { code: 200, reason: 'NotToday' },
            warnings: ['second warning'],
          }),
      },
      async () => {
        const r = await api(cp, 'POST', '/api/v1/namespaces/beh/configmaps', configMap())
        expect(r.status).toBe(400)
        expect(JSON.parse(r.body)).toEqual({
          kind: 'Status',
          apiVersion: 'v1',
          metadata: {},
          status: 'Failure',
          message: 'admission webhook "two.test.io" denied the request: NotToday',
          reason: 'NotToday',
          code: 400,
        })
        expect(warningsOf(r.headers).sort()).toEqual(['299 - "first warning"', '299 - "second warning"'])
      },
    )
  })

  it('follows failurePolicy when a matchCondition fails to evaluate, and checks the authorizer', async () => {
    const broken = [{ name: 'broken', expression: "object.data.missing == 'x'" }]
    await withConfigs(
      [{ name: 'mc', webhooks: [webhook('mc.test.io', '/mc', { matchConditions: broken })] }],
      {},
      async () => {
        const cm = configMap()
        const r = await api(cp, 'POST', '/api/v1/namespaces/beh/configmaps', cm)
        expect(r.status).toBe(403)
        expect(statusOf(r).message).toBe(
          `configmaps "${cm.metadata.name}" is forbidden: expression 'object.data.missing == 'x'' resulted in error: no such key: missing`,
        )
        expect(hook.calls).toHaveLength(0)
      },
    )
    await withConfigs(
      [
        {
          name: 'mc',
          webhooks: [webhook('mc.test.io', '/mc', { matchConditions: broken, failurePolicy: 'Ignore' })],
        },
      ],
      {},
      async () => {
        expect((await api(cp, 'POST', '/api/v1/namespaces/beh/configmaps', configMap())).status).toBe(201)
        expect(hook.calls).toHaveLength(0)
      },
    )
    const canListSecrets = [
      {
        name: 'can-list-secrets',
        expression:
          "authorizer.group('').resource('secrets').namespace(request.namespace).check('list').allowed()",
      },
    ]
    await withConfigs(
      [
        {
          name: 'authz',
          webhooks: [webhook('authz.test.io', '/authz', { matchConditions: canListSecrets })],
        },
      ],
      {},
      async () => {
        expect((await api(cp, 'POST', '/api/v1/namespaces/beh/configmaps', configMap())).status).toBe(201)
        expect(hook.calls).toHaveLength(1)
        const r = await new Promise<number>((resolve, reject) => {
          const q = httpsRequest(
            new URL('/api/v1/namespaces/beh/configmaps', cp.url),
            {
              method: 'POST',
              ca: cp.ca,
              ...limited,
              agent: false,
              headers: { 'Content-Type': 'application/json' },
            },
            (res) => {
              res.resume()
              res.on('end', () => resolve(res.statusCode ?? 0))
            },
          )
          q.on('error', reject)
          q.end(JSON.stringify(configMap()))
        })
        expect(r).toBe(201)
        expect(hook.calls).toHaveLength(1)
      },
    )
  })

  it('applies namespaceSelector to Namespace objects by their own labels, never to cluster-scoped objects', async () => {
    const nsRule = { apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE'], resources: ['namespaces'] }
    const crRule = {
      apiGroups: ['rbac.authorization.k8s.io'],
      apiVersions: ['v1'],
      operations: ['CREATE'],
      resources: ['clusterroles'],
    }
    await withConfigs(
      [{ name: 'ns', webhooks: [webhook('ns.test.io', '/ns', { rules: [nsRule, crRule] })] }],
      {},
      async () => {
        await api(cp, 'POST', '/api/v1/namespaces', {
          apiVersion: 'v1',
          kind: 'Namespace',
          metadata: { name: 'sel-yes', labels: { t: 'b' } },
        })
        await api(cp, 'POST', '/api/v1/namespaces', {
          apiVersion: 'v1',
          kind: 'Namespace',
          metadata: { name: 'sel-no' },
        })
        await api(cp, 'POST', '/apis/rbac.authorization.k8s.io/v1/clusterroles', {
          apiVersion: 'rbac.authorization.k8s.io/v1',
          kind: 'ClusterRole',
          metadata: { name: 'sel-cr' },
          rules: [],
        })
        expect(hook.calls.map((c) => [req(c).name, req(c).namespace ?? ''])).toEqual([
          ['sel-yes', 'sel-yes'],
          ['sel-cr', ''],
        ])
      },
    )
  })

  it('matches objectSelector against the old labels on DELETE, and rules against subresources and scope', async () => {
    const cm = configMap({ pick: 'me' })
    expect((await api(cp, 'POST', '/api/v1/namespaces/beh/configmaps', cm)).status).toBe(201)
    const pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'p1' },
      spec: { containers: [{ name: 'c', image: 'busybox' }] },
    }
    expect((await api(cp, 'POST', '/api/v1/namespaces/beh/pods', pod)).status).toBe(201)
    const podRule = (resources: string[], scope = '*') => ({
      apiGroups: [''],
      apiVersions: ['v1'],
      operations: ['UPDATE'],
      resources,
      scope,
    })
    await withConfigs(
      [
        {
          name: 'sel',
          webhooks: [
            webhook('del.test.io', '/del', {
              rules: [{ ...CM_RULE, operations: ['DELETE'] }],
              objectSelector: { matchLabels: { pick: 'me' } },
            }),
            webhook('all.test.io', '/all', { rules: [podRule(['*/*'])] }),
            webhook('plain.test.io', '/plain', { rules: [podRule(['pods'])] }),
            webhook('status.test.io', '/status', { rules: [podRule(['pods/status'], 'Namespaced')] }),
            webhook('cluster.test.io', '/cluster', { rules: [podRule(['*/*'], 'Cluster')] }),
          ],
        },
      ],
      {},
      async () => {
        expect(
          (await api(cp, 'DELETE', `/api/v1/namespaces/beh/configmaps/${cm.metadata.name}`)).status,
        ).toBe(200)
        const status = { status: { conditions: [{ type: 'Ready', status: 'False' }] } }
        const r = await api(
          cp,
          'PATCH',
          '/api/v1/namespaces/beh/pods/p1/status',
          status,
          'application/merge-patch+json',
        )
        expect(r.status).toBe(200)
        expect(hook.calls.map((c) => c.url.split('?')[0]).sort()).toEqual(['/all', '/del', '/status'])
        const statusCall = hook.calls.find((c) => c.url.startsWith('/status'))!
        expect(req(statusCall).subResource).toBe('status')
        expect(req(statusCall).options).toEqual({ kind: 'UpdateOptions', apiVersion: 'meta.k8s.io/v1' })
      },
    )
  })

  it('does not call webhooks with side effects on a dry run, and fails the request as the API server does', async () => {
    const cfg = {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'ValidatingWebhookConfiguration',
      metadata: { name: 'side-effects' },
      webhooks: [
        webhook('some.test.io', '/some', {
          sideEffects: 'Some',
          failurePolicy: 'Ignore',
          matchPolicy: 'Equivalent',
          timeoutSeconds: 10,
        }),
      ],
    }
    // Only a configuration stored before v1 validation could say Some; load() stores it unvalidated.
    cp.load([cfg])
    routes = {}
    hook.calls.length = 0
    try {
      const r = await api(cp, 'POST', '/api/v1/namespaces/beh/configmaps?dryRun=All', configMap())
      expect(r.status).toBe(400)
      expect(statusOf(r)).toMatchObject({
        reason: 'BadRequest',
        message: 'admission webhook "some.test.io" does not support dry run',
      })
      expect(hook.calls).toHaveLength(0)
      expect((await api(cp, 'POST', '/api/v1/namespaces/beh/configmaps', configMap())).status).toBe(201)
      expect(hook.calls).toHaveLength(1)
    } finally {
      await api(cp, 'DELETE', `${configPath(false)}/side-effects`)
    }
    await withConfigs(
      [{ name: 'dry', webhooks: [webhook('dry.test.io', '/dry', { sideEffects: 'NoneOnDryRun' })] }],
      {},
      async () => {
        expect(
          (await api(cp, 'POST', '/api/v1/namespaces/beh/configmaps?dryRun=All', configMap())).status,
        ).toBe(201)
        expect(req(hook.calls[0]!).dryRun).toBe(true)
        expect(req(hook.calls[0]!).options).toEqual({
          kind: 'CreateOptions',
          apiVersion: 'meta.k8s.io/v1',
          dryRun: ['All'],
        })
      },
    )
  })

  it('shows mutating webhooks the object before the server names it, and validating ones after', async () => {
    await withConfigs(
      [
        { name: 'gen-m', mutating: true, webhooks: [webhook('gen-m.test.io', '/gm', { timeoutSeconds: 3 })] },
        { name: 'gen-v', webhooks: [webhook('gen-v.test.io', '/gv')] },
      ],
      {},
      async () => {
        const cm = {
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { generateName: 'gen-' },
          data: { k: 'v' },
        }
        const r = await api(cp, 'POST', '/api/v1/namespaces/beh/configmaps', cm)
        expect(r.status).toBe(201)
        const name = JSON.parse(r.body).metadata.name as string
        const [m, v] = hook.calls
        expect(m!.url).toBe('/gm?timeout=3s')
        expect(req(m!).name).toBeUndefined()
        expect(req(m!).object.metadata).toMatchObject({ generateName: 'gen-', creationTimestamp: null })
        expect(req(m!).object.metadata.name).toBeUndefined()
        expect(req(m!).object.metadata.uid).toBeUndefined()
        expect(req(v!).name).toBe(name)
        expect(req(v!).object.metadata.name).toBe(name)
        expect(req(v!).object.metadata.uid).toBe(JSON.parse(r.body).metadata.uid)
      },
    )
  })

  it('admits exec as CONNECT; a denial stops it, and a bound pod fails as with no kubelet listening', async () => {
    const node = { apiVersion: 'v1', kind: 'Node', metadata: { name: 'node-1' } }
    expect((await api(cp, 'POST', '/api/v1/nodes', node)).status).toBe(201)
    const status = {
      status: {
        addresses: [{ type: 'InternalIP', address: '127.0.0.1' }],
        daemonEndpoints: { kubeletEndpoint: { Port: 41923 } },
      },
    }
    expect(
      (await api(cp, 'PATCH', '/api/v1/nodes/node-1/status', status, 'application/merge-patch+json')).status,
    ).toBe(200)
    const pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'bound' },
      spec: { nodeName: 'node-1', containers: [{ name: 'app', image: 'busybox' }] },
    }
    expect((await api(cp, 'POST', '/api/v1/namespaces/beh/pods', pod)).status).toBe(201)
    const connect = {
      apiGroups: [''],
      apiVersions: ['v1'],
      operations: ['CONNECT'],
      resources: ['pods/exec'],
    }
    const exec =
      '/api/v1/namespaces/beh/pods/bound/exec?command=cat&command=%2Fetc%2Fshadow&container=app&stdout=true&stderr=true'
    await withConfigs(
      [{ name: 'connect', webhooks: [webhook('connect.test.io', '/connect', { rules: [connect] })] }],
      {},
      async () => {
        const r = await api(cp, 'POST', exec)
        expect(r.status).toBe(500)
        expect(statusOf(r).message).toBe(
          'Internal error occurred: error sending request: Post "https://127.0.0.1:41923/exec/beh/bound/app?command=cat&command=%2Fetc%2Fshadow&error=1&output=1": dial tcp 127.0.0.1:41923: connect: connection refused',
        )
        expect(req(hook.calls[0]!)).toMatchObject({
          operation: 'CONNECT',
          subResource: 'exec',
          kind: { group: '', version: 'v1', kind: 'PodExecOptions' },
          object: {
            kind: 'PodExecOptions',
            apiVersion: 'v1',
            stdout: true,
            stderr: true,
            container: 'app',
            command: ['cat', '/etc/shadow'],
          },
          options: null,
        })
      },
    )
    await withConfigs(
      [{ name: 'connect', webhooks: [webhook('connect.test.io', '/connect', { rules: [connect] })] }],
      { '/connect': (call) => allow(call, { allowed: false, status: { code: 403, message: 'no shells' } }) },
      async () => {
        const r = await api(cp, 'GET', exec)
        expect(r.status).toBe(403)
        expect(statusOf(r).message).toBe('admission webhook "connect.test.io" denied the request: no shells')
      },
    )
  })

  it('never sends the webhook configurations themselves to webhooks', async () => {
    const everything = { apiGroups: ['*'], apiVersions: ['*'], operations: ['*'], resources: ['*/*'] }
    await withConfigs(
      [
        {
          name: 'all',
          webhooks: [webhook('all.test.io', '/all', { rules: [everything], namespaceSelector: {} })],
        },
      ],
      {},
      async () => {
        const res = await api(cp, 'POST', configPath(true), {
          apiVersion: 'admissionregistration.k8s.io/v1',
          kind: 'MutatingWebhookConfiguration',
          metadata: { name: 'inner' },
          webhooks: [],
        })
        expect(res.status).toBe(201)
        await api(cp, 'DELETE', `${configPath(true)}/inner`)
        expect(
          hook.calls.filter((c) => /WebhookConfiguration/.test(JSON.stringify(req(c).kind))),
        ).toHaveLength(0)
      },
    )
  })

  it('validates webhook configurations with the API server field errors', async () => {
    const bad = {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'ValidatingWebhookConfiguration',
      metadata: { name: 'invalid' },
      webhooks: [
        { ...webhook('dup.test.io', '/x'), timeoutSeconds: 31, clientConfig: { url: 'http://127.0.0.1/x' } },
        { ...webhook('dup.test.io', '/x'), admissionReviewVersions: [], failurePolicy: 'Maybe' },
        {
          ...webhook('short', '/x'),
          rules: [{ ...CM_RULE, operations: ['GET'] }],
          matchConditions: [{ name: 'typed', expression: "'abc'" }],
        },
      ],
    }
    const r = await api(cp, 'POST', configPath(false), bad)
    expect(r.status).toBe(422)
    const causes = (statusOf(r).details as { causes: { field: string; message: string }[] }).causes
    expect(causes.map((c) => `${c.field}: ${c.message}`)).toEqual([
      'webhooks[0].timeoutSeconds: Invalid value: 31: the timeout value must be between 1 and 30 seconds',
      `webhooks[0].clientConfig.url: Invalid value: "http": 'https' is the only allowed URL scheme; desired format: https://host[/path]`,
      'webhooks[1].failurePolicy: Unsupported value: "Maybe": supported values: "Fail", "Ignore"',
      'webhooks[1].admissionReviewVersions: Required value: must specify one of v1, v1beta1',
      'webhooks[1].name: Duplicate value: "dup.test.io"',
      'webhooks[2].name: Invalid value: "short": should be a domain with at least three segments separated by dots',
      'webhooks[2].rules[0].operations[0]: Unsupported value: "GET": supported values: "*", "CONNECT", "CREATE", "DELETE", "UPDATE"',
      `webhooks[2].matchConditions[0].expression: Invalid value: "'abc'": must evaluate to bool but got string`,
    ])
  })

  it('calls nothing when started with webhooks: false', async () => {
    const off = await startControlPlane({ webhooks: false })
    try {
      await api(off, 'POST', '/api/v1/namespaces', {
        apiVersion: 'v1',
        kind: 'Namespace',
        metadata: { name: 'beh', labels: { t: 'b' } },
      })
      await api(off, 'POST', configPath(false), {
        apiVersion: 'admissionregistration.k8s.io/v1',
        kind: 'ValidatingWebhookConfiguration',
        metadata: { name: 'off' },
        webhooks: [webhook('off.test.io', '/off')],
      })
      hook.calls.length = 0
      expect((await api(off, 'POST', '/api/v1/namespaces/beh/configmaps', configMap())).status).toBe(201)
      expect(hook.calls).toHaveLength(0)
    } finally {
      await off.stop()
    }
  })
})
