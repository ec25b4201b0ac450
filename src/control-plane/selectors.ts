/**
 * Label selectors (=, ==, !=, in, notin, exists, !exists, gt, lt) and field selectors (=, ==, !=) as
 * the API server parses them, with its error texts, and the fields each resource lets clients select.
 */
import type { ResourceType } from './catalog.js'
import { badRequest } from './status.js'
import { type Obj, objAt, strAt } from './types.js'

export type LabelRequirement =
  | { readonly op: 'eq' | 'neq'; readonly key: string; readonly value: string }
  | { readonly op: 'in' | 'notin'; readonly key: string; readonly values: readonly string[] }
  | { readonly op: 'exists' | 'notexists'; readonly key: string }
  | { readonly op: 'gt' | 'lt'; readonly key: string; readonly value: number }

export type LabelSelector = readonly LabelRequirement[]

type Token =
  | { t: 'id'; v: string }
  | { t: 'op'; v: string }
  | { t: '('; v: string }
  | { t: ')'; v: string }
  | { t: ','; v: string }
  | { t: 'end'; v: string }

const SPECIAL = new Set(['=', '!', '(', ')', ',', '<', '>', ' ', '\t', '\n'])

function lex(input: string): Token[] {
  const out: Token[] = []
  let i = 0
  while (i < input.length) {
    const c = input[i]!
    if (c === ' ' || c === '\t' || c === '\n') {
      i++
      continue
    }
    if (c === '(' || c === ')' || c === ',') {
      out.push({ t: c, v: c })
      i++
      continue
    }
    if (c === '=' || c === '!' || c === '<' || c === '>') {
      const two = input.slice(i, i + 2)
      if (two === '==' || two === '!=') {
        out.push({ t: 'op', v: two })
        i += 2
      } else {
        out.push({ t: 'op', v: c })
        i++
      }
      continue
    }
    let j = i
    while (j < input.length && !SPECIAL.has(input[j]!)) j++
    out.push({ t: 'id', v: input.slice(i, j) })
    i = j
  }
  out.push({ t: 'end', v: '' })
  return out
}

function describe(tok: Token): string {
  return tok.t === 'end' ? 'EOF' : `'${tok.v}'`
}

function parseError(message: string): never {
  throw badRequest(`unable to parse requirement: ${message}`)
}

/** Parses a labelSelector query value; throws the API server's 400 on a syntax error. */
export function parseLabelSelector(input: string): LabelSelector {
  const toks = lex(input)
  let p = 0
  const peek = () => toks[p]!
  const next = () => toks[p++]!
  const reqs: LabelRequirement[] = []
  if (peek().t === 'end') return reqs
  for (;;) {
    let tok = next()
    if (tok.t === 'op' && tok.v === '!') {
      const key = next()
      if (key.t !== 'id') parseError(`found ${describe(key)}, expected: identifier`)
      reqs.push({ op: 'notexists', key: key.v })
    } else {
      if (tok.t !== 'id') parseError(`found ${describe(tok)}, expected: !, identifier, or 'end of string'`)
      const key = tok.v
      const op = peek()
      if (op.t === ',' || op.t === 'end') {
        reqs.push({ op: 'exists', key })
      } else if (op.t === 'id' && (op.v === 'in' || op.v === 'notin')) {
        next()
        const open = next()
        if (open.t !== '(') parseError(`found ${describe(open)}, expected:'('`)
        const values: string[] = []
        for (;;) {
          tok = next()
          if (tok.t === ')' && values.length === 0) break
          if (tok.t === 'id') values.push(tok.v)
          else if (tok.t === ',' || tok.t === ')') values.push('')
          else parseError(`found ${describe(tok)}, expected: ',', or identifier`)
          if (tok.t === ')') break
          const sep = tok.t === ',' ? tok : next()
          if (sep.t === ')') break
          if (sep.t !== ',') parseError(`found ${describe(sep)}, expected: ',' or ')'`)
        }
        reqs.push({ op: op.v === 'in' ? 'in' : 'notin', key, values })
      } else if (op.t === 'op') {
        next()
        const v = next()
        if (v.t !== 'id' && !(v.t === ',' || v.t === 'end'))
          parseError(`found ${describe(v)}, expected: identifier`)
        const value = v.t === 'id' ? v.v : ''
        if (v.t !== 'id') p--
        switch (op.v) {
          case '=':
          case '==':
            reqs.push({ op: 'eq', key, value })
            break
          case '!=':
            reqs.push({ op: 'neq', key, value })
            break
          case '>':
          case '<': {
            const n = Number(value)
            if (!Number.isInteger(n)) parseError(`for 'Gt', 'Lt' operators, the value must be an integer`)
            reqs.push({ op: op.v === '>' ? 'gt' : 'lt', key, value: n })
            break
          }
          default:
            parseError(`found ${describe(op)}, expected: in, notin, =, ==, !=, gt, lt`)
        }
      } else {
        parseError(`found ${describe(op)}, expected: in, notin, =, ==, !=, gt, lt`)
      }
    }
    const sep = next()
    if (sep.t === 'end') break
    if (sep.t !== ',') parseError(`found ${describe(sep)}, expected: ',' or 'end of string'`)
  }
  return reqs
}

export function matchesLabels(selector: LabelSelector, labels: Readonly<Record<string, string>>): boolean {
  for (const r of selector) {
    const has = Object.hasOwn(labels, r.key)
    const v = labels[r.key]
    switch (r.op) {
      case 'eq':
        if (v !== r.value) return false
        break
      case 'neq':
        if (has && v === r.value) return false
        break
      case 'in':
        if (!has || !r.values.includes(v!)) return false
        break
      case 'notin':
        if (has && r.values.includes(v!)) return false
        break
      case 'exists':
        if (!has) return false
        break
      case 'notexists':
        if (has) return false
        break
      case 'gt':
      case 'lt': {
        const n = Number(v)
        if (!has || !Number.isInteger(n)) return false
        if (r.op === 'gt' ? !(n > r.value) : !(n < r.value)) return false
        break
      }
    }
  }
  return true
}

export interface FieldRequirement {
  readonly field: string
  readonly op: 'eq' | 'neq'
  readonly value: string
}

/** Fields selectable beyond metadata.name and metadata.namespace, per storage key. */
const SELECTABLE: Record<string, { field: string; read: (o: Obj) => string | undefined }[]> = {
  '/pods': [
    { field: 'spec.nodeName', read: (o) => strAt(objAt(o, 'spec'), 'nodeName') ?? '' },
    { field: 'spec.restartPolicy', read: (o) => strAt(objAt(o, 'spec'), 'restartPolicy') ?? '' },
    { field: 'spec.schedulerName', read: (o) => strAt(objAt(o, 'spec'), 'schedulerName') ?? '' },
    { field: 'spec.serviceAccountName', read: (o) => strAt(objAt(o, 'spec'), 'serviceAccountName') ?? '' },
    { field: 'spec.hostNetwork', read: (o) => String(objAt(o, 'spec')?.hostNetwork === true) },
    { field: 'status.phase', read: (o) => strAt(objAt(o, 'status'), 'phase') ?? '' },
    { field: 'status.podIP', read: (o) => strAt(objAt(o, 'status'), 'podIP') ?? '' },
    { field: 'status.nominatedNodeName', read: (o) => strAt(objAt(o, 'status'), 'nominatedNodeName') ?? '' },
  ],
  '/secrets': [{ field: 'type', read: (o) => strAt(o, 'type') ?? '' }],
  '/namespaces': [{ field: 'status.phase', read: (o) => strAt(objAt(o, 'status'), 'phase') ?? '' }],
  '/nodes': [{ field: 'spec.unschedulable', read: (o) => String(objAt(o, 'spec')?.unschedulable === true) }],
  '/events': [
    { field: 'involvedObject.kind', read: (o) => strAt(objAt(o, 'involvedObject'), 'kind') ?? '' },
    { field: 'involvedObject.namespace', read: (o) => strAt(objAt(o, 'involvedObject'), 'namespace') ?? '' },
    { field: 'involvedObject.name', read: (o) => strAt(objAt(o, 'involvedObject'), 'name') ?? '' },
    { field: 'involvedObject.uid', read: (o) => strAt(objAt(o, 'involvedObject'), 'uid') ?? '' },
    { field: 'reason', read: (o) => strAt(o, 'reason') ?? '' },
    { field: 'type', read: (o) => strAt(o, 'type') ?? '' },
  ],
  'batch/jobs': [{ field: 'status.successful', read: (o) => String(objAt(o, 'status')?.successful ?? 0) }],
}

/** Extracts the selectable field values of an object, once, when it is stored. */
export function extractFields(type: ResourceType, obj: Obj): Record<string, string> {
  const extra = SELECTABLE[type.storageKey]
  if (!extra) return {}
  const out: Record<string, string> = {}
  for (const f of extra) {
    const v = f.read(obj)
    if (v !== undefined) out[f.field] = v
  }
  return out
}

/** Parses a fieldSelector; rejects fields the resource does not index, with the server's message. */
export function parseFieldSelector(input: string, type: ResourceType): FieldRequirement[] {
  const known = [
    'metadata.name',
    'metadata.namespace',
    ...(SELECTABLE[type.storageKey] ?? []).map((f) => f.field),
  ]
  const out: FieldRequirement[] = []
  if (!input.trim()) return out
  for (const part of splitTerms(input)) {
    const m = /^([^=!]*)(==|=|!=)(.*)$/.exec(part)
    if (!m) throw badRequest(`invalid selector: '${input}'; can't understand '${part}'`)
    const field = m[1]!.trim()
    if (!known.includes(field)) {
      const only = known.map((k) => `"${k}"`).join(', ')
      throw badRequest(`"${field}" is not a known field selector: only ${only}`)
    }
    out.push({ field, op: m[2] === '!=' ? 'neq' : 'eq', value: m[3]!.trim() })
  }
  return out
}

function splitTerms(input: string): string[] {
  const out: string[] = []
  let cur = ''
  for (let i = 0; i < input.length; i++) {
    const c = input[i]!
    if (c === '\\' && i + 1 < input.length) {
      cur += input[++i]
    } else if (c === ',') {
      out.push(cur)
      cur = ''
    } else cur += c
  }
  out.push(cur)
  return out
}

export function matchesFields(
  reqs: readonly FieldRequirement[],
  o: { name: string; namespace: string; fields: Readonly<Record<string, string>> },
): boolean {
  for (const r of reqs) {
    const v =
      r.field === 'metadata.name'
        ? o.name
        : r.field === 'metadata.namespace'
          ? o.namespace
          : (o.fields[r.field] ?? '')
    if (r.op === 'eq' ? v !== r.value : v === r.value) return false
  }
  return true
}
