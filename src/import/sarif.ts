/**
 * SARIF 2.1.0 from any tool: each run's results, under the tool's name. SARIF names a file, not a
 * Kubernetes object, so the file is the resource. Trivy's check ids get its current spelling, so that
 * its SARIF and its JSON agree.
 */
import type { Severity } from '../policy/check.js'
import { trivyCheckId } from './trivy.js'
import {
  ImportError,
  type ImportedFinding,
  type ImportedReport,
  isObject,
  type Json,
  objects,
  severityOfScore,
  text,
} from './types.js'

/** Without a security-severity: SARIF's levels, error high, warning medium, note low, none info. */
const LEVELS: Record<string, Severity> = { error: 'high', warning: 'medium', note: 'low', none: 'info' }

function toolName(driver: Json): string {
  return (text(driver.name) ?? 'sarif').toLowerCase().replace(/[^a-z0-9.-]+/g, '-')
}

function severityOf(result: Json, rule: Json | undefined): Severity {
  for (const props of [result.properties, rule?.properties]) {
    const score = isObject(props) ? Number(text(props['security-severity'])) : Number.NaN
    if (Number.isFinite(score)) return severityOfScore(score)
  }
  const config =
    rule && isObject(rule.defaultConfiguration) ? text(rule.defaultConfiguration.level) : undefined
  // SARIF's default level is warning.
  return LEVELS[text(result.level) ?? config ?? 'warning'] ?? 'medium'
}

export function parseSarif(file: string, doc: unknown): ImportedReport {
  if (!isObject(doc) || !Array.isArray(doc.runs) || !/^2\./.test(text(doc.version) ?? ''))
    throw new ImportError(file, 'not a SARIF log: expected version 2.1.0 and runs')
  const findings: ImportedFinding[] = []
  const tools: ImportedReport['tools'] = []
  for (const run of objects(doc.runs)) {
    const driver = isObject(run.tool) && isObject(run.tool.driver) ? run.tool.driver : {}
    const tool = toolName(driver)
    const version = text(driver.version) ?? text(driver.semanticVersion)
    tools.push({ name: tool, ...(version ? { version } : {}) })
    const rules = objects(driver.rules)
    const byId = new Map(rules.map((r) => [text(r.id) ?? '', r]))
    for (const result of objects(run.results)) {
      if (text(result.kind) !== undefined && text(result.kind) !== 'fail') continue
      const index = typeof result.ruleIndex === 'number' ? result.ruleIndex : -1
      const rule = byId.get(text(result.ruleId) ?? '') ?? rules[index]
      const ruleId = text(result.ruleId) ?? (rule && text(rule.id)) ?? '(no rule)'
      const location = objects(result.locations)[0]
      const physical = location && isObject(location.physicalLocation) ? location.physicalLocation : {}
      const artifact = isObject(physical.artifactLocation) ? physical.artifactLocation : {}
      const region = isObject(physical.region) ? physical.region : {}
      const uri = text(artifact.uri) ?? '(no location)'
      const message = isObject(result.message) ? (text(result.message.text) ?? ruleId) : ruleId
      const short = rule && isObject(rule.shortDescription) ? text(rule.shortDescription.text) : undefined
      // What the location says of itself (Trivy: `image: package@version`) tells results in one file apart.
      const where = location && isObject(location.message) ? text(location.message.text) : undefined
      findings.push({
        tool,
        checkId: `${tool}:${tool === 'trivy' ? trivyCheckId(ruleId) : ruleId}`,
        title: short ?? ruleId,
        severity: severityOf(result, rule),
        category: 'sarif',
        status: 'fail',
        message: message.trim(),
        resource: { apiVersion: '', kind: 'File', name: uri },
        path: where ?? '',
        file: uri,
        ...(typeof region.startLine === 'number' ? { line: region.startLine } : {}),
      })
    }
  }
  return { format: 'sarif', tools, findings }
}
