/**
 * Kyverno mutate rules (ClusterPolicy/Policy) as `kyverno test` applies them. Each case names the Kyverno
 * code whose behaviour it pins: pkg/engine/mutate/patch/strategicPreprocessing.go (anchors),
 * kustomize kyaml merge2 as pkg/engine/mutate/patch/strategicMergePatch.go calls it (merge semantics),
 * pkg/engine/mutate/patch/patchJSON6902.go (RFC 6902 options), pkg/engine/handlers/mutation/common.go
 * (foreach), pkg/engine/mutation.go and cmd/cli/kubectl-kyverno/processor/policy_processor.go (order).
 */
import { describe, expect, it } from 'vitest'
import type { JsonMap } from '../../src/policy/json-map.js'
import { resolveOverlay } from '../../src/policy/kyverno/mutate/anchors-merge.js'
import { applyJson6902 } from '../../src/policy/kyverno/mutate/json6902.js'
import { mutateResource } from '../../src/policy/kyverno/mutate/policies.js'
import { strategicMerge } from '../../src/policy/kyverno/mutate/strategic-merge.js'
import { cleanPolicy as policy, kyvernoRequest as request } from '../helpers/kyverno-policy.js'

const pod = (spec: JsonMap, metadata: JsonMap = { name: 'p', namespace: 'default' }): JsonMap => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata,
  spec,
})

/** A ClusterPolicy of the given rules (YAML, indented under `rules:`). */
const clusterPolicy = (name: string, rules: string) =>
  `apiVersion: kyverno.io/v1\nkind: ClusterPolicy\nmetadata:\n  name: ${name}\nspec:\n  rules:\n${rules}`

const mutateRule = (name: string, mutate: string, extra = '') =>
  `  - name: ${name}\n    match:\n      any:\n      - resources:\n          kinds: [Pod]\n${extra}    mutate:\n${mutate}`

/** Merges an overlay with anchors into a resource, as patchStrategicMerge does. */
const overlay = (resource: JsonMap, patch: unknown) =>
  strategicMerge(resource, resolveOverlay(patch, resource))

describe('patchStrategicMerge anchors (strategicPreprocessing.go)', () => {
  it('+(key) adds a field only when the resource lacks it', () => {
    const r = pod({}, { name: 'p', annotations: { keep: 'old' } })
    const out = overlay(r, { metadata: { annotations: { '+(keep)': 'new', '+(add)': 'yes' } } })
    expect((out.metadata as JsonMap).annotations).toEqual({ keep: 'old', add: 'yes' })
  })

  it('(key) conditions a map: a failed condition patches nothing', () => {
    const r = pod({ containers: [{ name: 'c', image: 'nginx:1' }] })
    expect(resolveOverlay({ spec: { '(hostNetwork)': true, dnsPolicy: 'X' } }, r)).toEqual({})
    const held = overlay(
      { ...r, spec: { ...(r.spec as JsonMap), hostNetwork: true } },
      {
        spec: { '(hostNetwork)': true, dnsPolicy: 'X' },
      },
    )
    expect((held.spec as JsonMap).dnsPolicy).toBe('X')
  })

  it('(key) in a list of maps patches each matching item, named after it', () => {
    const r = pod({
      containers: [
        { name: 'a', image: 'nginx:latest' },
        { name: 'b', image: 'nginx:1.2' },
      ],
    })
    const out = overlay(r, { spec: { containers: [{ '(image)': '*:latest', imagePullPolicy: 'Always' }] } })
    expect((out.spec as JsonMap).containers).toEqual([
      { name: 'a', image: 'nginx:latest', imagePullPolicy: 'Always' },
      { name: 'b', image: 'nginx:1.2' },
    ])
  })

  it('+(key) in a list item is resolved on one copy for every item: a later item that has the field gets it too', () => {
    // processListOfMaps copies the pattern element once, before the loop over the resource's items:
    // the first container without runAsNonRoot unanchors the key, and the sidecar's false is replaced.
    const r = pod({
      containers: [
        { name: 'app', image: 'nginx:1.27' },
        { name: 'sidecar', image: 'envoy:1.31', securityContext: { runAsNonRoot: false } },
      ],
    })
    const patch = { spec: { containers: [{ '(name)': '*', securityContext: { '+(runAsNonRoot)': true } }] } }
    const out = overlay(r, patch)
    expect((out.spec as JsonMap).containers).toEqual([
      { name: 'app', image: 'nginx:1.27', securityContext: { runAsNonRoot: true } },
      { name: 'sidecar', image: 'envoy:1.31', securityContext: { runAsNonRoot: true } },
    ])
    // The sidecar first: the copy keeps the anchor (the field is dropped from it), so neither gets it.
    const reversed = pod({ containers: [...((r.spec as JsonMap).containers as JsonMap[])].reverse() })
    expect((overlay(reversed, patch).spec as JsonMap).containers).toEqual([
      { name: 'sidecar', image: 'envoy:1.31', securityContext: { runAsNonRoot: false } },
      { name: 'app', image: 'nginx:1.27' },
    ])
  })

  it('<(key) is global: when no item holds it the whole patch is dropped', () => {
    const patch = {
      metadata: { annotations: { '+(safe)': 'true' } },
      spec: { volumes: [{ '<(emptyDir)': {} }] },
    }
    const without = pod({ volumes: [{ name: 'v', hostPath: { path: '/x' } }] })
    expect(overlay(without, patch)).toEqual(without)
    const withDir = pod({ volumes: [{ name: 'v', emptyDir: {} }] })
    expect(((overlay(withDir, patch).metadata as JsonMap).annotations as JsonMap).safe).toBe('true')
  })

  it('X(key) and =(key) work inside a condition, checked as a validate pattern', () => {
    const r = pod({ containers: [{ name: 'a', securityContext: { privileged: true } }, { name: 'b' }] })
    const out = overlay(r, {
      spec: {
        containers: [{ '(securityContext)': { 'X(privileged)': 'null' }, env: [{ name: 'E', value: '1' }] }],
      },
    })
    // `a` has privileged (negation fails), `b` has no securityContext (condition fails): nothing changes.
    expect(out).toEqual(r)
    const eq = overlay(r, {
      spec: {
        containers: [{ '(securityContext)': { '=(privileged)': true }, env: [{ name: 'E', value: '1' }] }],
      },
    })
    // The condition holds for `a` only. Kyverno's anchor removal strips only conditional and global
    // anchors, so the `=()` key under the condition is written into the resource as it is.
    expect((eq.spec as JsonMap).containers).toEqual([
      {
        name: 'a',
        securityContext: { privileged: true, '=(privileged)': true },
        env: [{ name: 'E', value: '1' }],
      },
      { name: 'b' },
    ])
  })
})

describe('strategic merge (kyaml merge2, lists prepended)', () => {
  it('merges containers by name: the patch items first, then the others', () => {
    const r = pod({
      containers: [
        { name: 'a', image: 'a' },
        { name: 'b', image: 'b' },
      ],
    })
    const out = strategicMerge(r, {
      spec: {
        containers: [
          { name: 'b', image: 'b2' },
          { name: 'c', image: 'c' },
        ],
      },
    })
    expect((out.spec as JsonMap).containers).toEqual([
      { name: 'b', image: 'b2' },
      { name: 'c', image: 'c' },
      { name: 'a', image: 'a' },
    ])
  })

  it('replaces lists the schema does not merge, and every list of an unknown kind', () => {
    const r = pod({ containers: [{ name: 'a', args: ['x', 'y'] }], tolerations: [{ key: 'k' }] })
    const out = strategicMerge(r, {
      spec: { tolerations: [{ key: 'z' }], containers: [{ name: 'a', args: ['z'] }] },
    })
    expect((out.spec as JsonMap).tolerations).toEqual([{ key: 'z' }])
    expect(((out.spec as JsonMap).containers as JsonMap[])[0]!.args).toEqual(['z'])
    const crd = { apiVersion: 'x.io/v1', kind: 'Thing', spec: { items: [{ name: 'a' }, { name: 'b' }] } }
    expect(strategicMerge(crd, { spec: { items: [{ name: 'c' }] } }).spec).toEqual({ items: [{ name: 'c' }] })
  })

  it('$patch: delete removes a list item or a map; $patch: replace replaces a map or a list', () => {
    const r = pod({
      containers: [{ name: 'a' }, { name: 'b' }],
      securityContext: { runAsUser: 1, runAsGroup: 2 },
      volumes: [{ name: 'v1' }, { name: 'v2' }],
    })
    const out = strategicMerge(r, {
      spec: {
        containers: [{ name: 'a', $patch: 'delete' }],
        securityContext: { $patch: 'replace', fsGroup: 3 },
        volumes: [{ $patch: 'replace' }, { name: 'v3' }],
      },
    })
    const spec = out.spec as JsonMap
    expect(spec.containers).toEqual([{ name: 'b' }])
    expect(spec.securityContext).toEqual({ fsGroup: 3 })
    expect(spec.volumes).toEqual([{ name: 'v3' }])
    expect(strategicMerge(r, { spec: { securityContext: { $patch: 'delete' } } }).spec).not.toHaveProperty(
      'securityContext',
    )
  })

  it('a null deletes a field; a value of another type is an error', () => {
    const r = pod({ hostNetwork: true, dnsPolicy: 'x' })
    expect(strategicMerge(r, { spec: { hostNetwork: null } }).spec).toEqual({ dnsPolicy: 'x' })
    expect(() => strategicMerge(r, { spec: { dnsPolicy: { a: 1 } } })).toThrow(/wrong node kind/)
  })
})

describe('patchesJson6902 (evanphx/json-patch with Kyverno options)', () => {
  it('adds with ~1 escapes, appends with -, creates the missing path, and ignores a missing remove', () => {
    const r = pod({ containers: [{ name: 'a' }] }, { name: 'p' })
    const out = applyJson6902(
      r,
      [
        '- op: add',
        '  path: /metadata/labels/app.kubernetes.io~1name',
        '  value: web',
        '- op: add',
        '  path: /spec/containers/0/securityContext/capabilities/add/-',
        '  value: SETFCAP',
        '- op: remove',
        '  path: /spec/nothing',
      ].join('\n'),
    )
    expect((out.metadata as JsonMap).labels).toEqual({ 'app.kubernetes.io/name': 'web' })
    expect(((out.spec as JsonMap).containers as JsonMap[])[0]).toEqual({
      name: 'a',
      securityContext: { capabilities: { add: ['SETFCAP'] } },
    })
  })

  it('moves, copies and tests as RFC 6902 says; a failed test is an error', () => {
    const r = pod({ dnsPolicy: 'x' }, { name: 'p', labels: { a: '1' } })
    const out = applyJson6902(
      r,
      '[{"op":"test","path":"/spec/dnsPolicy","value":"x"},{"op":"copy","from":"/metadata/labels/a","path":"/metadata/labels/b"},{"op":"move","from":"/spec/dnsPolicy","path":"/spec/policy"}]',
    )
    expect(out.metadata).toEqual({ name: 'p', labels: { a: '1', b: '1' } })
    expect(out.spec).toEqual({ policy: 'x' })
    expect(() => applyJson6902(r, '[{"op":"test","path":"/spec/dnsPolicy","value":"y"}]')).toThrow(/test/)
  })

  it('replace needs its target; the JSON form is read too', () => {
    const r = pod({ dnsPolicy: 'x' })
    expect(() => applyJson6902(r, '[{"op":"replace","path":"/spec/absent","value":1}]')).toThrow(/missing/)
    expect(applyJson6902(r, '[{"op":"replace","path":"/spec/dnsPolicy","value":"y"}]').spec).toEqual({
      dnsPolicy: 'y',
    })
  })
})

describe('mutate rules, foreach and order', () => {
  it('foreach walks each element with element/elementIndex and per-element preconditions', () => {
    const p = policy(
      clusterPolicy(
        'caps',
        mutateRule(
          'add-cap',
          [
            '      foreach:',
            '      - list: request.object.spec.containers',
            '        preconditions:',
            '          all:',
            '          - key: "{{ element.name }}"',
            '            operator: NotEquals',
            '            value: sidecar',
            '        patchesJson6902: |-',
            '          - op: add',
            '            path: /spec/containers/{{elementIndex}}/env',
            '            value: [{name: INDEX, value: "{{elementIndex}}"}]',
          ].join('\n'),
        ),
      ),
    )
    const { responses, resource } = mutateResource(
      [p],
      request(pod({ containers: [{ name: 'app' }, { name: 'sidecar' }] })),
    )
    expect(responses.map((r) => r.status)).toEqual(['pass'])
    expect((resource.spec as JsonMap).containers).toEqual([
      { name: 'app', env: [{ name: 'INDEX', value: '0' }] },
      { name: 'sidecar' },
    ])
  })

  it('nested foreach sees element0 and element1; a patchStrategicMerge foreach keeps the list order', () => {
    const p = policy(
      clusterPolicy(
        'nested',
        mutateRule(
          'tag-ports',
          [
            '      foreach:',
            '      - list: request.object.spec.containers',
            '        foreach:',
            '        - list: element.ports',
            '          patchStrategicMerge:',
            '            metadata:',
            '              annotations:',
            '                "{{element0.name}}-{{element1.containerPort}}": "i{{elementIndex1}}"',
          ].join('\n'),
        ),
      ),
    )
    const r = pod({
      containers: [
        { name: 'a', ports: [{ containerPort: 80 }, { containerPort: 81 }] },
        { name: 'b', ports: [{ containerPort: 90 }] },
      ],
    })
    const { resource } = mutateResource([p], request(r))
    expect((resource.metadata as JsonMap).annotations).toEqual({ 'a-80': 'i0', 'a-81': 'i1', 'b-90': 'i0' })
    expect(resource.spec).toEqual(r.spec)
  })

  it('rule preconditions not met skip the rule; a patch that changes nothing is skip', () => {
    const p = policy(
      clusterPolicy(
        'conds',
        mutateRule(
          'only-update',
          '      patchStrategicMerge:\n        spec:\n          dnsPolicy: None\n',
          '    preconditions:\n      all:\n      - key: "{{request.operation}}"\n        operator: Equals\n        value: UPDATE\n',
        ) +
          '\n' +
          mutateRule('same', '      patchStrategicMerge:\n        spec:\n          dnsPolicy: Default\n'),
      ),
    )
    const { responses } = mutateResource([p], request(pod({ dnsPolicy: 'Default' })))
    expect(responses.map((r) => [r.rule.name, r.status])).toEqual([
      ['only-update', 'skip'],
      ['same', 'skip'],
    ])
  })

  it('applies policies in order, rules in order, each seeing the previous output, then validate sees it', () => {
    const first = policy(
      clusterPolicy(
        'first',
        mutateRule(
          'set',
          '      patchStrategicMerge:\n        metadata:\n          labels:\n            step: one\n',
        ),
      ),
    )
    const second = policy(
      clusterPolicy(
        'second',
        mutateRule(
          'copy',
          '      patchStrategicMerge:\n        metadata:\n          labels:\n            copied: "{{request.object.metadata.labels.step}}"\n',
        ),
      ),
    )
    const { responses, resource } = mutateResource(
      [first, second],
      request(pod({}, { name: 'p', labels: {} })),
    )
    expect(responses.map((r) => [r.policy.name, r.status])).toEqual([
      ['first', 'pass'],
      ['second', 'pass'],
    ])
    expect((resource.metadata as JsonMap).labels).toEqual({ step: 'one', copied: 'one' })
    expect(responses[0]!.patched).toEqual({
      ...responses[0]!.patched,
      metadata: { name: 'p', labels: { step: 'one' } },
    })
  })

  it('autogen rewrites a Pod patch under spec.template for controllers (Kyverno autogen for mutate)', () => {
    const p = policy(
      clusterPolicy(
        'auto',
        mutateRule(
          'label',
          '      patchStrategicMerge:\n        metadata:\n          labels:\n            +(team): core\n',
        ),
      ),
    )
    expect(p.rules.map((r) => r.name)).toEqual(['label', 'autogen-label', 'autogen-cronjob-label'])
    const deploy = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'd', namespace: 'default' },
      spec: { template: { metadata: { labels: { app: 'x' } }, spec: { containers: [{ name: 'c' }] } } },
    }
    const { resource } = mutateResource([p], request(deploy))
    expect(((resource.spec as JsonMap).template as JsonMap).metadata).toEqual({
      labels: { app: 'x', team: 'core' },
    })
  })

  it("runs a policy's rules in order, each seeing what the previous one patched", () => {
    const p = policy(
      clusterPolicy(
        'chain',
        mutateRule(
          'one',
          '      patchStrategicMerge:\n        metadata:\n          labels:\n            tier: gold\n',
        ) +
          '\n' +
          mutateRule(
            'two',
            '      patchStrategicMerge:\n        metadata:\n          annotations:\n            tier: "{{request.object.metadata.labels.tier}}"\n',
          ),
      ),
    )
    const { responses, resource } = mutateResource([p], request(pod({})))
    expect(responses.map((r) => r.status)).toEqual(['pass', 'pass'])
    expect((resource.metadata as JsonMap).annotations).toEqual({ tier: 'gold' })
  })

  it('is an error when a variable does not resolve, leaving the resource as it was', () => {
    const p = policy(
      clusterPolicy(
        'broken',
        mutateRule(
          'x',
          '      patchStrategicMerge:\n        metadata:\n          labels:\n            a: "{{request.object.spec.nothing}}"\n',
        ),
      ),
    )
    const r = pod({})
    const { responses, resource } = mutateResource([p], request(r))
    expect(responses[0]).toMatchObject({ status: 'error' })
    expect(responses[0]!.message).toMatch(/failed to patch resource: .*nothing/)
    expect(resource).toEqual(r)
  })

  it('walks a patchesJson6902 foreach first element first, and in order: Descending last first', () => {
    const rules = (order: string) =>
      mutateRule(
        `r${order || 'default'}`,
        [
          '      foreach:',
          '      - list: request.object.spec.containers',
          order ? `        order: ${order}` : '',
          '        patchesJson6902: |-',
          '          - op: add',
          '            path: /metadata/annotations/seen',
          '            value: "{{element.name}}"',
        ]
          .filter((l) => l !== '')
          .join('\n'),
      )
    const last = (order: string) =>
      (
        mutateResource(
          [policy(clusterPolicy('o', rules(order)))],
          request(pod({ containers: [{ name: 'a' }, { name: 'b' }] }, { name: 'p', annotations: {} })),
        ).resource.metadata as JsonMap
      ).annotations
    expect(last('')).toEqual({ seen: 'b' })
    expect(last('Descending')).toEqual({ seen: 'a' })
  })

  it('reports mutateExisting (targets) as unsupported offline', () => {
    const p = policy(
      clusterPolicy(
        'existing',
        mutateRule(
          't',
          '      targets:\n      - apiVersion: v1\n        kind: ConfigMap\n      patchStrategicMerge:\n        data:\n          a: b\n',
        ),
      ),
    )
    const { responses } = mutateResource([p], request(pod({})))
    expect(responses[0]!.status).toBe('unsupported')
    expect(responses[0]!.message).toMatch(/mutateExisting/)
  })
})
