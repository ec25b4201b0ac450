/**
 * `plimsoll assess` end to end: the built CLI (bin/plimsoll.js over dist; `npm test` builds first) on
 * the Level 3 estate of test/helpers/assess-estate.ts (repo-scale, a Level 3 cluster on the local
 * control plane, a store with good history, every question answered yes): the JSON's inputs and
 * standings, the assessment recorded in the store (and not with --no-record), HTML and Markdown on
 * stdout; an answers file with a mistake (exit 2, its file:line and field); the questionnaire written
 * by `assess questions`, filled in and read back; a repository that is not there (said in the report,
 * exit 0); no inputs at all (everything unknown, a warning); and the store on PostgreSQL.
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { load } from 'js-yaml'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type ControlPlane, startControlPlane } from '../../src/control-plane/server.js'
import { questionIds } from '../../src/maturity/answers.js'
import type { Assessment } from '../../src/maturity/assess.js'
import { loadCatalogue } from '../../src/maturity/catalogue.js'
import { listAssessments } from '../../src/store/assessments.js'
import { openStore } from '../../src/store/connect.js'
import { answersYaml, fillGoodStore, loadLevel3, SCALE_REPO } from '../helpers/assess-estate.js'
import { runAsync as run } from '../helpers/cli.js'
import { freshDatabase } from '../helpers/postgres.js'
import { tempFiles } from '../helpers/temp-files.js'

const { dir, file } = tempFiles('plimsoll-cli-assess-')
const { criteria } = loadCatalogue()

/** The CLI in its own process, asynchronously: a user's run. */

async function fill(location: string): Promise<void> {
  const store = await openStore(location)
  try {
    await fillGoodStore(store, Date.now() - 60_000)
  } finally {
    await store.close()
  }
}

async function recorded(location: string): Promise<number> {
  const store = await openStore(location)
  try {
    return (await listAssessments(store)).length
  } finally {
    await store.close()
  }
}

const readJson = (path: string) => JSON.parse(readFileSync(path, 'utf8')) as Assessment
const standings = (a: Assessment) => new Set(a.criteria.map((c) => c.standing))

describe('plimsoll assess', () => {
  let cp: ControlPlane
  let kubeconfig: string
  let context: string
  let sqlite: string
  let answers: string

  beforeAll(async () => {
    cp = await startControlPlane()
    await loadLevel3(cp, { consolidated: true })
    kubeconfig = cp.kubeconfig(join(dir, 'level3.kubeconfig'))
    context = (load(readFileSync(kubeconfig, 'utf8')) as { 'current-context': string })['current-context']
    sqlite = join(dir, 'plimsoll.db')
    await fill(sqlite)
    answers = file('answers.yaml', answersYaml(questionIds(criteria), 'yes'))
  }, 120_000)

  afterAll(async () => {
    await cp?.stop()
  })

  const estate = (store: string) => [
    '--repo',
    SCALE_REPO,
    '--kubeconfig',
    kubeconfig,
    '--store',
    store,
    '--answers',
    answers,
  ]

  it('judges the estate into a JSON file, and records the assessment in the store', async () => {
    const out = join(dir, 'out.json')
    const r = await run(['assess', ...estate(sqlite), '-f', 'json', '-o', out])
    expect(r.stderr).toContain(`recorded as assessment 1 in ${sqlite}`)
    expect(r.code).toBe(0)
    expect(r.stdout).toBe('')
    const a = readJson(out)
    expect(a.inputs).toEqual({
      repositories: [SCALE_REPO],
      cluster: context,
      store: sqlite,
      answers: { origin: answers, answeredBy: 'Platform team', answeredAt: '2026-12-01' },
    })
    expect(a.problems).toEqual([])
    expect(a.criteria.map((c) => c.id)).toEqual(criteria.map((c) => c.id))
    expect(standings(a)).toEqual(new Set(['meets']))
    expect(a.level3.standing).toBe('meets')
    expect(a.foundations).toEqual([])
    expect(a.gaps).toEqual([])
    expect(a.next).toEqual([])
    // the evidence is the collectors': a file of the repository, an object of the cluster, the store
    const sources = a.criteria.flatMap((c) => c.evidence.flatMap((e) => e.sources))
    expect(sources).toContain(`${SCALE_REPO}/monitoring/prometheusrule.yaml:1`)
    expect(sources).toContain('plimsoll: ValidatingWebhookConfiguration plimsoll')
    expect(sources.some((s) => s.startsWith('store: runs (source ci), 22 days'))).toBe(true)
    const answered = a.criteria.find((c) => c.id === 'l3-people-platform-team')!
    expect(answered.answer).toMatchObject({ value: 'yes', selfReported: true, answeredBy: 'Platform team' })

    expect(await recorded(sqlite)).toBe(1)
    const again = await run(['assess', ...estate(sqlite), '-f', 'json', '-o', out, '--no-record'])
    expect(again.code).toBe(0)
    expect(again.stderr).not.toContain('recorded')
    expect(await recorded(sqlite)).toBe(1)
  })

  it('prints HTML and Markdown to stdout', async () => {
    const html = await run(['assess', ...estate(sqlite), '--no-record', '-f', 'html'])
    expect(html.code).toBe(0)
    expect(html.stdout).toMatch(/^<!doctype html>/i)
    expect(html.stdout).toContain('data-criterion="l3-technology-probes" data-standing="meets"')
    expect(html.stdout).toContain('</html>')
    const md = await run(['assess', ...estate(sqlite), '--no-record', '-f', 'markdown'])
    expect(md.code).toBe(0)
    expect(md.stdout).toMatch(/^# Cloud Native Maturity Model: Level 3 \(Scale\) assessment\n/)
    expect(md.stdout).toContain('## Level 3: [met] met, score 100%')
    expect(md.stdout).toContain(`\`${SCALE_REPO}/monitoring/prometheusrule.yaml:1\``)
    expect(md.stdout).not.toContain('<')
    // the default format is Markdown
    const plain = await run(['assess', '--repo', SCALE_REPO])
    expect(plain.code).toBe(0)
    expect(plain.stdout).toMatch(/^# Cloud Native Maturity Model/)
  })

  it('refuses an answers file with a mistake: exit 2, naming its file, line and field', async () => {
    const broken = file(
      'broken-answers.yaml',
      ['answeredBy: Platform team', 'answeredAt: 2026-12-01', 'answers:', '  platform-team: maybe', ''].join(
        '\n',
      ),
    )
    const r = await run(['assess', '--repo', SCALE_REPO, '--answers', broken, '-f', 'json'])
    expect(r.code).toBe(2)
    expect(r.stdout).toBe('')
    expect(r.stderr).toContain(`${broken}:4`)
    expect(r.stderr).toContain('platform-team')
    expect(r.stderr).toContain('expected yes, partly or no')

    const typo = file(
      'typo-answers.yaml',
      ['answeredBy: Platform team', 'answeredAt: 2026-12-01', 'answers:', '  platfrom-team: yes', ''].join(
        '\n',
      ),
    )
    const t = await run(['assess', '--answers', typo])
    expect(t.code).toBe(2)
    expect(t.stderr).toContain(`${typo}:4`)
    expect(t.stderr).toContain("no criterion asks a question 'platfrom-team'")
  })

  it('writes the questionnaire, which once filled in reads back with --answers', async () => {
    const q = join(dir, 'questions', 'q.yaml')
    const w = await run(['assess', 'questions', '-o', q])
    expect(w.code).toBe(0)
    expect(w.stdout).toBe('')
    const written = readFileSync(q, 'utf8')
    // every question, commented out: as written, nothing is answered
    for (const id of questionIds(criteria)) expect(written).toContain(`  # ${id}: yes\n`)
    const filled = written
      .replace(/^answeredBy: "".*$/m, 'answeredBy: Platform team')
      .replace(/^ {2}# ([a-z0-9-]+): yes$/gm, '  $1: yes')
    writeFileSync(q, filled)
    const out = join(dir, 'round-trip.json')
    const r = await run(['assess', '--answers', q, '-f', 'json', '-o', out])
    expect(r.stderr).not.toContain(q)
    expect(r.code).toBe(0)
    const a = readJson(out)
    expect(a.inputs.answers).toMatchObject({ origin: q, answeredBy: 'Platform team' })
    for (const c of a.criteria) {
      if (c.judged === 'automatic') continue
      expect(c.answer?.value, c.id).toBe('yes')
      if (c.judged === 'self-reported') expect(c.standing, c.id).toBe('meets')
    }
  })

  it('a repository that is not there: still an assessment, with the problem in the report', async () => {
    const missing = join(dir, 'no-such-repo')
    const out = join(dir, 'missing.json')
    const r = await run(['assess', '--repo', missing, '-f', 'json', '-o', out])
    expect(r.code).toBe(0)
    const a = readJson(out)
    expect(a.problems).toEqual([`repository ${missing}: no such directory`])
    expect(a.inputs.repositories).toEqual([missing])
    expect(standings(a)).toEqual(new Set(['unknown']))
    const md = await run(['assess', '--repo', missing])
    expect(md.code).toBe(0)
    expect(md.stdout).toContain(`repository ${missing}: no such directory`)
  })

  it('no inputs at all: every criterion unknown, and a warning', async () => {
    const out = join(dir, 'nothing.json')
    const r = await run(['assess', '-f', 'json', '-o', out])
    expect(r.code).toBe(0)
    expect(r.stderr).toContain(
      'plimsoll assess: no --repo, cluster, --store or --answers: every criterion will be unknown',
    )
    const a = readJson(out)
    expect(a.inputs).toEqual({ repositories: [] })
    expect(standings(a)).toEqual(new Set(['unknown']))
    expect(a.level3).toMatchObject({ standing: 'unknown', meets: 0, unknown: a.level3.total })
  })

  it('reads and records a store on PostgreSQL', async () => {
    const url = await freshDatabase('assess_cli')
    await fill(url)
    const out = join(dir, 'postgres.json')
    const r = await run(['assess', ...estate(url), '-f', 'json', '-o', out])
    expect(r.code).toBe(0)
    const a = readJson(out)
    // the store named without its credentials
    const shown = new URL(url)
    expect(a.inputs.store).toContain(`${shown.host}${shown.pathname}`)
    expect(a.inputs.store).not.toContain(shown.password || '\u0000')
    expect(a.problems).toEqual([])
    expect(standings(a)).toEqual(new Set(['meets']))
    expect(await recorded(url)).toBe(1)
    const again = await run(['assess', ...estate(url), '-f', 'json', '-o', out, '--no-record'])
    expect(again.code).toBe(0)
    expect(await recorded(url)).toBe(1)
  })
})
