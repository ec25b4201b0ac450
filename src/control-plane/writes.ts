/**
 * Create (POST), update (PUT), patch (merge, JSON, strategic-as-simplified, and server-side apply),
 * delete and deletecollection, including the status and scale subresources. Every write goes through
 * the same steps as in the API server: decode (JSON or YAML; 400/415), check field validation
 * (Warning headers or 400), default, validate (422), record managedFields, built-in admission, the
 * admission hooks, then store (or not, with dryRun=All) and answer.
 */
import { randomUUID } from 'node:crypto'
import { isDeepStrictEqual } from 'node:util'
import { load } from 'js-yaml'
import { KUBERNETES_YAML_SCHEMA } from '../resources/yaml-schema.js'
import type { ResourceType } from './catalog.js'
import type { Ctx } from './context.js'
import { admitOnCreate, applyDefaults, randomSuffix } from './defaults.js'
import type { AdmissionAttributes, Operation } from './hooks.js'
import { reply, warning } from './http.js'
import { crdDeleted, establishCrd, namespaceCreated, namespaceDeleted, prepareCrd } from './lifecycle.js'
import { matches, parseFilters, yamlOf } from './lists.js'
import { defaultManager, nowTime, recordUpdate, serverSideApply } from './managed-fields.js'
import { objectJson, objectOf } from './objects.js'
import { jsonPatch, mergePatch, strategicMergePatch } from './patch.js'
import { extractFields } from './selectors.js'
import { encodeBody, fullJson, orderMetadata } from './serialize.js'
import {
  ApiError,
  alreadyExists,
  badRequest,
  conflict,
  invalidOptions,
  methodNotAllowed,
  namespaceNotFound,
  notFound,
} from './status.js'
import { clone, isObj, type Obj, objAt, strAt } from './types.js'
import { checkDecodable, duplicateFields, pruneCustom, unknownFields, validateObject } from './validation.js'

const UNKNOWN_FORMAT =
  'the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf'

interface WriteOptions {
  readonly dryRun: boolean
  readonly fieldValidation: 'Ignore' | 'Warn' | 'Strict'
  readonly manager: string
  readonly force: boolean
}

function writeOptions(ctx: Ctx, optionsKind: string, apply = false): WriteOptions {
  const q = ctx.query
  const causes = []
  const dry = q.getAll('dryRun')
  if (dry.some((d) => d !== 'All'))
    causes.push({
      reason: 'FieldValueNotSupported',
      message: `Unsupported value: []string{${dry.map((d) => JSON.stringify(d)).join(', ')}}: supported values: "All"`,
      field: 'dryRun',
    })
  const fv = q.get('fieldValidation') ?? ''
  if (!['', 'Ignore', 'Warn', 'Strict'].includes(fv))
    causes.push({
      reason: 'FieldValueNotSupported',
      message: `Unsupported value: ${JSON.stringify(fv)}: supported values: "", "Ignore", "Strict", "Warn"`,
      field: 'fieldValidation',
    })
  const force = q.has('force') && q.get('force') !== 'false'
  if (force && !apply)
    causes.push({
      reason: 'FieldValueForbidden',
      message: 'Forbidden: may not be specified for non-apply patch',
      field: 'force',
    })
  const explicit = q.get('fieldManager')
  if (apply && !explicit)
    causes.push({
      reason: 'FieldValueRequired',
      message: 'Required value: is required for apply patch',
      field: 'fieldManager',
    })
  if (causes.length) throw invalidOptions(optionsKind, causes)
  return {
    dryRun: dry.length > 0,
    fieldValidation: fv === 'Ignore' || fv === 'Strict' ? fv : 'Warn',
    manager: explicit ?? defaultManager(ctx.req.headers['user-agent']),
    force,
  }
}

function mediaType(ctx: Ctx): string {
  return (ctx.req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase()
}

/** Go's json error text for a body JSON.parse rejected. */
function goJsonError(text: string, e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e)
  const m = /position (\d+)/.exec(msg)
  if (m) {
    const pos = Number(m[1])
    if (pos < text.trimEnd().length) return `invalid character '${text[pos]}' looking for beginning of value`
  }
  return 'unexpected end of JSON input'
}

function parseYaml(text: string): unknown {
  return load(text, { schema: KUBERNETES_YAML_SCHEMA })
}

interface Decoded {
  readonly obj: Obj
  readonly warnings: string[]
}

/** Decodes a create/update body for `type`, with field validation. */
function decodeObject(ctx: Ctx, text: string, opts: WriteOptions): Decoded {
  const t = ctx.type
  const mt = mediaType(ctx)
  let value: unknown
  let isJson = true
  if (mt === '' || mt === 'application/json' || mt === '*/*') {
    try {
      value = JSON.parse(text)
    } catch (e) {
      const snippet = text.length > 30 ? `${text.slice(0, 30)} ...` : text
      throw badRequest(
        `the object provided is unrecognized (must be of type ${t.kind}): couldn't get version/kind; json parse error: ${goJsonError(text, e)} (${snippet})`,
      )
    }
  } else if (mt === 'application/yaml') {
    isJson = false
    try {
      value = parseYaml(text)
    } catch (e) {
      throw badRequest(
        `the object provided is unrecognized (must be of type ${t.kind}): couldn't get version/kind; yaml: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`,
      )
    }
  } else {
    throw new ApiError(415, 'UnsupportedMediaType', UNKNOWN_FORMAT)
  }
  if (!isObj(value))
    throw badRequest(
      `the object provided is unrecognized (must be of type ${t.kind}): couldn't get version/kind; json parse error: json: cannot unmarshal ${Array.isArray(value) ? 'array' : typeof value} into Go value of type struct { APIVersion string "json:\\"apiVersion,omitempty\\""; Kind string "json:\\"kind,omitempty\\"" }`,
    )
  const obj = value
  const kind = typeof obj.kind === 'string' && obj.kind ? obj.kind : t.kind
  const apiVersion = typeof obj.apiVersion === 'string' && obj.apiVersion ? obj.apiVersion : t.apiVersion
  const group = apiVersion.includes('/') ? apiVersion.split('/')[0] : ''
  if (kind !== t.kind || group !== t.group) {
    const version = apiVersion.includes('/') ? apiVersion.split('/')[1] : apiVersion
    throw badRequest(
      `${kind} in version ${JSON.stringify(version)} cannot be handled as a ${t.kind}: converting (${version}.${kind}) to (${t.group || 'core'}.${t.kind}): unknown conversion`,
    )
  }
  obj.kind = t.kind
  obj.apiVersion = t.apiVersion
  checkDecodable(t, obj)
  dropEmptyMaps(t, obj)
  const problems: string[] = []
  if (opts.fieldValidation !== 'Ignore') {
    if (isJson) for (const d of duplicateFields(text)) problems.push(`duplicate field ${JSON.stringify(d)}`)
    for (const u of unknownFields(t, obj)) problems.push(`unknown field ${JSON.stringify(u)}`)
  }
  for (const u of unknownFields(t, obj)) delete obj[u]
  if (t.custom) {
    const pruned = pruneCustom(obj, t.custom.schema)
    if (opts.fieldValidation !== 'Ignore')
      for (const p of pruned) problems.push(`unknown field ${JSON.stringify(p)}`)
  }
  if (problems.length && opts.fieldValidation === 'Strict') {
    throw badRequest(
      `${t.kind} in version ${JSON.stringify(t.version)} cannot be handled as a ${t.kind}: strict decoding error: ${problems.join(', ')}`,
    )
  }
  return { obj, warnings: problems.map(warning) }
}

/** Go's omitempty on built-in map fields: `data: {}` is not stored. */
function dropEmptyMaps(t: ResourceType, obj: Obj): void {
  if (t.custom) return
  for (const k of ['data', 'binaryData', 'stringData']) {
    const v = obj[k]
    if (isObj(v) && Object.keys(v).length === 0) delete obj[k]
  }
}

function metaOf(obj: Obj): Obj {
  const m = objAt(obj, 'metadata') ?? {}
  obj.metadata = m
  return m
}

/** Removes what clients may not set; the server fills these. */
function stripSystemMeta(meta: Obj): void {
  for (const k of [
    'uid',
    'resourceVersion',
    'creationTimestamp',
    'generation',
    'deletionTimestamp',
    'deletionGracePeriodSeconds',
    'selfLink',
    'managedFields',
  ])
    delete meta[k]
}

function hasStatusSubresource(t: ResourceType): boolean {
  return t.subresources.some((s) => s.name === 'status')
}

/** The version objects are stored in (custom resources: the CRD's storage version). */
function storageType(ctx: Ctx): ResourceType {
  const t = ctx.type
  if (!t.custom) return t
  const crdType = ctx.shared.registry.byResource('apiextensions.k8s.io', 'customresourcedefinitions')
  const crd = crdType ? ctx.shared.store.get(crdType.storageKey, '', `${t.resource}.${t.group}`) : undefined
  if (!crd || !crdType) return t
  const spec = objAt(objectOf(crdType, crd), 'spec')
  const versions = Array.isArray(spec?.versions) ? spec.versions.filter(isObj) : []
  const storage = strAt(
    versions.find((v) => v.storage === true),
    'name',
  )
  return (storage && ctx.shared.registry.lookup(t.group, storage, t.resource)) || t
}

/** Audit annotations admission added, per request, for the audit hook. */
const auditAnnotations = new WeakMap<Ctx, Record<string, string>>()

/** Create- and UpdateOptions as the API server puts them in admission: the query's options. */
function operationOptions(ctx: Ctx, kind: 'CreateOptions' | 'UpdateOptions'): Obj {
  const q = ctx.query
  const out: Obj = { kind, apiVersion: 'meta.k8s.io/v1' }
  const dry = q.getAll('dryRun')
  if (dry.length > 0) out.dryRun = dry
  const manager = q.get('fieldManager')
  if (manager) out.fieldManager = manager
  const validation = q.get('fieldValidation')
  if (validation) out.fieldValidation = validation
  return out
}

/**
 * DeleteOptions as admission sees them: body and query merged, in the Go field order, with the
 * grace period a pod's strategy fills in (0 for a pod no node runs).
 */
function deleteOptions(ctx: Ctx, body: Obj, prev: Obj): Obj {
  const q = ctx.query
  const out: Obj = { kind: 'DeleteOptions', apiVersion: 'meta.k8s.io/v1' }
  const grace = q.has('gracePeriodSeconds') ? Number(q.get('gracePeriodSeconds')) : body.gracePeriodSeconds
  if (typeof grace === 'number' && Number.isFinite(grace)) out.gracePeriodSeconds = grace
  else if (ctx.type.storageKey === '/pods') {
    const spec = objAt(prev, 'spec')
    const tgps = spec?.terminationGracePeriodSeconds
    out.gracePeriodSeconds = strAt(spec, 'nodeName') ? (typeof tgps === 'number' ? tgps : 30) : 0
  }
  if (isObj(body.preconditions)) out.preconditions = body.preconditions
  const orphan = q.has('orphanDependents') ? q.get('orphanDependents') === 'true' : body.orphanDependents
  if (typeof orphan === 'boolean') out.orphanDependents = orphan
  const propagation = q.get('propagationPolicy') ?? body.propagationPolicy
  if (typeof propagation === 'string') out.propagationPolicy = propagation
  const dry = q.getAll('dryRun').length > 0 ? q.getAll('dryRun') : body.dryRun
  if (Array.isArray(dry) && dry.length > 0) out.dryRun = dry
  return out
}

async function admit(
  ctx: Ctx,
  operation: Operation,
  object: Obj | null,
  oldObject: Obj | null,
  dryRun: boolean,
  warnings: string[],
  options: Obj | null,
  nameGenerated = false,
): Promise<Obj | null> {
  let current = object
  const annotations = auditAnnotations.get(ctx) ?? {}
  auditAnnotations.set(ctx, annotations)
  for (const hook of ctx.shared.hooks) {
    if (!hook.beforeWrite) continue
    // Copies are made when a hook reads them: the webhook hook, always installed, reads nothing
    // while no webhook configuration exists, and a copy costs a third of a patch (bench/watch.mjs).
    const seen = current
    let objectCopy: Obj | null | undefined
    let oldCopy: Obj | null | undefined
    const attrs: AdmissionAttributes = {
      operation,
      type: ctx.type,
      namespace: ctx.route.namespace,
      name: ctx.route.name || strAt(objAt(object ?? oldObject, 'metadata'), 'name') || '',
      subresource: ctx.route.subresource,
      get object() {
        if (objectCopy === undefined) objectCopy = seen ? clone(seen) : null
        return objectCopy
      },
      get oldObject() {
        if (oldCopy === undefined) oldCopy = oldObject ? clone(oldObject) : null
        return oldCopy
      },
      user: ctx.user,
      dryRun,
      options,
      nameGenerated,
    }
    const verdict = await hook.beforeWrite(attrs)
    if (!verdict) continue
    for (const w of verdict.warnings ?? []) warnings.push(warning(w))
    Object.assign(annotations, verdict.auditAnnotations ?? {})
    if (!verdict.allowed)
      throw new ApiError(verdict.code ?? 403, verdict.reason ?? '', verdict.message, verdict.details, {
        warnings: [...warnings],
      })
    if (verdict.object && current) current = clone(verdict.object)
  }
  return current
}

function audit(ctx: Ctx, code: number, requestObject: Obj | null, responseObject: Obj | null): void {
  for (const hook of ctx.shared.hooks) {
    hook.afterWrite?.({
      request: {
        method: ctx.req.method ?? '',
        url: ctx.req.url ?? '',
        user: ctx.user,
        userAgent: ctx.req.headers['user-agent'] ?? '',
        sourceIp: ctx.req.socket.remoteAddress ?? '',
      },
      verb: ctx.route.verb,
      type: ctx.type,
      namespace: ctx.route.namespace,
      name: ctx.route.name,
      subresource: ctx.route.subresource,
      code,
      requestObject,
      responseObject,
      receivedAt: ctx.receivedAt,
      completedAt: new Date(),
      annotations: { ...(auditAnnotations.get(ctx) ?? {}) },
    })
  }
}

function answerObject(ctx: Ctx, code: number, json: string, warnings: readonly string[]): void {
  const accept = ctx.req.headers.accept ?? ''
  if (/application\/yaml/.test(accept) && !/application\/json/.test(accept)) {
    reply(ctx.res, ctx.shared.wire, code, yamlOf(JSON.parse(json)), {
      contentType: 'application/yaml',
      warnings,
    })
    return
  }
  reply(ctx.res, ctx.shared.wire, code, `${json}\n`, { contentType: 'application/json', warnings })
}

function requireNamespace(ctx: Ctx, creating?: string): void {
  const t = ctx.type
  if (!t.namespaced) return
  const ns = ctx.route.namespace
  const nsType = ctx.shared.registry.lookup('', 'v1', 'namespaces')!
  const stored = ctx.shared.store.get(nsType.storageKey, '', ns)
  if (!stored) throw namespaceNotFound(ns)
  if (creating !== undefined && stored.fields['status.phase'] === 'Terminating') {
    throw new ApiError(
      403,
      'Forbidden',
      `${qualifiedName(t)} "${creating}" is forbidden: unable to create new content in namespace ${ns} because it is being terminated`,
      { name: creating, ...(t.group ? { group: t.group } : {}), kind: t.resource },
    )
  }
}

function qualifiedName(t: ResourceType): string {
  return t.group ? `${t.resource}.${t.group}` : t.resource
}

/** The JSON of an object that is answered but not stored (dry run): as stored, minus resourceVersion. */
function unstoredJson(t: ResourceType, obj: Obj): string {
  return fullJson(t, encodeBody(t, obj))
}

/** Stores (or, dry-run, pretends to) and returns the answer's JSON. */
function commit(ctx: Ctx, obj: Obj, dryRun: boolean): string {
  const t = ctx.type
  const st = storageType(ctx)
  if (dryRun) return unstoredJson(t, obj)
  const stored = ctx.shared.store.put(st, obj, (o) => extractFields(t, o), st)
  return objectJson(t, stored)
}

// ---------------------------------------------------------------------------------------------- create

export async function handleCreate(ctx: Ctx, text: string): Promise<void> {
  const opts = writeOptions(ctx, 'CreateOptions')
  const { obj, warnings } = decodeObject(ctx, text, opts)
  await createObject(ctx, obj, opts, warnings, 'update')
}

async function createObject(
  ctx: Ctx,
  obj: Obj,
  opts: WriteOptions,
  warnings: string[],
  how: 'update' | 'apply',
): Promise<void> {
  const t = ctx.type
  const meta = metaOf(obj)
  if (t.namespaced) {
    const ns = strAt(meta, 'namespace')
    if (ns && ns !== ctx.route.namespace)
      throw badRequest(
        'the namespace of the provided object does not match the namespace sent on the request',
      )
    meta.namespace = ctx.route.namespace
  } else delete meta.namespace
  const applied = how === 'apply' ? meta.managedFields : undefined
  stripSystemMeta(meta)
  if (applied) meta.managedFields = applied
  const nameGenerated = !strAt(meta, 'name') && !!strAt(meta, 'generateName')
  if (nameGenerated) meta.name = `${meta.generateName}${randomSuffix()}`
  if (hasStatusSubresource(t) && !t.custom && t.storageKey !== '/pods') delete obj.status
  if (t.custom && hasStatusSubresource(t)) delete obj.status
  if (t.storageKey === 'apiextensions.k8s.io/customresourcedefinitions') prepareCrd(obj)
  applyDefaults(t, obj)
  validateObject(t, obj)
  const name = String(meta.name)
  requireNamespace(ctx, name)
  if (ctx.shared.store.get(t.storageKey, t.namespaced ? ctx.route.namespace : '', name))
    throw alreadyExists(t, name)
  meta.creationTimestamp = nowTime()
  if (t.traits.generation) meta.generation = 1
  if (how === 'update') recordUpdate(t, null, obj, opts.manager, t.apiVersion)
  if (t.storageKey === '/pods') delete obj.status
  admitOnCreate(t, obj, ctx.shared.ips)
  // The uid is the registry's (BeforeCreate), before validating admission sees the object.
  meta.uid = randomUUID()
  const admitted =
    (await admit(
      ctx,
      'CREATE',
      obj,
      null,
      opts.dryRun,
      warnings,
      operationOptions(ctx, 'CreateOptions'),
      nameGenerated,
    )) ?? obj
  const json = commit(ctx, admitted, opts.dryRun)
  answerObject(ctx, 201, json, warnings)
  audit(ctx, 201, obj, admitted)
  if (!opts.dryRun) afterCreate(ctx, admitted)
}

function afterCreate(ctx: Ctx, obj: Obj): void {
  const t = ctx.type
  const name = strAt(objAt(obj, 'metadata'), 'name') ?? ''
  if (t.storageKey === '/namespaces') namespaceCreated(ctx.shared, name, ctx.shared.caPem)
  if (t.storageKey === 'apiextensions.k8s.io/customresourcedefinitions') establishCrd(ctx.shared, t, name)
}

// ---------------------------------------------------------------------------------------------- update

function currentObject(ctx: Ctx): Obj {
  const t = ctx.type
  const o = ctx.shared.store.get(t.storageKey, t.namespaced ? ctx.route.namespace : '', ctx.route.name)
  if (!o) throw notFound(t, ctx.route.name)
  return objectOf(t, o)
}

/** Carries over what an update may not change, applies the status/main split, bumps generation. */
function mergeForUpdate(t: ResourceType, prev: Obj, next: Obj, subresource: string): Obj {
  const pm = objAt(prev, 'metadata') ?? {}
  let out: Obj
  if (subresource === 'status') {
    out = { ...clone(prev), status: clone(next.status) }
    out.metadata = { ...clone(pm) }
  } else if (subresource === 'ephemeralcontainers') {
    // `kubectl debug` writes here: only the pod's ephemeral containers change.
    out = clone(prev)
    const spec = objAt(out, 'spec') ?? {}
    const wanted = objAt(next, 'spec')?.ephemeralContainers
    if (wanted === undefined) delete spec.ephemeralContainers
    else spec.ephemeralContainers = clone(wanted)
    out.spec = spec
  } else {
    out = next
    if (hasStatusSubresource(t)) {
      if (prev.status === undefined) delete out.status
      else out.status = clone(prev.status)
    }
  }
  const m = metaOf(out)
  for (const k of [
    'uid',
    'creationTimestamp',
    'generation',
    'deletionTimestamp',
    'deletionGracePeriodSeconds',
  ]) {
    if (pm[k] === undefined) delete m[k]
    else m[k] = pm[k]
  }
  m.managedFields = pm.managedFields
  delete m.resourceVersion
  if (t.traits.generation && subresource !== 'status') {
    const specOf = (o: Obj) => {
      const { metadata: _m, status: _s, ...rest } = o
      return rest
    }
    if (!isDeepStrictEqual(specOf(prev), specOf(out)))
      m.generation = (typeof pm.generation === 'number' ? pm.generation : 1) + 1
  }
  return out
}

/** Common tail of update and patch: default, validate, record, admit, store, answer. */
async function finishUpdate(
  ctx: Ctx,
  prev: Obj,
  next: Obj,
  opts: WriteOptions,
  warnings: string[],
  how: 'update' | 'apply',
): Promise<void> {
  const t = ctx.type
  const prevRv = strAt(objAt(prev, 'metadata'), 'resourceVersion')
  applyDefaults(t, next)
  if (t.storageKey === '/namespaces') next.status = prev.status
  validateObject(t, next)
  // The ephemeralcontainers subresource leaves managedFields as they were, as the API server does.
  if (how === 'update' && ctx.route.subresource !== 'ephemeralcontainers')
    recordUpdate(
      t,
      prev,
      next,
      opts.manager,
      t.apiVersion,
      ctx.route.subresource === 'status' ? 'status' : '',
    )
  // The object without its resourceVersion and managedFields: a copy of the two levels that lose a
  // field, where a deep copy of the whole object took a third of a patch's time (bench/watch.mjs).
  const comparable = (o: Obj): Obj => {
    const m = objAt(o, 'metadata')
    if (!m) return o
    const { resourceVersion: _rv, managedFields: _mf, ...meta } = m
    return { ...o, metadata: meta }
  }
  // Admission runs before storage decides whether anything changed, as in the API server.
  const admitted =
    (await admit(ctx, 'UPDATE', next, prev, opts.dryRun, warnings, operationOptions(ctx, 'UpdateOptions'))) ??
    next
  const prevMf = JSON.stringify(objAt(prev, 'metadata')?.managedFields ?? [])
  const nextMf = JSON.stringify(objAt(admitted, 'metadata')?.managedFields ?? [])
  const mfSame = prevMf === nextMf || (how === 'update' && stripTimes(prevMf) === stripTimes(nextMf))
  if (mfSame && isDeepStrictEqual(comparable(prev), comparable(admitted))) {
    // A no-op write is not written: same resourceVersion, as etcd's unchanged-object short cut.
    metaOf(prev).resourceVersion = prevRv
    answerObject(ctx, 200, JSON.stringify({ ...prev, metadata: orderMetadata(metaOf(prev)) }), warnings)
    audit(ctx, 200, next, prev)
    return
  }
  if (opts.dryRun) metaOf(admitted).resourceVersion = prevRv
  const json = opts.dryRun ? fullJson(t, encodeBody(t, admitted)) : commit(ctx, admitted, false)
  // A changed CRD changes what is served (versions, names, schema, columns).
  if (!opts.dryRun && t.storageKey === 'apiextensions.k8s.io/customresourcedefinitions')
    ctx.shared.registry.defineCustom(admitted)
  answerObject(ctx, 200, json, warnings)
  audit(ctx, 200, next, admitted)
}

function stripTimes(mf: string): string {
  return mf.replace(/"time":"[^"]*"/g, '')
}

export async function handleUpdate(ctx: Ctx, text: string): Promise<void> {
  if (!ctx.route.name) throw methodNotAllowed()
  const opts = writeOptions(ctx, 'UpdateOptions')
  if (ctx.route.subresource === 'scale') return updateScale(ctx, text, opts)
  const { obj, warnings } = decodeObject(ctx, text, opts)
  const meta = metaOf(obj)
  const name = strAt(meta, 'name') ?? ''
  if (name !== ctx.route.name)
    throw badRequest(
      `the name of the object (${name}) does not match the name on the URL (${ctx.route.name})`,
    )
  if (ctx.type.namespaced) {
    const ns = strAt(meta, 'namespace')
    if (ns && ns !== ctx.route.namespace)
      throw badRequest(
        'the namespace of the provided object does not match the namespace sent on the request',
      )
    meta.namespace = ctx.route.namespace
  }
  const prev = currentObject(ctx)
  const sentRv = strAt(meta, 'resourceVersion')
  if (sentRv && sentRv !== strAt(objAt(prev, 'metadata'), 'resourceVersion'))
    throw conflict(ctx.type, ctx.route.name)
  const next = mergeForUpdate(ctx.type, prev, obj, ctx.route.subresource)
  await finishUpdate(ctx, prev, next, opts, warnings, 'update')
}

// ----------------------------------------------------------------------------------------------- patch

type PatchKind = 'merge' | 'json' | 'strategic' | 'apply'

function patchKind(ctx: Ctx): PatchKind {
  switch (mediaType(ctx)) {
    case 'application/merge-patch+json':
      return 'merge'
    case 'application/json-patch+json':
      return 'json'
    case 'application/strategic-merge-patch+json':
      if (ctx.type.custom)
        throw new ApiError(
          415,
          'UnsupportedMediaType',
          'the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml',
        )
      return 'strategic'
    case 'application/apply-patch+yaml':
      return 'apply'
    default:
      throw new ApiError(415, 'UnsupportedMediaType', '415: Unsupported Media Type', {})
  }
}

/**
 * An apply that creates the object needs `create` as well as `patch` (the API server authorizes the
 * create-on-update again, as create). Its 403 names only the object: the message is the RBAC
 * authorizer's reason, which it leaves empty when no rule matched.
 */
function requireCreate(ctx: Ctx): void {
  const t = ctx.type
  const name = ctx.route.name
  const allowed = ctx.shared.authorizer.allowed(ctx.user, {
    kind: 'resource',
    verb: 'create',
    group: t.group,
    resource: t.resource,
    subresource: ctx.route.subresource,
    namespace: t.namespaced ? ctx.route.namespace : '',
    name,
  })
  if (!allowed)
    throw new ApiError(403, 'Forbidden', `${qualifiedName(t)} ${JSON.stringify(name)} is forbidden: `, {
      name,
      ...(t.group ? { group: t.group } : {}),
      kind: t.resource,
    })
}

export async function handlePatch(ctx: Ctx, text: string): Promise<void> {
  if (!ctx.route.name) throw methodNotAllowed()
  const kind = patchKind(ctx)
  const opts = writeOptions(ctx, 'PatchOptions', kind === 'apply')
  const t = ctx.type
  let patch: unknown
  try {
    patch = kind === 'apply' ? parseYaml(text) : JSON.parse(text)
  } catch (e) {
    throw badRequest(
      `error decoding patch: ${kind === 'apply' ? (e instanceof Error ? e.message.split('\n')[0] : String(e)) : goJsonError(text, e)}`,
    )
  }
  if (ctx.route.subresource === 'scale') return patchScale(ctx, kind, patch, opts)
  const warnings: string[] = []
  const existing = ctx.shared.store.get(t.storageKey, t.namespaced ? ctx.route.namespace : '', ctx.route.name)
  if (kind === 'apply') {
    if (!isObj(patch)) throw badRequest('error decoding patch: the object provided is not a map')
    const applied = patch
    const am = objAt(applied, 'metadata') ?? {}
    const name = strAt(am, 'name') ?? ''
    if (name !== ctx.route.name)
      throw badRequest(
        `the name of the object (${name}) does not match the name on the URL (${ctx.route.name})`,
      )
    if (t.namespaced) {
      const ns = strAt(am, 'namespace')
      if (ns && ns !== ctx.route.namespace)
        throw badRequest(
          'the namespace of the provided object does not match the namespace sent on the request',
        )
    }
    const kindOk =
      (applied.kind === undefined || applied.kind === t.kind) &&
      (applied.apiVersion === undefined || String(applied.apiVersion).split('/').length === (t.group ? 2 : 1))
    if (!kindOk)
      throw badRequest(
        `${String(applied.kind)} in version ${JSON.stringify(String(applied.apiVersion))} cannot be handled as a ${t.kind}`,
      )
    for (const u of unknownFields(t, applied)) {
      if (opts.fieldValidation === 'Strict') throw badRequest(`.${u}: field not declared in schema`)
      if (opts.fieldValidation === 'Warn') warnings.push(warning(`unknown field ${JSON.stringify(u)}`))
      delete applied[u]
    }
    if (t.custom)
      for (const p of pruneCustom(applied, t.custom.schema))
        warnings.push(warning(`unknown field ${JSON.stringify(p)}`))
    checkDecodable(t, applied)
    const cleanApplied = clone(applied)
    const cm = objAt(cleanApplied, 'metadata') ?? {}
    stripSystemMeta(cm)
    delete cm.namespace
    cleanApplied.metadata = cm
    delete cleanApplied.apiVersion
    delete cleanApplied.kind
    if (!existing) {
      requireCreate(ctx)
      const obj = serverSideApply(t, null, cleanApplied, opts.manager, t.apiVersion, opts.force)
      obj.kind = t.kind
      obj.apiVersion = t.apiVersion
      const m = metaOf(obj)
      m.name = ctx.route.name
      requireNamespace(ctx)
      await createObject(ctx, obj, opts, warnings, 'apply')
      return
    }
    const prev = objectOf(t, existing)
    const next = serverSideApply(t, clone(prev), cleanApplied, opts.manager, t.apiVersion, opts.force)
    next.kind = t.kind
    next.apiVersion = t.apiVersion
    const managedFields = objAt(next, 'metadata')?.managedFields
    const merged = mergeForUpdate(t, prev, next, ctx.route.subresource)
    metaOf(merged).managedFields = managedFields
    await finishUpdate(ctx, prev, merged, opts, warnings, 'apply')
    return
  }
  if (!existing) throw notFound(t, ctx.route.name)
  // Patches work on a copy of their own, decoded again from the stored text (cheaper than a deep
  // copy: bench/watch.mjs): prev stays the old object that admission is shown.
  const prev = objectOf(t, existing)
  const base = () => objectOf(t, existing)
  let patched: unknown
  if (kind === 'merge') {
    if (!isObj(patch))
      throw badRequest(
        'error decoding patch: json: cannot unmarshal into Go value of type map[string]interface {}',
      )
    patched = mergePatch(base(), patch)
  } else if (kind === 'strategic') {
    if (!isObj(patch))
      throw badRequest(
        'error decoding patch: json: cannot unmarshal into Go value of type map[string]interface {}',
      )
    patched = strategicMergePatch(base(), patch)
  } else patched = jsonPatch(base(), patch)
  if (!isObj(patched)) throw badRequest('the patched object is not a map')
  const pm = metaOf(patched)
  const sentRv = strAt(pm, 'resourceVersion')
  if (sentRv && sentRv !== strAt(objAt(prev, 'metadata'), 'resourceVersion'))
    throw conflict(t, ctx.route.name)
  if ((strAt(pm, 'name') ?? '') !== ctx.route.name)
    throw badRequest(
      `the name of the object (${strAt(pm, 'name') ?? ''}) does not match the name on the URL (${ctx.route.name})`,
    )
  patched.kind = t.kind
  patched.apiVersion = t.apiVersion
  checkDecodable(t, patched)
  for (const u of unknownFields(t, patched)) {
    if (opts.fieldValidation === 'Strict')
      throw badRequest(
        `${t.kind} in version ${JSON.stringify(t.version)} cannot be handled as a ${t.kind}: strict decoding error: unknown field ${JSON.stringify(u)}`,
      )
    if (opts.fieldValidation === 'Warn') warnings.push(warning(`unknown field ${JSON.stringify(u)}`))
    delete patched[u]
  }
  if (t.custom)
    for (const p of pruneCustom(patched, t.custom.schema))
      warnings.push(warning(`unknown field ${JSON.stringify(p)}`))
  const next = mergeForUpdate(t, prev, patched, ctx.route.subresource)
  await finishUpdate(ctx, prev, next, opts, warnings, 'update')
}

// ----------------------------------------------------------------------------------------------- scale

/** The Scale of a workload (what admission of the scale subresource sees). */
export function scaleFromObject(obj: Obj): Obj {
  return scaleOf(obj)
}

/** A workload with the replicas of a (mutated) Scale. */
export function scaleIntoObject(obj: Obj, scale: Obj): Obj {
  const replicas = objAt(scale, 'spec')?.replicas
  const spec = objAt(obj, 'spec') ?? {}
  if (typeof replicas === 'number') spec.replicas = replicas
  obj.spec = spec
  return obj
}

function scaleOf(obj: Obj): Obj {
  const m = objAt(obj, 'metadata') ?? {}
  const spec = objAt(obj, 'spec') ?? {}
  const status = objAt(obj, 'status') ?? {}
  const sel = objAt(objAt(spec, 'selector'), 'matchLabels') ?? objAt(spec, 'selector') ?? {}
  return {
    kind: 'Scale',
    apiVersion: 'autoscaling/v1',
    metadata: {
      name: m.name,
      namespace: m.namespace,
      uid: m.uid,
      resourceVersion: m.resourceVersion,
      creationTimestamp: m.creationTimestamp,
    },
    spec: { replicas: typeof spec.replicas === 'number' ? spec.replicas : 1 },
    status: {
      replicas: typeof status.replicas === 'number' ? status.replicas : 0,
      selector: Object.entries(sel)
        .map(([k, v]) => `${k}=${String(v)}`)
        .join(','),
    },
  }
}

export function handleGetScale(ctx: Ctx): void {
  reply(ctx.res, ctx.shared.wire, 200, `${JSON.stringify(scaleOf(currentObject(ctx)))}\n`, {
    contentType: 'application/json',
  })
}

async function setReplicas(ctx: Ctx, prev: Obj, replicas: unknown, opts: WriteOptions): Promise<void> {
  if (typeof replicas !== 'number' || !Number.isInteger(replicas) || replicas < 0)
    throw new ApiError(
      422,
      'Invalid',
      `Scale.autoscaling "${ctx.route.name}" is invalid: spec.replicas: Invalid value: ${JSON.stringify(replicas)}: must be greater than or equal to 0`,
    )
  const next = clone(prev)
  const spec = objAt(next, 'spec') ?? {}
  spec.replicas = replicas
  next.spec = spec
  const merged = mergeForUpdate(ctx.type, prev, next, '')
  recordUpdate(ctx.type, prev, merged, opts.manager, ctx.type.apiVersion, 'scale')
  const warnings: string[] = []
  const admitted =
    (await admit(
      ctx,
      'UPDATE',
      merged,
      prev,
      opts.dryRun,
      warnings,
      operationOptions(ctx, 'UpdateOptions'),
    )) ?? merged
  const json = commit(ctx, admitted, opts.dryRun)
  reply(ctx.res, ctx.shared.wire, 200, `${JSON.stringify(scaleOf(JSON.parse(json) as Obj))}\n`, {
    contentType: 'application/json',
    warnings,
  })
}

async function updateScale(ctx: Ctx, text: string, opts: WriteOptions): Promise<void> {
  let body: unknown
  try {
    body = JSON.parse(text)
  } catch (e) {
    throw badRequest(
      `the object provided is unrecognized (must be of type Scale): couldn't get version/kind; json parse error: ${goJsonError(text, e)}`,
    )
  }
  await setReplicas(ctx, currentObject(ctx), objAt(body, 'spec')?.replicas, opts)
}

async function patchScale(ctx: Ctx, kind: PatchKind, patch: unknown, opts: WriteOptions): Promise<void> {
  const prev = currentObject(ctx)
  const scale = scaleOf(prev)
  const patched =
    kind === 'json'
      ? jsonPatch(scale, patch)
      : kind === 'strategic'
        ? strategicMergePatch(scale, patch)
        : mergePatch(scale, patch)
  await setReplicas(ctx, prev, objAt(patched, 'spec')?.replicas, opts)
}

// ---------------------------------------------------------------------------------------------- delete

function parseDeleteOptions(ctx: Ctx, text: string): Obj {
  if (!text.trim()) return {}
  try {
    const v = mediaType(ctx) === 'application/yaml' ? parseYaml(text) : JSON.parse(text)
    return isObj(v) ? v : {}
  } catch (e) {
    throw badRequest(
      `the object provided is unrecognized (must be of type DeleteOptions): couldn't get version/kind; json parse error: ${goJsonError(text, e)}`,
    )
  }
}

export async function handleDelete(ctx: Ctx, text: string): Promise<void> {
  const t = ctx.type
  const options = parseDeleteOptions(ctx, text)
  const dry =
    ctx.query.getAll('dryRun').length > 0 || (Array.isArray(options.dryRun) && options.dryRun.length > 0)
  writeOptions(ctx, 'DeleteOptions')
  const prev = currentObject(ctx)
  const pm = objAt(prev, 'metadata') ?? {}
  const pre = objAt(options, 'preconditions') ?? {}
  const detailsFor = { name: ctx.route.name, ...(t.group ? { group: t.group } : {}), kind: t.kind }
  if (strAt(pre, 'uid') && pre.uid !== pm.uid)
    throw new ApiError(
      409,
      'Conflict',
      `Operation cannot be fulfilled on ${t.kind} "${ctx.route.name}": the UID in the precondition (${String(pre.uid)}) does not match the UID in record (${String(pm.uid)}). The object might have been deleted and then recreated`,
      detailsFor,
    )
  if (strAt(pre, 'resourceVersion') && pre.resourceVersion !== pm.resourceVersion)
    throw new ApiError(
      409,
      'Conflict',
      `Operation cannot be fulfilled on ${t.kind} "${ctx.route.name}": the ResourceVersion in the precondition (${String(pre.resourceVersion)}) does not match the ResourceVersion in record (${String(pm.resourceVersion)}). The object might have been modified`,
      detailsFor,
    )
  const deleteWarnings: string[] = []
  await admit(ctx, 'DELETE', null, prev, dry, deleteWarnings, deleteOptions(ctx, options, prev))
  const deletedAt = nowTime()
  const finalize = (o: Obj) => {
    const m = metaOf(o)
    if (t.storageKey === '/pods') {
      m.deletionTimestamp = deletedAt
      m.deletionGracePeriodSeconds = 0
    } else if (t.storageKey === '/namespaces') {
      m.deletionTimestamp = deletedAt
      o.status = { phase: 'Terminating' }
    } else if (t.storageKey === 'apiextensions.k8s.io/customresourcedefinitions') {
      m.deletionTimestamp = deletedAt
      m.finalizers = ['customresourcecleanup.apiextensions.k8s.io']
      const status = objAt(o, 'status') ?? {}
      const conds = Array.isArray(status.conditions) ? status.conditions : []
      conds.push({
        type: 'Terminating',
        status: 'True',
        lastTransitionTime: deletedAt,
        reason: 'InstanceDeletionPending',
        message: 'CustomResourceDefinition marked for deletion; CustomResource deletion will begin soon',
      })
      status.conditions = conds
      o.status = status
    }
  }
  let final: Obj
  if (dry) {
    final = clone(prev)
    finalize(final)
  } else if (t.storageKey === '/namespaces') {
    // A namespace is Terminating first; the namespace controller deletes its objects, then it.
    final = clone(prev)
    if (!objAt(prev, 'metadata')?.deletionTimestamp) {
      finalize(final)
      ctx.shared.store.put(t, final, (o) => extractFields(t, o))
      const name = ctx.route.name
      const shared = ctx.shared
      setTimeout(() => {
        namespaceDeleted(shared, name)
        shared.store.remove(t, '', name)
      }, shared.timing.namespaceFinalizeMs).unref()
    }
  } else {
    final =
      ctx.shared.store.remove(
        storageType(ctx),
        t.namespaced ? ctx.route.namespace : '',
        ctx.route.name,
        finalize,
      ) ?? prev
    if (t.storageKey === 'apiextensions.k8s.io/customresourcedefinitions') crdDeleted(ctx.shared, final)
  }
  if (t.traits.deleteReturnsObject) {
    const json = fullJson(t, encodeBody(t, final))
    answerObject(ctx, 200, json, deleteWarnings)
  } else {
    const status = {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Success',
      details: {
        name: ctx.route.name,
        ...(t.group ? { group: t.group } : {}),
        kind: t.resource,
        uid: pm.uid,
      },
    }
    reply(ctx.res, ctx.shared.wire, 200, `${JSON.stringify(status)}\n`, {
      contentType: 'application/json',
      warnings: deleteWarnings,
    })
  }
  audit(ctx, 200, options, final)
}

export async function handleDeleteCollection(ctx: Ctx, text: string): Promise<void> {
  const t = ctx.type
  if (!t.verbs.includes('deletecollection')) throw methodNotAllowed()
  const deleteBody = parseDeleteOptions(ctx, text)
  writeOptions(ctx, 'DeleteOptions')
  const dry = ctx.query.getAll('dryRun').length > 0
  const filters = parseFilters(ctx)
  const prefix = t.namespaced && ctx.route.namespace ? `${ctx.route.namespace}/` : ''
  const victims = [...ctx.shared.store.scan(t.storageKey, { prefix })].filter((o) => matches(filters, o))
  const items: string[] = []
  for (const o of victims) {
    const prev = objectOf(t, o)
    await admit(ctx, 'DELETE', null, prev, dry, [], deleteOptions(ctx, deleteBody, prev))
    const final = dry ? prev : (ctx.shared.store.remove(t, o.namespace, o.name) ?? prev)
    items.push(t.custom ? fullJson(t, encodeBody(t, final)) : encodeBody(t, final))
  }
  const body = `{"kind":${JSON.stringify(t.listKind)},"apiVersion":${JSON.stringify(t.apiVersion)},"metadata":{"resourceVersion":"${ctx.shared.store.revision}"},"items":[${items.join(',')}]}\n`
  reply(ctx.res, ctx.shared.wire, 200, body, { contentType: 'application/json' })
}
