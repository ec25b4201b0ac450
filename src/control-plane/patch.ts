/**
 * The three non-apply patch types: JSON merge patch (RFC 7386), JSON patch (RFC 6902), and strategic
 * merge patch. Strategic merge is simplified, on purpose: maps merge as in a merge patch, lists of
 * objects that all carry a "name" merge by name (containers, volumes, env, ports by name...), other
 * lists are replaced, and the directives kubectl sends ($patch, $setElementOrder/..., $retainKeys,
 * $deleteFromPrimitiveList/...) are honoured or dropped rather than stored. That covers what kubectl
 * apply, edit, label and scale send for the kinds Plimsoll reads.
 */
import { badRequest } from './status.js'
import { clone, isObj, type Obj } from './types.js'

export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isObj(patch)) return clone(patch)
  const out: Obj = isObj(target) ? { ...target } : {}
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k]
    else out[k] = mergePatch(out[k], v)
  }
  return out
}

export function strategicMergePatch(target: unknown, patch: unknown): unknown {
  if (!isObj(patch)) return clone(patch)
  if (patch.$patch === 'replace') {
    const { $patch: _p, ...rest } = patch
    return stripDirectives(rest)
  }
  if (patch.$patch === 'delete') return undefined
  const out: Obj = isObj(target) ? { ...target } : {}
  const retain = Array.isArray(patch.$retainKeys) ? new Set(patch.$retainKeys.map(String)) : null
  for (const [k, v] of Object.entries(patch)) {
    if (k.startsWith('$setElementOrder/') || k === '$retainKeys' || k === '$patch') continue
    if (k.startsWith('$deleteFromPrimitiveList/')) {
      const field = k.slice('$deleteFromPrimitiveList/'.length)
      const cur = out[field]
      if (Array.isArray(cur) && Array.isArray(v)) out[field] = cur.filter((x) => !v.includes(x))
      continue
    }
    if (v === null) {
      delete out[k]
      continue
    }
    const cur = out[k]
    if (Array.isArray(v) && Array.isArray(cur) && byName(v) && byName(cur)) {
      out[k] = mergeByName(cur as Obj[], v as Obj[])
    } else if (isObj(v)) {
      const merged = strategicMergePatch(cur, v)
      if (merged === undefined) delete out[k]
      else out[k] = merged
    } else {
      out[k] = stripDirectives(clone(v))
    }
  }
  if (retain) for (const k of Object.keys(out)) if (!retain.has(k)) delete out[k]
  return out
}

function byName(list: unknown[]): boolean {
  return list.every((x) => isObj(x) && typeof x.name === 'string')
}

function mergeByName(cur: Obj[], patch: Obj[]): Obj[] {
  const out = cur.map((x) => ({ ...x }))
  for (const p of patch) {
    const i = out.findIndex((x) => x.name === p.name)
    if (p.$patch === 'delete') {
      if (i >= 0) out.splice(i, 1)
      continue
    }
    if (i >= 0) out[i] = strategicMergePatch(out[i], p) as Obj
    else out.push(stripDirectives(clone(p)) as Obj)
  }
  return out
}

function stripDirectives(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(stripDirectives)
  if (!isObj(v)) return v
  const out: Obj = {}
  for (const [k, x] of Object.entries(v)) if (!k.startsWith('$')) out[k] = stripDirectives(x)
  return out
}

interface Op {
  op: string
  path: string
  value?: unknown
  from?: string
}

function pointer(path: string): string[] {
  if (path === '') return []
  if (!path.startsWith('/'))
    throw badRequest(`the server rejected our request due to an error in our request`)
  return path
    .slice(1)
    .split('/')
    .map((s) => s.replaceAll('~1', '/').replaceAll('~0', '~'))
}

function parentOf(doc: unknown, parts: string[], path: string): { parent: unknown; key: string } {
  let cur = doc
  for (let i = 0; i < parts.length - 1; i++) {
    const p = parts[i]!
    if (Array.isArray(cur)) cur = cur[Number(p)]
    else if (isObj(cur)) cur = cur[p]
    else cur = undefined
    if (cur === undefined) throw badRequest(`doc is missing path: "${path}": missing value`)
  }
  return { parent: cur, key: parts[parts.length - 1] ?? '' }
}

function getAt(doc: unknown, path: string): unknown {
  let cur = doc
  for (const p of pointer(path)) {
    if (Array.isArray(cur)) cur = cur[Number(p)]
    else if (isObj(cur)) cur = cur[p]
    else return undefined
  }
  return cur
}

/** Applies an RFC 6902 patch; errors read like the API server's (evanphx/json-patch) texts. */
export function jsonPatch(target: unknown, ops: unknown): unknown {
  if (!Array.isArray(ops))
    throw badRequest('json: cannot unmarshal object into Go value of type jsonpatch.Patch')
  let doc = clone(target)
  for (const raw of ops) {
    if (!isObj(raw) || typeof raw.op !== 'string' || typeof raw.path !== 'string')
      throw badRequest('the server rejected our request due to an error in our request')
    const op = raw as unknown as Op
    const parts = pointer(op.path)
    switch (op.op) {
      case 'add':
      case 'replace': {
        if (parts.length === 0) {
          doc = clone(op.value)
          break
        }
        const { parent, key } = parentOf(doc, parts, op.path)
        if (Array.isArray(parent)) {
          const idx = key === '-' ? parent.length : Number(key)
          if (!Number.isInteger(idx) || idx < 0 || idx > parent.length)
            throw badRequest(`add operation does not apply: doc is missing path: "${op.path}": missing value`)
          if (op.op === 'add') parent.splice(idx, 0, clone(op.value))
          else parent[idx] = clone(op.value)
        } else if (isObj(parent)) {
          if (op.op === 'replace' && !(key in parent))
            throw badRequest(
              `replace operation does not apply: doc is missing key: ${op.path}: missing value`,
            )
          parent[key] = clone(op.value)
        } else
          throw badRequest(
            `${op.op} operation does not apply: doc is missing path: "${op.path}": missing value`,
          )
        break
      }
      case 'remove': {
        const { parent, key } = parentOf(doc, parts, op.path)
        if (Array.isArray(parent) && Number(key) < parent.length) parent.splice(Number(key), 1)
        else if (isObj(parent) && key in parent) delete parent[key]
        else
          throw badRequest(
            `remove operation does not apply: doc is missing path: "${op.path}": missing value`,
          )
        break
      }
      case 'test': {
        if (JSON.stringify(getAt(doc, op.path)) !== JSON.stringify(op.value))
          throw badRequest(`testing value ${op.path} failed: test failed`)
        break
      }
      case 'move':
      case 'copy': {
        const value = getAt(doc, op.from ?? '')
        if (value === undefined)
          throw badRequest(`${op.op} operation does not apply: doc is missing from path: ${op.from}`)
        if (op.op === 'move') doc = jsonPatch(doc, [{ op: 'remove', path: op.from }])
        doc = jsonPatch(doc, [{ op: 'add', path: op.path, value }])
        break
      }
      default:
        throw badRequest(`Unexpected kind: ${op.op}`)
    }
  }
  return doc
}
