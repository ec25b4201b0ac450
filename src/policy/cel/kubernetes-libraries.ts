/**
 * The parts of Kubernetes' CEL libraries (k8s.io/apiserver/pkg/cel/library) that checks use, added to
 * cel-js as functions: the lists library, the extra string functions and the regex library. Semantics
 * follow the Kubernetes documentation; errors are thrown as evaluation errors, as the API server does.
 */
import type { Environment } from '@marcbachmann/cel-js'

type Comparable = bigint | number | string | boolean

function compare(a: Comparable, b: Comparable): number {
  if (typeof a !== typeof b && !(typeof a !== 'string' && typeof b !== 'string')) {
    throw new Error(`cannot compare ${typeof a} with ${typeof b}`)
  }
  return a < b ? -1 : a > b ? 1 : 0
}

function same(a: unknown, b: unknown): boolean {
  if (a === b) return true
  if (typeof a === 'bigint' || typeof b === 'bigint' || typeof a === 'number' || typeof b === 'number') {
    // biome-ignore lint/suspicious/noDoubleEquals: CEL compares int and double by value
    return a == b
  }
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => same(x, b[i]))
  if (a && b && typeof a === 'object' && typeof b === 'object') {
    const ka = Object.keys(a)
    const kb = Object.keys(b)
    return (
      ka.length === kb.length &&
      ka.every((k) => same((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]))
    )
  }
  return false
}

function sum(list: readonly unknown[]): bigint | number {
  if (list.length === 0) return 0n
  if (list.every((x) => typeof x === 'bigint')) return (list as bigint[]).reduce((a, b) => a + b, 0n)
  return list.reduce<number>((a, b) => a + Number(b), 0)
}

function extreme(list: readonly Comparable[], sign: 1 | -1): Comparable {
  if (list.length === 0) throw new Error('min/max of an empty list')
  return list.reduce((best, x) => (compare(x, best) * sign > 0 ? x : best))
}

export function addKubernetesLibraries(env: Environment): Environment {
  return (
    env
      // lists
      .registerFunction('list.isSorted(): bool', (l: Comparable[]) =>
        l.every((x, i) => i === 0 || compare(l[i - 1]!, x) <= 0),
      )
      .registerFunction('list.sum(): dyn', (l: unknown[]) => sum(l))
      .registerFunction('list.min(): dyn', (l: Comparable[]) => extreme(l, -1))
      .registerFunction('list.max(): dyn', (l: Comparable[]) => extreme(l, 1))
      .registerFunction('list.flatten(): list', (l: unknown[]) => l.flat(1))
      .registerFunction('list.flatten(int): list', (l: unknown[], depth: bigint) => {
        if (depth < 0n) throw new Error('flatten depth must not be negative')
        return l.flat(Number(depth))
      })
      .registerFunction('list.indexOf(dyn): int', (l: unknown[], x: unknown) =>
        BigInt(l.findIndex((y) => same(x, y))),
      )
      .registerFunction('list.lastIndexOf(dyn): int', (l: unknown[], x: unknown) => {
        for (let i = l.length - 1; i >= 0; i--) if (same(x, l[i])) return BigInt(i)
        return -1n
      })
      // strings (ext)
      .registerFunction('string.charAt(int): string', (s: string, i: bigint) => {
        if (i < 0n || i > BigInt(s.length)) throw new Error(`index out of range: ${i}`)
        return s.charAt(Number(i))
      })
      .registerFunction('string.replace(string, string): string', (s: string, a: string, b: string) =>
        s.replaceAll(a, b),
      )
      .registerFunction(
        'string.replace(string, string, int): string',
        (s: string, a: string, b: string, n: bigint) => {
          let out = s
          let from = 0
          for (let i = 0n; n < 0n || i < n; i++) {
            const at = out.indexOf(a, from)
            if (at < 0) break
            out = out.slice(0, at) + b + out.slice(at + a.length)
            from = at + b.length
          }
          return out
        },
      )
      .registerFunction('string.reverse(): string', (s: string) => [...s].reverse().join(''))
      // regex
      .registerFunction(
        'string.find(string): string',
        (s: string, re: string) => new RegExp(re).exec(s)?.[0] ?? '',
      )
      .registerFunction('string.findAll(string): list<string>', (s: string, re: string) =>
        [...s.matchAll(new RegExp(re, 'g'))].map((m) => m[0]),
      )
      .registerFunction('string.findAll(string, int): list<string>', (s: string, re: string, n: bigint) => {
        const all = [...s.matchAll(new RegExp(re, 'g'))].map((m) => m[0])
        return n < 0n ? all : all.slice(0, Number(n))
      })
  )
}
