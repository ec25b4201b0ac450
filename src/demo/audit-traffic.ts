/**
 * A week of the demo cluster's API traffic as its audit log: audit.k8s.io/v1 Events, written the way
 * kube-apiserver writes them (shared/corpus/kube-apiserver/06-audit) under the demo's audit policy,
 * which is applied by the local control plane's own policy checker (src/control-plane/audit-policy.ts):
 * the level decides whether the request body is logged (Secrets only ever at Metadata, so a Secret's
 * value never reaches the log), RequestReceived is left out, the controllers' and kubelets' watches
 * are not logged. Long-running requests (watch, exec) give ResponseStarted and ResponseComplete.
 *
 * Who does what, from the estate's objects of the last day (its namespaces, Deployments, DaemonSets,
 * CronJobs): the controllers of kube-controller-manager, the scheduler, the kubelets of the nodes the
 * autoscaler adds, the ingress controller and Prometheus with their informers, Argo CD, the teams' CI
 * deployers applying Deployments, and four people with kubectl in working hours (the on-call engineer
 * every day). Then the incidents of the last day and a half (DEMO_AUDIT_INCIDENTS). Deterministic: the
 * same `now` gives the same events, byte for byte, none after `now`.
 */
import { load } from 'js-yaml'
import type { AuditEvent } from '../audit/types.js'
import { microTime } from '../control-plane/audit.js'
import {
  type AuditPolicy,
  evaluatePolicy,
  levelAtLeast,
  parseAuditPolicy,
} from '../control-plane/audit-policy.js'
import { KUBERNETES_YAML_SCHEMA } from '../resources/yaml-schema.js'
import { CLUSTER_TARGET, type DemoEstate, demoEstate, type TargetInput } from './estate.js'
import { MODEL_DAYS } from './plan.js'
import { ANY_HOUR, type Random, randomSuffix, seededRandom, timeOn, uuid, WORKING_HOURS } from './prng.js'
import { DEMO_SEED } from './timeline.js'

type Obj = Record<string, unknown>

const SECOND = 1000
const MINUTE = 60 * SECOND
const HOUR = 60 * MINUTE
const DAY = 24 * HOUR

/** The demo cluster's audit policy: what a team running it would write (a trimmed GKE-style policy). */
export const DEMO_AUDIT_POLICY = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
  # the controllers' and kubelets' informers would be most of the log
  - level: None
    userGroups: ['system:serviceaccounts:kube-system', 'system:nodes']
    verbs: [watch]
  - level: None
    resources:
      - group: coordination.k8s.io
        resources: [leases]
      - group: ''
        resources: [events]
  - level: None
    nonResourceURLs: ['/healthz*', '/livez*', '/readyz*', '/metrics']
  # never a Secret's value, nor a token
  - level: Metadata
    resources:
      - group: ''
        resources: [secrets, serviceaccounts/token]
  # the bodies of what changes workloads, access and exposure
  - level: Request
    verbs: [create, update, patch]
    resources:
      - group: ''
        resources: [pods, pods/ephemeralcontainers, services, configmaps, serviceaccounts]
      - group: apps
        resources: [deployments, statefulsets, daemonsets, replicasets]
      - group: batch
        resources: [jobs, cronjobs]
      - group: rbac.authorization.k8s.io
        resources: [roles, rolebindings, clusterroles, clusterrolebindings]
  - level: Metadata
`

/** Who sends a request, as the API server's authenticator says it, and from where. */
interface Actor {
  readonly username: string
  readonly groups: readonly string[]
  readonly ip: string
  readonly userAgent: string
  /** the RBAC binding that allows it: the authorization.k8s.io/reason annotation */
  readonly binding: string
}

interface Call {
  readonly at: number
  readonly actor: Actor
  readonly verb: string
  readonly resource: string
  readonly group?: string
  readonly namespace?: string
  readonly name?: string
  readonly subresource?: string
  readonly query?: string
  /** the answer (default: 201 for create, 200 else, 101 for exec) */
  readonly code?: number
  /** how long the request took, ms (a watch or exec stream: its whole length) */
  readonly ms?: number
  readonly body?: Obj
  /** refused by authorization (403, decision forbid) */
  readonly forbidden?: boolean
  /** a path that names no resource (/version, /api) */
  readonly path?: string
}

/** One of the scripted incidents: what a test (and a reader of the dashboard) should find. */
export interface DemoIncident {
  readonly id: string
  /** the rule (Plimsoll's built-in audit rule id, or the anomaly rule) expected to detect it */
  readonly rules: readonly string[]
  readonly user: string
  readonly namespace?: string
  readonly what: string
}

const KCM_UA = 'kube-controller-manager/v1.31.4 (linux/amd64) kubernetes/a78aa47'
const CONTROL_PLANE_IP = '10.0.0.10'
const OFFICE = '192.0.2'

function controller(name: string): Actor {
  return {
    username: `system:serviceaccount:kube-system:${name}`,
    groups: ['system:serviceaccounts', 'system:serviceaccounts:kube-system', 'system:authenticated'],
    ip: CONTROL_PLANE_IP,
    userAgent: `${KCM_UA}/system:serviceaccount:kube-system:${name}`,
    binding: `RBAC: allowed by ClusterRoleBinding "system:controller:${name}" of ClusterRole "system:controller:${name}" to ServiceAccount "${name}/kube-system"`,
  }
}

function serviceAccount(
  namespace: string,
  name: string,
  ip: string,
  userAgent: string,
  binding: string,
): Actor {
  return {
    username: `system:serviceaccount:${namespace}:${name}`,
    groups: ['system:serviceaccounts', `system:serviceaccounts:${namespace}`, 'system:authenticated'],
    ip,
    userAgent,
    binding: `RBAC: allowed by ${binding} to ServiceAccount "${name}/${namespace}"`,
  }
}

const KUBECTL_MAC = 'kubectl/v1.31.2 (darwin/arm64) kubernetes/5864a46'
const KUBECTL_LINUX = 'kubectl/v1.30.5 (linux/amd64) kubernetes/74e84a9'

function person(username: string, group: string, host: number, userAgent: string, binding: string): Actor {
  return {
    username,
    groups: [group, 'system:authenticated'],
    ip: `${OFFICE}.${host}`,
    userAgent,
    binding: `RBAC: allowed by ${binding} to Group "${group}"`,
  }
}

const DEPLOYMENT_CONTROLLER = controller('deployment-controller')
const REPLICASET_CONTROLLER = controller('replicaset-controller')
const DAEMONSET_CONTROLLER = controller('daemon-set-controller')
const CRONJOB_CONTROLLER = controller('cronjob-controller')
const JOB_CONTROLLER = controller('job-controller')
const HPA_CONTROLLER = controller('horizontal-pod-autoscaler')
const GC_CONTROLLER = controller('generic-garbage-collector')
const SCHEDULER: Actor = {
  username: 'system:kube-scheduler',
  groups: ['system:authenticated'],
  ip: CONTROL_PLANE_IP,
  userAgent: 'kube-scheduler/v1.31.4 (linux/amd64) kubernetes/a78aa47/scheduler',
  binding:
    'RBAC: allowed by ClusterRoleBinding "system:kube-scheduler" of ClusterRole "system:kube-scheduler" to User "system:kube-scheduler"',
}
const INGRESS = serviceAccount(
  'ingress-nginx',
  'ingress-nginx',
  '10.244.1.12',
  'nginx-ingress-controller/v1.11.3 (linux/amd64) ingress-nginx/be8b5e5a4d3f5aa8e4d9e5c0b3c0b1d7c1f2e3d4',
  'ClusterRoleBinding "ingress-nginx" of ClusterRole "ingress-nginx"',
)
const PROMETHEUS = serviceAccount(
  'monitoring',
  'prometheus',
  '10.244.2.31',
  'Prometheus/2.53.1',
  'ClusterRoleBinding "prometheus" of ClusterRole "prometheus"',
)
const ARGOCD = serviceAccount(
  'argocd',
  'argocd-application-controller',
  '10.244.4.9',
  'argocd-application-controller/v2.12.4+1bc8f9e (linux/amd64) kubernetes/$Format',
  'RoleBinding "argocd-application-controller" of ClusterRole "admin"',
)
const RECOMMENDATIONS = serviceAccount(
  'shop',
  'recommendations',
  '10.244.3.17',
  'recommendations/2.4.1 python-kubernetes/30.1.0',
  'RoleBinding "recommendations" of Role "config-reader"',
)
const deployer = (namespace: string) =>
  serviceAccount(
    namespace,
    'deployer',
    '10.8.0.21',
    'kubectl/v1.30.5 (linux/amd64) kubernetes/74e84a9',
    `RoleBinding "deployer" of ClusterRole "edit"`,
  )
const DEPLOYERS: Record<string, Actor> = {
  payments: deployer('payments'),
  shop: deployer('shop'),
  search: deployer('search'),
  'platform-ci': {
    ...deployer('platform-ci'),
    binding:
      'RBAC: allowed by ClusterRoleBinding "ci-deployer" of ClusterRole "edit" to ServiceAccount "deployer/platform-ci"',
  },
}
/** Which deployer ships which namespace's Deployments (Argo CD: the data team's). */
const SHIPPED_BY: Record<string, string> = {
  payments: 'payments',
  'payments-batch': 'payments',
  shop: 'shop',
  search: 'search',
  monitoring: 'platform-ci',
  'ingress-nginx': 'platform-ci',
}

const ALICE = person(
  'alice@example.com',
  'sre-oncall',
  14,
  KUBECTL_MAC,
  'ClusterRoleBinding "sre-break-glass" of ClusterRole "cluster-admin"',
)
const BOB = person(
  'bob@example.com',
  'payments-devs',
  31,
  KUBECTL_MAC,
  'RoleBinding "payments-devs" of ClusterRole "edit"',
)
const CAROL = person(
  'carol@example.com',
  'data-team',
  52,
  KUBECTL_LINUX,
  'RoleBinding "data-team" of ClusterRole "edit"',
)
const DAVE = person(
  'dave@example.com',
  'search-devs',
  77,
  KUBECTL_MAC,
  'RoleBinding "search-devs" of ClusterRole "edit"',
)
const HOME_NAMESPACES: ReadonlyMap<Actor, readonly string[]> = new Map([
  [ALICE, ['shop', 'search', 'monitoring', 'ingress-nginx', 'payments', 'data-pipeline']],
  [BOB, ['payments', 'payments-batch']],
  [CAROL, ['data-pipeline', 'analytics']],
  [DAVE, ['search']],
])

/** The incidents, as they are scripted below. */
export const DEMO_AUDIT_INCIDENTS: readonly DemoIncident[] = [
  {
    id: 'exec-in-production',
    rules: ['pod-exec-attach'],
    user: BOB.username,
    namespace: 'payments',
    what: 'a shell in a payments API pod',
  },
  {
    id: 'privileged-host-network-pod',
    rules: ['privileged-pod-created', 'host-namespace-pod-created'],
    user: DAVE.username,
    namespace: 'search',
    what: 'a privileged debug pod on the host network',
  },
  {
    id: 'nodeport-service',
    rules: ['nodeport-service'],
    user: DAVE.username,
    namespace: 'search',
    what: 'OpenSearch exposed on every node',
  },
  {
    id: 'configmap-credential-key',
    rules: ['configmap-with-credentials'],
    user: CAROL.username,
    namespace: 'analytics',
    what: 'a ConfigMap with a password key',
  },
  {
    id: 'anonymous-probing',
    rules: ['unauthorized-request'],
    user: 'system:anonymous',
    what: 'requests without credentials from the internet, refused',
  },
  {
    id: 'secrets-listed-across-namespaces',
    rules: ['secret-read'],
    user: RECOMMENDATIONS.username,
    namespace: 'payments',
    what: "the shop's recommendations service account lists the payments Secrets",
  },
  {
    id: 'new-address-and-client',
    rules: ['anomaly: first source address range', 'anomaly: first client'],
    user: ALICE.username,
    what: "the on-call engineer's account from an unknown address, with curl",
  },
  {
    id: 'cluster-admin-granted',
    rules: ['cluster-admin-binding'],
    user: ALICE.username,
    what: 'a ClusterRoleBinding to cluster-admin, from that address',
  },
]

/** Values written into Secrets (which the policy logs at Metadata): never to be found in the store. */
export const DEMO_SECRET_VALUES: readonly string[] = [
  'ZGVtby1sZWRnZXItZGItcGFzc3dvcmQtbm90LXJlYWw=',
  'ZGVtby1zdHJpcGUta2V5LW5vdC1yZWFs',
]

export interface AuditTrafficOptions {
  /** no event after it (default: now) */
  now?: Date
  /** days of traffic (default 7) */
  days?: number
  /** the estate whose last day's objects the traffic is about (default: a month ending today) */
  estate?: DemoEstate
  /** the estate's inputs of a day, when they are at hand */
  inputs?: (day: number) => TargetInput[]
}

export interface AuditTraffic {
  /** in the order the API server sends them (stageTimestamp) */
  events: AuditEvent[]
  /** requests made (some are not logged: the policy's level None) */
  requests: number
  from: string
  to: string
}

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v)
const metaOf = (o: Obj): Obj => (isObj(o.metadata) ? o.metadata : {})
const specOf = (o: Obj): Obj => (isObj(o.spec) ? o.spec : {})

function uriOf(c: Call): string {
  if (c.path) return c.path
  const version = c.group ? `/apis/${c.group}/v1` : '/api/v1'
  const ns = c.namespace ? `/namespaces/${c.namespace}` : ''
  const named = c.verb !== 'create' && c.verb !== 'list' && c.verb !== 'watch' && c.name
  const sub = c.subresource ? `/${c.subresource}` : ''
  const name = named || c.subresource ? `/${c.name}` : ''
  return `${version}${ns}/${c.resource}${name}${sub}${c.query ? `?${c.query}` : ''}`
}

/** The events the API server writes for a call under the policy (none at level None). */
function eventsOf(policy: AuditPolicy, c: Call, auditID: string, random: Random): AuditEvent[] {
  const user = { username: c.actor.username, groups: [...c.actor.groups] }
  const attrs = c.path
    ? ({ kind: 'nonResource', user, verb: c.verb, path: c.path } as const)
    : ({
        kind: 'resource',
        user,
        verb: c.verb,
        group: c.group ?? '',
        resource: c.resource,
        subresource: c.subresource ?? '',
        namespace: c.namespace ?? '',
        name: c.name ?? '',
      } as const)
  const config = evaluatePolicy(policy, attrs)
  if (config.level === 'None') return []
  const code = c.forbidden
    ? 403
    : (c.code ?? (c.subresource === 'exec' ? 101 : c.verb === 'create' ? 201 : 200))
  const received = c.at + random()
  const objectRef: Obj | undefined = c.path
    ? undefined
    : {
        resource: c.resource,
        ...(c.namespace ? { namespace: c.namespace } : {}),
        ...(c.name ? { name: c.name } : {}),
        ...(c.group ? { apiGroup: c.group } : {}),
        apiVersion: 'v1',
        ...(c.subresource ? { subresource: c.subresource } : {}),
      }
  const what = c.path ?? `${c.resource}${c.group ? `.${c.group}` : ''}`
  const responseStatus: Obj = c.forbidden
    ? {
        metadata: {},
        status: 'Failure',
        message: `${what} is forbidden: User "${c.actor.username}" cannot ${c.verb} ${c.path ? `path "${c.path}"` : `resource "${c.resource}" in API group "${c.group ?? ''}"${c.namespace ? ` in the namespace "${c.namespace}"` : ' at the cluster scope'}`}`,
        reason: 'Forbidden',
        details: c.path ? {} : { kind: c.resource },
        code,
      }
    : { metadata: {}, code }
  const write = ['create', 'update', 'patch'].includes(c.verb)
  const base = (stage: string, at: number): AuditEvent => ({
    kind: 'Event',
    apiVersion: 'audit.k8s.io/v1',
    level: config.level,
    auditID,
    stage,
    requestURI: uriOf(c),
    verb: c.verb,
    user,
    sourceIPs: [c.actor.ip],
    userAgent: c.actor.userAgent,
    ...(objectRef ? { objectRef } : {}),
    responseStatus,
    ...(c.body && write && !c.forbidden && levelAtLeast(config.level, 'Request')
      ? { requestObject: c.body }
      : {}),
    requestReceivedTimestamp: microTime(received),
    stageTimestamp: microTime(at),
    annotations: {
      'authorization.k8s.io/decision': c.forbidden ? 'forbid' : 'allow',
      'authorization.k8s.io/reason': c.forbidden ? '' : c.actor.binding,
      ...(c.verb === 'create' && c.resource === 'pods' && !c.subresource && !c.forbidden
        ? { 'pod-security.kubernetes.io/enforce-policy': 'privileged:latest' }
        : {}),
    },
  })
  const stream = c.verb === 'watch' || c.subresource === 'exec'
  const ms = c.ms ?? 2 + random() * 40
  const out: AuditEvent[] = []
  if (stream && !c.forbidden && !config.omitStages.includes('ResponseStarted'))
    out.push(base('ResponseStarted', received + 1 + random() * 3))
  if (!config.omitStages.includes('ResponseComplete')) out.push(base('ResponseComplete', received + ms))
  return out
}

/** The estate's objects in the cluster on its last day. */
function clusterObjects(inputs: TargetInput[]): Obj[] {
  const cluster = inputs.find((i) => i.target === CLUSTER_TARGET)
  return (cluster?.sources ?? []).flatMap((s) =>
    s.text.split(/^---\n/m).flatMap((doc) => {
      const o = load(doc, { schema: KUBERNETES_YAML_SCHEMA })
      return isObj(o) ? [o] : []
    }),
  )
}

/** A Pod as a controller makes it from a workload's template. */
function podFrom(workload: Obj, name: string, ownerKind: string, ownerName: string, node?: string): Obj {
  const template = isObj(specOf(workload).template) ? (specOf(workload).template as Obj) : {}
  const spec = { ...specOf(template), ...(node ? { nodeName: node } : {}) }
  return {
    kind: 'Pod',
    apiVersion: 'v1',
    metadata: {
      generateName: `${ownerName}-`,
      name,
      namespace: metaOf(workload).namespace,
      creationTimestamp: null,
      labels: metaOf(template).labels ?? {},
      ownerReferences: [
        {
          apiVersion: 'apps/v1',
          kind: ownerKind,
          name: ownerName,
          uid: '00000000-0000-4000-8000-000000000000',
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
    },
    spec,
    status: {},
  }
}

export function demoAuditTraffic(options: AuditTrafficOptions = {}): AuditTraffic {
  const days = options.days ?? 7
  const now = (options.now ?? new Date()).getTime()
  const start = now - days * DAY
  const estate =
    options.estate ?? demoEstate(MODEL_DAYS, { lastDay: new Date(now).toISOString().slice(0, 10) })
  const objects = clusterObjects(options.inputs?.(estate.days - 1) ?? estate.inputs(estate.days - 1))
  const policy = parseAuditPolicy(DEMO_AUDIT_POLICY)
  const random = seededRandom(DEMO_SEED + 14)
  const calls: Call[] = []
  const call = (c: Call) => {
    if (c.at >= start && c.at <= now) calls.push(c)
  }
  const ofKind = (kind: string) => objects.filter((o) => o.kind === kind)
  const nameOf = (o: Obj) => String(metaOf(o).name ?? '')
  const nsOf = (o: Obj) => String(metaOf(o).namespace ?? '')
  const deployments = ofKind('Deployment')
  const daemonSets = ofKind('DaemonSet')
  const cronJobs = ofKind('CronJob')
  const rv = () => String(48_112_907 + Math.floor(random() * 9_000_000))
  const watchQuery = () => {
    const seconds = 300 + Math.floor(random() * 300)
    return `allowWatchBookmarks=true&resourceVersion=${rv()}&timeout=${Math.floor(seconds / 60)}m${seconds % 60}s&timeoutSeconds=${seconds}&watch=true`
  }
  const firstDay = Math.floor(start / DAY) * DAY

  // --- informers: the ingress controller, Prometheus, Argo CD: a list, then watches renewed -------------
  const informer = (
    actor: Actor,
    resources: readonly [string, string][],
    namespace: string | undefined,
    every: number,
  ) => {
    for (const [group, resource] of resources) {
      let t = start + random() * every
      call({ at: t, actor, verb: 'list', group, resource, namespace, query: 'limit=500&resourceVersion=0' })
      while (t < now) {
        const length = every * (0.6 + random() * 0.8)
        call({ at: t, actor, verb: 'watch', group, resource, namespace, query: watchQuery(), ms: length })
        t += length + 50 + random() * 200
      }
    }
  }
  informer(
    INGRESS,
    [
      ['', 'secrets'],
      ['networking.k8s.io', 'ingresses'],
      ['discovery.k8s.io', 'endpointslices'],
    ],
    undefined,
    50 * MINUTE,
  )
  informer(
    PROMETHEUS,
    [
      ['', 'pods'],
      ['', 'services'],
    ],
    undefined,
    70 * MINUTE,
  )
  // The ingress controller writes its load balancer's address on the Ingresses now and then.
  for (const ing of ofKind('Ingress'))
    for (let d = firstDay; d < now; d += DAY)
      call({
        at: d + random() * DAY,
        actor: INGRESS,
        verb: 'update',
        group: 'networking.k8s.io',
        resource: 'ingresses',
        namespace: nsOf(ing),
        name: nameOf(ing),
        subresource: 'status',
      })
  // Argo CD reconciles the data team's namespaces every hour.
  const argoNamespaces = ['data-pipeline', 'analytics']
  for (let t = start + random() * HOUR; t < now; t += HOUR + random() * 4 * MINUTE)
    for (const ns of argoNamespaces)
      for (const [group, resource] of [
        ['apps', 'deployments'],
        ['apps', 'statefulsets'],
      ] as const)
        call({
          at: t + random() * 20 * SECOND,
          actor: ARGOCD,
          verb: 'list',
          group,
          resource,
          namespace: ns,
          query: 'limit=500',
        })
  // The recommendations service reads its configuration hourly.
  for (let t = start + random() * HOUR; t < now; t += HOUR + random() * 5 * MINUTE)
    call({
      at: t,
      actor: RECOMMENDATIONS,
      verb: 'get',
      resource: 'configmaps',
      namespace: 'shop',
      name: 'recommendations-config',
    })

  // --- nodes: the autoscaler adds some every day, each gets a pod of every DaemonSet ---------------------
  const nodes: string[] = [
    'ip-10-0-1-23.ec2.internal',
    'ip-10-0-2-41.ec2.internal',
    'ip-10-0-3-17.ec2.internal',
  ]
  const kubelet = (node: string): Actor => ({
    username: `system:node:${node}`,
    groups: ['system:nodes', 'system:authenticated'],
    ip: node.replace(/^ip-(\d+)-(\d+)-(\d+)-(\d+).*$/, '$1.$2.$3.$4'),
    userAgent: `kubelet/v1.31.4 (linux/amd64) kubernetes/a78aa47`,
    binding: '',
  })
  /** A pod scheduled, started by its node's kubelet (which reads its ConfigMaps and Secrets). */
  const started = (pod: Obj, t: number, node: string) => {
    const ns = String(metaOf(pod).namespace)
    const name = String(metaOf(pod).name)
    if (!specOf(pod).nodeName)
      call({
        at: t + 300 + random() * 800,
        actor: SCHEDULER,
        verb: 'create',
        resource: 'pods',
        namespace: ns,
        name,
        subresource: 'binding',
      })
    const k = kubelet(node)
    const volumes = Array.isArray(specOf(pod).volumes) ? (specOf(pod).volumes as Obj[]) : []
    for (const v of volumes) {
      if (isObj(v.configMap))
        call({
          at: t + 1500 + random() * 500,
          actor: k,
          verb: 'get',
          resource: 'configmaps',
          namespace: ns,
          name: String(v.configMap.name),
        })
      if (isObj(v.secret))
        call({
          at: t + 1500 + random() * 500,
          actor: k,
          verb: 'get',
          resource: 'secrets',
          namespace: ns,
          name: String(v.secret.secretName),
        })
    }
    call({
      at: t + 2500 + random() * 4000,
      actor: k,
      verb: 'patch',
      resource: 'pods',
      namespace: ns,
      name,
      subresource: 'status',
    })
  }
  for (let d = firstDay; d < now; d += DAY) {
    const weekend = [0, 6].includes(new Date(d).getUTCDay())
    const added = weekend ? Math.floor(random() * 2) : 1 + Math.floor(random() * 3)
    for (let n = 0; n < added; n++) {
      const t = timeOn(random, d, ANY_HOUR)
      const node = `ip-10-0-${1 + Math.floor(random() * 3)}-${10 + Math.floor(random() * 240)}.ec2.internal`
      if (t < start || t > now) continue
      nodes.push(node)
      let pt = t + 20 * SECOND
      for (const ds of daemonSets) {
        pt += 2 * SECOND + random() * 10 * SECOND
        const pod = podFrom(ds, `${nameOf(ds)}-${randomSuffix(random)}`, 'DaemonSet', nameOf(ds), node)
        call({
          at: pt,
          actor: DAEMONSET_CONTROLLER,
          verb: 'create',
          resource: 'pods',
          namespace: nsOf(ds),
          name: String(metaOf(pod).name),
          body: pod,
        })
        started(pod, pt, node)
        call({
          at: pt + 5 * SECOND,
          actor: DAEMONSET_CONTROLLER,
          verb: 'update',
          group: 'apps',
          resource: 'daemonsets',
          namespace: nsOf(ds),
          name: nameOf(ds),
          subresource: 'status',
        })
      }
    }
  }
  const anyNode = () => nodes[Math.floor(random() * nodes.length)]!

  /** A Deployment rolled out: its new ReplicaSet's pods created, scheduled and started. */
  const rollOut = (dep: Obj, t: number) => {
    const ns = nsOf(dep)
    const rs = `${nameOf(dep)}-${randomSuffix(random, 10)}`
    call({
      at: t + 200,
      actor: DEPLOYMENT_CONTROLLER,
      verb: 'create',
      group: 'apps',
      resource: 'replicasets',
      namespace: ns,
      name: rs,
      body: {
        kind: 'ReplicaSet',
        apiVersion: 'apps/v1',
        metadata: { name: rs, namespace: ns },
        spec: { replicas: specOf(dep).replicas ?? 1 },
      },
    })
    const replicas = Math.min(3, Number(specOf(dep).replicas ?? 1))
    let pt = t + 600
    for (let r = 0; r < replicas; r++) {
      pt += 300 + random() * 2000
      const pod = podFrom(dep, `${rs}-${randomSuffix(random)}`, 'ReplicaSet', rs)
      call({
        at: pt,
        actor: REPLICASET_CONTROLLER,
        verb: 'create',
        resource: 'pods',
        namespace: ns,
        name: String(metaOf(pod).name),
        body: pod,
      })
      started(pod, pt, anyNode())
      call({
        at: pt + 40 * SECOND + random() * 20 * SECOND,
        actor: REPLICASET_CONTROLLER,
        verb: 'delete',
        resource: 'pods',
        namespace: ns,
        name: `${rs.slice(0, -10)}${randomSuffix(random, 10)}-${randomSuffix(random)}`,
      })
    }
    call({
      at: pt + 2 * SECOND,
      actor: DEPLOYMENT_CONTROLLER,
      verb: 'update',
      group: 'apps',
      resource: 'deployments',
      namespace: ns,
      name: nameOf(dep),
      subresource: 'status',
    })
  }

  // --- the pipelines: kubectl apply (a GET, then a PATCH) of a Deployment, a few times a working day -----
  for (let d = firstDay; d < now; d += DAY) {
    const weekend = [0, 6].includes(new Date(d).getUTCDay())
    for (const dep of deployments) {
      const ns = nsOf(dep)
      const shipper = SHIPPED_BY[ns]
      const actor = shipper ? DEPLOYERS[shipper]! : argoNamespaces.includes(ns) ? ARGOCD : undefined
      if (!actor) continue
      const builds = weekend ? (random() < 0.1 ? 1 : 0) : random() < 0.6 ? 1 : random() < 0.5 ? 2 : 0
      for (let b = 0; b < builds; b++) {
        const t = timeOn(random, d, WORKING_HOURS)
        const commit = randomSuffix(random, 7)
        call({
          at: t,
          actor,
          verb: 'get',
          group: 'apps',
          resource: 'deployments',
          namespace: ns,
          name: nameOf(dep),
        })
        call({
          at: t + 150,
          actor,
          verb: 'patch',
          group: 'apps',
          resource: 'deployments',
          namespace: ns,
          name: nameOf(dep),
          query: `fieldManager=${actor === ARGOCD ? 'argocd-controller' : 'kubectl-client-side-apply'}&fieldValidation=Strict`,
          body: {
            spec: { template: { metadata: { annotations: { 'deploy.example.com/commit': commit } } } },
          },
        })
        rollOut(dep, t + 300)
      }
    }
    // The autoscaler looks at the scaled Deployments (every 15 s; one look an hour in the log here).
    for (const hpa of ofKind('HorizontalPodAutoscaler'))
      for (let t = d + random() * HOUR; t < d + DAY; t += HOUR) {
        call({
          at: t,
          actor: HPA_CONTROLLER,
          verb: 'get',
          group: 'apps',
          resource: 'deployments',
          namespace: nsOf(hpa),
          name: nameOf(hpa),
          subresource: 'scale',
        })
        if (random() < 0.15)
          call({
            at: t + 40,
            actor: HPA_CONTROLLER,
            verb: 'update',
            group: 'apps',
            resource: 'deployments',
            namespace: nsOf(hpa),
            name: nameOf(hpa),
            subresource: 'scale',
          })
      }
    // The CronJobs' Jobs (hourly ones every second hour in the log, to keep it short: the rest is alike).
    for (const cj of cronJobs) {
      const [minute, hour] = String(specOf(cj).schedule ?? '').split(' ')
      const hours = /^\d+$/.test(hour ?? '') ? [Number(hour)] : [0, 4, 8, 12, 16, 20]
      for (const h of hours) {
        const t = d + h * HOUR + Number(/^\d+$/.test(minute ?? '') ? minute : 0) * MINUTE + random() * 2000
        const job = `${nameOf(cj)}-${Math.floor(t / MINUTE)}`
        call({
          at: t,
          actor: CRONJOB_CONTROLLER,
          verb: 'create',
          group: 'batch',
          resource: 'jobs',
          namespace: nsOf(cj),
          name: job,
          body: { kind: 'Job', apiVersion: 'batch/v1', metadata: { name: job, namespace: nsOf(cj) } },
        })
        const jobTemplate = isObj(specOf(cj).jobTemplate) ? (specOf(cj).jobTemplate as Obj) : {}
        const pod = podFrom(
          { metadata: { namespace: nsOf(cj) }, spec: specOf(jobTemplate) },
          `${job}-${randomSuffix(random)}`,
          'Job',
          job,
        )
        call({
          at: t + 800,
          actor: JOB_CONTROLLER,
          verb: 'create',
          resource: 'pods',
          namespace: nsOf(cj),
          name: String(metaOf(pod).name),
          body: pod,
        })
        started(pod, t + 800, anyNode())
        call({
          at: t + 3 * HOUR,
          actor: GC_CONTROLLER,
          verb: 'delete',
          group: 'batch',
          resource: 'jobs',
          namespace: nsOf(cj),
          name: job,
        })
      }
    }

    // --- people with kubectl ---------------------------------------------------------------------------
    for (const [who, homes] of HOME_NAMESPACES) {
      if (weekend && who !== ALICE) continue
      const sessions = weekend ? 1 : 2 + Math.floor(random() * 3)
      for (let s = 0; s < sessions; s++) {
        const ns = homes[Math.floor(random() * homes.length)]!
        let t = timeOn(random, d, WORKING_HOURS)
        // kubectl get pods, describe one, read its log
        call({ at: t, actor: who, verb: 'list', resource: 'pods', namespace: ns, query: 'limit=500' })
        const dep = deployments.filter((o) => nsOf(o) === ns)[Math.floor(random() * 3)]
        const pod = dep ? `${nameOf(dep)}-${randomSuffix(random, 10)}-${randomSuffix(random)}` : undefined
        if (pod) {
          t += 20 * SECOND + random() * MINUTE
          call({ at: t, actor: who, verb: 'get', resource: 'pods', namespace: ns, name: pod })
          call({
            at: t + 80,
            actor: who,
            verb: 'list',
            resource: 'events',
            namespace: ns,
            query: `fieldSelector=involvedObject.name%3D${pod}`,
          })
          t += 30 * SECOND + random() * MINUTE
          call({
            at: t,
            actor: who,
            verb: 'get',
            resource: 'pods',
            namespace: ns,
            name: pod,
            subresource: 'log',
            query: 'tailLines=200',
          })
        }
        // the data team opens a shell in an airflow worker to look at a stuck task
        if (who === CAROL && ns === 'data-pipeline' && random() < 0.7) {
          const worker = `airflow-worker-${Math.floor(random() * 3)}`
          call({
            at: t + 2 * MINUTE,
            actor: who,
            verb: 'get',
            resource: 'pods',
            namespace: ns,
            name: worker,
            subresource: 'exec',
            query: 'command=bash&container=worker&stdin=true&stdout=true&tty=true',
            ms: 4 * MINUTE + random() * 10 * MINUTE,
          })
        }
        // the on-call engineer restarts something now and then
        if (who === ALICE && dep && random() < 0.25) {
          call({
            at: t + 3 * MINUTE,
            actor: who,
            verb: 'patch',
            group: 'apps',
            resource: 'deployments',
            namespace: ns,
            name: nameOf(dep),
            query: 'fieldManager=kubectl-rollout',
            body: {
              spec: {
                template: {
                  metadata: {
                    annotations: {
                      'kubectl.kubernetes.io/restartedAt': new Date(t).toISOString().replace(/\.\d+Z$/, 'Z'),
                    },
                  },
                },
              },
            },
          })
          rollOut(dep, t + 3 * MINUTE + 200)
        }
      }
    }
  }
  // The payments pipeline rotates its Secrets on Mondays (logged at Metadata: the values stay out).
  for (let d = firstDay; d < now; d += DAY)
    if (new Date(d).getUTCDay() === 1)
      for (const [i, name] of ['ledger-db', 'stripe'].entries())
        call({
          at: d + 7 * HOUR + i * 2 * SECOND,
          actor: DEPLOYERS.payments!,
          verb: 'update',
          resource: 'secrets',
          namespace: 'payments',
          name,
          body: {
            kind: 'Secret',
            apiVersion: 'v1',
            metadata: { name, namespace: 'payments' },
            type: 'Opaque',
            data: { value: DEMO_SECRET_VALUES[i] },
          },
        })

  // --- the incidents: the last day and a half ---------------------------------------------------------------
  const at = (hoursBefore: number) => now - hoursBefore * HOUR + Math.floor(random() * 10 * MINUTE)
  // Bob opens a shell in a payments API pod, in production.
  const api = deployments.find((o) => nsOf(o) === 'payments') ?? deployments[0]!
  const apiPod = `${nameOf(api)}-${randomSuffix(random, 10)}-${randomSuffix(random)}`
  let t = at(31)
  call({ at: t, actor: BOB, verb: 'get', resource: 'pods', namespace: 'payments', name: apiPod })
  call({
    at: t + 40 * SECOND,
    actor: BOB,
    verb: 'get',
    resource: 'pods',
    namespace: 'payments',
    name: apiPod,
    subresource: 'exec',
    query: `command=sh&container=${nameOf(api)}&stdin=true&stdout=true&tty=true`,
    ms: 11 * MINUTE,
  })
  // Dave starts a privileged pod on the host network to look at the search nodes' traffic, and exposes
  // OpenSearch on every node to reach it from his laptop.
  t = at(27)
  const netshoot = `netshoot-${randomSuffix(random)}`
  call({
    at: t,
    actor: DAVE,
    verb: 'create',
    resource: 'pods',
    namespace: 'search',
    name: netshoot,
    query: 'fieldManager=kubectl-run',
    body: {
      kind: 'Pod',
      apiVersion: 'v1',
      metadata: { name: netshoot, namespace: 'search', creationTimestamp: null, labels: { run: netshoot } },
      spec: {
        hostNetwork: true,
        containers: [
          {
            name: netshoot,
            image: 'nicolaka/netshoot:v0.13',
            command: ['sleep', '3600'],
            securityContext: { privileged: true },
            stdin: true,
            tty: true,
          },
        ],
        restartPolicy: 'Never',
      },
      status: {},
    },
  })
  t = at(21)
  call({
    at: t,
    actor: DAVE,
    verb: 'create',
    resource: 'services',
    namespace: 'search',
    name: 'opensearch-debug',
    query: 'fieldManager=kubectl-expose',
    body: {
      kind: 'Service',
      apiVersion: 'v1',
      metadata: { name: 'opensearch-debug', namespace: 'search', creationTimestamp: null },
      spec: {
        type: 'NodePort',
        selector: { app: 'opensearch' },
        ports: [{ port: 9200, targetPort: 9200, nodePort: 31920, protocol: 'TCP' }],
      },
      status: { loadBalancer: {} },
    },
  })
  // Carol applies the export's settings with the warehouse password's key in a ConfigMap (its value is a
  // placeholder the template never filled in).
  t = at(9)
  call({
    at: t,
    actor: CAROL,
    verb: 'create',
    resource: 'configmaps',
    namespace: 'analytics',
    name: 'export-settings',
    query: 'fieldManager=kubectl-client-side-apply&fieldValidation=Strict',
    body: {
      kind: 'ConfigMap',
      apiVersion: 'v1',
      metadata: { name: 'export-settings', namespace: 'analytics', creationTimestamp: null },
      data: {
        warehouse_host: 'warehouse.internal.example.com',
        warehouse_user: 'export',
        warehouse_password: '{{ .Values.warehouse.password }}',
      },
    },
  })
  // Someone on the internet tries the API server without credentials.
  const scanner: Actor = {
    username: 'system:anonymous',
    groups: ['system:unauthenticated'],
    ip: '198.51.100.23',
    userAgent: 'python-requests/2.31.0',
    binding:
      'RBAC: allowed by ClusterRoleBinding "system:public-info-viewer" of ClusterRole "system:public-info-viewer" to Group "system:unauthenticated"',
  }
  t = at(6)
  call({ at: t, actor: scanner, verb: 'get', resource: '', path: '/version' })
  for (const [i, [group, resource, namespace]] of (
    [
      ['', 'secrets', 'kube-system'],
      ['', 'pods', undefined],
      ['', 'namespaces', undefined],
      ['apps', 'deployments', undefined],
      ['', 'configmaps', 'kube-system'],
      ['rbac.authorization.k8s.io', 'clusterrolebindings', undefined],
      ['', 'nodes', undefined],
      ['', 'serviceaccounts', 'default'],
    ] as const
  ).entries())
    call({
      at: t + (i + 1) * 700,
      actor: scanner,
      verb: 'list',
      group: group || undefined,
      resource,
      namespace,
      forbidden: true,
    })
  // ... and goes on trying, from other addresses of the same network, until now.
  for (let st = t + 10 * MINUTE; st < now; st += 2 * MINUTE + random() * 6 * MINUTE)
    call({
      at: st,
      actor: { ...scanner, ip: `198.51.100.${20 + Math.floor(random() * 12)}` },
      verb: 'list',
      resource: random() < 0.6 ? 'secrets' : 'pods',
      namespace: 'kube-system',
      forbidden: true,
    })
  // The recommendations service account lists the Secrets of payments (a RoleBinding left from a
  // migration lets it), with kubectl, from its pod.
  t = at(4)
  const intruder: Actor = {
    ...RECOMMENDATIONS,
    userAgent: KUBECTL_LINUX,
    binding:
      'RBAC: allowed by RoleBinding "legacy-secrets-reader/payments" of ClusterRole "view-secrets" to ServiceAccount "recommendations/shop"',
  }
  call({
    at: t,
    actor: intruder,
    verb: 'list',
    resource: 'secrets',
    namespace: 'payments',
    query: 'limit=500',
  })
  call({
    at: t + 9 * SECOND,
    actor: intruder,
    verb: 'get',
    resource: 'secrets',
    namespace: 'payments',
    name: 'ledger-db',
  })
  // The on-call engineer's account from an unknown address, with curl: it looks around, then makes
  // itself a lasting way in.
  const stranger: Actor = { ...ALICE, ip: '203.0.113.77', userAgent: 'curl/8.5.0' }
  t = at(2.5)
  call({ at: t, actor: stranger, verb: 'list', resource: 'namespaces' })
  call({ at: t + 20 * SECOND, actor: stranger, verb: 'list', resource: 'secrets', namespace: 'kube-system' })
  call({
    at: t + 3 * MINUTE,
    actor: stranger,
    verb: 'create',
    group: 'rbac.authorization.k8s.io',
    resource: 'clusterrolebindings',
    name: 'system-maintenance',
    body: {
      kind: 'ClusterRoleBinding',
      apiVersion: 'rbac.authorization.k8s.io/v1',
      metadata: { name: 'system-maintenance', creationTimestamp: null },
      subjects: [{ kind: 'ServiceAccount', name: 'default', namespace: 'kube-public' }],
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
    },
  })

  // Every call in time order, then its events in the order the API server sends them.
  calls.sort((a, b) => a.at - b.at)
  const events: AuditEvent[] = []
  for (const c of calls) events.push(...eventsOf(policy, c, uuid(random), random))
  events.sort((a, b) =>
    a.stageTimestamp! < b.stageTimestamp! ? -1 : a.stageTimestamp! > b.stageTimestamp! ? 1 : 0,
  )
  const inRange = events.filter((e) => Date.parse(e.stageTimestamp!) <= now)
  return {
    events: inRange,
    requests: calls.length,
    from: inRange[0]?.stageTimestamp ?? '',
    to: inRange.at(-1)?.stageTimestamp ?? '',
  }
}
