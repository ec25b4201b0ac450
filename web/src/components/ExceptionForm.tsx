/**
 * A new exception for the debt register: which findings it covers (checks, kinds, namespaces, names:
 * comma-separated globs), who owns it, why, and until when. The API checks it (admin only); its
 * problems are shown next to the fields they are about.
 */
import { type FormEvent, type ReactNode, useId, useState } from 'react'
import { type ApiError, asApiError, createException, type DebtException, type ExceptionInput } from '../api'
import { addDays, splitList, today } from '../format'
import { DialogActions } from './Dialog'
import { ChangeError } from './Status'

export interface ExceptionDraft {
  checks: string[]
  kinds: string[]
  namespaces: string[]
  names: string[]
}

const FIELDS = ['checks', 'kinds', 'namespaces', 'names', 'owner', 'reason', 'expires'] as const
type FieldName = (typeof FIELDS)[number]

interface ExceptionFormProps {
  draft: ExceptionDraft
  onCreated: (created: DebtException) => void
  onCancel: () => void
}

/** The field a problem is about (`/checks/0` is about checks), or undefined for the form as a whole. */
function fieldOf(path: string): FieldName | undefined {
  const first = path.split('/')[1]
  return FIELDS.find((f) => f === first)
}

interface FieldProps {
  name: FieldName
  label: string
  hint?: string
  errors: Partial<Record<FieldName, string[]>>
  children: (props: {
    id: string
    name: FieldName
    'aria-invalid': true | undefined
    'aria-describedby': string | undefined
  }) => ReactNode
}

function Field({ name, label, hint, errors, children }: FieldProps) {
  const id = useId()
  const problems = errors[name] ?? []
  const describedBy = [hint ? `${id}-hint` : '', problems.length ? `${id}-error` : '']
    .filter(Boolean)
    .join(' ')
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      {children({
        id,
        name,
        'aria-invalid': problems.length ? true : undefined,
        'aria-describedby': describedBy || undefined,
      })}
      {hint && (
        <p id={`${id}-hint`} className="hint">
          {hint}
        </p>
      )}
      {problems.length > 0 && (
        <p id={`${id}-error`} className="field-error">
          {problems.join('; ')}
        </p>
      )}
    </div>
  )
}

export function ExceptionForm({ draft, onCreated, onCancel }: ExceptionFormProps) {
  const [text, setText] = useState({
    checks: draft.checks.join(', '),
    kinds: draft.kinds.join(', '),
    namespaces: draft.namespaces.join(', '),
    names: draft.names.join(', '),
    owner: '',
    reason: '',
    expires: addDays(today(), 30),
  })
  const [error, setError] = useState<ApiError>()
  const [busy, setBusy] = useState(false)
  const set = (name: FieldName) => (e: { target: { value: string } }) =>
    setText((t) => ({ ...t, [name]: e.target.value }))

  const errors: Partial<Record<FieldName, string[]>> = {}
  const general: string[] = []
  for (const d of error?.details ?? []) {
    const f = fieldOf(d.path)
    if (f) errors[f] = [...(errors[f] ?? []), d.message]
    else general.push(`${d.path || d.in}: ${d.message}`)
  }

  const submit = async (e: FormEvent) => {
    e.preventDefault()
    const input: ExceptionInput = {
      checks: splitList(text.checks),
      kinds: splitList(text.kinds),
      namespaces: splitList(text.namespaces),
      names: splitList(text.names),
      owner: text.owner.trim(),
      reason: text.reason.trim(),
      expires: text.expires,
    }
    setBusy(true)
    setError(undefined)
    try {
      onCreated(await createException(input))
    } catch (err) {
      setError(asApiError(err))
    } finally {
      setBusy(false)
    }
  }

  return (
    // The API is the judge of what is valid: its answers are shown, not the browser's.
    <form onSubmit={submit} noValidate aria-label="New exception" className="exception-form">
      <p className="hint">
        Comma-separated; globs like <code>pss-*</code> work. An empty list matches any. The exception applies
        from the next scan.
      </p>
      <Field name="checks" label="Checks" errors={errors}>
        {(p) => <input {...p} value={text.checks} onChange={set('checks')} spellCheck={false} />}
      </Field>
      <div className="field-row">
        <Field name="kinds" label="Kinds" errors={errors}>
          {(p) => <input {...p} value={text.kinds} onChange={set('kinds')} spellCheck={false} />}
        </Field>
        <Field name="namespaces" label="Namespaces" errors={errors}>
          {(p) => <input {...p} value={text.namespaces} onChange={set('namespaces')} spellCheck={false} />}
        </Field>
        <Field name="names" label="Resource names" errors={errors}>
          {(p) => <input {...p} value={text.names} onChange={set('names')} spellCheck={false} />}
        </Field>
      </div>
      <Field name="owner" label="Owner" hint="Who answers for it: a team or a person." errors={errors}>
        {(p) => <input {...p} value={text.owner} onChange={set('owner')} autoComplete="off" data-autofocus />}
      </Field>
      <Field name="reason" label="Reason" errors={errors}>
        {(p) => <textarea {...p} value={text.reason} onChange={set('reason')} rows={3} />}
      </Field>
      <Field
        name="expires"
        label="Expires"
        hint="The exception holds through that day (UTC)."
        errors={errors}
      >
        {(p) => <input {...p} type="date" min={today()} value={text.expires} onChange={set('expires')} />}
      </Field>
      {error && (
        <ChangeError error={error}>
          <p>
            {error.status === 401 || error.status === 403
              ? 'Creating exceptions needs an admin token.'
              : error.status === 400
                ? 'The server did not accept this exception; see the fields above.'
                : error.message}
          </p>
          {(error.status === 401 || error.status === 403) && <p className="muted">{error.message}</p>}
          {general.length > 0 && (
            <ul>
              {general.map((g) => (
                <li key={g}>{g}</li>
              ))}
            </ul>
          )}
        </ChangeError>
      )}
      <DialogActions label="Create exception" busy={busy} onCancel={onCancel} />
    </form>
  )
}
