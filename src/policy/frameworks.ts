/**
 * Compliance frameworks (Pod Security Standards, CIS section 5, NSA/CISA) as data: each lists its
 * controls; checks say which controls they implement (`metadata.controls`). A control passes when the
 * checks that implement it applied to at least one resource and none failed.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { load } from 'js-yaml'
import type { CheckMetadata, ComplianceReport, ControlResult, ControlStatus } from '../api-types.js'
import { KUBERNETES_YAML_SCHEMA } from '../resources/yaml-schema.js'

// A compliance report is part of the API's JSON: one definition, in src/api-types.ts.
export type { ComplianceReport, ControlResult, ControlStatus } from '../api-types.js'

export interface FrameworkControl {
  id: string
  title: string
}

export interface Framework {
  id: string
  title: string
  docs?: string
  /** Frameworks whose controls are part of this one (Restricted includes Baseline). */
  includes: string[]
  controls: FrameworkControl[]
}

export function loadFrameworks(dir: string): Map<string, Framework> {
  const out = new Map<string, Framework>()
  for (const name of readdirSync(dir).sort()) {
    if (!/\.ya?ml$/.test(name)) continue
    const file = join(dir, name)
    const raw = load(readFileSync(file, 'utf8'), { schema: KUBERNETES_YAML_SCHEMA }) as Record<
      string,
      unknown
    >
    const meta = (raw?.metadata ?? {}) as Record<string, unknown>
    if (raw?.kind !== 'Framework' || typeof meta.id !== 'string' || !Array.isArray(raw.controls)) {
      throw new Error(`${file}: expected kind: Framework with metadata.id and controls`)
    }
    const framework: Framework = {
      id: meta.id,
      title: String(meta.title ?? meta.id),
      includes: Array.isArray(raw.includes) ? raw.includes.map(String) : [],
      controls: raw.controls.map((c: Record<string, unknown>) => ({
        id: String(c.id),
        title: String(c.title ?? c.id),
      })),
    }
    if (typeof meta.docs === 'string') framework.docs = meta.docs
    out.set(framework.id, framework)
  }
  return out
}

/** The framework and those it includes, in order: each contributes its own controls. */
export function frameworkChain(frameworks: ReadonlyMap<string, Framework>, id: string): Framework[] {
  const chain: Framework[] = []
  const visit = (fid: string) => {
    const f = frameworks.get(fid)
    if (!f || chain.includes(f)) return
    for (const inc of f.includes) visit(inc)
    chain.push(f)
  }
  visit(id)
  return chain
}

export function implementsFramework(check: CheckMetadata, chain: readonly Framework[]): boolean {
  return check.controls.some((c) => chain.some((f) => f.id === c.framework))
}

/** Per check: resources it applied to, and resources on which it failed (excepted findings aside). */
export type CheckStats = Record<string, { applied: number; failed: number }>

export function compliance(
  chain: readonly Framework[],
  checks: readonly CheckMetadata[],
  stats: CheckStats,
): ComplianceReport {
  const controls: ControlResult[] = []
  for (const f of chain) {
    for (const control of f.controls) {
      const ids = checks
        .filter((c) => c.controls.some((x) => x.framework === f.id && x.id === control.id))
        .map((c) => c.id)
      const applied = ids.reduce((n, id) => n + (stats[id]?.applied ?? 0), 0)
      const failed = ids.reduce((n, id) => n + (stats[id]?.failed ?? 0), 0)
      const status: ControlStatus = failed > 0 ? 'fail' : applied > 0 ? 'pass' : 'not-applicable'
      controls.push({ framework: f.id, id: control.id, title: control.title, status, checks: ids, failed })
    }
  }
  const applicable = controls.filter((c) => c.status !== 'not-applicable')
  const passed = applicable.filter((c) => c.status === 'pass').length
  const last = chain[chain.length - 1]!
  return {
    framework: last.id,
    title: last.title,
    controls,
    score: applicable.length === 0 ? 100 : Math.round((passed / applicable.length) * 1000) / 10,
  }
}
