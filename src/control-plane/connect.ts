/**
 * pods/exec, pods/attach and pods/portforward: the CONNECT requests kubectl makes (a websocket GET,
 * then a SPDY POST). Each is admitted with a CONNECT operation whose object is the options the query
 * spells (PodExecOptions, PodAttachOptions, PodPortForwardOptions), as the recorded server does
 * (05-admission cases 08-10). No kubelet runs here, so after admission the request fails as it did on
 * the recorded server: 400 for a pod no node runs, and for a bound pod the error of a kubelet that is
 * not listening.
 */
import type { Ctx } from './context.js'
import type { AdmissionAttributes } from './hooks.js'
import { warning } from './http.js'
import { objectOf } from './objects.js'
import { ApiError, badRequest, notFound } from './status.js'
import { isObj, type Obj, objAt, strAt } from './types.js'

const KINDS: Record<string, string> = {
  exec: 'PodExecOptions',
  attach: 'PodAttachOptions',
  portforward: 'PodPortForwardOptions',
}

export function isConnectSubresource(sub: string): boolean {
  return sub in KINDS
}

/** Go's strconv.ParseBool, as query parameters are converted. */
function queryBool(q: URLSearchParams, name: string): boolean | undefined {
  const v = q.get(name)
  if (v === null) return undefined
  return ['1', 't', 'T', 'TRUE', 'true', 'True'].includes(v)
}

/** The options object of the query, in its Go field order (false and empty fields omitted). */
function optionsOf(sub: string, q: URLSearchParams): Obj {
  const out: Obj = { kind: KINDS[sub], apiVersion: 'v1' }
  if (sub === 'portforward') {
    const ports = q
      .getAll('ports')
      .flatMap((p) => p.split(','))
      .map((p) => Number(p.trim()))
    if (ports.length > 0) out.ports = ports
    return out
  }
  for (const flag of ['stdin', 'stdout', 'stderr', 'tty']) if (queryBool(q, flag)) out[flag] = true
  const container = q.get('container')
  if (container) out.container = container
  if (sub === 'exec') {
    const command = q.getAll('command')
    if (command.length > 0) out.command = command
  }
  return out
}

function kubeletAddress(ctx: Ctx, nodeName: string): string {
  const nodes = ctx.shared.registry.lookup('', 'v1', 'nodes')
  const stored = nodes ? ctx.shared.store.get(nodes.storageKey, '', nodeName) : undefined
  const node = stored && nodes ? objectOf(nodes, stored) : undefined
  const status = objAt(node, 'status')
  const addresses = Array.isArray(status?.addresses) ? status.addresses.filter(isObj) : []
  const ip = strAt(addresses.find((a) => a.type === 'InternalIP') ?? addresses[0], 'address') ?? nodeName
  const port = objAt(objAt(status, 'daemonEndpoints'), 'kubeletEndpoint')?.Port
  return `${ip}:${typeof port === 'number' ? port : 10250}`
}

export async function handleConnect(ctx: Ctx): Promise<void> {
  const t = ctx.type
  const sub = ctx.route.subresource
  const stored = ctx.shared.store.get(t.storageKey, ctx.route.namespace, ctx.route.name)
  if (!stored) throw notFound(t, ctx.route.name)
  const pod = objectOf(t, stored)
  const object = optionsOf(sub, ctx.query)
  const warnings: string[] = []
  for (const hook of ctx.shared.hooks) {
    if (!hook.beforeWrite) continue
    const attrs: AdmissionAttributes = {
      operation: 'CONNECT',
      type: t,
      namespace: ctx.route.namespace,
      name: ctx.route.name,
      subresource: sub,
      object: structuredClone(object),
      oldObject: null,
      user: ctx.user,
      dryRun: false,
      options: null,
    }
    const verdict = await hook.beforeWrite(attrs)
    if (!verdict) continue
    for (const w of verdict.warnings ?? []) warnings.push(warning(w))
    if (!verdict.allowed)
      throw new ApiError(verdict.code ?? 403, verdict.reason ?? '', verdict.message, verdict.details, {
        warnings: [...warnings],
        exemptFromFairness: true,
      })
  }
  const nodeName = strAt(objAt(pod, 'spec'), 'nodeName')
  if (!nodeName) {
    const e = badRequest(`pod ${ctx.route.name} does not have a host assigned`)
    throw new ApiError(e.code, e.reason, e.message, e.details, { warnings, exemptFromFairness: true })
  }
  const address = kubeletAddress(ctx, nodeName)
  if (sub === 'portforward')
    throw new ApiError(
      500,
      'InternalError',
      `Internal error occurred: error dialing backend: dial tcp ${address}: connect: connection refused`,
      undefined,
      { warnings, exemptFromFairness: true },
    )
  const container = strAt(object, 'container') ?? ''
  const params = new URLSearchParams()
  for (const c of Array.isArray(object.command) ? object.command : []) params.append('command', String(c))
  if (object.stderr) params.append('error', '1')
  if (object.stdin) params.append('input', '1')
  if (object.stdout) params.append('output', '1')
  if (object.tty) params.append('tty', '1')
  const url = `https://${address}/${sub}/${ctx.route.namespace}/${ctx.route.name}/${container}?${params.toString()}`
  const message = `error sending request: Post ${JSON.stringify(url)}: dial tcp ${address}: connect: connection refused`
  throw new ApiError(
    500,
    'InternalError',
    `Internal error occurred: ${message}`,
    { causes: [{ reason: '', message }] },
    { warnings, exemptFromFairness: true },
  )
}
