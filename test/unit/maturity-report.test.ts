/**
 * The assessment reports (src/maturity/report/): JSON, Markdown and HTML of Assessments judged by the
 * real assess() over the built-in catalogue, one with nothing read and one from a rich set of facts and
 * answers (test/helpers/maturity-assessments.ts).
 */
import { describe, expect, it } from 'vitest'
import type { Assessment, CriterionResult } from '../../src/maturity/assess.js'
import { ASPECTS } from '../../src/maturity/catalogue.js'
import { escapeHtml, renderAssessmentHtml } from '../../src/maturity/report/html.js'
import { renderAssessmentJson } from '../../src/maturity/report/json.js'
import { renderAssessmentMarkdown, wrap } from '../../src/maturity/report/markdown.js'
import { ASPECT_TITLES, oneLine, STANDING_LABELS, whyText } from '../../src/maturity/report/parts.js'
import {
  catalogue,
  celErrorAssessment,
  emptyAssessment,
  HOSTILE_NOTE,
  HOSTILE_SOURCE,
  POLICY_CHECK_SOURCES,
  richAssessment,
} from '../helpers/maturity-assessments.js'

const empty = emptyAssessment()
const rich = richAssessment()
const celError = celErrorAssessment()

const level3 = (a: Assessment) => a.criteria.filter((c) => c.level === 3)
const byId = (a: Assessment, id: string): CriterionResult => a.criteria.find((c) => c.id === id)!

/** The report's `## ` sections by heading. */
function sections(markdown: string): Map<string, string> {
  const out = new Map<string, string>()
  for (const part of markdown.split(/^(?=## )/m).slice(1)) out.set(part.slice(0, part.indexOf('\n')), part)
  return out
}

function aspectSection(markdown: string, aspect: (typeof ASPECTS)[number]): string {
  const found = [...sections(markdown)].filter(([h]) => h.startsWith(`## ${ASPECT_TITLES[aspect]}: `))
  expect(found.length, aspect).toBe(1)
  return found[0]![1]
}

interface MarkdownEntry {
  readonly id: string
  /** the `## ` section it is in */
  readonly section: string
  readonly heading: string
  readonly block: string
}

/**
 * The criteria's entries in a Markdown report: each `### ` block that names a criterion on a line of
 * its own (`` `id`, Level N, ... ``). The unknowns' summary list is not one.
 */
function markdownEntries(markdown: string): MarkdownEntry[] {
  const out: MarkdownEntry[] = []
  for (const [section, text] of sections(markdown))
    for (const block of text.split(/^(?=### )/m).slice(1)) {
      const m = /^`([^`]+)`, Level [234], /m.exec(block)
      if (m) out.push({ id: m[1]!, section, heading: block.slice(0, block.indexOf('\n')), block })
    }
  return out
}

/** The section a criterion's entry belongs in. */
function expectedSection(a: Assessment, c: CriterionResult): string {
  if (c.level === 3) return `## ${ASPECT_TITLES[c.aspect]}: `
  if (c.level === 2) return '## Foundations (Level 2)'
  return a.next.includes(c.id) ? '## What is next (Level 4)' : '## Already at Level 4'
}

const catalogueIds = catalogue.criteria.map((c) => c.id).sort()
const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')

/** Blockquotes and wrapped lines joined again, so that a wrapped sentence can be looked for. */
const unwrapped = (text: string) =>
  text
    .replace(/\n> /g, ' ')
    .replace(/\n {2}(?!- )/g, ' ')
    .replace(/\n(?=\S)/g, ' ')
const oneSpace = (s: string) => s.replace(/\s+/g, ' ')

describe('the assessments the reports are tested on', () => {
  it('are all unknown with nothing read, and a mix with the rich facts and answers', () => {
    expect(new Set(empty.criteria.map((c) => c.standing))).toEqual(new Set(['unknown']))
    expect(empty.level3.standing).toBe('unknown')
    const standings = level3(rich).map((c) => c.standing)
    for (const s of ['meets', 'partly', 'not-yet', 'unknown'] as const) expect(standings).toContain(s)
    expect(rich.next.length).toBeGreaterThan(3)
  })
})

describe('renderAssessmentJson', () => {
  it('round-trips the assessment, version first, indented by 2 with a trailing newline', () => {
    for (const a of [empty, rich]) {
      const text = renderAssessmentJson(a)
      expect(JSON.parse(text)).toEqual(a)
      expect(text.startsWith('{\n  "version": 1,\n')).toBe(true)
      expect(text.endsWith('}\n')).toBe(true)
      expect(renderAssessmentJson(JSON.parse(text))).toBe(text)
    }
  })
})

describe('renderAssessmentMarkdown', () => {
  const md = renderAssessmentMarkdown(rich)
  const nothing = renderAssessmentMarkdown(empty)

  it('with nothing read: every criterion unknown, nothing met, the level unknown', () => {
    expect(nothing).not.toContain('[met]')
    expect(nothing).not.toContain('[partly]')
    expect(nothing).not.toContain('[not yet]')
    expect(nothing).toMatch(/^## Level 3: \[unknown\] unknown, score 0%$/m)
    expect(nothing).toContain('- Answers: none: what only the questionnaire can tell is unknown')
    const unknowns = sections(nothing).get('## What this assessment could not see')!
    expect(unknowns).toContain(`### Unknown criteria (${empty.criteria.length})`)
    for (const c of empty.criteria) expect(unknowns, c.id).toContain(`\`${c.id}\``)
    // why each is unknown: the inputs not read, the questions not answered
    expect(unwrapped(unknowns)).toContain('no repository was read (--repo)')
    expect(unwrapped(unknowns)).toContain("the questionnaire's question platform-team is unanswered")
  })

  it('gives the inputs, the Level 3 standing and score, and a table of the aspects', () => {
    expect(
      md.startsWith(
        '# Cloud Native Maturity Model: Level 3 (Scale) assessment\n\nTaken 2026-12-01 09:30 UTC.',
      ),
    ).toBe(true)
    expect(md).toContain('- Repositories: `./infra`, `./apps`')
    expect(md).toContain('- Cluster: prod-eu')
    expect(md).toContain('- Store: `plimsoll.db`')
    expect(md).toContain('- Answers: `answers.yaml`, self-reported by Platform team on 2026-11-20')
    const l3 = rich.level3
    expect(md).toContain(
      `## Level 3: [${STANDING_LABELS[l3.standing]}] ${STANDING_LABELS[l3.standing]}, score ${Math.round(l3.score * 100)}%`,
    )
    for (const r of rich.aspects)
      expect(md).toContain(
        `| ${ASPECT_TITLES[r.aspect]} | [${STANDING_LABELS[r.standing]}] | ${Math.round(r.score * 100)}% | ${r.meets} | ${r.partly} | ${r.notYet} | ${r.unknown} |`,
      )
  })

  it('names every Level 3 criterion exactly once, under its aspect, with its standing, quote and why', () => {
    for (const aspect of ASPECTS) {
      const section = aspectSection(md, aspect)
      const headings = section.split('\n').filter((l) => l.startsWith('### '))
      const mine = level3(rich).filter((c) => c.aspect === aspect)
      expect(headings).toEqual(mine.map((c) => `### [${STANDING_LABELS[c.standing]}] ${c.title}`))
      const flat = oneSpace(unwrapped(section))
      for (const c of mine) {
        expect(flat, c.id).toContain(`"${oneSpace(c.quote.text)}" -- ${c.quote.page}`)
        expect(
          section.split('\n').filter((l) => l.startsWith('`') && l.includes(`\`${c.id}\``)),
        ).toHaveLength(1)
      }
    }
    for (const c of level3(rich)) {
      const headed = md.split('\n').filter((l) => l === `### [${STANDING_LABELS[c.standing]}] ${c.title}`)
      expect(headed, c.id).toHaveLength(1)
    }
  })

  it('cites each fact with its value and at most 5 sources, then "and N more"', () => {
    const policy = aspectSection(md, 'technology')
    const checks = byId(rich, 'l3-technology-policy-as-code-guardrails')
    expect(checks.evidence.map((e) => e.fact)).toContain('repo.ciPolicyChecks')
    expect(policy).toContain('**8** (`repo.ciPolicyChecks`)')
    for (const s of POLICY_CHECK_SOURCES.slice(0, 5)) expect(policy).toContain(`  - \`${s}\``)
    expect(policy).toContain('  - and 3 more')
    for (const s of POLICY_CHECK_SOURCES.slice(5)) expect(md).not.toContain(s)
    // shares as percentages, lists by name, trends signed
    expect(unwrapped(md)).toContain('**85%** (`cluster.requestsLimitsShare`)')
    expect(unwrapped(md)).toContain('**plimsoll, kyverno** (`cluster.admissionEngines`)')
    expect(unwrapped(md)).toContain('**-0.15** (`store.findingsTrend`)')
    expect(md).toContain(`  - \`${HOSTILE_SOURCE}\``)
  })

  it('marks answers self-reported, with who and when, and says which questions are unanswered', () => {
    const people = unwrapped(aspectSection(md, 'people'))
    expect(people).toContain('Answer, self-reported by Platform team on 2026-11-20: **yes**.')
    expect(people).toContain('Answer, self-reported by Platform team on 2026-11-20: **no**.')
    const gate = byId(rich, 'l3-process-approval-gate')
    expect(gate.answer?.answeredAt).toBe('2026-11-21')
    const process = unwrapped(aspectSection(md, 'process'))
    expect(process).toContain('Answer, self-reported by Platform team on 2026-11-21: **partly**.')
    // the note is input: its markup is escaped
    expect(process).toContain('Note: prod deploys need a \\<b\\>change ticket\\</b\\> & staging does not')
    expect(md).not.toContain(HOSTILE_NOTE)
    expect(unwrapped(aspectSection(md, 'business-outcomes'))).toContain(
      'Unanswered (question `early-training`):',
    )
  })

  it('gives the advice for gaps only, and lists the Level 2 foundations not met, then those met', () => {
    for (const c of level3(rich)) {
      const section = aspectSection(md, c.aspect)
      const start = section.indexOf(`### [${STANDING_LABELS[c.standing]}] ${c.title}\n`)
      const end = section.indexOf('\n### ', start + 1)
      const block = unwrapped(section.slice(start, end === -1 ? undefined : end))
      const gap = c.standing === 'partly' || c.standing === 'not-yet'
      expect(block.includes(`To get there: ${oneSpace(c.advice)}`), c.id).toBe(gap)
    }
    const foundations = markdownEntries(md).filter((e) => e.section === '## Foundations (Level 2)')
    expect(rich.foundations.length).toBeGreaterThan(0)
    const met = rich.criteria.filter((c) => c.level === 2 && c.standing === 'meets')
    expect(met.length).toBeGreaterThan(0)
    // those not met first, in full with the advice; then those met, compact: no quote, no advice
    expect(foundations.map((e) => e.id)).toEqual([...rich.foundations, ...met.map((c) => c.id)])
    for (const e of foundations) {
      const c = byId(rich, e.id)
      const full = rich.foundations.includes(c.id)
      expect(e.heading, c.id).toBe(
        `### ${ASPECT_TITLES[c.aspect]}: [${STANDING_LABELS[c.standing]}] ${c.title}`,
      )
      expect(unwrapped(e.block).includes(`To get there: ${oneSpace(c.advice)}`), c.id).toBe(full)
      expect(e.block.includes('\n> "'), c.id).toBe(full)
      expect(oneSpace(unwrapped(e.block)), c.id).toContain(`Why: ${oneSpace(c.why)}.`)
    }
    const section = sections(md).get('## Foundations (Level 2)')!
    expect(unwrapped(section)).toContain(
      `Level 3 builds on ${rich.foundations.length + met.length} Level 2 criteria. The ${rich.foundations.length} not met`,
    )
    expect(section).toContain(`Met (${met.length}): the evidence, or an answer, shows them.`)
    // the evidence a met foundation rests on, with its sources
    const helm = foundations.find((e) => e.id === 'l2-technology-helm-kustomize')!
    expect(byId(rich, helm.id).standing).toBe('meets')
    expect(helm.block).toContain('(`repo.helmCharts`)')
    expect(helm.block).toContain('  - `charts/api/Chart.yaml`')
    expect(helm.block).toContain('  - `deploy/kustomization.yaml`')
  })

  it('orders what is next as the assessment does, each with its effort, value and advice', () => {
    const next = sections(md).get('## What is next (Level 4)')!
    const headings = next.split('\n').filter((l) => /^### \d+\. /.test(l))
    expect(headings).toEqual(
      rich.next.map((id, i) => {
        const c = byId(rich, id)
        return `### ${i + 1}. [${STANDING_LABELS[c.standing]}] ${c.title}`
      }),
    )
    for (const id of rich.next) {
      const c = byId(rich, id)
      expect(next).toContain(`Effort ${c.next!.effort}, value ${c.next!.value}.`)
      expect(unwrapped(next)).toContain(oneSpace(c.advice))
    }
  })

  it('lists the Level 4 criteria already met, compact, with their evidence', () => {
    const section = sections(md).get('## Already at Level 4')!
    const met = rich.criteria.filter((c) => c.level === 4 && c.standing === 'meets')
    expect(met.length).toBeGreaterThan(0)
    const entries = markdownEntries(md).filter((e) => e.section === '## Already at Level 4')
    expect(entries.map((e) => e.id)).toEqual(met.map((c) => c.id))
    for (const e of entries) {
      const c = byId(rich, e.id)
      expect(e.heading).toBe(`### ${ASPECT_TITLES[c.aspect]}: [met] ${c.title}`)
      expect(e.block).not.toContain('To get there:')
      expect(e.block).not.toContain('Effort ')
      expect(oneSpace(unwrapped(e.block))).toContain(`Why: ${c.why}.`)
      expect(c.evidence.length).toBeGreaterThan(0)
      for (const f of c.evidence) expect(e.block).toContain(`  - \`${f.sources[0]}\``)
    }
    expect(unwrapped(section)).toContain(
      `${met.length === 1 ? 'This Level 4 criterion is' : `These ${met.length} Level 4 criteria are`} met already`,
    )
    expect(renderAssessmentMarkdown(empty)).toContain(
      '## Already at Level 4\n\nNo Level 4 criterion is met yet.',
    )
  })

  it('gives every criterion of the catalogue exactly one entry, in its section, citing its evidence', () => {
    for (const a of [rich, empty]) {
      const entries = markdownEntries(renderAssessmentMarkdown(a))
      expect(entries.map((e) => e.id).sort()).toEqual(catalogueIds)
      for (const e of entries) {
        const c = byId(a, e.id)
        expect(e.section.startsWith(expectedSection(a, c)), `${c.id} in ${e.section}`).toBe(true)
        expect(e.heading, c.id).toMatch(
          new RegExp(`\\[${STANDING_LABELS[c.standing]}\\] ${escapeRegExp(c.title)}$`),
        )
        expect(oneSpace(unwrapped(e.block)), c.id).toContain('Why: ')
        for (const f of c.evidence) {
          expect(e.block, `${c.id} ${f.fact}`).toContain(`(\`${f.fact}\`)`)
          if (f.sources.length > 0)
            expect(e.block, `${c.id} ${f.fact}`).toContain(`  - \`${f.sources[0]!.replace(/\s+/g, ' ')}\``)
        }
        for (const f of c.unknownFacts) expect(e.block, `${c.id} ${f}`).toContain(`- \`${f}\`: not known`)
      }
    }
    // the met ones too, at every level
    const met = markdownEntries(md).filter((e) => byId(rich, e.id).standing === 'meets')
    expect(new Set(met.map((e) => byId(rich, e.id).level))).toEqual(new Set([2, 3, 4]))
  })

  it('puts a why of several lines (a CEL runtime error) on one line', () => {
    const c = celError.criteria[0]!
    expect(c.standing).toBe('unknown')
    expect(c.why).toContain('\n')
    expect(c.why).toMatch(/^its condition failed on this evidence: .*index out of bounds/)
    const text = renderAssessmentMarkdown(celError)
    const [entry] = markdownEntries(text)
    const why = entry!.block.split('\n\n').find((p) => p.startsWith('Why: '))!
    // one paragraph, the code frame's source kept, the caret gone
    expect(oneSpace(why)).toBe(
      "Why: its condition failed on this evidence: No such key: index out of bounds, index 3 \\>= size 1 (in: cluster.monitoring\\[3\\] == 'alertmanager').",
    )
    const unknown = sections(text).get('## What this assessment could not see')!
    expect(oneSpace(unwrapped(unknown))).toContain("(in: cluster.monitoring\\[3\\] == 'alertmanager').")
    expect(text).not.toMatch(/^\s*\^\s*$/m)
    expect(text).not.toMatch(/^\S.*\|\s*cluster\.monitoring/m)
    expect(text.split('\n').filter((l) => l.length > 100)).toEqual([])
    expect(oneLine('a\n\n>    1 | x[3]\n         ^')).toBe('a (in: x[3])')
    expect(oneLine('plain')).toBe('plain')
    expect(oneLine('two\nlines ')).toBe('two lines')
    // the HTML report too
    const html = renderAssessmentHtml(celError)
    expect(html).toContain(`<p class="why"><strong>Why:</strong> ${escapeHtml(whyText(c))}.</p>`)
    expect(whyText(c)).not.toContain('\n')
  })

  it('lists the problems and every unknown criterion with why', () => {
    const unseen = sections(md).get('## What this assessment could not see')!
    expect(unseen).toContain(
      '- cluster: listing poddisruptionbudgets in namespace \\<kube-system\\> was refused (403)',
    )
    const unknown = rich.criteria.filter((c) => c.standing === 'unknown')
    expect(unseen).toContain(`### Unknown criteria (${unknown.length})`)
    const flat = oneSpace(unwrapped(unseen))
    for (const c of unknown)
      expect(flat, c.id).toContain(`[unknown] ${c.title} (\`${c.id}\`, Level ${c.level}`)
    expect(flat).toContain('not known: store.wasteTrend (the store had nothing to measure store.* on')
  })

  it('reads as plain text in a terminal: no ANSI escapes, no HTML, short lines', () => {
    for (const text of [md, nothing]) {
      expect(text.includes('\u001b')).toBe(false)
      // outside code spans (a source is shown as it is, in one)
      expect(text.replace(/`[^`\n]*`/g, '')).not.toMatch(/(?<!\\)<[a-z/][^>]*>/i)
      const long = text
        .split('\n')
        .filter((l) => l.length > 120 && !l.startsWith('|') && !/https?:\/\//.test(l))
      expect(long).toEqual([])
      expect(text.endsWith('\n')).toBe(true)
      expect(text).not.toMatch(/\n\n\n/)
    }
  })

  it('wraps prose without starting a line with list or quote markup', () => {
    expect(wrap('aaaa bbbb cccc', '', '', 9)).toEqual(['aaaa bbbb', 'cccc'])
    expect(wrap('aaaa bbbb - cccc', '', '', 9)).toEqual(['aaaa bbbb -', 'cccc'])
    expect(wrap('text', '- ', '  ')).toEqual(['- text'])
  })
})

describe('renderAssessmentHtml', () => {
  const html = renderAssessmentHtml(rich)

  it('escapes what came from the input', () => {
    expect(html).not.toContain('<script>')
    expect(html).toContain('charts/&lt;script&gt;alert(1)&lt;/script&gt;/values.yaml &amp; co')
    expect(html).toContain('prod deploys need a &lt;b&gt;change ticket&lt;/b&gt; &amp; staging does not')
    expect(html).toContain('namespace &lt;kube-system&gt; was refused')
    expect(html).not.toContain(HOSTILE_NOTE)
  })

  it('is one self-contained file: inline CSS, no scripts, nothing fetched', () => {
    expect(html.startsWith('<!doctype html>')).toBe(true)
    expect(html).not.toMatch(/<script|<link|<img|@import|url\(|src=/i)
    expect(html).toContain('@page { size: A4;')
  })

  it('has a cover, a page per aspect, the foundations, the next steps and the unknowns, each a printed page', () => {
    expect(html.match(/<section class="page /g)).toHaveLength(9)
    for (const aspect of ASPECTS) expect(html).toContain(`<section class="page aspect" id="aspect-${aspect}"`)
    expect(html).toContain('.page + .page { break-before: page; }')
    expect(html.indexOf('id="summary"')).toBeLessThan(html.indexOf('id="aspect-business-outcomes"'))
    expect(html.indexOf('id="aspect-technology"')).toBeLessThan(html.indexOf('id="foundations"'))
    expect(html.indexOf('id="foundations"')).toBeLessThan(html.indexOf('id="next"'))
    expect(html.indexOf('id="next-title"')).toBeLessThan(html.indexOf('id="level4-title"'))
    expect(html.indexOf('id="next"')).toBeLessThan(html.indexOf('id="unseen"'))
  })

  it('shows each criterion with its standing in text, its quote, sources, answers and unknowns apart', () => {
    for (const c of level3(rich)) {
      const start = html.indexOf(`<article class="criterion s-${c.standing}" id="c-${c.id}"`)
      expect(start, c.id).toBeGreaterThan(-1)
      const article = html.slice(start, html.indexOf('</article>', start))
      expect(article).toContain(`<span class="badge s-${c.standing}">${STANDING_LABELS[c.standing]}</span>`)
      expect(article).toContain('CNCF Cloud Native Maturity Model, <cite>level-3.md</cite>')
      for (const e of c.evidence) expect(article).toContain(`<code class="fact-name">${e.fact}</code>`)
      if (c.answer)
        expect(article).toContain(
          `<span class="tag">Self-reported</span> by Platform team on ${c.answer.answeredAt}`,
        )
    }
    expect(html).toContain('<li class="more">and 3 more</li>')
    expect(html).toContain('<code>.github/workflows/policy-5.yml:14</code>')
    expect(html).not.toContain('policy-6.yml')
    // unknown is drawn apart from not yet
    expect(html).toMatch(/\.criterion\.s-unknown \{[^}]*dashed/)
    expect(html).toMatch(/\.badge\.s-unknown \{[^}]*dashed/)
    expect(html).not.toMatch(/\.criterion\.s-not-yet \{[^}]*dashed/)
  })

  it('gives every criterion of the catalogue exactly one article, on its page, citing its evidence', () => {
    for (const a of [rich, empty]) {
      const text = renderAssessmentHtml(a)
      const found = [...text.matchAll(/<article class="criterion[^"]*" id="c-([^"]+)"/g)]
      expect(found.map((m) => m[1]).sort()).toEqual(catalogueIds)
      for (const m of found) {
        const c = byId(a, m[1]!)
        const article = text.slice(m.index, text.indexOf('</article>', m.index))
        const page = /<section class="page ([a-z]+)" id="([a-z-]+)"/.exec(
          text.slice(text.lastIndexOf('<section class="page ', m.index)),
        )!
        const expected = c.level === 3 ? `aspect-${c.aspect}` : c.level === 2 ? 'foundations' : 'next'
        expect(page[2], c.id).toBe(expected)
        if (c.level === 4)
          expect(text.indexOf('id="level4-title"') < m.index, c.id).toBe(!a.next.includes(c.id))
        expect(article, c.id).toContain(
          `<span class="badge s-${c.standing}">${STANDING_LABELS[c.standing]}</span>`,
        )
        expect(article, c.id).toContain(`<p class="why"><strong>Why:</strong> ${escapeHtml(whyText(c))}.</p>`)
        for (const f of c.evidence) {
          expect(article, `${c.id} ${f.fact}`).toContain(`<code class="fact-name">${f.fact}</code>`)
          if (f.sources.length > 0)
            expect(article, `${c.id} ${f.fact}`).toContain(`<code>${escapeHtml(f.sources[0]!)}</code>`)
        }
      }
    }
  })

  it('shows the met foundations and Level 4 criteria compact, after those not met', () => {
    const articles = [...html.matchAll(/<article class="criterion( compact)? s-([a-z-]+)" id="c-([^"]+)"/g)]
    const of = (level: number) => articles.filter((m) => byId(rich, m[3]!).level === level)
    const l2 = of(2)
    expect(l2.map((m) => m[3])).toEqual([
      ...rich.foundations,
      ...rich.criteria.filter((c) => c.level === 2 && c.standing === 'meets').map((c) => c.id),
    ])
    const l4 = of(4)
    const metL4 = rich.criteria.filter((c) => c.level === 4 && c.standing === 'meets').map((c) => c.id)
    expect(metL4.length).toBeGreaterThan(0)
    expect(l4.map((m) => m[3])).toEqual([...rich.next, ...metL4])
    for (const m of [...l2, ...l4]) {
      const met = m[2] === 'meets'
      expect(m[1] === ' compact', m[3]).toBe(met)
      const article = html.slice(m.index, html.indexOf('</article>', m.index))
      expect(article.includes('<blockquote>'), m[3]).toBe(!met)
      expect(article.includes('class="advice"'), m[3]).toBe(!met)
    }
    expect(html).toContain('<h2 id="foundations-title">Foundations (Level 2)</h2>')
    expect(html).toContain('<h2 id="level4-title">Already at Level 4</h2>')
    expect(html).toContain('<p class="met-intro">Met (')
  })

  it('lists next steps in order, and with nothing read shows no criterion met', () => {
    const order = [...html.matchAll(/<li><article class="criterion s-[a-z-]+" id="c-(l4-[a-z0-9-]+)"/g)].map(
      (m) => m[1],
    )
    expect(order).toEqual(rich.next)
    const nothing = renderAssessmentHtml(empty)
    expect(nothing).not.toMatch(/<article class="criterion s-(meets|partly|not-yet)"/)
    expect(nothing).toContain('data-testid="level3-standing"')
    expect(nothing).toMatch(/Level 3: <span class="badge s-unknown">unknown<\/span>/)
  })
})
