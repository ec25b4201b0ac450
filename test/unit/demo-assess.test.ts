/**
 * The demo's two maturity assessments (src/demo/assess.ts), made as `serve --demo` makes them: over the
 * seeded demo store and the live demo cluster, with the real collectors. A month apart, they show
 * progress; the second reads the cluster and the first could not; the repository is named as the team
 * would name it, and the demo's plaintext Secret value is nowhere in what is stored.
 */
import { mkdtempSync, readdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type AssessSeedSummary, demoAssessLine, seedAssessments } from '../../src/demo/assess.js'
import { CLUSTER_TARGET } from '../../src/demo/estate.js'
import { type LiveDemo, startLiveDemoCluster } from '../../src/demo/live-cluster.js'
import { seedDemo } from '../../src/demo/seed.js'
import type { Assessment } from '../../src/maturity/assess.js'
import { loadLibrary } from '../../src/policy/library.js'
import { getAssessment, listAssessments, readAnswers } from '../../src/store/assessments.js'
import { openStore, type Store } from '../../src/store/connect.js'

const tmp = mkdtempSync(join(tmpdir(), 'plimsoll-demo-maturity-test-'))
const now = new Date('2026-03-31T12:00:00Z')
const DAY = 86_400_000

describe('the demo’s maturity assessments', () => {
  let store: Store
  let cluster: LiveDemo
  let summary: AssessSeedSummary
  let before: Assessment
  let after: Assessment
  const demoTemps = () => readdirSync(tmpdir()).filter((f) => f.startsWith('plimsoll-demo-assess-'))
  let tempsBefore: string[]

  beforeAll(async () => {
    store = await openStore(join(tmp, 'demo.db'))
    const library = loadLibrary()
    const seeded = await seedDemo(store, { now, library })
    cluster = await startLiveDemoCluster(store, library, seeded, { churnMs: 3_600_000 })
    tempsBefore = demoTemps()
    summary = await seedAssessments(store, { now, cluster: { client: cluster.client, name: CLUSTER_TARGET } })
    before = (await getAssessment(store, summary.ids[0]))!
    after = (await getAssessment(store, summary.ids[1]))!
  }, 120_000)

  afterAll(async () => {
    await cluster?.stop()
    await store?.close()
  })

  it('records two assessments a month apart, the second meeting more of Level 3', async () => {
    const list = await listAssessments(store)
    expect(list.map((a) => a.id)).toEqual([...summary.ids])
    expect(Date.parse(after.takenAt) - Date.parse(before.takenAt)).toBe(30 * DAY)
    expect(after.takenAt).toBe(now.toISOString())
    expect(summary.met[1]).toBeGreaterThan(summary.met[0])
    expect(summary.score[1]).toBeGreaterThan(summary.score[0])
    expect(after.level3.meets).toBe(summary.met[1])
    expect(demoAssessLine(summary)).toMatch(
      new RegExp(
        `^2 maturity assessments a month apart: Level 3 criteria met ${summary.met[0]} -> ${summary.met[1]} of 46 `,
      ),
    )
  })

  it('reads the live cluster the second time only', () => {
    expect(before.inputs.cluster).toBeUndefined()
    expect(after.inputs.cluster).toBe(CLUSTER_TARGET)
    const clusterEvidence = (a: Assessment) =>
      a.criteria.flatMap((c) => c.evidence).filter((e) => e.fact.startsWith('cluster.'))
    expect(clusterEvidence(before)).toEqual([])
    expect(clusterEvidence(after).length).toBeGreaterThan(0)
    // the first says why: no cluster was read
    const unknownForCluster = before.criteria.find((c) =>
      c.unknownFacts.some((f) => f.startsWith('cluster.')),
    )
    expect(unknownForCluster?.why).toMatch(/no cluster was read/)
  })

  it('judges the repository as it was and as it is, named as the team names it', () => {
    const evidence = (a: Assessment, fact: string) =>
      a.criteria.flatMap((c) => c.evidence).find((e) => e.fact === fact)
    expect(evidence(before, 'repo.plaintextSecrets')?.value).toBe(1)
    expect(evidence(after, 'repo.plaintextSecrets')?.value).toBe(0)
    expect(evidence(before, 'repo.ciPolicyChecks')?.value).toBe(0)
    expect(evidence(after, 'repo.ciPolicyChecks')?.value).toBe(1)
    expect(evidence(after, 'repo.ciPolicyChecks')?.sources[0]).toMatch(
      /^platform\/\.github\/workflows\/ci\.yaml:\d+$/,
    )
    expect(after.inputs.repositories).toEqual(['platform'])
    const text = JSON.stringify([before, after])
    // the temporary folder the repository was written to is not what the team calls it
    expect(text).not.toMatch(/plimsoll-demo-assess-/)
    expect(text).not.toContain('demo-not-a-secret')
  })

  it('has the store’s history as evidence: CI scans on the demo’s days now, none a month ago', () => {
    const days = (a: Assessment) =>
      a.criteria.flatMap((c) => c.evidence).find((e) => e.fact === 'store.ciScanDays')?.value
    expect(days(before)).toBe(0)
    expect(days(after)).toBeGreaterThan(20)
  })

  it('marks the answers self-reported and keeps the latest on the dashboard', async () => {
    const answered = after.criteria.filter((c) => c.answer)
    expect(answered.length).toBeGreaterThan(before.criteria.filter((c) => c.answer).length)
    for (const c of answered)
      expect(c.answer).toMatchObject({ selfReported: true, answeredBy: 'Platform team (demo)' })
    const saved = await readAnswers(store)
    expect(saved.map((a) => a.question).sort()).toEqual(answered.map((c) => c.answer!.question).sort())
  })

  it('leaves no temporary repository behind', () => {
    expect(demoTemps()).toEqual(tempsBefore)
  })
})
