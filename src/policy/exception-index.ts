/**
 * Exception rules compiled for matching. A register grows to tens of thousands of rules, nearly all of
 * them "this check on this resource" (what the dashboard's Accept as debt creates); trying each in turn
 * for every finding made `scan --store` an order of magnitude slower. The index files each rule under
 * the exact values it names (check, kind, namespace, name: whichever have no glob), so a finding looks up
 * a few keys and tries only the rules filed there; only a rule with no exact part at all (`checks: ["*"]`)
 * is tried for every finding. The answer is the one a linear `rules.find(r => ruleMatches(r, subject))`
 * gives: the first matching rule in file order.
 */
import { type ExceptionRule, type ExceptionSubject, ruleMatches } from './exceptions.js'

type Dimension = 'checks' | 'kinds' | 'namespaces' | 'names'

const SUBJECT_FIELD = {
  checks: 'checkId',
  kinds: 'kind',
  namespaces: 'namespace',
  names: 'name',
} as const satisfies Record<Dimension, keyof ExceptionSubject>

/**
 * The sets of dimensions rules are filed by, most selective first. A rule goes under the first whose
 * dimensions it gives exactly; kinds alone select too little to be worth a lookup of their own.
 */
const SHAPES: readonly (readonly Dimension[])[] = [
  ['checks', 'kinds', 'namespaces', 'names'],
  ['checks', 'namespaces', 'names'],
  ['checks', 'names'],
  ['checks', 'namespaces'],
  ['checks'],
  ['namespaces', 'names'],
  ['names'],
  ['namespaces'],
  [],
]

/** Past this many combinations of its values, a rule is filed under a shape with fewer dimensions. */
const MAX_KEYS_PER_RULE = 64

const isGlob = (s: string) => s.includes('*') || s.includes('?')

/** An empty list means any value, so it is not exact either. */
function fits(rule: ExceptionRule, shape: readonly Dimension[]): boolean {
  let keys = 1
  for (const d of shape) {
    const values = rule[d]
    if (values.length === 0 || values.some(isGlob)) return false
    keys *= values.length
  }
  return keys <= MAX_KEYS_PER_RULE
}

function keysOf(rule: ExceptionRule, shape: readonly Dimension[]): string[] {
  let keys = ['']
  for (const [i, d] of shape.entries())
    keys = keys.flatMap((k) => rule[d].map((v) => (i === 0 ? v : `${k}\u0000${v}`)))
  return keys
}

/** Rule positions under one key, ascending: the first match found in a list is its earliest. */
type Positions = number[]

interface Bucket {
  shape: readonly Dimension[]
  byKey: Map<string, Positions>
}

export class ExceptionIndex {
  /** only the shapes some rule is filed under, so a lookup tries no empty map */
  private readonly buckets: Bucket[]

  constructor(private readonly rules: readonly ExceptionRule[]) {
    const all: Bucket[] = SHAPES.map((shape) => ({ shape, byKey: new Map() }))
    rules.forEach((rule, position) => {
      const bucket = all.find((b) => fits(rule, b.shape))!
      for (const key of keysOf(rule, bucket.shape)) {
        const list = bucket.byKey.get(key)
        if (!list) bucket.byKey.set(key, [position])
        // A value listed twice gives the same key twice; positions arrive in order, so it is the last.
        else if (list[list.length - 1] !== position) list.push(position)
      }
    })
    this.buckets = all.filter((b) => b.byKey.size > 0)
  }

  /** The first rule, in order, that matches the subject. */
  find(s: ExceptionSubject): ExceptionRule | undefined {
    let best = Number.POSITIVE_INFINITY
    for (const { shape, byKey } of this.buckets) {
      const positions = byKey.get(shape.map((d) => s[SUBJECT_FIELD[d]]).join('\u0000'))
      if (!positions) continue
      for (const p of positions) {
        if (p >= best) break
        // The key proves the exact parts; globs in the other dimensions, and labels, need the full test.
        if (ruleMatches(this.rules[p]!, s)) {
          best = p
          break
        }
      }
    }
    return best === Number.POSITIVE_INFINITY ? undefined : this.rules[best]
  }
}

// Rules reach worker threads as plain data (structured clone): each thread builds its own index, once
// per list, whichever file it scans first.
const built = new WeakMap<readonly ExceptionRule[], ExceptionIndex>()

export function exceptionIndex(rules: readonly ExceptionRule[]): ExceptionIndex {
  let index = built.get(rules)
  if (!index) {
    index = new ExceptionIndex(rules)
    built.set(rules, index)
  }
  return index
}
