/**
 * Engines for the Pod Security Standards levels, built from a library of checks the caller provides
 * (loaded on first use): baseline's checks, or baseline's and restricted's, at a version. Kyverno's
 * `podSecurity` subrule is handed one of these (it cannot import the library loader, which loads it),
 * and the cluster's Pod Security Admission view asks the built-in one (pod-security-levels.ts).
 */
import type { PodTemplateTable } from '../resources/pod-templates.js'
import { groupOf, type Resource } from '../resources/types.js'
import { severityRank } from './check.js'
import type { CompiledCheck } from './compile.js'
import { Engine, LATEST_VERSION } from './engine.js'
import type { CheckResult } from './result.js'

export interface CheckLibrary {
  checks: readonly CompiledCheck[]
  podTemplates: PodTemplateTable
}

/** `latest` or `v1.N`, as PSA's `-version` labels write it. */
export function minorOf(version: string): number | undefined {
  if (version === 'latest') return LATEST_VERSION
  const m = /^v1\.(\d+)$/.exec(version)
  return m ? Number(m[1]) : undefined
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

/**
 * Restricted controls that replace a Baseline one, by control id (pss-restricted -> pss-baseline), as
 * Pod Security Admission's registry declares them (`OverrideCheckIDs`): at the Restricted level, from the
 * version at which the Restricted check applies, PSA runs the stricter check instead of the Baseline
 * one, so a pod adding SYS_ADMIN is told once about its capabilities, and a hostPath volume is one
 * "restricted volume type", not also a "hostPath volume".
 */
export const RESTRICTED_SUPERSEDES: Readonly<Record<string, string>> = {
  capabilities: 'capabilities',
  seccomp: 'seccomp',
  'proc-mount': 'proc-mount',
  'volume-types': 'host-path-volumes',
}

function controlIds(check: CompiledCheck, framework: string): string[] {
  return (check.metadata.controls ?? []).filter((c) => c.framework === framework).map((c) => c.id)
}

/**
 * Checks as they stand at the Restricted level at a minor version: the Baseline checks a Restricted
 * check in force at that version supersedes (RESTRICTED_SUPERSEDES) are left out, and that Restricted
 * check answers for their Baseline control too (a compliance report's Baseline "Capabilities" row is
 * then the Restricted check's verdict, as PSA enforces it), at the higher of the two severities, so that
 * what failed `--fail-on high` as a Baseline finding still does. In force is by version alone, as in
 * PSA: a Restricted check that exempts a pod (Windows pods, from v1.25) still replaces the Baseline one
 * for it. Checks of neither level pass through unchanged.
 */
export function atRestrictedLevel(checks: readonly CompiledCheck[], minor: number): CompiledCheck[] {
  const answersFor = new Map<CompiledCheck, string[]>()
  for (const c of checks) {
    if (!c.ruleSets.some((rs) => rs.since <= minor)) continue
    const baseline = controlIds(c, 'pss-restricted')
      .map((id) => RESTRICTED_SUPERSEDES[id])
      .filter((id): id is string => id !== undefined)
    if (baseline.length > 0) answersFor.set(c, baseline)
  }
  const superseded = new Set([...answersFor.values()].flat())
  const replaced = (c: CompiledCheck) => {
    const baseline = controlIds(c, 'pss-baseline')
    return (
      baseline.length > 0 &&
      controlIds(c, 'pss-restricted').length === 0 &&
      baseline.every((id) => superseded.has(id))
    )
  }
  const gone = checks.filter(replaced)
  const out: CompiledCheck[] = []
  for (const c of checks) {
    if (replaced(c)) continue
    const extra = answersFor.get(c)
    if (!extra) {
      out.push(c)
      continue
    }
    let severity = c.metadata.severity
    for (const g of gone)
      if (
        controlIds(g, 'pss-baseline').some((id) => extra.includes(id)) &&
        severityRank(g.metadata.severity) > severityRank(severity)
      )
        severity = g.metadata.severity
    out.push({
      ...c,
      metadata: {
        ...c.metadata,
        severity,
        controls: [...c.metadata.controls, ...extra.map((id) => ({ framework: 'pss-baseline', id }))],
      },
    })
  }
  return out
}

export class PodSecurityEngines {
  private library: CheckLibrary | undefined
  private readonly engines = new Map<string, Engine>()

  constructor(private readonly load: () => CheckLibrary) {}

  /** The engine of a level's checks (baseline's, or baseline's and restricted's) at a version. */
  engine(level: 'baseline' | 'restricted', version: string): Engine {
    const key = `${level}@${version}`
    let engine = this.engines.get(key)
    if (!engine) {
      const library = this.library ?? this.load()
      this.library = library
      const minor = minorOf(version) ?? LATEST_VERSION
      const checks =
        level === 'baseline'
          ? library.checks.filter((c) => controlIds(c, 'pss-baseline').length > 0)
          : atRestrictedLevel(
              library.checks.filter(
                (c) => controlIds(c, 'pss-baseline').length > 0 || controlIds(c, 'pss-restricted').length > 0,
              ),
              minor,
            )
      engine = new Engine(checks, library.podTemplates, { version: minor })
      this.engines.set(key, engine)
    }
    return engine
  }

  evaluate(
    level: 'baseline' | 'restricted',
    version: string,
    object: Record<string, unknown>,
  ): CheckResult[] {
    return this.engine(level, version).evaluate(asResource(object))
  }
}
