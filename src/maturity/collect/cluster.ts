/**
 * The cluster's evidence for `plimsoll assess`: every `cluster.*` fact of facts.ts from one read of
 * the API (discovery, then a paged list of each kind a fact needs, a page at a time in memory and
 * only what the facts read kept of each object). Secrets are never listed.
 *
 * What is found, and how:
 * - an API group the cluster does not serve means its engine or controller is absent, not an error;
 * - a list the credentials may not read (403), or that fails, is said in `problems`, and the facts that
 *   depend on it are unknown (absent), the others still come. A list fact (`admissionEngines`, ...)
 *   keeps what other evidence showed and is absent only when nothing was found and some of it could
 *   not be read: a member is never reported absent on evidence that was not read;
 * - a share over no objects (no workloads) is unknown, not 0;
 * - workloads of the system namespaces (kube-system, kube-public, kube-node-lease) are not counted in
 *   the shares: the platform's own add-ons are not the teams' workloads;
 * - sources name objects as `Kind namespace/name` (`Kind name` at the cluster scope), at most
 *   `maxSources` per fact, then `... and N more`; a share's sources begin with its count;
 * - an empty list fact, or no autoscaler, cites where it was sought instead: `cluster: no plimsoll,
 *   kyverno or gatekeeper webhook among 3 ValidatingWebhookConfigurations and 1
 *   MutatingWebhookConfiguration; ...; no ValidatingAdmissionPolicyBinding`.
 */
import { type ApiClient, ApiError } from '../../cluster/client.js'
import { type ApiResource, type Discovery, discover } from '../../cluster/discovery.js'
import { PSA_LABEL_PREFIX } from '../../cluster/pod-security.js'
import { METADATA_ACCEPT } from '../../cluster/reflector.js'
import { selectorMatches } from '../../policy/cel/selectors.js'
import type { CollectedFacts, FactValue } from '../facts.js'

export interface ClusterCollectOptions {
  /** items per list page (default 500, as client-go's pager) */
  pageSize?: number
  /** the discovery already read (a watcher's), instead of reading it again */
  discovery?: Discovery
  /** namespaces whose workloads and labels the shares leave out */
  systemNamespaces?: readonly string[]
  /** objects named per fact at most (default 20) */
  maxSources?: number
}

export const SYSTEM_NAMESPACES: readonly string[] = ['kube-system', 'kube-public', 'kube-node-lease']

type Obj = Record<string, unknown>
type Labels = Record<string, string>

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v)
const objAt = (v: unknown, key: string): Obj => (isObj(v) && isObj(v[key]) ? (v[key] as Obj) : {})
const strAt = (v: unknown, key: string): string =>
  isObj(v) && typeof v[key] === 'string' ? (v[key] as string) : ''
const arrAt = (v: unknown, key: string): unknown[] => (isObj(v) && Array.isArray(v[key]) ? v[key] : [])
function labelsOf(v: unknown): Labels {
  const out: Labels = {}
  for (const [k, x] of Object.entries(isObj(v) ? v : {})) if (typeof x === 'string') out[k] = x
  return out
}

// ------------------------------------------------------------------------------------------- lists

interface ListPage {
  metadata?: { continue?: string }
  items?: Obj[]
}

function isGone(err: unknown): boolean {
  return err instanceof ApiError && (err.code === 410 || err.reason === 'Expired' || err.reason === 'Gone')
}

/**
 * Every object of a kind, page by page (limit and continue, as the reflector lists), each reduced by
 * `keep` as it comes. A continue token expired mid-list (410): once more from the start, in one piece.
 */
async function listAll<T>(
  client: ApiClient,
  resource: ApiResource,
  pageSize: number,
  metadataOnly: boolean,
  keep: (item: Obj) => T | undefined,
): Promise<T[]> {
  let expiredOnce = false
  for (;;) {
    const out: T[] = []
    let token: string | undefined
    try {
      do {
        const page = await client.get<ListPage>(
          resource.path,
          { limit: expiredOnce ? undefined : pageSize, continue: token },
          metadataOnly ? METADATA_ACCEPT : 'application/json',
        )
        for (const item of page.items ?? []) {
          const kept = keep(item)
          if (kept !== undefined) out.push(kept)
        }
        token = page.metadata?.continue || undefined
      } while (token)
      return out
    } catch (err) {
      if (isGone(err) && token !== undefined && !expiredOnce) {
        expiredOnce = true
        continue
      }
      throw err
    }
  }
}

/** What one list gave: its items, or why not (a sentence without the facts it leaves unknown). */
type Listed<T> = { ok: true; items: T[] } | { ok: false; why: string }

function why(err: unknown): string {
  if (err instanceof ApiError) {
    if (err.code === 401 || err.code === 403) return `was refused (${err.code})`
    return `failed (${err.code > 0 ? `${err.code}: ` : ''}${err.message})`
  }
  return `failed (${(err as Error).message})`
}

// ---------------------------------------------------------------------------------------- objects

interface Named {
  kind: string
  namespace: string
  name: string
}

const ref = (o: Named) => (o.namespace ? `${o.kind} ${o.namespace}/${o.name}` : `${o.kind} ${o.name}`)

function named(kind: string, item: Obj): Named {
  const meta = objAt(item, 'metadata')
  return { kind, namespace: strAt(meta, 'namespace'), name: strAt(meta, 'name') }
}

interface Container {
  name: string
  /** the image's repository, last segment: quay.io/prometheus/prometheus:v2.53.0 -> prometheus */
  image: string
  missing: string[]
  probes: string[]
}

interface Workload extends Named {
  replicas: number
  labels: Labels
  podLabels: Labels
  containers: Container[]
  /** a Job a CronJob made: its template is the CronJob's, counted there */
  fromCronJob: boolean
}

/** registry:5000/a/b/name:tag@sha256:... -> name */
export function imageName(image: string): string {
  const noDigest = image.split('@')[0] ?? ''
  const last = noDigest.slice(noDigest.lastIndexOf('/') + 1)
  const colon = last.indexOf(':')
  return colon < 0 ? last : last.slice(0, colon)
}

function containerOf(c: unknown): Container {
  const resources = objAt(c, 'resources')
  const requests = objAt(resources, 'requests')
  const limits = objAt(resources, 'limits')
  const missing: string[] = []
  if (requests.cpu === undefined) missing.push('no cpu request')
  if (requests.memory === undefined) missing.push('no memory request')
  if (limits.memory === undefined) missing.push('no memory limit')
  const probes: string[] = []
  if (Object.keys(objAt(c, 'readinessProbe')).length === 0) probes.push('no readiness probe')
  if (Object.keys(objAt(c, 'livenessProbe')).length === 0) probes.push('no liveness probe')
  return { name: strAt(c, 'name'), image: imageName(strAt(c, 'image')), missing, probes }
}

function workloadOf(kind: string, item: Obj): Workload {
  const spec = objAt(item, 'spec')
  const template =
    kind === 'CronJob'
      ? objAt(objAt(objAt(spec, 'jobTemplate'), 'spec'), 'template')
      : objAt(spec, 'template')
  const replicas = typeof spec.replicas === 'number' ? spec.replicas : 1
  const owners = arrAt(objAt(item, 'metadata'), 'ownerReferences')
  return {
    ...named(kind, item),
    replicas,
    labels: labelsOf(objAt(item, 'metadata').labels),
    podLabels: labelsOf(objAt(template, 'metadata').labels),
    containers: arrAt(objAt(template, 'spec'), 'containers').map(containerOf),
    fromCronJob: kind === 'Job' && owners.some((o) => strAt(o, 'kind') === 'CronJob'),
  }
}

interface Webhooks extends Named {
  labels: Labels
  webhooks: string[]
}

function webhooksOf(kind: string, item: Obj): Webhooks {
  return {
    ...named(kind, item),
    labels: labelsOf(objAt(item, 'metadata').labels),
    webhooks: arrAt(item, 'webhooks').map((w) => strAt(w, 'name')),
  }
}

interface Meta extends Named {
  labels: Labels
  ownerKinds: string[]
}

function metaOf(kind: string, item: Obj): Meta {
  const meta = objAt(item, 'metadata')
  return {
    ...named(kind, item),
    labels: labelsOf(meta.labels),
    ownerKinds: arrAt(meta, 'ownerReferences').map((o) => strAt(o, 'kind')),
  }
}

interface Pdb extends Named {
  selector: unknown
}

// ------------------------------------------------------------------------------------------ facts

/** How much of an object a fact reads, by the kind discovery names. */
const SHAPES = {
  meta: metaOf,
  webhooks: webhooksOf,
  workload: workloadOf,
  pdb: (kind: string, o: Obj): Pdb => ({ ...named(kind, o), selector: objAt(o, 'spec').selector }),
}

/** The lists a fact may need: key -> [group, resource, what is kept, metadata only]. */
const LISTS = {
  namespaces: ['', 'namespaces', 'meta', true],
  validatingWebhooks: ['admissionregistration.k8s.io', 'validatingwebhookconfigurations', 'webhooks', false],
  mutatingWebhooks: ['admissionregistration.k8s.io', 'mutatingwebhookconfigurations', 'webhooks', false],
  policyBindings: ['admissionregistration.k8s.io', 'validatingadmissionpolicybindings', 'meta', true],
  deployments: ['apps', 'deployments', 'workload', false],
  statefulSets: ['apps', 'statefulsets', 'workload', false],
  daemonSets: ['apps', 'daemonsets', 'workload', false],
  jobs: ['batch', 'jobs', 'workload', false],
  cronJobs: ['batch', 'cronjobs', 'workload', false],
  pdbs: ['policy', 'poddisruptionbudgets', 'pdb', false],
  hpas: ['autoscaling', 'horizontalpodautoscalers', 'meta', true],
  vpas: ['autoscaling.k8s.io', 'verticalpodautoscalers', 'meta', true],
  scaledObjects: ['keda.sh', 'scaledobjects', 'meta', true],
  prometheuses: ['monitoring.coreos.com', 'prometheuses', 'meta', true],
  alertmanagers: ['monitoring.coreos.com', 'alertmanagers', 'meta', true],
} as const satisfies Record<string, readonly [string, string, keyof typeof SHAPES, boolean]>

type ListKey = keyof typeof LISTS

/** The facts each list leaves unknown (or incomplete, for a list fact) when it cannot be read. */
const DEPENDS: Record<ListKey, readonly string[]> = {
  namespaces: ['psaEnforcedShare'],
  validatingWebhooks: ['admissionEngines'],
  mutatingWebhooks: ['admissionEngines'],
  policyBindings: ['admissionEngines'],
  deployments: [
    'monitoring',
    'gitopsControllers',
    'certificateAutomation',
    'requestsLimitsShare',
    'probesShare',
    'replicatedShare',
    'pdbShare',
  ],
  statefulSets: [
    'monitoring',
    'gitopsControllers',
    'certificateAutomation',
    'requestsLimitsShare',
    'probesShare',
    'replicatedShare',
    'pdbShare',
  ],
  daemonSets: ['requestsLimitsShare', 'probesShare'],
  jobs: ['requestsLimitsShare'],
  cronJobs: ['requestsLimitsShare'],
  pdbs: ['pdbShare'],
  hpas: ['autoscalers'],
  vpas: ['autoscalers'],
  scaledObjects: ['autoscalers'],
  prometheuses: ['monitoring'],
  alertmanagers: ['monitoring'],
}

const LIST_FACTS = ['admissionEngines', 'monitoring', 'gitopsControllers', 'certificateAutomation'] as const

/** Where a member's evidence is sought, as an absence says it. */
type PartKind = 'webhook' | 'workload' | 'api' | 'object'
const PART_KINDS: readonly PartKind[] = ['webhook', 'workload', 'api', 'object']

/** One piece of a member's evidence: its sources when found, or null; and what it is, to say it is not. */
interface Part {
  kind: PartKind
  /** what was sought: a webhook's or workload's name, an API group, a kind */
  labels: readonly string[]
  find: () => string[] | null
}

/** A member of a list fact: found when all its parts are (`all`), or any of them (`any`). */
interface Member {
  name: string
  /** the lists (and groups' discovery) whose failure leaves it unknown when not found */
  needs: readonly ListKey[]
  needsGroups?: readonly string[]
  all?: readonly Part[]
  any?: readonly Part[]
}

/** The member's sources, or null when it is not found. */
function findMember(m: Member): string[] | null {
  if (m.all) {
    const found = m.all.map((p) => p.find())
    return found.every((f) => f !== null) ? found.flat() : null
  }
  const found = (m.any ?? []).map((p) => p.find()).filter((f) => f !== null)
  return found.length > 0 ? found.flat() : null
}

/** a, b or c */
function orList(words: readonly string[]): string {
  const unique = [...new Set(words)]
  return unique.length <= 1 ? (unique[0] ?? '') : `${unique.slice(0, -1).join(', ')} or ${unique.at(-1)}`
}

/** 1 Deployment, 3 Deployments */
const counted = (n: number, kind: string) => `${n} ${kind}${n === 1 ? '' : 's'}`

/** Names of `refs`, at most `max`, then `... and N more`. */
function bounded(refs: readonly string[], max: number): string[] {
  const unique = [...new Set(refs)]
  if (unique.length <= max) return unique
  return [...unique.slice(0, max), `... and ${unique.length - max} more`]
}

export async function collectClusterFacts(
  client: ApiClient,
  options: ClusterCollectOptions = {},
): Promise<CollectedFacts> {
  const pageSize = options.pageSize ?? 500
  const max = options.maxSources ?? 20
  const system = new Set(options.systemNamespaces ?? SYSTEM_NAMESPACES)
  const problems: string[] = []
  const facts = new Map<string, FactValue>()

  let discovery: Discovery
  try {
    discovery = options.discovery ?? (await discover(client))
  } catch (err) {
    return {
      facts,
      problems: [`cluster: reading the API's discovery ${why(err)}: every cluster fact unknown`],
    }
  }
  const failedGroups = new Set(discovery.failed.map((f) => f.groupVersion.split('/')[0] ?? ''))
  for (const f of discovery.failed)
    problems.push(`cluster: discovery of ${f.groupVersion} failed: ${f.message}`)
  const servedResource = (group: string, resource: string) =>
    discovery.resources.find((r) => r.group === group && r.resource === resource)
  /** the served kinds of a group, as evidence: `API kyverno.io/v1 ClusterPolicy served` */
  const served = (group: string, ...resources: string[]): string[] | null => {
    const found = discovery.resources.filter(
      (r) => r.group === group && (resources.length === 0 || resources.includes(r.resource)),
    )
    return found.length > 0 ? found.map((r) => `API ${r.group}/${r.version} ${r.kind} served`) : null
  }

  // Every list at once; a kind the cluster does not serve is an empty list.
  const keys = Object.keys(LISTS) as ListKey[]
  const results = await Promise.all(
    keys.map(async (key): Promise<Listed<unknown>> => {
      const [group, resource, shape, metadataOnly] = LISTS[key]
      const found = servedResource(group, resource)
      if (!found) {
        if (failedGroups.has(group))
          return { ok: false, why: 'could not be tried (the discovery of its group failed)' }
        return { ok: true, items: [] }
      }
      try {
        return {
          ok: true,
          items: await listAll(client, found, pageSize, metadataOnly, (o) => SHAPES[shape](found.kind, o)),
        }
      } catch (err) {
        // The kind went away between discovery and the list (a CRD deleted): not served.
        if (err instanceof ApiError && err.code === 404) return { ok: true, items: [] }
        return { ok: false, why: why(err) }
      }
    }),
  )
  const listed = new Map(keys.map((k, i) => [k, results[i]!]))
  const items = <T>(key: ListKey): T[] => {
    const r = listed.get(key)!
    return r.ok ? (r.items as T[]) : []
  }
  const failed = (key: ListKey) => !listed.get(key)!.ok
  const anyFailed = (...ks: ListKey[]) => ks.some(failed)

  const deployments = items<Workload>('deployments')
  const statefulSets = items<Workload>('statefulSets')
  const daemonSets = items<Workload>('daemonSets')
  const controllers = [...deployments, ...statefulSets]
  const userOwned = (w: Named) => !system.has(w.namespace)

  // ------------------------------------------------------------------------------- list facts
  const webhookConfigs = [...items<Webhooks>('validatingWebhooks'), ...items<Webhooks>('mutatingWebhooks')]
  const webhooksNaming = (word: string): string[] | null => {
    const found = webhookConfigs.filter(
      (c) =>
        c.name.toLowerCase().includes(word) ||
        c.labels['app.kubernetes.io/name'] === word ||
        c.labels['app.kubernetes.io/part-of'] === word ||
        c.webhooks.some((w) => w.toLowerCase().includes(word)),
    )
    return found.length > 0 ? found.map(ref) : null
  }
  /**
   * Deployments and StatefulSets that are `component`: so named (or `<release>-<component>`), so
   * labelled (app.kubernetes.io/name or app, on the workload or its pods), or running its image.
   */
  const workloads = (component: {
    names?: readonly string[]
    /** revisions: istiod-1-22 */
    prefixes?: readonly string[]
    images?: readonly string[]
    podLabel?: string
  }): string[] | null => {
    const names = component.names ?? []
    const images = component.images ?? []
    const found = controllers.filter(
      (w) =>
        (component.prefixes ?? []).some((p) => w.name.startsWith(p)) ||
        names.some(
          (n) =>
            w.name === n ||
            w.name.endsWith(`-${n}`) ||
            [w.labels, w.podLabels].some((l) => l['app.kubernetes.io/name'] === n || l.app === n),
        ) ||
        w.containers.some((c) => images.includes(c.image)) ||
        (component.podLabel !== undefined && component.podLabel in w.podLabels),
    )
    return found.length > 0 ? found.map(ref) : null
  }
  const either = (a: string[] | null, b: string[] | null) => (a || b ? [...(a ?? []), ...(b ?? [])] : null)
  const objects = (key: ListKey) => {
    const list = items<Named>(key)
    return list.length > 0 ? list.map(ref) : null
  }
  const WORKLOADS: ListKey[] = ['deployments', 'statefulSets']
  const WEBHOOKS: ListKey[] = ['validatingWebhooks', 'mutatingWebhooks']

  const webhook = (word: string): Part => ({
    kind: 'webhook',
    labels: [word],
    find: () => webhooksNaming(word),
  })
  const api = (groups: readonly string[], ...resources: string[]): Part => ({
    kind: 'api',
    labels: groups,
    find: () => groups.map((g) => served(g, ...resources)).reduce(either, null),
  })
  const object = (kind: string, key: ListKey): Part => ({
    kind: 'object',
    labels: [kind],
    find: () => objects(key),
  })
  const workload = (labels: readonly string[], component: Parameters<typeof workloads>[0]): Part => ({
    kind: 'workload',
    labels,
    find: () => workloads(component),
  })

  const members: Record<(typeof LIST_FACTS)[number], Member[]> = {
    admissionEngines: [
      { name: 'plimsoll', needs: WEBHOOKS, all: [webhook('plimsoll')] },
      {
        name: 'kyverno',
        needs: WEBHOOKS,
        needsGroups: ['kyverno.io'],
        all: [api(['kyverno.io'], 'clusterpolicies', 'policies'), webhook('kyverno')],
      },
      {
        name: 'gatekeeper',
        needs: WEBHOOKS,
        needsGroups: ['templates.gatekeeper.sh'],
        any: [api(['templates.gatekeeper.sh'], 'constrainttemplates'), webhook('gatekeeper')],
      },
      {
        name: 'vap',
        needs: ['policyBindings'],
        all: [object('ValidatingAdmissionPolicyBinding', 'policyBindings')],
      },
    ],
    monitoring: [
      {
        name: 'prometheus',
        needs: ['prometheuses', ...WORKLOADS],
        needsGroups: ['monitoring.coreos.com'],
        any: [object('Prometheus', 'prometheuses'), workload(['prometheus'], { images: ['prometheus'] })],
      },
      {
        name: 'prometheus-operator',
        needs: WORKLOADS,
        all: [
          workload(['prometheus-operator'], {
            names: ['prometheus-operator'],
            images: ['prometheus-operator'],
          }),
        ],
      },
      {
        name: 'kube-state-metrics',
        needs: WORKLOADS,
        all: [
          workload(['kube-state-metrics'], { names: ['kube-state-metrics'], images: ['kube-state-metrics'] }),
        ],
      },
      {
        name: 'alertmanager',
        needs: ['alertmanagers', ...WORKLOADS],
        needsGroups: ['monitoring.coreos.com'],
        any: [
          object('Alertmanager', 'alertmanagers'),
          workload(['alertmanager'], { images: ['alertmanager'] }),
        ],
      },
    ],
    gitopsControllers: [
      {
        name: 'argocd',
        needs: WORKLOADS,
        needsGroups: ['argoproj.io'],
        all: [
          api(['argoproj.io'], 'applications'),
          workload(['argocd-application-controller'], { names: ['argocd-application-controller'] }),
        ],
      },
      {
        name: 'flux',
        needs: WORKLOADS,
        needsGroups: ['kustomize.toolkit.fluxcd.io'],
        all: [
          api(['kustomize.toolkit.fluxcd.io']),
          workload(['kustomize-controller', 'source-controller'], {
            names: ['kustomize-controller', 'source-controller'],
            images: ['kustomize-controller', 'source-controller'],
          }),
        ],
      },
    ],
    certificateAutomation: [
      {
        name: 'cert-manager',
        needs: WORKLOADS,
        needsGroups: ['cert-manager.io'],
        all: [
          api(['cert-manager.io']),
          workload(['cert-manager'], { names: ['cert-manager'], images: ['cert-manager-controller'] }),
        ],
      },
      {
        name: 'istio',
        needs: WORKLOADS,
        needsGroups: ['networking.istio.io', 'security.istio.io'],
        all: [
          api(['networking.istio.io', 'security.istio.io']),
          workload(['istiod'], { names: ['istiod'], prefixes: ['istiod-'], images: ['pilot'] }),
        ],
      },
      {
        name: 'linkerd',
        needs: WORKLOADS,
        needsGroups: ['linkerd.io', 'policy.linkerd.io'],
        all: [
          api(['linkerd.io', 'policy.linkerd.io']),
          workload(['linkerd control plane'], {
            names: ['linkerd-destination', 'linkerd-identity'],
            podLabel: 'linkerd.io/control-plane-component',
          }),
        ],
      },
      {
        name: 'spire',
        needs: WORKLOADS,
        needsGroups: ['spire.spiffe.io'],
        all: [
          api(['spire.spiffe.io']),
          workload(['spire-server'], { names: ['spire-server'], images: ['spire-server'] }),
        ],
      },
    ],
  }

  /**
   * Where the members not found were sought, as one source: `cluster: no kyverno webhook among ...;
   * no ValidatingAdmissionPolicyBinding`. A member found by all its parts is said by those missing.
   */
  const absence = (absent: readonly Member[]): string => {
    const missing = new Map<PartKind, string[]>(PART_KINDS.map((k) => [k, []]))
    for (const m of absent)
      for (const p of m.all ?? m.any ?? []) if (p.find() === null) missing.get(p.kind)!.push(...p.labels)
    const clauses: string[] = []
    const webhookNames = missing.get('webhook')!
    if (webhookNames.length > 0)
      clauses.push(
        `no ${orList(webhookNames)} webhook among ${counted(items('validatingWebhooks').length, 'ValidatingWebhookConfiguration')} and ${counted(items('mutatingWebhooks').length, 'MutatingWebhookConfiguration')}`,
      )
    const workloadNames = missing.get('workload')!
    if (workloadNames.length > 0)
      clauses.push(
        `no ${orList(workloadNames)} among ${counted(deployments.length, 'Deployment')} and ${counted(statefulSets.length, 'StatefulSet')}`,
      )
    const groups = missing.get('api')!
    if (groups.length > 0) clauses.push(`no ${orList(groups)} API served`)
    const kinds = missing.get('object')!
    if (kinds.length > 0) clauses.push(`no ${orList(kinds)}`)
    return `cluster: ${clauses.join('; ')}`
  }

  /** what the report says of each fact a failed list leaves unknown or incomplete */
  const unknown = new Set<string>()
  const incomplete = new Set<string>()
  for (const fact of LIST_FACTS) {
    const found: string[] = []
    const sources: string[] = []
    const notKnown: string[] = []
    // Each member's evidence bounded, so that the fact names at most `max` objects in all.
    const each = Math.max(1, Math.floor(max / members[fact].length))
    for (const m of members[fact]) {
      const evidence = findMember(m)
      if (evidence) {
        found.push(m.name)
        sources.push(...bounded(evidence, each).map((s) => `${m.name}: ${s}`))
      } else if (m.needs.some(failed) || (m.needsGroups ?? []).some((g) => failedGroups.has(g)))
        notKnown.push(m.name)
    }
    if (notKnown.length > 0 && found.length === 0) unknown.add(fact)
    else {
      if (notKnown.length > 0) incomplete.add(fact)
      // nothing found (and nothing unread that could have been): where it was sought
      facts.set(`cluster.${fact}`, {
        value: found,
        sources: found.length > 0 ? sources : [absence(members[fact])],
      })
    }
  }

  // ----------------------------------------------------------------------------------- shares
  const share = (
    fact: string,
    needs: readonly ListKey[],
    measured: () => { met: number; total: number; unit: string; short: string[] },
  ) => {
    if (anyFailed(...needs)) {
      unknown.add(fact)
      return
    }
    const { met, total, unit, short } = measured()
    if (total === 0) return // nothing to measure: unknown, not 0
    facts.set(`cluster.${fact}`, {
      value: met / total,
      sources: [`${met} of ${total} ${unit}`, ...bounded(short, max)],
    })
  }

  share('psaEnforcedShare', ['namespaces'], () => {
    const namespaces = items<Meta>('namespaces').filter((n) => !system.has(n.name))
    const short = namespaces.filter((n) => !(`${PSA_LABEL_PREFIX}enforce` in n.labels))
    return {
      met: namespaces.length - short.length,
      total: namespaces.length,
      unit: `namespaces have a ${PSA_LABEL_PREFIX}enforce label`,
      short: short.map(ref),
    }
  })

  /** containers of `within` meeting `test`, and the workloads with containers that do not */
  const containers = (within: readonly Workload[], gaps: (c: Container) => string[], unit: string) => {
    let met = 0
    let total = 0
    const short: string[] = []
    for (const w of within) {
      const lacking: string[] = []
      for (const c of w.containers) {
        total++
        const g = gaps(c)
        if (g.length === 0) met++
        else lacking.push(`${c.name}: ${g.join(', ')}`)
      }
      if (lacking.length > 0) short.push(`${ref(w)} (${lacking.join('; ')})`)
    }
    return { met, total, unit, short }
  }

  share('requestsLimitsShare', ['deployments', 'statefulSets', 'daemonSets', 'jobs', 'cronJobs'], () =>
    containers(
      [...controllers, ...daemonSets, ...items<Workload>('jobs'), ...items<Workload>('cronJobs')].filter(
        (w) => userOwned(w) && !w.fromCronJob,
      ),
      (c) => c.missing,
      'containers have cpu and memory requests and a memory limit',
    ),
  )

  share('probesShare', ['deployments', 'statefulSets', 'daemonSets'], () =>
    containers(
      [...controllers, ...daemonSets].filter(userOwned),
      (c) => c.probes,
      'containers have readiness and liveness probes',
    ),
  )

  const replicated = controllers.filter((w) => userOwned(w) && w.replicas >= 2)
  share('replicatedShare', WORKLOADS, () => {
    const all = controllers.filter(userOwned)
    return {
      met: replicated.length,
      total: all.length,
      unit: 'Deployments and StatefulSets have 2 replicas or more',
      short: all
        .filter((w) => w.replicas < 2)
        .map((w) => `${ref(w)} (${w.replicas} replica${w.replicas === 1 ? '' : 's'})`),
    }
  })

  share('pdbShare', [...WORKLOADS, 'pdbs'], () => {
    const pdbs = items<Pdb>('pdbs')
    const covers = (p: Pdb, w: Workload) => {
      if (p.namespace !== w.namespace) return false
      try {
        return selectorMatches(p.selector, w.podLabels)
      } catch {
        return false // an operator Kubernetes would not accept selects nothing
      }
    }
    const short = replicated.filter((w) => !pdbs.some((p) => covers(p, w)))
    return {
      met: replicated.length - short.length,
      total: replicated.length,
      unit: 'Deployments and StatefulSets of 2 replicas or more have a PodDisruptionBudget',
      short: short.map(ref),
    }
  })

  // ------------------------------------------------------------------------------ autoscalers
  if (anyFailed('hpas', 'vpas', 'scaledObjects')) unknown.add('autoscalers')
  else {
    // KEDA makes an HPA for each ScaledObject (keda-hpa-<name>, owned by it): counted once.
    const hpas = items<Meta>('hpas')
    const found = [
      ...hpas.filter((h) => !h.ownerKinds.includes('ScaledObject')),
      ...items<Meta>('vpas'),
      ...items<Meta>('scaledObjects'),
    ]
    const none =
      hpas.length === 0
        ? 'cluster: no HorizontalPodAutoscaler, VerticalPodAutoscaler or ScaledObject'
        : `cluster: no VerticalPodAutoscaler or ScaledObject; ${counted(hpas.length, 'HorizontalPodAutoscaler')}, each owned by a ScaledObject, not counted`
    facts.set('cluster.autoscalers', {
      value: found.length,
      sources: found.length > 0 ? bounded(found.map(ref), max) : [none],
    })
  }

  // ------------------------------------------------------------------------- what was not read
  for (const key of keys) {
    const r = listed.get(key)!
    if (r.ok) continue
    const [group, resource] = LISTS[key]
    const what = group === '' || !group.includes('.') ? resource : `${resource}.${group}`
    const lost = DEPENDS[key].filter((f) => unknown.has(f)).map((f) => `cluster.${f} unknown`)
    const partial = DEPENDS[key].filter((f) => incomplete.has(f)).map((f) => `cluster.${f} may be incomplete`)
    const consequence = [...lost, ...partial].join(', ')
    problems.push(`cluster: listing ${what} ${r.why}${consequence ? `: ${consequence}` : ''}`)
  }
  return { facts, problems }
}
