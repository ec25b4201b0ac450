/**
 * Kyverno's autogen: a rule written for Pods also guards the controllers that create them. For each such
 * rule Kyverno adds `autogen-<rule>` (Deployment, DaemonSet, Job, StatefulSet, ReplicaSet,
 * ReplicationController: the pattern moves under spec.template) and `autogen-cronjob-<rule>` (CronJob:
 * under spec.jobTemplate.spec.template), and rewrites references to the Pod's fields in the rule's text.
 * The annotation `pod-policies.kyverno.io/autogen-controllers` narrows the list or turns it off (`none`).
 *
 * This works on the rules as plain data, before they are compiled, and follows Kyverno's own rules,
 * quirks included (the rewrite is a text replacement over the whole rule), so that rule names and
 * verdicts line up with what `kyverno test` expects.
 */

import { isJsonMap } from '../json-map.js'
import { bareKind } from './kinds.js'

type Json = Record<string, unknown>

export const AUTOGEN_ANNOTATION = 'pod-policies.kyverno.io/autogen-controllers'
const POD_CONTROLLERS = [
  'DaemonSet',
  'Deployment',
  'Job',
  'StatefulSet',
  'ReplicaSet',
  'ReplicationController',
  'CronJob',
]
const NON_CRON_CONTROLLERS = new Set(POD_CONTROLLERS.filter((c) => c !== 'CronJob'))
const POD_AND_CONTROLLERS = new Set(['Pod', ...POD_CONTROLLERS])

const asMap = (v: unknown): Json => (isJsonMap(v) ? v : {})
const asList = (v: unknown): unknown[] => (Array.isArray(v) ? v : [])
const strings = (v: unknown): string[] => asList(v).filter((x): x is string => typeof x === 'string')

/** The resource descriptions of a match or exclude block: the legacy one and those of any/all. */
function descriptions(block: unknown): Json[] {
  const b = asMap(block)
  return [
    b.resources,
    ...asList(b.any).map((f) => asMap(f).resources),
    ...asList(b.all).map((f) => asMap(f).resources),
  ].filter(isJsonMap)
}

function kindsOf(block: unknown): string[] {
  return descriptions(block).flatMap((d) => strings(d.kinds))
}

const containsKind = (kinds: readonly string[], kind: string) => kinds.some((k) => bareKind(k) === kind)

/** Whether the policy's rules allow autogen at all (Kyverno's CanAutoGen). */
function canAutogen(rules: readonly Json[]): boolean {
  let needed = false
  for (const rule of rules) {
    if (rule.generate !== undefined) return false
    const mutate = asMap(rule.mutate)
    if (mutate.patchesJson6902 || asList(mutate.foreach).some((f) => asMap(f).patchesJson6902)) return false
    for (const d of [...descriptions(rule.match), ...descriptions(rule.exclude)]) {
      const kinds = strings(d.kinds)
      if (
        d.name ||
        d.names ||
        d.selector ||
        d.annotations ||
        (kinds.length > 1 && containsKind(kinds, 'Pod'))
      )
        return false
      needed ||= kinds.some((k) => POD_AND_CONTROLLERS.has(k))
    }
  }
  return needed
}

function autogenName(prefix: string, name: string): string {
  return `${prefix}-${name}`.slice(0, 63)
}

/** Replaces the kinds of the filters that name `kind` (or of every filter, with `kind` undefined). */
function retarget(
  block: unknown,
  kinds: string[],
  kind: string | undefined,
  legacyAlways: boolean,
): Json | undefined {
  if (!isJsonMap(block)) return undefined
  const out = structuredClone(block)
  const swap = (filters: unknown[]) =>
    filters.map((f) => {
      const res = asMap(asMap(f).resources)
      if (kind !== undefined && !containsKind(strings(res.kinds), kind)) return f
      return { ...asMap(f), resources: { ...res, kinds } }
    })
  if (asList(out.any).length > 0) out.any = swap(asList(out.any))
  else if (asList(out.all).length > 0) out.all = swap(asList(out.all))
  else if (legacyAlways || strings(asMap(out.resources).kinds).length > 0)
    out.resources = { ...asMap(out.resources), kinds }
  return out
}

const wrap = (key: string, pattern: unknown) => ({ spec: { [key]: pattern } })

/** Kyverno's generateRule: the rule for other kinds, its validation moved under `spec.<key>`. */
function generateRule(
  name: string,
  rule: Json,
  key: string,
  kinds: string[],
  kind: string | undefined,
): Json | undefined {
  const out: Json = { ...structuredClone(rule), name }
  out.match = retarget(rule.match, kinds, kind, true)
  if (rule.exclude !== undefined) out.exclude = retarget(rule.exclude, kinds, kind, false)
  const mutate = asMap(rule.mutate)
  if (mutate.patchStrategicMerge !== undefined) {
    out.mutate = { patchStrategicMerge: wrap(key, mutate.patchStrategicMerge) }
    return out
  }
  if (Array.isArray(mutate.foreach)) {
    // Kyverno keeps each entry's list, context and preconditions and moves its overlay under the template
    // (pkg/autogen/v1/rule.go); anything else of the entry (order, nested foreach) is not carried over.
    out.mutate = {
      foreach: mutate.foreach.map((f) => {
        const entry = asMap(f)
        const kept: Json = {
          list: entry.list,
          patchStrategicMerge: wrap(key, entry.patchStrategicMerge ?? null),
        }
        if (entry.context !== undefined) kept.context = entry.context
        if (entry.preconditions !== undefined) kept.preconditions = entry.preconditions
        return kept
      }),
    }
    return out
  }
  const validate = asMap(rule.validate)
  const kept = {
    ...(validate.message !== undefined ? { message: validate.message } : {}),
    ...(validate.failureAction !== undefined ? { failureAction: validate.failureAction } : {}),
    ...(validate.failureActionOverrides !== undefined
      ? { failureActionOverrides: validate.failureActionOverrides }
      : {}),
  }
  if (validate.pattern !== undefined) out.validate = { ...kept, pattern: wrap(key, validate.pattern) }
  else if (validate.deny !== undefined) out.validate = { ...kept, deny: validate.deny }
  else if (validate.podSecurity !== undefined) out.validate = { ...kept, podSecurity: validate.podSecurity }
  else if (validate.anyPattern !== undefined)
    out.validate = { ...kept, anyPattern: asList(validate.anyPattern).map((p) => wrap(key, p)) }
  else if (validate.foreach !== undefined) out.validate = { ...kept, foreach: validate.foreach }
  else if (validate.cel !== undefined) out.validate = validate
  else if (rule.verifyImages === undefined) return undefined
  return out
}

function controllerRule(rule: Json, controllers: string[]): Json | undefined {
  const name = String(rule.name ?? '')
  if (name.startsWith('autogen-') || controllers.length === 0) return undefined
  const matchKinds = kindsOf(rule.match)
  const excludeKinds = kindsOf(rule.exclude)
  if (!containsKind(matchKinds, 'Pod') || (excludeKinds.length > 0 && !containsKind(excludeKinds, 'Pod')))
    return undefined
  const known = controllers.filter((c) => NON_CRON_CONTROLLERS.has(c))
  const kinds = (known.length > 0 ? known : controllers).sort()
  return generateRule(autogenName('autogen', name), rule, 'template', kinds, 'Pod')
}

const REWRITES = {
  template: [
    ['request.object.spec', 'request.object.spec.template.spec'],
    ['request.oldObject.spec', 'request.oldObject.spec.template.spec'],
    ['request.object.metadata', 'request.object.spec.template.metadata'],
    ['request.oldObject.metadata', 'request.oldObject.spec.template.metadata'],
  ],
  cronjob: [
    ['request.object.spec', 'request.object.spec.jobTemplate.spec.template.spec'],
    ['request.oldObject.spec', 'request.oldObject.spec.jobTemplate.spec.template.spec'],
    ['request.object.metadata', 'request.object.spec.jobTemplate.spec.template.metadata'],
    ['request.oldObject.metadata', 'request.oldObject.spec.jobTemplate.spec.template.metadata'],
  ],
} as const

/** CEL names the object directly (`object.spec`), so the rewrite drops the `request.` prefix there. */
function rewrite(rule: Json, target: keyof typeof REWRITES): Json {
  const cel = isJsonMap(rule.validate) && rule.validate.cel !== undefined
  let text = JSON.stringify(rule)
  for (const [from, to] of REWRITES[target]) {
    text = cel
      ? text.replaceAll(from.slice('request.'.length), to.slice('request.'.length))
      : text.replaceAll(from, to)
  }
  return JSON.parse(text) as Json
}

function requestedControllers(annotations: Json): string[] | undefined {
  const value = annotations[AUTOGEN_ANNOTATION]
  return typeof value === 'string' ? value.split(',') : undefined
}

/** The policy's rules with the autogen rules Kyverno would add (the originals first). */
export function withAutogenRules(rules: readonly Json[], annotations: Json): Json[] {
  if (!canAutogen(rules)) return [...rules]
  const controllers = requestedControllers(annotations) ?? POD_CONTROLLERS
  if (controllers.join(',') === 'none') return [...rules]
  const nonCron = controllers.filter((c) => c !== 'CronJob')
  const generated: Json[] = []
  for (const rule of rules) {
    const forControllers = controllerRule(rule, nonCron)
    if (forControllers) generated.push(rewrite(forControllers, 'template'))
    if (controllers.some((c) => c.includes('CronJob') || c.includes('all'))) {
      const base = controllerRule(rule, controllers)
      const cron =
        base &&
        generateRule(
          autogenName('autogen-cronjob', String(rule.name ?? '')),
          base,
          'jobTemplate',
          ['CronJob'],
          undefined,
        )
      if (cron) generated.push(rewrite(cron, 'cronjob'))
    }
  }
  if (generated.length === 0) return [...rules]
  return [...rules.filter((r) => !String(r.name ?? '').startsWith('autogen-')), ...generated]
}
