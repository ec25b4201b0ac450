/**
 * Kyverno's wildcards: `*` matches any run of characters (also none), `?` exactly one. Used by names,
 * namespaces, kinds, annotations and label selectors in match/exclude blocks. Compiled patterns are cached:
 * a policy set names a few hundred patterns, matched against every resource.
 */
const cache = new Map<string, RegExp>()

function compile(pattern: string): RegExp {
  let re = cache.get(pattern)
  if (!re) {
    const body = pattern
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '[\\s\\S]*')
      .replace(/\?/g, '[\\s\\S]')
    re = new RegExp(`^${body}$`)
    cache.set(pattern, re)
  }
  return re
}

export function hasWildcard(pattern: string): boolean {
  return pattern.includes('*') || pattern.includes('?')
}

export function wildcardMatch(pattern: string, value: string): boolean {
  if (!hasWildcard(pattern)) return pattern === value
  return compile(pattern).test(value)
}
