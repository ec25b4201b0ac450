/**
 * The Pod Security Standards as levels: which level a pod (or a pod template) meets at a version,
 * answered by Plimsoll's own PSS checks (the ones `scan` runs, from the built-in library). Kyverno's
 * podSecurity subrule and the cluster's Pod Security Admission view both ask it.
 */

import type { PssLevel } from '../api-types.js'
import { groupOf, type Resource } from '../resources/types.js'
import { Engine, LATEST_VERSION } from './engine.js'
import { type Library, loadLibrary } from './library.js'
import type { CheckResult } from './result.js'

export { PSS_LEVELS, type PssLevel } from '../api-types.js'

/** The built-in library, read once for every level and version asked. */
let library: Library | undefined
const engines = new Map<string, Engine>()

/** `latest` or `v1.N`, as PSA's `-version` labels write it. */
export function minorOf(version: string): number | undefined {
  if (version === 'latest') return LATEST_VERSION
  const m = /^v1\.(\d+)$/.exec(version)
  return m ? Number(m[1]) : undefined
}

/** The engine of a level's checks (baseline's, or baseline's and restricted's) at a version. */
export function podSecurityEngine(level: 'baseline' | 'restricted', version: string): Engine {
  const key = `${level}@${version}`
  let engine = engines.get(key)
  if (!engine) {
    library ??= loadLibrary({})
    const frameworks = level === 'baseline' ? ['pss-baseline'] : ['pss-baseline', 'pss-restricted']
    const checks = library.checks.filter((c) =>
      c.metadata.controls?.some((ctl) => frameworks.includes(ctl.framework)),
    )
    engine = new Engine(checks, library.podTemplates, { version: minorOf(version) ?? LATEST_VERSION })
    engines.set(key, engine)
  }
  return engine
}

/** An object as a Resource of no file: enough for the engine, positions meaningless. */
export function asResource(object: Record<string, unknown>): Resource {
  const meta = (object.metadata ?? {}) as Record<string, unknown>
  const apiVersion = String(object.apiVersion ?? '')
  const resource: Resource = {
    apiVersion,
    kind: String(object.kind ?? ''),
    group: groupOf(apiVersion),
    name: String(meta.name ?? ''),
    object,
    source: { file: '', documentIndex: 0, position: { line: 1, column: 1 } },
    locate: () => ({ line: 1, column: 1 }),
    detach: () => ({ ...resource, document: undefined }),
  }
  if (typeof meta.namespace === 'string') resource.namespace = meta.namespace
  return resource
}

export interface LevelVerdict {
  /** the highest level the pod meets */
  level: PssLevel
  /** what keeps it from the next level up (empty at restricted) */
  violations: CheckResult[]
}

/** The highest level a pod or pod template meets at `version` (`latest` or `v1.N`). */
export function podSecurityLevel(object: Record<string, unknown>, version: string): LevelVerdict {
  const resource = asResource(object)
  const failures = (level: 'baseline' | 'restricted') =>
    podSecurityEngine(level, version)
      .evaluate(resource)
      .filter((r) => r.status !== 'pass')
  const baseline = failures('baseline')
  if (baseline.length > 0) return { level: 'privileged', violations: baseline }
  const restricted = failures('restricted')
  if (restricted.length > 0) return { level: 'baseline', violations: restricted }
  return { level: 'restricted', violations: [] }
}
