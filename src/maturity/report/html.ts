/**
 * The assessment as one self-contained HTML file (`plimsoll assess --format html`): inline CSS, no
 * scripts, nothing fetched. Printable on A4: a cover with the summary, then one page per aspect (each
 * `.page` starts a printed page), then the foundations (Level 2: those not met in full, then those met,
 * compact), then what is next and what is already at Level 4 (compact), then what the assessment could
 * not see. The same sections, in the same order, as the Markdown report (parts.ts): each criterion has
 * exactly one `<article>`.
 *
 * Standings are shown by a text badge and a colour (never colour alone); unknown is drawn apart from
 * not yet (dashed and hatched, grey), self-reported answers carry who and when, and every fact lists
 * its sources. Everything that came from the input (paths, object names, names, notes, problems,
 * quotes) is escaped.
 */
import type { Assessment, CriterionResult, Standing, StandingCounts } from '../assess.js'
import {
  ASPECT_TITLES,
  andMore,
  aspectSections,
  cappedSources,
  countsText,
  factValueText,
  foundationCriteria,
  foundationsText,
  inputLines,
  JUDGED_TEXT,
  LEVEL_TITLES,
  level4Text,
  metFoundationCriteria,
  metFoundationsText,
  metLevel4Criteria,
  nextCriteria,
  nextText,
  percent,
  SECTION_TITLES,
  STANDING_LABELS,
  selfReportedText,
  showsAdvice,
  takenAtText,
  unknownCriteria,
  whyText,
} from './parts.js'

const ENTITIES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
}

/** Text as HTML text or attribute value. */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ENTITIES[c]!)
}

const h = escapeHtml

/** Catalogue text (titles, advice, questions), escaped, with its `code` spans as <code>. */
function inline(s: string): string {
  return h(s).replace(/`([^`]+)`/g, '<code>$1</code>')
}

function badge(s: Standing): string {
  return `<span class="badge s-${s}">${STANDING_LABELS[s]}</span>`
}

/** The counts as a bar of segments (decorative: the numbers are given in text beside it). */
function bar(c: StandingCounts): string {
  if (c.total === 0) return ''
  const seg = (s: Standing, n: number) =>
    n === 0 ? '' : `<span class="seg s-${s}" style="width:${((n / c.total) * 100).toFixed(2)}%"></span>`
  return `<span class="bar" aria-hidden="true">${seg('meets', c.meets)}${seg('partly', c.partly)}${seg('not-yet', c.notYet)}${seg('unknown', c.unknown)}</span>`
}

function pageHead(a: Assessment, what: string): string {
  return `<p class="page-head">Level 3 (Scale) assessment, ${h(takenAtText(a.takenAt))} <span>${h(what)}</span></p>`
}

function cover(a: Assessment): string {
  const l3 = a.level3
  const inputs = inputLines(a)
    .map(({ label, value }) => `<dt>${h(label)}</dt><dd>${h(value)}</dd>`)
    .join('')
  const rows = aspectSections(a)
    .map((s) => {
      const r = s.result
      return `<tr><th scope="row"><a href="#aspect-${s.aspect}">${h(s.title)}</a></th><td>${badge(r.standing)}</td><td class="num">${percent(r.score)} ${bar(r)}</td><td class="num">${r.meets}</td><td class="num">${r.partly}</td><td class="num">${r.notYet}</td><td class="num">${r.unknown}</td></tr>`
    })
    .join('\n')
  return `<section class="page cover" id="summary" aria-labelledby="summary-title">
<p class="kicker">Cloud Native Maturity Model</p>
<h1 id="summary-title">Level 3 (Scale) assessment</h1>
<p class="taken">Taken <time datetime="${h(a.takenAt)}">${h(takenAtText(a.takenAt))}</time></p>
<dl class="inputs">${inputs}</dl>
<div class="level s-${l3.standing}" data-testid="level3-standing">
<p class="level-title">Level 3: ${badge(l3.standing)} <span class="score">score ${percent(l3.score)}</span></p>
<p>${h(countsText(l3))} Level 3 criteria. ${bar(l3)}</p>
</div>
<table class="aspects">
<caption>The five aspects of Level 3</caption>
<thead><tr><th scope="col">Aspect</th><th scope="col">Standing</th><th scope="col">Score</th><th scope="col">Met</th><th scope="col">Partly</th><th scope="col">Not yet</th><th scope="col">Unknown</th></tr></thead>
<tbody>
${rows}
</tbody>
</table>
<div class="legend">
<h2>How to read it</h2>
<ul>
<li>${badge('meets')} the evidence, or an answer, shows it.</li>
<li>${badge('partly')} it shows part of it.</li>
<li>${badge('not-yet')} it shows it is not so.</li>
<li>${badge('unknown')} nothing was seen either way: never counted as met, nor as not yet.</li>
</ul>
<p>The score counts a criterion met as 1 and partly as 1/2; unknowns count nothing, and an aspect (or the level) with half of its criteria unknown or more is unknown. <span class="tag">Self-reported</span> marks what a team answered in the questionnaire, with who and when: no tool saw it.</p>
</div>
</section>`
}

function evidence(c: CriterionResult): string {
  if (c.evidence.length === 0 && c.unknownFacts.length === 0) return ''
  const items = c.evidence.map((e) => {
    const { shown, more } = cappedSources(e.sources)
    const sources = [
      ...shown.map((s) => `<li><code>${h(s)}</code></li>`),
      ...(more > 0 ? [`<li class="more">${andMore(more)}</li>`] : []),
    ].join('')
    return `<li class="fact">${h(e.description)}: <strong class="value">${h(factValueText(e))}</strong> <code class="fact-name">${h(e.fact)}</code>${sources ? `<ul class="sources" aria-label="seen in">${sources}</ul>` : ''}</li>`
  })
  const unknown = c.unknownFacts.map(
    (f) => `<li class="fact unknown-fact"><code class="fact-name">${h(f)}</code>: not known</li>`,
  )
  return `<div class="evidence"><h4>Evidence</h4><ul>${[...items, ...unknown].join('')}</ul></div>`
}

function answer(c: CriterionResult): string {
  const a = c.answer
  if (a)
    return `<div class="answer self-reported"><p><span class="tag">Self-reported</span> ${h(selfReportedText(a).replace(/^self-reported /, ''))}: <strong>${h(a.value)}</strong></p><p class="asked">Asked: ${inline(c.question?.text ?? a.questionText)}</p>${a.note ? `<p class="note">Note: ${h(a.note)}</p>` : ''}</div>`
  if (c.question)
    return `<div class="answer unanswered"><p><span class="tag">Unanswered</span> question <code>${h(c.question.id)}</code>: ${inline(c.question.text)}</p></div>`
  return ''
}

/**
 * A criterion in full: standing, title, quote, why, evidence, answer and (for a gap) the advice; or
 * compact (a met foundation or Level 4 criterion): standing, title, why, evidence and answer.
 */
function criterion(c: CriterionResult, { extra = '', compact = false } = {}): string {
  const quote = compact
    ? ''
    : `\n<blockquote><p>&ldquo;${h(c.quote.text)}&rdquo;</p><footer>CNCF Cloud Native Maturity Model, <cite>${h(c.quote.page)}</cite></footer></blockquote>`
  const advice =
    !compact && showsAdvice(c)
      ? `<p class="advice"><strong>To get there:</strong> ${inline(c.advice)}</p>`
      : ''
  return `<article class="criterion${compact ? ' compact' : ''} s-${c.standing}" id="c-${h(c.id)}" data-criterion="${h(c.id)}" data-standing="${c.standing}">
<h3>${badge(c.standing)} ${inline(c.title)}</h3>
<p class="meta"><code>${h(c.id)}</code> &middot; ${h(LEVEL_TITLES[c.level])}, ${h(ASPECT_TITLES[c.aspect])} &middot; ${h(JUDGED_TEXT[c.judged])}</p>${extra}${quote}
<p class="why"><strong>Why:</strong> ${h(whyText(c))}.</p>
${evidence(c)}${answer(c)}${advice}
</article>`
}

function aspectPages(a: Assessment): string {
  return aspectSections(a)
    .map((s) => {
      const r = s.result
      return `<section class="page aspect" id="aspect-${s.aspect}" data-aspect="${s.aspect}" aria-labelledby="aspect-${s.aspect}-title">
${pageHead(a, s.title)}
<h2 id="aspect-${s.aspect}-title">${h(s.title)} ${badge(r.standing)} <span class="score">score ${percent(r.score)}</span></h2>
<p class="counts">${h(countsText(r))} Level 3 criteria. ${bar(r)}</p>
${s.criteria.map((c) => criterion(c)).join('\n')}
</section>`
    })
    .join('\n')
}

function foundationsPage(a: Assessment): string {
  const notMet = foundationCriteria(a)
  const met = metFoundationCriteria(a)
  const metIntro =
    notMet.length > 0 && met.length > 0
      ? `\n<p class="met-intro">${h(metFoundationsText(met.length))}</p>`
      : ''
  return `<section class="page foundations" id="foundations" aria-labelledby="foundations-title">
${pageHead(a, 'Foundations')}
<h2 id="foundations-title">${h(SECTION_TITLES.foundations)}</h2>
<p>${h(foundationsText(notMet.length, met.length))}</p>
${notMet.map((c) => criterion(c)).join('\n')}${metIntro}
${met.map((c) => criterion(c, { compact: true })).join('\n')}
</section>`
}

function nextPage(a: Assessment): string {
  const steps = nextCriteria(a)
  const met = metLevel4Criteria(a)
  const next =
    steps.length === 0
      ? ''
      : `\n<ol class="steps">${steps
          .map(
            (c) =>
              `<li>${criterion(c, { extra: `\n<p class="grades">Effort <strong>${h(c.next?.effort ?? '?')}</strong>, value <strong>${h(c.next?.value ?? '?')}</strong></p>` })}</li>`,
          )
          .join('\n')}</ol>`
  return `<section class="page next" id="next" aria-labelledby="next-title">
${pageHead(a, 'Next steps')}
<h2 id="next-title">${h(SECTION_TITLES.next)}</h2>
<p>${h(nextText(steps.length))}</p>${next}
<h2 id="level4-title">${h(SECTION_TITLES.level4)}</h2>
<p>${h(level4Text(met.length))}</p>
${met.map((c) => criterion(c, { compact: true })).join('\n')}
</section>`
}

function unseenPage(a: Assessment): string {
  const problems =
    a.problems.length === 0
      ? '<p>The collectors read everything they were given.</p>'
      : `<ul class="problems">${a.problems.map((p) => `<li>${h(p)}</li>`).join('')}</ul>`
  const unknown = unknownCriteria(a)
  const list =
    unknown.length === 0
      ? '<p>Every criterion could be judged.</p>'
      : `<p>Nothing was seen either way for these: they are not counted as met, nor as not yet. Give the missing inputs or answer the questionnaire to judge them.</p>
<ul class="unknowns">${unknown
          .map(
            (c) =>
              `<li class="s-unknown" data-criterion="${h(c.id)}">${badge(c.standing)} <strong>${inline(c.title)}</strong> <span class="meta">(<code>${h(c.id)}</code>, Level ${c.level}, ${h(ASPECT_TITLES[c.aspect])})</span>: ${h(whyText(c))}.</li>`,
          )
          .join('\n')}</ul>`
  return `<section class="page unseen" id="unseen" aria-labelledby="unseen-title">
${pageHead(a, 'What it could not see')}
<h2 id="unseen-title">What this assessment could not see</h2>
<h3>Problems</h3>
${problems}
<h3>Unknown criteria (${unknown.length})</h3>
${list}
</section>`
}

const CSS = `
:root { --met: #1a7f37; --partly: #8a5a00; --notyet: #c62828; --unknown: #57606a; --ink: #1f2328; --muted: #59636e; --line: #d1d9e0; }
* { box-sizing: border-box; }
html { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
body { margin: 0; background: #eef1f4; color: var(--ink); font: 10.5pt/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
main { max-width: 210mm; margin: 0 auto; padding: 12px 0; }
.page { background: #fff; padding: 16mm 14mm; margin: 0 0 12px; box-shadow: 0 1px 3px rgba(0,0,0,.15); }
.page + .page { break-before: page; }
@page { size: A4; margin: 14mm 12mm 16mm; }
@media print {
  body { background: #fff; }
  main { max-width: none; padding: 0; }
  .page { padding: 0; margin: 0; box-shadow: none; }
}
h1 { font-size: 24pt; margin: 0 0 4px; }
h2 { font-size: 16pt; margin: 18px 0 8px; display: flex; align-items: center; gap: 10px; flex-wrap: wrap; }
h3 { font-size: 12pt; margin: 0 0 4px; display: flex; align-items: baseline; gap: 8px; }
h4 { font-size: 10pt; margin: 8px 0 2px; }
a { color: inherit; }
code { font: 9pt/1.3 ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; background: #f3f4f6; padding: 0 3px; border-radius: 3px; overflow-wrap: anywhere; }
.kicker { text-transform: uppercase; letter-spacing: .08em; color: var(--muted); margin: 0; font-size: 9pt; }
.taken { color: var(--muted); margin: 0 0 12px; }
.page-head { display: flex; justify-content: space-between; color: var(--muted); font-size: 8.5pt; border-bottom: 1px solid var(--line); padding-bottom: 4px; margin: 0 0 8px; }
.inputs { display: grid; grid-template-columns: max-content 1fr; gap: 2px 12px; margin: 0 0 16px; }
.inputs dt { font-weight: 600; }
.inputs dd { margin: 0; overflow-wrap: anywhere; }
.badge { display: inline-block; min-width: 5.2em; text-align: center; font-size: 8.5pt; font-weight: 700; text-transform: uppercase; letter-spacing: .04em; padding: 1px 6px; border-radius: 4px; border: 2px solid transparent; color: #fff; white-space: nowrap; }
.badge.s-meets { background: var(--met); border-color: var(--met); }
.badge.s-partly { background: var(--partly); border-color: var(--partly); }
.badge.s-not-yet { background: var(--notyet); border-color: var(--notyet); }
.badge.s-unknown { background: #fff; color: var(--unknown); border: 2px dashed var(--unknown); }
.badge.s-meets::before { content: "\\2713  "; }
.badge.s-not-yet::before { content: "\\2715  "; }
.badge.s-partly::before { content: "\\25D0  "; }
.badge.s-unknown::before { content: "?  "; }
.score { font-size: 10pt; color: var(--muted); font-weight: 600; }
.bar { display: inline-flex; width: 120px; height: 9px; vertical-align: middle; border: 1px solid var(--line); border-radius: 2px; overflow: hidden; margin-left: 6px; }
.seg { display: block; height: 100%; }
.seg.s-meets { background: var(--met); }
.seg.s-partly { background: var(--partly); }
.seg.s-not-yet { background: var(--notyet); }
.seg.s-unknown { background: repeating-linear-gradient(45deg, #fff 0 3px, #afb8c1 3px 5px); }
.level { border: 2px solid var(--line); border-left-width: 8px; border-radius: 6px; padding: 8px 14px; margin: 0 0 16px; }
.level.s-meets { border-color: var(--met); }
.level.s-partly { border-color: var(--partly); }
.level.s-not-yet { border-color: var(--notyet); }
.level.s-unknown { border-style: dashed; border-color: var(--unknown); }
.level p { margin: 4px 0; }
.level-title { font-size: 16pt; font-weight: 700; display: flex; align-items: center; gap: 10px; }
table.aspects { width: 100%; border-collapse: collapse; margin: 0 0 16px; }
table.aspects caption { text-align: left; font-weight: 600; margin-bottom: 4px; }
table.aspects th, table.aspects td { border-bottom: 1px solid var(--line); padding: 5px 6px; text-align: left; }
table.aspects thead th { white-space: nowrap; }
table.aspects td.num { text-align: right; white-space: nowrap; }
.legend ul { list-style: none; padding: 0; margin: 0 0 6px; }
.legend li { margin: 3px 0; }
.legend h2 { font-size: 12pt; }
.counts { color: var(--muted); }
.criterion { border: 1px solid var(--line); border-left: 6px solid var(--line); border-radius: 4px; padding: 8px 12px; margin: 10px 0; break-inside: avoid; }
.criterion.s-meets { border-left-color: var(--met); }
.criterion.s-partly { border-left-color: var(--partly); }
.criterion.s-not-yet { border-left-color: var(--notyet); }
.criterion.s-unknown { border: 1px dashed var(--unknown); border-left: 6px dashed var(--unknown); background: repeating-linear-gradient(135deg, #fff 0 10px, #f6f8fa 10px 20px); }
.criterion .meta { color: var(--muted); font-size: 8.5pt; margin: 0 0 4px; }
blockquote { margin: 6px 0; padding: 2px 10px; border-left: 3px solid #afb8c1; color: #33383f; font-style: italic; }
blockquote p { margin: 0; }
blockquote footer { font-style: normal; font-size: 8.5pt; color: var(--muted); }
.why { margin: 4px 0; }
.evidence ul { margin: 0; padding-left: 18px; }
.evidence .sources { list-style: square; color: var(--muted); }
.evidence .more { font-style: italic; }
.unknown-fact { color: var(--unknown); font-style: italic; }
.answer { margin: 6px 0; padding: 4px 8px; border-radius: 4px; }
.answer p { margin: 2px 0; }
.answer.self-reported { background: #fff8c5; border: 1px solid #d4a72c; }
.answer.unanswered { background: #f6f8fa; border: 1px dashed var(--unknown); }
.tag { display: inline-block; font-size: 8pt; font-weight: 700; text-transform: uppercase; letter-spacing: .04em; border: 1px solid currentColor; border-radius: 3px; padding: 0 4px; }
.self-reported .tag { color: #7d4e00; }
.advice { margin: 6px 0 0; }
.criterion.compact { padding: 6px 12px; margin: 6px 0; }
.met-intro { margin: 14px 0 4px; font-weight: 600; }
.grades { margin: 0 0 4px; }
ol.steps { padding-left: 22px; }
ul.unknowns { padding-left: 0; list-style: none; }
ul.unknowns li { margin: 6px 0; padding: 4px 8px; border-left: 4px dashed var(--unknown); }
ul.unknowns code { overflow-wrap: normal; white-space: nowrap; }
ul.problems li { margin: 4px 0; overflow-wrap: anywhere; }
`

export function renderAssessmentHtml(a: Assessment): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Level 3 assessment, ${h(takenAtText(a.takenAt))}</title>
<style>${CSS}</style>
</head>
<body>
<main>
${cover(a)}
${aspectPages(a)}
${foundationsPage(a)}
${nextPage(a)}
${unseenPage(a)}
</main>
</body>
</html>
`
}
