/**
 * The demo estate's EnforcementConfig, as a team halfway through rolling the webhook out would have it:
 * everything warns by default; payments, done with its security sprint, enforces the Pod Security
 * essentials in its namespaces; unpinned images are refused in the shop, since a rollback shipped `:latest`; docker sockets
 * and other sensitive host paths are refused everywhere but the node agents' namespace; the restricted
 * profile is audited (recorded, not yet shown to users) while the teams get there; a few checks that
 * say nothing at admission are off. The control plane's namespaces (by a wildcard, so the webhook sees
 * and records their requests) and Plimsoll's own are exempt, and so is the platform team's pipeline,
 * which deploys the node agents and the webhook itself.
 *
 * The same configuration twice: as the object the demo's webhook decisions were made with, and as the
 * document (`webhook serve --enforcement`) that `loadEnforcement` reads back to it.
 */
import type { EnforcementConfig } from '../webhook/enforcement.js'

/** The namespaces the teams' workloads run in, the node agents' `monitoring` aside. */
const WORKLOAD_NAMESPACES = ['payments', 'payments-batch', 'shop', 'search', 'data-pipeline', 'analytics']

export const DEMO_ENFORCEMENT: EnforcementConfig = {
  defaultMode: 'warn',
  policyErrors: 'ignore',
  exemptions: {
    usernames: ['system:serviceaccount:platform-ci:deployer'],
    namespaces: ['kube-*', 'plimsoll'],
    runtimeClasses: [],
  },
  rules: [
    {
      name: 'payments-pod-security',
      checks: ['pss-privileged', 'pss-host-namespaces', 'pss-host-path-volumes', 'pss-capabilities-baseline'],
      namespaces: ['payments', 'payments-batch'],
      mode: 'enforce',
    },
    {
      name: 'pinned-images',
      checks: ['image-tag-not-pinned'],
      namespaces: ['shop'],
      mode: 'enforce',
    },
    {
      name: 'no-sensitive-host-paths',
      checks: ['sensitive-host-path'],
      namespaces: WORKLOAD_NAMESPACES,
      mode: 'enforce',
    },
    {
      name: 'restricted-profile',
      checks: [
        'pss-capabilities-restricted',
        'pss-seccomp-restricted',
        'pss-run-as-non-root',
        'pss-run-as-user',
        'pss-privilege-escalation',
        'read-only-root-filesystem',
        'net-raw-not-dropped',
        'run-as-root-group',
      ],
      namespaces: [],
      mode: 'audit',
    },
    {
      name: 'quiet-at-admission',
      checks: [
        'priority-class-missing',
        'replicas-not-spread',
        'mutable-tag-not-pulled',
        'update-strategy-not-rolling',
      ],
      namespaces: [],
      mode: 'off',
    },
  ],
}

/** DEMO_ENFORCEMENT as the file a user would write (docs/admission.md's format). */
export const DEMO_ENFORCEMENT_YAML = `apiVersion: plimsoll.dev/v1alpha1
kind: EnforcementConfig
metadata:
  name: prod-cluster
spec:
  # Everything not named below warns: the request goes in, kubectl shows why it should not have.
  defaultMode: warn
  # A check that cannot be evaluated warns rather than blocks.
  policyErrors: ignore
  exemptions:
    # The platform pipeline deploys the node agents and the webhook itself (PLAT-97).
    usernames:
      - system:serviceaccount:platform-ci:deployer
    # A wildcard: the webhook sees the control plane's requests, and records them as exempt.
    namespaces:
      - kube-*
      - plimsoll
    runtimeClasses: []
  # The first rule that names a check and the namespace decides.
  rules:
    # Payments finished its security sprint: the Pod Security essentials are enforced there.
    - name: payments-pod-security
      checks:
        - pss-privileged
        - pss-host-namespaces
        - pss-host-path-volumes
        - pss-capabilities-baseline
      namespaces: [payments, payments-batch]
      mode: enforce
    # Pinned since the cart rollback that shipped :latest.
    - name: pinned-images
      checks: [image-tag-not-pinned]
      namespaces: [shop]
      mode: enforce
    # No docker socket or host /etc in the teams' namespaces (the node agents in monitoring need /proc).
    - name: no-sensitive-host-paths
      checks: [sensitive-host-path]
      namespaces: [${WORKLOAD_NAMESPACES.join(', ')}]
      mode: enforce
    # The restricted profile: recorded, not yet shown to users, while the teams get there.
    - name: restricted-profile
      checks:
        - pss-capabilities-restricted
        - pss-seccomp-restricted
        - pss-run-as-non-root
        - pss-run-as-user
        - pss-privilege-escalation
        - read-only-root-filesystem
        - net-raw-not-dropped
        - run-as-root-group
      mode: audit
    # Worth a scan, not a word at admission.
    - name: quiet-at-admission
      checks:
        - priority-class-missing
        - replicas-not-spread
        - mutable-tag-not-pulled
        - update-strategy-not-rolling
      mode: "off"
`
