/**
 * ValidatingWebhookConfiguration and MutatingWebhookConfiguration as the API server stores them:
 * defaulted (admissionregistration/v1 defaults, written in the Go struct's field order so that the
 * answer reads like the recorded one) and validated on create and update with the API server's
 * field errors (05-admission/setup/invalid-webhook-configuration.json shows two of them).
 *
 * The update rules of the real server are laxer where the stored object already broke a rule
 * (sideEffects, duplicate names, unknown review versions); this module applies the create rules to
 * both, which only matters for objects that could never have been created here.
 */

import type { Cause } from './status.js'
import { isObj, type Obj } from './types.js'
import { compileMatchCondition } from './webhook-cel.js'

const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/
const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/
const QUALIFIED_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/

const SUBDOMAIN_DETAIL =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
const DNS1035_DETAIL =
  "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"
const QUALIFIED_DETAIL =
  "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
const LABEL_VALUE_DETAIL =
  "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"

// ------------------------------------------------------------------------------------------ defaults

function pick(src: Obj, order: readonly string[], defaults: Obj = {}): Obj {
  const out: Obj = {}
  for (const k of order) {
    const v = src[k] !== undefined && src[k] !== null ? src[k] : defaults[k]
    if (v !== undefined && v !== null) out[k] = v
  }
  for (const [k, v] of Object.entries(src)) if (!(k in out) && v !== undefined && v !== null) out[k] = v
  return out
}

const RULE_ORDER = ['operations', 'apiGroups', 'apiVersions', 'resources', 'scope']
const SELECTOR_ORDER = ['matchLabels', 'matchExpressions']
const REQUIREMENT_ORDER = ['key', 'operator', 'values']

function orderSelector(sel: unknown): Obj {
  if (!isObj(sel)) return {}
  const out = pick(sel, SELECTOR_ORDER)
  if (Array.isArray(out.matchExpressions))
    out.matchExpressions = out.matchExpressions.map((e) => (isObj(e) ? pick(e, REQUIREMENT_ORDER) : e))
  return out
}

function defaultWebhook(hook: Obj, mutating: boolean): Obj {
  const cc = isObj(hook.clientConfig) ? hook.clientConfig : {}
  const service = isObj(cc.service)
    ? pick(cc.service, ['namespace', 'name', 'path', 'port'], { port: 443 })
    : undefined
  const clientConfig = pick({ ...cc, ...(service ? { service } : {}) }, ['url', 'service', 'caBundle'])
  const rules = Array.isArray(hook.rules)
    ? hook.rules.map((r) => (isObj(r) ? pick(r, RULE_ORDER, { scope: '*' }) : r))
    : hook.rules
  const order = [
    'name',
    'clientConfig',
    'rules',
    'failurePolicy',
    'matchPolicy',
    'namespaceSelector',
    'objectSelector',
    'sideEffects',
    'timeoutSeconds',
    'admissionReviewVersions',
    ...(mutating ? ['reinvocationPolicy'] : []),
    'matchConditions',
  ]
  const defaults: Obj = {
    failurePolicy: 'Fail',
    matchPolicy: 'Equivalent',
    timeoutSeconds: 10,
    ...(mutating ? { reinvocationPolicy: 'Never' } : {}),
  }
  const out = pick({ ...hook, clientConfig, rules }, order, defaults)
  out.namespaceSelector = orderSelector(hook.namespaceSelector)
  out.objectSelector = orderSelector(hook.objectSelector)
  if (Array.isArray(out.matchConditions))
    out.matchConditions = out.matchConditions.map((m) => (isObj(m) ? pick(m, ['name', 'expression']) : m))
  return pick(out, order)
}

/** Fills in the v1 defaults, in the order the API server writes the fields. */
export function defaultWebhookConfiguration(obj: Obj, mutating: boolean): void {
  if (!Array.isArray(obj.webhooks)) return
  obj.webhooks = obj.webhooks.map((h) => (isObj(h) ? defaultWebhook(h, mutating) : h))
}

// -------------------------------------------------------------------------------------- validation

/** Go's %#v of a value in a field error ("x", 3, []string{"a", "b"}). */
function goValue(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v)
  if (Array.isArray(v)) return `[]string{${v.map((s) => JSON.stringify(String(s))).join(', ')}}`
  return String(v)
}

const required = (field: string, detail = ''): Cause => ({
  reason: 'FieldValueRequired',
  message: detail ? `Required value: ${detail}` : 'Required value',
  field,
})
const invalidValue = (field: string, value: unknown, detail: string): Cause => ({
  reason: 'FieldValueInvalid',
  message: `Invalid value: ${goValue(value)}: ${detail}`,
  field,
})
const notSupported = (field: string, value: unknown, supported: readonly string[]): Cause => ({
  reason: 'FieldValueNotSupported',
  message: `Unsupported value: ${goValue(value)}: supported values: ${supported.map((s) => JSON.stringify(s)).join(', ')}`,
  field,
})
const duplicate = (field: string, value: unknown): Cause => ({
  reason: 'FieldValueDuplicate',
  message: `Duplicate value: ${goValue(value)}`,
  field,
})
const forbidden = (field: string, detail: string): Cause => ({
  reason: 'FieldValueForbidden',
  message: `Forbidden: ${detail}`,
  field,
})

function strings(v: unknown): string[] {
  return Array.isArray(v) ? v.map((s) => String(s)) : []
}

function fullyQualifiedName(field: string, name: string): Cause[] {
  if (!name) return [required(field)]
  if (name.length > 253 || !DNS1123_SUBDOMAIN.test(name)) return [invalidValue(field, name, SUBDOMAIN_DETAIL)]
  if (name.split('.').length < 3)
    return [invalidValue(field, name, 'should be a domain with at least three segments separated by dots')]
  return []
}

function qualifiedNameCauses(field: string, name: string): Cause[] {
  const slash = name.lastIndexOf('/')
  const part = slash >= 0 ? name.slice(slash + 1) : name
  const prefix = slash >= 0 ? name.slice(0, slash) : ''
  const out: Cause[] = []
  if (slash >= 0 && (!prefix || !DNS1123_SUBDOMAIN.test(prefix)))
    out.push(invalidValue(field, name, `prefix part ${SUBDOMAIN_DETAIL}`))
  if (!part) out.push(invalidValue(field, name, 'name part must be non-empty'))
  else if (part.length > 63)
    out.push(invalidValue(field, name, 'name part must be no more than 63 characters'))
  else if (!QUALIFIED_NAME.test(part)) out.push(invalidValue(field, name, QUALIFIED_DETAIL))
  return out
}

function selectorCauses(sel: unknown, field: string): Cause[] {
  if (!isObj(sel)) return []
  const out: Cause[] = []
  if (isObj(sel.matchLabels))
    for (const [k, v] of Object.entries(sel.matchLabels)) {
      out.push(...qualifiedNameCauses(`${field}.matchLabels`, k))
      if (typeof v !== 'string' || v.length > 63 || !LABEL_VALUE.test(v))
        out.push(invalidValue(`${field}.matchLabels`, v, LABEL_VALUE_DETAIL))
    }
  const exprs = Array.isArray(sel.matchExpressions) ? sel.matchExpressions : []
  exprs.forEach((e, i) => {
    const f = `${field}.matchExpressions[${i}]`
    if (!isObj(e)) return
    const values = strings(e.values)
    switch (e.operator) {
      case 'In':
      case 'NotIn':
        if (values.length === 0)
          out.push(required(`${f}.values`, "must be specified when `operator` is 'In' or 'NotIn'"))
        break
      case 'Exists':
      case 'DoesNotExist':
        if (values.length > 0)
          out.push(
            forbidden(`${f}.values`, "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"),
          )
        break
      default:
        out.push(invalidValue(`${f}.operator`, e.operator ?? '', 'not a valid selector operator'))
    }
    out.push(...qualifiedNameCauses(`${f}.key`, String(e.key ?? '')))
  })
  return out
}

const OPERATIONS = ['*', 'CONNECT', 'CREATE', 'DELETE', 'UPDATE']
const SCOPES = ['*', 'Cluster', 'Namespaced']

function resourcesCauses(resources: string[], field: string): Cause[] {
  const out: Cause[] = []
  if (resources.length === 0) out.push(required(field))
  const wildSub = new Set<string>()
  const wildRes = new Set<string>()
  let doubleWildcard = false
  let singleWildcard = false
  let plain = false
  resources.forEach((rs, i) => {
    if (rs === '') {
      out.push(required(`${field}[${i}]`))
      return
    }
    if (rs === '*/*') doubleWildcard = true
    if (rs === '*') singleWildcard = true
    const slash = rs.indexOf('/')
    if (slash < 0) {
      plain = rs !== '*'
      return
    }
    const res = rs.slice(0, slash)
    const sub = rs.slice(slash + 1)
    if (wildSub.has(res))
      out.push(invalidValue(`${field}[${i}]`, rs, `if '${res}/*' is present, must not specify ${rs}`))
    if (wildRes.has(sub))
      out.push(invalidValue(`${field}[${i}]`, rs, `if '*/${sub}' is present, must not specify ${rs}`))
    if (sub === '*') wildSub.add(res)
    if (res === '*') wildRes.add(sub)
  })
  if (resources.length > 1 && doubleWildcard)
    out.push(invalidValue(field, resources, "if '*/*' is present, must not specify other resources"))
  if (singleWildcard && plain)
    out.push(
      invalidValue(
        field,
        resources,
        "if '*' is present, must not specify other resources without subresources",
      ),
    )
  return out
}

function ruleCauses(rule: Obj, field: string): Cause[] {
  const out: Cause[] = []
  const ops = strings(rule.operations)
  if (ops.length === 0) out.push(required(`${field}.operations`))
  if (ops.length > 1 && ops.includes('*'))
    out.push(invalidValue(`${field}.operations`, ops, "if '*' is present, must not specify other operations"))
  ops.forEach((op, i) => {
    if (!OPERATIONS.includes(op)) out.push(notSupported(`${field}.operations[${i}]`, op, OPERATIONS))
  })
  const groups = strings(rule.apiGroups)
  if (groups.length === 0) out.push(required(`${field}.apiGroups`))
  if (groups.length > 1 && groups.includes('*'))
    out.push(
      invalidValue(`${field}.apiGroups`, groups, "if '*' is present, must not specify other API groups"),
    )
  const versions = strings(rule.apiVersions)
  if (versions.length === 0) out.push(required(`${field}.apiVersions`))
  if (versions.length > 1 && versions.includes('*'))
    out.push(
      invalidValue(
        `${field}.apiVersions`,
        versions,
        "if '*' is present, must not specify other API versions",
      ),
    )
  versions.forEach((v, i) => {
    if (v === '') out.push(required(`${field}.apiVersions[${i}]`))
  })
  out.push(...resourcesCauses(strings(rule.resources), `${field}.resources`))
  if (rule.scope !== undefined && !SCOPES.includes(String(rule.scope)))
    out.push(notSupported(`${field}.scope`, rule.scope, SCOPES))
  return out
}

function urlCauses(url: string, field: string): Cause[] {
  const form = '; desired format: https://host[/path]'
  let u: URL
  try {
    u = new URL(url)
  } catch {
    return [
      required(
        field,
        `url must be a valid URL: parse ${JSON.stringify(url)}: invalid URI for request${form}`,
      ),
    ]
  }
  const out: Cause[] = []
  if (u.protocol !== 'https:')
    out.push(
      invalidValue(field, u.protocol.replace(/:$/, ''), `'https' is the only allowed URL scheme${form}`),
    )
  if (!u.host) out.push(invalidValue(field, u.host, `host must be specified${form}`))
  if (u.username || u.password)
    out.push(
      invalidValue(
        field,
        u.password ? `${u.username}:${u.password}` : u.username,
        'user information is not permitted in the URL',
      ),
    )
  if (u.hash.length > 1)
    out.push(invalidValue(field, u.hash.slice(1), 'fragments are not permitted in the URL'))
  if (u.search.length > 1)
    out.push(invalidValue(field, u.search.slice(1), 'query parameters are not permitted in the URL'))
  return out
}

function serviceCauses(svc: Obj, field: string): Cause[] {
  const out: Cause[] = []
  if (!svc.name) out.push(required(`${field}.name`))
  if (!svc.namespace) out.push(required(`${field}.namespace`))
  const port = typeof svc.port === 'number' ? svc.port : 443
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    out.push(invalidValue(`${field}.port`, port, 'port is not valid: must be between 1 and 65535, inclusive'))
  const path = typeof svc.path === 'string' ? svc.path : undefined
  if (path === undefined || path === '' || path === '/') return out
  if (path === '//') return [...out, invalidValue(`${field}.path`, path, 'segment[0] may not be empty')]
  if (!path.startsWith('/')) out.push(invalidValue(`${field}.path`, path, "must start with a '/'"))
  let rest = path.slice(1)
  if (rest.endsWith('/')) rest = rest.slice(0, -1)
  rest.split('/').forEach((step, i) => {
    if (!step) out.push(invalidValue(`${field}.path`, path, `segment[${i}] may not be empty`))
    else if (step.length > 253 || !DNS1123_SUBDOMAIN.test(step))
      out.push(invalidValue(`${field}.path`, path, `segment[${i}]: ${SUBDOMAIN_DETAIL}`))
  })
  return out
}

function matchConditionCauses(conditions: unknown, field: string): Cause[] {
  if (!Array.isArray(conditions)) return []
  const out: Cause[] = []
  if (conditions.length > 64)
    out.push({
      reason: 'FieldValueTooMany',
      message: `Too many: ${conditions.length}: must have at most 64 items`,
      field,
    })
  const names = new Set<string>()
  conditions.forEach((c, i) => {
    if (!isObj(c)) return
    const f = `${field}[${i}]`
    const expression = typeof c.expression === 'string' ? c.expression.trim() : ''
    if (!expression) out.push(required(`${f}.expression`))
    else {
      const compiled = compileMatchCondition(expression)
      if (compiled.error)
        out.push(
          invalidValue(
            `${f}.expression`,
            expression,
            compiled.bare ? compiled.error : `compilation failed: ${compiled.error}`,
          ),
        )
    }
    const name = typeof c.name === 'string' ? c.name : ''
    if (!name) out.push(required(`${f}.name`))
    else out.push(...qualifiedNameCauses(`${f}.name`, name))
    if (name) {
      if (names.has(name)) out.push(duplicate(`${f}.name`, name))
      names.add(name)
    }
  })
  return out
}

function webhookCauses(hook: Obj, field: string, mutating: boolean): Cause[] {
  const out = fullyQualifiedName(`${field}.name`, typeof hook.name === 'string' ? hook.name : '')
  const rules = Array.isArray(hook.rules) ? hook.rules : []
  rules.forEach((r, i) => {
    if (isObj(r)) out.push(...ruleCauses(r, `${field}.rules[${i}]`))
  })
  if (hook.failurePolicy !== undefined && !['Fail', 'Ignore'].includes(String(hook.failurePolicy)))
    out.push(notSupported(`${field}.failurePolicy`, hook.failurePolicy, ['Fail', 'Ignore']))
  if (hook.matchPolicy !== undefined && !['Equivalent', 'Exact'].includes(String(hook.matchPolicy)))
    out.push(notSupported(`${field}.matchPolicy`, hook.matchPolicy, ['Equivalent', 'Exact']))
  if (hook.sideEffects === undefined || hook.sideEffects === null)
    out.push(required(`${field}.sideEffects`, 'must specify one of None, NoneOnDryRun'))
  else if (!['None', 'NoneOnDryRun'].includes(String(hook.sideEffects)))
    out.push(notSupported(`${field}.sideEffects`, hook.sideEffects, ['None', 'NoneOnDryRun']))
  const timeout = hook.timeoutSeconds
  if (typeof timeout === 'number' && (timeout > 30 || timeout < 1))
    out.push(
      invalidValue(`${field}.timeoutSeconds`, timeout, 'the timeout value must be between 1 and 30 seconds'),
    )
  out.push(...selectorCauses(hook.namespaceSelector, `${field}.namespaceSelector`))
  out.push(...selectorCauses(hook.objectSelector, `${field}.objectSelector`))
  if (
    mutating &&
    hook.reinvocationPolicy !== undefined &&
    !['IfNeeded', 'Never'].includes(String(hook.reinvocationPolicy))
  )
    out.push(notSupported(`${field}.reinvocationPolicy`, hook.reinvocationPolicy, ['IfNeeded', 'Never']))
  const cc = isObj(hook.clientConfig) ? hook.clientConfig : {}
  const hasUrl = typeof cc.url === 'string'
  const hasService = isObj(cc.service)
  if (hasUrl === hasService)
    out.push(required(`${field}.clientConfig`, 'exactly one of url or service is required'))
  else if (hasUrl) out.push(...urlCauses(String(cc.url), `${field}.clientConfig.url`))
  else out.push(...serviceCauses(cc.service as Obj, `${field}.clientConfig.service`))
  out.push(...matchConditionCauses(hook.matchConditions, `${field}.matchConditions`))
  return out
}

function reviewVersionCauses(versions: unknown, field: string): Cause[] {
  const list = strings(versions)
  if (list.length === 0) return [required(field, 'must specify one of v1, v1beta1')]
  const out: Cause[] = []
  const seen = new Set<string>()
  list.forEach((v, i) => {
    if (seen.has(v)) {
      out.push(invalidValue(`${field}[${i}]`, v, 'duplicate version'))
      return
    }
    seen.add(v)
    if (v.length > 63 || !DNS1035_LABEL.test(v)) out.push(invalidValue(`${field}[${i}]`, v, DNS1035_DETAIL))
  })
  if (!list.some((v) => v === 'v1' || v === 'v1beta1'))
    out.push(invalidValue(field, list, 'must include at least one of v1, v1beta1'))
  return out
}

/** The field errors of a webhook configuration (after defaulting), in the API server's order. */
export function webhookConfigurationCauses(obj: Obj, mutating: boolean): Cause[] {
  const out: Cause[] = []
  const names = new Set<string>()
  const hooks = Array.isArray(obj.webhooks) ? obj.webhooks : []
  hooks.forEach((h, i) => {
    if (!isObj(h)) return
    const field = `webhooks[${i}]`
    out.push(...webhookCauses(h, field, mutating))
    out.push(...reviewVersionCauses(h.admissionReviewVersions, `${field}.admissionReviewVersions`))
    const name = typeof h.name === 'string' ? h.name : ''
    if (name) {
      if (names.has(name)) out.push(duplicate(`${field}.name`, name))
      names.add(name)
    }
  })
  return out
}
