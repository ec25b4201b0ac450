/**
 * A deterministic estate for benches and demos: `generateObjects(count, seed)` returns exactly
 * `count` objects (namespaces first) shaped like a real cluster's: per application a Deployment, its
 * ReplicaSet and Pods (with owner references, status, and the managedFields the controllers and the
 * kubelet leave), a Service, ConfigMaps, a ServiceAccount, a Role and a RoleBinding. Pods come out at
 * 3-5 KB of JSON each, like real ones. The same (count, seed) always gives the same objects.
 */
import { seededRandom as prng } from '../demo/prng.js'
import type { Obj } from './types.js'

const TEAMS = ['payments', 'search', 'checkout', 'identity', 'platform', 'data', 'ml', 'growth']
const APPS = [
  'api',
  'web',
  'worker',
  'gateway',
  'cache',
  'indexer',
  'scheduler',
  'notifier',
  'ledger',
  'auth',
]
const IMAGES = [
  'nginx:1.27',
  'redis:7.2',
  'python:3.12-slim',
  'node:20-alpine',
  'golang:1.23',
  'envoyproxy/envoy:v1.31.0',
]
const BASE = Date.parse('2026-11-01T00:00:00Z')

export function generateObjects(count: number, seed = 1): Obj[] {
  const rnd = prng(seed)
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!
  const hex = (n: number) => {
    let s = ''
    for (let i = 0; i < n; i++) s += Math.floor(rnd() * 16).toString(16)
    return s
  }
  const uid = () => `${hex(8)}-${hex(4)}-4${hex(3)}-a${hex(3)}-${hex(12)}`
  const suffix = (n: number) => {
    const alphabet = 'bcdfghjklmnpqrstvwxz2456789'
    let s = ''
    for (let i = 0; i < n; i++) s += alphabet[Math.floor(rnd() * alphabet.length)]
    return s
  }
  let clock = 0
  const time = () => {
    clock += 1000 + Math.floor(rnd() * 60_000)
    return new Date(BASE + clock).toISOString().replace(/\.\d{3}Z$/, 'Z')
  }
  const ip = () => `10.244.${Math.floor(rnd() * 250)}.${2 + Math.floor(rnd() * 250)}`

  const out: Obj[] = []
  const namespaces = Math.max(1, Math.round(count / 500))
  const nsNames: string[] = []
  for (let i = 0; i < namespaces && out.length < count; i++) {
    const name = `${TEAMS[i % TEAMS.length]}-${String(Math.floor(i / TEAMS.length)).padStart(2, '0')}`
    nsNames.push(name)
    const ts = time()
    out.push({
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: {
        name,
        uid: uid(),
        creationTimestamp: ts,
        labels: {
          'kubernetes.io/metadata.name': name,
          team: TEAMS[i % TEAMS.length]!,
          'pod-security.kubernetes.io/warn': 'restricted',
        },
        managedFields: [
          managed('kubectl-create', 'v1', ts, {
            'f:metadata': { 'f:labels': { '.': {}, 'f:kubernetes.io/metadata.name': {}, 'f:team': {} } },
          }),
        ],
      },
      spec: { finalizers: ['kubernetes'] },
      status: { phase: 'Active' },
    })
  }

  let app = 0
  while (out.length < count) {
    const ns = nsNames[app % nsNames.length]!
    const name = `${pick(APPS)}-${app}`
    const team = ns.split('-')[0]!
    const labels = { app: name, team, 'app.kubernetes.io/part-of': team }
    const image = pick(IMAGES)
    const replicas = 1 + Math.floor(rnd() * 5)
    const push = (o: Obj) => {
      if (out.length < count) out.push(o)
    }
    const created = time()
    const depUid = uid()
    const template = podTemplate(name, labels, image, rnd)
    push({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: {
        name,
        namespace: ns,
        uid: depUid,
        generation: 1,
        creationTimestamp: created,
        labels,
        annotations: {
          'deployment.kubernetes.io/revision': '1',
          'kubectl.kubernetes.io/last-applied-configuration': JSON.stringify({
            apiVersion: 'apps/v1',
            kind: 'Deployment',
            metadata: { name, namespace: ns, labels },
            spec: { replicas, selector: { matchLabels: { app: name } }, template },
          }),
        },
        managedFields: [
          managed('kubectl-client-side-apply', 'apps/v1', created, {
            'f:metadata': {
              'f:annotations': { '.': {}, 'f:kubectl.kubernetes.io/last-applied-configuration': {} },
              'f:labels': { '.': {}, 'f:app': {}, 'f:team': {} },
            },
            'f:spec': {
              'f:replicas': {},
              'f:selector': {},
              'f:template': {
                'f:metadata': { 'f:labels': { '.': {}, 'f:app': {} } },
                'f:spec': { 'f:containers': {} },
              },
            },
          }),
          managed(
            'kube-controller-manager',
            'apps/v1',
            created,
            {
              'f:status': {
                'f:availableReplicas': {},
                'f:conditions': {},
                'f:observedGeneration': {},
                'f:readyReplicas': {},
                'f:replicas': {},
                'f:updatedReplicas': {},
              },
            },
            'status',
          ),
        ],
      },
      spec: {
        replicas,
        selector: { matchLabels: { app: name } },
        template,
        strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '25%', maxSurge: '25%' } },
        revisionHistoryLimit: 10,
        progressDeadlineSeconds: 600,
      },
      status: {
        observedGeneration: 1,
        replicas,
        updatedReplicas: replicas,
        readyReplicas: replicas,
        availableReplicas: replicas,
        conditions: [
          {
            type: 'Available',
            status: 'True',
            lastUpdateTime: created,
            lastTransitionTime: created,
            reason: 'MinimumReplicasAvailable',
            message: 'Deployment has minimum availability.',
          },
          {
            type: 'Progressing',
            status: 'True',
            lastUpdateTime: created,
            lastTransitionTime: created,
            reason: 'NewReplicaSetAvailable',
            message: `ReplicaSet "${name}-${hex(10)}" has successfully progressed.`,
          },
        ],
      },
    })
    const hash = hex(10)
    const rsName = `${name}-${hash}`
    const rsUid = uid()
    push({
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: {
        name: rsName,
        namespace: ns,
        uid: rsUid,
        generation: 1,
        creationTimestamp: created,
        labels: { ...labels, 'pod-template-hash': hash },
        annotations: {
          'deployment.kubernetes.io/desired-replicas': String(replicas),
          'deployment.kubernetes.io/max-replicas': String(replicas + 1),
          'deployment.kubernetes.io/revision': '1',
        },
        ownerReferences: [
          {
            apiVersion: 'apps/v1',
            kind: 'Deployment',
            name,
            uid: depUid,
            controller: true,
            blockOwnerDeletion: true,
          },
        ],
        managedFields: [
          managed('kube-controller-manager', 'apps/v1', created, {
            'f:metadata': { 'f:ownerReferences': { '.': {}, [`k:{"uid":"${depUid}"}`]: {} } },
            'f:spec': { 'f:replicas': {}, 'f:selector': {}, 'f:template': {} },
          }),
        ],
      },
      spec: { replicas, selector: { matchLabels: { app: name, 'pod-template-hash': hash } }, template },
      status: {
        replicas,
        fullyLabeledReplicas: replicas,
        readyReplicas: replicas,
        availableReplicas: replicas,
        observedGeneration: 1,
      },
    })
    for (let r = 0; r < replicas; r++) {
      const podName = `${rsName}-${suffix(5)}`
      const started = time()
      const spec = JSON.parse(JSON.stringify(template.spec)) as Obj
      spec.nodeName = `node-${Math.floor(rnd() * 40)}`
      spec.serviceAccountName = name
      spec.serviceAccount = name
      spec.tolerations = [
        {
          key: 'node.kubernetes.io/not-ready',
          operator: 'Exists',
          effect: 'NoExecute',
          tolerationSeconds: 300,
        },
        {
          key: 'node.kubernetes.io/unreachable',
          operator: 'Exists',
          effect: 'NoExecute',
          tolerationSeconds: 300,
        },
      ]
      spec.priority = 0
      spec.enableServiceLinks = true
      spec.preemptionPolicy = 'PreemptLowerPriority'
      const podIp = ip()
      push({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: {
          name: podName,
          generateName: `${rsName}-`,
          namespace: ns,
          uid: uid(),
          creationTimestamp: started,
          labels: { ...template.metadata.labels, 'pod-template-hash': hash },
          ownerReferences: [
            {
              apiVersion: 'apps/v1',
              kind: 'ReplicaSet',
              name: rsName,
              uid: rsUid,
              controller: true,
              blockOwnerDeletion: true,
            },
          ],
          managedFields: [
            managed('kube-controller-manager', 'v1', started, {
              'f:metadata': {
                'f:generateName': {},
                'f:labels': { '.': {}, 'f:app': {}, 'f:pod-template-hash': {} },
                'f:ownerReferences': { '.': {}, [`k:{"uid":"${rsUid}"}`]: {} },
              },
              'f:spec': {
                'f:containers': {
                  [`k:{"name":"${template.spec.containers[0]!.name}"}`]: {
                    '.': {},
                    'f:image': {},
                    'f:imagePullPolicy': {},
                    'f:livenessProbe': {},
                    'f:name': {},
                    'f:ports': {},
                    'f:readinessProbe': {},
                    'f:resources': {},
                    'f:securityContext': {},
                  },
                },
                'f:dnsPolicy': {},
                'f:enableServiceLinks': {},
                'f:restartPolicy': {},
                'f:schedulerName': {},
                'f:securityContext': {},
                'f:serviceAccount': {},
                'f:serviceAccountName': {},
                'f:terminationGracePeriodSeconds': {},
              },
            }),
            managed(
              'kubelet',
              'v1',
              started,
              {
                'f:status': {
                  'f:conditions': {
                    'k:{"type":"ContainersReady"}': {
                      '.': {},
                      'f:lastProbeTime': {},
                      'f:lastTransitionTime': {},
                      'f:status': {},
                      'f:type': {},
                    },
                    'k:{"type":"Initialized"}': {
                      '.': {},
                      'f:lastProbeTime': {},
                      'f:lastTransitionTime': {},
                      'f:status': {},
                      'f:type': {},
                    },
                    'k:{"type":"Ready"}': {
                      '.': {},
                      'f:lastProbeTime': {},
                      'f:lastTransitionTime': {},
                      'f:status': {},
                      'f:type': {},
                    },
                  },
                  'f:containerStatuses': {},
                  'f:hostIP': {},
                  'f:phase': {},
                  'f:podIP': {},
                  'f:podIPs': { '.': {}, [`k:{"ip":"${podIp}"}`]: { '.': {}, 'f:ip': {} } },
                  'f:startTime': {},
                },
              },
              'status',
            ),
          ],
        },
        spec,
        status: {
          phase: 'Running',
          conditions: [
            'PodReadyToStartContainers',
            'Initialized',
            'Ready',
            'ContainersReady',
            'PodScheduled',
          ].map((type) => ({ type, status: 'True', lastProbeTime: null, lastTransitionTime: started })),
          hostIP: `192.168.${Math.floor(rnd() * 4)}.${10 + Math.floor(rnd() * 40)}`,
          hostIPs: [{ ip: `192.168.0.${10 + Math.floor(rnd() * 40)}` }],
          podIP: podIp,
          podIPs: [{ ip: podIp }],
          startTime: started,
          containerStatuses: (template.spec.containers as Obj[]).map((c) => ({
            name: c.name,
            state: { running: { startedAt: started } },
            lastState: {},
            ready: true,
            restartCount: Math.floor(rnd() * 3),
            image: c.image,
            imageID: `docker.io/library/${String(c.image)}@sha256:${hex(64)}`,
            containerID: `containerd://${hex(64)}`,
            started: true,
          })),
          qosClass: 'Burstable',
        },
      })
    }
    const svcCreated = time()
    push({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: {
        name,
        namespace: ns,
        uid: uid(),
        creationTimestamp: svcCreated,
        labels,
        managedFields: [
          managed('kubectl-client-side-apply', 'v1', svcCreated, {
            'f:metadata': { 'f:labels': { '.': {}, 'f:app': {} } },
            'f:spec': {
              'f:ports': {
                '.': {},
                'k:{"port":80,"protocol":"TCP"}': {
                  '.': {},
                  'f:port': {},
                  'f:protocol': {},
                  'f:targetPort': {},
                },
              },
              'f:selector': {},
              'f:type': {},
            },
          }),
        ],
      },
      spec: {
        ports: [{ name: 'http', protocol: 'TCP', port: 80, targetPort: 8080 }],
        selector: { app: name },
        clusterIP: `10.96.${Math.floor(rnd() * 250)}.${2 + Math.floor(rnd() * 250)}`,
        type: 'ClusterIP',
        sessionAffinity: 'None',
        ipFamilies: ['IPv4'],
        ipFamilyPolicy: 'SingleStack',
        internalTrafficPolicy: 'Cluster',
      },
      status: { loadBalancer: {} },
    })
    for (const kind of ['config', 'features']) {
      const t = time()
      const data: Record<string, string> = {}
      for (let k = 0; k < 6; k++) data[`${kind}.key${k}`] = `value-${hex(24)}`
      push({
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: {
          name: `${name}-${kind}`,
          namespace: ns,
          uid: uid(),
          creationTimestamp: t,
          labels,
          managedFields: [
            managed('kubectl-client-side-apply', 'v1', t, {
              'f:data': Object.fromEntries([['.', {}], ...Object.keys(data).map((k) => [`f:${k}`, {}])]),
            }),
          ],
        },
        data,
      })
    }
    const t = time()
    push({
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: { name, namespace: ns, uid: uid(), creationTimestamp: t, labels },
    })
    push({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: { name: `${name}-reader`, namespace: ns, uid: uid(), creationTimestamp: t, labels },
      rules: [
        { apiGroups: [''], resources: ['configmaps', 'secrets'], verbs: ['get', 'list', 'watch'] },
        { apiGroups: ['apps'], resources: ['deployments'], verbs: ['get'] },
      ],
    })
    push({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: `${name}-reader`, namespace: ns, uid: uid(), creationTimestamp: t, labels },
      subjects: [{ kind: 'ServiceAccount', name, namespace: ns }],
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: `${name}-reader` },
    })
    app++
  }
  return out
}

function managed(
  manager: string,
  apiVersion: string,
  time: string,
  fieldsV1: Obj,
  subresource?: string,
): Obj {
  return {
    manager,
    operation: 'Update',
    apiVersion,
    time,
    fieldsType: 'FieldsV1',
    fieldsV1,
    ...(subresource ? { subresource } : {}),
  }
}

interface Template {
  metadata: { labels: Record<string, string> }
  spec: { containers: Obj[] } & Obj
}

function podTemplate(
  name: string,
  labels: Record<string, string>,
  image: string,
  rnd: () => number,
): Template {
  const env = Array.from({ length: 4 + Math.floor(rnd() * 4) }, (_, i) => ({
    name: `SETTING_${i}`,
    value: `value-${Math.floor(rnd() * 1e6)}`,
  }))
  return {
    metadata: { labels: { app: name, team: labels.team ?? '' } },
    spec: {
      containers: [
        {
          name,
          image,
          ports: [{ name: 'http', containerPort: 8080, protocol: 'TCP' }],
          env: [
            ...env,
            { name: 'POD_NAME', valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.name' } } },
          ],
          resources: { limits: { cpu: '500m', memory: '256Mi' }, requests: { cpu: '100m', memory: '128Mi' } },
          livenessProbe: {
            httpGet: { path: '/healthz', port: 8080, scheme: 'HTTP' },
            initialDelaySeconds: 10,
            timeoutSeconds: 1,
            periodSeconds: 10,
            successThreshold: 1,
            failureThreshold: 3,
          },
          readinessProbe: {
            httpGet: { path: '/ready', port: 8080, scheme: 'HTTP' },
            timeoutSeconds: 1,
            periodSeconds: 5,
            successThreshold: 1,
            failureThreshold: 3,
          },
          terminationMessagePath: '/dev/termination-log',
          terminationMessagePolicy: 'File',
          imagePullPolicy: 'IfNotPresent',
          securityContext: {
            allowPrivilegeEscalation: false,
            runAsNonRoot: true,
            capabilities: { drop: ['ALL'] },
          },
        },
      ],
      restartPolicy: 'Always',
      terminationGracePeriodSeconds: 30,
      dnsPolicy: 'ClusterFirst',
      securityContext: { seccompProfile: { type: 'RuntimeDefault' } },
      schedulerName: 'default-scheduler',
    },
  }
}
