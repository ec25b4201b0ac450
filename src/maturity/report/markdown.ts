/**
 * The assessment as Markdown (`plimsoll assess --format markdown`), written to read as plain text in a
 * terminal too: prose wrapped at 100 columns, standings as ASCII markers (`[met]`, `[partly]`,
 * `[not yet]`, `[unknown]`), no HTML. The title with the inputs; Level 3's standing and score with a
 * table of the aspects; per aspect each Level 3 criterion with its quote, why, evidence (each fact's
 * value and its first sources), the answer marked self-reported with who and when, and the advice for
 * gaps; the Level 2 foundations (those not met in full first, with advice, then those met, compact);
 * what is next (Level 4) in the order of `next`; the Level 4 criteria already met (compact); and what
 * the assessment could not see (the collectors' problems and every unknown criterion, again). Each
 * criterion has exactly one entry: a `###` heading with its standing and title, then its id.
 *
 * What came from the input (paths, object names, names, notes, problems) is escaped or put in code
 * spans, so that it reads as text wherever the Markdown is rendered.
 */
import type { Assessment, CriterionResult } from '../assess.js'
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
  standingMarker,
  takenAtText,
  unknownCriteria,
  whyText,
} from './parts.js'

const WIDTH = 100

/** A word that would start a list, heading or quote at the start of a line: never wrapped there. */
const MARKUP_AT_START = /^([-+*]$|#{1,6}$|\d+[.)]$|>)/

/** Words filled into lines of at most `width` (a longer word, such as a URL, keeps a line of its own). */
export function wrap(text: string, first: string, rest = first, width = WIDTH): string[] {
  const words = text.split(/\s+/).filter((w) => w !== '')
  const lines: string[] = []
  let line = first
  let empty = true
  for (const word of words) {
    if (!empty && line.length + 1 + word.length > width && !MARKUP_AT_START.test(word)) {
      lines.push(line)
      line = rest + word
    } else {
      line += (empty ? '' : ' ') + word
    }
    empty = false
  }
  lines.push(line.trimEnd())
  return lines
}

/**
 * Input text as Markdown text: the characters Markdown would read as markup backslash-escaped (`*` and
 * `_` where they could open emphasis: before a space they cannot, and `store.*` stays readable).
 */
function md(s: string): string {
  return s.replace(/[\\`<>[\]|]|[*_](?=\S)/g, '\\$&').replace(/\s+/g, ' ')
}

/** Input text as a code span, whatever backticks it holds. */
function code(s: string): string {
  const text = s.replace(/\s+/g, ' ')
  const runs = text.match(/`+/g) ?? []
  const fence = '`'.repeat(Math.max(0, ...runs.map((r) => r.length)) + 1)
  const pad = text.startsWith('`') || text.endsWith('`') ? ' ' : ''
  return `${fence}${pad}${text}${pad}${fence}`
}

function header(a: Assessment): string[] {
  const lines = [
    '# Cloud Native Maturity Model: Level 3 (Scale) assessment',
    '',
    `Taken ${takenAtText(a.takenAt)}.`,
    '',
  ]
  const i = a.inputs
  for (const { label, value } of inputLines(a)) {
    let text = md(value)
    if (label === 'Repositories' && i.repositories.length > 0) text = i.repositories.map(code).join(', ')
    else if (label === 'Store' && i.store !== undefined) text = code(i.store)
    else if (label === 'Answers' && i.answers)
      text = `${code(i.answers.origin)}, ${md(selfReportedText(i.answers))}`
    lines.push(...wrap(`${label}: ${text}`, '- ', '  '))
  }
  lines.push(
    '',
    ...wrap(
      'Standings: met (the evidence, or an answer, shows it), partly (it shows part of it), ' +
        'not yet (it shows it is not so), unknown (nothing was seen either way: never counted as met). ' +
        'Answers are self-reported, and marked so with who and when.',
      '',
    ),
    '',
  )
  return lines
}

function summary(a: Assessment): string[] {
  const l3 = a.level3
  const lines = [
    `## Level 3: ${standingMarker(l3.standing)} ${STANDING_LABELS[l3.standing]}, score ${percent(l3.score)}`,
    '',
    ...wrap(
      `${countsText(l3)} Level 3 criteria. The score counts a criterion met as 1 and partly as 1/2; ` +
        'unknowns count nothing, and an aspect (or the level) with half of its criteria unknown or more ' +
        'is unknown.',
      '',
    ),
    '',
    '| Aspect | Standing | Score | Met | Partly | Not yet | Unknown |',
    '|---|---|--:|--:|--:|--:|--:|',
  ]
  for (const s of aspectSections(a)) {
    const r = s.result
    lines.push(
      `| ${s.title} | ${standingMarker(r.standing)} | ${percent(r.score)} | ${r.meets} | ${r.partly} | ${r.notYet} | ${r.unknown} |`,
    )
  }
  lines.push('')
  return lines
}

/**
 * A criterion in full: heading, id, quote, why, evidence, answer and (for a gap) the advice; or compact
 * (a met foundation or Level 4 criterion): heading, id, why, evidence and answer.
 */
function criterion(c: CriterionResult, heading: string, compact = false): string[] {
  const lines = [`${heading} ${standingMarker(c.standing)} ${c.title}`, '']
  lines.push(`${code(c.id)}, Level ${c.level}, ${JUDGED_TEXT[c.judged]}.`, '')
  if (!compact) lines.push(...wrap(`"${c.quote.text}"`, '> '), `> -- ${c.quote.page}`, '')
  lines.push(...wrap(`Why: ${md(whyText(c))}.`, ''), '')
  if (c.evidence.length > 0 || c.unknownFacts.length > 0) {
    lines.push('Evidence:', '')
    for (const e of c.evidence) {
      lines.push(...wrap(`${e.description}: **${md(factValueText(e))}** (${code(e.fact)})`, '- ', '  '))
      const { shown, more } = cappedSources(e.sources)
      for (const s of shown) lines.push(`  - ${code(s)}`)
      if (more > 0) lines.push(`  - ${andMore(more)}`)
    }
    for (const f of c.unknownFacts) lines.push(`- ${code(f)}: not known`)
    lines.push('')
  }
  if (c.answer) {
    const a = c.answer
    lines.push(
      ...wrap(
        `Answer, ${md(selfReportedText(a))}: **${a.value}**. Asked: ${c.question?.text ?? a.questionText}`,
        '',
      ),
    )
    if (a.note) lines.push(...wrap(`Note: ${md(a.note)}`, ''))
    lines.push('')
  } else if (c.question) {
    lines.push(...wrap(`Unanswered (question ${code(c.question.id)}): ${c.question.text}`, ''), '')
  }
  if (!compact && showsAdvice(c)) lines.push(...wrap(`To get there: ${c.advice}`, ''), '')
  return lines
}

function aspects(a: Assessment): string[] {
  const lines: string[] = []
  for (const s of aspectSections(a)) {
    const r = s.result
    lines.push(
      `## ${s.title}: ${standingMarker(r.standing)} ${STANDING_LABELS[r.standing]}, score ${percent(r.score)}`,
      '',
      `${countsText(r)} Level 3 criteria.`,
      '',
    )
    for (const c of s.criteria) lines.push(...criterion(c, '###'))
  }
  return lines
}

function foundations(a: Assessment): string[] {
  const notMet = foundationCriteria(a)
  const met = metFoundationCriteria(a)
  const lines = [
    `## ${SECTION_TITLES.foundations}`,
    '',
    ...wrap(foundationsText(notMet.length, met.length), ''),
    '',
  ]
  const heading = (c: CriterionResult) => `### ${ASPECT_TITLES[c.aspect]}:`
  for (const c of notMet) lines.push(...criterion(c, heading(c)))
  if (notMet.length > 0 && met.length > 0) lines.push(...wrap(metFoundationsText(met.length), ''), '')
  for (const c of met) lines.push(...criterion(c, heading(c), true))
  return lines
}

function next(a: Assessment): string[] {
  const steps = nextCriteria(a)
  const lines = [`## ${SECTION_TITLES.next}`, '', ...wrap(nextText(steps.length), ''), '']
  steps.forEach((c, i) => {
    const [head, blank, ...rest] = criterion(c, `### ${i + 1}.`)
    lines.push(head!, blank!, `Effort ${c.next?.effort ?? '?'}, value ${c.next?.value ?? '?'}.`, '', ...rest)
  })
  return lines
}

function level4(a: Assessment): string[] {
  const met = metLevel4Criteria(a)
  const lines = [`## ${SECTION_TITLES.level4}`, '', ...wrap(level4Text(met.length), ''), '']
  for (const c of met) lines.push(...criterion(c, `### ${ASPECT_TITLES[c.aspect]}:`, true))
  return lines
}

function unseen(a: Assessment): string[] {
  const lines = ['## What this assessment could not see', '', '### Problems', '']
  if (a.problems.length === 0) lines.push('The collectors read everything they were given.', '')
  else {
    for (const p of a.problems) lines.push(...wrap(md(p), '- ', '  '))
    lines.push('')
  }
  const unknown = unknownCriteria(a)
  lines.push(`### Unknown criteria (${unknown.length})`, '')
  if (unknown.length === 0) {
    lines.push('Every criterion could be judged.', '')
    return lines
  }
  lines.push(
    ...wrap(
      'Nothing was seen either way for these: they are not counted as met, nor as not yet. ' +
        'Give the missing inputs or answer the questionnaire to judge them.',
      '',
    ),
    '',
  )
  for (const c of unknown)
    lines.push(
      ...wrap(
        `${standingMarker(c.standing)} ${c.title} (${code(c.id)}, Level ${c.level}, ${ASPECT_TITLES[c.aspect]}): ${md(whyText(c))}.`,
        '- ',
        '  ',
      ),
    )
  lines.push('')
  return lines
}

export function renderAssessmentMarkdown(a: Assessment): string {
  const lines = [
    ...header(a),
    ...summary(a),
    ...aspects(a),
    ...foundations(a),
    ...next(a),
    ...level4(a),
    ...unseen(a),
  ]
  while (lines.at(-1) === '') lines.pop()
  return `${lines.join('\n')}\n`
}
