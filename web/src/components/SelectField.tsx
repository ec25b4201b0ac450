/** A labelled select: `<div class="field"><label/><select/></div>`, the shape of the pages' filters. */
import { useId } from 'react'

export interface SelectOption {
  value: string
  label: string
}

interface SelectFieldProps {
  label: string
  value: string
  options: SelectOption[]
  /** The text of a first option with the value '' (e.g. "All clusters"); none without it. */
  all?: string
  /** Laid out in a row, beside a heading (the `inline-field` class). */
  inline?: boolean
  onChange: (value: string) => void
}

export function SelectField({ label, value, options, all, inline, onChange }: SelectFieldProps) {
  const id = useId()
  return (
    <div className={inline ? 'field inline-field' : 'field'}>
      <label htmlFor={id}>{label}</label>
      <select id={id} value={value} onChange={(e) => onChange(e.target.value)}>
        {all !== undefined && <option value="">{all}</option>}
        {options.map((o) => (
          <option key={o.value} value={o.value}>
            {o.label}
          </option>
        ))}
      </select>
    </div>
  )
}

/** Options that are their own labels. */
export function plainOptions(values: readonly string[]): SelectOption[] {
  return values.map((v) => ({ value: v, label: v }))
}

/** A period's options: "Last 24 hours", "Last 7 days", … (values are the numbers of days). */
export function periodOptions(days: readonly number[]): SelectOption[] {
  return days.map((d) => ({ value: String(d), label: d === 1 ? 'Last 24 hours' : `Last ${d} days` }))
}
