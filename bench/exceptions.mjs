#!/usr/bin/env node
// Exception matching: ~30,000 findings (3,000 workloads x 10 checks, 40 namespaces) matched against a
// register of 0, 1,000 and 26,000 exceptions, the way `scan --store` applies it. Most of a register is
// what the dashboard's "Accept as debt" writes (one check, kind, namespace and name); a few entries use
// globs (a name prefix, a check family, a whole namespace). Prints the indexed matching (building the
// index included) and, for comparison, the linear `rules.find(ruleMatches)` it replaced, timed on the
// first 1,000 findings and scaled up (all 30,000 take minutes at 26k rules).
// Usage: npx tsc -p . && node bench/exceptions.mjs
import { cpus } from 'node:os'

const { ExceptionIndex } = await import('../dist/policy/exception-index.js')
const { ruleMatches } = await import('../dist/policy/exceptions.js')

const CHECKS = [
  'pss-privileged',
  'pss-host-namespaces',
  'pss-run-as-non-root',
  'pss-seccomp-restricted',
  'memory-limit-missing',
  'resource-requests-missing',
  'liveness-probe-missing',
  'readiness-probe-missing',
  'read-only-root-filesystem',
  'single-replica',
]
const WORKLOADS = 3_000
const NAMESPACES = 40

const subjects = []
for (let w = 0; w < WORKLOADS; w++) {
  for (const checkId of CHECKS) {
    subjects.push({
      checkId,
      kind: 'Deployment',
      namespace: `team-${w % NAMESPACES}`,
      name: `workload-${w}`,
      labels: { team: `team-${w % NAMESPACES}` },
    })
  }
}

/** A deterministic register of n exceptions: 97% exact (half of them for workloads that no longer exist). */
function register(n) {
  const rules = []
  for (let i = 0; i < n; i++) {
    const w = (i * 7919) % (WORKLOADS * 2)
    const base = {
      file: 'store#',
      index: i,
      owner: `team-${w % NAMESPACES}@example.com`,
      reason: 'bench',
      expires: '2999-12-31',
      labels: {},
    }
    const check = CHECKS[i % CHECKS.length]
    const ns = `team-${w % NAMESPACES}`
    if (i % 100 === 97)
      rules.push({ ...base, checks: [check], kinds: [], namespaces: [ns], names: [`workload-${w}*`] })
    else if (i % 100 === 98)
      rules.push({
        ...base,
        checks: ['pss-*'],
        kinds: ['Deployment'],
        namespaces: [ns],
        names: [`workload-${w}`],
      })
    else if (i % 100 === 99)
      rules.push({ ...base, checks: [check], kinds: [], namespaces: [`${ns}9`], names: [] })
    else
      rules.push({
        ...base,
        checks: [check],
        kinds: ['Deployment'],
        namespaces: [ns],
        names: [`workload-${w}`],
      })
  }
  return rules
}

const ms = (t0) => (performance.now() - t0).toFixed(1)

console.log(`machine: ${cpus().length} x ${cpus()[0]?.model}, node ${process.version}`)
console.log(`findings: ${subjects.length.toLocaleString('en')}`)
const SAMPLE = 1_000
for (const n of [0, 1_000, 26_000]) {
  const rules = register(n)
  let t0 = performance.now()
  const index = new ExceptionIndex(rules)
  const built = ms(t0)
  t0 = performance.now()
  let matched = 0
  for (const s of subjects) if (index.find(s)) matched++
  const indexed = ms(t0)
  t0 = performance.now()
  for (const s of subjects.slice(0, SAMPLE)) rules.find((r) => ruleMatches(r, s))
  const linear = ((performance.now() - t0) * (subjects.length / SAMPLE)).toFixed(0)
  console.log(
    `${String(n.toLocaleString('en')).padStart(6)} rules: indexed ${indexed} ms (+ ${built} ms to build), ${matched.toLocaleString('en')} findings excepted; linear find ~${Number(linear).toLocaleString('en')} ms`,
  )
}
