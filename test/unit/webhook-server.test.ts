/**
 * The webhook's HTTPS door: certificates from `plimsoll webhook certs` trusted through their caBundle
 * alone; every AdmissionReview a real API server sent (the corpus's 05-admission: CREATE, UPDATE,
 * DELETE, CONNECT, dryRun, subresources) read and answered with its uid and apiVersion; malformed and
 * oversized reviews refused with a 400 while the server stays up; a certificate read again when its
 * files change; health, readiness and metrics; a stop that finishes the reviews under way.
 */
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync } from 'node:fs'
import { request } from 'node:https'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { writeCertificates } from '../../src/webhook/certificates.js'
import type { AdmissionRequest, Verdict } from '../../src/webhook/review.js'
import { type RunningWebhook, startWebhookServer, type WebhookKind } from '../../src/webhook/server.js'
import { corpusPath } from '../helpers/corpus.js'

interface Answer {
  status: number
  body: string
  json: () => Record<string, unknown>
}

function post(
  server: RunningWebhook,
  path: string,
  body: string | Buffer,
  options: { ca: string; headers?: Record<string, string>; method?: string; servername?: string },
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${server.url}${path}`,
      {
        method: options.method ?? 'POST',
        ca: options.ca,
        ...(options.servername ? { servername: options.servername } : {}),
        headers: { 'Content-Type': 'application/json', ...options.headers },
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8')
          resolve({ status: res.statusCode ?? 0, body: text, json: () => JSON.parse(text) })
        })
        res.on('error', reject)
      },
    )
    req.on('error', reject)
    req.end(body)
  })
}

const get = (server: RunningWebhook, path: string, ca: string) =>
  post(server, path, '', { ca, method: 'GET' })

const dir = mkdtempSync(join(tmpdir(), 'plimsoll-webhook-'))
let certs: ReturnType<typeof writeCertificates>
let ca: string
let server: RunningWebhook
let ready = false
const seen: { kind: WebhookKind; request: AdmissionRequest }[] = []
/** What the decider answers next, by the request's name; allowed otherwise. */
const verdicts = new Map<string, Verdict | (() => Promise<Verdict>) | Error>()

beforeAll(async () => {
  certs = writeCertificates({
    dir,
    service: 'plimsoll-webhook',
    namespace: 'plimsoll',
    extraNames: ['127.0.0.1'],
  })
  ca = Buffer.from(certs.caBundle, 'base64').toString('utf8')
  server = await startWebhookServer({
    host: '127.0.0.1',
    port: 0,
    certFile: certs.certFile,
    keyFile: certs.keyFile,
    certCheckMs: 100,
    maxBodyBytes: 256 * 1024,
    ready: () => ready || 'policies not compiled yet',
    decide: async (kind, req) => {
      seen.push({ kind, request: req })
      const v = verdicts.get(req.name)
      if (v instanceof Error) throw v
      if (typeof v === 'function') return v()
      return v ?? { allowed: true }
    },
  })
})

afterAll(async () => {
  await server?.stop()
})

describe('plimsoll webhook certs', () => {
  it('makes a CA and a serving certificate for the Service, which openssl verifies, and keeps the CA when run again', () => {
    expect(certs.names).toEqual([
      'plimsoll-webhook',
      'plimsoll-webhook.plimsoll',
      'plimsoll-webhook.plimsoll.svc',
      'plimsoll-webhook.plimsoll.svc.cluster.local',
      '127.0.0.1',
    ])
    expect(execFileSync('openssl', ['verify', '-CAfile', certs.caFile, certs.certFile]).toString()).toContain(
      ': OK',
    )
    const text = execFileSync('openssl', ['x509', '-in', certs.certFile, '-noout', '-text']).toString()
    expect(text).toContain(
      'DNS:plimsoll-webhook.plimsoll.svc, DNS:plimsoll-webhook.plimsoll.svc.cluster.local, IP Address:127.0.0.1',
    )
    expect(text).toContain('TLS Web Server Authentication')
    const again = writeCertificates({
      dir: mkdtempSync(join(tmpdir(), 'plimsoll-webhook-again-')),
      service: 'a',
      namespace: 'b',
    })
    expect(again.keptCa).toBe(false)
    const renewed = writeCertificates({ dir: join(again.caFile, '..'), service: 'a', namespace: 'b' })
    expect(renewed.keptCa).toBe(true)
    expect(renewed.caBundle).toBe(again.caBundle)
    expect(() => writeCertificates({ dir, service: 'Web_Hook', namespace: 'x' })).toThrow(
      /expected a DNS label/,
    )
  })

  it('is trusted through its caBundle alone, for the names it carries and no other', async () => {
    expect((await get(server, '/healthz', ca)).status).toBe(200)
    await expect(
      get(server, '/healthz', readFileSync('/etc/ssl/certs/ca-certificates.crt', 'utf8')),
    ).rejects.toThrow()
    await expect(
      post(server, '/healthz', '', { ca, method: 'GET', servername: 'elsewhere.example' }),
    ).rejects.toThrow(/elsewhere.example/)
  })
})

describe('reviews as a real API server sends them', () => {
  const calls = readFileSync(corpusPath('kube-apiserver/05-admission/all-webhook-calls.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as { url: string; body: string })

  it('reads every recorded review (CREATE, UPDATE, DELETE, CONNECT, dryRun, subresources) and answers with its uid and apiVersion', async () => {
    const kinds = new Set<string>()
    for (const call of calls) {
      const sent = JSON.parse(call.body)
      const path = call.url.startsWith('/mutate')
        ? call.url
        : `/validate${call.url.slice(call.url.indexOf('/', 1))}`
      seen.length = 0
      const answer = await post(server, path, call.body, { ca })
      expect(answer.status, call.url).toBe(200)
      expect(answer.json()).toEqual({
        apiVersion: sent.apiVersion,
        kind: 'AdmissionReview',
        response: { uid: sent.request.uid, allowed: true },
      })
      const { request: got } = seen[0]!
      const r = sent.request
      expect(got).toMatchObject({
        uid: r.uid,
        operation: r.operation,
        kind: r.kind,
        resource: r.resource,
        subResource: r.subResource ?? '',
        name: r.name ?? '',
        namespace: r.namespace ?? '',
        dryRun: r.dryRun,
        object: r.object ?? null,
        oldObject: r.oldObject ?? null,
      })
      expect(got.userInfo.username).toBe(r.userInfo.username)
      kinds.add(`${r.operation}${r.subResource ? `/${r.subResource}` : ''}${r.dryRun ? ' dryRun' : ''}`)
    }
    expect([...kinds].sort()).toEqual([
      'CONNECT/exec',
      'CONNECT/portforward',
      'CREATE',
      'CREATE dryRun',
      'DELETE',
      'UPDATE',
      'UPDATE/ephemeralcontainers',
      'UPDATE/scale',
    ])
  })

  it('answers a denial with a Status, warnings as they are, a patch as base64 JSONPatch, in the request’s own apiVersion', async () => {
    const call = JSON.parse(calls[0]!.body)
    const named = (name: string, apiVersion = 'admission.k8s.io/v1') =>
      JSON.stringify({ ...call, apiVersion, request: { ...call.request, name } })
    verdicts.set('denied', {
      allowed: false,
      message: 'pss-baseline/privileged: spec.containers[0].securityContext.privileged is true',
      warnings: ['w'],
    })
    verdicts.set('warned', { allowed: true, warnings: ['first', 'a\nsecond'] })
    verdicts.set('patched', {
      allowed: true,
      patch: [{ op: 'add', path: '/metadata/labels/team', value: 'shop' }],
    })
    const denied = (
      await post(server, '/validate', named('denied', 'admission.k8s.io/v1beta1'), { ca })
    ).json()
    expect(denied).toEqual({
      apiVersion: 'admission.k8s.io/v1beta1',
      kind: 'AdmissionReview',
      response: {
        uid: call.request.uid,
        allowed: false,
        status: {
          metadata: {},
          status: 'Failure',
          message: 'pss-baseline/privileged: spec.containers[0].securityContext.privileged is true',
          code: 403,
        },
        warnings: ['w'],
      },
    })
    expect(
      ((await post(server, '/validate', named('warned'), { ca })).json().response as { warnings: string[] })
        .warnings,
    ).toEqual(['first', 'a second'])
    const patched = (await post(server, '/mutate', named('patched'), { ca })).json().response as {
      patch: string
      patchType: string
    }
    expect(patched.patchType).toBe('JSONPatch')
    expect(JSON.parse(Buffer.from(patched.patch, 'base64').toString())).toEqual([
      { op: 'add', path: '/metadata/labels/team', value: 'shop' },
    ])
  })
})

describe('what a client must not be able to do', () => {
  it('refuses malformed, oversized and misdirected requests with what is wrong, and keeps serving', async () => {
    const good = readFileSync(
      corpusPath('kube-apiserver/05-admission/all-webhook-calls.jsonl'),
      'utf8',
    ).split('\n')[0]!
    const review = JSON.parse(JSON.parse(good).body)
    const cases: [string, string | Buffer, Record<string, string>, number, RegExp][] = [
      ['/validate', '{"kind":', {}, 400, /not JSON/],
      ['/validate', JSON.stringify({ ...review, kind: 'Review' }), {}, 400, /kind: expected AdmissionReview/],
      [
        '/validate',
        JSON.stringify({ ...review, apiVersion: 'admission.k8s.io/v2' }),
        {},
        400,
        /apiVersion: expected/,
      ],
      [
        '/validate',
        JSON.stringify({ ...review, request: { ...review.request, uid: '' } }),
        {},
        400,
        /request.uid/,
      ],
      [
        '/validate',
        JSON.stringify({ ...review, request: { ...review.request, operation: 'PATCH' } }),
        {},
        400,
        /request.operation/,
      ],
      [
        '/validate',
        JSON.stringify({ ...review, request: { ...review.request, object: [1] } }),
        {},
        400,
        /request.object: expected an object/,
      ],
      [
        '/validate',
        JSON.stringify({ ...review, request: { ...review.request, userInfo: { groups: 'admins' } } }),
        {},
        400,
        /request.userInfo.groups/,
      ],
      [
        '/validate',
        JSON.stringify(review),
        { 'Content-Type': 'text/plain' },
        400,
        /expected application\/json/,
      ],
      [
        '/validate',
        Buffer.alloc(300 * 1024, 0x20),
        {},
        400,
        /the review is 307200 bytes, more than the 262144 bytes/,
      ],
      // Sent in chunks, without a length: refused as it grows past the limit.
      [
        '/validate',
        Buffer.alloc(300 * 1024, 0x20),
        { 'Transfer-Encoding': 'chunked' },
        400,
        /more than the 262144 bytes/,
      ],
      ['/elsewhere', JSON.stringify(review), {}, 404, /reviews go to \/validate or \/mutate/],
    ]
    for (const [path, body, headers, status, message] of cases) {
      const answer = await post(server, path, body, { ca, headers })
      expect(answer.status, String(message)).toBe(status)
      expect(answer.body).toMatch(message)
    }
    expect((await post(server, '/validate', '', { ca, method: 'GET' })).status).toBe(405)
    expect((await post(server, '/validate', JSON.stringify(review), { ca })).status).toBe(200)
    const metrics = (await get(server, '/metrics', ca)).body
    expect(metrics).toMatch(/plimsoll_webhook_malformed_total 12\n/)
  })

  it('answers 500 when the decider itself fails, which the API server treats by the failurePolicy', async () => {
    const review = JSON.parse(
      JSON.parse(
        readFileSync(corpusPath('kube-apiserver/05-admission/all-webhook-calls.jsonl'), 'utf8').split(
          '\n',
        )[0]!,
      ).body,
    )
    verdicts.set('broken', new Error('the store is gone'))
    const answer = await post(
      server,
      '/validate',
      JSON.stringify({ ...review, request: { ...review.request, name: 'broken' } }),
      { ca },
    )
    expect(answer.status).toBe(500)
    expect(answer.json()).toEqual({ message: 'plimsoll webhook: the store is gone' })
    expect((await get(server, '/metrics', ca)).body).toMatch(
      /plimsoll_webhook_reviews_total\{webhook="validate",operation="CREATE",outcome="error"\} 1/,
    )
  })
})

describe('operations', () => {
  it('is ready only once its policies are, and says so', async () => {
    ready = false
    expect((await get(server, '/readyz', ca)).body).toBe('policies not compiled yet')
    ready = true
    expect((await get(server, '/readyz', ca)).status).toBe(200)
  })

  it('reads its certificate again when the files change: new connections get the new one', async () => {
    const before = ca
    const rotated = writeCertificates({
      dir: mkdtempSync(join(tmpdir(), 'plimsoll-webhook-rotated-')),
      service: 'plimsoll-webhook',
      namespace: 'plimsoll',
      extraNames: ['127.0.0.1'],
    })
    const newCa = Buffer.from(rotated.caBundle, 'base64').toString('utf8')
    execFileSync('cp', [rotated.certFile, certs.certFile])
    execFileSync('cp', [rotated.keyFile, certs.keyFile])
    const deadline = Date.now() + 5000
    let ok = false
    while (!ok && Date.now() < deadline) {
      ok = await get(server, '/healthz', newCa).then(
        () => true,
        () => false,
      )
      if (!ok) await new Promise((r) => setTimeout(r, 50))
    }
    expect(ok).toBe(true)
    await expect(get(server, '/healthz', before)).rejects.toThrow()
    ca = newCa
    expect((await get(server, '/metrics', ca)).body).toMatch(/plimsoll_webhook_certificate_reloads_total 1/)
  })

  it('stops taking reviews but finishes the one under way', async () => {
    const review = JSON.parse(
      JSON.parse(
        readFileSync(corpusPath('kube-apiserver/05-admission/all-webhook-calls.jsonl'), 'utf8').split(
          '\n',
        )[0]!,
      ).body,
    )
    let release!: () => void
    const slow = new Promise<void>((r) => {
      release = r
    })
    let started!: () => void
    const inDecider = new Promise<void>((r) => {
      started = r
    })
    verdicts.set('slow', async () => {
      started()
      await slow
      return { allowed: false, message: 'decided after stop' }
    })
    const answer = post(
      server,
      '/validate',
      JSON.stringify({ ...review, request: { ...review.request, name: 'slow' } }),
      { ca },
    )
    await inDecider
    const stopped = server.stop()
    await expect(get(server, '/healthz', ca)).rejects.toThrow()
    release()
    const finished = await answer
    expect(finished.status).toBe(200)
    expect((finished.json().response as { allowed: boolean }).allowed).toBe(false)
    await stopped
  })
})
