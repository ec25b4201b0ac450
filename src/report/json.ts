/**
 * The JSON report. Its shape is a public contract (docs/output.md): fields are only ever added, and
 * `schemaVersion` changes if one is removed or changes meaning.
 */
import type { ScanReport } from '../scan/scan.js'
import { toolInfo } from '../version.js'

export const JSON_SCHEMA_VERSION = 1

export function renderJson(report: ScanReport): string {
  // Check metadata and raw statistics are for other reports; the JSON schema stays what docs/output.md says.
  const { checks: _checks, checkStats: _stats, namespaceStats: _ns, ...rest } = report
  return `${JSON.stringify({ schemaVersion: JSON_SCHEMA_VERSION, tool: toolInfo(), ...rest }, null, 2)}\n`
}
