/** The JSON report comes in pieces; together they are exactly `JSON.stringify(report, null, 2)`. */
import { describe, expect, it } from 'vitest'
import { JSON_SCHEMA_VERSION, renderJson, renderJsonPieces } from '../../src/report/json.js'
import type { Finding, ScanReport } from '../../src/scan/scan.js'
import { toolInfo } from '../../src/version.js'

function finding(i: number): Finding {
  return {
    checkId: `check-${i % 7}`,
    title: 'A "quoted" title\twith a tab',
    severity: 'medium',
    category: 'security',
    status: 'fail',
    message: `container app-${i} has no limit: ünïcödé, and a line\nbreak`,
    resource: { apiVersion: 'apps/v1', kind: 'Deployment', name: `web-${i}`, namespace: 'shop' },
    container: { name: `app-${i}`, type: 'containers' },
    path: 'spec.template.spec.containers[0].resources',
    location: { file: 'k8s/web.yaml', line: i + 1, column: 3, documentIndex: i },
  }
}

function report(findings: Finding[]): ScanReport {
  return {
    policyVersion: 'latest',
    startedAt: '2026-12-06T00:00:00.000Z',
    durationMs: 12,
    summary: {
      files: 1,
      resources: findings.length,
      checks: 7,
      passed: 3,
      findings: findings.length,
      bySeverity: { info: 0, low: 0, medium: findings.length, high: 0, critical: 0 },
      errors: 0,
      skipped: 0,
      excepted: 0,
    },
    findings,
    errors: [
      { file: 'k8s/bad.yaml', documentIndex: 1, position: { line: 4, column: 1 }, message: 'invalid' },
    ],
    skipped: [],
    skippedCharts: [],
    checks: [],
    checkStats: { 'check-1': { applied: 2, failed: 1 } },
    namespaceStats: {},
    staleExceptions: [],
    baseline: { new: 1, unchanged: 0, fixed: 2 } as unknown as ScanReport['baseline'],
  }
}

function stringified(r: ScanReport): string {
  const { checks: _c, checkStats: _s, namespaceStats: _n, ...rest } = r
  return `${JSON.stringify({ schemaVersion: JSON_SCHEMA_VERSION, tool: toolInfo(), ...rest }, null, 2)}\n`
}

describe('renderJsonPieces', () => {
  it.each([0, 1, 999, 1000, 1001, 2500])('%i findings: the same bytes as one JSON.stringify', (n) => {
    const r = report(Array.from({ length: n }, (_, i) => finding(i)))
    const pieces = [...renderJsonPieces(r)]
    expect(pieces.join('')).toBe(stringified(r))
    expect(renderJson(r)).toBe(stringified(r))
    // A large report is never one string: no piece holds more than a thousand findings.
    expect(pieces.length).toBe(n === 0 ? 1 : 2 + Math.ceil(n / 1000))
  })

  it('keeps the findings in their place among the keys', () => {
    const keys = Object.keys(JSON.parse(renderJson(report([finding(1)]))))
    expect(keys.indexOf('findings')).toBe(keys.indexOf('summary') + 1)
    expect(keys.at(-1)).toBe('baseline')
  })
})
