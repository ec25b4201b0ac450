/**
 * What the API server rejects before storing: bodies that do not decode into the kind (400), unknown
 * and duplicate fields (Warning headers, or 400 with fieldValidation=Strict), and field validation
 * (422) for names, labels, ConfigMap keys, Pods and Deployments, worded as the recorded server words
 * them. Custom resources are pruned by their CRD's structural schema, then checked against it
 * (custom-validation.ts: types, enums, required fields). Deeper schema checks of
 * built-in kinds are not done: an unknown field below the top level of a built-in kind passes silently.
 */
import type { ResourceType } from './catalog.js'
import { customSchemaCauses } from './custom-validation.js'
import { ApiError, type Cause, invalid } from './status.js'
import { isObj, type Obj, objAt, strAt } from './types.js'
import { webhookConfigurationCauses } from './webhook-config.js'

const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/
const QUALIFIED_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/
const CONFIG_KEY = /^[-._a-zA-Z0-9]+$/

const SUBDOMAIN_MSG = (v: string) =>
  `Invalid value: ${JSON.stringify(v)}: a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`
const LABEL_MSG = (v: string) =>
  `Invalid value: ${JSON.stringify(v)}: a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')`
const LABEL_VALUE_MSG = (v: string) =>
  `Invalid value: ${JSON.stringify(v)}: a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')`
const CONFIG_KEY_MSG = (v: string) =>
  `Invalid value: ${JSON.stringify(v)}: a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')`

/** Resources whose names must be DNS labels rather than subdomains. */
const LABEL_NAMED = new Set(['/namespaces', '/services'])

/** Top-level fields of built-in kinds beyond apiVersion, kind and metadata. */
const KNOWN_FIELDS: Record<string, string[]> = {
  ConfigMap: ['data', 'binaryData', 'immutable'],
  Secret: ['data', 'stringData', 'type', 'immutable'],
  ServiceAccount: ['secrets', 'imagePullSecrets', 'automountServiceAccountToken'],
  Role: ['rules'],
  ClusterRole: ['rules', 'aggregationRule'],
  RoleBinding: ['subjects', 'roleRef'],
  ClusterRoleBinding: ['subjects', 'roleRef'],
  Endpoints: ['subsets'],
  EndpointSlice: ['addressType', 'endpoints', 'ports'],
  ValidatingWebhookConfiguration: ['webhooks'],
  MutatingWebhookConfiguration: ['webhooks'],
  PriorityClass: ['value', 'globalDefault', 'description', 'preemptionPolicy'],
  StorageClass: [
    'provisioner',
    'parameters',
    'reclaimPolicy',
    'mountOptions',
    'allowVolumeExpansion',
    'volumeBindingMode',
    'allowedTopologies',
  ],
  RuntimeClass: ['handler', 'overhead', 'scheduling'],
  ControllerRevision: ['data', 'revision'],
  Event: [
    'involvedObject',
    'reason',
    'message',
    'source',
    'firstTimestamp',
    'lastTimestamp',
    'count',
    'type',
    'eventTime',
    'series',
    'action',
    'related',
    'reportingComponent',
    'reportingInstance',
  ],
  Binding: ['target'],
  TokenRequest: ['spec', 'status'],
}

/** Go type names of well-known map[string]string fields, for the decode error. */
const STRING_MAPS: Record<string, string[]> = {
  ConfigMap: ['data'],
  Secret: ['data', 'stringData'],
}

function decodeError(kind: string, version: string, detail: string): ApiError {
  return new ApiError(
    400,
    'BadRequest',
    `${kind} in version ${JSON.stringify(version)} cannot be handled as a ${kind}: ${detail}`,
  )
}

/** Type errors json.Unmarshal would raise for the shapes we know; 400 like the server. */
export function checkDecodable(type: ResourceType, obj: Obj): void {
  const version = type.version
  const meta = obj.metadata
  if (meta !== undefined && meta !== null && !isObj(meta))
    throw decodeError(
      type.kind,
      version,
      `json: cannot unmarshal ${jsonType(meta)} into Go struct field ${type.kind}.metadata of type v1.ObjectMeta`,
    )
  for (const m of ['labels', 'annotations']) {
    const v = isObj(meta) ? meta[m] : undefined
    if (v !== undefined && v !== null && (!isObj(v) || Object.values(v).some((x) => typeof x !== 'string')))
      throw decodeError(
        type.kind,
        version,
        `json: cannot unmarshal ${isObj(v) ? 'number' : jsonType(v)} into Go struct field ObjectMeta.metadata.${m} of type ${isObj(v) ? 'string' : 'map[string]string'}`,
      )
  }
  for (const field of STRING_MAPS[type.kind] ?? []) {
    const v = obj[field]
    if (v === undefined || v === null) continue
    if (!isObj(v))
      throw decodeError(
        type.kind,
        version,
        `json: cannot unmarshal ${jsonType(v)} into Go struct field ${type.kind}.${field} of type map[string]${field === 'data' && type.kind === 'Secret' ? '[]uint8' : 'string'}`,
      )
  }
  if (obj.spec !== undefined && obj.spec !== null && !isObj(obj.spec) && !type.custom)
    throw decodeError(
      type.kind,
      version,
      `json: cannot unmarshal ${jsonType(obj.spec)} into Go struct field ${type.kind}.spec of type`,
    )
}

function jsonType(v: unknown): string {
  if (typeof v === 'string') return 'string'
  if (typeof v === 'number') return 'number'
  if (typeof v === 'boolean') return 'bool'
  if (Array.isArray(v)) return 'array'
  return 'object'
}

/** Field paths of keys repeated within one JSON object ("metadata.name"), in document order. */
export function duplicateFields(text: string): string[] {
  const out: string[] = []
  const stack: { keys: Set<string>; path: string; array: boolean; index: number }[] = []
  let pendingKey: string | null = null
  let i = 0
  const n = text.length
  const here = () => stack[stack.length - 1]
  const childPath = (): string => {
    const top = here()
    if (!top) return ''
    if (top.array) return `${top.path}[${top.index}]`
    return top.path ? `${top.path}.${pendingKey ?? ''}` : (pendingKey ?? '')
  }
  while (i < n) {
    const c = text[i]!
    if (c === '"') {
      let j = i + 1
      let s = ''
      while (j < n && text[j] !== '"') {
        if (text[j] === '\\') {
          s += text.slice(j, j + 2)
          j += 2
        } else s += text[j++]
      }
      const top = here()
      let k = j + 1
      while (k < n && /\s/.test(text[k]!)) k++
      if (top && !top.array && text[k] === ':') {
        let key = s
        try {
          key = JSON.parse(`"${s}"`) as string
        } catch {}
        if (top.keys.has(key)) out.push(top.path ? `${top.path}.${key}` : key)
        top.keys.add(key)
        pendingKey = key
      }
      i = j + 1
      continue
    }
    if (c === '{' || c === '[') {
      stack.push({ keys: new Set(), path: childPath(), array: c === '[', index: 0 })
      pendingKey = null
    } else if (c === '}' || c === ']') {
      stack.pop()
    } else if (c === ',') {
      const top = here()
      if (top?.array) top.index++
    }
    i++
  }
  return out
}

/** Unknown top-level fields of a built-in kind ("bogus", "spec"). */
export function unknownFields(type: ResourceType, obj: Obj): string[] {
  if (type.custom) return []
  const known = new Set([
    'apiVersion',
    'kind',
    'metadata',
    ...(KNOWN_FIELDS[type.kind] ?? ['spec', 'status']),
  ])
  return Object.keys(obj).filter((k) => !known.has(k))
}

/** Drops fields a CRD's structural schema does not declare; returns their paths. */
export function pruneCustom(obj: Obj, schema: unknown): string[] {
  const pruned: string[] = []
  const walk = (value: unknown, s: unknown, path: string) => {
    if (!isObj(s)) return
    if (isObj(value)) {
      const props = objAt(s, 'properties')
      const additional = s.additionalProperties
      const preserve = s['x-kubernetes-preserve-unknown-fields'] === true
      for (const k of Object.keys(value)) {
        // The root's apiVersion, kind and metadata are the API server's, whatever the schema says of
        // them: controller-gen writes `metadata: {type: object}`, and that prunes no name or label.
        if (!path && (k === 'apiVersion' || k === 'kind' || k === 'metadata')) continue
        const p = path ? `${path}.${k}` : k
        if (props && isObj(props[k])) walk(value[k], props[k], p)
        else if (isObj(additional)) walk(value[k], additional, p)
        else if (!preserve && !(additional === true)) {
          delete value[k]
          pruned.push(p)
        }
      }
    } else if (Array.isArray(value) && isObj(s.items)) {
      value.forEach((v, i) => {
        walk(v, s.items, `${path}[${i}]`)
      })
    }
  }
  walk(obj, schema, '')
  return pruned
}

function nameCauses(type: ResourceType, name: string, generateName: string | undefined): Cause[] {
  if (!name) {
    if (generateName) return []
    return [
      {
        reason: 'FieldValueRequired',
        message: 'Required value: name or generateName is required',
        field: 'metadata.name',
      },
    ]
  }
  // RBAC names are path segments ("system:basic-user"), not DNS names.
  if (type.group === 'rbac.authorization.k8s.io') {
    if (!/[/%]/.test(name) && name !== '.' && name !== '..') return []
    return [
      {
        reason: 'FieldValueInvalid',
        message: `Invalid value: ${JSON.stringify(name)}: may not contain '/' or '%'`,
        field: 'metadata.name',
      },
    ]
  }
  const labelNamed = LABEL_NAMED.has(type.storageKey)
  const ok = labelNamed
    ? DNS1123_LABEL.test(name) && name.length <= 63
    : DNS1123_SUBDOMAIN.test(name) && name.length <= 253
  if (ok) return []
  return [
    {
      reason: 'FieldValueInvalid',
      message: labelNamed ? LABEL_MSG(name) : SUBDOMAIN_MSG(name),
      field: 'metadata.name',
    },
  ]
}

function labelCauses(labels: unknown): Cause[] {
  const out: Cause[] = []
  if (!isObj(labels)) return out
  for (const [k, v] of Object.entries(labels)) {
    const name = k.includes('/') ? k.slice(k.indexOf('/') + 1) : k
    if (!QUALIFIED_NAME.test(name) || name.length > 63)
      out.push({
        reason: 'FieldValueInvalid',
        message: `Invalid value: ${JSON.stringify(k)}: name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')`,
        field: 'metadata.labels',
      })
    if (typeof v === 'string' && (!LABEL_VALUE.test(v) || v.length > 63))
      out.push({ reason: 'FieldValueInvalid', message: LABEL_VALUE_MSG(v), field: 'metadata.labels' })
  }
  return out
}

function containerCauses(list: unknown, field: string): Cause[] {
  const out: Cause[] = []
  if (!Array.isArray(list) || list.length === 0) {
    if (field === 'spec.containers' || field === 'spec.template.spec.containers')
      out.push({ reason: 'FieldValueRequired', message: 'Required value', field })
    return out
  }
  list.forEach((c, i) => {
    const at = `${field}[${i}]`
    const name = strAt(c, 'name') ?? ''
    if (!name) out.push({ reason: 'FieldValueRequired', message: 'Required value', field: `${at}.name` })
    else if (!DNS1123_LABEL.test(name))
      out.push({ reason: 'FieldValueInvalid', message: LABEL_MSG(name), field: `${at}.name` })
    if (!strAt(c, 'image'))
      out.push({ reason: 'FieldValueRequired', message: 'Required value', field: `${at}.image` })
    const ports = isObj(c) && Array.isArray(c.ports) ? c.ports : []
    ports.forEach((p, j) => {
      const cp = isObj(p) ? p.containerPort : undefined
      if (typeof cp === 'number' && (cp < 1 || cp > 65535))
        out.push({
          reason: 'FieldValueInvalid',
          message: `Invalid value: ${cp}: must be between 1 and 65535, inclusive`,
          field: `${at}.ports[${j}].containerPort`,
        })
    })
  })
  return out
}

function podSpecCauses(spec: Obj | undefined, prefix: string): Cause[] {
  const out = containerCauses(spec?.containers, `${prefix}.containers`)
  const rp = strAt(spec, 'restartPolicy')
  if (rp !== undefined && !['Always', 'OnFailure', 'Never'].includes(rp))
    out.push({
      reason: 'FieldValueNotSupported',
      message: `Unsupported value: ${JSON.stringify(rp)}: supported values: "Always", "OnFailure", "Never"`,
      field: `${prefix}.restartPolicy`,
    })
  return out
}

/** The CRD checks that keep a definition servable (names, scope, exactly one storage version). */
function crdCauses(obj: Obj, name: string): Cause[] {
  const out: Cause[] = []
  const spec = objAt(obj, 'spec') ?? {}
  const group = strAt(spec, 'group') ?? ''
  const names = objAt(spec, 'names') ?? {}
  const plural = strAt(names, 'plural') ?? ''
  if (!group) out.push({ reason: 'FieldValueRequired', message: 'Required value', field: 'spec.group' })
  if (!plural)
    out.push({ reason: 'FieldValueRequired', message: 'Required value', field: 'spec.names.plural' })
  if (!strAt(names, 'kind'))
    out.push({ reason: 'FieldValueRequired', message: 'Required value', field: 'spec.names.kind' })
  if (group && plural && name !== `${plural}.${group}`)
    out.push({
      reason: 'FieldValueInvalid',
      message: `Invalid value: ${JSON.stringify(name)}: must be spec.names.plural+"."+spec.group`,
      field: 'metadata.name',
    })
  const scope = strAt(spec, 'scope')
  if (scope !== 'Namespaced' && scope !== 'Cluster')
    out.push({
      reason: 'FieldValueNotSupported',
      message: `Unsupported value: ${JSON.stringify(scope ?? '')}: supported values: "Cluster", "Namespaced"`,
      field: 'spec.scope',
    })
  const versions = Array.isArray(spec.versions) ? spec.versions.filter(isObj) : []
  if (versions.length === 0)
    out.push({
      reason: 'FieldValueInvalid',
      message: 'Invalid value: null: must have exactly one version marked as storage version',
      field: 'spec.versions',
    })
  else if (versions.filter((v) => v.storage === true).length !== 1)
    out.push({
      reason: 'FieldValueInvalid',
      message: 'Invalid value: "versions": must have exactly one version marked as storage version',
      field: 'spec.versions',
    })
  return out
}

function selectorMatches(selector: Obj | undefined, labels: Record<string, unknown>): boolean {
  const ml = objAt(selector, 'matchLabels') ?? {}
  return Object.entries(ml).every(([k, v]) => labels[k] === v)
}

/** Field validation of an object about to be stored; throws the 422. */
export function validateObject(type: ResourceType, obj: Obj): void {
  const meta = objAt(obj, 'metadata') ?? {}
  const name = strAt(meta, 'name') ?? ''
  const causes: Cause[] = [
    ...nameCauses(type, name, strAt(meta, 'generateName')),
    ...labelCauses(meta.labels),
  ]
  if (type.kind === 'ConfigMap' || type.kind === 'Secret') {
    for (const field of ['data', 'binaryData', 'stringData']) {
      const m = objAt(obj, field)
      if (!m) continue
      for (const k of Object.keys(m))
        if (!CONFIG_KEY.test(k) || k.length > 253)
          causes.push({ reason: 'FieldValueInvalid', message: CONFIG_KEY_MSG(k), field: `${field}[${k}]` })
    }
  }
  if (type.storageKey === 'apiextensions.k8s.io/customresourcedefinitions')
    causes.push(...crdCauses(obj, name))
  if (type.custom) causes.push(...customSchemaCauses(obj, type.custom.schema))
  if (type.storageKey === '/pods') {
    causes.push(...podSpecCauses(objAt(obj, 'spec'), 'spec'))
  }
  const workloads = ['apps/deployments', 'apps/replicasets', 'apps/statefulsets', 'apps/daemonsets']
  if (workloads.includes(type.storageKey)) {
    const spec = objAt(obj, 'spec') ?? {}
    const template = objAt(spec, 'template') ?? {}
    const tLabels = objAt(objAt(template, 'metadata'), 'labels') ?? {}
    const selector = objAt(spec, 'selector')
    if (!selector)
      causes.push({ reason: 'FieldValueRequired', message: 'Required value', field: 'spec.selector' })
    else if (!selectorMatches(selector, tLabels)) {
      const shown = `map[string]string{${Object.entries(tLabels)
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`)
        .join(', ')}}`
      causes.push({
        reason: 'FieldValueInvalid',
        message: `Invalid value: ${shown}: \`selector\` does not match template \`labels\``,
        field: 'spec.template.metadata.labels',
      })
    }
    causes.push(...podSpecCauses(objAt(template, 'spec'), 'spec.template.spec'))
  }
  if (type.storageKey === 'admissionregistration.k8s.io/validatingwebhookconfigurations')
    causes.push(...webhookConfigurationCauses(obj, false))
  if (type.storageKey === 'admissionregistration.k8s.io/mutatingwebhookconfigurations')
    causes.push(...webhookConfigurationCauses(obj, true))
  if (causes.length === 0) return
  const kq = type.group ? `${type.kind}.${type.group}` : type.kind
  throw invalid(kq, name, causes, type.group || undefined, type.kind)
}
