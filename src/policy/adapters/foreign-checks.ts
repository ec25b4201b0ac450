/**
 * Foreign policies (Kyverno, ValidatingPolicy) as checks of the engine: each Kyverno rule, and each
 * CEL-native policy, becomes a check with an id (`<policy>:<rule>`, or `<policy>`), metadata read from
 * the policy's annotations, and findings located in the resource like the native checks' findings.
 */

import { formatPath, type PathSegment, type Resource } from '../../resources/types.js'
import type { MatchResources } from '../admission/match-resources.js'
import type { LiveAdmission } from '../admission/request.js'
import { type CheckMetadata, isSeverity, type Severity } from '../check.js'
import type { ForeignPolicies, NamespaceObjects, ServedKind } from '../foreign-policies.js'
import { kindMatches, resourceKindOf } from '../kyverno/kinds.js'
import type { MatchBlock } from '../kyverno/match.js'
import type { KyvernoPolicy, KyvernoRule } from '../kyverno/policy.js'
import type { CheckResult } from '../result.js'
import { evaluatePolicySet, type PolicyResponse, type PolicySet, requestContext } from './policy-set.js'

export type { NamespaceObjects, ServedKind } from '../foreign-policies.js'

const NO_NAMESPACES: NamespaceObjects = new Map()

function kyvernoWants(policy: KyvernoPolicy, served: ServedKind): boolean {
  const kind = { group: served.group, version: served.version, kind: served.kind, subresource: '' }
  return policy.rules.some(
    (rule) =>
      rule.validation.type !== 'unsupported' &&
      rule.match.filters.some((f) => f.resources.kinds.some((s) => s.kind !== '*' && kindMatches(s, kind))),
  )
}

/** An admission policy's rules name the kind's resource (a rule for every resource is no reason). */
function admissionWants(match: MatchResources, served: ServedKind): boolean {
  return match.resourceRules.some(
    (rule) =>
      (rule.apiGroups.includes('*') || rule.apiGroups.includes(served.group)) &&
      rule.resources.includes(served.resource),
  )
}

function selectsNamespaces(selector: unknown): boolean {
  return typeof selector === 'object' && selector !== null && Object.keys(selector).length > 0
}

function severityOf(annotations: Record<string, string>, scored: boolean): Severity {
  if (!scored) return 'info'
  const s = annotations['policies.kyverno.io/severity']?.toLowerCase()
  return isSeverity(s) ? s : 'medium'
}

function ruleMetadata(policy: KyvernoPolicy, rule: KyvernoRule): CheckMetadata {
  const a = policy.annotations
  const title = a['policies.kyverno.io/title'] ?? policy.name
  const meta: CheckMetadata = {
    id: `${policy.name}:${rule.name}`,
    title: `${title} (rule ${rule.name})`,
    severity: severityOf(a, policy.scored),
    category: 'kyverno',
    controls: [],
  }
  const description = a['policies.kyverno.io/description']
  if (description) meta.rationale = description.trim()
  return meta
}

function celPolicyMetadata(name: string, annotations: Record<string, string>): CheckMetadata {
  const meta: CheckMetadata = {
    id: name,
    title: annotations['policies.kyverno.io/title'] ?? name,
    severity: severityOf(annotations, true),
    category: 'kyverno',
    controls: [],
  }
  const description = annotations['policies.kyverno.io/description']
  if (description) meta.rationale = description.trim()
  return meta
}

/** Kyverno prints a pattern's failing path as `/spec/containers/0/image/`. */
export function kyvernoPath(path: string | undefined): PathSegment[] {
  if (!path) return []
  return path
    .split('/')
    .filter((s) => s !== '')
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s))
}

export class ForeignChecks implements ForeignPolicies {
  private readonly metadata = new Map<string, CheckMetadata>()

  constructor(readonly set: PolicySet) {
    for (const policy of set.kyverno) {
      for (const rule of policy.rules) {
        if (rule.validation.type === 'unsupported') continue
        const meta = ruleMetadata(policy, rule)
        this.metadata.set(meta.id, meta)
      }
    }
    for (const { policy, annotations } of set.validating)
      this.metadata.set(policy.name, celPolicyMetadata(policy.name, annotations))
    for (const binding of set.vap.bindings) {
      const id = `${binding.policyName}:${binding.name}`
      this.metadata.set(id, {
        id,
        title: `ValidatingAdmissionPolicy ${binding.policyName} (binding ${binding.name})`,
        severity: binding.validationActions.includes('Deny') ? 'high' : 'medium',
        category: 'admission',
        controls: [],
      })
    }
  }

  get checks(): CheckMetadata[] {
    return [...this.metadata.values()]
  }

  get size(): number {
    return this.metadata.size
  }

  /** Whether a policy looks at this kind by name (see Engine.wantsKind). */
  wantsKind(served: ServedKind): boolean {
    const { kyverno, validating, vap } = this.set
    return (
      kyverno.some((p) => kyvernoWants(p, served)) ||
      validating.some(({ policy }) => policy.matches.some((m) => admissionWants(m, served))) ||
      vap.policies.some((p) => admissionWants(p.matchConstraints, served))
    )
  }

  get moreOperations(): ReadonlySet<'DELETE' | 'CONNECT'> {
    const { kyverno, validating, vap } = this.set
    const named = [
      ...kyverno.flatMap((p) =>
        p.rules.flatMap((r) => r.match.filters.flatMap((f) => f.resources.operations ?? [])),
      ),
      ...validating.flatMap(({ policy }) =>
        policy.matches.flatMap((m) => m.resourceRules.flatMap((r) => r.operations)),
      ),
      ...vap.policies.flatMap((p) => p.matchConstraints.resourceRules.flatMap((r) => r.operations)),
    ]
    const out = new Set<'DELETE' | 'CONNECT'>()
    for (const op of named) {
      if (op === 'DELETE' || op === '*') out.add('DELETE')
      if (op === 'CONNECT' || op === '*') out.add('CONNECT')
    }
    return out
  }

  /** Whether a policy selects resources by their namespace's labels. */
  get readsNamespaceLabels(): boolean {
    const { kyverno, validating, vap } = this.set
    const kyvernoSelects = (block: MatchBlock | undefined) =>
      block?.filters.some((f) => selectsNamespaces(f.resources.namespaceSelector)) ?? false
    return (
      kyverno.some((p) => p.rules.some((r) => kyvernoSelects(r.match) || kyvernoSelects(r.exclude))) ||
      validating.some(({ policy }) => policy.matches.some((m) => selectsNamespaces(m.namespaceSelector))) ||
      vap.policies.some((p) => selectsNamespaces(p.matchConstraints.namespaceSelector)) ||
      vap.bindings.some((b) => selectsNamespaces(b.matchResources?.namespaceSelector))
    )
  }

  private metaFor(r: PolicyResponse): CheckMetadata | undefined {
    return this.metadata.get(r.rule === undefined ? r.policy : `${r.policy}:${r.rule}`)
  }

  /**
   * The policies' verdicts on a resource: as if it were created by nobody in particular, or, with
   * `admission`, as the API server asked (operation, user, old object, subresource).
   */
  evaluate(
    resource: Resource,
    namespaces: NamespaceObjects = NO_NAMESPACES,
    admission?: LiveAdmission,
  ): CheckResult[] {
    if (this.metadata.size === 0) return []
    const out: CheckResult[] = []
    const responses = evaluatePolicySet(this.set, {
      object: resource.object,
      kind: resourceKindOf(resource.apiVersion, resource.kind),
      ...requestContext(resource, namespaces, admission),
    })
    for (const r of responses) {
      const check = this.metaFor(r)
      if (!check) continue
      if (r.status === 'pass') out.push({ check, resource, status: 'pass' })
      else if (r.status === 'fail' || r.status === 'warn' || r.status === 'error') {
        const path = kyvernoPath(r.path)
        out.push({
          check,
          resource,
          status: r.status === 'error' ? 'error' : 'fail',
          message: r.message || check.title,
          path: formatPath(path),
          position: resource.locate(path),
          ...(r.action ? { action: r.action } : {}),
        })
      }
    }
    return out
  }
}
