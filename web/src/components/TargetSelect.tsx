/** Which target (repository or cluster) a page looks at; all of them by default. */
import { useId } from 'react'

interface TargetSelectProps {
  value: string
  targets: string[]
  onChange: (target: string) => void
}

export function TargetSelect({ value, targets, onChange }: TargetSelectProps) {
  const id = useId()
  const all = value && !targets.includes(value) ? [value, ...targets] : targets
  return (
    <div className="field inline-field">
      <label htmlFor={id}>Target</label>
      <select id={id} value={value} onChange={(e) => onChange(e.target.value)}>
        <option value="">All targets</option>
        {all.map((t) => (
          <option key={t} value={t}>
            {t}
          </option>
        ))}
      </select>
    </div>
  )
}
