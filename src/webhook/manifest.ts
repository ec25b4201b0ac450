/**
 * The ValidatingWebhookConfiguration that sends the webhook what its policies read, and nothing else:
 * the API server calls a webhook for every request its rules match, so rules for `*` would put the
 * webhook in the path of every Lease renewal and Event. The kinds are those a check or policy names
 * (Engine.wantsKind), as served by the cluster (its discovery) or by Kubernetes' built-in API; the
 * exempt namespaces are left out by a namespaceSelector, the webhook's own service account and the
 * exempt users by matchConditions, so that their requests never leave the API server.
 */
import { dump } from 'js-yaml'
import type { Mutator } from '../policy/adapters/mutator.js'
import type { Engine } from '../policy/engine.js'
import type { ServedKind } from '../policy/foreign-policies.js'
import { hasWildcard } from '../policy/kyverno/wildcard.js'
import type { Exemptions } from './enforcement.js'

export interface ServedResource extends ServedKind {
  readonly namespaced: boolean
}

export interface ManifestOptions {
  /** the configuration's name, and the prefix of its webhook's (`validate.<name>`) */
  readonly name: string
  readonly service: { readonly namespace: string; readonly name: string; readonly port: number }
  /** base64 of the CA that signed the serving certificate */
  readonly caBundle: string
  /** Ignore: the cluster keeps working when the webhook is down (fail-open); Fail: nothing gets in unchecked */
  readonly failurePolicy: 'Fail' | 'Ignore'
  /** 1 to 30 */
  readonly timeoutSeconds: number
  readonly exemptions: Exemptions
  /** the webhook's own service account, whose requests are never sent to it */
  readonly serviceAccount: string
}

interface Rule {
  apiGroups: string[]
  apiVersions: string[]
  operations: string[]
  resources: string[]
  scope: string
}

/** Rules per API group for the resources `wanted`, with the operations given. */
function rulesFor(
  served: readonly ServedResource[],
  wanted: (r: ServedResource) => boolean,
  operations: string[],
  ephemeral: boolean,
): Rule[] {
  const byGroup = new Map<string, Set<string>>()
  for (const resource of served) {
    if (!wanted(resource)) continue
    const resources = byGroup.get(resource.group) ?? new Set<string>()
    resources.add(resource.resource)
    // A Pod's ephemeral containers are written through their own subresource, and judged as the Pod.
    if (ephemeral && resource.group === '' && resource.resource === 'pods')
      resources.add('pods/ephemeralcontainers')
    byGroup.set(resource.group, resources)
  }
  return [...byGroup]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([group, resources]) => ({
      apiGroups: [group],
      apiVersions: ['*'],
      operations,
      resources: [...resources].sort(),
      scope: '*',
    }))
}

/** The validating rules: the resources a check or policy reads, for the operations they judge. */
export function webhookRules(engine: Engine, served: readonly ServedResource[]): Rule[] {
  const operations = ['CREATE', 'UPDATE', ...[...engine.moreOperations].sort()]
  return rulesFor(served, (r) => engine.wantsKind(r), operations, true)
}

/** The mutating rules: the resources a mutating policy may change, as they are created or updated. */
export function mutatingRules(mutator: Mutator, served: readonly ServedResource[]): Rule[] {
  return rulesFor(
    served,
    (r) => mutator.mutatesKind(r.group ? `${r.group}/${r.version}` : r.version, r.kind, r.namespaced),
    ['CREATE', 'UPDATE'],
    // Mutations shape the object itself: its subresources are left alone (mutate.ts).
    false,
  )
}

/** A CEL string literal. */
const quoted = (text: string) => `'${text.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`

/**
 * The configuration of one webhook: validating (`/validate`) or mutating (`/mutate`, asked again if a
 * later mutating webhook changed the object, as Kyverno's is).
 */
export function webhookConfiguration(
  type: 'Validating' | 'Mutating',
  options: ManifestOptions,
  rules: readonly Rule[],
): string {
  const verb = type === 'Validating' ? 'validate' : 'mutate'
  const namespaces = options.exemptions.namespaces.filter((n) => !hasWildcard(n))
  const users = [options.serviceAccount, ...options.exemptions.usernames]
  const doc = {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: `${type}WebhookConfiguration`,
    metadata: { name: options.name, labels: { 'app.kubernetes.io/name': 'plimsoll' } },
    webhooks: [
      {
        // Unique within its configuration is enough; the configuration carries the install's name.
        name: `${verb}.plimsoll.dev`,
        admissionReviewVersions: ['v1', 'v1beta1'],
        clientConfig: {
          service: { ...options.service, path: `/${verb}` },
          caBundle: options.caBundle,
        },
        rules,
        failurePolicy: options.failurePolicy,
        matchPolicy: 'Equivalent',
        sideEffects: 'None',
        ...(type === 'Mutating' ? { reinvocationPolicy: 'IfNeeded' } : {}),
        timeoutSeconds: options.timeoutSeconds,
        // Namespaces with wildcards are left to the webhook, which exempts them itself.
        ...(namespaces.length > 0
          ? {
              namespaceSelector: {
                matchExpressions: [
                  { key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: namespaces },
                ],
              },
            }
          : {}),
        matchConditions: [
          {
            name: 'not-exempt-users',
            expression: `!(request.userInfo.username in [${users.map(quoted).join(', ')}])`,
          },
        ],
      },
    ],
  }
  return `# Generated by plimsoll webhook manifest: the kinds the loaded checks and policies read.\n${dump(doc, { noRefs: true, lineWidth: 120 })}`
}
