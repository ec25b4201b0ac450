/**
 * Pod Security Admission, namespace by namespace: what each namespace's `pod-security.kubernetes.io/*`
 * labels enforce, warn and audit, which level each running pod meets, and the question teams ask before
 * tightening a namespace: what breaks? For each stricter level (and, when the level is pinned to an old
 * version, for `latest`), the running pods the API server would refuse, as it warns when the label
 * changes ("existing pods in namespace ... violate the new PodSecurity enforce level").
 */
import type {
  NamespacePodSecurity,
  PodVerdict,
  PsaMode,
  PsaSetting,
  PssLevel,
  WhatBreaks,
} from '../api-types.js'
import { minorOf, PSS_LEVELS, podSecurityLevel } from '../policy/pod-security-levels.js'
import type { LiveState } from './live-state.js'

export const PSA_LABEL_PREFIX = 'pod-security.kubernetes.io/'
const MODES = ['enforce', 'warn', 'audit'] as const

function settingOf(labels: Record<string, unknown>, mode: PsaMode): PsaSetting | undefined {
  const level = labels[`${PSA_LABEL_PREFIX}${mode}`]
  const version = labels[`${PSA_LABEL_PREFIX}${mode}-version`]
  if (level === undefined && version === undefined) return undefined
  const v = typeof version === 'string' && minorOf(version) !== undefined ? version : 'latest'
  if (typeof level === 'string' && (PSS_LEVELS as readonly string[]).includes(level)) {
    const out: PsaSetting = { level: level as PssLevel, version: v }
    if (version !== undefined && v !== version) out.invalid = `version '${String(version)}'`
    return out
  }
  // An invalid level is judged as the strictest, as the admission plugin does with what it cannot read.
  if (level === undefined) return { level: 'privileged', version: v }
  return { level: 'restricted', version: 'latest', invalid: `level '${String(level)}'` }
}

const rank = (level: PssLevel) => PSS_LEVELS.indexOf(level)

function ownerOf(object: Record<string, unknown>): string | undefined {
  const refs = (
    object.metadata as { ownerReferences?: { kind?: string; name?: string; controller?: boolean }[] }
  )?.ownerReferences
  const ref = refs?.find((r) => r.controller) ?? refs?.[0]
  return ref?.kind && ref.name ? `${ref.kind}/${ref.name}` : undefined
}

/** Levels computed per pod and version, kept while the pod's text is the same. */
export class PodSecurityView {
  private readonly cache = new Map<string, { json: string; byVersion: Map<string, PodVerdict> }>()

  constructor(private readonly state: LiveState) {}

  private verdict(key: string, json: string, version: string): PodVerdict {
    let entry = this.cache.get(key)
    if (entry?.json !== json) {
      entry = { json, byVersion: new Map() }
      this.cache.set(key, entry)
    }
    let v = entry.byVersion.get(version)
    if (!v) {
      const object = JSON.parse(json) as Record<string, unknown>
      const { level, violations } = podSecurityLevel(object, version)
      v = {
        name: String((object.metadata as { name?: unknown }).name ?? ''),
        level,
        violations: [...new Set(violations.map((r) => r.check.id))],
      }
      const owner = ownerOf(object)
      if (owner) v.owner = owner
      entry.byVersion.set(version, v)
    }
    return v
  }

  private runningPods(namespace: string): { key: string; json: string }[] {
    const out: { key: string; json: string }[] = []
    for (const o of this.state.objectsIn(namespace, { group: '', kind: 'Pod' })) {
      const phase = (JSON.parse(o.json) as { status?: { phase?: string } }).status?.phase
      if (phase !== 'Succeeded' && phase !== 'Failed') out.push(o)
    }
    return out
  }

  namespace(name: string): NamespacePodSecurity {
    const nsObject = this.state.namespaces.get(name)
    const labels = ((nsObject?.metadata as { labels?: Record<string, unknown> } | undefined)?.labels ??
      {}) as Record<string, unknown>
    const modes: Partial<Record<PsaMode, PsaSetting>> = {}
    for (const mode of MODES) {
      const setting = settingOf(labels, mode)
      if (setting) modes[mode] = setting
    }
    const enforced = modes.enforce ?? { level: 'privileged' as const, version: 'latest' }
    const pods = this.runningPods(name)
    const atEnforced = pods.map((p) => this.verdict(p.key, p.json, enforced.version))
    const levels = { privileged: 0, baseline: 0, restricted: 0 }
    for (const v of atEnforced) levels[v.level]++
    // The stricter settings: the same level at latest when pinned to an older version, and each
    // stricter level at the pinned version and at latest.
    const candidates: { level: PssLevel; version: string }[] = []
    const pinned = enforced.version !== 'latest'
    if (pinned && enforced.level !== 'privileged')
      candidates.push({ level: enforced.level, version: 'latest' })
    for (const level of ['baseline', 'restricted'] as const) {
      if (rank(level) <= rank(enforced.level)) continue
      if (pinned) candidates.push({ level, version: enforced.version })
      candidates.push({ level, version: 'latest' })
    }
    const whatBreaks: WhatBreaks[] = candidates.map(({ level, version }) => ({
      level,
      version,
      pods: pods.map((p) => this.verdict(p.key, p.json, version)).filter((v) => rank(v.level) < rank(level)),
    }))
    return {
      namespace: name,
      modes,
      pods: pods.length,
      levels,
      violating: atEnforced.filter((v) => rank(v.level) < rank(enforced.level)),
      whatBreaks,
    }
  }

  all(): NamespacePodSecurity[] {
    const live = new Set<string>()
    const out = this.state.namespaceNames().map((ns) => {
      for (const p of this.runningPods(ns)) live.add(p.key)
      return this.namespace(ns)
    })
    for (const key of this.cache.keys()) if (!live.has(key)) this.cache.delete(key)
    return out
  }
}
