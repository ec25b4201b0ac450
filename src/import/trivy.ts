/**
 * Trivy's JSON (`--format json`): `trivy image`/`fs`/`config` (SchemaVersion 2, `Results[]`) and the
 * early `trivy k8s` shape (`ClusterName`, and `Vulnerabilities[]`/`Misconfigurations[]` of
 * `{Namespace, Kind, Name, Results[]}`). Only failed misconfigurations are findings.
 */
import {
  aliasesOf,
  arrayOf,
  containerInMessage,
  type FixState,
  ImportError,
  type ImportedFinding,
  type ImportedReport,
  isObject,
  type Json,
  objects,
  severityWord,
  text,
} from './types.js'

/** KSV001 (2022) and KSV-0001 (current) are one check: the current spelling. CVE ids are left alone. */
export function trivyCheckId(id: string): string {
  const m = /^([A-Z]{2,5})-?(\d{1,4})$/.exec(id)
  return m ? `${m[1]}-${m[2]!.padStart(4, '0')}` : id
}

const FIX_STATES: Record<string, FixState> = {
  fixed: 'fixed',
  affected: 'not-fixed',
  fix_deferred: 'not-fixed',
  under_investigation: 'unknown',
  will_not_fix: 'wont-fix',
  end_of_life: 'wont-fix',
}

type Resource = ImportedFinding['resource']

/** `docker.io/redis:6.0.5 (debian 10.4)`: the image, without the OS Trivy adds after it. */
function imageOf(target: string): string {
  return target.replace(/ \([^)]*\)$/, '')
}

function vulnerabilities(result: Json, resource: Resource, inK8s: boolean): ImportedFinding[] {
  const target = text(result.Target) ?? ''
  const packageType = text(result.Type)
  // A `trivy k8s` object may run several images: the result's Target says which; else the scanned artifact.
  const artifact = inK8s ? imageOf(target) : resource.name
  return objects(result.Vulnerabilities).map((v) => {
    const id = text(v.VulnerabilityID) ?? '(no id)'
    const pkg = text(v.PkgName) ?? '(no package)'
    const installed = text(v.InstalledVersion) ?? ''
    const fixed = text(v.FixedVersion)
    const status = text(v.Status)
    const fixState = (status && FIX_STATES[status]) || (fixed ? 'fixed' : 'unknown')
    // An OS package is the image's; a language package is known by its lock file or jar (the Target).
    const where = inK8s
      ? `image ${imageOf(target)} `
      : text(result.Class) === 'lang-pkgs' && target
        ? `${target} `
        : ''
    const fix = fixed ? `fixed in ${fixed}` : `no fixed version (${fixState})`
    const title = text(v.Title) ?? id
    return {
      tool: 'trivy',
      checkId: `trivy:${id}`,
      title,
      severity: severityWord(v.Severity) ?? 'info',
      category: 'vulnerability',
      status: 'fail' as const,
      message: `${id} in ${pkg} ${installed}: ${fix}. ${title}`,
      resource,
      path: `${where}package ${pkg}${text(v.PkgPath) ? ` at ${text(v.PkgPath)}` : ''}`,
      vulnerability: {
        id,
        package: pkg,
        installedVersion: installed,
        ...(fixed ? { fixedVersion: fixed } : {}),
        fixState,
        aliases: aliasesOf(id, arrayOf(v.VendorIDs)),
        ...(packageType ? { packageType } : {}),
        artifact,
      },
    }
  })
}

function misconfigurations(result: Json, resource: Resource, file: string | undefined): ImportedFinding[] {
  return objects(result.Misconfigurations)
    .filter((m) => text(m.Status) !== 'PASS')
    .map((m) => {
      const id = trivyCheckId(text(m.ID) ?? text(m.AVDID) ?? '(no id)')
      const message = text(m.Message) ?? text(m.Title) ?? id
      const cause = isObject(m.CauseMetadata) ? m.CauseMetadata : {}
      const line = typeof cause.StartLine === 'number' ? cause.StartLine : undefined
      const container = containerInMessage(message)
      return {
        tool: 'trivy',
        checkId: `trivy:${id}`,
        title: text(m.Title) ?? id,
        severity: severityWord(m.Severity) ?? 'info',
        category: text(m.Type) ?? 'misconfiguration',
        status: 'fail' as const,
        message,
        resource,
        ...(container ? { container } : {}),
        path: '',
        ...(file ? { file } : {}),
        ...(line !== undefined ? { line } : {}),
      }
    })
}

/** The early `trivy k8s` report: each entry names its Kubernetes object. */
function k8sShape(doc: Json): ImportedFinding[] {
  const out: ImportedFinding[] = []
  for (const key of ['Vulnerabilities', 'Misconfigurations'] as const)
    for (const entry of objects(doc[key])) {
      const namespace = text(entry.Namespace)
      const resource: Resource = {
        apiVersion: '',
        kind: text(entry.Kind) ?? 'Unknown',
        name: text(entry.Name) ?? '(unnamed)',
        ...(namespace ? { namespace } : {}),
      }
      for (const result of objects(entry.Results))
        out.push(
          ...(key === 'Vulnerabilities'
            ? vulnerabilities(result, resource, true)
            : misconfigurations(result, resource, undefined)),
        )
    }
  return out
}

export function parseTrivy(file: string, doc: unknown): ImportedReport {
  const version = isObject(doc) && isObject(doc.Trivy) ? text(doc.Trivy.Version) : undefined
  const tools = [{ name: 'trivy', ...(version ? { version } : {}) }]
  if (isObject(doc) && text(doc.ClusterName) && ('Vulnerabilities' in doc || 'Misconfigurations' in doc))
    return { format: 'trivy', tools, findings: k8sShape(doc) }
  // A clean scan has no Results at all (Trivy omits the empty list): its artifact still says what it is.
  if (!isObject(doc) || doc.SchemaVersion !== 2 || !('Results' in doc || 'ArtifactName' in doc))
    throw new ImportError(
      file,
      'not a Trivy report: expected SchemaVersion 2 and Results, or the `trivy k8s` ClusterName with Vulnerabilities/Misconfigurations',
    )
  const artifact = text(doc.ArtifactName) ?? '(unnamed artifact)'
  const image = text(doc.ArtifactType) === 'container_image'
  const findings: ImportedFinding[] = []
  for (const result of objects(doc.Results)) {
    const target = text(result.Target) ?? artifact
    if (text(result.Class) === 'config') {
      // `trivy config` names the file, not the object in it: the file is the resource.
      findings.push(...misconfigurations(result, { apiVersion: '', kind: 'File', name: target }, target))
    } else {
      const resource = { apiVersion: '', kind: image ? 'Image' : 'Artifact', name: artifact }
      findings.push(...vulnerabilities(result, resource, false))
    }
  }
  return { format: 'trivy', tools, findings }
}
