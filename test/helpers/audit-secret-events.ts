/**
 * Audit events that carry Secrets' values, shaped as kube-apiserver writes them at `RequestResponse`
 * level: each starts from Falco's recorded Secret events (the corpus's falco-k8saudit trace files,
 * written at `Metadata` level, so without objects) and gets the request and response objects the API
 * server adds at the higher level, as `kubectl apply` and `kubectl get secrets -o json` send and get them.
 */
import { readFileSync } from 'node:fs'
import type { AuditEvent } from '../../src/audit/types.js'
import { corpusPath } from './corpus.js'

const TRACES = ['falco-k8saudit', 'falcosecurity-falco', 'test', 'trace_files', 'k8s_audit']

function trace(file: string): AuditEvent {
  const line = readFileSync(corpusPath(...TRACES, file), 'utf8')
    .split('\n')
    .find((l) => l.trim())!
  return JSON.parse(line) as AuditEvent
}

/** The values these events hold: none may appear in what the API answers. */
export const SECRET_VALUES = {
  password: 'hunter2-correct-horse',
  apiKey: 'AKIAIOSFODNN7EXAMPLE',
  stringToken: 'ghp_plainTextTokenInStringData',
  listed: 'listed-secret-value-9000',
  bootstrap: 'ne7bxu.wpz3lp0n3u7d8y5x',
} as const

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64')

/** `kubectl apply -f secret.yaml` of an Opaque Secret with data and stringData (a create). */
export function secretCreateEvent(auditID?: string): AuditEvent {
  const base = trace('create_secret.json')
  const applied = {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'example-secret', namespace: 'default' },
    type: 'Opaque',
    data: { password: b64(SECRET_VALUES.password), 'api-key': b64(SECRET_VALUES.apiKey) },
    stringData: { token: SECRET_VALUES.stringToken },
  }
  const annotations = {
    'kubectl.kubernetes.io/last-applied-configuration': `${JSON.stringify(applied)}\n`,
  }
  const requestObject = {
    ...applied,
    metadata: { ...applied.metadata, annotations, creationTimestamp: null },
  }
  const responseObject = {
    kind: 'Secret',
    apiVersion: 'v1',
    metadata: {
      name: 'example-secret',
      namespace: 'default',
      uid: '0b5a1f54-6a8d-4a0d-9f6b-3c1d0e2a7b11',
      resourceVersion: '1841',
      creationTimestamp: '2020-04-21T17:57:05Z',
      annotations,
      managedFields: [
        {
          manager: 'kubectl-client-side-apply',
          operation: 'Update',
          apiVersion: 'v1',
          time: '2020-04-21T17:57:05Z',
          fieldsType: 'FieldsV1',
          fieldsV1: {
            'f:data': { '.': {}, 'f:api-key': {}, 'f:password': {}, 'f:token': {} },
            'f:metadata': {
              'f:annotations': { '.': {}, 'f:kubectl.kubernetes.io/last-applied-configuration': {} },
            },
            'f:type': {},
          },
        },
      ],
    },
    // The API server folds stringData into data before storing: the response has all three in data.
    data: {
      password: b64(SECRET_VALUES.password),
      'api-key': b64(SECRET_VALUES.apiKey),
      token: b64(SECRET_VALUES.stringToken),
    },
    type: 'Opaque',
  }
  return {
    ...base,
    ...(auditID ? { auditID } : {}),
    level: 'RequestResponse',
    requestObject,
    responseObject,
  }
}

/** `kubectl get secrets -n kube-system -o json`: a SecretList, whose items carry no kind (as the API server sends them). */
export function secretListEvent(): AuditEvent {
  const base = trace('create_kube_system_secret.json')
  return {
    ...base,
    level: 'RequestResponse',
    verb: 'list',
    requestURI: '/api/v1/namespaces/kube-system/secrets?limit=500',
    objectRef: { resource: 'secrets', namespace: 'kube-system', apiVersion: 'v1' },
    responseStatus: { metadata: {}, code: 200 } as AuditEvent['responseStatus'],
    responseObject: {
      kind: 'SecretList',
      apiVersion: 'v1',
      metadata: { resourceVersion: '2207' },
      items: [
        {
          metadata: { name: 'bootstrap-token-ne7bxu', namespace: 'kube-system', resourceVersion: '310' },
          data: { 'token-id': b64('ne7bxu'), 'token-secret': b64(SECRET_VALUES.bootstrap) },
          type: 'bootstrap.kubernetes.io/token',
        },
        {
          metadata: { name: 'app-credentials', namespace: 'kube-system', resourceVersion: '311' },
          data: { value: b64(SECRET_VALUES.listed) },
          type: 'Opaque',
        },
      ],
    },
  }
}

/** `kubectl patch secret example-secret -p '{"data":{...}}'`: a merge patch, which has no kind. */
export function secretPatchEvent(): AuditEvent {
  const base = trace('create_secret.json')
  return {
    ...base,
    level: 'Request',
    verb: 'patch',
    requestURI: '/api/v1/namespaces/default/secrets/example-secret',
    objectRef: { resource: 'secrets', namespace: 'default', name: 'example-secret', apiVersion: 'v1' },
    requestObject: { data: { password: b64(SECRET_VALUES.password) } },
  }
}

/** `kubectl patch secret example-secret --type json`: RFC 6902 operations. */
export function secretJsonPatchEvent(): AuditEvent {
  return {
    ...secretPatchEvent(),
    requestObject: [
      { op: 'replace', path: '/data/password', value: b64(SECRET_VALUES.password) },
      { op: 'add', path: '/stringData', value: { token: SECRET_VALUES.stringToken } },
      { op: 'replace', path: '/metadata/labels/team', value: 'payments' },
    ],
  }
}

/** Every value of SECRET_VALUES that appears in `text`, plain or base64: what leaked. */
export function leaked(text: string): string[] {
  return Object.values(SECRET_VALUES).filter((v) => text.includes(v) || text.includes(b64(v)))
}
