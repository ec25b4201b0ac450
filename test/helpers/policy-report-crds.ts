/**
 * The wgpolicyk8s.io PolicyReport and ClusterPolicyReport CRDs, v1alpha2, with the schema of
 * kubernetes-sigs/wg-policy-prototypes (policy-report/crd/v1alpha2/, descriptions left out), for
 * installing into the local control plane as `kubectl create -f` installs them into a cluster.
 * `severities` gives an older CRD's enum (before 2022 it listed only high, low and medium).
 */

const string = { type: 'string' }

const objectReference = {
  type: 'object',
  properties: Object.fromEntries(
    ['apiVersion', 'fieldPath', 'kind', 'name', 'namespace', 'resourceVersion', 'uid'].map((k) => [
      k,
      string,
    ]),
  ),
}

const labelSelector = {
  type: 'object',
  properties: {
    matchExpressions: {
      type: 'array',
      items: {
        type: 'object',
        required: ['key', 'operator'],
        properties: { key: string, operator: string, values: { type: 'array', items: string } },
      },
    },
    matchLabels: { type: 'object', additionalProperties: string },
  },
}

function schema(severities: readonly string[]) {
  return {
    type: 'object',
    properties: {
      apiVersion: string,
      kind: string,
      metadata: { type: 'object' },
      results: {
        type: 'array',
        items: {
          type: 'object',
          required: ['policy'],
          properties: {
            category: string,
            message: string,
            policy: string,
            properties: { type: 'object', additionalProperties: string },
            resourceSelector: labelSelector,
            resources: { type: 'array', items: objectReference },
            result: { type: 'string', enum: ['pass', 'fail', 'warn', 'error', 'skip'] },
            rule: string,
            scored: { type: 'boolean' },
            severity: { type: 'string', enum: [...severities] },
            source: string,
            timestamp: {
              type: 'object',
              required: ['nanos', 'seconds'],
              properties: {
                nanos: { type: 'integer', format: 'int32' },
                seconds: { type: 'integer', format: 'int64' },
              },
            },
          },
        },
      },
      scope: objectReference,
      scopeSelector: labelSelector,
      summary: {
        type: 'object',
        properties: Object.fromEntries(
          ['error', 'fail', 'pass', 'skip', 'warn'].map((k) => [k, { type: 'integer' }]),
        ),
      },
    },
  }
}

const columns = [
  { jsonPath: '.scope.kind', name: 'Kind', priority: 1, type: 'string' },
  { jsonPath: '.scope.name', name: 'Name', priority: 1, type: 'string' },
  ...['Pass', 'Fail', 'Warn', 'Error', 'Skip'].map((n) => ({
    jsonPath: `.summary.${n.toLowerCase()}`,
    name: n,
    type: 'integer',
  })),
  { jsonPath: '.metadata.creationTimestamp', name: 'Age', type: 'date' },
]

function crd(kind: 'PolicyReport' | 'ClusterPolicyReport', severities: readonly string[]) {
  const plural = `${kind.toLowerCase()}s`
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${plural}.wgpolicyk8s.io` },
    spec: {
      group: 'wgpolicyk8s.io',
      names: {
        kind,
        listKind: `${kind}List`,
        plural,
        shortNames: [kind === 'PolicyReport' ? 'polr' : 'cpolr'],
        singular: kind.toLowerCase(),
      },
      scope: kind === 'PolicyReport' ? 'Namespaced' : 'Cluster',
      versions: [
        {
          name: 'v1alpha2',
          served: true,
          storage: true,
          additionalPrinterColumns: columns,
          schema: { openAPIV3Schema: schema(severities) },
          subresources: {},
        },
      ],
    },
  }
}

export const CURRENT_SEVERITIES = ['critical', 'high', 'low', 'medium', 'info'] as const

export function policyReportCrds(severities: readonly string[] = CURRENT_SEVERITIES) {
  return [crd('PolicyReport', severities), crd('ClusterPolicyReport', severities)]
}
