/**
 * The webhook's decisions: the built-in checks, Kyverno policies and admission policies judge the
 * object with the request as the API server sent it (operation, user, old object); each failure is
 * enforced, warned, audited or ignored as the enforcement rules (or the policy itself) say; exemptions,
 * exceptions, DELETE and subresources. Then `plimsoll webhook serve` as a process, as it is deployed.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { request as httpsRequest } from 'node:https'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Engine, LATEST_VERSION } from '../../src/policy/engine.js'
import { loadLibrary } from '../../src/policy/library.js'
import { writeCertificates } from '../../src/webhook/certificates.js'
import { decideValidation, type ValidationSetup } from '../../src/webhook/decide.js'
import { defaultEnforcement, loadEnforcement } from '../../src/webhook/enforcement.js'
import { type AdmissionRequest, parseReview } from '../../src/webhook/review.js'
import { BIN } from '../helpers/cli.js'
import { stopped } from '../helpers/serve.js'
import { webhookServe } from '../helpers/webhook.js'

const dir = mkdtempSync(join(tmpdir(), 'plimsoll-webhook-decide-'))

const POLICIES = `apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata:
  name: protect-configmaps
spec:
  rules:
    - name: no-delete-protected
      match:
        any:
          - resources:
              kinds: [ConfigMap]
              operations: [DELETE]
      validate:
        failureAction: Enforce
        message: "{{ request.oldObject.metadata.name }} is protected"
        deny:
          conditions:
            any:
              - key: "{{ request.oldObject.metadata.labels.protected || '' }}"
                operator: Equals
                value: "true"
---
apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata:
  name: require-team
spec:
  rules:
    - name: team-label
      match:
        any:
          - resources:
              kinds: [ConfigMap]
      validate:
        failureAction: Audit
        message: a ConfigMap needs a team label
        pattern:
          metadata:
            labels:
              team: "?*"
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata:
  name: no-mallory
spec:
  matchConstraints:
    resourceRules:
      - apiGroups: [""]
        apiVersions: [v1]
        operations: [CREATE, UPDATE]
        resources: [configmaps]
  validations:
    - expression: "request.userInfo.username != 'mallory'"
      message: mallory may not write ConfigMaps
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata:
  name: no-mallory
spec:
  policyName: no-mallory
  validationActions: [Warn]
`

const ENFORCEMENT = `apiVersion: plimsoll.dev/v1alpha1
kind: EnforcementConfig
metadata:
  name: shop
spec:
  defaultMode: warn
  rules:
    - checks: [pss-privileged]
      namespaces: [shop]
      mode: enforce
    - checks: [pss-run-as-non-root, "pss-*"]
      namespaces: [shop]
      mode: audit
    - checks: [latest-tag]
      mode: "off"
`

/** The first CREATE review a real API server sent (corpus), reshaped for each case. */
const template = JSON.parse(
  JSON.parse(
    readFileSync(
      join(
        process.env.PLIMSOLL_CORPUS ?? join(import.meta.dirname, '..', '..', '..', 'shared', 'corpus'),
        'kube-apiserver/05-admission/all-webhook-calls.jsonl',
      ),
      'utf8',
    ).split('\n')[0]!,
  ).body,
)

function review(
  object: Record<string, unknown> | null,
  changes: Partial<{
    operation: string
    username: string
    oldObject: unknown
    subResource: string
    namespace: string
  }> = {},
): AdmissionRequest {
  const meta = (object ?? (changes.oldObject as Record<string, unknown>)).metadata as {
    name: string
    namespace?: string
  }
  const apiVersion = String((object ?? (changes.oldObject as Record<string, unknown>)).apiVersion)
  const kind = String((object ?? (changes.oldObject as Record<string, unknown>)).kind)
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion]
  const parsed = parseReview(
    JSON.stringify({
      ...template,
      request: {
        ...template.request,
        kind: { group, version, kind },
        resource: { group, version, resource: `${kind.toLowerCase()}s` },
        name: meta.name,
        namespace: changes.namespace ?? meta.namespace ?? '',
        operation: changes.operation ?? 'CREATE',
        userInfo: { username: changes.username ?? 'alice', groups: ['dev', 'system:authenticated'] },
        object,
        oldObject: changes.oldObject ?? null,
        ...(changes.subResource ? { subResource: changes.subResource } : {}),
      },
    }),
  )
  if (!parsed.ok) throw new Error(parsed.message)
  return parsed.request
}

const pod = (namespace: string, security: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'web', namespace, labels: { app: 'web' }, ...extra },
  spec: { containers: [{ name: 'app', image: 'registry.example/web:1.4.2', securityContext: security }] },
})

const configMap = (name: string, labels: Record<string, string>) => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, namespace: 'shop', labels },
  data: { k: 'v' },
})

let setup: ValidationSetup

beforeAll(() => {
  writeFileSync(join(dir, 'policies.yaml'), POLICIES)
  const library = loadLibrary({ policies: [join(dir, 'policies.yaml')] })
  expect(library.policyErrors).toEqual([])
  const loaded = loadEnforcement('enforcement.yaml', ENFORCEMENT)
  if (!loaded.ok) throw new Error(loaded.problems.join('\n'))
  setup = {
    engine: new Engine(library.checks, library.podTemplates, { version: LATEST_VERSION }, library.foreign),
    enforcement: loaded.config,
  }
})

describe('a validating review decided', () => {
  it('denies what is enforced, naming the check and the field; audits and warns the rest', () => {
    const { verdict, decided } = decideValidation(setup, review(pod('shop', { privileged: true })))
    expect(verdict.allowed).toBe(false)
    if (verdict.allowed) return
    expect(verdict.code).toBe(403)
    expect(verdict.message).toMatch(
      /^plimsoll: denied by a check:\n- pss-privileged \(spec\.containers\[0\]\.securityContext\.privileged\): /,
    )
    expect(verdict.auditAnnotations?.violations).toContain('pss-run-as-non-root')
    const modes = new Map(decided.map((d) => [d.finding.checkId, d.mode]))
    expect(modes.get('pss-privileged')).toBe('enforce')
    expect(modes.get('pss-run-as-non-root')).toBe('audit')
    // Elsewhere the default (warn) holds: allowed, with the same findings as warnings.
    const elsewhere = decideValidation(setup, review(pod('blog', { privileged: true }))).verdict
    expect(elsewhere.allowed).toBe(true)
    expect(
      elsewhere.warnings?.some((w) =>
        w.startsWith('pss-privileged (spec.containers[0].securityContext.privileged): '),
      ),
    ).toBe(true)
  })

  it('allows a compliant object with nothing to say, and honours exceptions as a scan does', () => {
    const compliant = pod('shop', {
      privileged: false,
      allowPrivilegeEscalation: false,
      runAsNonRoot: true,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    })
    const { verdict } = decideValidation(setup, review(compliant))
    expect(verdict.allowed).toBe(true)
    expect((verdict.warnings ?? []).filter((w) => w.startsWith('pss-'))).toEqual([])
    const excepted = pod(
      'shop',
      { privileged: true },
      { annotations: { 'plimsoll.dev/except.pss-privileged': 'needs the host network stack' } },
    )
    const result = decideValidation(setup, review(excepted))
    expect(result.decided.find((d) => d.finding.checkId === 'pss-privileged')?.mode).toBe('excepted')
    expect(result.verdict.allowed).toBe(true)
  })

  it("keeps a Kyverno rule's failureAction and a VAP binding's validationActions, with the real operation and user", () => {
    // require-team is Audit: allowed, annotated. no-mallory's binding is Warn: a warning, for mallory only.
    const byMallory = decideValidation(
      setup,
      review(configMap('settings', {}), { username: 'mallory' }),
    ).verdict
    expect(byMallory.allowed).toBe(true)
    expect(byMallory.auditAnnotations?.violations).toContain('require-team:team-label')
    expect(byMallory.warnings?.some((w) => w.includes('mallory may not write ConfigMaps'))).toBe(true)
    const byAlice = decideValidation(setup, review(configMap('settings', { team: 'shop' }))).verdict
    expect(byAlice).toEqual({ allowed: true })
    // A DELETE: the rule asks for it and reads the old object; Plimsoll's own checks say nothing.
    const protectedMap = configMap('prices', { team: 'shop', protected: 'true' })
    const deleted = decideValidation(
      setup,
      review(null, { operation: 'DELETE', oldObject: protectedMap }),
    ).verdict
    expect(deleted.allowed).toBe(false)
    expect(!deleted.allowed && deleted.message).toContain('protect-configmaps:no-delete-protected')
    expect(!deleted.allowed && deleted.message).toContain('prices is protected')
    const plain = decideValidation(
      setup,
      review(null, { operation: 'DELETE', oldObject: configMap('x', { team: 'a' }) }),
    )
    expect(plain.verdict).toEqual({ allowed: true })
    // Creating a protected one is no DELETE.
    expect(decideValidation(setup, review(protectedMap)).verdict).toEqual({ allowed: true })
  })

  it("judges a Pod's ephemeral containers, and not its status", () => {
    const privileged = pod('shop', { privileged: true })
    const old = pod('shop', {})
    expect(
      decideValidation(
        setup,
        review(privileged, { operation: 'UPDATE', oldObject: old, subResource: 'ephemeralcontainers' }),
      ).verdict.allowed,
    ).toBe(false)
    expect(
      decideValidation(
        setup,
        review(privileged, { operation: 'UPDATE', oldObject: old, subResource: 'status' }),
      ).verdict,
    ).toEqual({ allowed: true })
  })

  it("exempts kube-system and the webhook's own namespace by default, and says so in the audit annotations", () => {
    const library = loadLibrary({})
    const defaults: ValidationSetup = {
      engine: new Engine(library.checks, library.podTemplates, { version: LATEST_VERSION }, library.foreign),
      enforcement: defaultEnforcement('guardrails'),
    }
    expect(decideValidation(defaults, review(pod('kube-system', { privileged: true }))).verdict).toEqual({
      allowed: true,
      auditAnnotations: { exempt: 'namespace kube-system is exempt' },
    })
    expect(decideValidation(defaults, review(pod('guardrails', { privileged: true }))).exempt).toBe(
      'namespace guardrails is exempt',
    )
    const shop = decideValidation(defaults, review(pod('shop', { privileged: true }))).verdict
    expect(shop.allowed).toBe(true)
    expect(shop.warnings?.length).toBeGreaterThan(0)
  })
})

describe('plimsoll webhook serve', () => {
  let child: ChildProcess
  let url: string
  let ca: string

  beforeAll(async () => {
    const certs = writeCertificates({
      dir: join(dir, 'certs'),
      service: 'plimsoll-webhook',
      namespace: 'plimsoll',
      extraNames: ['127.0.0.1'],
    })
    ca = readFileSync(certs.caFile, 'utf8')
    writeFileSync(join(dir, 'enforcement.yaml'), ENFORCEMENT)
    ;({ child, url } = await webhookServe(certs, [
      '--enforcement',
      join(dir, 'enforcement.yaml'),
      '--policy',
      join(dir, 'policies.yaml'),
    ]))
  }, 30_000)

  afterAll(async () => {
    if (child) await stopped(child)
  })

  function post(body: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
    return new Promise((resolve, reject) => {
      const req = httpsRequest(
        `${url}/validate`,
        { method: 'POST', ca, headers: { 'Content-Type': 'application/json' } },
        (res) => {
          let text = ''
          res.on('data', (d) => {
            text += d
          })
          res.on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(text) }))
        },
      )
      req.on('error', reject)
      req.end(JSON.stringify(body))
    })
  }

  it('answers reviews over HTTPS with the file’s modes, and stops cleanly on SIGTERM', async () => {
    const privileged = {
      ...template,
      request: { ...template.request, ...reviewFields(pod('shop', { privileged: true })) },
    }
    const denied = await post(privileged)
    expect(denied.status).toBe(200)
    const response = denied.json.response as {
      uid: string
      allowed: boolean
      status: { message: string; code: number }
    }
    expect(response.uid).toBe(template.request.uid)
    expect(response.allowed).toBe(false)
    expect(response.status.code).toBe(403)
    expect(response.status.message).toContain(
      'pss-privileged (spec.containers[0].securityContext.privileged)',
    )
    const broken = await post({ kind: 'AdmissionReview' })
    expect(broken.status).toBe(400)
    expect(await stopped(child)).toBe(0)
  })

  it('refuses a broken enforcement file, naming its line', async () => {
    writeFileSync(join(dir, 'broken.yaml'), ENFORCEMENT.replace('mode: enforce', 'mode: deny'))
    const result = await new Promise<{ code: number | null; err: string }>((resolve) => {
      const c = spawn(
        process.execPath,
        [
          BIN,
          'webhook',
          'serve',
          '--tls-cert',
          'x',
          '--tls-key',
          'y',
          '--enforcement',
          join(dir, 'broken.yaml'),
        ],
        { stdio: ['ignore', 'ignore', 'pipe'] },
      )
      let err = ''
      c.stderr!.on('data', (d) => {
        err += d
      })
      c.on('exit', (code) => resolve({ code, err }))
    })
    expect(result.code).toBe(2)
    expect(result.err).toContain(
      `${join(dir, 'broken.yaml')}:10: spec.rules[0].mode: expected one of enforce, warn, audit, off, got 'deny'`,
    )
  })
})

function reviewFields(object: ReturnType<typeof pod>) {
  return {
    kind: { group: '', version: 'v1', kind: 'Pod' },
    resource: { group: '', version: 'v1', resource: 'pods' },
    name: object.metadata.name,
    namespace: object.metadata.namespace,
    object,
  }
}
