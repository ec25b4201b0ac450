/**
 * Kubescape's JSON (`kubescape scan --format json`, formatVersion v2): `results[]` name a resource by
 * `resourceID` and list its controls; `resources[]` hold the objects, joined on `resourceID`. A failed
 * control on a resource is one finding; its severity comes from the control's scoreFactor.
 */
import type { Severity } from '../policy/check.js'
import {
  arrayOf,
  ImportError,
  type ImportedFinding,
  type ImportedReport,
  isObject,
  type Json,
  objects,
  text,
} from './types.js'

/** Kubescape's own bands of scoreFactor (1-10): 9+ critical, 7+ high, 4+ medium, 1+ low. */
export function kubescapeSeverity(scoreFactor: unknown): Severity {
  const f = typeof scoreFactor === 'number' ? scoreFactor : 0
  if (f >= 9) return 'critical'
  if (f >= 7) return 'high'
  if (f >= 4) return 'medium'
  if (f >= 1) return 'low'
  return 'info'
}

type Resource = ImportedFinding['resource']

/** `path=966824446/api=apps/v1//Deployment/nginx`, `api=/v1/kubescape/Service/x`: version, namespace, kind, name. */
function resourceOfId(id: string): Resource {
  const api = id.includes('api=') ? id.slice(id.indexOf('api=') + 4) : id.replace(/^\//, '')
  const parts = api.split('/')
  const name = parts.pop() ?? id
  const kind = parts.pop() ?? 'Unknown'
  const namespace = parts.pop() ?? ''
  // the core group is written `api=/v1/...`
  return { apiVersion: parts.join('/').replace(/^\//, ''), kind, name, ...(namespace ? { namespace } : {}) }
}

function resourceOf(id: string, entry: Json | undefined): Resource {
  const object = entry && isObject(entry.object) ? entry.object : undefined
  // An RBAC subject comes as {kind, name, namespace, relatedObjects}: the subject is the resource.
  const meta =
    object && (isObject(object.metadata) ? object.metadata : 'relatedObjects' in object ? object : undefined)
  if (!object || !meta || !text(object.kind) || !text(meta.name)) return resourceOfId(id)
  const namespace = text(meta.namespace)
  return {
    apiVersion: text(object.apiVersion) ?? '',
    kind: text(object.kind)!,
    name: text(meta.name)!,
    ...(namespace ? { namespace } : {}),
  }
}

/** The v3 control carries `status.status`; the 2022 format has none, and the rules' status says it. */
function failed(control: Json): boolean {
  const status = isObject(control.status) ? text(control.status.status) : undefined
  if (status !== undefined) return status === 'failed'
  return objects(control.rules).some((r) => text(r.status) === 'failed')
}

/** The fields a control points at: failedPath, fixPath, deletePath or reviewPath, in the order given. */
function pathsOf(control: Json): string[] {
  const out: string[] = []
  for (const rule of objects(control.rules))
    for (const p of objects(rule.paths)) {
      const fix = isObject(p.fixPath) ? text(p.fixPath.path) : undefined
      const path = text(p.failedPath) ?? fix ?? text(p.deletePath) ?? text(p.reviewPath)
      if (path && !out.includes(path)) out.push(path)
    }
  return out
}

export function parseKubescape(file: string, doc: unknown): ImportedReport {
  if (!isObject(doc) || !Array.isArray(doc.results) || !isObject(doc.summaryDetails))
    throw new ImportError(
      file,
      'not a Kubescape report: expected `results` and `summaryDetails` (kubescape scan --format json)',
    )
  const meta = isObject(doc.metadata) && isObject(doc.metadata.scanMetadata) ? doc.metadata.scanMetadata : {}
  const version = text(meta.kubescapeVersion)
  const controls = isObject(doc.summaryDetails.controls) ? doc.summaryDetails.controls : {}
  const resources = new Map(objects(doc.resources).map((r) => [text(r.resourceID) ?? '', r]))
  const findings: ImportedFinding[] = []
  for (const result of objects(doc.results)) {
    const id = text(result.resourceID) ?? ''
    const entry = resources.get(id)
    const resource = resourceOf(id, entry)
    const source = entry && isObject(entry.source) ? text(entry.source.relativePath) : undefined
    for (const control of arrayOf(result.controls).filter(isObject).filter(failed)) {
      const controlId = text(control.controlID) ?? '(no id)'
      const summary = isObject(controls[controlId]) ? (controls[controlId] as Json) : {}
      const name = text(control.name) ?? text(summary.name) ?? controlId
      const paths = pathsOf(control)
      findings.push({
        tool: 'kubescape',
        checkId: `kubescape:${controlId}`,
        title: name,
        severity: kubescapeSeverity(summary.scoreFactor),
        category: 'control',
        status: 'fail',
        message: paths.length > 0 ? `${name}: ${paths.join(', ')}` : name,
        resource,
        // The paths go in the message: their order and number move as Kubescape's rules change.
        path: '',
        ...(source ? { file: source } : {}),
      })
    }
  }
  return { format: 'kubescape', tools: [{ name: 'kubescape', ...(version ? { version } : {}) }], findings }
}
