import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { loadAll } from 'js-yaml'
import { describe, expect, it } from 'vitest'
import {
  checkPattern,
  matchAnyPattern,
  matchPattern,
  PatternError,
} from '../../src/policy/kyverno/pattern.js'
import { matchValue } from '../../src/policy/kyverno/value-operators.js'
import { corpusPath } from '../helpers/corpus.js'

type Status = 'pass' | 'fail' | 'skip'

const status = (resource: unknown, pattern: unknown): Status => matchPattern(resource, pattern).status

describe('value patterns', () => {
  it.each([
    ['nginx:1.2', '*:*', true],
    ['nginx', '*:*', false],
    ['nginx:latest', '!*:latest', false],
    ['nginx:1.2', '!*:latest', true],
    ['', '?*', false],
    [undefined, '?*', false],
    ['x', '?*', true],
    [5, '?*', true],
    ['IfNotPresent', 'Always | IfNotPresent', true],
    ['Never', 'Always | IfNotPresent', false],
    ['team-a', 'team-* & !team-b', true],
    ['team-b', 'team-* & !team-b', false],
  ])('%j against %j is %s', (value, pattern, expected) => {
    expect(matchValue(value, pattern)).toBe(expected)
  })

  it('compares quantities whatever their units', () => {
    expect(matchValue('2Gi', '>1Gi')).toBe(true)
    expect(matchValue('512Mi', '>1Gi')).toBe(false)
    expect(matchValue('250m', '<=500m')).toBe(true)
    expect(matchValue('1', '<=500m')).toBe(false)
    expect(matchValue(8, '<4|8')).toBe(true)
    expect(matchValue('1024Mi', '<=2048Mi')).toBe(true)
  })

  it('compares durations', () => {
    expect(matchValue('90m', '>1h')).toBe(true)
    expect(matchValue('30s', '>1h')).toBe(false)
    expect(matchValue('1h30m', '<=2h')).toBe(true)
  })

  it('treats a missing value as zero in comparisons, as Kyverno does', () => {
    expect(matchValue(undefined, '>0')).toBe(false)
    expect(matchValue(undefined, '<1')).toBe(true)
    expect(matchValue(1000, '>0')).toBe(true)
  })

  it('checks ranges and their negation', () => {
    expect(matchValue(5, '1-10')).toBe(true)
    expect(matchValue(11, '1-10')).toBe(false)
    expect(matchValue('300m', '100m-1')).toBe(true)
    expect(matchValue(11, '1!-10')).toBe(true)
    expect(matchValue(5, '1!-10')).toBe(false)
  })

  it('follows Kyverno type rules for numbers, booleans and null', () => {
    expect(matchValue('80', 80)).toBe(true)
    expect(matchValue(80, 80)).toBe(true)
    expect(matchValue('eighty', 80)).toBe(false)
    expect(matchValue(false, 'false')).toBe(true)
    expect(matchValue('false', false)).toBe(false)
    expect(matchValue(false, false)).toBe(true)
    for (const zero of [null, undefined, 0, '', false]) expect(matchValue(zero, null)).toBe(true)
    expect(matchValue('x', null)).toBe(false)
    expect(matchValue({}, null)).toBe(false)
    // Kyverno prints floats in Go's exponent notation before wildcard matching them.
    expect(matchValue(1.5, '1.5E+00')).toBe(true)
    expect(matchValue(1.5, '1.5')).toBe(true)
  })
})

describe('plain patterns', () => {
  const pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'web', labels: { app: 'web' } },
    spec: {
      containers: [{ name: 'nginx', image: 'nginx:latest', resources: { limits: { memory: '2Gi' } } }],
    },
  }

  it('passes when every field matches', () => {
    expect(status(pod, { metadata: { labels: { app: '?*' } } })).toBe('pass')
  })

  it('fails at the path Kyverno prints, with a trailing slash', () => {
    const result = matchPattern(pod, { spec: { containers: [{ image: '!*:latest' }] } })
    expect(result).toMatchObject({ status: 'fail', path: '/spec/containers/0/image/' })
  })

  it('requires every item of a list to match a single-item pattern list', () => {
    const two = { spec: { containers: [{ image: 'a:1' }, { image: 'b:latest' }] } }
    expect(matchPattern(two, { spec: { containers: [{ image: '!*:latest' }] } })).toMatchObject({
      status: 'fail',
      path: '/spec/containers/1/image/',
    })
  })

  it('reports a missing map as a mismatch at its own path', () => {
    expect(matchPattern(pod, { spec: { securityContext: { runAsNonRoot: true } } })).toMatchObject({
      status: 'fail',
      path: '/spec/securityContext/',
    })
  })

  it('lets "*" accept any present value, and fail at the parent path when the field is absent or null', () => {
    expect(status(pod, { spec: { containers: [{ resources: '*' }] } })).toBe('pass')
    expect(matchPattern(pod, { spec: { containers: [{ livenessProbe: '*' }] } })).toMatchObject({
      status: 'fail',
      path: '/spec/containers/0/',
    })
    const nullProbe = { spec: { containers: [{ livenessProbe: null }] } }
    expect(status(nullProbe, { spec: { containers: [{ livenessProbe: '*' }] } })).toBe('fail')
  })

  it('lets a null pattern accept an absent field', () => {
    expect(status(pod, { spec: { containers: [{ name: '*', livenessProbe: null }] } })).toBe('pass')
  })

  it('applies a scalar pattern list to every item of a scalar list', () => {
    const caps = { add: ['NET_BIND_SERVICE', 'CHOWN'] }
    expect(status(caps, { add: ['NET_BIND_SERVICE | CHOWN'] })).toBe('pass')
    expect(status(caps, { add: ['NET_BIND_SERVICE'] })).toBe('fail')
  })

  it('expands wildcard label and annotation keys against the resource', () => {
    const labelled = {
      metadata: { labels: { 'foo/aa?': 'bar', 'foo/789': 'bar' }, annotations: { 'test/bar': 'v1' } },
    }
    expect(status(labelled, { metadata: { labels: { 'foo/a*': 'bar' } } })).toBe('pass')
    expect(status(labelled, { metadata: { annotations: { 'test/b??': 'v*' } } })).toBe('pass')
    const other = { metadata: { labels: { 'foo/AB?': 'bar', 'foo/ABC': 'bar2' } } }
    expect(matchPattern(other, { metadata: { labels: { 'foo/ABC*': 'bar' } } })).toMatchObject({
      status: 'fail',
      path: '/metadata/labels/foo/ABC/',
    })
    const xyz = { metadata: { labels: { 'foo/XYZ': 'bar' } } }
    expect(matchPattern(xyz, { metadata: { labels: { 'foo/X*': 'bar', 'foo/A*': 'bar2' } } })).toMatchObject({
      status: 'fail',
      path: '/metadata/labels/foo/A*/',
    })
  })
})

describe('anchors', () => {
  it('equality anchors check a field only when it is present', () => {
    const pattern = { spec: { '=(hostNetwork)': false } }
    expect(status({ spec: {} }, pattern)).toBe('pass')
    expect(status({ spec: { hostNetwork: false } }, pattern)).toBe('pass')
    expect(matchPattern({ spec: { hostNetwork: true } }, pattern)).toMatchObject({
      status: 'fail',
      path: '/spec/hostNetwork/',
    })
  })

  it('negation anchors fail when the field is present, even as null', () => {
    const pattern = { spec: { '=(volumes)': [{ 'X(hostPath)': 'null' }] } }
    expect(status({ spec: { volumes: [{ name: 'a', emptyDir: {} }] } }, pattern)).toBe('pass')
    expect(
      matchPattern({ spec: { volumes: [{ name: 'a', hostPath: { path: '/' } }] } }, pattern),
    ).toMatchObject({
      status: 'fail',
      path: '/spec/volumes/0/hostPath/',
    })
    expect(status({ spec: { volumes: [{ hostPath: null }] } }, pattern)).toBe('fail')
  })

  it('existence anchors need at least one matching item', () => {
    const pattern = { spec: { '^(containers)': [{ image: 'nginx:*' }] } }
    expect(status({ spec: { containers: [{ image: 'busybox' }, { image: 'nginx:1' }] } }, pattern)).toBe(
      'pass',
    )
    expect(matchPattern({ spec: { containers: [{ image: 'busybox' }] } }, pattern)).toMatchObject({
      status: 'fail',
      path: '/spec/containers/',
    })
    expect(status({ spec: {} }, pattern)).toBe('pass')
    expect(status({ spec: { containers: 'nginx' } }, pattern)).toBe('fail')
  })

  // Kyverno's own table for conditional anchors inside containers (pkg/engine/validate tests).
  const conditionalImage = {
    spec: { containers: [{ name: '*', '(image)': '*:latest | !*:*', imagePullPolicy: '!Always' }] },
  }
  const container = (image: string, imagePullPolicy: string) => ({
    name: image.split(':')[0],
    image,
    imagePullPolicy,
  })
  it.each<[string, Array<[string, string]>, Status]>([
    ['a tag that is not latest makes the only container inapplicable', [['nginx:1.2.3', 'Always']], 'skip'],
    ['latest with Always fails', [['nginx:latest', 'Always']], 'fail'],
    ['no tag with Always fails', [['nginx', 'Always']], 'fail'],
    ['no tag with Never passes', [['nginx', 'Never']], 'pass'],
    ['latest with Never passes', [['nginx:latest', 'Never']], 'pass'],
    ['a pinned tag is skipped whatever its policy', [['nginx:1.2.3', 'Never']], 'skip'],
    [
      'one failing container fails the list',
      [
        ['nginx', 'Always'],
        ['busybox:1.28', 'Always'],
      ],
      'fail',
    ],
    [
      'all containers inapplicable',
      [
        ['nginx:1.2.3', 'Always'],
        ['busybox:1.28', 'Always'],
      ],
      'skip',
    ],
    [
      'one applicable passing container passes',
      [
        ['nginx', 'Never'],
        ['busybox:1.28', 'Always'],
      ],
      'pass',
    ],
    [
      'order does not matter',
      [
        ['busybox:1.28', 'Always'],
        ['nginx', 'Always'],
      ],
      'fail',
    ],
    [
      'later applicable container passes',
      [
        ['busybox:1.28', 'Always'],
        ['nginx:latest', 'Never'],
      ],
      'pass',
    ],
  ])('%s', (_name, containers, expected) => {
    const resource = { spec: { containers: containers.map(([image, policy]) => container(image, policy)) } }
    expect(status(resource, conditionalImage)).toBe(expected)
  })

  it('skips when a conditional anchor names an absent field (the docker.sock example)', () => {
    const pattern = {
      metadata: { labels: { 'allow-docker': 'true' } },
      '(spec)': { '(volumes)': [{ '(hostPath)': { path: '/var/run/docker.sock' } }] },
    }
    const pod = (labels: Record<string, string>, volumes?: unknown[]) => ({
      metadata: { name: 'nginx', labels },
      spec: { containers: [{ name: 'nginx', image: 'nginx' }], ...(volumes ? { volumes } : {}) },
    })
    const docker = [{ hostPath: { path: '/var/run/docker.sock' } }]
    expect(status(pod({ run: 'nginx' }), pattern)).toBe('skip')
    expect(status(pod({ run: 'nginx' }, [{ hostPath: { path: '/random/value' } }]), pattern)).toBe('skip')
    expect(status(pod({ run: 'nginx', 'allow-docker': 'true' }, docker), pattern)).toBe('pass')
    expect(status(pod({ run: 'nginx', 'allow-docker': 'false' }, docker), pattern)).toBe('fail')
    expect(matchPattern(pod({ run: 'nginx' }, docker), pattern)).toMatchObject({
      status: 'fail',
      path: '/metadata/labels/allow-docker/',
    })
  })

  it('skips list items whose conditional anchors fail, and the rule when no item applies', () => {
    const pattern = {
      spec: { '=(volumes)': [{ '(name)': '!cache-volume', '=(emptyDir)': { sizeLimit: '?*' } }] },
    }
    expect(status({ spec: { volumes: [{ name: 'cache-volume', emptyDir: {} }] } }, pattern)).toBe('skip')
    expect(status({ spec: { volumes: [{ name: 'data', emptyDir: { sizeLimit: '1Gi' } }] } }, pattern)).toBe(
      'pass',
    )
    expect(status({ spec: { volumes: [{ name: 'data' }] } }, pattern)).toBe('pass')
    expect(status({ spec: { volumes: [{ name: 'data', emptyDir: {} }] } }, pattern)).toBe('fail')
  })

  it('lets an applicable sibling decide when one list is wholly inapplicable', () => {
    const pattern = {
      spec: {
        '=(initContainers)': [{ '(name)': '!istio-init', '=(securityContext)': { '=(runAsUser)': '>0' } }],
        '=(containers)': [{ '=(securityContext)': { '=(runAsUser)': '>0' } }],
      },
    }
    const istio = { name: 'istio-init', securityContext: { runAsUser: 0 } }
    expect(
      status(
        { spec: { initContainers: [istio], containers: [{ securityContext: { runAsUser: 1000 } }] } },
        pattern,
      ),
    ).toBe('pass')
    expect(
      status({ spec: { initContainers: [istio], containers: [{ name: 'nginx', image: 'nginx' }] } }, pattern),
    ).toBe('pass')
    expect(
      status(
        { spec: { initContainers: [istio], containers: [{ securityContext: { runAsUser: 0 } }] } },
        pattern,
      ),
    ).toBe('fail')
    const nginx = { name: 'nginx', securityContext: { runAsUser: 0 } }
    expect(status({ spec: { initContainers: [nginx], containers: [] } }, pattern)).toBe('fail')
  })

  it('global anchors skip the whole rule when they do not hold', () => {
    const pattern = {
      spec: { containers: [{ name: '*', '<(image)': '*:latest', imagePullPolicy: '!Always' }] },
    }
    const pod = (...cs: Array<[string, string]>) => ({
      spec: { containers: cs.map(([image, imagePullPolicy]) => ({ name: 'nginx', image, imagePullPolicy })) },
    })
    expect(status(pod(['nginx:v1', 'Always']), pattern)).toBe('skip')
    expect(status(pod(['nginx:latest', 'Always']), pattern)).toBe('fail')
    expect(status(pod(['nginx:latest', 'IfNotPresent']), pattern)).toBe('pass')
    expect(status(pod(['nginx:latest', 'IfNotPresent'], ['nginx:v2', 'IfNotPresent']), pattern)).toBe('pass')
  })

  it('a global anchor inside containers governs a sibling field (the image pull secret example)', () => {
    const pattern = {
      spec: {
        containers: [{ name: '*', '<(image)': 'corp.reg.com/*' }],
        imagePullSecrets: [{ name: 'my-registry-secret' }],
      },
    }
    const pod = (image: string, secret: string) => ({
      spec: { containers: [{ name: 'c', image }], imagePullSecrets: [{ name: secret }] },
    })
    expect(status(pod('corp.reg.com/app', 'my-registry-secret'), pattern)).toBe('pass')
    expect(status(pod('corp.reg.com/app', 'other'), pattern)).toBe('fail')
    expect(status(pod('docker.io/nginx', 'other'), pattern)).toBe('skip')
  })

  it('a global anchor in labels guards the rest of the pattern', () => {
    const pattern = {
      metadata: { labels: { '<(foo)': 'bar' } },
      spec: { containers: [{ name: 'nginx', image: '!*:latest' }] },
    }
    const pod = (image: string) => ({
      metadata: { name: 'nginx', labels: { foo: 'bar' } },
      spec: { containers: [{ name: 'nginx', image }] },
    })
    expect(status(pod('nginx'), pattern)).toBe('pass')
    expect(status(pod('nginx:latest'), pattern)).toBe('fail')
  })
})

describe('anyPattern', () => {
  const patterns = [
    { spec: { securityContext: { runAsNonRoot: true } } },
    { spec: { containers: [{ securityContext: { runAsNonRoot: true } }] } },
  ]

  it('passes when any pattern passes', () => {
    expect(
      matchAnyPattern({ spec: { containers: [{ securityContext: { runAsNonRoot: true } }] } }, patterns),
    ).toEqual({
      status: 'pass',
    })
  })

  it('fails naming each failed pattern, at the first failure path', () => {
    const result = matchAnyPattern({ spec: { containers: [{ name: 'c' }] } }, patterns)
    expect(result).toMatchObject({ status: 'fail', path: '/spec/securityContext/' })
    expect(result.status === 'fail' && result.reason).toContain(
      'anyPattern[1] failed at path /spec/containers/0/',
    )
  })

  it('skips only when every pattern is inapplicable, and fails when one fails and another skips', () => {
    const skipping = { '(metadata)': { name: 'other' } }
    const failing = { spec: { hostNetwork: false } }
    const pod = { metadata: { name: 'web' }, spec: { hostNetwork: true } }
    expect(matchAnyPattern(pod, [skipping, skipping]).status).toBe('skip')
    expect(matchAnyPattern(pod, [skipping, failing]).status).toBe('fail')
  })
})

describe('checkPattern', () => {
  it('accepts well-formed patterns, including unresolved variables', () => {
    expect(() =>
      checkPattern({ spec: { '=(volumes)': [{ 'X(hostPath)': 'null' }], replicas: '>{{ min }}' } }),
    ).not.toThrow()
    expect(() =>
      checkPattern({ spec: { containers: [{ resources: { limits: { memory: '<=2Gi', cpu: '1-4' } } }] } }),
    ).not.toThrow()
  })

  it('rejects a comparison with nothing to compare, naming the path', () => {
    expect(() => checkPattern({ spec: { replicas: '>abc' } })).toThrow(PatternError)
    expect(() => checkPattern({ spec: { replicas: '>abc' } })).toThrow('/spec/replicas/')
  })

  it('rejects anchors validate cannot use', () => {
    expect(() => checkPattern({ metadata: { '+(labels)': { a: 'b' } } })).toThrow(/\+\(labels\)/)
    expect(() => checkPattern({ spec: { '^(containers)': { name: 'x' } } })).toThrow(/existence anchor/)
  })
})

const CORPUS = corpusPath('kyverno-policies')

interface KyvernoTest {
  results: Array<{ kind: string; resources: string[]; result: Status; rule: string }>
}

/** Runs a corpus policy's first validate pattern against the Pods its Kyverno CLI test lists. */
function corpusCases(dir: string): Array<[string, Status, unknown, unknown]> {
  const folder = join(CORPUS, dir)
  const [policy] = loadAll(readFileSync(join(folder, `${dir.split('/').pop()}.yaml`), 'utf8')) as Array<{
    spec: { rules: Array<{ name: string; validate: { pattern: unknown } }> }
  }>
  const rule = policy!.spec.rules[0]!
  const test = loadAll(
    readFileSync(join(folder, '.kyverno-test/kyverno-test.yaml'), 'utf8'),
  )[0] as KyvernoTest
  const docs = loadAll(readFileSync(join(folder, '.kyverno-test/resource.yaml'), 'utf8')) as Array<{
    kind: string
    metadata: { name: string }
  }>
  return test.results
    .filter((r) => r.kind === 'Pod' && r.rule === rule.name)
    .flatMap((r) =>
      r.resources.map((name): [string, Status, unknown, unknown] => [
        name,
        r.result,
        docs.find((d) => d?.kind === 'Pod' && d.metadata.name === name),
        rule.validate.pattern,
      ]),
    )
}

describe('corpus policies', () => {
  for (const dir of [
    'pod-security/baseline/disallow-host-path',
    'pod-security/baseline/disallow-host-namespaces',
  ]) {
    it(`${dir} gives the results its Kyverno test expects`, () => {
      const cases = corpusCases(dir)
      expect(cases.length).toBeGreaterThan(0)
      for (const [name, expected, resource, pattern] of cases) {
        expect(resource, name).toBeDefined()
        expect([name, status(resource, pattern)]).toEqual([name, expected])
      }
    })
  }
})
