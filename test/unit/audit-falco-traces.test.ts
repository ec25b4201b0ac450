/**
 * Falco's own k8s audit regression suite (falco_k8s_audit_tests.yaml, from falco 2023-08), run on
 * Plimsoll's engine: every case loads the rules files it names (mapped onto the corpus), reads its
 * trace, and must give the detections it expects — per-rule counts (`detect_counts`) at the expected
 * level, or none at all (`detect: False`). Falco's default `rule_matching: first` applies: an event
 * gives at most one detection.
 *
 * The default rules file is today's k8s_audit_rules.yaml (the cases were written against the 2018-2023
 * rules). What the corpus cannot reproduce is excluded *by name* below, with the reason, and each
 * exclusion's reason is itself checked so that it cannot go stale silently.
 */
import { readFileSync } from 'node:fs'
import { CORE_SCHEMA, defineMappingTag, load } from 'js-yaml'
import { describe, expect, it } from 'vitest'
import { formatMessage, loadFalcoRules, parseAuditLines } from '../../src/audit/falco/index.js'
import { corpusPath } from '../helpers/corpus.js'

const ROOT = corpusPath('falco-k8saudit')
const FALCO_TEST = `${ROOT}/falcosecurity-falco/test`
const DEFAULT_RULES = `${ROOT}/falcosecurity-plugins/plugins/k8saudit/rules/k8s_audit_rules.yaml`
const SYSCALL_RULES =
  'BUILD_DIR/falcosecurity-rules-falco-prefix/src/falcosecurity-rules-falco/falco_rules.yaml'

interface Case {
  readonly detect: boolean
  readonly detect_level?: string
  readonly rules_file: string[]
  readonly detect_counts?: Record<string, number>[]
  readonly addl_cmdline_opts: string
  readonly stderr_contains?: string
}

// the suite is an avocado file: `trace_files: !mux` is a mapping with a tag
const muxTag = defineMappingTag<Record<string, unknown>>('!mux', {
  create: () => ({}),
  addPair: (m, k, v) => {
    m[String(k)] = v
    return ''
  },
  has: (m, k) => Object.hasOwn(m, String(k)),
  keys: (m) => Object.keys(m),
  get: (m, k) => m[String(k)],
  identify: () => false,
})
const suite = load(readFileSync(`${FALCO_TEST}/falco_k8s_audit_tests.yaml`, 'utf8'), {
  schema: CORE_SCHEMA.withTags(muxTag),
}) as { trace_files: Record<string, Case> }
const cases = Object.entries(suite.trace_files)

/** A rules file a case names, in the corpus; undefined for Falco's syscall rules (not in the corpus). */
function corpusRulesFile(path: string): string | undefined {
  if (path === SYSCALL_RULES) return undefined
  if (path === 'BUILD_DIR/k8saudit-rules-prefix/src/k8saudit-rules/k8s_audit_rules.yaml') return DEFAULT_RULES
  if (path.startsWith('./rules/k8s_audit/')) return `${FALCO_TEST}/${path.slice(2)}`
  throw new Error(`unmapped rules file ${path}`)
}

function rulesOf(c: Case) {
  return c.rules_file.flatMap((p) => {
    const file = corpusRulesFile(p)
    return file === undefined ? [] : [{ name: p, text: readFileSync(file, 'utf8') }]
  })
}

function traceOf(c: Case): string {
  const m = /open_params=(\S+)/.exec(c.addl_cmdline_opts)
  if (m === null) throw new Error(`no trace in ${c.addl_cmdline_opts}`)
  return `${FALCO_TEST}/${m[1]}`
}

const LEVELS: Record<string, string> = { WARNING: 'warning', INFO: 'informational', NOTICE: 'notice' }

/**
 * Cases that need Falco's syscall rules file (falco_rules.yaml, not in the corpus). Every case names
 * it first; it holds only `source: syscall` rules, which never run on k8s_audit events, so leaving it
 * out changes nothing — except where a k8s file modifies something only it defines:
 * trust_nginx_container.yaml appends to the list `falco_sensitive_mount_images`, which only
 * falco_rules.yaml (of 2023) defines. Without it that append is an error (Falco itself would refuse to
 * start), and today's k8s_audit_rules.yaml no longer reads that list anyway (its exemptions moved to
 * `k8s_audit_*_images` lists), so "trusting nginx" could not be reproduced either way.
 */
// The compat_engine_v4_* cases that do run read the lists falco_privileged_images and
// falco_hostnetwork_images in engine_v4_k8s_audit_rules.yaml; only falco_rules.yaml defined them. As in
// Falco, a name in `in (...)` that is not a defined list is a literal value, so those exemptions exempt
// nothing here; the lists held infrastructure images (calico, kube-proxy, falco, sysdig...), never the
// traces' nginx, so the expected outcomes do not depend on them.
const NEEDS_SYSCALL_RULES: Record<string, string> = {
  compat_engine_v4_create_privileged_trusted_pod:
    'trust_nginx_container.yaml appends to falco_sensitive_mount_images',
  compat_engine_v4_create_hostnetwork_trusted_pod:
    'trust_nginx_container.yaml appends to falco_sensitive_mount_images',
  create_privileged_trusted_pod: 'trust_nginx_container.yaml appends to falco_sensitive_mount_images',
  create_unprivileged_trusted_pod: 'trust_nginx_container.yaml appends to falco_sensitive_mount_images',
  create_sensitive_mount_trusted_pod: 'trust_nginx_container.yaml appends to falco_sensitive_mount_images',
  create_unsensitive_mount_trusted_pod: 'trust_nginx_container.yaml appends to falco_sensitive_mount_images',
  create_hostnetwork_trusted_pod: 'trust_nginx_container.yaml appends to falco_sensitive_mount_images',
  create_nohostnetwork_trusted_pod: 'trust_nginx_container.yaml appends to falco_sensitive_mount_images',
}

/**
 * Cases expecting a rule today's rules file no longer has: the 2023 "K8s Role/Clusterrole ..." and
 * "K8s Role/Clusterrolebinding ..." rules were split into Role/ClusterRole and RoleBinding/
 * ClusterRoleBinding rules. These cases check the successor rule instead (same trace, same count).
 */
const RENAMED: Record<string, { was: string; now: string }> = {
  create_clusterrole: { was: 'K8s Role/Clusterrole Created', now: 'K8s ClusterRole Created' },
  delete_clusterrole: { was: 'K8s Role/Clusterrole Deleted', now: 'K8s ClusterRole Deleted' },
  create_clusterrolebinding: {
    was: 'K8s Role/Clusterrolebinding Created',
    now: 'K8s ClusterRoleBinding Created',
  },
  delete_clusterrolebinding: {
    was: 'K8s Role/Clusterrolebinding Deleted',
    now: 'K8s ClusterRoleBinding Deleted',
  },
}

function run(c: Case) {
  const set = loadFalcoRules(rulesOf(c))
  const trace = parseAuditLines(readFileSync(traceOf(c), 'utf8'))
  const detections = trace.events.flatMap((e) => set.evaluate(e))
  const counts: Record<string, number> = {}
  for (const d of detections) counts[d.rule] = (counts[d.rule] ?? 0) + 1
  return { set, trace, detections, counts }
}

describe('Falco k8s audit trace suite', () => {
  it('has the cases this file knows about', () => {
    expect(cases.length).toBe(66)
    for (const name of [...Object.keys(NEEDS_SYSCALL_RULES), ...Object.keys(RENAMED)]) {
      expect(suite.trace_files[name], name).toBeDefined()
    }
  })

  for (const [name, c] of cases) {
    const excluded = NEEDS_SYSCALL_RULES[name]
    if (excluded !== undefined) {
      // Not a silent skip: the reason it cannot run here is what is checked.
      it(`${name}: excluded, needs falco_rules.yaml (${excluded})`, () => {
        const { set } = run(c)
        expect(set.errors.map(formatMessage).join('\n')).toMatch(
          /trust_nginx_container\.yaml:\d+: list 'falco_sensitive_mount_images': .*no list by that name/,
        )
      })
      continue
    }
    const renamed = RENAMED[name]
    it(name, () => {
      const { set, trace, detections, counts } = run(c)
      expect(set.errors.map(formatMessage)).toEqual(
        // the engine_v4 file of 2019 uses `contains` on a list field, which libsinsp rejects today
        c.rules_file.includes('./rules/k8s_audit/engine_v4_k8s_audit_rules.yaml')
          ? [expect.stringMatching(/rule 'ClusterRole With Pod Exec Created': list filter .* only supports/)]
          : [],
      )
      if (c.stderr_contains !== undefined) {
        expect(trace.errors.map((e) => e.message)).toContain(c.stderr_contains)
      } else {
        expect(trace.errors).toEqual([])
        expect(trace.events.length).toBeGreaterThan(0)
      }
      if (!c.detect) {
        expect(detections.map((d) => d.rule)).toEqual([])
        return
      }
      for (const entry of c.detect_counts ?? []) {
        for (const [rule, n] of Object.entries(entry)) {
          if (renamed !== undefined && rule === renamed.was) {
            expect(set.rules.map((r) => r.name)).not.toContain(renamed.was)
            expect(counts[renamed.now] ?? 0).toBe(n)
          } else {
            expect(counts[rule] ?? 0, rule).toBe(n)
          }
        }
      }
      const level = LEVELS[c.detect_level ?? '']
      expect(level).toBeDefined()
      expect(detections.length).toBeGreaterThan(0)
      for (const d of detections) expect(d.priority, d.rule).toBe(level)
    })
  }
})
