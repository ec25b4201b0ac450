/**
 * Falco's runtime alerts (json_output with http_output, or falcosidekick's webhook) read as detections
 * of source falco-runtime: one, an array, or one a line; what cannot be read is said with where.
 */
import { describe, expect, it } from 'vitest'
import { parseFalcoAlerts } from '../../src/audit/ingest/falco-alerts.js'

// As Falco 0.3x writes an alert with json_output: true and json_include_output_property: true.
const shell = {
  hostname: 'node-1',
  output:
    '10:21:03.112233445: Notice A shell was spawned in a container with an attached terminal (user=root container_name=web shell=bash k8s_ns=shop k8s_pod=web-1)',
  priority: 'Notice',
  rule: 'Terminal shell in container',
  source: 'syscall',
  tags: ['container', 'mitre_execution', 'shell', 'T1059'],
  time: '2026-12-06T10:21:03.112233445Z',
  output_fields: {
    'container.name': 'web',
    'container.image.repository': 'nginx',
    'k8s.ns.name': 'shop',
    'k8s.pod.name': 'web-1',
    'proc.name': 'bash',
    'user.name': 'root',
    'evt.type': 'execve',
  },
}

describe('Falco runtime alerts', () => {
  it('reads an alert as a detection: priority, time to the millisecond, labels from its output fields', () => {
    const { detections, errors } = parseFalcoAlerts(JSON.stringify(shell), { cluster: 'prod' })
    expect(errors).toEqual([])
    expect(detections).toEqual([
      {
        rule: 'Terminal shell in container',
        source: 'falco-runtime',
        priority: 'notice',
        output: shell.output,
        time: '2026-12-06T10:21:03.112Z',
        labels: {
          rule: 'Terminal shell in container',
          priority: 'notice',
          source: 'falco-runtime',
          namespace: 'shop',
          name: 'web-1',
          container: 'web',
          image: 'nginx',
          user: 'root',
          process: 'bash',
          hostname: 'node-1',
          falco_source: 'syscall',
          cluster: 'prod',
        },
        tags: ['container', 'mitre_execution', 'shell', 'T1059'],
      },
    ])
  })

  it('reads an array and one alert a line, and says which ones it cannot read', () => {
    const info = { ...shell, priority: 'Info', rule: 'Other' }
    expect(parseFalcoAlerts(JSON.stringify([shell, info])).detections.map((d) => d.priority)).toEqual([
      'notice',
      'informational',
    ])
    const lines = [
      JSON.stringify(shell),
      '{broken',
      JSON.stringify({ ...shell, priority: 'Loud' }),
      '',
      '42',
    ].join('\n')
    const r = parseFalcoAlerts(lines)
    expect(r.detections).toHaveLength(1)
    expect(r.errors).toEqual([
      expect.stringMatching(/^line 2: not JSON/),
      expect.stringMatching(/^line 3: 'priority' "Loud": expected one of Falco's priorities/),
      'line 5: expected a Falco alert (a JSON object)',
    ])
    expect(parseFalcoAlerts('{"priority":"Warning"}').errors).toEqual([
      "the body: expected a Falco alert with a 'rule'",
    ])
  })

  it('takes the time of reception when the alert has none it can read', () => {
    const r = parseFalcoAlerts(JSON.stringify({ ...shell, time: 'yesterday' }), {
      now: () => Date.parse('2026-12-06T12:00:00Z'),
    })
    expect(r.detections[0]!.time).toBe('2026-12-06T12:00:00.000Z')
  })
})
