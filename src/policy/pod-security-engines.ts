/**
 * Engines for the Pod Security Standards levels, built from a library of checks the caller provides
 * (loaded on first use): baseline's checks, or baseline's and restricted's, at a version. Kyverno's
 * `podSecurity` subrule is handed one of these (it cannot import the library loader, which loads it),
 * and the cluster's Pod Security Admission view asks the built-in one (pod-security-levels.ts).
 */
import type { PodTemplateTable } from '../resources/pod-templates.js'
import { groupOf, type Resource } from '../resources/types.js'
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
      const frameworks = level === 'baseline' ? ['pss-baseline'] : ['pss-baseline', 'pss-restricted']
      const checks = library.checks.filter((c) =>
        c.metadata.controls?.some((ctl) => frameworks.includes(ctl.framework)),
      )
      engine = new Engine(checks, library.podTemplates, { version: minorOf(version) ?? LATEST_VERSION })
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
