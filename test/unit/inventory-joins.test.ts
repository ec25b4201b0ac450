/**
 * What the inventory keeps for the checks that join a budget to its workload's autoscaler and a route to
 * the ReferenceGrants of its backends' namespaces, and which custom resources hide a namespace's pods.
 * The built-in checks' examples run through these records (library-examples.test.ts); here, the records
 * themselves, and a whole scan relating files.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { Inventory, inventoryRecord } from '../../src/policy/inventory.js'
import { podTemplates, resourcesOf } from '../helpers/checks.js'
import { run } from '../helpers/cli.js'

const records = (yaml: string) => resourcesOf(yaml).map((r) => inventoryRecord(r, podTemplates))

describe('inventory records for joins', () => {
  it('keeps the replicas a workload writes, and nothing when it writes none', () => {
    const [three, unset] = records(`apiVersion: apps/v1
kind: Deployment
metadata: {name: a}
spec: {replicas: 3, template: {metadata: {labels: {app: a}}, spec: {containers: [{name: c, image: i}]}}}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: b}
spec: {template: {metadata: {labels: {app: b}}, spec: {containers: [{name: c, image: i}]}}}
`)
    expect(three?.replicas).toBe(3)
    expect(unset).not.toHaveProperty('replicas')
  })

  it("keeps an autoscaler's target and bounds, minReplicas defaulted to 1", () => {
    const [hpa] = records(`apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: web-hpa, namespace: shop}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  maxReplicas: 8
`)
    expect(hpa).toMatchObject({
      scaleTargetRef: { kind: 'Deployment', name: 'web' },
      minReplicas: 1,
      maxReplicas: 8,
    })
  })

  it("keeps a ReferenceGrant's from and to, and no such fields for a same-named kind of another group", () => {
    const [grant, other] = records(`apiVersion: gateway.networking.k8s.io/v1beta1
kind: ReferenceGrant
metadata: {name: g, namespace: billing}
spec:
  from: [{group: gateway.networking.k8s.io, kind: HTTPRoute, namespace: shop}]
  to: [{group: "", kind: Service, name: payments}]
---
apiVersion: example.com/v1
kind: ReferenceGrant
metadata: {name: g, namespace: billing}
spec: {from: [{kind: X}]}
`)
    expect(grant?.from).toEqual([
      { group: 'gateway.networking.k8s.io', kind: 'HTTPRoute', namespace: 'shop' },
    ])
    expect(grant?.to).toEqual([{ group: '', kind: 'Service', name: 'payments' }])
    expect(other).not.toHaveProperty('from')
  })

  it('does not count scrape and alert configuration as custom resources that may make pods', () => {
    const inv = new Inventory(
      records(`apiVersion: monitoring.coreos.com/v1
kind: ServiceMonitor
metadata: {name: api, namespace: shop}
spec: {selector: {matchLabels: {app: api}}}
---
apiVersion: monitoring.coreos.com/v1
kind: PrometheusRule
metadata: {name: api, namespace: shop}
spec: {groups: []}
---
apiVersion: monitoring.coreos.com/v1
kind: Prometheus
metadata: {name: k8s, namespace: monitoring}
spec: {replicas: 2}
`),
    )
    expect(inv.hasCustomResources('shop')).toBe(false)
    expect(inv.hasCustomResources('monitoring')).toBe(true)
  })
})

describe('plimsoll scan joins a budget to the autoscaler of its workload across files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'plimsoll-joins-'))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))
  writeFileSync(
    join(dir, 'app.yaml'),
    `apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  replicas: 4
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: app, image: nginx:1.27}]}
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: web, namespace: shop}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  minReplicas: 2
  maxReplicas: 6
`,
  )
  writeFileSync(
    join(dir, 'pdb.yaml'),
    `apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: web, namespace: shop}
spec:
  minAvailable: 2
  selector: {matchLabels: {app: web}}
`,
  )

  it('reports the budget at its minAvailable line, naming the autoscaler as the reason', () => {
    const r = run(['scan', dir, '--fail-on', 'none', '--format', 'json'])
    expect(r.code).toBe(0)
    const findings = (
      JSON.parse(r.stdout) as {
        findings: { checkId: string; message: string; location: { file: string; line: number } }[]
      }
    ).findings.filter((f) => f.checkId === 'pdb-min-available-blocks-drain')
    expect(findings).toHaveLength(1)
    expect(findings[0]?.location).toMatchObject({ file: join(dir, 'pdb.yaml'), line: 5 })
    expect(findings[0]?.message).toContain("at its autoscaler's minReplicas")
  })
})
