/**
 * The redaction of audit events before the API shows them (src/audit/redact.ts), on events shaped as
 * kube-apiserver writes them at RequestResponse level (test/helpers/audit-secret-events.ts): no Secret's
 * value, plain or base64, survives anywhere in the copy; everything else is left as it was; the event
 * given is not changed.
 */
import { describe, expect, it } from 'vitest'
import { LAST_APPLIED, marker, redactAuditEvent } from '../../src/audit/redact.js'
import type { AuditEvent } from '../../src/audit/types.js'
import {
  leaked,
  SECRET_VALUES,
  secretCreateEvent,
  secretJsonPatchEvent,
  secretListEvent,
  secretPatchEvent,
} from '../helpers/audit-secret-events.js'

// biome-ignore lint/suspicious/noExplicitAny: the tests read deep into events by known paths
type Obj = Record<string, any>

describe('redactAuditEvent', () => {
  it('redacts a created Secret: request and response data, stringData, and the last-applied annotation', () => {
    const event = secretCreateEvent()
    const before = JSON.stringify(event)
    expect(leaked(before).length).toBe(Object.keys(SECRET_VALUES).length - 2)
    const out = redactAuditEvent(event)
    const text = JSON.stringify(out)
    expect(leaked(text)).toEqual([])
    // The original is untouched: the queue's copy is not the API's.
    expect(JSON.stringify(event)).toBe(before)

    const request = out.requestObject as Obj
    // base64 data: the decoded size; stringData: the text's size.
    expect(request.data).toEqual({
      password: `<redacted: ${SECRET_VALUES.password.length} bytes>`,
      'api-key': '<redacted: 20 bytes>',
    })
    expect(request.stringData).toEqual({ token: `<redacted: ${SECRET_VALUES.stringToken.length} bytes>` })
    const response = out.responseObject as Obj
    expect(Object.keys(response.data)).toEqual(['password', 'api-key', 'token'])
    for (const v of Object.values(response.data)) expect(v).toMatch(/^<redacted: \d+ bytes>$/)
    // The annotation is still the applied Secret, as JSON with its newline, its values redacted.
    const applied = response.metadata.annotations[LAST_APPLIED] as string
    expect(applied.endsWith('\n')).toBe(true)
    expect(JSON.parse(applied)).toMatchObject({
      kind: 'Secret',
      metadata: { name: 'example-secret', namespace: 'default' },
      data: { password: `<redacted: ${SECRET_VALUES.password.length} bytes>` },
      stringData: { token: expect.stringMatching(/^<redacted/) },
    })
    // Everything else is as it was: who, what, the managed fields' keys, the type.
    expect(out.user).toEqual(event.user)
    expect(out.objectRef).toEqual(event.objectRef)
    expect(out.auditID).toBe(event.auditID)
    expect(response.metadata.managedFields).toEqual((event.responseObject as Obj).metadata.managedFields)
    expect(response.type).toBe('Opaque')
  })

  it("redacts a SecretList's items, which carry no kind", () => {
    const event = secretListEvent()
    expect(leaked(JSON.stringify(event)).sort()).toEqual(
      [SECRET_VALUES.bootstrap, SECRET_VALUES.listed].sort(),
    )
    const out = redactAuditEvent(event)
    expect(leaked(JSON.stringify(out))).toEqual([])
    const items = (out.responseObject as Obj).items as Obj[]
    expect(items.map((i) => i.metadata.name)).toEqual(['bootstrap-token-ne7bxu', 'app-credentials'])
    expect(items[0]!.data['token-secret']).toBe(`<redacted: ${SECRET_VALUES.bootstrap.length} bytes>`)
    expect(items[0]!.type).toBe('bootstrap.kubernetes.io/token')
  })

  it('redacts patches of the secrets resource: a merge patch (no kind) and JSON patch operations', () => {
    const merge = redactAuditEvent(secretPatchEvent())
    expect(leaked(JSON.stringify(merge))).toEqual([])
    expect((merge.requestObject as Obj).data.password).toMatch(/^<redacted: \d+ bytes>$/)
    const json = redactAuditEvent(secretJsonPatchEvent())
    expect(leaked(JSON.stringify(json))).toEqual([])
    const ops = json.requestObject as Obj[]
    expect(ops[0]).toEqual({
      op: 'replace',
      path: '/data/password',
      value: expect.stringMatching(/^<redacted/),
    })
    expect(ops[1]!.value).toEqual({ token: expect.stringMatching(/^<redacted/) })
    // Not a value of the Secret: kept.
    expect(ops[2]).toEqual({ op: 'replace', path: '/metadata/labels/team', value: 'payments' })
  })

  it('finds a Secret at any depth, and a TokenRequest token; leaves other objects alone', () => {
    const configMap = { kind: 'ConfigMap', apiVersion: 'v1', data: { 'app.conf': 'debug=false' } }
    const event: AuditEvent = {
      kind: 'Event',
      apiVersion: 'audit.k8s.io/v1',
      auditID: 'x',
      stage: 'ResponseComplete',
      verb: 'create',
      objectRef: { resource: 'serviceaccounts', namespace: 'ci', name: 'deployer', subresource: 'token' },
      requestObject: { kind: 'List', items: [configMap, { kind: 'Secret', data: { k: 'c2VjcmV0' } }] },
      responseObject: {
        kind: 'TokenRequest',
        apiVersion: 'authentication.k8s.io/v1',
        status: { token: 'eyJhbGciOiJSUzI1NiJ9.payload.sig', expirationTimestamp: '2026-12-06T12:00:00Z' },
      },
    }
    const out = redactAuditEvent(event)
    const items = (out.requestObject as Obj).items as Obj[]
    expect(items[0]).toEqual(configMap)
    expect(items[1]!.data).toEqual({ k: '<redacted: 6 bytes>' })
    expect((out.responseObject as Obj).status).toEqual({
      token: '<redacted: 32 bytes>',
      expirationTimestamp: '2026-12-06T12:00:00Z',
    })
  })

  it('replaces an annotation it cannot read whole, and marks values that are not strings', () => {
    const event: AuditEvent = {
      kind: 'Event',
      objectRef: { resource: 'secrets', name: 's' },
      requestObject: {
        kind: 'Secret',
        metadata: { annotations: { [LAST_APPLIED]: '{"data": {"password": "aHVudGVy' } },
        data: { n: 42 },
      },
    }
    const out = redactAuditEvent(event).requestObject as Obj
    expect(out.metadata.annotations[LAST_APPLIED]).toBe('<redacted: 31 bytes>')
    expect(out.data).toEqual({ n: '<redacted>' })
    expect(marker('a')).toBe('<redacted: 1 byte>')
  })

  it('leaves an event without objects (Metadata level) as it was', () => {
    const event = { ...secretCreateEvent(), level: 'Metadata' } as Obj
    delete event.requestObject
    delete event.responseObject
    expect(redactAuditEvent(event as AuditEvent)).toEqual(event)
    expect('requestObject' in redactAuditEvent(event as AuditEvent)).toBe(false)
  })
})
