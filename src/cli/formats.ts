/**
 * `--format text,json=report.json,junit=junit.xml`: several reports from one run. Each item is a format
 * name, optionally `=path`; at most one goes to stdout (or to --output).
 */
import { InvalidArgumentError } from 'commander'

export const FORMATS = [
  'text',
  'json',
  'junit',
  'github',
  'markdown',
  'policyreport',
  'sarif',
  'codequality',
] as const
export type Format = (typeof FORMATS)[number]

export interface OutputSpec {
  format: Format
  /** undefined: stdout (or --output) */
  path?: string
}

export function parseFormats(value: string): OutputSpec[] {
  const specs = value.split(',').map((item): OutputSpec => {
    const [name, ...rest] = item.trim().split('=')
    if (!(FORMATS as readonly string[]).includes(name ?? '')) {
      throw new InvalidArgumentError(
        `unknown format '${name}' (expected ${FORMATS.join(', ')}, each optionally =path)`,
      )
    }
    const path = rest.join('=')
    if (rest.length > 0 && path === '')
      throw new InvalidArgumentError(`'${item}': a path is expected after =`)
    return path ? { format: name as Format, path } : { format: name as Format }
  })
  if (specs.filter((s) => s.path === undefined).length > 1) {
    throw new InvalidArgumentError('only one format can go to stdout; give the others a path (format=path)')
  }
  return specs
}
