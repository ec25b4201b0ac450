import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { afterEach, describe, expect, test } from 'vitest'
import { collectRepoFacts, REPO_FACTS } from '../../src/maturity/collect/repo.js'
import { FACTS } from '../../src/maturity/facts.js'

const SCALE = 'test/data/assess/repo-scale'
const BARE = 'test/data/assess/repo-bare'
/** The fake password of repo-bare's plaintext Secret. */
const FAKE_VALUE = 'FAKE-not-a-real-password-0000'

const temps: string[] = []
afterEach(() => {
  for (const dir of temps.splice(0)) rmSync(dir, { recursive: true, force: true })
})

/** A repository in a temporary directory, of `files` (path -> text). */
function repo(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'plimsoll-assess-repo-'))
  temps.push(dir)
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true })
    writeFileSync(join(dir, path), text)
  }
  return dir
}

const value = (facts: ReadonlyMap<string, { value: unknown }>, name: string) =>
  facts.get(`repo.${name}`)?.value
const sources = (facts: ReadonlyMap<string, { sources: readonly string[] }>, name: string) =>
  facts.get(`repo.${name}`)?.sources ?? []

describe('collectRepoFacts', () => {
  test('produces exactly the repo.* facts of facts.ts', async () => {
    const { facts } = await collectRepoFacts([BARE])
    const contract = FACTS.filter((f) => f.source === 'repo').map((f) => `repo.${f.name}`)
    expect([...facts.keys()].sort()).toEqual([...contract].sort())
    expect(REPO_FACTS.map((f) => `repo.${f}`).sort()).toEqual([...contract].sort())
    for (const f of FACTS.filter((f) => f.source === 'repo')) expect(f.type).toBe('count')
  })

  test('a Level 3 repository: every fact found, with its sources', async () => {
    const { facts, problems } = await collectRepoFacts([SCALE])
    // Helm templates are not YAML until rendered: not a problem
    expect(problems).toEqual([])
    for (const name of REPO_FACTS) {
      if (name === 'plaintextSecrets') continue
      expect(value(facts, name), name).toBeGreaterThan(0)
      // a count found: its sources are the files (and lines) it was seen in, one each
      const fact = facts.get(`repo.${name}`)!
      expect(fact.sources.length, name).toBe(fact.value)
    }
    // none found: where it was sought, the repository and how many files of it were looked at
    expect(facts.get('repo.plaintextSecrets')).toEqual({ value: 0, sources: [`${SCALE}: none in 30 files`] })
    expect(value(facts, 'ciWorkflows')).toBe(5)
    expect(sources(facts, 'ciWorkflows')).toEqual([
      `${SCALE}/.github/workflows/ci.yaml`,
      `${SCALE}/.gitlab-ci.yml`,
      `${SCALE}/.pre-commit-config.yaml`,
      `${SCALE}/Jenkinsfile`,
      // included by .gitlab-ci.yml
      `${SCALE}/ci/scan.gitlab-ci.yml`,
    ])
    expect(sources(facts, 'ciPolicyChecks')).toEqual([
      `${SCALE}/.github/workflows/ci.yaml:26`, // npx plimsoll scan
      `${SCALE}/.gitlab-ci.yml:10`, // kubeconform
      `${SCALE}/.pre-commit-config.yaml:7`, // the kube-linter hook's repository
    ])
    expect(sources(facts, 'ciImageScans')).toEqual([
      `${SCALE}/.github/workflows/ci.yaml:33`, // aquasecurity/trivy-action
      `${SCALE}/ci/scan.gitlab-ci.yml:7`, // trivy image
    ])
    expect(sources(facts, 'ciTests')).toEqual([
      `${SCALE}/.github/workflows/ci.yaml:18`, // npm test, inside a run block
      `${SCALE}/Jenkinsfile:9`, // sh 'go test ./...'
    ])
    expect(sources(facts, 'testFiles')).toEqual([
      `${SCALE}/app/src/server.test.ts`,
      `${SCALE}/app/test/routes.ts`,
      `${SCALE}/tools/main_test.go`,
    ])
    expect(sources(facts, 'helmCharts')).toEqual([`${SCALE}/charts/web/Chart.yaml`])
    expect(sources(facts, 'kustomizations')).toEqual([
      `${SCALE}/k8s/base/kustomization.yaml`,
      `${SCALE}/k8s/overlays/prod/kustomization.yaml`,
    ])
    expect(sources(facts, 'gitopsApplications')).toEqual([
      `${SCALE}/gitops/argocd-app.yaml:1`,
      `${SCALE}/gitops/flux.yaml:1`,
      `${SCALE}/gitops/flux.yaml:12`,
      `${SCALE}/gitops/flux.yaml:25`,
    ])
    expect(sources(facts, 'iacFiles')).toEqual([
      `${SCALE}/crossplane/composition.yaml:1`,
      `${SCALE}/terraform/modules/cluster/main.tf`,
      `${SCALE}/terraform/modules/cluster/variables.tf`,
    ])
    // the SOPS-encrypted Secret is managed, not plaintext
    expect(sources(facts, 'managedSecrets')).toEqual([
      `${SCALE}/secrets/db.enc.yaml:9`,
      `${SCALE}/secrets/external-secret.yaml:1`,
      `${SCALE}/secrets/sealed-secret.yaml:1`,
    ])
    expect(sources(facts, 'alertRules')).toEqual([`${SCALE}/monitoring/prometheusrule.yaml:1`])
    expect(sources(facts, 'dashboards')).toEqual([`${SCALE}/monitoring/dashboards/overview.json:1`])
    // kustomization files and Chart.yaml are not manifests; the chart's templates are not read as any
    expect(value(facts, 'manifests')).toBe(12)
    expect(
      sources(facts, 'manifests').some((s) => s.includes('kustomization') || s.includes('charts/')),
    ).toBe(false)
    // a comment in the Jenkinsfile names kyverno: it does not count
    expect(sources(facts, 'ciPolicyChecks').some((s) => s.includes('Jenkinsfile'))).toBe(false)
  })

  test('a bare repository: manifests, a build workflow and a plaintext Secret, nothing else', async () => {
    const result = await collectRepoFacts([BARE])
    const { facts, problems } = result
    expect(problems).toEqual([])
    const expected: Record<string, number> = { manifests: 3, ciWorkflows: 1, plaintextSecrets: 1 }
    for (const name of REPO_FACTS) expect(value(facts, name), name).toBe(expected[name] ?? 0)
    // the comments saying "we should add trivy" (YAML and shell) are not image scans
    expect(value(facts, 'ciImageScans')).toBe(0)
    expect(sources(facts, 'plaintextSecrets')).toEqual([`${BARE}/manifests/secret.yaml:6`])
    expect(sources(facts, 'ciImageScans')).toEqual([`${BARE}: none in 5 files`])
    // the value itself is never read into the result
    expect(JSON.stringify({ facts: [...facts], problems })).not.toContain(FAKE_VALUE)
  })

  test('a broken YAML document is a problem with its file and line; the other documents count', async () => {
    const dir = repo({
      'k8s/all.yaml': [
        'apiVersion: v1',
        'kind: Service',
        'metadata: {name: a}',
        '---',
        'apiVersion: v1',
        'kind: Secret',
        'stringData:',
        '  password: "FAKE-broken-secret-value',
        '  other: [',
        '---',
        'apiVersion: argoproj.io/v1alpha1',
        'kind: Application',
        'metadata: {name: b}',
        '',
      ].join('\n'),
    })
    const result = await collectRepoFacts([dir])
    expect(value(result.facts, 'manifests')).toBe(2)
    expect(sources(result.facts, 'gitopsApplications')).toEqual([`${dir}/k8s/all.yaml:11`])
    expect(result.problems).toHaveLength(1)
    expect(result.problems[0]).toMatch(new RegExp(`^${dir}/k8s/all\\.yaml:(8|9|10): invalid YAML: `))
    expect(JSON.stringify({ facts: [...result.facts], problems: result.problems })).not.toContain(
      'FAKE-broken-secret-value',
    )
  })

  test('a missing path is a problem and the other repository is still read', async () => {
    const { facts, problems } = await collectRepoFacts(['test/data/assess/no-such-repo', BARE])
    expect(problems).toEqual(['repository test/data/assess/no-such-repo: no such directory'])
    expect(value(facts, 'manifests')).toBe(3)
    // a count of 0 cites only the repository read
    expect(sources(facts, 'helmCharts')).toEqual([`${BARE}: none in 5 files`])
  })

  test('a count of 0 cites each repository read, with how many files of it were looked at', async () => {
    const files: Record<string, string> = {}
    for (let i = 0; i < 1001; i++) files[`notes/n${i}.txt`] = ''
    const big = repo(files)
    const small = repo({ 'k8s/cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n' })
    const { facts } = await collectRepoFacts([big, small])
    expect(facts.get('repo.alertRules')).toEqual({
      value: 0,
      sources: [`${big}: none in 1,001 files`, `${small}: none in 1 file`],
    })
    // found in one of them: the file it was seen in, and nothing of where it was not
    expect(facts.get('repo.manifests')).toEqual({ value: 1, sources: [`${small}/k8s/cm.yaml:1`] })
  })

  test('no readable path: no facts at all (unknown), only problems', async () => {
    const { facts, problems } = await collectRepoFacts(['test/data/assess/no-such-repo', `${BARE}/README.md`])
    expect(facts.size).toBe(0)
    expect(problems).toEqual([
      'repository test/data/assess/no-such-repo: no such directory',
      `repository ${BARE}/README.md: not a directory`,
    ])
    expect((await collectRepoFacts([])).facts.size).toBe(0)
  })

  test('an empty repository has every fact at 0, known', async () => {
    const dir = repo({})
    const { facts, problems } = await collectRepoFacts([dir])
    expect(problems).toEqual([])
    for (const name of REPO_FACTS)
      expect(facts.get(`repo.${name}`), name).toEqual({ value: 0, sources: [`${dir}: none in 0 files`] })
  })

  test('skips vendored and generated directories, and does not follow linked directories', async () => {
    const manifest = 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n'
    const dir = repo({
      'app/a.test.ts': '',
      'k8s/cm.yaml': manifest,
      'node_modules/lib/b.test.ts': '',
      'vendor/c_test.go': '',
      'dist/cm.yaml': manifest,
      'build/cm.yaml': manifest,
      '.terraform/modules/main.tf': '',
      '.git/config.yaml': manifest,
    })
    symlinkSync(dir, join(dir, 'k8s', 'loop'))
    symlinkSync(join(dir, 'k8s', 'cm.yaml'), join(dir, 'linked.yaml'))
    const { facts, problems } = await collectRepoFacts([dir])
    expect(problems).toEqual([])
    expect(sources(facts, 'testFiles')).toEqual([`${dir}/app/a.test.ts`])
    expect(value(facts, 'iacFiles')).toBe(0)
    // the linked file is read as a file; the linked directory is not walked
    expect(sources(facts, 'manifests')).toEqual([`${dir}/k8s/cm.yaml:1`, `${dir}/linked.yaml:1`])
  })

  test('a repository inside another given too is read once', async () => {
    const dir = repo({ 'k8s/cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n' })
    const { facts } = await collectRepoFacts([dir, join(dir, 'k8s')])
    expect(value(facts, 'manifests')).toBe(1)
    // a count of 0 cites the repository that was walked, once
    expect(sources(facts, 'testFiles')).toEqual([`${dir}: none in 1 file`])
  })

  test('sources are bounded: 20, then how many more', async () => {
    const files: Record<string, string> = {}
    for (let i = 0; i < 25; i++) files[`pkg/f${String(i).padStart(2, '0')}_test.go`] = ''
    const dir = repo(files)
    const { facts } = await collectRepoFacts([dir])
    expect(value(facts, 'testFiles')).toBe(25)
    const list = sources(facts, 'testFiles')
    expect(list).toHaveLength(21)
    expect(list[0]).toBe(`${dir}/pkg/f00_test.go`)
    expect(list[20]).toBe('... and 5 more')
  })

  test('files over the size limit are skipped, a problem only when they might hold evidence', async () => {
    const big = `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: big}\ndata:\n${'  k: v\n'.repeat(200)}`
    const dir = repo({
      'k8s/big.yaml': big,
      'data/big.txt': 'x'.repeat(5000),
      'data/lock.json': `{"lockfileVersion": 3, "x": "${'y'.repeat(5000)}"}`,
      'k8s/small.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: small}\n',
    })
    const { facts, problems } = await collectRepoFacts([dir], { maxFileBytes: 1000 })
    expect(value(facts, 'manifests')).toBe(1)
    expect(problems).toEqual([`${dir}/k8s/big.yaml: not read: ${big.length} bytes, over the 1000-byte limit`])
  })

  test('what each kind of evidence is', async () => {
    const dir = repo({
      // CI definitions of other systems
      'azure-pipelines.yml': 'steps:\n  - script: |\n      make build\n      make test\n',
      '.circleci/config.yml':
        'version: 2.1\njobs:\n  scan:\n    steps:\n      - run:\n          name: grype\n          command: grype registry.example.com/app:1\n',
      'Jenkinsfile.release':
        "pipeline {\n  stages {\n    stage('x') {\n      steps {\n        sh(script: 'conftest test k8s/', label: 'policy')\n        /* sh 'trivy image app' */\n        echo 'trivy is not run here'\n      }\n    }\n  }\n}\n",
      // a job extending Plimsoll's GitLab template, included from elsewhere
      'svc/.gitlab-ci.yml':
        'include:\n  - remote: https://example.com/plimsoll/ci/gitlab/plimsoll.gitlab-ci.yml\nscan:\n  extends: .plimsoll-scan\n',
      // a step named after a tool runs nothing: only commands count
      '.github/workflows/named.yml':
        'on: push\njobs:\n  a:\n    runs-on: x\n    steps:\n      - name: kyverno and trivy, some day\n        run: echo hello\n',
      // Prometheus rule files, with and without an alert
      'rules/alerts.yaml': 'groups:\n  - name: g\n    rules:\n      - alert: Down\n        expr: up == 0\n',
      'rules/recording.yaml': 'groups:\n  - name: g\n    rules:\n      - record: x\n        expr: sum(up)\n',
      // dashboards as objects and ConfigMaps
      'dash/objects.yaml': [
        'apiVersion: grafana.integreatly.org/v1beta1',
        'kind: GrafanaDashboard',
        'metadata: {name: a}',
        '---',
        'apiVersion: v1',
        'kind: ConfigMap',
        'metadata:',
        '  name: b',
        '  labels: {grafana_dashboard: "1"}',
        'data: {}',
        '',
      ].join('\n'),
      // secrets: an empty Secret is not plaintext; SOPS config and a List of managed secrets
      'secrets/empty.yaml': 'apiVersion: v1\nkind: Secret\nmetadata: {name: e}\ntype: Opaque\n',
      'secrets/list.yaml':
        'apiVersion: v1\nkind: List\nitems:\n  - apiVersion: secrets-store.csi.x-k8s.io/v1\n    kind: SecretProviderClass\n    metadata: {name: p}\n  - apiVersion: external-secrets.io/v1\n    kind: ClusterExternalSecret\n    metadata: {name: c}\n',
      '.sops.yaml': 'creation_rules:\n  - path_regex: .*\\.enc\\.yaml$\n    age: age1example\n',
      'infra/xrd.yaml':
        'apiVersion: apiextensions.crossplane.io/v1\nkind: CompositeResourceDefinition\nmetadata: {name: x}\n---\napiVersion: pkg.crossplane.io/v1\nkind: Provider\nmetadata: {name: p}\n',
      'infra/main.tf.json': '{}',
      'svc/test_api.py': '',
      'svc/api.spec.js': '',
      'svc/openapi.spec.yaml': 'openapi: 3.0.0\n',
      Kustomization: 'resources: [a.yaml]\n',
    })
    const { facts, problems } = await collectRepoFacts([dir])
    expect(problems).toEqual([])
    expect(value(facts, 'ciWorkflows')).toBe(5)
    expect(sources(facts, 'ciTests')).toEqual([`${dir}/azure-pipelines.yml:4`])
    expect(sources(facts, 'ciImageScans')).toEqual([`${dir}/.circleci/config.yml:7`])
    expect(sources(facts, 'ciPolicyChecks')).toEqual([
      `${dir}/Jenkinsfile.release:5`,
      `${dir}/svc/.gitlab-ci.yml:2`,
    ])
    expect(sources(facts, 'alertRules')).toEqual([`${dir}/rules/alerts.yaml:1`])
    expect(sources(facts, 'dashboards')).toEqual([`${dir}/dash/objects.yaml:1`, `${dir}/dash/objects.yaml:5`])
    expect(value(facts, 'plaintextSecrets')).toBe(0)
    expect(sources(facts, 'managedSecrets')).toEqual([
      `${dir}/.sops.yaml`,
      `${dir}/secrets/list.yaml:4`,
      `${dir}/secrets/list.yaml:7`,
    ])
    expect(sources(facts, 'iacFiles')).toEqual([
      `${dir}/infra/main.tf.json`,
      `${dir}/infra/xrd.yaml:1`,
      `${dir}/infra/xrd.yaml:5`,
    ])
    expect(sources(facts, 'testFiles')).toEqual([`${dir}/svc/api.spec.js`, `${dir}/svc/test_api.py`])
    expect(sources(facts, 'kustomizations')).toEqual([`${dir}/Kustomization`])
  })
})
