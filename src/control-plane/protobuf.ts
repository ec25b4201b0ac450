/**
 * Decoding of Kubernetes protobuf request bodies (Content-Type application/vnd.kubernetes.protobuf),
 * which kubectl sends for `create <kind>` and `auth can-i`: the "k8s\0" envelope (runtime.Unknown with
 * TypeMeta and raw bytes) around the typed message. Only the kinds kubectl's typed commands post are
 * described here (field numbers from the Kubernetes API's generated.proto); any other protobuf body
 * is a 415, as for a kind the server cannot decode. Answers are always JSON (clients accept both).
 */
import { badRequest } from './status.js'
import type { Obj } from './types.js'

type Scalar = 'string' | 'bytes' | 'int' | 'bool'
interface Field {
  readonly name: string
  readonly type: Scalar | 'message' | 'map' | 'mapBytes'
  readonly repeated?: boolean
  readonly schema?: () => Schema
}
type Schema = Readonly<Record<number, Field>>

const s = (name: string, repeated = false): Field => ({ name, type: 'string', repeated })
const m = (name: string, schema: () => Schema, repeated = false): Field => ({
  name,
  type: 'message',
  schema,
  repeated,
})

const OWNER_REFERENCE: Schema = {
  1: s('kind'),
  3: s('name'),
  4: s('uid'),
  5: s('apiVersion'),
  6: { name: 'controller', type: 'bool' },
  7: { name: 'blockOwnerDeletion', type: 'bool' },
}
const OBJECT_META: Schema = {
  1: s('name'),
  2: s('generateName'),
  3: s('namespace'),
  11: { name: 'labels', type: 'map' },
  12: { name: 'annotations', type: 'map' },
  13: m('ownerReferences', () => OWNER_REFERENCE, true),
  14: s('finalizers', true),
}
const meta = m('metadata', () => OBJECT_META)
const POLICY_RULE: Schema = {
  1: s('verbs', true),
  2: s('apiGroups', true),
  3: s('resources', true),
  4: s('resourceNames', true),
  5: s('nonResourceURLs', true),
}
const SUBJECT: Schema = { 1: s('kind'), 2: s('apiGroup'), 3: s('name'), 4: s('namespace') }
const ROLE_REF: Schema = { 1: s('apiGroup'), 2: s('kind'), 3: s('name') }
const RESOURCE_ATTRIBUTES: Schema = {
  1: s('namespace'),
  2: s('verb'),
  3: s('group'),
  4: s('version'),
  5: s('resource'),
  6: s('subresource'),
  7: s('name'),
}
const NON_RESOURCE_ATTRIBUTES: Schema = { 1: s('path'), 2: s('verb') }

/** Schemas by "apiVersion/Kind". */
const KINDS: Record<string, Schema> = {
  'v1/Namespace': { 1: meta, 2: m('spec', () => ({ 1: s('finalizers', true) })) },
  'v1/ConfigMap': {
    1: meta,
    2: { name: 'data', type: 'map' },
    3: { name: 'binaryData', type: 'mapBytes' },
    4: { name: 'immutable', type: 'bool' },
  },
  'v1/Secret': {
    1: meta,
    2: { name: 'data', type: 'mapBytes' },
    3: s('type'),
    4: { name: 'stringData', type: 'map' },
    5: { name: 'immutable', type: 'bool' },
  },
  'v1/ServiceAccount': {
    1: meta,
    3: m('imagePullSecrets', () => ({ 1: s('name') }), true),
    4: { name: 'automountServiceAccountToken', type: 'bool' },
  },
  'rbac.authorization.k8s.io/v1/Role': { 1: meta, 2: m('rules', () => POLICY_RULE, true) },
  'rbac.authorization.k8s.io/v1/ClusterRole': { 1: meta, 2: m('rules', () => POLICY_RULE, true) },
  'rbac.authorization.k8s.io/v1/RoleBinding': {
    1: meta,
    2: m('subjects', () => SUBJECT, true),
    3: m('roleRef', () => ROLE_REF),
  },
  'rbac.authorization.k8s.io/v1/ClusterRoleBinding': {
    1: meta,
    2: m('subjects', () => SUBJECT, true),
    3: m('roleRef', () => ROLE_REF),
  },
  'authorization.k8s.io/v1/SelfSubjectAccessReview': {
    1: meta,
    2: m('spec', () => ({
      1: m('resourceAttributes', () => RESOURCE_ATTRIBUTES),
      2: m('nonResourceAttributes', () => NON_RESOURCE_ATTRIBUTES),
    })),
  },
  'authorization.k8s.io/v1/SelfSubjectRulesReview': { 1: meta, 2: m('spec', () => ({ 1: s('namespace') })) },
  'authentication.k8s.io/v1/SelfSubjectReview': { 1: meta },
  'authentication.k8s.io/v1/TokenRequest': {
    1: meta,
    2: m('spec', () => ({ 1: s('audiences', true), 4: { name: 'expirationSeconds', type: 'int' } })),
  },
}

const MAGIC = Buffer.from([0x6b, 0x38, 0x73, 0x00])

class Reader {
  pos = 0
  constructor(readonly buf: Buffer) {}
  done(): boolean {
    return this.pos >= this.buf.length
  }
  varint(): number {
    let result = 0
    let shift = 0
    for (;;) {
      if (this.pos >= this.buf.length) throw badRequest('protobuf: unexpected end of input')
      const b = this.buf[this.pos++]!
      result += (b & 0x7f) * 2 ** shift
      if ((b & 0x80) === 0) return result
      shift += 7
      if (shift > 63) throw badRequest('protobuf: varint overflow')
    }
  }
  bytes(): Buffer {
    const len = this.varint()
    if (this.pos + len > this.buf.length) throw badRequest('protobuf: unexpected end of input')
    const out = this.buf.subarray(this.pos, this.pos + len)
    this.pos += len
    return out
  }
  skip(wire: number): void {
    if (wire === 0) this.varint()
    else if (wire === 1) this.pos += 8
    else if (wire === 2) this.bytes()
    else if (wire === 5) this.pos += 4
    else throw badRequest(`protobuf: unsupported wire type ${wire}`)
  }
}

function decodeMessage(buf: Buffer, schema: Schema): Obj {
  const r = new Reader(buf)
  const out: Obj = {}
  while (!r.done()) {
    const tag = r.varint()
    const num = Math.floor(tag / 8)
    const wire = tag & 7
    const f = schema[num]
    if (!f) {
      r.skip(wire)
      continue
    }
    let value: unknown
    switch (f.type) {
      case 'string':
        value = r.bytes().toString('utf8')
        // proto2 writes empty strings that JSON leaves out (omitempty): keep the JSON form.
        if (value === '' && !f.repeated) continue
        break
      case 'bytes':
        value = r.bytes().toString('base64')
        break
      case 'int':
        value = r.varint()
        break
      case 'bool':
        value = r.varint() !== 0
        break
      case 'message':
        value = decodeMessage(r.bytes(), f.schema!())
        break
      case 'map':
      case 'mapBytes': {
        const entry = new Reader(r.bytes())
        let key = ''
        let v = ''
        while (!entry.done()) {
          const t = entry.varint()
          if (t >>> 3 === 1) key = entry.bytes().toString('utf8')
          else if (t >>> 3 === 2)
            v = f.type === 'map' ? entry.bytes().toString('utf8') : entry.bytes().toString('base64')
          else entry.skip(t & 7)
        }
        const map = (out[f.name] as Record<string, string> | undefined) ?? {}
        map[key] = v
        out[f.name] = map
        continue
      }
    }
    if (f.repeated) {
      const list = (out[f.name] as unknown[] | undefined) ?? []
      list.push(value)
      out[f.name] = list
    } else out[f.name] = value
  }
  return out
}

/** True for a body in the Kubernetes protobuf envelope. */
export function isProtobuf(contentType: string): boolean {
  return contentType === 'application/vnd.kubernetes.protobuf'
}

/**
 * Decodes an enveloped protobuf object into its JSON form; undefined when the kind is not one this
 * module knows (the caller answers 415).
 */
export function decodeProtobuf(body: Buffer): Obj | undefined {
  if (body.length < 4 || !body.subarray(0, 4).equals(MAGIC))
    throw badRequest('provided value is not protobuf: missing magic number')
  const unknown = decodeMessage(body.subarray(4), {
    1: m('typeMeta', () => ({ 1: s('apiVersion'), 2: s('kind') })),
    2: { name: 'raw', type: 'bytes' },
  })
  const tm = (unknown.typeMeta ?? {}) as Obj
  const apiVersion = String(tm.apiVersion ?? '')
  const kind = String(tm.kind ?? '')
  const schema = KINDS[`${apiVersion}/${kind}`]
  if (!schema) return undefined
  const raw = Buffer.from(String(unknown.raw ?? ''), 'base64')
  return { apiVersion, kind, ...decodeMessage(raw, schema) }
}
