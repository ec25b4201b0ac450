import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { loadLibrary } from '../../src/policy/library.js'
import { scan } from '../../src/scan/scan.js'
import { openStore } from '../../src/store/connect.js'
import { manifestsOf } from '../../src/store/manifests.js'
import { getResource } from '../../src/store/queries.js'
import { recordRun, resourceKeyOf } from '../../src/store/record-run.js'

const tmp = mkdtempSync(join(tmpdir(), 'plimsoll-manifests-'))
const file = join(tmp, 'app.yaml')
writeFileSync(
  file,
  `# the shop
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: shop}
spec:
  containers:
  - name: app
    image: nginx:1.27
    securityContext: {privileged: true}
---
apiVersion: v1
kind: Pod
metadata: {name: db, namespace: shop}
spec:
  containers:
  - name: db
    image: postgres:16
    env:
    - name: POSTGRES_PASSWORD
      value: hunter2-hunter2
---
apiVersion: v1
kind: Secret
metadata: {name: tls, namespace: shop}
stringData: {key: very-secret}
`,
)

describe('manifests of resources with findings', () => {
  it('keeps each resource’s document with its first line, never a Secret or a manifest holding a credential', async () => {
    const report = await scan({ inputs: [file], library: loadLibrary({}), jobs: 1 })
    const manifests = manifestsOf(report.findings, resourceKeyOf, (f) => readFileSync(f, 'utf8'))
    const byName = new Map([...manifests].map(([key, m]) => [key.split('\u0000')[3], m]))
    expect(byName.get('web')).toEqual({ text: expect.stringContaining('privileged: true'), line: 1 })
    expect(byName.get('web')!.text).not.toContain('postgres')
    expect(report.findings.some((f) => f.resource.name === 'db' && f.checkId === 'credentials-in-env')).toBe(
      true,
    )
    expect(byName.has('db')).toBe(false)
    expect(
      [...manifests.values()].some((m) => m.text.includes('hunter2') || m.text.includes('very-secret')),
    ).toBe(false)

    const store = await openStore(join(tmp, 'm.db'))
    try {
      await recordRun(store, report, { source: 'ci', target: 't', plimsollVersion: 'test', manifests })
      const rows = await store.db.selectFrom('resources').select(['id', 'name']).execute()
      const web = await getResource(store, rows.find((r) => r.name === 'web')!.id)
      expect(web).toMatchObject({ manifestLine: 1, manifest: expect.stringContaining('name: app') })
      const db = await getResource(store, rows.find((r) => r.name === 'db')!.id)
      expect(db).toMatchObject({ manifest: null, manifestLine: null })
      const all = await store.db.selectFrom('resources').select('manifest').execute()
      expect(all.some((r) => r.manifest?.includes('hunter2'))).toBe(false)
    } finally {
      await store.close()
    }
  })
})
