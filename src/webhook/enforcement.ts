/**
 * What the webhook does with a failing check: enforce (deny), warn (allow, with a warning), audit
 * (allow, recorded and annotated) or off, in Pod Security Admission's vocabulary. Chosen per check and
 * per namespace by rules read from an EnforcementConfig (a file, or the same document as a resource),
 * with the exemptions PSA has (usernames, namespaces, runtime classes). The first rule that matches
 * decides; without one, a Kyverno or admission policy keeps the action it declares, and everything
 * else gets the default mode.
 */
import { ENFORCEMENT_MODES as MODES, type EnforcementMode as Mode } from '../api-types.js'
import { readSelector } from '../policy/admission/match-resources.js'
import { type Json, Shape } from '../policy/admission/shape.js'
import { selectorMatches } from '../policy/cel/selectors.js'
import { wildcardMatch } from '../policy/kyverno/wildcard.js'
import { parseSource } from '../resources/parse.js'

export { MODES, type Mode }

export const ENFORCEMENT_API_VERSION = 'plimsoll.dev/v1alpha1'
export const ENFORCEMENT_KIND = 'EnforcementConfig'

export interface EnforcementRule {
  readonly name: string
  /** check ids (Plimsoll checks, Kyverno `policy/rule`, admission policy names), `*` and `?` as wildcards */
  readonly checks: readonly string[]
  /** namespace names, with wildcards; empty: every namespace (and cluster-scoped objects) */
  readonly namespaces: readonly string[]
  /** a label selector over the namespace's labels */
  readonly namespaceSelector?: Json
  /** a label selector over the object's labels */
  readonly objectSelector?: Json
  readonly mode: Mode
}

export interface Exemptions {
  readonly usernames: readonly string[]
  /** namespace names, with wildcards */
  readonly namespaces: readonly string[]
  readonly runtimeClasses: readonly string[]
}

export interface EnforcementConfig {
  readonly defaultMode: Mode
  /**
   * A check that cannot be evaluated (a policy's runtime error): `fail` denies the request, `ignore`
   * allows it with a warning. Where a policy says otherwise (a VAP's failurePolicy), the policy wins.
   */
  readonly policyErrors: 'fail' | 'ignore'
  readonly exemptions: Exemptions
  readonly rules: readonly EnforcementRule[]
}

/**
 * Out of the box nothing is denied: a new webhook warns, and the enforcement plan says where to
 * enforce. The control plane's own namespace and Plimsoll's are exempt, as every admission
 * controller's guide advises (a webhook that blocks its own pods cannot come back).
 */
export function defaultEnforcement(ownNamespace = 'plimsoll'): EnforcementConfig {
  return {
    defaultMode: 'warn',
    policyErrors: 'ignore',
    exemptions: { usernames: [], namespaces: ['kube-system', ownNamespace], runtimeClasses: [] },
    rules: [],
  }
}

export type EnforcementLoad =
  | { readonly ok: true; readonly config: EnforcementConfig }
  | { readonly ok: false; readonly problems: readonly string[] }

/** Reads an EnforcementConfig document; every problem is said with its file and line. */
export function loadEnforcement(file: string, text: string, ownNamespace = 'plimsoll'): EnforcementLoad {
  const parsed = parseSource(file, text)
  const problems = parsed.errors.map((e) => `${e.file}:${e.position?.line ?? 1}: ${e.message}`)
  const docs = parsed.resources.filter((r) => r.kind === ENFORCEMENT_KIND)
  if (problems.length === 0 && docs.length !== 1)
    problems.push(
      `${file}: expected one ${ENFORCEMENT_KIND} (apiVersion ${ENFORCEMENT_API_VERSION}), found ${docs.length}`,
    )
  if (problems.length > 0) return { ok: false, problems }
  const doc = docs[0]!
  const shape = new Shape({
    file,
    kind: ENFORCEMENT_KIND,
    name: doc.name,
    locate: (path) => doc.locate(path),
  })
  if (doc.apiVersion !== ENFORCEMENT_API_VERSION)
    shape.fail(['apiVersion'], `expected ${ENFORCEMENT_API_VERSION}, got '${doc.apiVersion}'`)
  const spec = shape.object(doc.object, ['spec'], true) ?? {}
  offAsWritten(spec, 'defaultMode')
  const defaults = defaultEnforcement(ownNamespace)
  const defaultMode =
    (shape.string(spec, ['spec', 'defaultMode'], { oneOf: MODES }) as Mode) ?? defaults.defaultMode
  const policyErrors =
    (shape.string(spec, ['spec', 'policyErrors'], { oneOf: ['fail', 'ignore'] }) as 'fail' | 'ignore') ??
    defaults.policyErrors
  const ex = shape.object(spec, ['spec', 'exemptions']) ?? {}
  const exemptions: Exemptions = {
    usernames: shape.strings(ex, ['spec', 'exemptions', 'usernames']),
    // Given, the list replaces the defaults: a team that wants kube-system checked can say so.
    namespaces:
      ex.namespaces === undefined
        ? defaults.exemptions.namespaces
        : shape.strings(ex, ['spec', 'exemptions', 'namespaces']),
    runtimeClasses: shape.strings(ex, ['spec', 'exemptions', 'runtimeClasses']),
  }
  const rules = shape
    .objects(spec, ['spec', 'rules'])
    .map(({ item, path }, i): EnforcementRule | undefined => {
      offAsWritten(item, 'mode')
      const mode = shape.string(item, [...path, 'mode'], { required: true, oneOf: MODES }) as Mode | undefined
      const checks = shape.strings(item, [...path, 'checks'], { required: true })
      const namespaceSelector = readSelector(shape, item, [...path, 'namespaceSelector'])
      const objectSelector = readSelector(shape, item, [...path, 'objectSelector'])
      if (!mode) return undefined
      return {
        name: shape.string(item, [...path, 'name']) ?? `rules[${i}]`,
        checks,
        namespaces: shape.strings(item, [...path, 'namespaces']),
        ...(namespaceSelector ? { namespaceSelector } : {}),
        ...(objectSelector ? { objectSelector } : {}),
        mode,
      }
    })
  if (shape.problems.length > 0)
    return {
      ok: false,
      problems: [...shape.problems]
        .sort((a, b) => a.line - b.line)
        .map((p) => `${p.file}:${p.line}: ${p.field ? `${p.field}: ` : ''}${p.message}`),
    }
  return {
    ok: true,
    config: { defaultMode, policyErrors, exemptions, rules: rules.filter((r) => r !== undefined) },
  }
}

/**
 * Kubernetes' YAML reads an unquoted `off` as false (YAML 1.1); a mode is never a boolean, so false
 * can only be the user's `off`.
 */
function offAsWritten(fields: Json, key: string): void {
  if (fields[key] === false) fields[key] = 'off'
}

/** Who and what a request is, as far as exemptions and rules look. */
export interface Subject {
  readonly username: string
  /** '' for a cluster-scoped object */
  readonly namespace: string
  readonly namespaceLabels?: Readonly<Record<string, string>>
  readonly objectLabels?: Readonly<Record<string, string>>
  /** a Pod's (or pod template's) spec.runtimeClassName */
  readonly runtimeClassName?: string
}

/** Why the request is exempt from every check, or undefined. */
export function exemptionOf(config: EnforcementConfig, subject: Subject): string | undefined {
  const { exemptions } = config
  if (exemptions.usernames.includes(subject.username)) return `user ${subject.username} is exempt`
  if (subject.namespace && exemptions.namespaces.some((n) => wildcardMatch(n, subject.namespace)))
    return `namespace ${subject.namespace} is exempt`
  if (subject.runtimeClassName && exemptions.runtimeClasses.includes(subject.runtimeClassName))
    return `runtime class ${subject.runtimeClassName} is exempt`
  return undefined
}

/** The first rule that decides for this check and subject, if any. */
export function ruleFor(
  config: EnforcementConfig,
  checkId: string,
  subject: Subject,
): EnforcementRule | undefined {
  for (const rule of config.rules) {
    if (!rule.checks.some((c) => wildcardMatch(c, checkId))) continue
    if (rule.namespaces.length > 0 && !rule.namespaces.some((n) => wildcardMatch(n, subject.namespace)))
      continue
    if (rule.namespaceSelector && !selectorMatches(rule.namespaceSelector, subject.namespaceLabels ?? {}))
      continue
    if (rule.objectSelector && !selectorMatches(rule.objectSelector, subject.objectLabels ?? {})) continue
    return rule
  }
  return undefined
}

/**
 * The mode for one failing check: the first matching rule's, else `declared` (what a Kyverno policy's
 * failureAction or a VAP binding's validationActions say), else the default.
 */
export function modeFor(config: EnforcementConfig, checkId: string, subject: Subject, declared?: Mode): Mode {
  return ruleFor(config, checkId, subject)?.mode ?? declared ?? config.defaultMode
}
