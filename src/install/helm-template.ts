/**
 * One object, built by the topology builder with sentinel values in place of the chart's values, as
 * Go-template YAML text: every sentinel becomes the template expression of its value, every other
 * scalar is written as js-yaml writes it for `plimsoll install` (quoted where YAML 1.1 would misread
 * it), and literal `{{` is escaped so that Go's template parser leaves the text alone (the monitoring
 * objects carry Prometheus' and Grafana's own `{{ $labels.x }}`).
 */
import { dump } from 'js-yaml'
import type { Obj } from './pod.js'

/** A value of the chart: what it stands for in the builder's output, and its template expression. */
export interface Sentinel {
  /** the string or whole number passed to the builder in its place */
  value: string | number
  /** a Go template expression for the value, e.g. `.Values.image` */
  expression: string
}

const escapeBraces = (text: string) => text.replaceAll('{{', '{{"{{"}}')

/** Splits a string at the string sentinels it contains: literal pieces and expressions. */
function pieces(text: string, sentinels: readonly Sentinel[]): { literal: boolean; text: string }[] {
  const strings = sentinels.filter((s): s is Sentinel & { value: string } => typeof s.value === 'string')
  const out: { literal: boolean; text: string }[] = []
  let rest = text
  for (;;) {
    let first: { at: number; sentinel: Sentinel & { value: string } } | undefined
    for (const sentinel of strings) {
      const at = rest.indexOf(sentinel.value)
      if (at >= 0 && (!first || at < first.at)) first = { at, sentinel }
    }
    if (!first) break
    if (first.at > 0) out.push({ literal: true, text: rest.slice(0, first.at) })
    out.push({ literal: false, text: first.sentinel.expression })
    rest = rest.slice(first.at + first.sentinel.value.length)
  }
  if (rest !== '' || out.length === 0) out.push({ literal: true, text: rest })
  return out
}

/** A Go string literal (JSON's quoting is a subset of Go's for the strings JSON.stringify writes). */
const goString = (text: string) => JSON.stringify(text)

function scalar(value: unknown, sentinels: readonly Sentinel[]): string {
  if (typeof value === 'number') {
    const sentinel = sentinels.find((s) => s.value === value)
    return sentinel ? `{{ ${sentinel.expression} }}` : String(value)
  }
  if (typeof value === 'string') {
    const parts = pieces(value, sentinels)
    if (parts.every((p) => p.literal)) {
      // A line break would make js-yaml write a block scalar, whose indentation is the caller's:
      // JSON's double quotes are YAML too and stay on one line.
      return escapeBraces(
        value.includes('\n') ? JSON.stringify(value) : dump(value, { lineWidth: -1 }).trimEnd(),
      )
    }
    // toJson quotes whatever the value is (a namespace named `yes`, an image with a colon) as YAML reads it.
    const operands = parts.map((p) => (p.literal ? goString(p.text) : p.text))
    const joined = operands.length === 1 ? operands[0] : `(print ${operands.join(' ')})`
    return `{{ ${joined} | toJson }}`
  }
  if (typeof value === 'boolean' || value === null) return String(value)
  throw new Error(`helm template: cannot write a ${typeof value} as a YAML scalar`)
}

function key(name: string, sentinels: readonly Sentinel[]): string {
  if (pieces(name, sentinels).some((p) => !p.literal))
    throw new Error(`helm template: the key '${name}' holds a chart value; only values may`)
  return escapeBraces(dump(name, { lineWidth: -1 }).trimEnd())
}

const isEmpty = (value: unknown) =>
  (Array.isArray(value) && value.length === 0) ||
  (typeof value === 'object' && value !== null && !Array.isArray(value) && Object.keys(value).length === 0)

const isNested = (value: unknown) => typeof value === 'object' && value !== null && !isEmpty(value)

function block(value: unknown, indent: number, sentinels: readonly Sentinel[]): string {
  const pad = ' '.repeat(indent)
  if (Array.isArray(value)) {
    return value
      .map((item) => {
        if (!isNested(item)) return `${pad}- ${inline(item, sentinels)}\n`
        // The item's lines at two more spaces, its first line's indentation turned into the dash.
        const text = block(item, indent + 2, sentinels)
        return `${pad}- ${text.slice(indent + 2)}`
      })
      .join('')
  }
  return Object.entries(value as Obj)
    .map(([k, v]) =>
      isNested(v)
        ? `${pad}${key(k, sentinels)}:\n${block(v, indent + 2, sentinels)}`
        : `${pad}${key(k, sentinels)}: ${inline(v, sentinels)}\n`,
    )
    .join('')
}

function inline(value: unknown, sentinels: readonly Sentinel[]): string {
  if (Array.isArray(value)) return '[]'
  if (typeof value === 'object' && value !== null) return '{}'
  return scalar(value, sentinels)
}

/** The object as YAML template text, ending in a line break. */
export function templateOf(object: Obj, sentinels: readonly Sentinel[]): string {
  return block(object, 0, sentinels)
}

/** Plain text (NOTES.txt) with its sentinels as `{{ expression }}`. */
export function textTemplateOf(text: string, sentinels: readonly Sentinel[]): string {
  return pieces(text, sentinels)
    .map((p) => (p.literal ? escapeBraces(p.text) : `{{ ${p.text} }}`))
    .join('')
}
