/**
 * Grype's JSON (`grype -o json`): `matches[]` of a vulnerability and the artifact (package) it was
 * found in; the scanned image or directory is `source.target`.
 */
import {
  aliasesOf,
  arrayOf,
  type FixState,
  ImportError,
  type ImportedFinding,
  type ImportedReport,
  isObject,
  objects,
  severityWord,
  text,
} from './types.js'

const FIX_STATES: ReadonlySet<string> = new Set(['fixed', 'not-fixed', 'wont-fix', 'unknown'])

function sourceName(source: unknown): { kind: string; name: string } {
  if (!isObject(source)) return { kind: 'Artifact', name: '(unknown source)' }
  const target = source.target
  const name = isObject(target) ? (text(target.userInput) ?? text(target.name)) : text(target)
  return { kind: text(source.type) === 'image' ? 'Image' : 'Artifact', name: name ?? '(unknown source)' }
}

export function parseGrype(file: string, doc: unknown): ImportedReport {
  if (!isObject(doc) || !Array.isArray(doc.matches) || !(isObject(doc.source) || isObject(doc.descriptor)))
    throw new ImportError(file, 'not a Grype report: expected `matches` and `source` (grype -o json)')
  const version = isObject(doc.descriptor) ? text(doc.descriptor.version) : undefined
  const { kind, name } = sourceName(doc.source)
  const findings: ImportedFinding[] = objects(doc.matches).map((m) => {
    const v = isObject(m.vulnerability) ? m.vulnerability : {}
    const a = isObject(m.artifact) ? m.artifact : {}
    const id = text(v.id) ?? '(no id)'
    const pkg = text(a.name) ?? '(no package)'
    const installed = text(a.version) ?? ''
    const fix = isObject(v.fix) ? v.fix : {}
    const state = text(fix.state) ?? ''
    // Older Grype wrote an empty state for "nothing known".
    const fixState: FixState = FIX_STATES.has(state) ? (state as FixState) : 'unknown'
    const fixed = arrayOf(fix.versions)
      .map(text)
      .filter((x): x is string => x !== undefined)
    const location = objects(a.locations)
      .map((l) => text(l.path))
      .find((p) => p !== undefined)
    const description = text(v.description)
    const fixText = fixed.length > 0 ? `fixed in ${fixed.join(', ')}` : `no fixed version (${fixState})`
    return {
      tool: 'grype',
      checkId: `grype:${id}`,
      title: description ?? id,
      severity: severityWord(v.severity) ?? 'info',
      category: 'vulnerability',
      status: 'fail' as const,
      message: `${id} in ${pkg} ${installed}: ${fixText}${description ? `. ${description}` : ''}`,
      resource: { apiVersion: '', kind, name },
      // A package is known by its type, name and where it lies: one gem may be vendored twice.
      path: `package ${text(a.type) ?? 'unknown'}/${pkg}${location ? ` at ${location}` : ''}`,
      vulnerability: {
        id,
        package: pkg,
        installedVersion: installed,
        ...(fixed.length > 0 ? { fixedVersion: fixed.join(', ') } : {}),
        fixState,
        aliases: aliasesOf(
          id,
          objects(m.relatedVulnerabilities).map((r) => r.id),
        ),
        ...(text(a.type) ? { packageType: text(a.type)! } : {}),
        artifact: name,
      },
    }
  })
  return { format: 'grype', tools: [{ name: 'grype', ...(version ? { version } : {}) }], findings }
}
