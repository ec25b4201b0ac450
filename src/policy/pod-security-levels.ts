/**
 * The Pod Security Standards as levels: which level a pod (or a pod template) meets at a version,
 * answered by Plimsoll's own PSS checks (the ones `scan` runs, from the built-in library). The cluster's
 * Pod Security Admission view asks it; Kyverno's podSecurity subrule is handed the same engines.
 */

import type { PssLevel } from '../api-types.js'
import type { Engine } from './engine.js'
import { builtinPodSecurity } from './library.js'
import { asResource } from './pod-security-engines.js'
import type { CheckResult } from './result.js'

export { PSS_LEVELS, type PssLevel } from '../api-types.js'
export { asResource, minorOf } from './pod-security-engines.js'

/** The engine of a level's built-in checks (baseline's, or baseline's and restricted's) at a version. */
export function podSecurityEngine(level: 'baseline' | 'restricted', version: string): Engine {
  return builtinPodSecurity.engine(level, version)
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
