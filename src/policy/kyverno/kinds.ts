/**
 * Kind selectors of Kyverno match blocks: `Pod`, `v1/Pod`, `apps/v1/Deployment`, `apps/*\/Deployment`,
 * `Pod/exec` or `Pod.exec` (a subresource), `*\/scale`, `*` and `*\/*`. Parsed once per policy.
 */
import { wildcardMatch } from './wildcard.js'

export interface KindSelector {
  group: string
  version: string
  kind: string
  subresource: string
}

/** The resource side: what a manifest says about itself (no subresource: manifests are whole objects). */
export interface ResourceKind {
  group: string
  version: string
  kind: string
  subresource: string
}

const VERSION = /^(v\d+((alpha|beta)\d+)?|\*)$/

export function parseKindSelector(text: string): KindSelector {
  const slashParts = text.split('/')
  // The last segment may carry a subresource after a dot (`Pod.exec`).
  const parts = [...slashParts.slice(0, -1), ...(slashParts.at(-1) ?? '').split('.')]
  const sel = (group: string, version: string, kind: string, subresource: string) => ({
    group,
    version,
    kind,
    subresource,
  })
  const [a = '', b = '', c = '', d = ''] = parts
  switch (parts.length) {
    case 1:
      return sel('*', '*', a, '')
    case 2:
      if (a === '*' && b === '*') return sel('*', '*', '*', '*')
      if (a === '*' && b.toLowerCase() === b) return sel('*', '*', a, b)
      if (VERSION.test(a)) return sel('*', a, b, '')
      return sel('*', '*', a, b)
    case 3:
      if (VERSION.test(a)) return sel('*', a, b, c)
      return sel(a, b, c, '')
    case 4:
      return sel(a, b, c, d)
    default:
      throw new Error(
        `'${text}' is not a kind: expected Kind, version/Kind, group/version/Kind, with an optional /subresource`,
      )
  }
}

export function kindMatches(sel: KindSelector, res: ResourceKind): boolean {
  return (
    wildcardMatch(sel.group, res.group) &&
    wildcardMatch(sel.version, res.version) &&
    wildcardMatch(sel.kind, res.kind) &&
    wildcardMatch(sel.subresource, res.subresource)
  )
}

/** The kind a selector text names, without group, version or subresource (Kyverno's ContainsKind). */
export function bareKind(text: string): string {
  try {
    return parseKindSelector(text).kind
  } catch {
    return text
  }
}

export function resourceKindOf(apiVersion: string, kind: string): ResourceKind {
  const slash = apiVersion.indexOf('/')
  return slash < 0
    ? { group: '', version: apiVersion, kind, subresource: '' }
    : { group: apiVersion.slice(0, slash), version: apiVersion.slice(slash + 1), kind, subresource: '' }
}
