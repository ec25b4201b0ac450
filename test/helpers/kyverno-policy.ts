/** A Kyverno policy from YAML text, and the admission request a rule sees, for the Kyverno unit tests. */
import { expect } from 'vitest'
import type { PolicyRequest } from '../../src/policy/kyverno/evaluate.js'
import { resourceKindOf } from '../../src/policy/kyverno/kinds.js'
import { loadKyvernoPolicy } from '../../src/policy/kyverno/load.js'
import { parseSource } from '../../src/resources/parse.js'

/** The policy as loaded, with its problems. */
export function loadPolicyText(yaml: string) {
  const [doc] = parseSource('policy.yaml', yaml).resources
  if (!doc) throw new Error('no document')
  return loadKyvernoPolicy(doc.object, 'policy.yaml', (p) => doc.locate(p).line)
}

/** The policy, which must load without a problem. */
export function cleanPolicy(yaml: string) {
  const loaded = loadPolicyText(yaml)
  expect(loaded.problems).toEqual([])
  return loaded.policy
}

/** A CREATE by an anonymous user, unless `extra` says otherwise. */
export function kyvernoRequest(
  object: Record<string, unknown>,
  extra: Partial<PolicyRequest> = {},
): PolicyRequest {
  return {
    object,
    oldObject: null,
    operation: 'CREATE',
    user: { username: '', groups: [], roles: [], clusterRoles: [] },
    kind: resourceKindOf(String(object.apiVersion), String(object.kind)),
    ...extra,
  }
}

/** A ClusterPolicy of one rule on `kinds`, `body` being the rule's action (`mutate: ...`) indented for it. */
export function oneRulePolicy(policy: string, rule: string, kinds: string, body: string): string {
  return `apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata: {name: ${policy}}
spec:
  rules:
    - name: ${rule}
      match: {any: [{resources: {kinds: [${kinds}]}}]}
${body}`
}
