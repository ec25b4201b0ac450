/**
 * Kyverno generate rules (ClusterPolicy/Policy) as `kyverno test` runs them offline: the verdict of
 * pkg/engine/background.go (filterRule) and the resources pkg/background/generate (generator.go, data.go,
 * clone.go) makes against the CLI's fake cluster (cmd/cli/kubectl-kyverno/processor/generate.go).
 */
import { describe, expect, it } from 'vitest'
import type { JsonMap } from '../../src/policy/json-map.js'
import { generateForResource } from '../../src/policy/kyverno/generate.js'
import { cleanPolicy as policy, kyvernoRequest as request } from '../helpers/kyverno-policy.js'

const namespace = (name: string, labels: Record<string, string> = {}): JsonMap => ({
  apiVersion: 'v1',
  kind: 'Namespace',
  metadata: { name, labels },
})

const generatePolicy = (generate: string, extra = '') =>
  [
    'apiVersion: kyverno.io/v1',
    'kind: ClusterPolicy',
    'metadata:',
    '  name: gen',
    'spec:',
    '  rules:',
    '  - name: make',
    '    match:',
    '      any:',
    '      - resources:',
    '          kinds: [Namespace]',
    extra,
    '    generate:',
    generate,
  ]
    .filter((l) => l !== '')
    .join('\n')

describe('generate data (generator.go, data.go)', () => {
  it('makes the data, named and placed by the rule, variables substituted, managed by kyverno', () => {
    const p = policy(
      generatePolicy(
        [
          '      apiVersion: v1',
          '      kind: ConfigMap',
          '      name: settings',
          '      namespace: "{{request.object.metadata.name}}"',
          '      synchronize: true',
          '      data:',
          '        data:',
          '          owner: "{{request.object.metadata.labels.team}}"',
        ].join('\n'),
      ),
    )
    const [r] = generateForResource([p], request(namespace('shop', { team: 'web' })), () => [])
    expect(r?.status).toBe('pass')
    expect(r?.generated).toEqual([
      {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: {
          name: 'settings',
          namespace: 'shop',
          labels: { 'app.kubernetes.io/managed-by': 'kyverno' },
        },
        data: { owner: 'web' },
      },
    ])
  })

  it('is skip when the preconditions do not hold, and makes nothing', () => {
    const p = policy(
      generatePolicy(
        '      apiVersion: v1\n      kind: ConfigMap\n      name: c\n      namespace: x\n      data: {data: {a: b}}',
        '    preconditions:\n      all:\n      - key: "{{request.object.metadata.name}}"\n        operator: Equals\n        value: prod',
      ),
    )
    const [r] = generateForResource([p], request(namespace('dev')), () => [])
    expect(r).toMatchObject({ status: 'skip', generated: [] })
  })

  it('keeps the pass verdict but makes nothing when a variable does not resolve, as the CLI only logs it', () => {
    const p = policy(
      generatePolicy(
        '      apiVersion: v1\n      kind: ConfigMap\n      name: c\n      namespace: x\n      data:\n        data:\n          uid: "{{request.object.metadata.uid}}"',
      ),
    )
    const [r] = generateForResource([p], request(namespace('dev')), () => [])
    expect(r?.status).toBe('pass')
    expect(r?.generated).toEqual([])
    expect(r?.note).toMatch(/variable substitution failed/)
  })
})

describe('generate clone and cloneList (clone.go)', () => {
  const source: JsonMap = {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name: 'regcred',
      namespace: 'default',
      uid: '123',
      resourceVersion: '9',
      creationTimestamp: '2024-01-01T00:00:00Z',
      ownerReferences: [{ apiVersion: 'v1', kind: 'X', name: 'o', uid: '1' }],
      labels: { app: 'x' },
    },
    data: { token: 'c2VjcmV0' },
  }

  it('clones the named source into the target, without the metadata the cluster assigns', () => {
    const p = policy(
      generatePolicy(
        '      apiVersion: v1\n      kind: Secret\n      name: regcred\n      namespace: "{{request.object.metadata.name}}"\n      clone:\n        namespace: default\n        name: regcred',
      ),
    )
    const [r] = generateForResource([p], request(namespace('shop')), () => [source])
    expect(r?.generated).toEqual([
      {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: {
          name: 'regcred',
          namespace: 'shop',
          labels: { app: 'x', 'app.kubernetes.io/managed-by': 'kyverno' },
        },
        data: { token: 'c2VjcmV0' },
      },
    ])
  })

  it('makes nothing when the clone source is missing (the CLI logs the error)', () => {
    const p = policy(
      generatePolicy(
        '      apiVersion: v1\n      kind: Secret\n      name: regcred\n      namespace: shop\n      clone:\n        namespace: default\n        name: absent',
      ),
    )
    const [r] = generateForResource([p], request(namespace('shop')), () => [source])
    expect(r).toMatchObject({ status: 'pass', generated: [] })
    expect(r?.note).toMatch(/not found/)
  })

  it('cloneList copies every source of the kinds its selector takes, under their own names', () => {
    const other: JsonMap = { ...source, metadata: { name: 'b', namespace: 'default', labels: { app: 'y' } } }
    const p = policy(
      generatePolicy(
        [
          '      namespace: "{{request.object.metadata.name}}"',
          '      cloneList:',
          '        namespace: default',
          '        kinds: [v1/Secret]',
          '        selector:',
          '          matchLabels:',
          '            app: x',
        ].join('\n'),
      ),
    )
    const [r] = generateForResource([p], request(namespace('shop')), () => [source, other])
    expect(r?.generated.map((g) => (g.metadata as JsonMap).name)).toEqual(['regcred'])
    expect(r?.generated[0]?.metadata).toMatchObject({ namespace: 'shop' })
  })
})

describe('generate foreach (generator.go, generateForeach)', () => {
  it("makes the entry's pattern for each element whose preconditions hold", () => {
    const p = policy(
      generatePolicy(
        [
          '      foreach:',
          "      - list: request.object.metadata.labels.teams | split(@, ',')",
          '        preconditions:',
          '          all:',
          '          - key: "{{ element }}"',
          '            operator: NotEquals',
          '            value: skip',
          '        apiVersion: v1',
          '        kind: ConfigMap',
          '        name: "team-{{ element }}"',
          '        namespace: "{{ request.object.metadata.name }}"',
          '        data:',
          '          data:',
          '            index: "i{{ elementIndex }}"',
        ].join('\n'),
      ),
    )
    const [r] = generateForResource([p], request(namespace('shop', { teams: 'a,skip,b' })), () => [])
    expect(r?.status).toBe('pass')
    expect(r?.generated.map((g) => [(g.metadata as JsonMap).name, g.data])).toEqual([
      ['team-a', { index: 'i0' }],
      ['team-b', { index: 'i2' }],
    ])
  })
})
