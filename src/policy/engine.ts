/**
 * The policy engine: compiled checks indexed by kind, evaluated against resources. It knows nothing of
 * where a resource came from (file, cluster, admission request): only its object and how to locate a
 * field in it.
 */
import { getPath, type PodTemplateLocation, type PodTemplateTable } from '../resources/pod-templates.js'
import { formatPath, type PathSegment, type Resource } from '../resources/types.js'
import { judgesStoredObject, type LiveAdmission } from './admission/request.js'
import { LazyVariables, type VariablePrograms } from './cel/lazy-variables.js'
import { toCelValue } from './cel/values.js'
import type { CheckMetadata } from './check.js'
import type { CompiledCheck, CompiledNamed, CompiledRuleSet, CompiledValidation } from './compile.js'
import type { ForeignPolicies, NamespaceObjects, ServedKind } from './foreign-policies.js'
import type { Inventory } from './inventory.js'
import { type PathRoot, splitPathRoot } from './path-root.js'
import type { CheckResult, ContainerRef } from './result.js'
import type { UsageSource } from './usage.js'

export const CONTAINER_TYPES = ['containers', 'initContainers', 'ephemeralContainers'] as const

/** The version that selects every check's newest entry: "latest". */
export const LATEST_VERSION = Number.MAX_SAFE_INTEGER

/** What an evaluation may know beyond the resource itself. */
export interface EvaluationContext {
  /** The rest of the input (a cluster's objects, the rest of an admission's namespace): the
   * cross-resource checks run only when it is given. */
  inventory?: Inventory
  /** Namespace objects by name, for policies that select by namespace labels (Kyverno's and
   * ValidatingAdmissionPolicy's namespaceSelector); a namespace not in it has no labels. */
  namespaces?: NamespaceObjects
  /** The request as an API server sent it (the admission webhook): what foreign policies see. */
  admission?: LiveAdmission
}

export interface EngineOptions {
  /** Minor version of the policy version in force (v1.N -> N); selects each check's version entry. */
  version: number
  /**
   * The observed usage of the input's workloads (a usage report, policy/usage.ts): CEL's `usage`.
   * Without it `usage` is null for every resource, and the checks over it skip.
   */
  usage?: UsageSource
}

interface Active {
  check: CompiledCheck
  rules: CompiledRuleSet
}

/**
 * What a check's CEL sees (cel/environment.ts: CHECK_VARIABLES), in one shape for every scope; a
 * variable a scope lacks is undefined, which CEL takes as unset, as it takes a missing one. Made field
 * by field: V8 copies a spread object quickly, but a property added to the copy (a check's
 * `variables`), or beside the spread, costs it a microsecond, which was a fifth of an evaluation.
 */
class Activation {
  [name: string]: unknown
  variables: LazyVariables | undefined = undefined

  constructor(
    readonly object: Record<string, unknown>,
    readonly version: bigint,
    readonly inventory: Inventory | undefined,
    /** the workload's observed usage, or null */
    readonly usage: unknown,
    readonly podSpec?: Record<string, unknown>,
    readonly podMetadata?: Record<string, unknown>,
    readonly allContainers?: unknown[],
    readonly container?: Record<string, unknown>,
    readonly containerType?: string,
  ) {}

  copy(): Activation {
    const {
      object,
      version,
      inventory,
      usage,
      podSpec,
      podMetadata,
      allContainers,
      container,
      containerType,
    } = this
    return new Activation(
      object,
      version,
      inventory,
      usage,
      podSpec,
      podMetadata,
      allContainers,
      container,
      containerType,
    )
  }
}

/** Resolves which checks apply to a kind, once per kind. */
class KindIndex {
  /** By group, then kind: a lookup (several per resource) makes no key string. */
  private readonly cache = new Map<string, Map<string, Active[]>>()

  constructor(
    private readonly active: readonly Active[],
    private readonly podTemplates: PodTemplateTable,
  ) {}

  lookup(group: string, kind: string): Active[] {
    let kinds = this.cache.get(group)
    if (!kinds) {
      kinds = new Map()
      this.cache.set(group, kinds)
    }
    let list = kinds.get(kind)
    if (!list) {
      const key = `${group}/${kind}`
      const isPodTemplate = this.podTemplates.lookup(group, kind) !== undefined
      list = this.active.filter(({ check }) =>
        check.kinds.some(
          (k) =>
            k === '*' ||
            k === kind ||
            k === key ||
            (k === 'PodTemplate' ? isPodTemplate : k === `core/${kind}` && group === ''),
        ),
      )
      kinds.set(kind, list)
    }
    return list
  }
}

function selectRuleSet(check: CompiledCheck, version: number): CompiledRuleSet | undefined {
  let chosen: CompiledRuleSet | undefined
  for (const rs of check.ruleSets) if (rs.since <= version) chosen = rs
  return chosen
}

function errorMessage(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0] ?? 'error'
}

/** Each rule set's variables by name, made once. */
const variablePrograms = new WeakMap<readonly CompiledNamed[], VariablePrograms>()

function lazyVariables(defs: readonly CompiledNamed[], activation: Activation): LazyVariables {
  let programs = variablePrograms.get(defs)
  if (!programs) {
    programs = new Map(defs.map((d) => [d.name, d.program]))
    variablePrograms.set(defs, programs)
  }
  return new LazyVariables(programs, activation)
}

/**
 * The activations of one resource's evaluation, made once and shared by the checks that declare no
 * variables (the others extend a copy with their own `variables`): a check never changes them.
 */
class Activations {
  private podBase: Activation | undefined
  private readonly containerBases: Activation[] = []

  constructor(readonly resource: Activation) {}

  forScope(pod: PodContext | undefined): Activation {
    if (!pod) return this.resource
    const { object, version, inventory, usage } = this.resource
    this.podBase ??= new Activation(
      object,
      version,
      inventory,
      usage,
      pod.podSpec,
      pod.podMetadata,
      pod.allContainers,
    )
    return this.podBase
  }

  forContainer(pod: PodContext, i: number): Activation {
    let a = this.containerBases[i]
    if (!a) {
      const { container, ref } = pod.containers[i]!
      const { object, version, inventory, usage } = this.resource
      a = new Activation(
        object,
        version,
        inventory,
        usage,
        pod.podSpec,
        pod.podMetadata,
        pod.allContainers,
        container,
        ref.type,
      )
      this.containerBases[i] = a
    }
    return a
  }
}

export class Engine {
  /** checks that look at one resource at a time */
  private readonly index: KindIndex
  /** cross-resource checks: they need the inventory of the whole input */
  private readonly crossIndex: KindIndex
  readonly checks: readonly CompiledCheck[]
  readonly hasCrossResourceChecks: boolean
  /** CEL's `version`: an int */
  private readonly celVersion: bigint
  /** CEL's `usage`, per workload; absent: null everywhere */
  private readonly usage: UsageSource | undefined

  constructor(
    checks: readonly CompiledCheck[],
    readonly podTemplates: PodTemplateTable,
    options: EngineOptions,
    /** policies of other engines (Kyverno, ValidatingPolicy), run beside the checks */
    private readonly foreign?: ForeignPolicies,
  ) {
    this.checks = checks
    this.celVersion = BigInt(options.version)
    this.usage = options.usage
    const single: Active[] = []
    const cross: Active[] = []
    for (const check of checks) {
      const rules = selectRuleSet(check, options.version)
      // A check over observed usage costs nothing without usage: it could only skip.
      if (rules && !(rules.requiresUsage && !options.usage))
        (check.crossResource ? cross : single).push({ check, rules })
    }
    this.index = new KindIndex(single, podTemplates)
    this.crossIndex = new KindIndex(cross, podTemplates)
    this.hasCrossResourceChecks = cross.length > 0
  }

  /** Every check's metadata: the native checks', then the foreign policies'. */
  metadata(): CheckMetadata[] {
    return [...this.checks.map((c) => c.metadata), ...(this.foreign?.checks ?? [])]
  }

  /**
   * Results of the checks on one resource: those that need only the resource and, given the inventory
   * of the rest (a cluster's, the rest of an admission's namespace), the cross-resource ones too. This is
   * the call a door makes per object.
   */
  evaluate(resource: Resource, context: EvaluationContext = {}): CheckResult[] {
    const own = !context.admission || judgesStoredObject(context.admission.request)
    const results = own ? this.run(resource, this.index.lookup(resource.group, resource.kind), undefined) : []
    if (this.foreign) results.push(...this.foreign.evaluate(resource, context.namespaces, context.admission))
    if (own && context.inventory) results.push(...this.evaluateCross(resource, context.inventory))
    return results
  }

  /**
   * Whether any check or policy looks at this kind (wildcard checks aside: they look at every kind,
   * and are no reason to fetch one). A cluster watcher lists and watches only these.
   */
  wantsKind(served: ServedKind): boolean {
    const named = (list: Active[]) => list.some(({ check }) => !check.kinds.includes('*'))
    return (
      named(this.index.lookup(served.group, served.kind)) ||
      named(this.crossIndex.lookup(served.group, served.kind)) ||
      (this.foreign?.wantsKind(served) ?? false)
    )
  }

  /** The operations beyond CREATE and UPDATE that a policy asks to see (an admission webhook's rules). */
  get moreOperations(): ReadonlySet<'DELETE' | 'CONNECT'> {
    return this.foreign?.moreOperations ?? new Set()
  }

  /** Whether a policy selects resources by the labels of their namespace. */
  get readsNamespaceLabels(): boolean {
    return this.foreign?.readsNamespaceLabels ?? false
  }

  /** Whether a cross-resource check applies to this resource (so it must be kept for evaluateCross). */
  isCrossResourceSubject(resource: Pick<Resource, 'group' | 'kind'>): boolean {
    return this.crossIndex.lookup(resource.group, resource.kind).length > 0
  }

  /**
   * Where the cross-resource checks may point on this resource (their static paths, per container where
   * they are per container), so that a caller that keeps the resource for later can locate them now.
   */
  crossResourcePaths(resource: Resource): PathSegment[][] {
    const paths: PathSegment[][] = [[]]
    let pod: PodContext | undefined | null
    for (const { check, rules } of this.crossIndex.lookup(resource.group, resource.kind)) {
      let location: PodTemplateLocation | undefined
      if (check.scope !== 'resource') {
        pod ??= podContext(this.podTemplates, resource, resource.object)
        if (pod === null) continue
        location = pod.location
      }
      for (const v of rules.validations) {
        if (v.scope === 'container')
          for (const { ref } of pod?.containers ?? []) paths.push(fullPath(v, v.path, location, ref))
        else paths.push(fullPath(v, v.path, location, undefined))
      }
    }
    return paths
  }

  /** Results of the cross-resource checks, once the inventory of the whole input is known. */
  evaluateCross(resource: Resource, inventory: Inventory): CheckResult[] {
    return this.run(resource, this.crossIndex.lookup(resource.group, resource.kind), inventory)
  }

  private run(resource: Resource, candidates: Active[], inventory: Inventory | undefined): CheckResult[] {
    if (candidates.length === 0) return []
    const results: CheckResult[] = []
    const object = toCelValue(resource.object) as Record<string, unknown>
    const version = this.celVersion
    let pod: PodContext | undefined | null
    let activations: Activations | undefined
    for (const { check, rules } of candidates) {
      if (check.scope !== 'resource') {
        if (pod === undefined) pod = podContext(this.podTemplates, resource, object)
        if (pod === null) continue // a workload without a pod template: nothing to check
      }
      activations ??= new Activations(
        new Activation(object, version, inventory, this.usage ? this.usage.usageOf(resource) : null),
      )
      new CheckRun(
        check,
        rules,
        resource,
        activations,
        check.scope === 'resource' ? undefined : pod!,
        results,
      ).run()
    }
    return results
  }
}

interface PodContext {
  location: PodTemplateLocation
  podSpec: Record<string, unknown>
  podMetadata: Record<string, unknown>
  allContainers: unknown[]
  containers: { container: Record<string, unknown>; ref: ContainerRef }[]
}

function podContext(
  table: PodTemplateTable,
  resource: Resource,
  object: Record<string, unknown>,
): PodContext | null {
  const location = table.lookup(resource.group, resource.kind)
  if (!location) return null
  const podSpec = getPath(object, location.podSpec)
  if (podSpec === null || typeof podSpec !== 'object' || Array.isArray(podSpec)) return null
  const meta = getPath(object, location.podMetadata)
  const containers: PodContext['containers'] = []
  const spec = podSpec as Record<string, unknown>
  for (const type of CONTAINER_TYPES) {
    const list = spec[type]
    if (!Array.isArray(list)) continue
    list.forEach((c, index) => {
      if (c !== null && typeof c === 'object') {
        const container = c as Record<string, unknown>
        containers.push({
          container,
          ref: { name: typeof container.name === 'string' ? container.name : `#${index}`, type, index },
        })
      }
    })
  }
  return {
    location,
    podSpec: spec,
    podMetadata: meta !== null && typeof meta === 'object' ? (meta as Record<string, unknown>) : {},
    allContainers: containers.map((c) => c.container),
    containers,
  }
}

/** A validation's path within the resource: `rel` under the root it is relative to. */
function fullPath(
  v: CompiledValidation,
  rel: PathSegment[],
  location: PodTemplateLocation | undefined,
  container: ContainerRef | undefined,
  root: PathRoot = v.root,
): PathSegment[] {
  if (root === 'resource' || v.scope === 'resource' || !location) return rel
  if (root === 'podMetadata') return [...location.podMetadata, ...rel]
  if (v.scope === 'container' && container)
    return [...location.podSpec, container.type, container.index, ...rel]
  return [...location.podSpec, ...rel]
}

/** One check on one resource: match conditions, then every validation in its scope. */
class CheckRun {
  private failed = false

  constructor(
    private readonly check: CompiledCheck,
    private readonly rules: CompiledRuleSet,
    private readonly resource: Resource,
    private readonly activations: Activations,
    /** the pod template, for checks whose scope is the pod or its containers */
    private readonly pod: PodContext | undefined,
    private readonly out: CheckResult[],
  ) {}

  private withVariables(base: Activation): Activation {
    if (this.rules.variables.length === 0) return base
    const activation = base.copy()
    activation.variables = lazyVariables(this.rules.variables, activation)
    return activation
  }

  run(): void {
    const podActivation = this.withVariables(this.activations.forScope(this.pod))
    for (const cond of this.rules.matchConditions) {
      let matched: unknown
      try {
        matched = cond.program(podActivation)
      } catch (err) {
        this.report('error', undefined, [], `match condition '${cond.name}' failed: ${errorMessage(err)}`)
        return
      }
      if (matched !== true) return
    }
    const containerActivations: Activation[] = []
    for (const v of this.rules.validations) {
      if (v.scope === 'container') {
        const pod = this.pod
        if (!pod) continue
        for (let i = 0; i < pod.containers.length; i++) {
          let activation = containerActivations[i]
          if (!activation) {
            activation = this.withVariables(this.activations.forContainer(pod, i))
            containerActivations[i] = activation
          }
          this.validate(v, activation, pod.containers[i]!.ref)
        }
      } else {
        this.validate(v, podActivation, undefined)
      }
    }
    if (!this.failed) this.out.push({ check: this.check.metadata, resource: this.resource, status: 'pass' })
  }

  private validate(v: CompiledValidation, activation: Activation, container: ContainerRef | undefined): void {
    let verdict: unknown
    try {
      verdict = v.program(activation)
    } catch (err) {
      this.report(
        'error',
        container,
        this.fullPath(v, v.path, container),
        `evaluation error: ${errorMessage(err)}`,
      )
      return
    }
    if (verdict === true) return
    if (verdict !== false) {
      this.report(
        'error',
        container,
        this.fullPath(v, v.path, container),
        `validation returned ${typeof verdict}, not a bool`,
      )
      return
    }
    let message = v.message ?? ''
    if (v.messageProgram) {
      try {
        const m = v.messageProgram(activation)
        if (typeof m === 'string' && m.trim() !== '') message = m
      } catch {
        // The static message (or the check title) stands in, as the API server falls back.
      }
    }
    let path = v.path
    let root = v.root
    if (v.pathProgram) {
      try {
        const p = v.pathProgram(activation)
        if (typeof p === 'string' && p !== '') ({ root, path } = splitPathRoot(p))
      } catch {
        // keep the static path
      }
    }
    this.report(
      'fail',
      container,
      this.fullPath(v, path, container, root),
      message || this.check.metadata.title,
    )
  }

  private fullPath(
    v: CompiledValidation,
    rel: PathSegment[],
    container: ContainerRef | undefined,
    root: PathRoot = v.root,
  ): PathSegment[] {
    return fullPath(v, rel, this.pod?.location, container, root)
  }

  private report(
    status: 'fail' | 'error',
    container: ContainerRef | undefined,
    path: PathSegment[],
    message: string,
  ) {
    this.failed = true
    const result: CheckResult = {
      check: this.check.metadata,
      resource: this.resource,
      status,
      message,
      path: formatPath(path),
      position: this.resource.locate(path),
    }
    if (container) result.container = container
    this.out.push(result)
  }
}
