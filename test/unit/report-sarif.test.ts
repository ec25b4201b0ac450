import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import AjvDraft04 from 'ajv-draft-04'
import ajvFormats from 'ajv-formats'
import { describe, expect, it } from 'vitest'
import { run } from '../helpers/cli.js'
import { pointsAtPath } from '../helpers/positions.js'

const schema = JSON.parse(
  readFileSync(resolve(import.meta.dirname, '..', 'data', 'sarif-schema-2.1.0.json'), 'utf8'),
)
// unicodeRegExp off: the schema's `language` pattern has a stray `]`, legal only without the u flag.
// Both are CommonJS modules whose `default` export is the module itself, as ESM sees it.
const ajv = new AjvDraft04.default({ allErrors: true, strict: false, unicodeRegExp: false })
ajvFormats.default(ajv)
const validate = ajv.compile(schema)

function schemaErrors(log: unknown): string[] {
  return validate(log) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message}`)
}

const tmp = mkdtempSync(join(tmpdir(), 'plimsoll-sarif-'))
const excepted = join(tmp, 'excepted.yaml')
writeFileSync(
  excepted,
  `apiVersion: v1
kind: Pod
metadata:
  name: debug
  namespace: tools
  annotations:
    plimsoll.dev/except.pss-privileged: "node debugging pod (OPS-7)"
spec:
  containers:
  - name: shell
    image: busybox:1.36
    securityContext:
      privileged: true
`,
)
const broken = join(tmp, 'broken.yaml')
writeFileSync(broken, 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x\n')

interface SarifResult {
  ruleId: string
  ruleIndex: number
  level: string
  message: { text: string }
  locations: {
    physicalLocation: {
      artifactLocation: { uri: string; uriBaseId?: string }
      region: Record<string, number>
    }
  }[]
  partialFingerprints: Record<string, string>
  suppressions?: { kind: string; justification: string }[]
  baselineState?: string
  properties: { path?: string }
}

function artifactText(loc: { uri: string; uriBaseId?: string }): string {
  return readFileSync(loc.uriBaseId ? decodeURIComponent(loc.uri) : fileURLToPath(loc.uri), 'utf8')
}

describe('SARIF 2.1.0 output', () => {
  const sarifPath = join(tmp, 'out.sarif')
  const jsonPath = join(tmp, 'out.json')
  const r = run([
    'scan',
    'examples/',
    excepted,
    broken,
    '--show-excepted',
    '--format',
    `text,sarif=${sarifPath},json=${jsonPath}`,
    '--fail-on',
    'none',
  ])
  const log = JSON.parse(readFileSync(sarifPath, 'utf8'))
  const json = JSON.parse(readFileSync(jsonPath, 'utf8'))
  const sarifRun = log.runs[0]
  const results = sarifRun.results as SarifResult[]
  const checks = JSON.parse(run(['checks', '--format', 'json']).stdout) as { id: string; docs?: string }[]

  it('validates against the official SARIF 2.1.0 schema', () => {
    expect(r.code).toBe(2) // the broken file
    expect(schemaErrors(log)).toEqual([])
  })

  it('the schema check is real: a log with a malformed region fails it', () => {
    const bad = structuredClone(log)
    bad.runs[0].results[0].locations[0].physicalLocation.region.startLine = 0
    bad.runs[0].results[0].level = 'fatal'
    expect(schemaErrors(bad).length).toBeGreaterThanOrEqual(2)
  })

  it('describes every check that ran as a rule with help, and indexes results into them', () => {
    const rules = sarifRun.tool.driver.rules as {
      id: string
      help: { text: string; markdown: string }
      helpUri?: string
      shortDescription: { text: string }
      properties: Record<string, unknown>
    }[]
    expect(rules.map((x) => x.id)).toEqual(checks.map((c) => c.id))
    for (const rule of rules) {
      expect(rule.help.text.length).toBeGreaterThan(20)
      expect(rule.shortDescription.text).not.toBe('')
      expect(Number(rule.properties['security-severity'])).toBeGreaterThan(0)
    }
    for (const res of results) expect(rules[res.ruleIndex]!.id).toBe(res.ruleId)
    // Every built-in check has a docs page, and the rule points at it.
    for (const c of checks) expect(rules.find((x) => x.id === c.id)!.helpUri).toBe(c.docs)
    for (const rule of rules) expect(rule.helpUri).toMatch(/^https:\/\//)
  })

  it('has one result per finding, at the line and column of the key its path names', () => {
    expect(results.length).toBe(json.findings.length)
    for (const res of results) {
      const { artifactLocation, region } = res.locations[0]!.physicalLocation
      const lineText = artifactText(artifactLocation).split('\n')[region.startLine! - 1]!
      const path = res.properties.path ?? ''
      expect(pointsAtPath(lineText, region.startColumn!, path), `${lineText} for ${path}`).toBe(true)
    }
  })

  it('keeps relative paths relative to the source root and makes outside files file: URIs', () => {
    const uris = results.map((x) => x.locations[0]!.physicalLocation.artifactLocation)
    expect(uris.some((u) => u.uriBaseId === '%SRCROOT%' && u.uri.startsWith('examples/'))).toBe(true)
    expect(uris.some((u) => u.uri === `file://${excepted}` && u.uriBaseId === undefined)).toBe(true)
  })

  it('marks excepted findings as suppressed, with the reason', () => {
    const suppressed = results.filter((x) => x.suppressions)
    expect(suppressed.map((x) => x.ruleId)).toEqual(['pss-privileged'])
    expect(suppressed[0]!.suppressions![0]).toMatchObject({
      kind: 'inSource',
      justification: 'node debugging pod (OPS-7)',
    })
  })

  it('reports input errors as tool notifications with their position', () => {
    const notes = sarifRun.invocations[0].toolExecutionNotifications
    expect(notes).toHaveLength(1)
    expect(notes[0].locations[0].physicalLocation.artifactLocation.uri).toBe(`file://${broken}`)
    expect(notes[0].locations[0].physicalLocation.region.startLine).toBeGreaterThan(0)
  })

  it('gives each result a stable fingerprint and, with a baseline, its baseline state', () => {
    const baseline = join(tmp, 'baseline.json')
    expect(run(['scan', 'examples/', '--baseline-write', baseline, '--format', 'json']).code).not.toBe(2)
    const again = join(tmp, 'again.sarif')
    run(['scan', 'examples/', excepted, '--baseline', baseline, '--format', `sarif=${again}`])
    const second = JSON.parse(readFileSync(again, 'utf8')).runs[0].results as SarifResult[]
    expect(schemaErrors(JSON.parse(readFileSync(again, 'utf8')))).toEqual([])
    const state = (fromExamples: boolean) =>
      new Set(
        second
          .filter(
            (x) =>
              x.locations[0]!.physicalLocation.artifactLocation.uri.startsWith('examples/') === fromExamples,
          )
          .map((x) => x.baselineState),
      )
    expect(state(true)).toEqual(new Set(['unchanged']))
    expect(state(false)).toEqual(new Set(['new']))
    const before = new Map(results.map((x) => [x.partialFingerprints['plimsoll/v1'], x.ruleId]))
    for (const res of second) expect(before.get(res.partialFingerprints['plimsoll/v1']!)).toBe(res.ruleId)
  })
})
