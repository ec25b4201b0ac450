/**
 * The questionnaire as a file to fill in: every question the criteria ask (what no tool sees), grouped
 * by aspect, each with the criterion it decides and the model's sentence it comes from, ready for
 * `plimsoll assess --answers`. Unanswered questions may stay commented out: their criteria are unknown.
 */
import { dump } from 'js-yaml'
import { ASPECTS, type Criterion } from './catalogue.js'

export function questionnaireYaml(criteria: readonly Criterion[], today: Date): string {
  const lines = [
    '# plimsoll assess: the questionnaire, for what no tool can see.',
    '# Answer each question yes, partly or no (uncomment it); a note and a date of its own are optional:',
    '#   some-question: { answer: partly, note: what is missing, answeredAt: 2026-11-21 }',
    '# Every answer is reported as self-reported, by whom and when. Unanswered: the criterion is unknown.',
    'answeredBy: "" # who answers: a name or a team',
    `answeredAt: ${today.toISOString().slice(0, 10)}`,
    'answers:',
  ]
  const asked = criteria.filter(
    (c): c is Exclude<Criterion, { judged: 'automatic' }> => c.judged !== 'automatic',
  )
  for (const aspect of ASPECTS) {
    const of = asked.filter((c) => c.aspect === aspect)
    if (of.length === 0) continue
    lines.push('', `  # --- ${aspect} ---`)
    for (const c of of) {
      const quote = dump(c.quote.text, { lineWidth: -1 }).trim()
      lines.push(
        '',
        `  # ${c.question.text}`,
        `  #   decides ${c.id} (Level ${c.level}, ${c.judged === 'partly' ? 'with evidence' : 'self-reported'}): ${c.title}`,
        `  #   the model, ${c.quote.page}: ${quote}`,
        `  # ${c.question.id}: yes`,
      )
    }
  }
  return `${lines.join('\n')}\n`
}
