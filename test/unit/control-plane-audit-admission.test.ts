/**
 * Audit events of requests that went through admission, against the recorded server's
 * (shared/corpus/kube-apiserver/05-admission, audit policy audit-policy-run2.yaml): the recorded
 * requests of cases 14 (a validating webhook allows with a warning) and 15 (it denies with a 403),
 * with a webhook here answering what the recorded webhook answered, and case 07 (a pod the PodSecurity
 * plugin admits at privileged:latest); and the compliant pods of 07-pod-security, whose
 * enforce-policy annotation comes from the namespace's labels (baseline:latest, privileged:latest,
 * baseline:v1.31). The events must equal the recorded ones but for what differs per run (auditID,
 * timestamps, the client certificate's fingerprint) and the response objects (the recorded pods went
 * through the OpenShift fork's ServiceAccount admission).
 */
import { readFileSync } from 'node:fs'
import { createServer, request, type Server } from 'node:https'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Pki } from '../../src/control-plane/certs.js'
import { type ControlPlane, startControlPlane } from '../../src/control-plane/server.js'
import { corpusPath } from '../helpers/corpus.js'

type Obj = Record<string, unknown>

interface Case {
  readonly steps: {
    request: { method: string; path: string; headers: [string, string][]; body: string | null }
  }[]
  readonly webhookCalls: { url: string; response: { body: string } }[]
  readonly auditEvents: Obj[]
}

const admission = (file: string) => corpusPath('kube-apiserver', '05-admission', file)
const readCase = (name: string) => JSON.parse(readFileSync(admission(`cases/${name}.json`), 'utf8')) as Case

let pki: Pki
let webhook: Server
let cp: ControlPlane
const events: Obj[] = []
/** What the webhook answers next, by path: the recorded AdmissionReview response, with this uid. */
const answers = new Map<string, Obj>()

function send(step: Case['steps'][number]): Promise<{ status: number; auditId: string }> {
  const headers: Record<string, string> = {}
  for (const [k, v] of step.request.headers) if (k !== 'Host' && k !== 'Connection') headers[k] = v
  return new Promise((resolve, reject) => {
    const req = request(
      `${cp.url}${step.request.path}`,
      {
        method: step.request.method,
        headers,
        ca: cp.ca,
        cert: cp.admin.cert,
        key: cp.admin.key,
        agent: false,
      },
      (res) => {
        res.resume()
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, auditId: String(res.headers['audit-id']) }),
        )
      },
    )
    req.on('error', reject)
    req.end(step.request.body ?? undefined)
  })
}

/**
 * Sends the case's first request and, once its events are in, gives its status, the stages of its
 * events here and the first of them (`got`), and the recorded event of its URI (`want`).
 */
async function replay(
  recorded: Case,
): Promise<{ status: number; stages: unknown[]; got: Obj | undefined; want: Obj | undefined }> {
  const step = recorded.steps[0]!
  const r = await send(step)
  await new Promise((res) => setTimeout(res, 30))
  const mine = events.filter((e) => e.auditID === r.auditId)
  return {
    status: r.status,
    stages: mine.map((e) => e.stage),
    got: mine[0],
    want: recorded.auditEvents.find((e) => e.requestURI === step.request.path),
  }
}

/** An event with what differs per run replaced. */
function normalised(e: Obj | undefined): Obj {
  if (!e) return {}
  const {
    kind: _k,
    apiVersion: _a,
    auditID: _i,
    requestReceivedTimestamp: _r,
    stageTimestamp: _s,
    ...rest
  } = e
  const user = { ...(rest.user as Obj) }
  if (user.extra) user.extra = { 'authentication.kubernetes.io/credential-id': ['X509SHA256=<fingerprint>'] }
  return { ...rest, user }
}

beforeAll(async () => {
  pki = new Pki()
  webhook = createServer({ key: pki.server.key, cert: pki.server.cert }, (req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const review = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { request: { uid: string } }
      const path = (req.url ?? '').split('?')[0] ?? ''
      const answer = answers.get(path) ?? { response: { allowed: true } }
      const body = { ...answer, response: { ...(answer.response as Obj), uid: review.request.uid } }
      res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(body))
    })
  })
  await new Promise<void>((resolve) => webhook.listen(0, '127.0.0.1', resolve))
  const base = `https://127.0.0.1:${(webhook.address() as AddressInfo).port}`
  cp = await startControlPlane({
    audit: {
      policy: readFileSync(admission('audit-policy-run2.yaml'), 'utf8'),
      sink: (e) => events.push(e),
    },
  })
  // The recorded setup: namespace adm labelled for the webhooks, and the configmaps webhook of
  // rec-validating (05-admission/setup/validatingwebhookconfiguration.json) pointing here.
  const setup = JSON.parse(readFileSync(admission('setup/validatingwebhookconfiguration.json'), 'utf8')) as {
    request: { body: string }
  }
  const config = JSON.parse(setup.request.body) as { webhooks: Obj[] } & Obj
  config.webhooks = config.webhooks
    .filter((w) => w.name === 'validate-configmaps.rec.example.com')
    .map((w) => ({
      ...w,
      clientConfig: {
        url: `${base}/validate/configmaps`,
        caBundle: Buffer.from(pki.serverCa.cert).toString('base64'),
      },
    }))
  cp.load(
    [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'adm', labels: { 'admission-rec': 'on' } } }],
    { asCreated: true },
  )
  cp.load([config], { asCreated: true })
})

afterAll(async () => {
  await cp?.stop()
  if (webhook) {
    webhook.closeAllConnections()
    await new Promise<void>((resolve) => webhook.close(() => resolve()))
  }
  pki?.dispose()
})

describe('audit events of admitted and denied requests (05-admission)', () => {
  for (const name of ['14-configmap-allowed-with-warnings', '15-configmap-denied']) {
    it(`${name}: the webhook's audit annotations, as recorded`, async () => {
      const recorded = readCase(name)
      answers.set('/validate/configmaps', JSON.parse(recorded.webhookCalls[0]?.response.body ?? '{}') as Obj)
      const { status, stages, got, want } = await replay(recorded)
      expect(status).toBe((want?.responseStatus as Obj | undefined)?.code)
      // The run-2 policy omits RequestReceived.
      expect(stages).toEqual(['ResponseComplete'])
      const ours = normalised(got)
      const theirs = normalised(want)
      // The response object of a create carries the uid and times of this run.
      if (isCreated(theirs)) {
        expect(strip(ours.responseObject)).toEqual(strip(theirs.responseObject))
        delete ours.responseObject
        delete theirs.responseObject
      }
      expect(ours).toEqual(theirs)
      expect(Object.keys(got ?? {})).toEqual(
        Object.keys(want ?? {}).filter((k) => k !== 'kind' && k !== 'apiVersion'),
      )
    })
  }

  it('07-pod-create-objectselector-skip: the PodSecurity enforce-policy annotation', async () => {
    const { status, got, want } = await replay(readCase('07-pod-create-objectselector-skip'))
    expect(status).toBe(201)
    expect(got?.annotations).toEqual(want?.annotations)
    const { requestObject: _q, responseObject: _p, ...ours } = normalised(got)
    const { requestObject: _wq, responseObject: _wp, ...theirs } = normalised(want)
    expect(ours).toEqual(theirs)
  })
})

describe('audit events of pods PodSecurity admits (07-pod-security)', () => {
  // Pods that violate nothing enforced: created here as there (this control plane enforces no Pod
  // Security Standards, so the violating cases and the audit-violations annotation are not compared).
  for (const name of [
    '01-psa-enforce-baseline-restricted-compliant-pod',
    '02-psa-warn-restricted-restricted-compliant-pod',
    '03-psa-audit-restricted-restricted-compliant-pod',
    '04-psa-all-restricted-compliant-pod',
  ]) {
    it(`${name}: enforce-policy from the namespace labels`, async () => {
      const namespaces = JSON.parse(
        readFileSync(corpusPath('kube-apiserver', '07-pod-security', 'namespaces.json'), 'utf8'),
      ) as { namespaces: Record<string, Record<string, string>> }
      const recorded = JSON.parse(
        readFileSync(corpusPath('kube-apiserver', '07-pod-security', `${name}.json`), 'utf8'),
      ) as Case
      const step = recorded.steps[0]!
      const ns = step.request.path.split('/')[4] ?? ''
      cp.load(
        [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns, labels: namespaces.namespaces[ns] } }],
        {
          asCreated: true,
        },
      )
      const { status, got, want } = await replay(recorded)
      expect(status).toBe(201)
      expect(got?.annotations).toEqual(want?.annotations)
      expect(Object.keys(got ?? {})).toEqual(
        Object.keys(want ?? {}).filter((k) => k !== 'kind' && k !== 'apiVersion'),
      )
      const { requestObject: q, responseObject: _p, ...ours } = normalised(got)
      const { requestObject: wq, responseObject: _wp, ...theirs } = normalised(want)
      expect(ours).toEqual(theirs)
      expect(q).toEqual(wq)
    })
  }
})

function isCreated(e: Obj): boolean {
  return (e.responseStatus as Obj | undefined)?.code === 201
}

function strip(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(strip)
  if (typeof value !== 'object' || value === null) return value
  const out: Obj = {}
  for (const [k, v] of Object.entries(value)) {
    if (k === 'uid' || k === 'resourceVersion' || k === 'creationTimestamp' || k === 'time') continue
    out[k] = strip(v)
  }
  return out
}
