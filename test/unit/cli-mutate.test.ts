/**
 * `plimsoll mutate` as a user runs it (the built binary): every document in input order, mutated ones
 * written anew, the others as written; what changed on stderr; input errors named with file and line
 * while the rest is still written; exit codes as docs/cli.md gives them.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { load, loadAll } from 'js-yaml'
import { describe, expect, it } from 'vitest'
import { run } from '../helpers/cli.js'
import { oneRulePolicy } from '../helpers/kyverno-policy.js'
import { tempFiles } from '../helpers/temp-files.js'

const { dir: tmp, file } = tempFiles('plimsoll-mutate-')
const DATA = join(import.meta.dirname, '..', 'data', 'mutate')
/** A Deployment (a comment before it) whose container sets no securityContext, then a ConfigMap. */
const manifests = join(DATA, 'app.yaml')
const [deployment, configMap] = readFileSync(manifests, 'utf8').split(/^---\n/m) as [string, string]
/** Adds runAsNonRoot and allowPrivilegeEscalation: false to every container that lacks them. */
const policy = join(DATA, 'add-defaults.yaml')
const securityContext = { runAsNonRoot: true, allowPrivilegeEscalation: false }

/** A manifest as js-yaml reads it, walked by the fields the tests know are there. */
// biome-ignore lint/suspicious/noExplicitAny: the tests index parsed YAML by known paths
type Json = Record<string, any>

describe('plimsoll mutate', () => {
  it('prints every document in input order: the mutated one anew, the other as written', () => {
    const r = run(['mutate', manifests, '--policy', policy])
    expect(r.code).toBe(0)
    const docs = r.stdout.split(/^---\n/m)
    expect(docs).toHaveLength(2)
    // The Deployment, as admission would store it; its leading comment kept.
    expect(docs[0]!.startsWith("# the shop's front end\n")).toBe(true)
    const mutated = load(docs[0]!) as Json
    expect(mutated.spec.template.spec.containers[0].securityContext).toEqual(securityContext)
    const { securityContext: _, ...container } = mutated.spec.template.spec.containers[0]
    expect(container).toEqual({ name: 'app', image: 'nginx:1.27' })
    // The ConfigMap no policy touched is byte for byte what was written, comment included.
    expect(docs[1]).toBe(configMap)
    // What changed, on stderr, with the policy and rule that changed it.
    expect(r.stderr).toContain(`${manifests}:2: Deployment shop/web`)
    expect(r.stderr).toContain('  mutated by ClusterPolicy add-defaults, rule autogen-run-as-non-root:')
    expect(r.stderr).toContain(
      '    + /spec/template/spec/containers/0/securityContext: {"runAsNonRoot":true,"allowPrivilegeEscalation":false}',
    )
    expect(r.stderr).toContain('plimsoll: mutated 1 of 2 resources')
  })

  it('with --only-changed prints only the documents a policy changed, and -o writes them to a file', () => {
    const out = join(tmp, 'out.yaml')
    const r = run(['mutate', manifests, '-p', policy, '--only-changed', '-o', out])
    expect(r.code).toBe(0)
    expect(r.stdout).toBe('')
    const docs = loadAll(readFileSync(out, 'utf8')) as Json[]
    expect(docs.map((d) => d.kind)).toEqual(['Deployment'])
  })

  it('reads stdin, and its output scans without the finding the mutation fixes', () => {
    const mutated = run(['mutate', '-', '-p', policy], readFileSync(manifests, 'utf8'))
    expect(mutated.code).toBe(0)
    const before = run(
      ['scan', '-', '--format', 'json', '--fail-on', 'none'],
      readFileSync(manifests, 'utf8'),
    )
    const after = run(['scan', '-', '--format', 'json', '--fail-on', 'none'], mutated.stdout)
    const ids = (out: string) =>
      (JSON.parse(out) as { findings: { checkId: string }[] }).findings.map((f) => f.checkId)
    expect(ids(before.stdout)).toContain('pss-run-as-non-root')
    expect(ids(after.stdout)).not.toContain('pss-run-as-non-root')
  })

  it('names a broken document with its file and line, writes the others, and exits 2', () => {
    const text = `${configMap}---\napiVersion: v1\nkind: Pod\nmetadata: {name: [oops}\n---\n${deployment}`
    const broken = file('broken.yaml', text)
    const line = text.split('\n').indexOf('metadata: {name: [oops}') + 1
    const r = run(['mutate', broken, '-p', policy])
    expect(r.code).toBe(2)
    expect(r.stderr).toContain(`plimsoll: ${broken}:${line}: invalid YAML`)
    const docs = loadAll(r.stdout) as Json[]
    expect(docs.map((d) => d.kind)).toEqual(['ConfigMap', 'Deployment'])
    expect(docs[1]!.spec.template.spec.containers[0].securityContext).toEqual(securityContext)
  })

  it('writes a List with a changed item anew, whole, its other items as they were', () => {
    const list = file(
      'list.yaml',
      `apiVersion: v1
kind: List
metadata: {resourceVersion: ""}
items:
  - {apiVersion: v1, kind: Pod, metadata: {name: a}, spec: {containers: [{name: app, image: nginx}]}}
  - {apiVersion: v1, kind: ConfigMap, metadata: {name: c}, data: {k: v}}
`,
    )
    const r = run(['mutate', list, '-p', policy])
    expect(r.code).toBe(0)
    const written = load(readFileSync(list, 'utf8')) as Json
    const out = load(r.stdout) as Json
    expect(out.items[0].spec.containers[0].securityContext).toEqual(securityContext)
    delete out.items[0].spec.containers[0].securityContext
    expect(out).toEqual(written)
    expect(r.stderr).toContain(`${list}:5: Pod a`)
  })

  it('exits 1 when a policy fails on a resource, still writing it', () => {
    // An unresolvable variable is an error in Kyverno (pkg/engine/variables: "variable substitution failed").
    const failing = file(
      'failing.yaml',
      oneRulePolicy(
        'copy-owner',
        'owner',
        'ConfigMap',
        `      mutate:
        patchStrategicMerge:
          metadata:
            labels:
              owner: "{{ request.object.metadata.annotations.owner }}"
`,
      ),
    )
    const r = run(['mutate', manifests, '-p', failing])
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/mutation failed: ClusterPolicy copy-owner, rule owner: /)
    expect((loadAll(r.stdout) as Json[]).map((d) => d.kind)).toEqual(['Deployment', 'ConfigMap'])
  })

  it('exits 2 on usage errors: no input, no --policy, no mutating policy in the files', () => {
    const noInput = run(['mutate', '-p', policy])
    expect(noInput.code).toBe(2)
    expect(noInput.stderr).toContain('nothing to mutate')
    const noPolicy = run(['mutate', manifests])
    expect(noPolicy.code).toBe(2)
    expect(noPolicy.stderr).toContain('--policy')
    const validate = file(
      'validate.yaml',
      oneRulePolicy('v', 'r', 'Pod', '      validate: {pattern: {metadata: {name: "?*"}}}\n'),
    )
    const none = run(['mutate', manifests, '-p', validate])
    expect(none.code).toBe(2)
    expect(none.stderr).toContain('no mutating policy')
    expect(none.stdout).toBe('')
  })

  it('says in --help that comments of changed documents are lost', () => {
    const r = run(['mutate', '--help'])
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/comments/)
    expect(r.stdout).toContain('--only-changed')
  })
})
