/**
 * `plimsoll import` on the real reports the tools wrote (the corpus's tool-reports, see its README and
 * PROVENANCE): what each importer reads out of them, and how the store records an import, again, and a
 * newer report derived from the real one by taking findings out (those are fixed, so resolved).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'
import { Command } from 'commander'
import { describe, expect, it } from 'vitest'
import { registerImport, runImport } from '../../src/cli/import.js'
import { parseReport, readReport } from '../../src/import/read.js'
import { importReport } from '../../src/import/record.js'
import type { ImportedFinding } from '../../src/import/types.js'
import { fingerprint } from '../../src/scan/baseline.js'
import { buildServer } from '../../src/server/app.js'
import { openStore } from '../../src/store/connect.js'
import { createException } from '../../src/store/exceptions.js'
import { listFindings } from '../../src/store/queries.js'
import { createToken } from '../../src/store/tokens.js'
import { corpusPath } from '../helpers/corpus.js'
import { freshDatabase } from '../helpers/postgres.js'
import { tempFiles } from '../helpers/temp-files.js'

const root = corpusPath('tool-reports')
const report = (path: string) => join(root, path)
const read = (path: string) => readReport(report(path), 'auto')

function one(findings: ImportedFinding[], checkId: string, name?: string, pkg?: string): ImportedFinding {
  const hits = findings.filter(
    (f) =>
      f.checkId === checkId &&
      (name === undefined || f.resource.name === name) &&
      (pkg === undefined || f.vulnerability?.package === pkg),
  )
  expect(hits, `${checkId} ${name ?? ''} ${pkg ?? ''}`).toHaveLength(1)
  return hits[0]!
}

const countBy = (findings: ImportedFinding[], key: (f: ImportedFinding) => string) =>
  findings.reduce<Record<string, number>>((acc, f) => {
    acc[key(f)] = (acc[key(f)] ?? 0) + 1
    return acc
  }, {})

describe('import: every real report in the corpus', () => {
  const files = (dir: string): string[] =>
    readdirSync(dir).flatMap((n) => {
      const p = join(dir, n)
      if (statSync(p).isDirectory()) return n === 'LICENSES' ? [] : files(p)
      return n.endsWith('.md') ? [] : [p]
    })
  const FOLDER_FORMAT: Record<string, string> = {
    trivy: 'trivy',
    grype: 'grype',
    kubescape: 'kubescape',
    polaris: 'polaris',
    'kube-linter': 'kube-linter',
    kyverno: 'policy-report',
    sarif: 'sarif',
  }
  const all = files(root)

  it('finds the 19 reports, and --format auto tells each one by its own fields', () => {
    expect(all).toHaveLength(19)
    for (const file of all) {
      const folder = relative(root, file).split('/')[0]!
      expect(readReport(file, 'auto').format, file).toBe(FOLDER_FORMAT[folder])
      // the format named gives the same findings as the format detected
      expect(readReport(file, FOLDER_FORMAT[folder] as 'trivy').findings).toEqual(
        readReport(file, 'auto').findings,
      )
    }
  })

  it('namespaces every id by its tool, and never lets a line number or a timestamp into a fingerprint', () => {
    for (const file of all) {
      const r = read(relative(root, file))
      for (const f of r.findings) {
        expect(f.checkId).toMatch(/^[a-z0-9.-]+:\S/)
        expect(f.path).not.toMatch(/\b(line|\d{4}-\d{2}-\d{2}T)/)
      }
    }
  })
})

describe('import: Trivy JSON', () => {
  it('image vulnerabilities: CVE, package, installed and fixed version, fix state', () => {
    const r = read('trivy/alpine-310.json.golden')
    expect(r.tools).toEqual([{ name: 'trivy', version: 'dev' }])
    expect(r.findings).toHaveLength(4)
    const f = one(r.findings, 'trivy:CVE-2019-1549', undefined, 'libssl1.1')
    expect(f.resource).toEqual({
      apiVersion: '',
      kind: 'Image',
      name: 'testdata/fixtures/images/alpine-310.tar.gz',
    })
    expect(f.severity).toBe('medium')
    expect(f.vulnerability).toEqual({
      id: 'CVE-2019-1549',
      package: 'libssl1.1',
      installedVersion: '1.1.1c-r0',
      fixedVersion: '1.1.1d-r0',
      fixState: 'fixed',
      aliases: [],
      packageType: 'alpine',
      artifact: 'testdata/fixtures/images/alpine-310.tar.gz',
    })
    expect(
      one(r.findings, 'trivy:CVE-2019-1551', undefined, 'libcrypto1.1').vulnerability?.fixedVersion,
    ).toBe('1.1.1d-r2')
  })

  it('trivy config on a Helm chart: the failed checks only, of the file, with their lines', () => {
    const r = read('trivy/helm_testchart.json.golden')
    // MisconfSummary: 6 failures in templates/deployment.yaml, none in the service and service account
    expect(r.findings.map((f) => f.checkId).sort()).toEqual([
      'trivy:KSV-0001',
      'trivy:KSV-0030',
      'trivy:KSV-0104',
      'trivy:KSV-0110',
      'trivy:KSV-0117',
      'trivy:KSV-0118',
    ])
    const f = one(r.findings, 'trivy:KSV-0118')
    expect(f.severity).toBe('high')
    expect(f.resource).toMatchObject({ kind: 'File', name: 'templates/deployment.yaml' })
    expect(f.line).toBe(23)
    expect(one(r.findings, 'trivy:KSV-0001').container).toBe('testchart')
  })

  it('the early trivy k8s shape: objects by namespace, kind and name; KSV001 spelled KSV-0001', () => {
    const r = read('trivy/kubernetes.json')
    expect(r.findings).toHaveLength(20)
    const misconfig = one(r.findings, 'trivy:KSV-0001', 'redis-leader')
    expect(misconfig.resource).toEqual({
      apiVersion: '',
      kind: 'Deployment',
      namespace: 'default',
      name: 'redis-leader',
    })
    expect(misconfig.container).toBe('leader')
    const noFix = r.findings.filter((f) => f.checkId === 'trivy:CVE-2011-3374')
    expect(noFix).toHaveLength(2)
    expect(noFix[0]!.vulnerability).toMatchObject({ package: 'apt', fixState: 'unknown' })
    expect(noFix[0]!.vulnerability?.fixedVersion).toBeUndefined()
    const fixed = one(r.findings, 'trivy:CVE-2020-27350', 'redis-leader')
    expect(fixed.vulnerability).toMatchObject({ installedVersion: '1.8.2.1', fixedVersion: '1.8.2.2' })
    expect(fixed.path).toBe('image docker.io/redis:6.0.5 package apt')
    // the image is the one the object's result names, and Debian's advisory is an alias
    expect(one(r.findings, 'trivy:CVE-2020-27350', 'redis-follower').vulnerability).toMatchObject({
      artifact: 'gcr.io/google_samples/gb-redis-follower:v2',
      packageType: 'debian',
      aliases: ['DSA-4808-1'],
    })
  })
})

describe('import: Grype JSON', () => {
  it("keycloak: CVE-2020-12413 on six rpm packages, which Red Hat won't fix", () => {
    const r = read('grype/keycloak-test.json')
    expect(r.tools).toEqual([{ name: 'grype', version: '0.66.0' }])
    expect(r.findings).toHaveLength(6)
    for (const f of r.findings) {
      expect(f).toMatchObject({ checkId: 'grype:CVE-2020-12413', severity: 'low' })
      expect(f.vulnerability?.fixState).toBe('wont-fix')
      expect(f.resource.name).toMatch(/^docker\.io\/keycloak\/keycloak:21\.0\.2@sha256:/)
    }
    expect(r.findings.map((f) => f.vulnerability?.package).sort()).toContain('nss-softokn-freebl')
  })

  it('chainguard ruby: a GHSA fixed in a version, the same CVE with no fix known', () => {
    const r = read('grype/chainguard-ruby-test.json')
    expect(r.findings).toHaveLength(3)
    expect(one(r.findings, 'grype:GHSA-hv5j-3h9f-99c2').vulnerability).toEqual({
      id: 'GHSA-hv5j-3h9f-99c2',
      package: 'uri',
      installedVersion: '0.10.1',
      fixedVersion: '0.10.2',
      fixState: 'fixed',
      // Grype's related vulnerability: the CVE the GitHub advisory is
      aliases: ['CVE-2023-28755'],
      packageType: 'gem',
      artifact: 'cgr.dev/chainguard/ruby:latest-3.0',
    })
    expect(one(r.findings, 'grype:CVE-2023-28755', undefined, 'uri').vulnerability?.fixState).toBe('unknown')
    expect(one(r.findings, 'grype:CVE-2023-28755', undefined, 'ruby-3.0').vulnerability?.fixedVersion).toBe(
      '3.0.6-r0',
    )
  })

  it('busybox with EPSS: severities mapped, an empty fix state read as unknown', () => {
    const r = read('grype/many_vulns_with_epss_values.json')
    expect(r.findings).toHaveLength(15)
    expect(countBy(r.findings, (f) => f.severity)).toEqual({ critical: 1, high: 10, medium: 2, low: 2 })
    expect(one(r.findings, 'grype:CVE-2022-48174').severity).toBe('critical')
    expect(one(r.findings, 'grype:CVE-2021-42376').vulnerability).toMatchObject({
      fixedVersion: '1.34.0',
      fixState: 'fixed',
    })
    expect(one(r.findings, 'grype:CVE-2022-28391').vulnerability?.fixState).toBe('unknown')
  })
})

describe('import: Kubescape JSON', () => {
  it('v3: the failed controls of the one Deployment, joined to its object and file', () => {
    const r = read('kubescape/with_a_failure.json')
    expect(r.tools).toEqual([{ name: 'kubescape', version: 'v3.0.3' }])
    expect(r.findings.map((f) => f.checkId).sort()).toEqual([
      'kubescape:C-0030',
      'kubescape:C-0055',
      'kubescape:C-0260',
    ])
    const f = one(r.findings, 'kubescape:C-0030')
    expect(f.resource).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: 'nginx-deployment' })
    expect(f.file).toBe('nginx.yaml')
    // scoreFactor 6 is medium in Kubescape's bands
    expect(f.severity).toBe('medium')
    expect(one(r.findings, 'kubescape:C-0055').message).toContain('securityContext.seccompProfile')
  })

  it('v3 with every control passing: nothing', () => {
    expect(read('kubescape/results.json').findings).toEqual([])
  })

  it('the 2022 format, with no status object: the rules say which controls failed', () => {
    const r = read('kubescape/many_findings.json')
    expect(r.findings).toHaveLength(289)
    const f = one(r.findings, 'kubescape:C-0017', 'paymentservice')
    expect(f.resource).toMatchObject({ apiVersion: 'apps/v1', kind: 'Deployment' })
    expect(f.severity).toBe('low') // scoreFactor 3
    expect(f.file).toBe('examples/online-boutique/paymentservice.yaml')
    // an RBAC subject with its related objects is the subject
    const subject = r.findings.filter((f) => f.resource.kind === 'ServiceAccount')
    expect(subject.length).toBeGreaterThan(0)
    // (Kubescape wrote some without their namespace: `//ServiceAccount/kubescape-discovery/...`)
    expect(new Set(subject.map((f) => `${f.resource.namespace ?? ''}/${f.resource.name}`))).toEqual(
      new Set(['kubescape/kubescape-discovery', '/kubescape-discovery']),
    )
    // objects of the same kind and name in two files of the examples are one resource, as in a scan,
    // and so is a subject reported with several sets of related RBAC objects
    const recorded = importReport([{ file: 'k', report: r }])
    expect(new Set(recorded.findings.map(fingerprint)).size).toBe(246)
    expect(recorded.findings).toHaveLength(246)
    expect(recorded.summary).toMatchObject({ findings: 246, resources: 32, excepted: 0 })
  })
})

describe('import: Polaris JSON', () => {
  it('walks workload, pod and container results; danger is high, warning medium', () => {
    const r = read('polaris/polaris_many_vuln.json')
    expect(r.findings).toHaveLength(21)
    expect(countBy(r.findings, (f) => f.severity)).toEqual({ high: 4, medium: 17 })
    const root = one(r.findings, 'polaris:runAsRootAllowed')
    expect(root).toMatchObject({ severity: 'high', container: 'server', file: '/manifests/many.yaml' })
    expect(root.resource).toEqual({ apiVersion: '', kind: 'Deployment', name: 'generic-app' })
    expect(one(r.findings, 'polaris:missingNetworkPolicy').container).toBeUndefined()
    expect(one(r.findings, 'polaris:deploymentMissingReplicas').category).toBe('Reliability')
  })

  it('the 2020 example output, where every check succeeds: nothing', () => {
    expect(read('polaris/output.json').findings).toEqual([])
  })
})

describe('import: kube-linter JSON', () => {
  it('reports on an object by group, version and kind; the container named in the message', () => {
    const r = read('kube-linter/kubelinter_many_vuln.json')
    expect(r.tools).toEqual([{ name: 'kube-linter', version: '0.8.3' }])
    expect(r.findings).toHaveLength(7)
    const f = one(r.findings, 'kube-linter:privileged-container')
    expect(f.resource).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: 'generic-app' })
    expect(f).toMatchObject({ container: 'server', severity: 'medium', file: '/manifests/many.yaml' })
  })

  it('a clean run (`"Reports": null`): nothing', () => {
    expect(read('kube-linter/kubelinter_no_vuln.json').findings).toEqual([])
  })
})

describe('import: PolicyReports', () => {
  it('a per-resource report: its failures, of the scope; passes are left out', () => {
    const r = read('kyverno/reports.md.L17-71.policyreport-pod.yaml')
    expect(r.findings).toHaveLength(1)
    expect(r.findings[0]).toMatchObject({
      checkId: 'kyverno:disallow-host-namespaces/host-namespaces',
      severity: 'medium',
      category: 'Pod Security Standards (Baseline)',
      resource: {
        apiVersion: 'v1',
        kind: 'Pod',
        namespace: 'kube-system',
        name: 'kube-apiserver-kind-control-plane',
      },
    })
  })

  it('a List of reports from ValidatingAdmissionPolicy results, which have no rule', () => {
    const r = read('kyverno/reports.md.L657-736.policyreport-list-vap.yaml')
    expect(r.findings.map((f) => [f.checkId, f.resource.name])).toEqual([
      ['validatingadmissionpolicy:check-deployment-replicas', 'deployment-3'],
    ])
  })

  it("the CLI's merged ClusterPolicyReport names resources in each result", () => {
    const r = read('kyverno/kyverno-cli.mdx.L1086-1111.clusterpolicyreport-cli.yaml')
    expect(r.findings).toHaveLength(1)
    expect(r.findings[0]!.resource).toEqual({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      namespace: 'staging',
      name: 'nginx-1',
    })
  })
})

describe('import: SARIF', () => {
  it("Trivy's image SARIF gives the ids and severities of its JSON", () => {
    const sarif = read('sarif/trivy/alpine-310.sarif.golden')
    const json = read('trivy/alpine-310.json.golden')
    expect(sarif.findings.map((f) => [f.checkId, f.severity]).sort()).toEqual(
      json.findings.map((f) => [f.checkId, f.severity]).sort(),
    )
    // the four results are four findings: the location's message names the package
    expect(sarif.findings.map((f) => f.path)).toContain(
      'testdata/fixtures/images/alpine-310.tar.gz: libssl1.1@1.1.1c-r0',
    )
    expect(new Set(importReport([{ file: 's', report: sarif }]).findings.map(fingerprint)).size).toBe(4)
  })

  it('Trivy 0.27 config SARIF: 58 results of five KSV checks, security-severity 8.0 is high', () => {
    const r = read('sarif/trivy/valid.sarif')
    expect(r.tools).toEqual([{ name: 'trivy', version: '0.27.1' }])
    expect(countBy(r.findings, (f) => f.checkId)).toEqual({
      'trivy:KSV-0006': 1,
      'trivy:KSV-0008': 17,
      'trivy:KSV-0009': 17,
      'trivy:KSV-0010': 17,
      'trivy:KSV-0017': 6,
    })
    expect(one(r.findings, 'trivy:KSV-0008', 'auditors/hostns/fixtures/host-ipc-true.yml').severity).toBe(
      'high',
    )
  })

  it("kubeaudit's SARIF: level error is high; the file is the resource", () => {
    const r = read('sarif/kubeaudit/valid.sarif')
    expect(r.findings.map((f) => [f.checkId, f.severity, f.resource.kind, f.resource.name])).toEqual([
      [
        'kubeaudit:AppArmorInvalidAnnotation',
        'high',
        'File',
        'internal/sarif/fixtures/apparmor-invalid.yaml',
      ],
      [
        'kubeaudit:AutomountServiceAccountTokenTrueAndDefaultSA',
        'high',
        'File',
        'internal/sarif/fixtures/apparmor-invalid.yaml',
      ],
    ])
  })
})

describe('import: bad input', () => {
  it('a report of another format: names the file and what was expected', () => {
    const file = report('grype/keycloak-test.json')
    expect(() => readReport(file, 'trivy')).toThrow(
      `${file}: not a Trivy report: expected SchemaVersion 2 and Results`,
    )
    expect(() => readReport(report('polaris/output.json'), 'kubescape')).toThrow(
      /polaris\/output\.json: not a Kubescape report/,
    )
    expect(() => readReport(report('trivy/kubernetes.json'), 'policy-report')).toThrow(/not a PolicyReport/)
  })

  it('text that is neither, a missing file, an unknown shape: an error, never a crash', () => {
    expect(() => parseReport('r.json', '{"a": [1, 2', 'auto')).toThrow(/^r\.json: neither JSON .* nor YAML/)
    expect(() => parseReport('r.json', '{"a": 1}', 'auto')).toThrow(/^r\.json: format not recognised/)
    expect(() => readReport('/nonexistent/r.json', 'auto')).toThrow(
      '/nonexistent/r.json: cannot read: ENOENT',
    )
  })
})

describe('plimsoll import: the store', () => {
  const tmp = tempFiles('plimsoll-import-')
  const capture = () => {
    const lines: string[] = []
    return { lines, out: (l: string) => lines.push(l) }
  }
  const rows = async (db: string, target: string) => {
    const store = await openStore(db)
    try {
      return await store.db
        .selectFrom('findings')
        .select(['check_id', 'resource_name', 'state', 'exception', 'path'])
        .where('target', '=', target)
        .execute()
    } finally {
      await store.close()
    }
  }

  for (const backend of ['sqlite', 'postgres'] as const)
    it(`${backend}: a re-import changes nothing; a newer report resolves what it no longer has`, async () => {
      const db = backend === 'sqlite' ? tmp.file('store.db', '') : await freshDatabase('import')
      const original = report('trivy/kubernetes.json')
      const first = capture()
      expect(
        await runImport([original], { format: 'trivy', target: 'eks/trivy', store: db }, first.out),
      ).toBe(0)
      expect(first.lines.at(-2)).toMatch(/: 20 new, 0 reopened, 0 seen again, 0 resolved$/)
      expect(first.lines.at(-1)).toBe(
        'open: 20 (0 critical, 0 high, 6 medium, 14 low, 0 info); excepted: 0; resources: 2',
      )

      const again = capture()
      await runImport([original], { format: 'auto', target: 'eks/trivy', store: db }, again.out)
      expect(again.lines.at(-2)).toMatch(/: 0 new, 0 reopened, 20 seen again, 0 resolved$/)

      // The real report with redis-leader's image fixed (its vulnerabilities gone) and KSV001 fixed on
      // redis-follower: 5 + 1 findings fewer.
      const doc = JSON.parse(readFileSync(original, 'utf8'))
      doc.Vulnerabilities = doc.Vulnerabilities.filter((e: { Name: string }) => e.Name !== 'redis-leader')
      const follower = doc.Misconfigurations.find(
        (e: { Name: string; Kind: string }) => e.Kind === 'Deployment' && e.Name === 'redis-follower',
      )
      follower.Results[0].Misconfigurations = follower.Results[0].Misconfigurations.filter(
        (m: { ID: string }) => m.ID !== 'KSV001',
      )
      const newer = tmp.file('kubernetes-newer.json', JSON.stringify(doc))
      const third = capture()
      await runImport([newer], { format: 'trivy', target: 'eks/trivy', store: db }, third.out)
      expect(third.lines.at(-2)).toMatch(/: 0 new, 0 reopened, 14 seen again, 6 resolved$/)
      const resolved = (await rows(db, 'eks/trivy')).filter((r) => r.state === 'resolved')
      expect(resolved).toHaveLength(6)
      expect(
        resolved.filter((r) => r.resource_name === 'redis-leader' && r.check_id.startsWith('trivy:CVE-')),
      ).toHaveLength(5)
      expect(resolved.filter((r) => r.check_id === 'trivy:KSV-0001')).toEqual([
        expect.objectContaining({ resource_name: 'redis-follower' }),
      ])

      // the dashboard's findings list reads them as it reads a scan's: by state, check and search words
      const store = await openStore(db)
      try {
        const page = await listFindings(
          store,
          { target: 'eks/trivy', state: ['resolved'], q: 'CVE-2020-27350' },
          { sort: 'severity', descending: true, limit: 10, offset: 0 },
        )
        expect(
          page.items.map((f) => [f.checkId, f.severity, f.resource.kind, f.resource.name, f.path]),
        ).toEqual([
          [
            'trivy:CVE-2020-27350',
            'medium',
            'Deployment',
            'redis-leader',
            'image docker.io/redis:6.0.5 package apt',
          ],
        ])
        expect(page.items[0]!.message).toContain('fixed in 1.8.2.2')
      } finally {
        await store.close()
      }

      // the original again: what was resolved is back, reopened
      const fourth = capture()
      await runImport([original], { format: 'trivy', target: 'eks/trivy', store: db }, fourth.out)
      expect(fourth.lines.at(-2)).toMatch(/: 0 new, 6 reopened, 14 seen again, 0 resolved$/)
    })

  it("a clean Trivy scan (no Results, as Trivy omits an empty list) resolves all the image's findings", async () => {
    const db = tmp.file('clean.db', '')
    const golden = report('trivy/alpine-310.json.golden')
    const run = capture()
    await runImport([golden], { format: 'trivy', target: 'alpine', store: db }, run.out)
    const doc = JSON.parse(readFileSync(golden, 'utf8'))
    delete doc.Results
    const clean = tmp.file('alpine-clean.json', JSON.stringify(doc))
    await runImport([clean], { format: 'auto', target: 'alpine', store: db }, run.out)
    expect(run.lines.at(-2)).toMatch(/: 0 new, 0 reopened, 0 seen again, 4 resolved$/)
  })

  it('the exceptions register applies to imported findings, by the namespaced id', async () => {
    const db = tmp.file('excepted.db', '')
    const store = await openStore(db)
    try {
      await createException(
        store,
        {
          checks: ['polaris:runAs*'],
          owner: 'platform',
          reason: 'runs as root until the base image moves',
          expires: '2999-01-01',
        },
        'test',
      )
    } finally {
      await store.close()
    }
    const run = capture()
    expect(
      await runImport(
        [report('polaris/polaris_many_vuln.json')],
        { format: 'polaris', target: 'many/polaris', store: db },
        run.out,
      ),
    ).toBe(0)
    // runAsRootAllowed and runAsPrivileged (both danger): 2 of the 4 high are excepted
    expect(run.lines.at(-1)).toBe(
      'open: 19 (0 critical, 2 high, 17 medium, 0 low, 0 info); excepted: 2; resources: 1',
    )
    const excepted = (await rows(db, 'many/polaris')).filter((r) => r.state === 'excepted')
    expect(excepted.map((r) => r.check_id).sort()).toEqual([
      'polaris:runAsPrivileged',
      'polaris:runAsRootAllowed',
    ])
    expect(JSON.parse(excepted[0]!.exception!)).toMatchObject({ owner: 'platform', source: 'file' })

    // the dashboard's API lists them as it lists a scan's, filtered by the namespaced check id
    const served = await openStore(db)
    const app = await buildServer({ store: served, checks: [], frameworks: [] })
    try {
      const { token } = await createToken(served, 'viewer', { role: 'viewer' })
      const res = await app.inject({
        url: '/api/findings?check=polaris:runAsRootAllowed&state=excepted',
        headers: { authorization: `Bearer ${token}` },
      })
      expect(res.statusCode).toBe(200)
      const page = res.json() as {
        total: number
        items: { checkId: string; container: string; resource: { name: string } }[]
      }
      expect(page.total).toBe(1)
      expect(page.items[0]).toMatchObject({
        checkId: 'polaris:runAsRootAllowed',
        container: 'server',
        resource: { name: 'generic-app' },
      })
    } finally {
      await app.close()
      await served.close()
    }
  })

  it('records nothing when a report cannot be read, or when the target holds another format', async () => {
    const db = tmp.file('refused.db', '')
    const errors: string[] = []
    const err = (l: string) => errors.push(l)
    const bad = tmp.file('bad.json', '{"SchemaVersion": 2}')
    expect(
      await runImport(
        [report('trivy/alpine-310.json.golden'), bad],
        { format: 'trivy', target: 't', store: db },
        () => {},
        err,
      ),
    ).toBe(2)
    expect(errors.at(-1)).toBe(
      `plimsoll import: ${bad}: not a Trivy report: expected SchemaVersion 2 and Results, or the \`trivy k8s\` ClusterName with Vulnerabilities/Misconfigurations`,
    )

    expect(
      await runImport(
        [report('trivy/alpine-310.json.golden')],
        { format: 'auto', target: 'alpine', store: db },
        () => {},
        err,
      ),
    ).toBe(0)
    expect(
      await runImport(
        [report('grype/keycloak-test.json')],
        { format: 'auto', target: 'alpine', store: db },
        () => {},
        err,
      ),
    ).toBe(2)
    expect(errors.at(-1)).toMatch(
      /target 'alpine' holds trivy imports, and this is grype: it would resolve their findings/,
    )
    expect((await rows(db, 'alpine')).every((r) => r.state === 'open')).toBe(true)
    expect(await rows(db, 't')).toEqual([])
  })
})

describe('plimsoll import: the command', () => {
  /** The command as main.ts registers it, its output and errors kept (settings reach subcommands made after). */
  const program = () => {
    const output = { out: '', err: '' }
    const p = new Command()
      .name('plimsoll')
      .exitOverride()
      .configureOutput({ writeOut: (t) => (output.out += t), writeErr: (t) => (output.err += t) })
    registerImport(p)
    return { p, output }
  }

  it('--help teaches with examples', () => {
    const { p, output } = program()
    expect(() => p.parse(['node', 'plimsoll', 'import', '--help'])).toThrow()
    expect(output.out).toContain('--format <format>')
    expect(output.out).toContain('--target <name>')
    expect(output.out).toContain(
      'plimsoll import --format trivy trivy.json --target registry.example/shop/api',
    )
  })

  it('refuses a format it does not know, and a missing --target', () => {
    const bad = program()
    expect(() =>
      bad.p.parse(['node', 'plimsoll', 'import', '--format', 'nessus', 'r.json', '--target', 't']),
    ).toThrow()
    expect(bad.output.err).toContain(
      'expected one of trivy, grype, kubescape, polaris, kube-linter, policy-report, sarif, auto',
    )
    const untargeted = program()
    expect(() => untargeted.p.parse(['node', 'plimsoll', 'import', 'r.json'])).toThrow()
    expect(untargeted.output.err).toContain("required option '--target <name>' not specified")
  })
})
