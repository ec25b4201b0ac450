/**
 * The audit policy as the API server applies it (src/control-plane/audit-policy.ts), and the events
 * the control plane builds from it (src/control-plane/audit.ts), read from the auditor's `sink`:
 * levels, omitted stages, omitManagedFields, watches (ResponseStarted), the 401 event, impersonation,
 * the Audit-Id header, admission's audit annotations, and field selectors naming the object.
 */
import { request } from 'node:https'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { microTime } from '../../src/control-plane/audit.js'
import {
  type AuditAttributes,
  type AuditPolicy,
  evaluatePolicy,
  parseAuditPolicy,
} from '../../src/control-plane/audit-policy.js'
import { type ControlPlane, startControlPlane } from '../../src/control-plane/server.js'

type Obj = Record<string, unknown>

const user = { username: 'jane', groups: ['devs', 'system:authenticated'] }

function res(
  verb: string,
  resource: string,
  more: Partial<{ group: string; subresource: string; namespace: string; name: string }> = {},
): AuditAttributes {
  return {
    kind: 'resource',
    user,
    verb,
    resource,
    group: more.group ?? '',
    subresource: more.subresource ?? '',
    namespace: more.namespace ?? '',
    name: more.name ?? '',
  }
}

describe('audit policy', () => {
  it('takes the first matching rule; nothing matching is None', () => {
    const policy = parseAuditPolicy(`
apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
- level: None
  users: [system:kube-proxy]
- level: Metadata
  resources:
  - group: ""
    resources: [secrets]
- level: RequestResponse
  omitStages: [ResponseStarted]
  omitManagedFields: true
  resources:
  - group: ""
    resources: [pods, pods/*]
  - group: apps
    resources: [deployments/scale]
- level: Request
  userGroups: [devs]
  verbs: [create]
  namespaces: [team-a]
- level: Metadata
  nonResourceURLs: [/healthz*, /version]
`)
    const level = (a: AuditAttributes) => evaluatePolicy(policy, a).level
    expect(level(res('get', 'secrets', { namespace: 'x' }))).toBe('Metadata')
    expect(level({ ...res('get', 'secrets'), user: { username: 'system:kube-proxy', groups: [] } })).toBe(
      'None',
    )
    expect(level(res('get', 'pods', { subresource: 'log' }))).toBe('RequestResponse')
    expect(level(res('patch', 'deployments', { group: 'apps', subresource: 'scale' }))).toBe(
      'RequestResponse',
    )
    expect(level(res('patch', 'deployments', { group: 'apps' }))).toBe('None')
    expect(level(res('create', 'configmaps', { namespace: 'team-a' }))).toBe('Request')
    expect(level(res('create', 'configmaps', { namespace: 'team-b' }))).toBe('None')
    expect(level({ ...res('create', 'configmaps', { namespace: 'team-a' }), user: undefined })).toBe('None')
    expect(level({ kind: 'nonResource', user, verb: 'get', path: '/healthz/ready' })).toBe('Metadata')
    expect(level({ kind: 'nonResource', user, verb: 'get', path: '/version' })).toBe('Metadata')
    expect(level({ kind: 'nonResource', user, verb: 'get', path: '/metrics' })).toBe('None')
    // Stages add up; a rule's omitManagedFields overrides the policy's.
    expect(evaluatePolicy(policy, res('get', 'pods'))).toEqual({
      level: 'RequestResponse',
      omitStages: ['RequestReceived', 'ResponseStarted'],
      omitManagedFields: true,
    })
    expect(evaluatePolicy(policy, res('get', 'secrets'))).toEqual({
      level: 'Metadata',
      omitStages: ['RequestReceived'],
      omitManagedFields: false,
    })
  })

  it('matches resource wildcards and names as the API server does', () => {
    const policy: AuditPolicy = parseAuditPolicy({
      apiVersion: 'audit.k8s.io/v1',
      kind: 'Policy',
      rules: [
        { level: 'Request', resources: [{ group: '', resources: ['*/status'] }] },
        { level: 'Metadata', resources: [{ group: '', resources: ['configmaps'], resourceNames: ['cfg'] }] },
        { level: 'RequestResponse', resources: [{ group: 'rbac.authorization.k8s.io' }] },
        { level: 'Request', resources: [{ group: 'apps', resources: ['*'] }] },
      ],
    })
    const level = (a: AuditAttributes) => evaluatePolicy(policy, a).level
    expect(level(res('update', 'pods', { subresource: 'status' }))).toBe('Request')
    expect(level(res('update', 'pods'))).toBe('None')
    expect(level(res('get', 'configmaps', { name: 'cfg' }))).toBe('Metadata')
    expect(level(res('get', 'configmaps', { name: 'other' }))).toBe('None')
    expect(level(res('list', 'roles', { group: 'rbac.authorization.k8s.io' }))).toBe('RequestResponse')
    expect(level(res('get', 'deployments', { group: 'apps', subresource: 'scale' }))).toBe('Request')
    // A resource rule never matches a non-resource request, and "" is the core group only.
    expect(level({ kind: 'nonResource', user, verb: 'get', path: '/api' })).toBe('None')
    expect(level(res('get', 'pods', { group: 'example.com', subresource: 'status' }))).toBe('None')
  })

  it('refuses what the API server refuses at startup', () => {
    expect(() => parseAuditPolicy({ kind: 'Policy', rules: [{ level: 'Everything' }] })).toThrow(
      /unknown level/,
    )
    expect(() =>
      parseAuditPolicy({ kind: 'Policy', rules: [{ level: 'None', omitStages: ['Sometime'] }] }),
    ).toThrow(/unknown stage/)
    expect(() =>
      parseAuditPolicy({
        kind: 'Policy',
        rules: [{ level: 'None', resources: [{ group: '' }], nonResourceURLs: ['/x'] }],
      }),
    ).toThrow(/both resource and non-resource/)
    expect(() => parseAuditPolicy({ apiVersion: 'audit.k8s.io/v1beta1', kind: 'Policy', rules: [] })).toThrow(
      /apiVersion/,
    )
  })

  it('stops a control plane from starting with an invalid policy', async () => {
    await expect(
      startControlPlane({ audit: { policy: { kind: 'Policy', rules: [{ level: 'Loud' }] } } }),
    ).rejects.toThrow(/unknown level Loud/)
  })

  it('writes timestamps with microseconds', () => {
    expect(microTime(Date.UTC(2026, 11, 6, 1, 17, 12) + 885.7361)).toBe('2026-12-06T01:17:12.885736Z')
    expect(microTime()).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/)
  })
})

describe('audit events of the control plane', () => {
  let cp: ControlPlane
  const events: Obj[] = []

  beforeAll(async () => {
    cp = await startControlPlane({
      bookmarkIntervalMs: 100,
      audit: {
        sink: (e) => events.push(e),
        policy: {
          apiVersion: 'audit.k8s.io/v1',
          kind: 'Policy',
          rules: [
            { level: 'None', nonResourceURLs: ['/healthz'] },
            {
              level: 'RequestResponse',
              omitManagedFields: true,
              resources: [{ group: '', resources: ['configmaps'] }],
            },
            {
              level: 'Request',
              resources: [{ group: '', resources: ['secrets'] }],
              omitStages: ['RequestReceived'],
            },
            { level: 'Metadata' },
          ],
        },
      },
    })
    cp.hooks.push({
      beforeWrite: (a) =>
        a.type.resource === 'configmaps'
          ? { allowed: true, auditAnnotations: { 'example.com/checked': 'yes' } }
          : undefined,
    })
    cp.user('jane', { rules: [{ verbs: ['impersonate'], resources: ['users', 'groups'], apiGroups: [''] }] })
  })

  afterAll(async () => {
    await cp?.stop()
  })

  function call(
    method: string,
    path: string,
    options: {
      body?: unknown
      headers?: Record<string, string>
      as?: 'admin' | 'jane' | 'anonymous' | 'bad'
    } = {},
  ): Promise<{ status: number; auditId: string; body: string }> {
    const who = options.as ?? 'admin'
    const creds = who === 'admin' ? cp.admin : who === 'jane' ? cp.user('jane') : undefined
    const headers: Record<string, string> = { Accept: 'application/json', ...(options.headers ?? {}) }
    if (who === 'bad') headers.Authorization = 'Bearer nope'
    if (who === 'jane' && creds) headers.Authorization = `Bearer ${creds.token}`
    const payload = options.body === undefined ? undefined : JSON.stringify(options.body)
    if (payload)
      headers['Content-Type'] = method === 'PATCH' ? 'application/merge-patch+json' : 'application/json'
    return new Promise((resolve, reject) => {
      const req = request(
        `${cp.url}${path}`,
        {
          method,
          headers,
          ca: cp.ca,
          agent: false,
          ...(who === 'admin' ? { cert: cp.admin.cert, key: cp.admin.key } : {}),
        },
        (r) => {
          const chunks: Buffer[] = []
          r.on('data', (c: Buffer) => chunks.push(c))
          r.on('end', () =>
            resolve({
              status: r.statusCode ?? 0,
              auditId: String(r.headers['audit-id']),
              body: Buffer.concat(chunks).toString('utf8'),
            }),
          )
        },
      )
      req.on('error', reject)
      req.end(payload)
    })
  }

  const of = (auditId: string) => events.filter((e) => e.auditID === auditId)
  const settle = () => new Promise((r) => setTimeout(r, 30))

  it('audits a create at RequestResponse: both stages, objects, admission annotations, Audit-Id', async () => {
    const r = await call('POST', '/api/v1/namespaces/default/configmaps?fieldManager=test', {
      body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cfg' }, data: { a: '1' } },
    })
    expect(r.status).toBe(201)
    await settle()
    const [received, complete] = of(r.auditId)
    expect(received).toMatchObject({
      level: 'RequestResponse',
      stage: 'RequestReceived',
      verb: 'create',
      requestURI: '/api/v1/namespaces/default/configmaps?fieldManager=test',
      user: { username: 'kube-admin', groups: ['system:masters', 'system:authenticated'] },
      sourceIPs: ['127.0.0.1'],
      objectRef: { resource: 'configmaps', namespace: 'default', apiVersion: 'v1' },
    })
    expect(received).not.toHaveProperty('annotations')
    expect(received).not.toHaveProperty('responseStatus')
    expect(complete).toMatchObject({
      stage: 'ResponseComplete',
      objectRef: { resource: 'configmaps', namespace: 'default', name: 'cfg', apiVersion: 'v1' },
      responseStatus: { metadata: {}, code: 201 },
      requestObject: {
        kind: 'ConfigMap',
        metadata: { name: 'cfg', creationTimestamp: null },
        data: { a: '1' },
      },
      responseObject: { kind: 'ConfigMap', metadata: { name: 'cfg', namespace: 'default' } },
      annotations: {
        'authorization.k8s.io/decision': 'allow',
        'authorization.k8s.io/reason': '',
        'example.com/checked': 'yes',
      },
    })
    // omitManagedFields: the stored object has them, the event does not.
    expect((complete?.responseObject as { metadata?: Obj } | undefined)?.metadata ?? {}).not.toHaveProperty(
      'managedFields',
    )
    expect(complete?.requestReceivedTimestamp).toBe(received?.requestReceivedTimestamp)
    expect(String(complete?.stageTimestamp) >= String(received?.stageTimestamp)).toBe(true)
  })

  it('omits stages and logs a patch as the patch; None is not audited', async () => {
    await call('POST', '/api/v1/namespaces/default/secrets', {
      body: { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' }, stringData: { k: 'v' } },
    })
    const r = await call('PATCH', '/api/v1/namespaces/default/secrets/s', {
      body: { metadata: { labels: { a: 'b' } } },
    })
    expect(r.status).toBe(200)
    const h = await call('GET', '/healthz')
    await settle()
    expect(of(r.auditId).map((e) => e.stage)).toEqual(['ResponseComplete'])
    expect(of(r.auditId)[0]).toMatchObject({
      level: 'Request',
      requestObject: { metadata: { labels: { a: 'b' } } },
    })
    expect(of(r.auditId)[0]).not.toHaveProperty('responseObject')
    expect(of(h.auditId)).toEqual([])
  })

  it('audits reads, a name from an exact field selector, and a Status answer', async () => {
    const list = await call('GET', '/api/v1/namespaces/default/configmaps?fieldSelector=metadata.name%3Dcfg')
    const missing = await call('GET', '/api/v1/namespaces/default/configmaps/nope')
    await settle()
    expect(of(list.auditId)[1]).toMatchObject({
      verb: 'list',
      objectRef: { resource: 'configmaps', namespace: 'default', name: 'cfg', apiVersion: 'v1' },
      responseObject: { kind: 'ConfigMapList' },
    })
    expect(of(missing.auditId)[1]).toMatchObject({
      verb: 'get',
      responseStatus: {
        metadata: {},
        status: 'Failure',
        message: 'configmaps "nope" not found',
        reason: 'NotFound',
        details: { name: 'nope', kind: 'configmaps' },
        code: 404,
      },
      responseObject: { kind: 'Status', code: 404 },
    })
  })

  it('gives a watch a ResponseStarted event when its head goes out', async () => {
    const r = await call('GET', '/api/v1/namespaces/default/pods?watch=1&timeoutSeconds=1')
    expect(r.status).toBe(200)
    await settle()
    const stages = of(r.auditId).map((e) => [e.stage, (e.responseStatus as Obj | undefined)?.code ?? null])
    expect(stages).toEqual([
      ['RequestReceived', null],
      ['ResponseStarted', 200],
      ['ResponseComplete', 200],
    ])
    expect(of(r.auditId)[1]).toMatchObject({ verb: 'watch', level: 'Metadata' })
  })

  it('writes one ResponseStarted event with no user for a failed authentication', async () => {
    const r = await call('GET', '/api/v1/namespaces', { as: 'bad' })
    expect(r.status).toBe(401)
    await settle()
    expect(of(r.auditId)).toEqual([
      expect.objectContaining({
        stage: 'ResponseStarted',
        user: {},
        verb: 'list',
        responseStatus: {
          metadata: {},
          status: 'Failure',
          message: 'Unauthorized',
          reason: 'Unauthorized',
          code: 401,
        },
      }),
    ])
    expect(of(r.auditId)[0]).not.toHaveProperty('annotations')
  })

  it('records forbidden requests, anonymous users and impersonation', async () => {
    const anonymous = await call('GET', '/api/v1/pods', { as: 'anonymous' })
    expect(anonymous.status).toBe(403)
    const impersonating = await call('GET', '/api/v1/namespaces/default/configmaps', {
      as: 'jane',
      headers: { 'Impersonate-User': 'bob', 'Impersonate-Group': 'team' },
    })
    await settle()
    expect(of(anonymous.auditId)[1]).toMatchObject({
      user: { username: 'system:anonymous', groups: ['system:unauthenticated'] },
      responseStatus: { reason: 'Forbidden', code: 403 },
      annotations: { 'authorization.k8s.io/decision': 'forbid', 'authorization.k8s.io/reason': '' },
    })
    expect(of(impersonating.auditId)[1]).toMatchObject({
      user: { username: 'jane' },
      impersonatedUser: { username: 'bob', groups: ['team', 'system:authenticated'] },
      annotations: { 'authorization.k8s.io/decision': 'forbid' },
    })
  })

  it('records the audit annotations of an admission denial', async () => {
    // Pushed after start: the auditor sees the verdicts of hooks added later too.
    cp.hooks.push({
      beforeWrite: (a) =>
        a.type.resource === 'configmaps' && a.name === 'forbidden'
          ? {
              allowed: false,
              code: 403,
              message: 'admission webhook "deny.example.com" denied the request: no',
              auditAnnotations: { 'deny.example.com/why': 'named forbidden' },
            }
          : undefined,
    })
    const r = await call('POST', '/api/v1/namespaces/default/configmaps', {
      body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'forbidden' } },
    })
    expect(r.status).toBe(403)
    await settle()
    expect(of(r.auditId)[1]).toMatchObject({
      objectRef: { resource: 'configmaps', namespace: 'default', name: 'forbidden', apiVersion: 'v1' },
      responseStatus: { status: 'Failure', code: 403 },
      requestObject: { kind: 'ConfigMap', metadata: { name: 'forbidden' } },
      annotations: {
        'authorization.k8s.io/decision': 'allow',
        'authorization.k8s.io/reason': '',
        'deny.example.com/why': 'named forbidden',
        'example.com/checked': 'yes',
      },
    })
  })

  it('keeps an Audit-Id the client sent', async () => {
    const r = await call('GET', '/version', { headers: { 'Audit-ID': 'my-own-id' } })
    expect(r.auditId).toBe('my-own-id')
    await settle()
    expect(of('my-own-id').map((e) => e.stage)).toEqual(['RequestReceived', 'ResponseComplete'])
  })
})
