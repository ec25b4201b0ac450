/**
 * How `kyverno test` compares a resource a policy patched or generated with the one a test expects
 * (cmd/cli/kubectl-kyverno/commands/test/compare.go, getAndCompareResource, and resource/{resource,labels,
 * tidy,compare}.go in kyverno/kyverno):
 * - the expected resource is the document of the test's file with the same apiVersion, kind, namespace and
 *   name as the actual one, the file's documents loaded as the CLI loads resources (a namespaced resource
 *   without a namespace is in `default`); none such is "not found in manifest";
 * - both sides' labels lose every `generate.kyverno.io/*` label and get
 *   `app.kubernetes.io/managed-by: kyverno` unless they set it;
 * - both sides are tidied: null values, empty maps and empty lists are dropped, at every depth (a map or
 *   list left empty by that goes too);
 * - then they must be equal as JSON: maps whatever their key order, lists item by item in order, numbers
 *   by value (`1` equals `1.0`), a string never equals a number.
 * This is the one comparison of patched and generated resources, for every policy kind.
 */
import { readFileSync } from 'node:fs'
import { isJsonMap, type JsonMap } from '../policy/json-map.js'
import { jsonEqual } from '../policy/json-patch.js'
import { parseSource } from '../resources/parse.js'
import { asKyvernoLoadsIt } from './resources.js'

const MANAGED_BY = 'app.kubernetes.io/managed-by'

function withKyvernoLabels(resource: JsonMap): JsonMap {
  const meta = isJsonMap(resource.metadata) ? resource.metadata : {}
  const labels: Record<string, unknown> = { [MANAGED_BY]: 'kyverno' }
  if (isJsonMap(meta.labels))
    for (const [k, v] of Object.entries(meta.labels)) if (!k.startsWith('generate.kyverno.io/')) labels[k] = v
  return { ...resource, metadata: { ...meta, labels } }
}

/** Kyverno's Tidy: nulls, empty maps and empty lists removed, bottom up; undefined when nothing is left. */
export function tidy(value: unknown): unknown {
  if (Array.isArray(value)) {
    const items = value.map(tidy).filter((v) => v !== undefined)
    return items.length === 0 ? undefined : items
  }
  if (isJsonMap(value)) {
    const out: JsonMap = {}
    for (const [k, v] of Object.entries(value)) {
      const t = tidy(v)
      if (t !== undefined) out[k] = t
    }
    return Object.keys(out).length === 0 ? undefined : out
  }
  return value === null ? undefined : value
}

/** Whether `actual` is what the test expects, as `kyverno test` decides it. */
export function comparePatched(expected: JsonMap, actual: JsonMap): boolean {
  return jsonEqual(tidy(withKyvernoLabels(expected)), tidy(withKyvernoLabels(actual)))
}

const identity = (o: JsonMap) => {
  const meta = isJsonMap(o.metadata) ? o.metadata : {}
  return [o.apiVersion, o.kind, meta.namespace ?? '', meta.name ?? ''].map(String).join('/')
}

export type ExpectedLookup =
  | { found: true; resource: JsonMap }
  | { found: false; notInManifest: boolean; message: string }

/** The resource of `file` that `actual` is to be compared with (by apiVersion, kind, namespace, name). */
export function expectedResource(file: string, actual: JsonMap): ExpectedLookup {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message
    return { found: false, notInManifest: false, message: `failed to load resource ${file}: ${code}` }
  }
  const parsed = parseSource(file, text)
  const [error] = parsed.errors
  if (error) return { found: false, notInManifest: false, message: `${file}: ${error.message}` }
  const want = identity(actual)
  const match = parsed.resources.map(asKyvernoLoadsIt).find((r) => identity(r.object) === want)
  if (match) return { found: true, resource: match.object }
  const meta = isJsonMap(actual.metadata) ? actual.metadata : {}
  return {
    found: false,
    notInManifest: true,
    message: `resource with name ${String(meta.name ?? '')} not found in manifest ${file}`,
  }
}

/** Where `actual` differs from what the test expects (the first differing path), for reports. */
export function patchDifference(expected: JsonMap, actual: JsonMap): string | undefined {
  return firstDifference(withKyvernoLabels(expected), withKyvernoLabels(actual))
}

function firstDifference(expected: unknown, actual: unknown, path = ''): string | undefined {
  const [e, a] = [tidy(expected), tidy(actual)]
  if (jsonEqual(e, a)) return undefined
  if (isJsonMap(e) && isJsonMap(a)) {
    for (const k of new Set([...Object.keys(e), ...Object.keys(a)])) {
      const d = firstDifference(e[k], a[k], `${path}/${k}`)
      if (d) return d
    }
  }
  if (Array.isArray(e) && Array.isArray(a) && e.length === a.length) {
    for (const [i, x] of e.entries()) {
      const d = firstDifference(x, a[i], `${path}/${i}`)
      if (d) return d
    }
  }
  return `${path || '/'}: expected ${JSON.stringify(e) ?? 'nothing'}, got ${JSON.stringify(a) ?? 'nothing'}`
}
