/**
 * A week of the admission webhook's decisions on the demo's cluster, made by the webhook's own code:
 * every request is written as the API server sends it (an AdmissionReview, read by `parseReview`),
 * decided by `decideValidation` with an engine built from the library as `webhook serve` builds it,
 * under the demo's EnforcementConfig, and turned into a record by the webhook's DecisionRecorder.
 * Only what the webhook would see is recorded: kinds its rules name, CREATE and UPDATE, and not the
 * requests its configuration leaves in the API server (exempt users, namespaces exempt by name).
 *
 * The traffic comes from the estate's objects of each day: the teams' pipelines applying what their
 * repositories hold (a service account per team, Argo CD for the data team), the controllers that
 * follow (ReplicaSets and their Pods, StatefulSet and DaemonSet Pods, the CronJobs' Jobs, autoscaled
 * Pods, DaemonSet Pods on new nodes), and people with kubectl: restarts, debug pods, manual Jobs, edits.
 * The story: the payments rules of DEMO_ENFORCEMENT were switched on the morning after the debug shell
 * (the estate's pod in `payments`), so the next attempts are denied; the shop's cart is refused while
 * its repository still says `:latest`; the data team's airflow worker, with its docker socket, is
 * refused whenever Argo CD or someone tries to change it. Deterministic: the same estate and `now`
 * give the same decisions, at the same times, none after `now`.
 */
import { load } from 'js-yaml'
import { Engine, LATEST_VERSION } from '../policy/engine.js'
import { hasWildcard } from '../policy/kyverno/wildcard.js'
import { type Library, loadLibrary } from '../policy/library.js'
import { KUBERNETES_YAML_SCHEMA } from '../resources/yaml-schema.js'
import {
  ADMISSION_OUTCOMES,
  type AdmissionOutcome,
  type AdmissionRecord,
  recordAdmissions,
} from '../store/admissions.js'
import type { Store } from '../store/connect.js'
import { type Decision, decideValidation, type ValidationSetup } from '../webhook/decide.js'
import type { EnforcementConfig } from '../webhook/enforcement.js'
import { DecisionRecorder } from '../webhook/recorder.js'
import { type AdmissionRequest, parseReview } from '../webhook/review.js'
import { DEMO_ENFORCEMENT } from './enforcement.js'
import { CLUSTER_TARGET, type DemoEstate, demoEstate, type TargetInput } from './estate.js'
import { MODEL_DAYS } from './plan.js'
import {
  ANY_HOUR,
  NAME_ALPHABET,
  type Random,
  randomSuffix,
  seededRandom,
  timeOn,
  uuid,
  WORKING_HOURS,
} from './prng.js'
import { DEMO_SEED, dateAfter } from './timeline.js'

type Obj = Record<string, unknown>

export interface AdmissionSeedOptions {
  /** reuse a loaded library (default: the built-in checks) */
  library?: Library
  /** no decision after it (default: now) */
  now?: Date
  /** days of decisions, today included (default 7) */
  days?: number
  /** the estate the store's scans were seeded from (default: a month of it ending today) */
  estate?: DemoEstate
  /** the estate's last day, YYYY-MM-DD (default: the date of `now`) */
  lastDay?: string
  /** the estate's inputs of a day, when they are at hand (default: estate.inputs) */
  inputs?: (day: number) => TargetInput[]
  /**
   * Decide a request that differs from one decided that day only in what the API server makes up
   * (generated names, uids, times, versions) by reusing that decision (default: true; the same records)
   */
  reuseDecisions?: boolean
}

export interface AdmissionSeedSummary {
  /** records written (each stands for one decision: nothing is sampled) */
  decisions: number
  outcomes: Record<AdmissionOutcome, number>
  /** the first and last decision's time */
  from: string
  to: string
}

const SECOND = 1000
const MINUTE = 60 * SECOND
const HOUR = 60 * MINUTE
const DAY = 24 * HOUR

/** The morning the payments rules were switched from warn to enforce: after the debug shell (day 25). */
const PAYMENTS_ENFORCED_ON = 26
const PAYMENTS_RULE = 'payments-pod-security'

/** The configuration in force on a model day: the payments rules only warned before they were enforced. */
function enforcementOn(modelDay: number): EnforcementConfig {
  if (modelDay >= PAYMENTS_ENFORCED_ON) return DEMO_ENFORCEMENT
  return {
    ...DEMO_ENFORCEMENT,
    rules: DEMO_ENFORCEMENT.rules.map((r) =>
      r.name === PAYMENTS_RULE ? { ...r, mode: 'warn' as const } : r,
    ),
  }
}

/** Who sends a request, as the API server's authenticator says it. */
interface Actor {
  readonly username: string
  readonly groups: readonly string[]
  readonly fieldManager: string
}

function serviceAccount(namespace: string, name: string, fieldManager: string): Actor {
  return {
    username: `system:serviceaccount:${namespace}:${name}`,
    groups: ['system:serviceaccounts', `system:serviceaccounts:${namespace}`, 'system:authenticated'],
    fieldManager,
  }
}

const controller = (name: string) => serviceAccount('kube-system', name, 'kube-controller-manager')
const DEPLOYMENT_CONTROLLER = controller('deployment-controller')
const REPLICASET_CONTROLLER = controller('replicaset-controller')
const STATEFULSET_CONTROLLER = controller('statefulset-controller')
const DAEMONSET_CONTROLLER = controller('daemon-set-controller')
const CRONJOB_CONTROLLER = controller('cronjob-controller')
const JOB_CONTROLLER = controller('job-controller')

const person = (username: string, group: string): Actor => ({
  username,
  groups: [group, 'system:authenticated'],
  fieldManager: 'kubectl',
})
const ALICE = person('alice@example.com', 'sre-oncall')
const BOB = person('bob@example.com', 'payments-devs')
const CAROL = person('carol@example.com', 'data-team')
const DAVE = person('dave@example.com', 'search-devs')

/** What each team's pipeline deploys with, and how many builds it ships on a working day. */
interface Pipeline {
  readonly actor: Actor
  readonly builds: readonly [number, number]
  /** Argo CD: a failed sync is retried with a backoff (else a person re-runs the pipeline once) */
  readonly argo?: boolean
  /** the workload the team is busy with: a share of the builds */
  readonly favourite?: { readonly name: string; readonly share: number }
}

const PIPELINES: Record<string, Pipeline> = {
  payments: { actor: serviceAccount('payments', 'deployer', 'kubectl-client-side-apply'), builds: [2, 4] },
  shop: { actor: serviceAccount('shop', 'deployer', 'kubectl-client-side-apply'), builds: [3, 5] },
  search: { actor: serviceAccount('search', 'deployer', 'kubectl-client-side-apply'), builds: [1, 3] },
  data: {
    actor: serviceAccount('argocd', 'argocd-application-controller', 'argocd-controller'),
    builds: [1, 3],
    argo: true,
    // The airflow upgrade: every sync of the workers is refused (their docker socket).
    favourite: { name: 'airflow-worker', share: 0.2 },
  },
  platform: { actor: serviceAccount('platform-ci', 'deployer', 'kubectl-client-side-apply'), builds: [0, 2] },
}

/** Argo CD's sync retries (its retry.limit) */
const ARGO_RETRIES = 3

/** The cluster's nodes, for DaemonSet pods. */
const NODES = 6

/** Weights of the UTC hours at which the autoscalers scale out: payments in the morning, the shop in the evening. */
const PAYMENTS_LOAD = [0, 0, 0, 0, 0, 0, 1, 3, 6, 8, 6, 4, 3, 3, 3, 2, 2, 1, 1, 0, 0, 0, 0, 0]
const SHOP_LOAD = [0, 0, 0, 0, 0, 0, 0, 1, 1, 2, 2, 3, 4, 3, 2, 2, 3, 5, 8, 9, 7, 3, 1, 0]

const PLURALS: Record<string, string> = {
  Deployment: 'deployments',
  StatefulSet: 'statefulsets',
  DaemonSet: 'daemonsets',
  ReplicaSet: 'replicasets',
  CronJob: 'cronjobs',
  Job: 'jobs',
  Pod: 'pods',
  ConfigMap: 'configmaps',
  Service: 'services',
  ServiceAccount: 'serviceaccounts',
  Ingress: 'ingresses',
  NetworkPolicy: 'networkpolicies',
  PodDisruptionBudget: 'poddisruptionbudgets',
  HorizontalPodAutoscaler: 'horizontalpodautoscalers',
  Role: 'roles',
  RoleBinding: 'rolebindings',
  ClusterRole: 'clusterroles',
  ClusterRoleBinding: 'clusterrolebindings',
  Namespace: 'namespaces',
}

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v)
const meta = (o: Obj): Obj => (isObj(o.metadata) ? o.metadata : {})
const nameOf = (o: Obj) => String(meta(o).name ?? '')
const namespaceOf = (o: Obj) => String(meta(o).namespace ?? '')
const keyOf = (o: Obj) => `${o.kind}/${namespaceOf(o)}/${nameOf(o)}`
const spec = (o: Obj): Obj => (isObj(o.spec) ? o.spec : {})
const templateOf = (o: Obj): Obj => (isObj(spec(o).template) ? (spec(o).template as Obj) : {})
const labelsOf = (o: Obj): Record<string, string> =>
  isObj(meta(o).labels) ? (meta(o).labels as Record<string, string>) : {}

/** A short, stable hash of a text, in the alphabet Kubernetes uses for generated names. */
function shortHash(text: string, length = 10): string {
  let h = 0x811c9dc5
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0
  let out = ''
  for (let i = 0; i < length; i++) {
    out += NAME_ALPHABET[h % NAME_ALPHABET.length]
    h = Math.imul(h ^ (h >>> 13), 0x5bd1e995) >>> 0
  }
  return out
}

const between = (random: Random, lo: number, hi: number) => lo + Math.floor(random() * (hi - lo + 1))

function pick<T>(random: Random, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)]!
}

/**
 * The objects of some YAML sources. The estate writes a document per object, the same text for the
 * same object from one day to the next (and from a repository to the cluster): each is parsed once.
 */
function objectParser(): (texts: readonly string[]) => Obj[] {
  const parsed = new Map<string, Obj | undefined>()
  return (texts) =>
    texts.flatMap((text) =>
      text.split(/^---\n/m).flatMap((doc) => {
        if (!parsed.has(doc)) {
          const object = load(doc, { schema: KUBERNETES_YAML_SCHEMA })
          parsed.set(doc, isObj(object) ? object : undefined)
        }
        const object = parsed.get(doc)
        return object ? [object] : []
      }),
    )
}

/** `M H * * *` with H a number or `*\/n`: the times of a day a CronJob starts a Job. */
function scheduleOn(schedule: unknown, dayStart: number): number[] {
  const [minute, hour, ...rest] = String(schedule ?? '').split(' ')
  if (rest.length !== 3 || rest.some((f) => f !== '*') || !/^\d+$/.test(minute ?? '')) return []
  const hours = /^\d+$/.test(hour ?? '')
    ? [Number(hour)]
    : /^\*\/\d+$/.test(hour ?? '')
      ? Array.from({ length: 24 }, (_, h) => h).filter((h) => h % Number(hour!.slice(2)) === 0)
      : []
  return hours.map((h) => dayStart + h * HOUR + Number(minute) * MINUTE)
}

/** A copy of a workload with a pod-template annotation set: a new build, a restart. */
function withTemplateAnnotation(o: Obj, key: string, value: string): Obj {
  // Copied along the path only: objects are never changed in place.
  const template = templateOf(o)
  const tmeta = meta(template)
  const annotations = { ...((tmeta.annotations as Obj | undefined) ?? {}), [key]: value }
  return {
    ...o,
    spec: { ...spec(o), template: { ...template, metadata: { ...tmeta, annotations } } },
  }
}

const WORKLOADS = ['Deployment', 'StatefulSet', 'DaemonSet', 'CronJob']
/** The pod-template annotation a pipeline sets to the commit it deploys. */
const COMMIT = 'deploy.example.com/commit'
/** The annotations of the last deploy, carried onto the estate's object of a later day. */
const CARRIED = [COMMIT, 'kubectl.kubernetes.io/restartedAt']
function carryAnnotations(next: Obj, previous: Obj | undefined): Obj {
  const annotations = previous ? (meta(templateOf(previous)).annotations as Obj | undefined) : undefined
  if (!annotations) return next
  let out = next
  for (const key of CARRIED)
    if (typeof annotations[key] === 'string')
      out = withTemplateAnnotation(out, key, annotations[key] as string)
  return out
}

interface Owner {
  readonly apiVersion: string
  readonly kind: string
  readonly name: string
  readonly uid: string
}

/** A Pod as a controller makes it from a template: named by it (`name`) or by the API server. */
function podOf(
  template: Obj,
  namespace: string,
  owner: Owner,
  name: { name: string } | { generateName: string; generated: string },
  labels: Record<string, string> = {},
): Obj {
  const tmeta = meta(template)
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      ...('name' in name ? { name: name.name } : { generateName: name.generateName, name: name.generated }),
      namespace,
      labels: { ...((tmeta.labels as Obj | undefined) ?? {}), ...labels },
      ...(tmeta.annotations ? { annotations: tmeta.annotations } : {}),
      ownerReferences: [{ ...owner, controller: true, blockOwnerDeletion: true }],
    },
    spec: isObj(template.spec) ? template.spec : {},
  }
}

const MADE_UP = new Set(['name', 'uid', 'creationTimestamp', 'resourceVersion', 'generation'])
const withoutMadeUp = (o: Obj | null) =>
  o && { ...o, metadata: Object.fromEntries(Object.entries(meta(o)).filter(([k]) => !MADE_UP.has(k))) }

/** What a decision depends on: the request, but for what the API server makes up. */
function decisionKey(date: string, r: AdmissionRequest): string {
  const generateName = r.object && meta(r.object).generateName
  return JSON.stringify([
    date,
    r.operation,
    r.kind,
    r.subResource,
    r.namespace,
    typeof generateName === 'string' ? `${generateName}*` : r.name,
    r.userInfo.username,
    r.userInfo.groups,
    withoutMadeUp(r.object),
    withoutMadeUp(r.oldObject),
  ])
}

/**
 * A request to make. Its name is the object's: for a CREATE with generateName, the name the API
 * server generated, which validating webhooks are sent (it is generated before they are called).
 */
interface Call {
  readonly actor: Actor
  readonly operation: 'CREATE' | 'UPDATE'
  readonly object: Obj
  readonly oldObject?: Obj
}

/** One recorded (or left out) decision's verdict: what the caller acts on. */
type Sent = 'allowed' | 'denied'

export async function demoAdmissions(options: AdmissionSeedOptions = {}): Promise<AdmissionRecord[]> {
  const days = options.days ?? 7
  if (!Number.isInteger(days) || days < 1) throw new Error(`days must be a positive integer, not ${days}`)
  const now = (options.now ?? new Date()).getTime()
  const today = new Date(now).toISOString().slice(0, 10)
  const lastDay = options.lastDay ?? today
  const estate = options.estate ?? demoEstate(MODEL_DAYS, { lastDay })
  const library = options.library ?? loadLibrary()
  // As `webhook serve` builds it.
  const engine = new Engine(
    library.checks,
    library.podTemplates,
    { version: LATEST_VERSION },
    library.foreign,
  )
  const random = seededRandom(DEMO_SEED + 7)
  const records: AdmissionRecord[] = []
  const recorder = new DecisionRecorder({
    cluster: CLUSTER_TARGET,
    write: async (batch) => {
      records.push(...batch)
    },
    capacity: Number.MAX_SAFE_INTEGER,
    flushEveryMs: DAY,
  })
  const parse = objectParser()
  const wanted = new Map<string, boolean>()
  const uids = new Map<string, string>()
  const uidOf = (key: string) => {
    let uid = uids.get(key)
    if (!uid) {
      uid = uuid(random)
      uids.set(key, uid)
    }
    return uid
  }
  let resourceVersion = 48_112_907

  const inputsByDay = new Map<number, TargetInput[]>()
  const inputsOf = (day: number) => {
    let inputs = inputsByDay.get(day)
    if (!inputs) {
      inputs = options.inputs?.(day) ?? estate.inputs(day)
      inputsByDay.set(day, inputs)
    }
    return inputs
  }
  // Decisions on requests that differ only in what the API server makes up (generated names, uids,
  // times) are the same: each is made once.
  const decided = new Map<string, Decision>()

  const estateDay = (date: string) => {
    const back = Math.round((Date.parse(`${lastDay}T00:00:00Z`) - Date.parse(`${date}T00:00:00Z`)) / DAY)
    return Math.min(estate.days - 1, Math.max(0, estate.days - 1 - back))
  }

  // The objects as they are in the cluster now, updated by what is admitted.
  let live = new Map<string, Obj>()
  /** whether the debug shell has been refused yet (the first working day it can be, it is) */
  let refused = false
  const revisions = new Map<string, number>()

  for (let k = 0; k < days; k++) {
    const date = dateAfter(today, k - (days - 1))
    const dayStart = Date.parse(`${date}T00:00:00Z`)
    const e = estateDay(date)
    const modelDay = estate.modelDay(e)
    const setup: ValidationSetup = {
      engine,
      enforcement: enforcementOn(modelDay),
      exceptions: { rules: [], today: date },
    }
    const inputs = inputsOf(e)
    const cluster = parse(inputs.find((i) => i.target === CLUSTER_TARGET)!.sources.map((s) => s.text))
    const previous = e > 0 ? inputsOf(e - 1).find((i) => i.target === CLUSTER_TARGET) : undefined
    const before = new Set(parse(previous?.sources.map((s) => s.text) ?? []).map(keyOf))
    const repos = new Map(
      inputs
        .filter((i) => i.team)
        .map((i) => [
          i.team!,
          parse(i.sources.map((s) => s.text)).filter((o) => o.apiVersion !== 'policy/v1beta1'),
        ]),
    )
    // The cluster as the estate says, with what people made by hand that the estate does not know.
    const nextLive = new Map([...live].filter(([, o]) => o.kind === 'ConfigMap'))
    for (const o of cluster) nextLive.set(keyOf(o), carryAnnotations(o, live.get(keyOf(o))))
    live = nextLive
    const weekend = [0, 6].includes(new Date(dayStart).getUTCDay())

    // Events in time order; an event may add later ones (a rollout's pods).
    // Latest first: the next event is the last. One at the same time as others goes after them.
    const queue: { at: number; run: (at: number) => void }[] = []
    const at = (time: number, run: (at: number) => void) => {
      if (time > now) return
      let lo = 0
      let hi = queue.length
      while (lo < hi) {
        const mid = (lo + hi) >> 1
        if (queue[mid]!.at > time) lo = mid + 1
        else hi = mid
      }
      queue.splice(lo, 0, { at: time, run })
    }

    /** The request as the API server sends it, read as the webhook reads it; undefined if never sent. */
    const reviewOf = (call: Call, time: number): AdmissionRequest | undefined => {
      const [group, version] = String(call.object.apiVersion).includes('/')
        ? String(call.object.apiVersion).split('/')
        : ['', String(call.object.apiVersion)]
      const kind = String(call.object.kind)
      const resource = PLURALS[kind] ?? `${kind.toLowerCase()}s`
      const served = { group: group!, version: version!, kind, resource }
      const wantedKey = `${group}/${kind}`
      if (!wanted.has(wantedKey)) wanted.set(wantedKey, engine.wantsKind(served))
      if (!wanted.get(wantedKey)) return undefined
      const namespace = namespaceOf(call.object)
      const { exemptions } = setup.enforcement
      // `webhook manifest` leaves these in the API server: a matchCondition, a namespaceSelector.
      if (exemptions.usernames.includes(call.actor.username)) return undefined
      if (exemptions.namespaces.some((n) => !hasWildcard(n) && n === namespace)) return undefined
      const key = keyOf(call.object)
      const stored = (o: Obj, generation: number): Obj => ({
        ...o,
        metadata: {
          ...meta(o),
          uid: uidOf(key),
          resourceVersion: String(resourceVersion),
          generation,
          creationTimestamp: `${dateAfter(date, -40 - (uidOf(key).charCodeAt(0) % 20))}T09:12:44Z`,
        },
      })
      resourceVersion += between(random, 3, 400)
      const generation = between(random, 2, 80)
      const object =
        call.operation === 'UPDATE'
          ? stored(call.object, generation + 1)
          : {
              ...call.object,
              metadata: {
                ...meta(call.object),
                uid: uidOf(key),
                creationTimestamp: new Date(time).toISOString().replace(/\.\d+Z$/, 'Z'),
              },
            }
      const review = {
        apiVersion: 'admission.k8s.io/v1',
        kind: 'AdmissionReview',
        request: {
          uid: uuid(random),
          kind: { group, version, kind },
          resource: { group, version, resource },
          requestKind: { group, version, kind },
          requestResource: { group, version, resource },
          name: nameOf(call.object),
          ...(namespace ? { namespace } : {}),
          operation: call.operation,
          userInfo: {
            username: call.actor.username,
            uid: uidOf(`user:${call.actor.username}`),
            groups: call.actor.groups,
          },
          object,
          oldObject: call.oldObject ? stored(call.oldObject, generation) : null,
          dryRun: false,
          options: {
            apiVersion: 'meta.k8s.io/v1',
            kind: call.operation === 'CREATE' ? 'CreateOptions' : 'UpdateOptions',
            fieldManager: call.actor.fieldManager,
          },
        },
      }
      const parsed = parseReview(JSON.stringify(review))
      if (!parsed.ok) throw new Error(`demo admissions: a malformed review: ${parsed.message}`)
      return parsed.request
    }

    /** Sends a request (if the webhook would get it), records the decision, and says what it was. */
    const send = (call: Call, time: number): Sent => {
      const request = reviewOf(call, time)
      if (!request) {
        live.set(keyOf(call.object), call.object)
        return 'allowed'
      }
      const key = options.reuseDecisions === false ? undefined : decisionKey(date, request)
      let decision = key === undefined ? undefined : decided.get(key)
      if (!decision) {
        decision = decideValidation(setup, request)
        if (key !== undefined) decided.set(key, decision)
      }
      recorder.record(request, decision, new Date(time))
      if (!decision.verdict.allowed) return 'denied'
      live.set(keyOf(call.object), call.object)
      return 'allowed'
    }

    const later = (time: number, lo: number, hi: number) => time + between(random, lo, hi)

    /** What the controllers do after a workload is admitted. */
    const rollOut = (workload: Obj, time: number) => {
      const key = keyOf(workload)
      const namespace = namespaceOf(workload)
      const name = nameOf(workload)
      const template = templateOf(workload)
      const owner = (kind: string, ownerName: string, apiVersion = 'apps/v1'): Owner => ({
        apiVersion,
        kind,
        name: ownerName,
        uid: uidOf(`${kind}/${namespace}/${ownerName}`),
      })
      const replicas = Number(spec(workload).replicas ?? 1)
      if (workload.kind === 'Deployment') {
        const revision = (revisions.get(key) ?? between(random, 8, 60)) + 1
        revisions.set(key, revision)
        const hash = shortHash(JSON.stringify(template))
        const rsName = `${name}-${hash}`
        const podLabels = { ...labelsOf(template), 'pod-template-hash': hash }
        const rsTemplate = { ...template, metadata: { ...meta(template), labels: podLabels } }
        const rs: Obj = {
          apiVersion: 'apps/v1',
          kind: 'ReplicaSet',
          metadata: {
            name: rsName,
            namespace,
            labels: podLabels,
            annotations: {
              ...((meta(workload).annotations as Obj | undefined) ?? {}),
              'deployment.kubernetes.io/desired-replicas': String(replicas),
              'deployment.kubernetes.io/max-replicas': String(replicas + 1),
              'deployment.kubernetes.io/revision': String(revision),
            },
            ownerReferences: [{ ...owner('Deployment', name), controller: true, blockOwnerDeletion: true }],
          },
          spec: {
            replicas,
            selector: {
              matchLabels: {
                ...(spec(workload).selector as { matchLabels?: Obj })?.matchLabels,
                'pod-template-hash': hash,
              },
            },
            template: rsTemplate,
          },
        }
        const created = later(time, 1 * SECOND, 3 * SECOND)
        at(created, (t) => {
          if (send({ actor: DEPLOYMENT_CONTROLLER, operation: 'CREATE', object: rs }, t) === 'denied') return
          let podAt = t
          for (let i = 0; i < replicas; i++) {
            podAt = later(podAt, 1 * SECOND, 25 * SECOND)
            at(podAt, (pt) => replicaSetPod(rsTemplate, namespace, owner('ReplicaSet', rsName), rsName, pt))
          }
        })
      } else if (workload.kind === 'StatefulSet') {
        let podAt = time
        const revision = `${name}-${shortHash(JSON.stringify(template))}`
        for (let i = replicas - 1; i >= 0; i--) {
          podAt = later(podAt, 15 * SECOND, 70 * SECOND)
          const pod = podOf(
            template,
            namespace,
            owner('StatefulSet', name),
            { name: `${name}-${i}` },
            {
              'apps.kubernetes.io/pod-index': String(i),
              'controller-revision-hash': revision,
              'statefulset.kubernetes.io/pod-name': `${name}-${i}`,
            },
          )
          at(podAt, (t) => send({ actor: STATEFULSET_CONTROLLER, operation: 'CREATE', object: pod }, t))
        }
      } else if (workload.kind === 'DaemonSet') {
        let podAt = time
        for (let i = 0; i < NODES; i++) {
          podAt = later(podAt, 10 * SECOND, 60 * SECOND)
          at(podAt, (t) => daemonSetPod(workload, t))
        }
      }
    }

    const replicaSetPod = (template: Obj, namespace: string, owner: Owner, rsName: string, time: number) => {
      const generated = `${rsName}-${randomSuffix(random)}`
      const pod = podOf(template, namespace, owner, { generateName: `${rsName}-`, generated })
      send({ actor: REPLICASET_CONTROLLER, operation: 'CREATE', object: pod }, time)
    }

    const daemonSetPod = (ds: Obj, time: number) => {
      const name = nameOf(ds)
      const template = templateOf(ds)
      const owner = { apiVersion: 'apps/v1', kind: 'DaemonSet', name, uid: uidOf(keyOf(ds)) }
      const hash = shortHash(JSON.stringify(template))
      const pod = podOf(
        template,
        namespaceOf(ds),
        owner,
        { generateName: `${name}-`, generated: `${name}-${randomSuffix(random)}` },
        { 'controller-revision-hash': hash, 'pod-template-generation': String(1 + (hash.charCodeAt(0) % 9)) },
      )
      send({ actor: DAEMONSET_CONTROLLER, operation: 'CREATE', object: pod }, time)
    }

    /** A workload applied: its request, then (if admitted) what the controllers do. */
    const apply = (actor: Actor, object: Obj, time: number): Sent => {
      const old = live.get(keyOf(object))
      const verdict = send(
        { actor, operation: old ? 'UPDATE' : 'CREATE', object, ...(old ? { oldObject: old } : {}) },
        time,
      )
      if (verdict === 'allowed' && ['Deployment', 'StatefulSet', 'DaemonSet'].includes(String(object.kind)))
        rollOut(object, time)
      return verdict
    }

    // --- the teams' pipelines -------------------------------------------------------------------
    for (const [team, pipeline] of Object.entries(PIPELINES)) {
      const repo = repos.get(team) ?? []
      const workloads = repo.filter((o) => WORKLOADS.includes(String(o.kind)))
      if (workloads.length === 0) continue
      // What was merged since the last deploy goes out in one run; then the day's builds.
      const changed = repo.filter((o) => {
        const current = live.get(keyOf(o))
        return !current || JSON.stringify(carryAnnotations(o, current)) !== JSON.stringify(current)
      })
      const builds = weekend ? (random() < 0.15 ? 1 : 0) : between(random, ...pipeline.builds)
      const runs: Obj[][] = []
      if (changed.length > 0) runs.push(changed)
      for (let b = 0; b < builds; b++) {
        const favourite = pipeline.favourite && workloads.find((o) => nameOf(o) === pipeline.favourite!.name)
        runs.push([favourite && random() < pipeline.favourite!.share ? favourite : pick(random, workloads)])
      }
      for (const [r, objects] of runs.entries()) {
        const start = timeOn(random, dayStart, WORKING_HOURS)
        const commit = shortHash(`${team}/${date}/${r}`, 7)
        const run = (objects: readonly Obj[], attempt: number) => (time: number) => {
          let t = time
          const denied: Obj[] = []
          for (const o of objects) {
            t = later(t, 300, 2 * SECOND)
            // The repository's object, as built from this run's commit.
            const object = WORKLOADS.includes(String(o.kind))
              ? withTemplateAnnotation(carryAnnotations(o, live.get(keyOf(o))), COMMIT, commit)
              : o
            if (apply(pipeline.actor, object, t) === 'denied') denied.push(o)
          }
          if (denied.length === 0) return
          // What was refused is tried again: by Argo CD with its backoff; by someone re-running the
          // pipeline, once, a little later.
          if (pipeline.argo && attempt < ARGO_RETRIES)
            at(t + 5 * SECOND * 2 ** attempt, run(denied, attempt + 1))
          else if (!pipeline.argo && attempt === 0) at(later(t, 12 * MINUTE, 50 * MINUTE), run(denied, 1))
        }
        at(start, run(objects, 0))
      }
    }

    const cronJob = (cj: Obj, scheduled: number, actor: Actor, time: number, manualName?: string) => {
      const jobTemplate = isObj(spec(cj).jobTemplate) ? (spec(cj).jobTemplate as Obj) : {}
      const name = manualName ?? `${nameOf(cj)}-${Math.floor(scheduled / MINUTE)}`
      const namespace = namespaceOf(cj)
      const job: Obj = {
        apiVersion: 'batch/v1',
        kind: 'Job',
        metadata: {
          name,
          namespace,
          ...(manualName
            ? { annotations: { 'cronjob.kubernetes.io/instantiate': 'manual' } }
            : {
                annotations: {
                  'batch.kubernetes.io/cronjob-scheduled-timestamp': new Date(scheduled)
                    .toISOString()
                    .replace(/\.\d+Z$/, 'Z'),
                },
              }),
          ownerReferences: [
            {
              apiVersion: 'batch/v1',
              kind: 'CronJob',
              name: nameOf(cj),
              uid: uidOf(keyOf(cj)),
              controller: true,
              ...(manualName ? {} : { blockOwnerDeletion: true }),
            },
          ],
        },
        spec: isObj(jobTemplate.spec) ? jobTemplate.spec : {},
      }
      if (send({ actor, operation: 'CREATE', object: job }, time) === 'denied') return
      const template = templateOf(job)
      const jobUid = uidOf(keyOf(job))
      const pod = podOf(
        template,
        namespace,
        { apiVersion: 'batch/v1', kind: 'Job', name, uid: jobUid },
        { generateName: `${name}-`, generated: `${name}-${randomSuffix(random)}` },
        {
          'batch.kubernetes.io/controller-uid': jobUid,
          'batch.kubernetes.io/job-name': name,
          'controller-uid': jobUid,
          'job-name': name,
        },
      )
      at(later(time, 200, 1500), (t) => send({ actor: JOB_CONTROLLER, operation: 'CREATE', object: pod }, t))
    }

    // --- the controllers on their own -----------------------------------------------------------
    for (const o of live.values()) {
      if (o.kind === 'CronJob') {
        for (const scheduled of scheduleOn(spec(o).schedule, dayStart)) {
          at(later(scheduled, 0, 2 * SECOND), (t) => cronJob(o, scheduled, CRONJOB_CONTROLLER, t))
        }
      }
      if (o.kind === 'Deployment' && live.has(`HorizontalPodAutoscaler/${namespaceOf(o)}/${nameOf(o)}`)) {
        const load =
          namespaceOf(o) === 'shop'
            ? SHOP_LOAD
            : namespaceOf(o).startsWith('payments')
              ? PAYMENTS_LOAD
              : WORKING_HOURS
        const scaleOuts = weekend && namespaceOf(o) !== 'shop' ? between(random, 0, 1) : between(random, 1, 4)
        for (let i = 0; i < scaleOuts; i++) {
          const start = timeOn(random, dayStart, load)
          const pods = between(random, 1, 3)
          at(start, (t) => {
            const current = live.get(keyOf(o)) ?? o
            const template = templateOf(current)
            const hash = shortHash(JSON.stringify(template))
            const rsName = `${nameOf(o)}-${hash}`
            const rsTemplate = {
              ...template,
              metadata: { ...meta(template), labels: { ...labelsOf(template), 'pod-template-hash': hash } },
            }
            const owner = {
              apiVersion: 'apps/v1',
              kind: 'ReplicaSet',
              name: rsName,
              uid: uidOf(`ReplicaSet/${namespaceOf(o)}/${rsName}`),
            }
            let pt = t
            for (let p = 0; p < pods; p++) {
              pt = later(pt, 200, 3 * SECOND)
              at(pt, (ptt) => replicaSetPod(rsTemplate, namespaceOf(o), owner, rsName, ptt))
            }
          })
        }
      }
    }
    // New nodes from the cluster autoscaler: a pod of every DaemonSet on each.
    const nodes = weekend ? between(random, 0, 2) : between(random, 2, 5)
    for (let n = 0; n < nodes; n++) {
      const start = timeOn(random, dayStart, ANY_HOUR)
      at(start, (t) => {
        let pt = t
        for (const ds of [...live.values()].filter((o) => o.kind === 'DaemonSet')) {
          pt = later(pt, 2 * SECOND, 20 * SECOND)
          at(pt, (dt) => daemonSetPod(live.get(keyOf(ds)) ?? ds, dt))
        }
      })
    }

    // --- people with kubectl --------------------------------------------------------------------
    const deployments = [...live.values()].filter((o) => o.kind === 'Deployment')
    // Pods someone started by hand: the estate's debug shell, created the day it appears.
    for (const o of cluster)
      if (o.kind === 'Pod' && !meta(o).ownerReferences && !before.has(keyOf(o)))
        at(timeOn(random, dayStart, WORKING_HOURS), (t) =>
          send({ actor: { ...ALICE, fieldManager: 'kubectl-run' }, operation: 'CREATE', object: o }, t),
        )
    if (!weekend) {
      // Restarts by the on-call engineer.
      for (let i = between(random, 0, 2); i > 0; i--) {
        const d = pick(random, deployments)
        at(timeOn(random, dayStart, WORKING_HOURS), (t) => {
          const current = live.get(keyOf(d)) ?? d
          const restarted = withTemplateAnnotation(
            current,
            'kubectl.kubernetes.io/restartedAt',
            new Date(t).toISOString().replace(/\.\d+Z$/, 'Z'),
          )
          apply({ ...ALICE, fieldManager: 'kubectl-rollout' }, restarted, t)
        })
      }
      // A shell to look around, in whichever namespace the page was about. `--image=busybox` is
      // unpinned: refused in the shop, where it is tried again with a tag.
      for (let i = random() < 0.3 ? 2 : random() < 0.7 ? 1 : 0; i > 0; i--) {
        const who = pick(random, [ALICE, ALICE, BOB, CAROL, DAVE])
        const namespace =
          who === BOB
            ? 'payments'
            : who === CAROL
              ? 'analytics'
              : who === DAVE
                ? 'search'
                : pick(random, SHELL_NAMESPACES)
        const [image, pinned] = pick(random, SHELL_IMAGES)
        const name = `${image.split('/').at(-1)}-${randomSuffix(random)}`
        const actor = { ...who, fieldManager: 'kubectl-run' }
        at(timeOn(random, dayStart, WORKING_HOURS), (t) => {
          if (send({ actor, operation: 'CREATE', object: shellPod(name, namespace, image) }, t) === 'allowed')
            return
          at(later(t, 30 * SECOND, 3 * MINUTE), (t2) =>
            send({ actor, operation: 'CREATE', object: shellPod(name, namespace, `${image}:${pinned}`) }, t2),
          )
        })
      }
      // After the payments rules were enforced, the debug shell again: refused, then refused without
      // `privileged` (it still wants the host's processes), then a plain shell.
      if (modelDay >= PAYMENTS_ENFORCED_ON && (!refused || random() < 0.5)) {
        refused = true
        const t0 = timeOn(random, dayStart, WORKING_HOURS)
        const actor = { ...ALICE, fieldManager: 'kubectl-run' }
        at(t0, (t) => {
          if (send({ actor, operation: 'CREATE', object: debugShell(true, true) }, t) === 'allowed') return
          const retries = between(random, 0, 2)
          let rt = t
          for (let r = 0; r < retries; r++) {
            rt = later(rt, 20 * SECOND, 90 * SECOND)
            at(rt, (tt) => send({ actor, operation: 'CREATE', object: debugShell(true, true) }, tt))
          }
          at(later(rt, 2 * MINUTE, 6 * MINUTE), (t2) => {
            if (send({ actor, operation: 'CREATE', object: debugShell(false, true) }, t2) === 'allowed')
              return
            at(later(t2, 1 * MINUTE, 4 * MINUTE), (t3) =>
              send({ actor, operation: 'CREATE', object: debugShell(false, false) }, t3),
            )
          })
        })
      }
      // Payments reruns a settlement by hand.
      const settlement = live.get('CronJob/payments-batch/settlement')
      if (settlement && random() < 0.4)
        at(timeOn(random, dayStart, WORKING_HOURS), (t) =>
          cronJob(
            settlement,
            t,
            { ...BOB, fieldManager: 'kubectl-create' },
            t,
            `settlement-manual-${randomSuffix(random, 3)}`,
          ),
        )
      // The data team: a configuration change, and now and then more airflow workers (refused: the
      // docker socket).
      const worker = live.get('StatefulSet/data-pipeline/airflow-worker')
      if (worker && random() < 0.35)
        at(timeOn(random, dayStart, WORKING_HOURS), (t) => {
          const current = live.get(keyOf(worker)) ?? worker
          const more = {
            ...current,
            spec: { ...spec(current), replicas: Number(spec(current).replicas ?? 1) + 1 },
          }
          if (apply({ ...CAROL, fieldManager: 'kubectl-edit' }, more, t) === 'denied')
            at(later(t, 30 * SECOND, 3 * MINUTE), (t2) =>
              apply({ ...CAROL, fieldManager: 'kubectl-edit' }, more, t2),
            )
        })
      if (random() < 0.5) {
        const namespace = pick(random, ['analytics', 'data-pipeline'])
        at(timeOn(random, dayStart, WORKING_HOURS), (t) => {
          const object = {
            apiVersion: 'v1',
            kind: 'ConfigMap',
            metadata: {
              name: namespace === 'analytics' ? 'export-queries' : 'airflow-variables',
              namespace,
              labels: { team: 'data' },
            },
            data: { 'updated-at': date, batch_size: String(between(random, 2, 20) * 500) },
          }
          const old = live.get(keyOf(object))
          send(
            {
              actor: { ...CAROL, fieldManager: 'kubectl-client-side-apply' },
              operation: old ? 'UPDATE' : 'CREATE',
              object,
              ...(old ? { oldObject: old } : {}),
            },
            t,
          )
        })
      }
      // Search tries a ranker build by hand.
      const ranker = live.get('Deployment/search/ranker')
      if (ranker && random() < 0.3)
        at(timeOn(random, dayStart, WORKING_HOURS), (t) => {
          const current = live.get(keyOf(ranker)) ?? ranker
          apply(
            { ...DAVE, fieldManager: 'kubectl-set' },
            withTemplateAnnotation(current, COMMIT, randomSuffix(random, 7)),
            t,
          )
        })
    }

    for (let event = queue.pop(); event; event = queue.pop()) event.run(event.at)
  }
  await recorder.close()
  return records
}

/** Where the on-call engineer looks around, and the images people start shells with (and their tag). */
const SHELL_NAMESPACES = ['shop', 'shop', 'search', 'data-pipeline', 'monitoring', 'payments']
const SHELL_IMAGES: readonly (readonly [string, string])[] = [
  ['busybox', '1.36'],
  ['nicolaka/netshoot', 'v0.13'],
  ['curlimages/curl', '8.8.0'],
  ['alpine', '3.20'],
]

function shellPod(name: string, namespace: string, image: string): Obj {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace, labels: { run: name } },
    spec: {
      containers: [{ name, image, command: ['sleep', '3600'], stdin: true, tty: true }],
      restartPolicy: 'Never',
    },
  }
}

function debugShell(privileged: boolean, hostPID: boolean): Obj {
  const pod = shellPod('debug-shell', 'payments', 'busybox:1.36')
  const podSpec = spec(pod)
  if (hostPID) podSpec.hostPID = true
  if (privileged) (podSpec.containers as Obj[])[0]!.securityContext = { privileged: true }
  meta(pod).labels = { run: 'debug-shell', team: 'payments' }
  return pod
}

/** Writes the week's decisions into the store; says how many, by outcome. */
export async function seedAdmissions(
  store: Store,
  options: AdmissionSeedOptions = {},
): Promise<AdmissionSeedSummary> {
  const records = await demoAdmissions(options)
  await recordAdmissions(store, records)
  const outcomes = Object.fromEntries(ADMISSION_OUTCOMES.map((o) => [o, 0])) as Record<
    AdmissionOutcome,
    number
  >
  for (const r of records) outcomes[r.outcome] += r.weight
  return { decisions: records.length, outcomes, from: records[0]?.at ?? '', to: records.at(-1)?.at ?? '' }
}
