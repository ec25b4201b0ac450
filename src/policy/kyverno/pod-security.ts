/**
 * Kyverno's `podSecurity` subrule, answered by Plimsoll's own Pod Security Standards checks (the same
 * ones `plimsoll scan` runs), which the caller hands in: the level picks the checks, the version picks
 * each check's version entry, and `exclude` entries waive a control's violations (for the images named,
 * and only for the listed values of the restricted field, when given).
 */

import { getPath } from '../../resources/pod-templates.js'
import { parsePath } from '../../resources/types.js'
import type { CheckResult } from '../result.js'
import type { PodSecurityExclusion, Validation } from './policy.js'
import { wildcardMatch } from './wildcard.js'

type PodSecurity = Extract<Validation, { type: 'podSecurity' }>

/** The Pod Security Standards checks of a level (baseline's, or baseline's and restricted's) at a version. */
export interface PodSecurityChecks {
  evaluate(
    level: 'baseline' | 'restricted',
    version: string,
    object: Record<string, unknown>,
  ): readonly CheckResult[]
}

/** Kyverno's control names (those of the Pod Security Admission library) for our PSS check ids. */
const CONTROL_NAMES: Record<string, string> = {
  'pss-host-process': 'HostProcess',
  'pss-host-namespaces': 'Host Namespaces',
  'pss-privileged': 'Privileged Containers',
  'pss-capabilities-baseline': 'Capabilities',
  'pss-capabilities-restricted': 'Capabilities',
  'pss-host-path-volumes': 'HostPath Volumes',
  'pss-host-ports': 'Host Ports',
  'pss-host-probes': 'Host Probes / Lifecycle Hooks',
  'pss-apparmor': 'AppArmor',
  'pss-selinux': 'SELinux',
  'pss-proc-mount': '/proc Mount Type',
  'pss-proc-mount-restricted': '/proc Mount Type',
  'pss-seccomp-baseline': 'Seccomp',
  'pss-seccomp-restricted': 'Seccomp',
  'pss-sysctls': 'Sysctls',
  'pss-volume-types': 'Volume Types',
  'pss-privilege-escalation': 'Privilege Escalation',
  'pss-run-as-non-root': 'Running as Non-root',
  'pss-run-as-user': 'Running as Non-root user',
}

function imageOf(object: Record<string, unknown>, result: CheckResult): string {
  if (!result.path || !result.container) return ''
  const { type, index } = result.container
  const path = parsePath(result.path)
  const at = path.findIndex((seg, i) => seg === type && path[i + 1] === index)
  const container = at >= 0 ? getPath(object, path.slice(0, at + 2)) : undefined
  const image = (container as Record<string, unknown> | undefined)?.image
  return typeof image === 'string' ? image : ''
}

function waived(
  object: Record<string, unknown>,
  result: CheckResult,
  control: string,
  exclusions: readonly PodSecurityExclusion[],
): boolean {
  return exclusions.some((x) => {
    if (x.controlName !== control) return false
    if (x.images && !x.images.some((img) => wildcardMatch(img, imageOf(object, result)))) return false
    if (x.values && result.path) {
      const value = getPath(object, parsePath(result.path))
      const values = Array.isArray(value) ? value : [value]
      return values.every((v) => x.values?.includes(String(v)))
    }
    return true
  })
}

export function evaluatePodSecurity(
  v: PodSecurity,
  object: Record<string, unknown>,
  checks: PodSecurityChecks,
): { ok: true } | { ok: false; message: string } {
  if (v.level === 'privileged') return { ok: true }
  const results = checks.evaluate(v.level, v.version, object)
  const violated = new Map<string, string[]>()
  for (const r of results) {
    if (r.status === 'pass') continue
    const control = CONTROL_NAMES[r.check.id] ?? r.check.title
    if (waived(object, r, control, v.exclude)) continue
    const where = r.path ? ` (${r.path})` : ''
    violated.set(control, [...(violated.get(control) ?? []), `${r.message ?? r.check.title}${where}`])
  }
  if (violated.size === 0) return { ok: true }
  const parts = [...violated].map(([control, msgs]) => `${control}: ${msgs.join('; ')}`)
  return { ok: false, message: `Pod Security ${v.level}:${v.version}: ${parts.join(' | ')}` }
}
