import { describe, expect, it } from 'vitest'
import { imagesOf, parseImageReference } from '../../src/policy/kyverno/images.js'
import { hasVariables, substituteVariables, VariableError } from '../../src/policy/kyverno/variables.js'

const pod = {
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'mypod', namespace: 'foo', labels: { app: 'shop', 'app.kubernetes.io/name': 'shop' } },
  spec: { containers: [{ name: 'busybox', image: 'busybox', resources: { limits: { memory: '200Mi' } } }] },
}
const data = {
  request: { operation: 'CREATE', namespace: 'foo', object: pod, userInfo: { username: 'thomas' } },
  serviceAccountName: 'user1',
}

describe('substituteVariables', () => {
  it('gives a whole-string variable the value’s own type', () => {
    expect(substituteVariables('{{request.object.metadata}}', data)).toEqual(pod.metadata)
    expect(substituteVariables('{{ request.object.spec.containers | length(@) }}', data)).toBe(1)
    expect(substituteVariables("{{ request.object.metadata.name == 'mypod' }}", data)).toBe(true)
  })

  it('splices embedded variables in as text, non-strings as Go JSON', () => {
    expect(
      substituteVariables('ns-owner-{{request.namespace}}-{{request.userInfo.username}}-binding', data),
    ).toBe('ns-owner-foo-thomas-binding')
    expect(substituteVariables('labels: {{request.object.metadata.labels}}', data)).toBe(
      'labels: {"app":"shop","app.kubernetes.io/name":"shop"}',
    )
    expect(substituteVariables('{{request.object.spec.containers | length(@)}} container(s)', data)).toBe(
      '1 container(s)',
    )
  })

  it('walks objects and arrays, keys included', () => {
    const doc = {
      metadata: { labels: { appns: '{{request.namespace}}', '{{request.object.metadata.name}}': 'x' } },
    }
    expect(substituteVariables(doc, data)).toEqual({ metadata: { labels: { appns: 'foo', mypod: 'x' } } })
    expect(substituteVariables(['{{serviceAccountName}}', 3, null], data)).toEqual(['user1', 3, null])
  })

  it('resolves inner variables first (nested lookups, quoted arguments)', () => {
    const withConfig = { ...data, LabelsCM: { data: { shop: 'team-a' } } }
    expect(
      substituteVariables('{{LabelsCM.data.{{ request.object.metadata.labels.app }}}}', withConfig),
    ).toBe('team-a')
    expect(substituteVariables("{{ to_upper('{{request.object.metadata.name}}') }}", data)).toBe('MYPOD')
    expect(
      substituteVariables(
        "{{ add('{{ request.object.spec.containers[0].resources.limits.memory }}', '100Mi') }}",
        data,
      ),
    ).toBe('300Mi')
  })

  it('reads quoted keys', () => {
    expect(substituteVariables('{{ request.object.metadata.labels."app.kubernetes.io/name" }}', data)).toBe(
      'shop',
    )
  })

  it('leaves escaped variables alone, dropping the backslash', () => {
    expect(substituteVariables('\\{{ request.object.metadata.name }}', data)).toBe(
      '{{ request.object.metadata.name }}',
    )
    expect(substituteVariables('a=\\{{x}} b={{request.namespace}}', data)).toBe('a={{x}} b=foo')
    expect(substituteVariables('k8s.pod.name=\\$(POD_NAME)', data)).toBe('k8s.pod.name=\\$(POD_NAME)')
  })

  it('fails on a missing key by default, naming the variable and the path', () => {
    const doc = { deny: { key: '{{ request.object.metadata.labels.team }}' } }
    expect(() => substituteVariables(doc, data)).toThrow(VariableError)
    try {
      substituteVariables(doc, data)
    } catch (e) {
      expect((e as VariableError).variable).toBe('{{ request.object.metadata.labels.team }}')
      expect((e as Error).message).toContain('/deny/key')
      expect((e as Error).message).toContain('Unknown key "team"')
    }
  })

  it("resolves a missing key to null in 'null' mode", () => {
    const options = { missingKey: 'null' } as const
    expect(substituteVariables('{{ request.object.metadata.labels.team }}', data, options)).toBeNull()
    expect(substituteVariables('team={{ request.object.metadata.labels.team }}', data, options)).toBe(
      'team=null',
    )
  })

  it('still fails on other errors in null mode', () => {
    expect(() => substituteVariables('{{ no_such_fn(@) }}', data, { missingKey: 'null' })).toThrow(
      VariableError,
    )
  })

  it('accepts the documented non-existence check in either mode', () => {
    expect(substituteVariables("{{ request.object.metadata.labels.team || '' }}", data)).toBe('')
  })

  it('reads request.oldObject for request.object on DELETE', () => {
    const deletion = { request: { operation: 'DELETE', object: null, oldObject: pod } }
    expect(substituteVariables('{{ request.object.metadata.name }}', deletion)).toBe('mypod')
  })

  it('reads foreach elements and their indexes', () => {
    const element = {
      ...data,
      element: pod.spec.containers[0],
      elementIndex: 0,
      element0: pod.spec.containers[0],
    }
    expect(substituteVariables('{{ element.name }}-{{ elementIndex }}', element)).toBe('busybox-0')
    expect(substituteVariables('{{ element0.image }}', element)).toBe('busybox')
  })

  it('reads {{@}} as the resource field at the same place in the rule', () => {
    const pattern = {
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a Go regexp replacement template
      metadata: { labels: { app: "{{ regex_replace_all('s(h)op', '{{@}}', 'st${1}op') }}" } },
    }
    expect(substituteVariables(pattern, data, { path: ['mutate', 'patchStrategicMerge'] })).toEqual({
      metadata: { labels: { app: 'sthop' } },
    })
    const inForeach = { spec: { containers: [{ image: '{{ @ }}' }] } }
    expect(
      substituteVariables(inForeach, data, { path: ['mutate', 'foreach', 0, 'patchStrategicMerge'] }),
    ).toEqual({
      spec: { containers: [{ image: 'busybox' }] },
    })
  })
})

describe('hasVariables', () => {
  it('finds unescaped variables in strings, keys and nested values', () => {
    expect(hasVariables('plain')).toBe(false)
    expect(hasVariables('\\{{ escaped }}')).toBe(false)
    expect(hasVariables({ a: ['x', { b: 'n={{ name }}' }] })).toBe(true)
    expect(hasVariables({ '{{ key }}': 1 })).toBe(true)
    expect(hasVariables(42)).toBe(false)
  })
})

describe('parseImageReference', () => {
  it('adds docker.io and latest, but not library/', () => {
    expect(parseImageReference('nginx')).toEqual({
      registry: 'docker.io',
      name: 'nginx',
      path: 'nginx',
      tag: 'latest',
      reference: 'docker.io/nginx:latest',
      referenceWithTag: 'docker.io/nginx:latest',
    })
    expect(parseImageReference('library/nginx:1.25')).toMatchObject({
      registry: 'docker.io',
      path: 'library/nginx',
      name: 'nginx',
      tag: '1.25',
    })
    expect(parseImageReference('test/nginx')).toMatchObject({
      registry: 'docker.io',
      path: 'test/nginx',
      tag: 'latest',
    })
  })

  it('keeps registries with ports and localhost', () => {
    expect(parseImageReference('localhost:4443/test/nginx')).toMatchObject({
      registry: 'localhost:4443',
      path: 'test/nginx',
      name: 'nginx',
      reference: 'localhost:4443/test/nginx:latest',
    })
    expect(parseImageReference('localhost/netd:v0.4.4-gke.0')).toMatchObject({
      registry: 'localhost',
      tag: 'v0.4.4-gke.0',
    })
  })

  it('prefers the digest for reference and leaves the tag empty in referenceWithTag', () => {
    const digest = 'sha256:dead07b4d8ed7e29e98de0f4504d87e8880d4347859d839686a31da35a3b532f'
    const info = parseImageReference(`docker.io/test/centos@${digest}`)
    expect(info).toEqual({
      registry: 'docker.io',
      name: 'centos',
      path: 'test/centos',
      digest,
      reference: `docker.io/test/centos@${digest}`,
      referenceWithTag: 'docker.io/test/centos:',
    })
    expect(parseImageReference(`ghcr.io/acme/app:v2@${digest}`)).toMatchObject({
      tag: 'v2',
      digest,
      reference: `ghcr.io/acme/app@${digest}`,
      referenceWithTag: 'ghcr.io/acme/app:v2',
    })
  })

  it('throws on invalid references', () => {
    expect(() => parseImageReference('++')).toThrow(/invalid reference format/)
    expect(() => parseImageReference('docker.io/Nginx')).toThrow(/lowercase/)
    expect(() => parseImageReference('')).toThrow()
  })
})

describe('imagesOf', () => {
  it('groups a pod’s images by container kind and name, with JSON pointers', () => {
    const images = imagesOf({
      kind: 'Pod',
      spec: {
        initContainers: [{ name: 'vault', image: 'ghcr.io/vault:v3' }],
        containers: [{ name: 'nginx', image: 'nginx' }, { name: 'no-image' }],
      },
    })
    expect(images).toEqual({
      initContainers: {
        vault: {
          registry: 'ghcr.io',
          path: 'vault',
          name: 'vault',
          tag: 'v3',
          reference: 'ghcr.io/vault:v3',
          referenceWithTag: 'ghcr.io/vault:v3',
          jsonPointer: '/spec/initContainers/0/image',
        },
      },
      containers: {
        nginx: expect.objectContaining({
          reference: 'docker.io/nginx:latest',
          jsonPointer: '/spec/containers/0/image',
        }),
      },
    })
  })

  it('finds pod templates in controllers and cron jobs', () => {
    const template = { spec: { containers: [{ name: 'app', image: 'acme/app:1' }] } }
    expect(imagesOf({ kind: 'Deployment', spec: { template } })).toMatchObject({
      containers: { app: { path: 'acme/app', jsonPointer: '/spec/template/spec/containers/0/image' } },
    })
    expect(imagesOf({ kind: 'CronJob', spec: { jobTemplate: { spec: { template } } } })).toMatchObject({
      containers: { app: { jsonPointer: '/spec/jobTemplate/spec/template/spec/containers/0/image' } },
    })
  })

  it('is empty for kinds without pod templates and throws on bad images', () => {
    expect(imagesOf({ kind: 'ConfigMap', data: {} })).toEqual({})
    expect(() =>
      imagesOf({ kind: 'Pod', spec: { containers: [{ name: 'x', image: 'UPPER/case' }] } }),
    ).not.toThrow()
    expect(() => imagesOf({ kind: 'Pod', spec: { containers: [{ name: 'x', image: 'a/B' }] } })).toThrow()
  })

  it('feeds {{ images }} expressions', () => {
    const withImages = { ...data, images: imagesOf(pod) }
    expect(substituteVariables('{{ images.containers.busybox.tag }}', withImages)).toBe('latest')
    expect(substituteVariables('{{ images.containers.*.registry }}', withImages)).toEqual(['docker.io'])
  })
})
