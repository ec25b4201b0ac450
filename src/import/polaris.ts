/**
 * Polaris's JSON (`polaris audit --format json`): each workload's checks at three levels, the workload,
 * its pod spec and each container. A check with `Success: false` is a finding; `ignore`-level checks
 * are ones the user switched off, and are left out as Polaris leaves them out of its score.
 */
import type { Severity } from '../policy/check.js'
import {
  ImportError,
  type ImportedFinding,
  type ImportedReport,
  isObject,
  type Json,
  objects,
  text,
} from './types.js'

/** danger blocks (Polaris's webhook denies it): high; warning: medium. */
const SEVERITIES: Record<string, Severity> = { danger: 'high', warning: 'medium' }

export function parsePolaris(file: string, doc: unknown): ImportedReport {
  if (
    !isObject(doc) ||
    !Array.isArray(doc.Results) ||
    !('PolarisOutputVersion' in doc || 'SourceType' in doc)
  )
    throw new ImportError(
      file,
      'not a Polaris report: expected PolarisOutputVersion and Results (polaris audit --format json)',
    )
  const findings: ImportedFinding[] = []
  for (const workload of objects(doc.Results)) {
    const namespace = text(workload.Namespace)
    const resource = {
      apiVersion: '',
      kind: text(workload.Kind) ?? 'Unknown',
      name: text(workload.Name) ?? '(unnamed)',
      ...(namespace ? { namespace } : {}),
    }
    const levels: { checks: unknown; container?: string }[] = [{ checks: workload.Results }]
    const pod = isObject(workload.PodResult) ? workload.PodResult : undefined
    if (pod) {
      levels.push({ checks: pod.Results })
      for (const c of objects(pod.ContainerResults))
        levels.push({ checks: c.Results, ...(text(c.Name) ? { container: text(c.Name)! } : {}) })
    }
    for (const { checks, container } of levels) {
      if (!isObject(checks)) continue
      for (const check of Object.values(checks).filter(isObject) as Json[]) {
        const severity = SEVERITIES[text(check.Severity) ?? '']
        if (check.Success !== false || !severity) continue
        const id = text(check.ID) ?? '(no id)'
        findings.push({
          tool: 'polaris',
          checkId: `polaris:${id}`,
          title: text(check.Message) ?? id,
          severity,
          category: text(check.Category) ?? 'polaris',
          status: 'fail',
          message: text(check.Message) ?? id,
          resource,
          ...(container ? { container } : {}),
          path: '',
        })
      }
    }
  }
  const source = text(doc.SourceType) === 'Path' ? text(doc.SourceName) : undefined
  if (source) for (const f of findings) f.file = source
  return { format: 'polaris', tools: [{ name: 'polaris' }], findings }
}
