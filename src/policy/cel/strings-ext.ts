/**
 * `'…'.format([args])` from cel-go's strings extension, which Kubernetes enables for admission policies
 * (cel-js has the rest of that extension: lowerAscii, split, join, substring, indexOf...). Supported
 * verbs: %s, %d, %f and %.Nf, %e, %x, %X, %o, %b and %%; anything else is an evaluation error, as an
 * unknown verb is to cel-go.
 */
import type { Environment } from '@marcbachmann/cel-js'

function display(value: unknown): string {
  if (typeof value === 'string') return value
  if (typeof value === 'bigint' || typeof value === 'boolean') return String(value)
  if (typeof value === 'number') return Number.isInteger(value) ? value.toFixed(1) : String(value)
  if (value === null || value === undefined) return 'null'
  if (Array.isArray(value)) return `[${value.map(display).join(', ')}]`
  if (value instanceof Map)
    return `{${[...value].map(([k, v]) => `${display(k)}: ${display(v)}`).join(', ')}}`
  if (typeof value === 'object') {
    return `{${Object.entries(value)
      .map(([k, v]) => `${k}: ${display(v)}`)
      .join(', ')}}`
  }
  return String(value)
}

function integer(value: unknown, verb: string): bigint {
  if (typeof value === 'bigint') return value
  throw new Error(`format: %${verb} expects an integer, got ${typeof value}`)
}

function float(value: unknown, verb: string): number {
  if (typeof value === 'number' || typeof value === 'bigint') return Number(value)
  throw new Error(`format: %${verb} expects a number, got ${typeof value}`)
}

function radix(value: unknown, verb: string, base: number): string {
  if (typeof value === 'string' && (verb === 'x' || verb === 'X')) {
    return [...Buffer.from(value, 'utf8')].map((b) => b.toString(16).padStart(2, '0')).join('')
  }
  const n = integer(value, verb)
  return n < 0n ? `-${(-n).toString(base)}` : n.toString(base)
}

function formatOne(verb: string, precision: number | undefined, value: unknown): string {
  switch (verb) {
    case 's':
      return display(value)
    case 'd':
      return integer(value, verb).toString()
    case 'f':
      return float(value, verb).toFixed(precision ?? 6)
    case 'e':
      return float(value, verb)
        .toExponential(precision ?? 6)
        .replace(/e([+-])(\d)$/, 'e$10$2')
    case 'x':
      return radix(value, verb, 16)
    case 'X':
      return radix(value, verb, 16).toUpperCase()
    case 'o':
      return radix(value, verb, 8)
    case 'b':
      return radix(value, verb, 2)
    default:
      throw new Error(`format: unsupported verb %${verb}`)
  }
}

export function formatString(template: string, args: readonly unknown[]): string {
  let next = 0
  return template.replace(/%(?:\.(\d+))?([a-zA-Z%])/g, (_, precision: string | undefined, verb: string) => {
    if (verb === '%') return '%'
    if (next >= args.length) throw new Error(`format: too few arguments for '${template}'`)
    return formatOne(verb, precision === undefined ? undefined : Number(precision), args[next++])
  })
}

export function addStringsExtension(env: Environment): Environment {
  return env.registerFunction('string.format(list): string', (s: string, args: unknown[]) =>
    formatString(s, args),
  )
}
