/**
 * The audit alerts' silences: the list (matchers, time range, who and why, state), and for admins a
 * form for a new one and an Expire button on each. The API validates as Alertmanager does; what it
 * refuses is shown under the form, in its words.
 */
import { type FormEvent, useId, useState } from 'react'
import { createSilence, endpoints, expireSilence, type SilenceMatcher, type SilenceView } from '../api'
import { formatTime } from '../format'
import { useAction } from '../useAction'
import { useApi } from '../useApi'
import { ChangeError, Fetched } from './Status'
import { Table } from './Table'

export const matcherText = (m: SilenceMatcher) => `${m.name}${m.type}${JSON.stringify(m.value)}`

/** One matcher a line (a matcher's regex may hold commas); blank lines left out. */
const matcherLines = (text: string) =>
  text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)

function NewSilence({ onCreated }: { onCreated: () => void }) {
  const ids = { matchers: useId(), duration: useId(), endsAt: useId(), comment: useId(), hint: useId() }
  const [matchers, setMatchers] = useState('')
  const [duration, setDuration] = useState('2h')
  const [endsAt, setEndsAt] = useState('')
  const [comment, setComment] = useState('')
  const { busy, error, run } = useAction()
  const submit = async (e: FormEvent) => {
    e.preventDefault()
    await run(async () => {
      // An end date and time, when given, wins over the duration (the form's datetime is local time).
      const end = endsAt ? { endsAt: new Date(endsAt).toISOString() } : { duration: duration.trim() }
      await createSilence({ matchers: matcherLines(matchers), ...end, comment })
      setMatchers('')
      setComment('')
      setEndsAt('')
      onCreated()
    })
  }
  return (
    <form className="silence-form" onSubmit={submit} noValidate aria-label="New silence">
      <h3>New silence</h3>
      <div className="field">
        <label htmlFor={ids.matchers}>Matchers</label>
        <textarea
          id={ids.matchers}
          rows={2}
          value={matchers}
          spellCheck={false}
          placeholder={'user="ci-bot"\nrule=~"Attach/Exec.*"'}
          aria-describedby={ids.hint}
          onChange={(e) => setMatchers(e.target.value)}
        />
        <p id={ids.hint} className="hint">
          One a line, as Alertmanager writes them: <code>=</code>, <code>!=</code>, <code>=~</code>,{' '}
          <code>!~</code>. Labels: <code>rule</code>, <code>priority</code>, <code>source</code>,{' '}
          <code>user</code>, <code>verb</code>, <code>resource</code>, <code>namespace</code>,{' '}
          <code>name</code>, <code>cluster</code>.
        </p>
      </div>
      <div className="field-row">
        <div className="field">
          <label htmlFor={ids.duration}>Duration</label>
          <input
            id={ids.duration}
            value={duration}
            placeholder="2h"
            disabled={endsAt !== ''}
            onChange={(e) => setDuration(e.target.value)}
          />
        </div>
        <div className="field">
          <label htmlFor={ids.endsAt}>or until</label>
          <input
            id={ids.endsAt}
            type="datetime-local"
            value={endsAt}
            onChange={(e) => setEndsAt(e.target.value)}
          />
        </div>
      </div>
      <div className="field">
        <label htmlFor={ids.comment}>Comment</label>
        <input
          id={ids.comment}
          value={comment}
          maxLength={2000}
          placeholder="why, and a ticket"
          onChange={(e) => setComment(e.target.value)}
        />
      </div>
      {error && (
        <ChangeError error={error}>
          <p data-testid="silence-error">
            {error.status === 401 || error.status === 403
              ? 'Adding silences needs an admin token.'
              : error.message}
          </p>
          {error.details.length > 0 && (
            <ul>
              {error.details.map((d) => (
                <li key={`${d.path}${d.message}`}>
                  {d.path || d.in}: {d.message}
                </li>
              ))}
            </ul>
          )}
        </ChangeError>
      )}
      <div className="actions">
        <button type="submit" className="primary" disabled={busy}>
          {busy ? 'Adding…' : 'Add silence'}
        </button>
      </div>
    </form>
  )
}

function ExpireButton({ silence, onDone }: { silence: SilenceView; onDone: () => void }) {
  const { busy, error, run } = useAction()
  const expire = () =>
    run(async () => {
      await expireSilence(silence.id)
      onDone()
    })
  return (
    <>
      <button
        type="button"
        className="danger"
        onClick={expire}
        disabled={busy}
        aria-label={`Expire silence ${silence.matchers.map(matcherText).join(', ')}`}
      >
        Expire
      </button>
      {error && (
        <ChangeError error={error}>
          <p>{error.message}</p>
        </ChangeError>
      )}
    </>
  )
}

export function Silences({ admin, onChange }: { admin: boolean; onChange: () => void }) {
  const [showExpired, setShowExpired] = useState(false)
  const silences = useApi(endpoints.silences(showExpired ? 'all' : undefined), { keep: true })
  const changed = () => {
    silences.reload()
    onChange()
  }
  const toggleId = useId()
  return (
    <>
      <div className="filter-row">
        <div className="field inline-field">
          <input
            id={toggleId}
            type="checkbox"
            checked={showExpired}
            onChange={(e) => setShowExpired(e.target.checked)}
          />
          <label htmlFor={toggleId}>Show expired silences</label>
        </div>
      </div>
      <Fetched state={silences} loading="Loading the silences">
        {(list) => (
          <Table
            caption="Silences"
            testId="silences-table"
            columns={[
              'Matchers',
              'From',
              'Until',
              'Created by',
              'Comment',
              'State',
              ...(admin ? [{ label: 'Actions', hidden: true }] : []),
            ]}
            items={list}
            empty={
              showExpired
                ? 'No silence has been made yet.'
                : 'No silence is active or pending: every alert is sent as routed.'
            }
          >
            {(s) => (
              <tr key={s.id} data-testid={`silence-${s.id}`}>
                <th scope="row" className="cell-text mono small">
                  {s.matchers.map((m) => (
                    <div key={matcherText(m)}>{matcherText(m)}</div>
                  ))}
                </th>
                <td className="small nowrap">{formatTime(s.startsAt)}</td>
                <td className="small nowrap">{formatTime(s.endsAt)}</td>
                <td className="small">{s.createdBy}</td>
                <td className="small">{s.comment}</td>
                <td>
                  <span className={`badge silence-${s.state}`}>{s.state}</span>
                </td>
                {admin && <td>{s.state !== 'expired' && <ExpireButton silence={s} onDone={changed} />}</td>}
              </tr>
            )}
          </Table>
        )}
      </Fetched>
      {admin && <NewSilence onCreated={changed} />}
    </>
  )
}
