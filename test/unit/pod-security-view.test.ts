/**
 * The cluster's Pod Security Admission view against what a real API server decided: the corpus's PSA
 * cases (07-pod-security) POSTed pods into labelled namespaces and recorded 201 or 403, with "would
 * violate PodSecurity" warnings. The level we give each pod, and what we say breaks when a namespace
 * tightens, must agree with those answers.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import type { ApiResource } from '../../src/cluster/discovery.js'
import { LiveState } from '../../src/cluster/live-state.js'
import { PodSecurityView } from '../../src/cluster/pod-security.js'
import { Engine, LATEST_VERSION } from '../../src/policy/engine.js'
import { loadLibrary } from '../../src/policy/library.js'
import { podSecurityLevel } from '../../src/policy/pod-security-levels.js'
import { corpusPath } from '../helpers/corpus.js'

const DIR = corpusPath('kube-apiserver', '07-pod-security')
const library = loadLibrary({})
const engine = new Engine(library.checks, library.podTemplates, { version: LATEST_VERSION }, library.foreign)

const resource = (kind: string, namespaced: boolean): ApiResource => ({
  group: '',
  version: 'v1',
  kind,
  resource: `${kind.toLowerCase()}s`,
  namespaced,
  path: `/api/v1/${kind.toLowerCase()}s`,
  custom: false,
})
const PODS = resource('Pod', true)
const NAMESPACES = resource('Namespace', false)

interface Step {
  request?: { method: string; path: string; body: string | null }
  response?: { status: number; headers: [string, string][] }
}

/** Every pod POSTed in the cases, with the server's answer: admitted or not, and its warnings. */
function podCases() {
  const out: {
    file: string
    namespace: string
    pod: Record<string, unknown>
    status: number
    warnings: string[]
  }[] = []
  for (const file of readdirSync(DIR).filter((f) => /^0[1-4]-/.test(f))) {
    const c = JSON.parse(readFileSync(join(DIR, file), 'utf8')) as { steps: Step[] }
    for (const s of c.steps) {
      if (s.request?.method !== 'POST' || !/\/pods(\?|$)/.test(s.request.path) || !s.request.body) continue
      const pod = JSON.parse(s.request.body) as Record<string, unknown>
      out.push({
        file,
        namespace: String((pod.metadata as { namespace?: string }).namespace),
        pod,
        status: s.response!.status,
        warnings: s.response!.headers.filter(([h]) => h.toLowerCase() === 'warning').map(([, v]) => v),
      })
    }
  }
  return out
}

const namespaces = (
  JSON.parse(readFileSync(join(DIR, 'namespaces.json'), 'utf8')) as {
    namespaces: Record<string, Record<string, string>>
  }
).namespaces

describe('Pod Security levels, as the API server judged them', () => {
  const cases = podCases()

  it('reads the recorded cases', () => {
    expect(cases.length).toBeGreaterThanOrEqual(9)
  })

  it.each(cases.map((c) => [c.file, c] as const))('%s', (_file, c) => {
    const labels = namespaces[c.namespace] ?? {}
    const enforce = labels['pod-security.kubernetes.io/enforce']
    const enforceVersion = labels['pod-security.kubernetes.io/enforce-version'] ?? 'latest'
    const level = podSecurityLevel(c.pod, enforceVersion).level
    // Refused exactly when the pod is below the enforced level.
    if (enforce === 'baseline') expect(c.status === 403).toBe(level === 'privileged')
    // A restricted warning exactly when it is below restricted (at the warn version, latest here).
    if (labels['pod-security.kubernetes.io/warn'] === 'restricted' && c.status !== 403) {
      const warned = c.warnings.some((w) => w.includes('would violate PodSecurity \\"restricted:latest\\"'))
      expect(warned).toBe(podSecurityLevel(c.pod, 'latest').level !== 'restricted')
    }
  })

  it('tells what breaks when a namespace tightens, as the server warns on relabelling', () => {
    const state = new LiveState(engine, { target: 't' })
    const ns = 'psa-warn-restricted'
    state.upsert(
      NAMESPACES,
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns, labels: namespaces[ns] } },
      'evaluate',
    )
    const admitted = cases.filter((c) => c.namespace === ns && c.status === 201)
    expect(admitted.length).toBeGreaterThanOrEqual(3)
    for (const c of admitted)
      state.upsert(PODS, { ...structuredClone(c.pod), status: { phase: 'Running' } }, 'evaluate')
    // A finished pod is not running: it breaks nothing.
    state.upsert(
      PODS,
      {
        ...structuredClone(admitted[0]!.pod),
        metadata: { name: 'done', namespace: ns },
        status: { phase: 'Succeeded' },
      },
      'evaluate',
    )

    const view = new PodSecurityView(state).namespace(ns)
    expect(view.modes.warn).toEqual({ level: 'restricted', version: 'latest' })
    expect(view.modes.enforce).toBeUndefined()
    expect(view.pods).toBe(admitted.length)
    expect(view.violating).toEqual([]) // privileged enforced (no label): nothing violates it
    const toRestricted = view.whatBreaks.find((w) => w.level === 'restricted' && w.version === 'latest')!
    // 09-namespace-label-enforce: relabelling this namespace enforce=restricted warned of exactly these.
    const relabel = JSON.parse(readFileSync(join(DIR, '09-namespace-label-enforce.json'), 'utf8')) as {
      steps: Step[]
    }
    const warnings = relabel.steps[0]!.response!.headers.filter(([h]) => h === 'Warning').map(([, v]) => v)
    expect(warnings[0]).toContain('violate the new PodSecurity enforce level')
    const named = warnings.slice(1).map((w) => /"([a-z0-9-]+)[ :]/.exec(w)?.[1])
    for (const name of named) expect(toRestricted.pods.map((p) => p.name)).toContain(name)
    expect(toRestricted.pods.map((p) => p.name)).not.toContain('done')
    const toBaseline = view.whatBreaks.find((w) => w.level === 'baseline' && w.version === 'latest')!
    expect(toBaseline.pods.every((p) => p.level === 'privileged')).toBe(true)
    expect(toBaseline.pods.length).toBeLessThan(toRestricted.pods.length)
  })

  it('reads a pinned version, and what moving it to latest breaks', () => {
    const state = new LiveState(engine, { target: 't' })
    state.upsert(
      NAMESPACES,
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'psa-all', labels: namespaces['psa-all'] } },
      'evaluate',
    )
    const view = new PodSecurityView(state).namespace('psa-all')
    expect(view.modes.enforce).toEqual({ level: 'baseline', version: 'v1.31' })
    expect(view.whatBreaks.map((w) => `${w.level}:${w.version}`)).toEqual([
      'baseline:latest',
      'restricted:v1.31',
      'restricted:latest',
    ])
  })
})
