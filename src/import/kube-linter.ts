/**
 * kube-linter's JSON (`kube-linter lint --format json`): `Reports[]` of a check on an object. It states
 * no severity: every report is recorded as medium, which the user can change by exception or review.
 */
import {
  apiVersionOf,
  containerInMessage,
  ImportError,
  type ImportedReport,
  isObject,
  objects,
  text,
} from './types.js'

export function parseKubeLinter(file: string, doc: unknown): ImportedReport {
  if (!isObject(doc) || !('Reports' in doc) || !(isObject(doc.Summary) || Array.isArray(doc.Checks)))
    throw new ImportError(
      file,
      'not a kube-linter report: expected Reports and Summary (kube-linter lint --format json)',
    )
  const version = isObject(doc.Summary) ? text(doc.Summary.KubeLinterVersion) : undefined
  // A clean run writes `"Reports": null`.
  const findings = objects(doc.Reports).map((r) => {
    const check = text(r.Check) ?? '(no check)'
    const object = isObject(r.Object) ? r.Object : {}
    const k8s = isObject(object.K8sObject) ? object.K8sObject : {}
    const gvk = isObject(k8s.GroupVersionKind) ? k8s.GroupVersionKind : {}
    const meta = isObject(object.Metadata) ? object.Metadata : {}
    const message = isObject(r.Diagnostic) ? (text(r.Diagnostic.Message) ?? check) : check
    const namespace = text(k8s.Namespace)
    const container = containerInMessage(message)
    const remediation = text(r.Remediation)
    return {
      tool: 'kube-linter',
      checkId: `kube-linter:${check}`,
      title: remediation ?? check,
      severity: 'medium' as const,
      category: 'kube-linter',
      status: 'fail' as const,
      message,
      resource: {
        apiVersion: apiVersionOf(text(gvk.Group), text(gvk.Version)),
        kind: text(gvk.Kind) ?? 'Unknown',
        name: text(k8s.Name) ?? '(unnamed)',
        ...(namespace ? { namespace } : {}),
      },
      ...(container ? { container } : {}),
      path: '',
      ...(text(meta.FilePath) ? { file: text(meta.FilePath)! } : {}),
    }
  })
  return {
    format: 'kube-linter',
    tools: [{ name: 'kube-linter', ...(version ? { version } : {}) }],
    findings,
  }
}
