/**
 * Reads a report file and hands it to its format's importer; `auto` tells the format by the fields only
 * that format has.
 */
import { readFileSync } from 'node:fs'
import { loadAll } from 'js-yaml'
import { KUBERNETES_YAML_SCHEMA } from '../resources/yaml-schema.js'
import { parseGrype } from './grype.js'
import { parseKubeLinter } from './kube-linter.js'
import { parseKubescape } from './kubescape.js'
import { parsePolaris } from './polaris.js'
import { parsePolicyReports, policyReportsIn } from './policy-report.js'
import { parseSarif } from './sarif.js'
import { parseTrivy } from './trivy.js'
import { ImportError, type ImportedReport, type ImportFormat, isObject } from './types.js'

const PARSERS: Record<
  Exclude<ImportFormat, 'policy-report'>,
  (file: string, doc: unknown) => ImportedReport
> = {
  trivy: parseTrivy,
  grype: parseGrype,
  kubescape: parseKubescape,
  polaris: parsePolaris,
  'kube-linter': parseKubeLinter,
  sarif: parseSarif,
}

/** The format of a parsed report, by what only that format carries; undefined when none fits. */
export function detectFormat(docs: readonly unknown[]): ImportFormat | undefined {
  if (policyReportsIn(docs).length > 0) return 'policy-report'
  const doc = docs.length === 1 ? docs[0] : undefined
  if (!isObject(doc)) return undefined
  if ('SchemaVersion' in doc && ('Results' in doc || 'ArtifactName' in doc)) return 'trivy'
  if ('ClusterName' in doc && ('Vulnerabilities' in doc || 'Misconfigurations' in doc)) return 'trivy'
  if (Array.isArray(doc.matches) && ('descriptor' in doc || 'source' in doc)) return 'grype'
  if (Array.isArray(doc.results) && 'summaryDetails' in doc) return 'kubescape'
  if ('PolarisOutputVersion' in doc) return 'polaris'
  if ('Reports' in doc && ('Checks' in doc || 'Summary' in doc)) return 'kube-linter'
  if (Array.isArray(doc.runs) && ('$schema' in doc || 'version' in doc)) return 'sarif'
  return undefined
}

/** JSON, or else YAML (PolicyReports come as YAML, several documents or a List). */
function parseText(file: string, source: string): unknown[] {
  try {
    return [JSON.parse(source)]
  } catch (jsonError) {
    try {
      return loadAll(source, { schema: KUBERNETES_YAML_SCHEMA, filename: file }).filter(
        (d) => d !== null && d !== undefined,
      )
    } catch (yamlError) {
      const line = (yamlError as { mark?: { line?: number } }).mark?.line
      throw new ImportError(
        file,
        `neither JSON (${(jsonError as Error).message}) nor YAML${line !== undefined ? ` (line ${line + 1})` : ''}: ${(yamlError as Error).message.split('\n')[0]}`,
      )
    }
  }
}

/** The report in `source` (the text of `file`), read as `format`. Throws ImportError, naming the file. */
export function parseReport(file: string, source: string, format: ImportFormat | 'auto'): ImportedReport {
  const docs = parseText(file, source)
  const chosen = format === 'auto' ? detectFormat(docs) : format
  if (chosen === undefined)
    throw new ImportError(
      file,
      'format not recognised: expected a Trivy, Grype, Kubescape, Polaris, kube-linter or SARIF report, or PolicyReports; name it with --format',
    )
  if (chosen === 'policy-report') return parsePolicyReports(file, docs)
  if (docs.length !== 1) throw new ImportError(file, `expected one ${chosen} document, found ${docs.length}`)
  return PARSERS[chosen](file, docs[0])
}

export function readReport(file: string, format: ImportFormat | 'auto'): ImportedReport {
  let source: string
  try {
    source = readFileSync(file, 'utf8')
  } catch (err) {
    throw new ImportError(
      file,
      `cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    )
  }
  return parseReport(file, source, format)
}
