/** Which target (repository or cluster) a page looks at; all of them by default. */
import { plainOptions, SelectField } from './SelectField'

interface TargetSelectProps {
  value: string
  targets: string[]
  onChange: (target: string) => void
}

export function TargetSelect({ value, targets, onChange }: TargetSelectProps) {
  const all = value && !targets.includes(value) ? [value, ...targets] : targets
  return (
    <SelectField
      label="Target"
      inline
      all="All targets"
      value={value}
      options={plainOptions(all)}
      onChange={onChange}
    />
  )
}
