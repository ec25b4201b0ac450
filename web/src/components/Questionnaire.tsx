/**
 * The maturity questionnaire: what no tool sees, asked per aspect, with the answers given so far (each
 * self-reported, dated and attributed). Admins answer yes, partly or no with a note, one question at a
 * time; viewers read. An answer counts from the next `plimsoll assess --store` run.
 */
import { type FormEvent, useId, useState } from 'react'
import {
  ASSESSMENT_ANSWERS,
  ASSESSMENT_ASPECTS,
  type AssessmentAnswerValue,
  type AssessmentQuestionView,
  saveAssessmentAnswers,
} from '../api'
import { useAction } from '../useAction'
import { AnswerText, ASPECT_TITLES } from './MaturityParts'
import { ChangeError } from './Status'

function AnswerForm({ question, onSaved }: { question: AssessmentQuestionView; onSaved: () => void }) {
  const ids = { note: useId(), legend: useId() }
  const [value, setValue] = useState<AssessmentAnswerValue | ''>(question.answer?.value ?? '')
  const [note, setNote] = useState(question.answer?.note ?? '')
  const [saved, setSaved] = useState(false)
  const { busy, error, run } = useAction()
  const submit = async (e: FormEvent) => {
    e.preventDefault()
    if (value === '') return
    setSaved(false)
    await run(async () => {
      const trimmed = note.trim()
      await saveAssessmentAnswers({
        answers: [{ question: question.id, answer: value, ...(trimmed ? { note: trimmed } : {}) }],
      })
      setSaved(true)
      onSaved()
    })
  }
  return (
    <form className="answer-form" onSubmit={submit} noValidate aria-label={`Answer ${question.id}`}>
      <fieldset>
        <legend id={ids.legend} className="visually-hidden">
          {question.text}
        </legend>
        <div className="answer-choices">
          {ASSESSMENT_ANSWERS.map((a) => (
            <label key={a} className="answer-choice">
              <input
                type="radio"
                name={`answer-${question.id}`}
                value={a}
                checked={value === a}
                onChange={() => setValue(a)}
              />
              {a}
            </label>
          ))}
        </div>
      </fieldset>
      <div className="field">
        <label htmlFor={ids.note}>Note</label>
        <input
          id={ids.note}
          value={note}
          maxLength={2000}
          placeholder="what it rests on (optional)"
          onChange={(e) => setNote(e.target.value)}
        />
      </div>
      {error && (
        <ChangeError error={error}>
          <p>
            {error.status === 401 || error.status === 403 ? 'Answering needs an admin token.' : error.message}
          </p>
        </ChangeError>
      )}
      <div className="actions">
        <button type="submit" className="primary" disabled={busy || value === ''}>
          {busy ? 'Saving…' : 'Save answer'}
        </button>
        {saved && !busy && !error && (
          <span role="status" className="muted small">
            Saved.
          </span>
        )}
      </div>
    </form>
  )
}

function Question({
  question,
  admin,
  onSaved,
}: {
  question: AssessmentQuestionView
  admin: boolean
  onSaved: () => void
}) {
  return (
    <li className="question" data-testid={`question-${question.id}`}>
      <p className="question-text">{question.text}</p>
      <p className="muted small">
        Level {question.level}: {question.title} <span className="mono">({question.id})</span>
      </p>
      <p className="small" data-testid="question-answer">
        {question.answer ? (
          <>
            Answer: <AnswerText answer={question.answer} />
          </>
        ) : (
          <span className="unanswered">Unanswered: its criterion stays unknown.</span>
        )}
      </p>
      {admin && <AnswerForm question={question} onSaved={onSaved} />}
    </li>
  )
}

export function Questionnaire({
  questions,
  admin,
  onSaved,
}: {
  questions: readonly AssessmentQuestionView[]
  admin: boolean
  onSaved: () => void
}) {
  const answered = questions.filter((q) => q.answer !== null).length
  return (
    <>
      <p className="muted small" data-testid="questionnaire-count">
        {answered} of {questions.length} questions answered.
      </p>
      {ASSESSMENT_ASPECTS.map((aspect) => {
        const of = questions.filter((q) => q.aspect === aspect)
        if (of.length === 0) return null
        return (
          <section key={aspect} aria-labelledby={`questions-${aspect}`} data-testid={`questions-${aspect}`}>
            <h3 id={`questions-${aspect}`}>{ASPECT_TITLES[aspect]}</h3>
            <ul className="question-list">
              {of.map((q) => (
                <Question key={q.id} question={q} admin={admin} onSaved={onSaved} />
              ))}
            </ul>
          </section>
        )
      })}
    </>
  )
}
