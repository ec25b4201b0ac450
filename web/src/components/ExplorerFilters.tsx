/**
 * The explorer's controls: search, state, severities, check, namespace, kind, target and grouping.
 * Each change becomes the URL (typing replaces the history entry; choosing pushes one).
 */
import { type FormEvent, useEffect, useId, useRef, useState } from 'react'
import { FINDING_STATES, type FindingState, SEVERITIES, type Severity } from '../api'
import { type ExplorerState, GROUPS, type Group } from '../explorer'
import { capitalize } from '../format'

export interface FilterOptions {
  checks: { value: string; label: string }[]
  namespaces: string[]
  kinds: string[]
  targets: string[]
}

interface ExplorerFiltersProps {
  state: ExplorerState
  options: FilterOptions
  /** `replace`: while typing */
  onChange: (change: Partial<ExplorerState>, replace?: boolean) => void
  onClear: () => void
}

interface ListSelectProps {
  label: string
  allLabel: string
  value: string[]
  options: { value: string; label: string }[]
  onChange: (value: string[]) => void
}

/** One value of a list filter, or all; a shared link's several values show as one choice. */
function ListSelect({ label, allLabel, value, options, onChange }: ListSelectProps) {
  const id = useId()
  const current = value.join(',')
  const known = current === '' || options.some((o) => o.value === current)
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <select
        id={id}
        value={current}
        onChange={(e) => onChange(e.target.value ? e.target.value.split(',') : [])}
      >
        <option value="">{allLabel}</option>
        {!known && <option value={current}>{value.join(', ')}</option>}
        {options.map((o) => (
          <option key={o.value} value={o.value}>
            {o.label}
          </option>
        ))}
      </select>
    </div>
  )
}

const STATE_CHOICES: { value: string; label: string }[] = [
  { value: 'open', label: 'Open' },
  { value: 'excepted', label: 'Excepted' },
  { value: 'resolved', label: 'Resolved' },
  { value: FINDING_STATES.join(','), label: 'Any state' },
]

const GROUP_LABELS: Record<Group, string> = {
  none: 'No grouping',
  check: 'Check',
  resource: 'Resource',
  namespace: 'Namespace',
}

function SearchBox({ value, onChange }: { value: string; onChange: (q: string, replace: boolean) => void }) {
  const [text, setText] = useState(value)
  const latest = useRef(onChange)
  latest.current = onChange
  useEffect(() => setText(value), [value])
  useEffect(() => {
    if (text === value) return
    const timer = window.setTimeout(() => latest.current(text, true), 300)
    return () => window.clearTimeout(timer)
  }, [text, value])
  const submit = (e: FormEvent) => {
    e.preventDefault()
    onChange(text, false)
  }
  return (
    <search>
      <form onSubmit={submit} className="field search-field">
        <label htmlFor="findings-search">Search findings</label>
        <input
          id="findings-search"
          type="search"
          value={text}
          placeholder="message, check, resource or path"
          maxLength={200}
          onChange={(e) => setText(e.target.value)}
        />
      </form>
    </search>
  )
}

function SeverityChoice({ value, onChange }: { value: Severity[]; onChange: (v: Severity[]) => void }) {
  const toggle = (s: Severity, on: boolean) =>
    onChange(SEVERITIES.filter((x) => (x === s ? on : value.includes(x))))
  return (
    <fieldset className="severity-choice">
      <legend>Severity</legend>
      {SEVERITIES.map((s) => (
        <label key={s} className={`check-label sev-${s}`}>
          <input type="checkbox" checked={value.includes(s)} onChange={(e) => toggle(s, e.target.checked)} />
          {capitalize(s)}
        </label>
      ))}
    </fieldset>
  )
}

export function ExplorerFilters({ state, options, onChange, onClear }: ExplorerFiltersProps) {
  const groupId = useId()
  return (
    <section className="filters" aria-label="Filters">
      <SearchBox value={state.q} onChange={(q, replace) => onChange({ q }, replace)} />
      <div className="filter-row">
        <ListSelect
          label="State"
          allLabel="Open"
          value={state.state.join(',') === 'open' ? [] : state.state}
          options={STATE_CHOICES.filter((c) => c.value !== 'open')}
          onChange={(v) => onChange({ state: v.length ? (v as FindingState[]) : ['open'] })}
        />
        <ListSelect
          label="Check"
          allLabel="All checks"
          value={state.check}
          options={options.checks}
          onChange={(check) => onChange({ check })}
        />
        <ListSelect
          label="Namespace"
          allLabel="All namespaces"
          value={state.namespace}
          options={options.namespaces.map((n) => ({ value: n, label: n }))}
          onChange={(namespace) => onChange({ namespace })}
        />
        <ListSelect
          label="Kind"
          allLabel="All kinds"
          value={state.kind}
          options={options.kinds.map((k) => ({ value: k, label: k }))}
          onChange={(kind) => onChange({ kind })}
        />
        <ListSelect
          label="Target"
          allLabel="All targets"
          value={state.target ? [state.target] : []}
          options={options.targets.map((t) => ({ value: t, label: t }))}
          onChange={(v) => onChange({ target: v.join(',') })}
        />
        <div className="field">
          <label htmlFor={groupId}>Group by</label>
          <select
            id={groupId}
            value={state.group}
            onChange={(e) => onChange({ group: e.target.value as Group })}
          >
            {GROUPS.map((g) => (
              <option key={g} value={g}>
                {GROUP_LABELS[g]}
              </option>
            ))}
          </select>
        </div>
      </div>
      <div className="filter-row">
        <SeverityChoice value={state.severity} onChange={(severity) => onChange({ severity })} />
        <button type="button" className="link-button" onClick={onClear}>
          Clear filters
        </button>
      </div>
    </section>
  )
}
