import { describe, expect, it } from 'vitest'
import { compileJmesPath, JmesPathError } from '../../src/policy/kyverno/jmespath.js'

const run = (expression: string, data: unknown = {}) => compileJmesPath(expression)(data)

const pod = {
  metadata: { name: 'web', labels: { app: 'shop', tier: 'frontend' }, annotations: {} },
  spec: {
    initContainers: [{ name: 'init', image: 'busybox' }],
    containers: [
      { name: 'nginx', image: 'nginx:1.25', securityContext: { privileged: false } },
      { name: 'sidecar', image: 'ghcr.io/acme/proxy:2', securityContext: { privileged: true } },
    ],
  },
}
const request = { request: { object: pod, operation: 'CREATE' } }

describe("Kyverno's go-jmespath fork", () => {
  it('fails on a key the object lacks, naming the key', () => {
    expect(() => run('request.object.metadata.labels.team', request)).toThrow(/Unknown key "team" in path/)
    try {
      run('request.object.metadata.labels.team', request)
    } catch (e) {
      expect(e).toBeInstanceOf(JmesPathError)
      expect((e as JmesPathError).kind).toBe('unknown-key')
    }
  })

  it('lets || supply a default for a missing key (the documented non-existence check)', () => {
    expect(run("request.object.metadata.labels.team || ''", request)).toBe('')
    expect(run('request.object.spec.volumes || `[]`', request)).toEqual([])
  })

  it('skips elements that lack the key in projections and filters', () => {
    const data = { items: [{ a: 1 }, { b: 2 }, { a: 3 }] }
    expect(run('items[].a', data)).toEqual([1, 3])
    expect(run('items[?a > `1`].a', data)).toEqual([3])
    expect(
      run('request.object.spec.[initContainers, containers][].securityContext.privileged', request),
    ).toEqual([false, true])
  })

  it('gives null for fields of non-objects', () => {
    expect(run('a.b', { a: null })).toBeNull()
    expect(run('a.b', { a: 'text' })).toBeNull()
  })

  it('refuses syntax and functions go-jmespath lacks', () => {
    expect(() => compileJmesPath('pad_left(a, `3`)')).toThrow(/unknown function: pad_left/)
    expect(() => compileJmesPath('a - b')).toThrow(JmesPathError)
    expect(() => compileJmesPath('let $x = a in $x')).toThrow(JmesPathError)
    expect(() => compileJmesPath('a[')).toThrow(JmesPathError)
  })

  it('caches programs by expression text', () => {
    expect(compileJmesPath('a.b')).toBe(compileJmesPath('a.b'))
  })

  it('prints to_string the way Go marshals JSON', () => {
    expect(run('to_string(@)', { b: '<x>', a: 1 })).toBe('{"a":1,"b":"\\u003cx\\u003e"}')
  })
})

describe('expressions from the policy library', () => {
  it('contains is a substring test on strings and membership on arrays', () => {
    const ingress = { request: { object: { spec: { rules: [{ host: '*.example.com' }] } } } }
    expect(run("contains(request.object.spec.rules[0].host, '*')", ingress)).toBe(true)
    expect(run("keys(request.object.spec) | contains(@, 'tls')", ingress)).toBe(false)
  })

  it('calls functions on the right of a sub-expression', () => {
    expect(run('request.object.metadata.labels.keys(@)', request)).toEqual(['app', 'tier'])
    expect(
      run("element.verbs[] | contains(@, 'use') || contains(@, '*')", { element: { verbs: ['get', '*'] } }),
    ).toBe(true)
  })

  it('parses numbers out of strings and takes the maximum', () => {
    const cert = { request: { object: { spec: { duration: '2160h0m0s' } } } }
    expect(
      run(
        "max( [ to_number(regex_replace_all('h.*',request.object.spec.duration,'')), to_number('2400') ] )",
        cert,
      ),
    ).toBe(2400)
  })

  it('joins, measures and lists values', () => {
    expect(run("join(',', request.object.spec.containers[].name)", request)).toBe('nginx,sidecar')
    expect(run('length(request.object.spec.containers)', request)).toBe(2)
    expect(run('values(request.object.metadata.labels)', request)).toEqual(['shop', 'frontend'])
    expect(run('to_upper(request.object.metadata.labels.tier)', request)).toBe('FRONTEND')
  })
})

describe('string functions (kyverno.io JMESPath page examples)', () => {
  it('compare', () => {
    expect(run("compare('a', 'a')")).toBe(0)
    expect(run("compare('a', 'b')")).toBe(-1)
    expect(run("compare('b', 'a')")).toBe(1)
  })

  it('equal_fold', () => {
    expect(run("equal_fold('pizza', 'Pizza')")).toBe(true)
    expect(run("equal_fold('pizza', 'pIzZa')")).toBe(true)
    expect(run("equal_fold('pizza', 'APPLE')")).toBe(false)
  })

  it('replace and replace_all', () => {
    expect(run("replace('Lorem ipsum dolor sit amet foo ipsum bar ipsum', 'ipsum', 'muspi', `2`)")).toBe(
      'Lorem muspi dolor sit amet foo muspi bar ipsum',
    )
    expect(run("replace('a-b-c', '-', '+', `-1`)")).toBe('a+b+c')
    expect(run("replace_all('Lorem ipsum dolor sit amet', 'ipsum', 'muspi')")).toBe(
      'Lorem muspi dolor sit amet',
    )
  })

  it('to_upper, to_lower', () => {
    expect(run("to_upper('abc')")).toBe('ABC')
    expect(run("to_lower('ABC')")).toBe('abc')
  })

  it('trim takes a cutset; trim_prefix and trim_suffix take strings', () => {
    expect(run("trim('--+hello+--', '-+')")).toBe('hello')
    expect(run("trim_prefix('docker.io/nginx', 'docker.io/')")).toBe('nginx')
    expect(run("trim_prefix('nginx', 'docker.io/')")).toBe('nginx')
    expect(run("trim_suffix('nginx:latest', ':latest')")).toBe('nginx')
  })

  it('split', () => {
    expect(run("split('cat,dog,horse', ',')")).toEqual(['cat', 'dog', 'horse'])
    expect(run("split('abc', '')")).toEqual(['a', 'b', 'c'])
  })

  it('regex_match takes strings or numbers', () => {
    expect(run("regex_match('^[1-7]$', `1`)")).toBe(true)
    expect(run("regex_match('^[1-7]$', '1')")).toBe(true)
    expect(run("regex_match('^[1-7]$', '8')")).toBe(false)
    expect(() => run("regex_match('(', 'x')")).toThrow(/regex_match/)
  })

  it('regex_replace_all expands Go templates; the literal variant does not', () => {
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a Go regexp replacement template
    expect(run("regex_replace_all('([0-9])([0-9])', 'hello im 42 months old', '${1}1')")).toBe(
      'hello im 41 months old',
    )
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a Go regexp replacement template
    expect(run("regex_replace_all('([0-9])([0-9])', 'days_37', '${1}0')")).toBe('days_30')
    // Go reads `$1x` as the group named `1x`, which does not exist.
    expect(run("regex_replace_all('(\\w+)', 'hello world', '$1x')")).toBe(' ')
    expect(run("regex_replace_all_literal('^(\\d{3}-?\\d{2}-?\\d{4})$', '123-45-6789', 'redacted')")).toBe(
      'redacted',
    )
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a Go regexp replacement template
    expect(run("regex_replace_all_literal('^[^/]+', 'docker.io/nginx', '${1}')")).toBe('${1}/nginx')
  })

  it('pattern_match uses Kyverno wildcards', () => {
    expect(run("pattern_match('prefix-*-suffix', 'prefix-foo-suffix')")).toBe(true)
    expect(run("pattern_match('v?', 'v12')")).toBe(false)
    expect(run("pattern_match('1*', `123`)")).toBe(true)
  })

  it('base64_encode and base64_decode', () => {
    expect(run("base64_encode('hello')")).toBe('aGVsbG8=')
    expect(run("base64_decode('aGVsbG8=')")).toBe('hello')
    expect(() => run("base64_decode('aGVsbG8')")).toThrow(/base64/)
  })

  it('path_canonicalize cleans like filepath.Join', () => {
    expect(run("path_canonicalize('/var/lib//kubelet/../docker/')")).toBe('/var/lib/docker')
    expect(run("path_canonicalize('//etc/./passwd')")).toBe('/etc/passwd')
  })

  it('truncate cuts to a length', () => {
    expect(run("truncate('Lorem ipsum dolor', `5`)")).toBe('Lorem')
    expect(run("truncate('abc', `10`)")).toBe('abc')
  })

  it('to_boolean', () => {
    expect(run("to_boolean('TruE')")).toBe(true)
    expect(run("to_boolean('faLSE')")).toBe(false)
    expect(() => run("to_boolean('yes')")).toThrow(/to_boolean/)
  })

  it('image_normalize adds the default registry and tag', () => {
    expect(run("image_normalize('nginx')")).toBe('docker.io/nginx:latest')
    expect(
      run("regex_replace_all('^docker.io/(.*)$', image_normalize('nginx:1.25'), 'harbor.corp.org/$1')"),
    ).toBe('harbor.corp.org/nginx:1.25')
  })

  it('sha256 and md5', () => {
    expect(run("sha256('alertmanager-kube-prometheus-stack-alertmanager')")).toBe(
      '75c07bb807f2d80a85d34880b8af0c5f29f7c27577076ed5d0e4b427dee7dbcc',
    )
    expect(run("md5('')")).toBe('d41d8cd98f00b204e9800998ecf8427e')
  })

  it('random draws from a regular expression', () => {
    for (let i = 0; i < 20; i++) expect(run("random('[a-z]{5}-[0-9]{3}')")).toMatch(/^[a-z]{5}-[0-9]{3}$/)
    expect(run("random('(foo|bar)\\d?')")).toMatch(/^(foo|bar)\d?$/)
  })
})

describe('object and array functions', () => {
  it('label_match: every label of the first is in the second', () => {
    expect(run('label_match(`{"dog":"lab","color":"tan"}`, `{"color":"tan","dog":"lab"}`)')).toBe(true)
    expect(
      run('label_match(`{"dog":"lab","color":"tan"}`, `{"color":"tan","weight":"chonky","dog":"lab"}`)'),
    ).toBe(true)
    expect(run('label_match(`{"dog":"lab","color":"tan"}`, `{"color":"black","dog":"lab"}`)')).toBe(false)
  })

  it('lookup by key or index', () => {
    expect(run('lookup( `{"key1": "value1", "key2": "value2"}`, `"key2"` )')).toBe('value2')
    expect(run('lookup( `["item0", "item1", "item2"]`, `1` )')).toBe('item1')
    expect(run('lookup( `["item0"]`, `5` )')).toBeNull()
    expect(() => run('lookup( `["item0"]`, `0.5` )')).toThrow(/lookup/)
  })

  it('items over maps (sorted keys) and arrays', () => {
    expect(run("items(@, 'key', 'value')", { team: 'apple', organization: 'banana' })).toEqual([
      { key: 'organization', value: 'banana' },
      { key: 'team', value: 'apple' },
    ])
    expect(run("items(@, 'key', 'value')", [{ team: 'apple' }, { organization: 'banana' }])).toEqual([
      { key: 0, value: { team: 'apple' } },
      { key: 1, value: { organization: 'banana' } },
    ])
  })

  it('object_from_lists pads missing values with null', () => {
    expect(run("object_from_lists(['a', 'b', 'c'], [`1`, `2`])")).toEqual({ a: 1, b: 2, c: null })
  })

  it('parse_json and parse_yaml', () => {
    expect(run('parse_json(\'{"a": [1, true]}\')')).toEqual({ a: [1, true] })
    expect(run("parse_yaml('a: 1\nb: [x, y]')")).toEqual({ a: 1, b: ['x', 'y'] })
  })

  it('semver_compare (documentation examples)', () => {
    expect(run("semver_compare('1.2.3', '1.2.4')")).toBe(false)
    expect(run("semver_compare('4.1.3', '>=4.1.x')")).toBe(true)
    expect(run("semver_compare('4.1.3', '!4.x.x')")).toBe(false)
    expect(run("semver_compare('1.8.6', '>1.0.0 <2.0.0')")).toBe(true)
    expect(run("semver_compare('2.1.5', '<2.0.0 || >=3.0.0')")).toBe(false)
  })
})

describe('arithmetic on numbers, quantities and durations', () => {
  it('numbers stay numbers', () => {
    expect(run('add(`1`, `2`)')).toBe(3)
    expect(run('subtract(`10`, `2.5`)')).toBe(7.5)
    expect(run('multiply(`3`, `4`)')).toBe(12)
    expect(run('divide(`10`, `4`)')).toBe(2.5)
    expect(run('modulo(`10`, `3`)')).toBe(1)
    expect(run('round(`10.125`, `2`)')).toBe(10.13)
    expect(run('round(`-2.5`, `0`)')).toBe(-3)
    expect(run('sum([`1`, `2`, `3`])')).toBe(6)
  })

  it('quantities come back in canonical form, in the first operand’s suffix family', () => {
    expect(run("add('100Mi', '50Mi')")).toBe('150Mi')
    expect(run("sum(['1Gi', '512Mi'])")).toBe('1536Mi')
    expect(run("add('500m', '500m')")).toBe('1')
    expect(run("add('1.5', '1.5')")).toBe('3')
    expect(run("add('1500', '500')")).toBe('2k')
    expect(run("subtract('1Gi', '1Gi')")).toBe('0')
    expect(run("multiply('100Mi', `1.5`)")).toBe('150Mi')
    expect(run("multiply(`2`, '250m')")).toBe('500m')
    expect(run("divide('10Mi', `2`)")).toBe('5Mi')
    expect(run("divide('10Mi', '5Ki')")).toBe(2048)
    expect(run("modulo('10Mi', '3Mi')")).toBe('1Mi')
  })

  it('durations print as Go does', () => {
    expect(run("add('1h', '30m')")).toBe('1h30m0s')
    expect(run("subtract('1h', '90s')")).toBe('58m30s')
    expect(run("multiply('1h', `2`)")).toBe('2h0m0s')
    expect(run("divide('1h', '30m')")).toBe(2)
    expect(run("divide('1h', `4`)")).toBe('15m0s')
    expect(run("modulo('1h', '25m')")).toBe('10m0s')
    expect(run("add('1s', '500ms')")).toBe('1.5s')
  })

  it('the memory-ratio example: limits over requests with defaults', () => {
    const element = { resources: { limits: { memory: '500Mi' }, requests: { memory: '100Mi' } } }
    expect(
      run("divide(element.resources.limits.memory || '0', element.resources.requests.memory || '1m')", {
        element,
      }),
    ).toBe(5)
  })

  it('rejects mixed kinds, zero divisors and fractional modulo', () => {
    expect(() => run("add('1Gi', `1`)")).toThrow(/types mismatch/)
    expect(() => run("add('1h', '1Gi')")).toThrow(/types mismatch/)
    expect(() => run('divide(`1`, `0`)')).toThrow(/Zero divisor/)
    expect(() => run('modulo(`10.5`, `3`)')).toThrow(/Non-integer/)
    expect(() => run("add('abc', `1`)")).toThrow(/invalid operand/)
    expect(() => run('sum(`[]`)')).toThrow(/at least one element/)
  })
})

describe('time functions', () => {
  it('time_add keeps the offset', () => {
    expect(run("time_add('2023-01-12T12:37:56-05:00', '6h')")).toBe('2023-01-12T18:37:56-05:00')
  })

  it('time_diff, time_since with fixed ends', () => {
    expect(run("time_diff('2023-01-10T00:00:00Z', '2023-01-11T00:00:00Z')")).toBe('24h0m0s')
    expect(run("time_since('', '2023-01-10T00:00:00Z', '2023-01-10T01:30:00Z')")).toBe('1h30m0s')
    expect(run("time_since('2006-01-02', '2023-01-01', '2023-01-02')")).toBe('24h0m0s')
  })

  it('time_before, time_after, time_between', () => {
    expect(run("time_before('2023-01-12T12:37:56Z', '2023-01-12T14:37:56+01:00')")).toBe(true)
    expect(run("time_after('2023-01-12T12:37:56Z', '2023-01-12T14:37:56+01:00')")).toBe(false)
    expect(run("time_between('2023-01-12T12:00:00Z', '2023-01-12T11:00:00Z', '2023-01-12T13:00:00Z')")).toBe(
      true,
    )
  })

  it('time_utc, time_to_cron, time_truncate', () => {
    expect(run("time_utc('2023-02-02T15:04:05-05:00')")).toBe('2023-02-02T20:04:05Z')
    expect(run("time_to_cron('2023-02-02T15:04:05Z')")).toBe('4 15 2 2 4')
    expect(run("time_truncate('2023-02-02T15:04:05Z', '1h')")).toBe('2023-02-02T15:00:00Z')
  })

  it('time_parse with a Go layout or an epoch', () => {
    expect(run("time_parse('Mon Jan 02 2006 15:04:05 -0700', 'Sat Jan 14 2023 13:37:56 -0500')")).toBe(
      '2023-01-14T13:37:56-05:00',
    )
    expect(run("time_parse('2006-01-02', '2023-03-04')")).toBe('2023-03-04T00:00:00Z')
    expect(run("time_parse('1136239445', '1136239445')")).toBe('2006-01-02T22:04:05Z')
  })

  it('time_now and time_now_utc are RFC 3339', () => {
    expect(run('time_now_utc()')).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/)
    expect(run('time_now()')).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(Z|[+-]\d{2}:\d{2})$/)
  })

  it('rejects times that are not RFC 3339', () => {
    expect(() => run("time_add('yesterday', '1h')")).toThrow(/time_add/)
  })
})
