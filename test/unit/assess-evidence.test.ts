/**
 * Every criterion of the catalogue flips between met and not yet on evidence, and the report cites
 * it (issue 16's acceptance). Two estates, each read by the real collectors:
 *
 * - a Level 3 estate: repo-scale, a Level 3 cluster on the local control plane consolidated on
 *   Plimsoll, and a store with good history (test/helpers/assess-estate.ts), every question answered
 *   yes;
 * - a poor estate: repo-poor (application code only: repo-bare keeps its manifests and a build
 *   workflow in source control, which honestly shows part of two criteria), a poor cluster (workloads without requests,
 *   probes or PDBs) and a store whose history is there but poor (findings rising, exceptions without
 *   owners, the webhook only warning, no audit events of late, a noisy alert pipeline, waste rising),
 *   every question answered no;
 * - the same poor estate whose store has no usage snapshot at all: a poor estate that records usage
 *   is partly there on the criteria that ask for usage data (their quotes say so), one that records
 *   none is not; its waste trend is then unknown.
 *
 * Every fact of facts.ts is known in the first two, so that each criterion is judged rather than
 * unknown. Each criterion judged from evidence (automatic or partly) must then be met in the first, met
 * in no poor estate, and not yet in at least one of the poor estates that know all of its facts (one
 * at least must): the test goes over the catalogue, so that a new criterion is covered as it is added.
 * Then the reports of the Level 3 estate cite, under each such criterion, where each fact it read was
 * seen (a count of 0 or an empty list: where it was sought); and the same estate without answers shows
 * what only the questionnaire can tell as unknown, never met.
 */
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ApiClient, loadKubeConfig } from '../../src/cluster/client.js'
import { type ControlPlane, startControlPlane } from '../../src/control-plane/server.js'
import { parseAnswers, questionIds } from '../../src/maturity/answers.js'
import { type Assessment, assess, type CriterionResult } from '../../src/maturity/assess.js'
import { loadCatalogue } from '../../src/maturity/catalogue.js'
import { collectClusterFacts } from '../../src/maturity/collect/cluster.js'
import { collectRepoFacts } from '../../src/maturity/collect/repo.js'
import { collectStoreFacts } from '../../src/maturity/collect/store.js'
import { FACTS, type FactValue } from '../../src/maturity/facts.js'
import { escapeHtml, renderAssessmentHtml } from '../../src/maturity/report/html.js'
import { renderAssessmentMarkdown } from '../../src/maturity/report/markdown.js'
import { cappedSources } from '../../src/maturity/report/parts.js'
import { openStore } from '../../src/store/connect.js'
import {
  answersYaml,
  fillGoodStore,
  fillPoorStore,
  loadLevel3,
  POOR_REPO,
  poorObjects,
  SCALE_REPO,
} from '../helpers/assess-estate.js'
import { tempFiles } from '../helpers/temp-files.js'

const { dir } = tempFiles('plimsoll-assess-evidence-')
const { criteria, errors } = loadCatalogue()
const ALL_FACTS = FACTS.map((f) => `${f.source}.${f.name}`)
/** The assessment's time: the stores' history ends before it. */
const NOW = new Date(Date.now() + 10 * 60_000)
const QUESTIONS = questionIds(criteria)
const EVIDENCED = criteria.filter((c) => c.judged !== 'self-reported')

interface Estate {
  facts: Map<string, FactValue>
  problems: string[]
}

async function collectEstate(
  repo: string,
  cp: ControlPlane,
  storeFile: string,
  name: string,
): Promise<Estate> {
  const kubeconfig = cp.kubeconfig(join(dir, `${name}.kubeconfig`))
  const store = await openStore(storeFile)
  try {
    const found = [
      await collectRepoFacts([repo]),
      await collectClusterFacts(new ApiClient(loadKubeConfig({ kubeconfig }))),
      await collectStoreFacts(store, { now: NOW }),
    ]
    return {
      facts: new Map(found.flatMap((f) => [...f.facts])),
      problems: found.flatMap((f) => [...f.problems]),
    }
  } finally {
    await store.close()
  }
}

function judge(estate: Estate, repo: string, name: string, answer?: 'yes' | 'no'): Assessment {
  const answers =
    answer === undefined
      ? undefined
      : parseAnswers(`${name}-answers.yaml`, answersYaml(QUESTIONS, answer), criteria)
  return assess(criteria, estate.facts, answers, {
    now: NOW,
    problems: estate.problems,
    inputs: {
      repositories: [repo],
      cluster: name,
      store: `${name}.db`,
      ...(answers
        ? {
            answers: {
              origin: answers.origin,
              answeredBy: answers.answeredBy,
              answeredAt: answers.answeredAt,
            },
          }
        : {}),
    },
  })
}

const byId = (a: Assessment) => new Map(a.criteria.map((c) => [c.id, c]))

/** A poor estate: how it is poor, what was collected of it, and how it was judged (answered no). */
interface PoorVariant {
  name: string
  estate: Estate
  assessment: Assessment
}

/** The criterion's part of the Markdown report: from its heading to the next heading. */
function markdownSection(markdown: string, id: string): string {
  const lines = markdown.split('\n')
  const at = lines.findIndex((l) => l.startsWith(`\`${id}\`, Level `))
  if (at < 0) return ''
  const end = lines.findIndex((l, i) => i > at && l.startsWith('#'))
  return lines.slice(at - 2, end < 0 ? undefined : end).join('\n')
}

/** The criterion's article of the HTML report. */
function htmlArticle(html: string, id: string): string {
  const start = html.indexOf(`<article class="criterion`, html.indexOf(`data-criterion="${id}"`) - 200)
  if (start < 0 || !html.slice(start).includes(`data-criterion="${id}"`)) return ''
  return html.slice(start, html.indexOf('</article>', start))
}

/** What a source names, by the collector that gave it. */
const SOURCE_SHAPES: Record<string, RegExp> = {
  // a file (with its line), or for a count of 0 the repository and how many of its files were looked at
  repo: new RegExp(`^${SCALE_REPO.replace(/[.]/g, '\\.')}(?:/\\S+|: none in [\\d,]+ files?)$`),
  // an object (`Kind namespace/name`, `Kind name`), an API served, or a share's count of objects; for
  // an empty list or no autoscaler, what was looked through
  cluster:
    /^(?:[a-z-]+: )?(?:[A-Z][A-Za-z]+ [a-z0-9-]+(?:\/[a-z0-9-]+)?(?: \(.+\))?|API \S+ [A-Z][A-Za-z]+ served|\d+ of \d+ .+)$|^cluster: no .+$/,
  store: /^store: [a-z_]+\b/,
}

describe('each criterion flips between met and not yet on evidence', () => {
  let level3: ControlPlane
  let poorCluster: ControlPlane
  let good: Estate
  let poor: Estate
  let poorNoUsage: Estate
  let goodAssessment: Assessment
  let poorAssessment: Assessment
  let poorVariants: PoorVariant[]

  beforeAll(async () => {
    expect(errors).toEqual([])
    ;[level3, poorCluster] = await Promise.all([startControlPlane(), startControlPlane()])
    await loadLevel3(level3, { consolidated: true })
    poorCluster.load(poorObjects(), { asCreated: true })
    const goodStore = join(dir, 'good.db')
    const poorStore = join(dir, 'poor.db')
    const poorNoUsageStore = join(dir, 'poor-no-usage.db')
    for (const [file, fill] of [
      [goodStore, fillGoodStore],
      [poorStore, fillPoorStore],
      [poorNoUsageStore, (store, end) => fillPoorStore(store, end, { usage: false })],
    ] as const satisfies readonly (readonly [string, typeof fillGoodStore])[]) {
      const store = await openStore(file)
      try {
        await fill(store, Date.now())
      } finally {
        await store.close()
      }
    }
    good = await collectEstate(SCALE_REPO, level3, goodStore, 'level3')
    poor = await collectEstate(POOR_REPO, poorCluster, poorStore, 'poor')
    poorNoUsage = await collectEstate(POOR_REPO, poorCluster, poorNoUsageStore, 'poor-no-usage')
    goodAssessment = judge(good, SCALE_REPO, 'level3', 'yes')
    poorAssessment = judge(poor, POOR_REPO, 'poor', 'no')
    poorVariants = [
      { name: 'poor estate', estate: poor, assessment: poorAssessment },
      {
        name: 'poor estate without usage snapshots',
        estate: poorNoUsage,
        assessment: judge(poorNoUsage, POOR_REPO, 'poor-no-usage', 'no'),
      },
    ]
  }, 120_000)

  afterAll(async () => {
    await Promise.all([level3?.stop(), poorCluster?.stop()])
  })

  it('knows every fact in the Level 3 and poor estates, and the collectors read everything', () => {
    expect(ALL_FACTS.filter((f) => !good.facts.has(f))).toEqual([])
    expect(ALL_FACTS.filter((f) => !poor.facts.has(f))).toEqual([])
    expect(good.problems).toEqual([])
    expect(poor.problems).toEqual([])
    // without usage snapshots: none counted (0, with where they were sought), the waste trend unknown
    expect(ALL_FACTS.filter((f) => !poorNoUsage.facts.has(f))).toEqual(['store.wasteTrend'])
    expect(poorNoUsage.facts.get('store.usageSnapshots')).toEqual({
      value: 0,
      sources: [expect.stringMatching(/^store: usage_snapshots, none taken since /)],
    })
    expect(poorNoUsage.problems).toEqual([
      expect.stringMatching(/^store\.wasteTrend unknown: no cluster with two usage snapshots since /),
    ])
  })

  it('every criterion judged from evidence is met in the Level 3 estate and not yet in a poor one', () => {
    expect(EVIDENCED.length).toBeGreaterThan(40)
    const goodById = byId(goodAssessment)
    const wrong: Record<string, string> = {}
    for (const c of EVIDENCED) {
      const g = goodById.get(c.id)!
      if (g.standing !== 'meets') wrong[`${c.id} (Level 3 estate)`] = `${g.standing}: ${g.why}`
      // judged only where every fact it reads is known: an unknown fact would make it unknown
      const judged = poorVariants
        .filter((v) => c.facts.every((f) => v.estate.facts.has(f)))
        .map((v) => ({ name: v.name, result: byId(v.assessment).get(c.id)! }))
      if (judged.length === 0) {
        wrong[c.id] = `no poor estate knows all of ${c.facts.join(', ')}`
        continue
      }
      for (const { name, result } of judged)
        if (result.standing === 'meets') wrong[`${c.id} (${name})`] = `meets: ${result.why}`
      if (!judged.some(({ result }) => result.standing === 'not-yet'))
        wrong[`${c.id} (every poor estate)`] = judged
          .map(({ name, result }) => `${name}: ${result.standing}: ${result.why}`)
          .join('; ')
    }
    expect(wrong).toEqual({})
  })

  it('the poor estate is not yet on every criterion but those its usage snapshots show part of', () => {
    // A poor estate that records usage is partly there where the criterion asks for usage data; any
    // other criterion the poor estate does not meet is not yet there.
    const notNotYet = poorAssessment.criteria
      .filter((r) => r.judged !== 'self-reported' && r.standing !== 'not-yet')
      .map((r) => ({ id: r.id, standing: r.standing, facts: r.evidence.map((e) => e.fact) }))
    expect(
      notNotYet.filter((r) => r.standing !== 'partly' || !r.facts.includes('store.usageSnapshots')),
    ).toEqual([])
    const withoutUsage = byId(poorVariants[1]!.assessment)
    for (const r of notNotYet) expect(withoutUsage.get(r.id)!.standing, r.id).toBe('not-yet')
  })

  it('the evidence decides too: answered yes, no poor estate meets any of the criteria judged partly', () => {
    const partly = criteria.filter((c) => c.judged === 'partly')
    expect(partly.length).toBeGreaterThan(10)
    const wrong: Record<string, string> = {}
    for (const v of poorVariants) {
      const answeredYes = byId(judge(v.estate, POOR_REPO, v.name.replace(/\W+/g, '-'), 'yes'))
      for (const c of partly) {
        if (!c.facts.every((f) => v.estate.facts.has(f))) continue
        const r = answeredYes.get(c.id)!
        if (r.standing !== 'partly' || !r.why.includes('the evidence does not bear it out'))
          wrong[`${c.id} (${v.name})`] = `${r.standing}: ${r.why}`
      }
    }
    expect(wrong).toEqual({})
  })

  it('the self-reported criteria follow the answers: met on yes, not yet on no', () => {
    for (const c of criteria.filter((c) => c.judged === 'self-reported')) {
      expect(byId(goodAssessment).get(c.id)!.standing, c.id).toBe('meets')
      expect(byId(poorAssessment).get(c.id)!.standing, c.id).toBe('not-yet')
    }
    expect(goodAssessment.level3.standing).toBe('meets')
  })

  it('the Markdown report cites, under each criterion, where each fact it read was seen', () => {
    const markdown = renderAssessmentMarkdown(goodAssessment)
    const missing: string[] = []
    for (const c of EVIDENCED) {
      const section = markdownSection(markdown, c.id)
      if (section === '') {
        missing.push(`${c.id}: not in the report`)
        continue
      }
      for (const e of byId(goodAssessment).get(c.id)!.evidence) {
        if (!section.includes(`\`${e.fact}\``)) missing.push(`${c.id}: ${e.fact} not shown`)
        const shown = cappedSources(e.sources).shown
        if (shown.length === 0) {
          missing.push(`${c.id}: ${e.fact} has no source to cite (value ${JSON.stringify(e.value)})`)
          continue
        }
        const source = e.fact.split('.')[0]!
        for (const s of shown) expect(s, `${c.id} ${e.fact}`).toMatch(SOURCE_SHAPES[source]!)
        if (!shown.some((s) => section.includes(s.replace(/\s+/g, ' '))))
          missing.push(`${c.id}: no source of ${e.fact} cited`)
      }
    }
    expect(missing).toEqual([])
  })

  it('the HTML report cites them too (a sample: one criterion per collector, and one of all three)', () => {
    const html = renderAssessmentHtml(goodAssessment)
    const sample = [
      'l3-technology-alerting-dashboards', // repo
      'l3-technology-probes', // cluster
      'l3-process-continuous-scanning', // store
      'l3-technology-resource-requests', // cluster and store
      'l3-process-audit-alerts', // store and repo, with an answer
    ]
    for (const id of sample) {
      const article = htmlArticle(html, id)
      expect(article, id).toContain('data-standing="meets"')
      const c = byId(goodAssessment).get(id)!
      expect(c.evidence.length, id).toBeGreaterThan(0)
      for (const e of c.evidence) {
        expect(article, `${id} ${e.fact}`).toContain(escapeHtml(e.fact))
        expect(article, `${id} ${e.fact}`).toContain(escapeHtml(e.sources[0]!))
      }
    }
  })

  describe('without a questionnaire', () => {
    let unanswered: Assessment
    beforeAll(() => {
      unanswered = judge(good, SCALE_REPO, 'level3')
    })

    it('shows every self-reported criterion as unknown and no criterion judged partly as met', () => {
      const standings = (judged: CriterionResult['judged']) =>
        unanswered.criteria.filter((c) => c.judged === judged).map((c) => [c.id, c.standing])
      const selfReported = standings('self-reported')
      expect(selfReported.length).toBeGreaterThan(10)
      expect(selfReported.filter(([, s]) => s !== 'unknown')).toEqual([])
      const partly = standings('partly')
      expect(partly.length).toBeGreaterThan(10)
      expect(partly.filter(([, s]) => s === 'meets')).toEqual([])
      // the evidence is all there: what is left is the question
      expect(partly.filter(([, s]) => s !== 'partly')).toEqual([])
      // automatic criteria stand on the evidence alone, as with answers
      for (const c of unanswered.criteria.filter((c) => c.judged === 'automatic'))
        expect(c.standing, c.id).toBe('meets')
      expect(unanswered.inputs.answers).toBeUndefined()
    })

    it('the reports say so: each self-reported criterion unknown and unanswered, none met', () => {
      const markdown = renderAssessmentMarkdown(unanswered)
      const html = renderAssessmentHtml(unanswered)
      expect(markdown).toContain('Answers: none: what only the questionnaire can tell is unknown')
      const unknownSection = markdown.slice(markdown.indexOf('### Unknown criteria'))
      for (const c of unanswered.criteria) {
        if (c.judged === 'automatic') continue
        const question = c.question!
        if (c.level === 3) {
          const section = markdownSection(markdown, c.id)
          const marker = c.judged === 'self-reported' ? '[unknown]' : '[partly]'
          expect(section.split('\n')[0], c.id).toContain(marker)
          expect(section, c.id).toContain(`Unanswered (question \`${question.id}\`)`)
          expect(section.split('\n')[0], c.id).not.toContain('[met]')
          expect(htmlArticle(html, c.id), c.id).toContain(
            c.judged === 'self-reported' ? 'data-standing="unknown"' : 'data-standing="partly"',
          )
        }
        if (c.judged === 'self-reported') expect(unknownSection, c.id).toContain(`\`${c.id}\``)
      }
      // no answer is shown as given
      expect(markdown).not.toMatch(/Answer, self-reported/)
    })
  })
})
