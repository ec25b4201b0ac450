/**
 * Autogen of Kyverno's MutatingPolicy (pkg/cel/policies/mpol/autogen and pkg/cel/autogen in
 * kyverno/kyverno): a policy whose one rule matches exactly core/v1 pods, without names, exclusions or an
 * object selector, also mutates pod controllers. Its variants match the controllers (with the policy's
 * operations and namespace selector), one for the pod template (`spec.template`), one for CronJobs
 * (`spec.jobTemplate.spec.template`). Kyverno rewrites only the match conditions and the
 * ApplyConfiguration expressions, by text: `object.spec` (and `oldObject.spec`, `Object.spec`) is moved
 * under the template, so are `metadata.labels` and `metadata.annotations`, and a root `Object{...}` is
 * wrapped in the constructions down to the template. Variables and JSON patches are left as written, as
 * Kyverno leaves them.
 */
import type { MatchResources } from '../admission/match-resources.js'
import type { MutationSpec } from '../admission/mutation/mutate.js'
import type { Json } from '../admission/shape.js'
import { isJsonMap } from '../json-map.js'
import { type AutogenTarget, autogenTargets, controllerRules } from './validating-policy.js'

type Template = AutogenTarget['template']

const PATHS: Record<Template, { spec: string; metadata: string; wrap: [string, string] }> = {
  defaults: {
    spec: 'spec.template.spec',
    metadata: 'spec.template.metadata',
    wrap: ['Object{spec: Object.spec{template: Object.spec.template{', '}}}'],
  },
  cronjobs: {
    spec: 'spec.jobTemplate.spec.template.spec',
    metadata: 'spec.jobTemplate.spec.template.metadata',
    wrap: [
      'Object{spec: Object.spec{jobTemplate: Object.spec.jobTemplate{spec: Object.spec.jobTemplate.spec{template: Object.spec.jobTemplate.spec.template{',
      '}}}}}',
    ],
  },
}

/** An expression rewritten for the pod template, with Kyverno's textual replacements. */
export function toTemplateExpression(expression: string, template: Template): string {
  const { spec, metadata, wrap } = PATHS[template]
  let out = expression
    .replace(/\b(object|oldObject|Object)\.spec/g, `$1.${spec}`)
    .replace(/\b(object|oldObject|Object)\.metadata\.labels/g, `$1.${metadata}.labels`)
    .replace(/\b(object|oldObject|Object)\.metadata\.annotations/g, `$1.${metadata}.annotations`)
  const root = /^\s*Object\s*\{/.exec(out)
  if (!root) return out
  // Kyverno counts braces without regard to strings; so does this, to wrap what Kyverno wraps.
  const body = out.slice(root[0].length)
  let depth = 1
  for (let i = 0; i < body.length; i++) {
    if (body[i] === '{') depth++
    else if (body[i] === '}' && --depth === 0) {
      if (i === 0) return out
      out = `${wrap[0]}${body.slice(0, i)}${wrap[1]}${body.slice(i + 1)}`
      return out
    }
  }
  return out
}

function emptySelector(selector: Json | undefined): boolean {
  if (!selector) return true
  const labels = isJsonMap(selector.matchLabels) ? Object.keys(selector.matchLabels) : []
  const exprs = Array.isArray(selector.matchExpressions) ? selector.matchExpressions : []
  return labels.length === 0 && exprs.length === 0
}

/** pkg/cel/autogen CanAutoGen: unlike a ValidatingPolicy's, a namespace selector is allowed (and kept). */
function canAutogen(m: MatchResources): boolean {
  const [rule] = m.resourceRules
  const only = (list: readonly string[], value: string) => list.length === 1 && list[0] === value
  return (
    rule !== undefined &&
    m.resourceRules.length === 1 &&
    m.excludeResourceRules.length === 0 &&
    emptySelector(m.objectSelector) &&
    rule.resourceNames.length === 0 &&
    only(rule.apiGroups, '') &&
    only(rule.apiVersions, 'v1') &&
    only(rule.resources, 'pods')
  )
}

export interface MutatingVariant {
  match: MatchResources
  matchConditions: { name: string; expression: string }[]
  mutations: MutationSpec[]
}

/** The controller variants of a policy (none when autogen does not apply). */
export function mutatingAutogen(
  spec: Json,
  match: MatchResources,
  matchConditions: readonly { name: string; expression: string }[],
  mutations: readonly MutationSpec[],
): MutatingVariant[] {
  if (!canAutogen(match)) return []
  const operations = match.resourceRules[0]!.operations
  const targets = autogenTargets(spec)
  const variants: MutatingVariant[] = []
  for (const template of ['cronjobs', 'defaults'] as const) {
    const group = targets.filter((t) => t.template === template)
    if (group.length === 0) continue
    const variantMatch: MatchResources = {
      resourceRules: controllerRules(group, operations),
      excludeResourceRules: [],
      matchPolicy: match.matchPolicy,
    }
    if (match.namespaceSelector) variantMatch.namespaceSelector = match.namespaceSelector
    variants.push({
      match: variantMatch,
      matchConditions: matchConditions.map((c) => ({
        ...c,
        expression: toTemplateExpression(c.expression, template),
      })),
      mutations: mutations.map((m) =>
        m.patchType === 'ApplyConfiguration'
          ? { ...m, expression: toTemplateExpression(m.expression, template) }
          : m,
      ),
    })
  }
  return variants
}
