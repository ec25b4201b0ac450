/**
 * The webhook's enforcement rules: modes per check and namespace (first matching rule, else what the
 * policy declares, else the default), PSA's exemptions, and a config file whose every mistake is said
 * with its line.
 */
import { describe, expect, it } from 'vitest'
import { defaultEnforcement, exemptionOf, loadEnforcement, modeFor } from '../../src/webhook/enforcement.js'

const CONFIG = `apiVersion: plimsoll.dev/v1alpha1
kind: EnforcementConfig
metadata:
  name: default
spec:
  defaultMode: audit
  policyErrors: fail
  exemptions:
    usernames: [system:serviceaccount:kube-system:replicaset-controller]
    namespaces: [kube-system, "sandbox-*"]
    runtimeClasses: [gvisor]
  rules:
    - name: restricted in production
      checks: ["pss-restricted-*"]
      namespaceSelector:
        matchLabels: { tier: prod }
      mode: enforce
    - name: privileged anywhere
      checks: [pss-baseline-privileged]
      mode: enforce
    - checks: ["*"]
      namespaces: ["team-*"]
      objectSelector:
        matchExpressions:
          - { key: plimsoll.dev/legacy, operator: Exists }
      mode: off
`

describe('EnforcementConfig', () => {
  const loaded = loadEnforcement('enforcement.yaml', CONFIG)
  if (!loaded.ok) throw new Error(loaded.problems.join('\n'))
  const { config } = loaded

  it('picks the first rule that matches the check, the namespace (names or labels) and the object', () => {
    const prod = { username: 'alice', namespace: 'shop', namespaceLabels: { tier: 'prod' } }
    const dev = { username: 'alice', namespace: 'shop', namespaceLabels: { tier: 'dev' } }
    expect(modeFor(config, 'pss-restricted-run-as-non-root', prod)).toBe('enforce')
    expect(modeFor(config, 'pss-restricted-run-as-non-root', dev)).toBe('audit')
    expect(modeFor(config, 'pss-baseline-privileged', dev)).toBe('enforce')
    const legacy = { username: 'bob', namespace: 'team-a', objectLabels: { 'plimsoll.dev/legacy': 'true' } }
    expect(modeFor(config, 'pss-baseline-privileged', legacy)).toBe('enforce') // an earlier rule
    expect(modeFor(config, 'latest-tag', legacy)).toBe('off')
    expect(modeFor(config, 'latest-tag', { ...legacy, objectLabels: {} })).toBe('audit')
  })

  it("keeps a policy's own action (Kyverno's failureAction, a VAP binding's validationActions) when no rule speaks", () => {
    const subject = { username: 'alice', namespace: 'shop' }
    expect(modeFor(config, 'require-labels/check-team', subject, 'enforce')).toBe('enforce')
    expect(modeFor(config, 'pss-baseline-privileged', subject, 'audit')).toBe('enforce')
  })

  it('exempts usernames, namespaces (with wildcards) and runtime classes, as Pod Security Admission does', () => {
    expect(
      exemptionOf(config, {
        username: 'system:serviceaccount:kube-system:replicaset-controller',
        namespace: 'shop',
      }),
    ).toBe('user system:serviceaccount:kube-system:replicaset-controller is exempt')
    expect(exemptionOf(config, { username: 'alice', namespace: 'sandbox-42' })).toBe(
      'namespace sandbox-42 is exempt',
    )
    expect(exemptionOf(config, { username: 'alice', namespace: 'shop', runtimeClassName: 'gvisor' })).toBe(
      'runtime class gvisor is exempt',
    )
    expect(exemptionOf(config, { username: 'alice', namespace: 'shop' })).toBeUndefined()
    // A list given replaces the defaults: here Plimsoll's own namespace is not exempt.
    expect(exemptionOf(config, { username: 'alice', namespace: 'plimsoll' })).toBeUndefined()
  })

  it('warns by default and exempts kube-system and its own namespace', () => {
    const d = defaultEnforcement('guardrails')
    expect(modeFor(d, 'pss-baseline-privileged', { username: 'a', namespace: 'shop' })).toBe('warn')
    expect(exemptionOf(d, { username: 'a', namespace: 'guardrails' })).toBe('namespace guardrails is exempt')
    expect(exemptionOf(d, { username: 'a', namespace: 'kube-system' })).toBe(
      'namespace kube-system is exempt',
    )
  })

  it('says every mistake with its file and line', () => {
    const broken = CONFIG.replace('defaultMode: audit', 'defaultMode: block')
      .replace('mode: off', 'mode: silent')
      .replace('operator: Exists', 'operator: Exist')
      .replace('checks: [pss-baseline-privileged]', 'checks: []')
    const result = loadEnforcement('enforcement.yaml', broken)
    expect(result.ok).toBe(false)
    expect(!result.ok && result.problems).toEqual([
      "enforcement.yaml:6: spec.defaultMode: expected one of enforce, warn, audit, off, got 'block'",
      'enforcement.yaml:19: spec.rules[1].checks: required: expected a non-empty list',
      "enforcement.yaml:25: spec.rules[2].objectSelector.matchExpressions[0].operator: expected one of In, NotIn, Exists, DoesNotExist, got 'Exist'",
      "enforcement.yaml:26: spec.rules[2].mode: expected one of enforce, warn, audit, off, got 'silent'",
    ])
    expect(loadEnforcement('e.yaml', 'kind: Deployment\napiVersion: apps/v1\n')).toEqual({
      ok: false,
      problems: ['e.yaml: expected one EnforcementConfig (apiVersion plimsoll.dev/v1alpha1), found 0'],
    })
    const bad = loadEnforcement(
      'e.yaml',
      'apiVersion: plimsoll.dev/v1alpha1\nkind: EnforcementConfig\nspec: [\n',
    )
    expect(bad.ok).toBe(false)
    expect(!bad.ok && bad.problems[0]).toMatch(/^e\.yaml:\d+: /)
  })
})
