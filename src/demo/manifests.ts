/**
 * Turns a unit of the demo plan into Kubernetes objects as they stand on a given day: a hardened,
 * well-formed manifest, minus whatever its defects undo that day, plus the exception annotations added
 * by then. Without defects, a unit passes every built-in check.
 */
import { exceptionAnnotation } from '../policy/exceptions.js'
import type { Defect, NamespacePlan, UnitPlan } from './plan.js'
import { dateAfter, has as hasDefect, type Timed } from './timeline.js'

export type KubeObject = Record<string, unknown>

const LONG_RUNNING = new Set(['Deployment', 'StatefulSet', 'DaemonSet'])
const REPLICATED = new Set(['Deployment', 'StatefulSet'])

/** Everything a unit's objects are built from on one day. */
interface Context {
  unit: UnitPlan
  team: string
  has: (defect: Defect) => boolean
  /** defects the unit has at some point, fixed or not */
  ever: (defect: Defect) => boolean
  annotations: Record<string, string> | undefined
}

/** `lastDay`: the date of the demo's last day (YYYY-MM-DD), which exceptions' expiry dates count from. */
function contextOf(item: Timed<UnitPlan>, day: number, lastDay: string): Context {
  const annotations: Record<string, string> = {}
  for (const e of item.plan.exceptions ?? []) {
    if (day < e.on) continue
    for (const check of e.checks) {
      const key = exceptionAnnotation(check)
      annotations[key] = e.reason
      if (e.owner !== undefined) annotations[`${key}.owner`] = e.owner
      if (e.expiresIn !== undefined) annotations[`${key}.expires`] = dateAfter(lastDay, e.expiresIn)
    }
  }
  return {
    unit: item.plan,
    team: item.team,
    has: (d) => hasDefect(item, d, day),
    ever: (d) => item.defects.has(d),
    annotations: Object.keys(annotations).length > 0 ? annotations : undefined,
  }
}

function metadata(c: Context, name = c.unit.name): KubeObject {
  return {
    name,
    ...(c.unit.namespace ? { namespace: c.unit.namespace } : {}),
    labels: {
      'app.kubernetes.io/name': c.unit.name,
      'app.kubernetes.io/part-of': c.team,
      team: c.team,
    },
    ...(c.annotations ? { annotations: { ...c.annotations } } : {}),
  }
}

const podSelector = (c: Context) => ({ 'app.kubernetes.io/name': c.unit.name })
const portName = (c: Context) => c.unit.portName ?? 'http'

function probe(c: Context, path: string): KubeObject {
  if (c.unit.port === undefined) return { exec: { command: ['/bin/sh', '-c', 'test -f /tmp/healthy'] } }
  return portName(c) === 'http' ? { httpGet: { path, port: 'http' } } : { tcpSocket: { port: portName(c) } }
}

function securityContext(c: Context): KubeObject | undefined {
  const sc: KubeObject = c.has('no-hardening')
    ? {}
    : {
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: !c.has('writable-root'),
        capabilities: { drop: ['ALL'], ...(c.has('net-admin') ? { add: ['NET_ADMIN'] } : {}) },
      }
  if (c.has('privileged')) Object.assign(sc, { privileged: true, allowPrivilegeEscalation: true })
  return Object.keys(sc).length > 0 ? sc : undefined
}

function container(c: Context): KubeObject {
  const { unit } = c
  const env: KubeObject[] = [{ name: 'LOG_LEVEL', value: 'info' }]
  if (c.ever('creds-in-env')) {
    env.push(
      c.has('creds-in-env')
        ? { name: 'DB_PASSWORD', value: 'changeme-2023' }
        : { name: 'DB_PASSWORD', valueFrom: { secretKeyRef: { name: `${unit.name}-db`, key: 'password' } } },
    )
  }
  const resources: KubeObject = {}
  if (!c.has('no-requests')) resources.requests = { cpu: '100m', memory: '256Mi' }
  if (!c.has('no-limits')) resources.limits = { memory: '512Mi' }
  const mounts: KubeObject[] = [{ name: 'tmp', mountPath: '/tmp' }]
  if (c.has('host-path')) {
    mounts.push({ name: 'host', mountPath: `/host${unit.hostPath}`, readOnly: !c.has('writable-host-mount') })
  }
  if (c.has('docker-socket')) mounts.push({ name: 'docker-sock', mountPath: '/var/run/docker.sock' })
  const sc = securityContext(c)
  const probes =
    LONG_RUNNING.has(unit.kind) && !c.has('no-probes')
      ? {
          readinessProbe: probe(c, '/readyz'),
          livenessProbe: { ...probe(c, '/healthz'), initialDelaySeconds: 10 },
        }
      : {}
  return {
    name: unit.name,
    image: `${unit.image}:${c.has('latest-tag') ? 'latest' : unit.version}`,
    imagePullPolicy: 'IfNotPresent',
    ...(unit.port !== undefined
      ? {
          ports: [
            {
              name: portName(c),
              containerPort: unit.port,
              ...(c.has('host-port') ? { hostPort: unit.port } : {}),
            },
          ],
        }
      : {}),
    env,
    ...(sc ? { securityContext: sc } : {}),
    ...(Object.keys(resources).length > 0 ? { resources } : {}),
    ...probes,
    volumeMounts: mounts,
  }
}

function replicas(c: Context): number {
  return c.has('single-replica') ? 1 : Math.max(2, c.unit.replicas ?? 2)
}

function podSpec(c: Context): KubeObject {
  const { unit } = c
  const spec: KubeObject = {}
  if (!c.has('default-sa')) spec.serviceAccountName = unit.name
  spec.automountServiceAccountToken = false
  if (LONG_RUNNING.has(unit.kind)) {
    spec.priorityClassName = unit.kind === 'DaemonSet' ? 'system-node-critical' : `${c.team}-standard`
  }
  if (c.has('host-network')) spec.hostNetwork = true
  if (c.has('host-pid')) spec.hostPID = true
  if (!c.has('no-hardening')) {
    spec.securityContext = {
      ...(c.has('run-as-root')
        ? { runAsUser: 0 }
        : { runAsNonRoot: true, runAsUser: 10001, runAsGroup: 10001, fsGroup: 10001 }),
      ...(c.has('no-seccomp') ? {} : { seccompProfile: { type: 'RuntimeDefault' } }),
    }
  }
  if (REPLICATED.has(unit.kind) && replicas(c) >= 2 && !c.has('no-spread')) {
    spec.topologySpreadConstraints = [
      {
        maxSkew: 1,
        topologyKey: 'topology.kubernetes.io/zone',
        whenUnsatisfiable: 'ScheduleAnyway',
        labelSelector: { matchLabels: podSelector(c) },
      },
    ]
  }
  if (unit.kind === 'CronJob' || unit.kind === 'Job') spec.restartPolicy = 'OnFailure'
  if (unit.kind === 'Pod') spec.restartPolicy = 'Never'
  spec.containers = [container(c)]
  const volumes: KubeObject[] = [{ name: 'tmp', emptyDir: {} }]
  if (c.has('host-path')) volumes.push({ name: 'host', hostPath: { path: unit.hostPath } })
  if (c.has('docker-socket')) {
    volumes.push({ name: 'docker-sock', hostPath: { path: '/var/run/docker.sock', type: 'Socket' } })
  }
  spec.volumes = volumes
  return spec
}

function template(c: Context): KubeObject {
  return { metadata: { labels: { ...podSelector(c), team: c.team } }, spec: podSpec(c) }
}

function workload(c: Context): KubeObject {
  const { unit } = c
  const meta = metadata(c)
  switch (unit.kind) {
    case 'Deployment':
      return {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: meta,
        spec: { replicas: replicas(c), selector: { matchLabels: podSelector(c) }, template: template(c) },
      }
    case 'StatefulSet':
      return {
        apiVersion: 'apps/v1',
        kind: 'StatefulSet',
        metadata: meta,
        spec: {
          serviceName: unit.name,
          replicas: replicas(c),
          selector: { matchLabels: podSelector(c) },
          template: template(c),
        },
      }
    case 'DaemonSet':
      return {
        apiVersion: 'apps/v1',
        kind: 'DaemonSet',
        metadata: meta,
        spec: {
          selector: { matchLabels: podSelector(c) },
          updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '10%' } },
          template: template(c),
        },
      }
    case 'CronJob':
      return {
        apiVersion: 'batch/v1',
        kind: 'CronJob',
        metadata: meta,
        spec: {
          schedule: unit.schedule,
          ...(c.has('no-deadline') ? {} : { startingDeadlineSeconds: 600 }),
          concurrencyPolicy: 'Forbid',
          jobTemplate: { spec: { backoffLimit: 2, ttlSecondsAfterFinished: 86400, template: template(c) } },
        },
      }
    case 'Job':
      return {
        apiVersion: 'batch/v1',
        kind: 'Job',
        metadata: meta,
        spec: {
          backoffLimit: 2,
          ...(c.has('no-ttl') ? {} : { ttlSecondsAfterFinished: 86400 }),
          template: template(c),
        },
      }
    default:
      return { apiVersion: 'v1', kind: 'Pod', metadata: meta, spec: podSpec(c) }
  }
}

function service(c: Context): KubeObject {
  const { unit } = c
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: metadata(c),
    spec: {
      ...(c.has('load-balancer') ? { type: 'LoadBalancer' } : {}),
      ...(unit.kind === 'StatefulSet' ? { clusterIP: 'None' } : {}),
      // The typo: the label the pods carried before the move to app.kubernetes.io/name.
      selector: c.has('service-typo') ? { app: unit.name } : podSelector(c),
      ports: [{ name: portName(c), port: unit.port, targetPort: portName(c) }],
    },
  }
}

function companions(c: Context): KubeObject[] {
  const { unit } = c
  const out: KubeObject[] = []
  if (!c.has('default-sa')) {
    out.push({
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: metadata(c),
      automountServiceAccountToken: false,
    })
  }
  out.push(workload(c))
  if (unit.port !== undefined && LONG_RUNNING.has(unit.kind)) out.push(service(c))
  if (unit.ingress) {
    out.push({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'Ingress',
      metadata: metadata(c),
      spec: {
        ingressClassName: 'nginx',
        ...(c.has('ingress-no-tls')
          ? {}
          : { tls: [{ hosts: [unit.ingress], secretName: `${unit.name}-tls` }] }),
        rules: [
          {
            host: unit.ingress,
            http: {
              paths: [
                {
                  path: '/',
                  pathType: 'Prefix',
                  backend: { service: { name: unit.name, port: { name: portName(c) } } },
                },
              ],
            },
          },
        ],
      },
    })
  }
  if (REPLICATED.has(unit.kind) && replicas(c) >= 2 && !c.has('no-pdb')) {
    out.push({
      apiVersion: c.has('old-api') ? 'policy/v1beta1' : 'policy/v1',
      kind: 'PodDisruptionBudget',
      metadata: metadata(c),
      spec: { maxUnavailable: 1, selector: { matchLabels: podSelector(c) } },
    })
  }
  if (unit.hpa !== undefined) {
    out.push({
      apiVersion: 'autoscaling/v2',
      kind: 'HorizontalPodAutoscaler',
      metadata: metadata(c),
      spec: {
        scaleTargetRef: { apiVersion: 'apps/v1', kind: unit.kind, name: unit.name },
        minReplicas: c.has('hpa-min-1') ? 1 : replicas(c),
        maxReplicas: unit.hpa,
        metrics: [
          {
            type: 'Resource',
            resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } },
          },
        ],
      },
    })
  }
  return out
}

function subjectOf(subject: string): KubeObject {
  if (subject.startsWith('group:')) {
    return { kind: 'Group', name: subject.slice('group:'.length), apiGroup: 'rbac.authorization.k8s.io' }
  }
  const [namespace, name] = subject.split('/')
  return { kind: 'ServiceAccount', name, namespace }
}

function role(c: Context): KubeObject[] {
  const rules: KubeObject[] = c.has('wildcard-role')
    ? [{ apiGroups: ['*'], resources: ['*'], verbs: ['*'] }]
    : [
        { apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'list', 'watch'] },
        { apiGroups: ['batch'], resources: ['jobs'], verbs: ['get', 'list', 'watch', 'create', 'delete'] },
      ]
  rules.push(
    c.has('secrets-read')
      ? { apiGroups: [''], resources: ['secrets'], verbs: ['get', 'list', 'watch'] }
      : {
          apiGroups: [''],
          resources: ['secrets'],
          resourceNames: [`${c.unit.name}-credentials`],
          verbs: ['get'],
        },
  )
  return [
    { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: metadata(c), rules },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: metadata(c),
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: c.unit.name },
      subjects: [subjectOf(c.unit.subject ?? '')],
    },
  ]
}

function clusterRoleBinding(c: Context): KubeObject[] {
  const admin = c.has('cluster-admin')
  const binding = {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRoleBinding',
    metadata: metadata(c),
    roleRef: {
      apiGroup: 'rbac.authorization.k8s.io',
      kind: 'ClusterRole',
      name: admin ? 'cluster-admin' : c.unit.name,
    },
    subjects: [subjectOf(c.unit.subject ?? '')],
  }
  if (admin) return [binding]
  const verbs = ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete']
  return [
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: metadata(c),
      rules: [
        { apiGroups: ['apps'], resources: ['deployments', 'statefulsets', 'daemonsets'], verbs },
        { apiGroups: [''], resources: ['services', 'configmaps', 'serviceaccounts'], verbs },
        { apiGroups: ['networking.k8s.io'], resources: ['ingresses', 'networkpolicies'], verbs },
      ],
    },
    binding,
  ]
}

/** The unit's objects on that day; none on a day it does not exist. */
export function unitObjects(item: Timed<UnitPlan>, day: number, lastDay: string): KubeObject[] {
  const c = contextOf(item, day, lastDay)
  switch (item.plan.kind) {
    case 'Service':
      return [service(c)]
    case 'Role':
      return role(c)
    case 'ClusterRoleBinding':
      return clusterRoleBinding(c)
    default:
      return companions(c)
  }
}

/** A namespace with its Pod Security labels and, unless a defect says otherwise, a default deny. */
export function namespaceObjects(item: Timed<NamespacePlan>, day: number): KubeObject[] {
  const { name } = item.plan
  const labels = { team: item.team }
  const out: KubeObject[] = [
    {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: {
        name,
        labels: {
          ...labels,
          'pod-security.kubernetes.io/warn': 'restricted',
          'pod-security.kubernetes.io/audit': 'restricted',
        },
      },
    },
  ]
  if (!hasDefect(item, 'no-netpol', day)) {
    out.push(
      {
        apiVersion: 'networking.k8s.io/v1',
        kind: 'NetworkPolicy',
        metadata: { name: 'default-deny-ingress', namespace: name, labels },
        spec: { podSelector: {}, policyTypes: ['Ingress'] },
      },
      {
        apiVersion: 'networking.k8s.io/v1',
        kind: 'NetworkPolicy',
        metadata: { name: 'allow-same-namespace', namespace: name, labels },
        spec: { podSelector: {}, policyTypes: ['Ingress'], ingress: [{ from: [{ podSelector: {} }] }] },
      },
    )
  }
  return out
}
