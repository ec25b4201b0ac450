/**
 * Talking to the local control plane from a test, as an admin (or another user): plain HTTPS with its
 * CA and a bearer token, the way any client would. Tests change the cluster through it and read back.
 */
import { request } from 'node:https'
import type { ControlPlane } from '../../src/control-plane/server.js'

export interface KubeAnswer {
  status: number
  body: Record<string, unknown>
  /** the Warning headers' texts (admission webhooks' warnings among them) */
  warnings: string[]
}

/** `299 - "text"` -> text */
function warningsOf(header: string | string[] | undefined): string[] {
  const values = header === undefined ? [] : Array.isArray(header) ? header : [header]
  return values.flatMap((v) =>
    [...v.matchAll(/\d{3} \S+ "((?:[^"\\]|\\.)*)"/g)].map((m) => m[1]!.replace(/\\(.)/g, '$1')),
  )
}

export function kube(
  cp: ControlPlane,
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE',
  path: string,
  body?: unknown,
  options: { token?: string; contentType?: string } = {},
): Promise<KubeAnswer> {
  const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body)
  return new Promise((resolve, reject) => {
    const req = request(
      `${cp.url}${path}`,
      {
        method,
        ca: cp.ca,
        headers: {
          authorization: `Bearer ${options.token ?? cp.admin.token}`,
          accept: 'application/json',
          ...(payload !== undefined
            ? {
                'content-type': options.contentType ?? 'application/json',
                'content-length': Buffer.byteLength(payload),
              }
            : {}),
        },
      },
      (res) => {
        const parts: Buffer[] = []
        res.on('data', (d: Buffer) => parts.push(d))
        res.on('end', () => {
          const text = Buffer.concat(parts).toString()
          let parsed: Record<string, unknown> = {}
          try {
            parsed = text ? (JSON.parse(text) as Record<string, unknown>) : {}
          } catch {
            parsed = { text }
          }
          resolve({ status: res.statusCode ?? 0, body: parsed, warnings: warningsOf(res.headers.warning) })
        })
      },
    )
    req.on('error', reject)
    if (payload !== undefined) req.write(payload)
    req.end()
  })
}

/** A one-container Deployment (nginx), privileged or not: the tests' bad or good workload. */
export function deployment(
  name: string,
  namespace: string,
  privileged: boolean,
  annotations?: Record<string, string>,
): Record<string, unknown> {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace, ...(annotations ? { annotations } : {}) },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: { containers: [{ name: 'app', image: 'nginx:1.27', securityContext: { privileged } }] },
      },
    },
  }
}

/** Creates an object (POST to its collection); throws with the server's answer unless 201. */
export async function create(
  cp: ControlPlane,
  object: Record<string, unknown>,
): Promise<Record<string, unknown>> {
  const answer = await kube(cp, 'POST', collectionPath(object), object)
  if (answer.status !== 201)
    throw new Error(`create ${object.kind}: ${answer.status} ${JSON.stringify(answer.body)}`)
  return answer.body
}

/** Replaces an object with a merge patch; throws unless 200. */
export async function patch(
  cp: ControlPlane,
  object: Record<string, unknown>,
  merge: unknown,
): Promise<void> {
  const answer = await kube(cp, 'PATCH', objectPath(object), merge, {
    contentType: 'application/merge-patch+json',
  })
  if (answer.status !== 200)
    throw new Error(`patch ${object.kind}: ${answer.status} ${JSON.stringify(answer.body)}`)
}

export async function remove(cp: ControlPlane, object: Record<string, unknown>): Promise<void> {
  const answer = await kube(cp, 'DELETE', objectPath(object))
  if (answer.status !== 200 && answer.status !== 202)
    throw new Error(`delete ${object.kind}: ${answer.status} ${JSON.stringify(answer.body)}`)
}

const PLURALS: Record<string, string> = {
  Pod: 'pods',
  Service: 'services',
  ConfigMap: 'configmaps',
  Namespace: 'namespaces',
  ServiceAccount: 'serviceaccounts',
  Deployment: 'deployments',
  StatefulSet: 'statefulsets',
  DaemonSet: 'daemonsets',
  CustomResourceDefinition: 'customresourcedefinitions',
}

function collectionPath(object: Record<string, unknown>): string {
  const apiVersion = String(object.apiVersion)
  const kind = String(object.kind)
  const meta = (object.metadata ?? {}) as { namespace?: string }
  const base = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`
  const plural = PLURALS[kind] ?? `${kind.toLowerCase()}s`
  return meta.namespace ? `${base}/namespaces/${meta.namespace}/${plural}` : `${base}/${plural}`
}

function objectPath(object: Record<string, unknown>): string {
  return `${collectionPath(object)}/${(object.metadata as { name: string }).name}`
}
