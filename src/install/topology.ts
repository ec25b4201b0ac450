/**
 * The Kubernetes objects of one Plimsoll topology, as plain objects in a stable order: what
 * `plimsoll install` prints and writes as a Kustomize base. Secrets are referenced by name, never
 * generated: the store's URL, the serving certificate and the tokens are the operator's to create.
 */

import type { ApiResource } from '../cluster/discovery.js'
import { selectKinds } from '../cluster/kinds.js'
import { type PolicyRule, rbacObjects, readRules } from '../cluster/rbac.js'
import { BUILT_IN_TYPES } from '../control-plane/catalog.js'
import { Engine, LATEST_VERSION } from '../policy/engine.js'
import type { Library } from '../policy/library.js'
import { toolInfo } from '../version.js'
import { defaultEnforcement } from '../webhook/enforcement.js'
import { webhookConfigurationObject, webhookRules } from '../webhook/manifest.js'
import { type MonitoringOptions, monitoringObjects } from './monitoring.js'
import { type NetworkOptions, networkPolicy } from './network.js'
import {
  containerSecurityContext,
  deployment,
  labelsOf,
  type Obj,
  probesOf,
  resourcesOf,
  type Sizing,
  selectorOf,
  TMP_MOUNT,
} from './pod.js'

export const TOPOLOGIES = ['all-in-one', 'central', 'agent', 'webhook', 'audit'] as const
export type Topology = (typeof TOPOLOGIES)[number]

export function isTopology(name: string): name is Topology {
  return (TOPOLOGIES as readonly string[]).includes(name)
}

export interface InstallOptions {
  namespace: string
  image: string
  /**
   * replicas (default 2): the agent's and a PostgreSQL all-in-one's elect which one watches; all-in-one
   * on SQLite always runs one (one writer)
   */
  replicas: number
  /** agent: the central server's URL */
  central: string
  /**
   * all-in-one: the PostgreSQL URL from this Secret (key `url`) instead of SQLite on a volume.
   * central and audit always read it from `plimsoll-db`.
   */
  postgresSecret?: string
}

/** Secrets the manifests refer to by name (docs/install.md says what each holds). */
export const SECRETS = {
  /** key `url`: postgres://user:password@host:5432/plimsoll */
  db: 'plimsoll-db',
  /** type kubernetes.io/tls: tls.crt, tls.key and ca.crt (cert-manager's Certificate makes one) */
  tls: 'plimsoll-tls',
  /** key `token`: the agent token (`plimsoll token create --role agent --cluster NAME`) */
  agentToken: 'plimsoll-agent-token',
  /** key `tokens`: bearer tokens that may send audit batches, one a line */
  auditTokens: 'plimsoll-audit-tokens',
} as const

export function defaultImage(): string {
  return `ghcr.io/plimsoll/plimsoll:${toolInfo().version}`
}

export function defaultOptions(): InstallOptions {
  return {
    namespace: 'plimsoll',
    image: defaultImage(),
    replicas: 2,
    central: 'https://plimsoll.plimsoll.svc:8080',
  }
}

const PORTS = { server: 8080, webhook: 9443, audit: 9444 } as const
const POSTGRES_PORT = 5432
/** The Leases of the elected parts (the defaults of watch's and agent's --lease-name). */
const WATCHER_LEASE = 'plimsoll-watcher'
const AGENT_LEASE = 'plimsoll-agent'
const TLS_DIR = '/etc/plimsoll/tls'
const DATA_DIR = '/var/lib/plimsoll'
const TLS_FLAGS = ['--tls-cert', `${TLS_DIR}/tls.crt`, '--tls-key', `${TLS_DIR}/tls.key`]
/** Every served part listens on all of the Pod's addresses, over HTTPS with the mounted certificate. */
const listenFlags = (port: number): string[] => ['--host', '0.0.0.0', '--port', String(port), ...TLS_FLAGS]

/*
 * Sizing, from the benches' documented figures:
 * - watcher (all-in-one, agent): docs/cluster.md, peak RSS of the watcher's process 361-372 MB on a
 *   first sync of 50,214 objects (target 400 MB): 512Mi requested, 768Mi limit for headroom.
 * - webhook: docs/admission.md, RSS 110-115 MB over a five-minute soak at 1,000 reviews/s on a 2-core
 *   machine: 128Mi requested, 256Mi limit; 250m CPU requested, 1 core limit.
 * - server (central): docs/architecture.md, peak RSS of a scan 176-258 MB (the API loads the same
 *   library and store): 256Mi requested, 512Mi limit.
 * - audit receiver: docs/audit.md, 8-15 ms of CPU per 400-event batch: 100m requested, 400m limit
 *   (four times, no more); no documented memory figure, so the server's 256Mi / 512Mi.
 */
const SIZING: Record<'watcher' | 'server' | 'webhook' | 'audit', Sizing> = {
  watcher: { cpuRequest: '250m', cpuLimit: '1', memoryRequest: '512Mi', memoryLimit: '768Mi' },
  server: { cpuRequest: '250m', cpuLimit: '1', memoryRequest: '256Mi', memoryLimit: '512Mi' },
  webhook: { cpuRequest: '250m', cpuLimit: '1', memoryRequest: '128Mi', memoryLimit: '256Mi' },
  audit: { cpuRequest: '100m', cpuLimit: '400m', memoryRequest: '256Mi', memoryLimit: '512Mi' },
}

const namespaceObject = (namespace: string): Obj => ({
  apiVersion: 'v1',
  kind: 'Namespace',
  metadata: {
    name: namespace,
    labels: {
      'app.kubernetes.io/part-of': 'plimsoll',
      // Pod Security Admission holds Plimsoll's own namespace to the level its Pods meet.
      'pod-security.kubernetes.io/enforce': 'restricted',
      'pod-security.kubernetes.io/enforce-version': 'latest',
    },
  },
})

const serviceAccount = (name: string, namespace: string, component: string, automount: boolean): Obj => ({
  apiVersion: 'v1',
  kind: 'ServiceAccount',
  metadata: { name, namespace, labels: labelsOf(component) },
  automountServiceAccountToken: automount,
})

/** The Service's port, to the container's named port `https`. */
const service = (name: string, namespace: string, component: string, port: number): Obj => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name, namespace, labels: labelsOf(component) },
  spec: {
    type: 'ClusterIP',
    selector: selectorOf(component),
    ports: [{ name: 'https', port, targetPort: 'https', protocol: 'TCP', appProtocol: 'https' }],
  },
})

const pdb = (name: string, namespace: string, component: string): Obj => ({
  apiVersion: 'policy/v1',
  kind: 'PodDisruptionBudget',
  metadata: { name, namespace, labels: labelsOf(component) },
  spec: { minAvailable: 1, selector: { matchLabels: selectorOf(component) } },
})

/**
 * What a served part has beside its Deployment, in this order: its Service, a PodDisruptionBudget when
 * replicated, its NetworkPolicy (ingress on the served port only), objects of its own (the webhook's
 * configuration), and its monitoring.
 */
function servedObjects(o: {
  name: string
  namespace: string
  component: string
  replicas: number
  /** the Service's port, and the container's port it serves */
  servicePort: number
  servedPort: number
  egress: Pick<NetworkOptions, 'apiServer' | 'postgres'>
  parts: MonitoringOptions['parts']
  own?: readonly Obj[]
}): Obj[] {
  const { name, namespace, component } = o
  return [
    service(name, namespace, component, o.servicePort),
    ...(o.replicas > 1 ? [pdb(name, namespace, component)] : []),
    networkPolicy({ name, namespace, component, ingressPort: o.servedPort, ...o.egress }),
    ...(o.own ?? []),
    ...monitoringObjects({ namespace, component, service: name, parts: o.parts }),
  ]
}

const secretVolume = (name: string, secretName: string, items?: Obj[]): Obj => ({
  name,
  secret: { secretName, defaultMode: 0o440, ...(items ? { items } : {}) },
})

const dbEnv = (secret: string): Obj => ({
  name: 'PLIMSOLL_DB',
  valueFrom: { secretKeyRef: { name: secret, key: 'url' } },
})

const POD_NAMESPACE_ENV: Obj = {
  name: 'POD_NAMESPACE',
  valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } },
}

/** A replica's identity in the Lease: its Pod's name, unique among the Deployment's Pods. */
const POD_NAME_ENV: Obj = { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }

/** Of several replicas watching one cluster, the Lease's holder watches; the others stand by. */
const electionArgs = (lease: string, namespace: string): string[] => [
  '--leader-elect',
  '--lease-name',
  lease,
  '--lease-namespace',
  namespace,
  '--identity',
  '$(POD_NAME)',
]

/** The engine over the built-in library, for the kinds the watcher reads and the webhook is sent. */
function engineOf(library: Library): Engine {
  return new Engine(library.checks, library.podTemplates, { version: LATEST_VERSION }, library.foreign)
}

/** Kubernetes' own API, as kube-apiserver serves it (custom resources need the cluster's discovery). */
function builtInResources(): ApiResource[] {
  return BUILT_IN_TYPES.map((t) => ({
    group: t.group,
    version: t.version,
    kind: t.kind,
    resource: t.resource,
    namespaced: t.namespaced,
    path: t.group ? `/apis/${t.group}/${t.version}/${t.resource}` : `/api/${t.version}/${t.resource}`,
    custom: false,
  }))
}

/**
 * The watcher's rules: `plimsoll watch rbac`'s generator over the built-in kinds, less Secrets: read
 * access to every Secret of the cluster is more than an installer should grant by default (Plimsoll's
 * own rbac-secrets-read check says so). The checks that read Secrets then see none; `plimsoll watch
 * rbac` prints the rule for an operator who wants them.
 */
export function watcherRules(library: Library): PolicyRule[] {
  const kinds = selectKinds(engineOf(library), builtInResources())
    .map((k) => k.resource)
    .filter((r) => !(r.group === '' && r.resource === 'secrets'))
  return readRules(kinds)
}

function container(
  name: string,
  image: string,
  args: string[],
  port: number | undefined,
  sizing: Sizing,
  env: Obj[],
  mounts: Obj[],
): Obj {
  return {
    name,
    image,
    imagePullPolicy: 'IfNotPresent',
    args,
    ...(env.length > 0 ? { env } : {}),
    ...(port !== undefined ? { ports: [{ name: 'https', containerPort: port, protocol: 'TCP' }] } : {}),
    resources: resourcesOf(sizing),
    ...(port !== undefined ? probesOf('https') : {}),
    securityContext: containerSecurityContext,
    volumeMounts: [TMP_MOUNT, ...mounts],
  }
}

const TLS_MOUNT: Obj = { name: 'tls', mountPath: TLS_DIR, readOnly: true }

/** The objects of one topology, in a stable order. */
export function installObjects(topology: Topology, options: InstallOptions, library: Library): Obj[] {
  const { namespace, image } = options
  const replicas = Math.max(1, Math.floor(options.replicas))
  const out: Obj[] = [namespaceObject(namespace)]
  switch (topology) {
    case 'all-in-one': {
      const name = 'plimsoll'
      const postgres = options.postgresSecret
      // On SQLite (a ReadWriteOnce volume, one writer) one replica; on PostgreSQL, replicas that elect
      // the watcher and all serve the API.
      const copies = postgres ? replicas : 1
      const elected = copies > 1
      const rbac = rbacObjects(watcherRules(library), {
        name,
        namespace,
        ...(elected ? { lease: { name: WATCHER_LEASE, namespace } } : {}),
      })
      out.push(...rbac.map((o) => relabel(o, 'all-in-one')))
      if (!postgres)
        out.push({
          apiVersion: 'v1',
          kind: 'PersistentVolumeClaim',
          metadata: { name: 'plimsoll-data', namespace, labels: labelsOf('all-in-one') },
          spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '5Gi' } } },
        })
      const args = [
        'serve',
        '--cluster',
        '--in-cluster',
        ...listenFlags(PORTS.server),
        '--db',
        postgres ? '$(PLIMSOLL_DB)' : `${DATA_DIR}/plimsoll.db`,
        ...(elected ? electionArgs(WATCHER_LEASE, namespace) : []),
      ]
      const env = [
        POD_NAMESPACE_ENV,
        ...(elected ? [POD_NAME_ENV] : []),
        ...(postgres ? [dbEnv(postgres)] : []),
      ]
      const mounts = [TLS_MOUNT, ...(postgres ? [] : [{ name: 'data', mountPath: DATA_DIR }])]
      const volumes = [
        secretVolume('tls', SECRETS.tls),
        ...(postgres ? [] : [{ name: 'data', persistentVolumeClaim: { claimName: 'plimsoll-data' } }]),
      ]
      out.push(
        deployment({
          name,
          namespace,
          component: 'all-in-one',
          // On SQLite, one writer: a single replica, replaced rather than rolled.
          replicas: copies,
          serviceAccount: name,
          automountToken: true,
          container: container('plimsoll', image, args, PORTS.server, SIZING.watcher, env, mounts),
          volumes,
          recreate: !postgres,
          ...(copies === 1
            ? {
                singleReplicaReason: postgres
                  ? 'asked for one replica (--replicas 1)'
                  : 'SQLite on a ReadWriteOnce volume has one writer: with --db-secret (PostgreSQL) it runs --replicas, electing the watcher',
              }
            : {}),
        }),
        ...servedObjects({
          name,
          namespace,
          component: 'all-in-one',
          replicas: copies,
          servicePort: PORTS.server,
          servedPort: PORTS.server,
          egress: { apiServer: true, postgres: postgres ? POSTGRES_PORT : undefined },
          parts: ['server', 'watcher'],
        }),
      )
      return out
    }
    case 'central': {
      const name = 'plimsoll'
      out.push(serviceAccount(name, namespace, 'central', false))
      const args = ['serve', ...listenFlags(PORTS.server), '--db', '$(PLIMSOLL_DB)']
      out.push(
        deployment({
          name,
          namespace,
          component: 'central',
          replicas,
          serviceAccount: name,
          automountToken: false,
          container: container(
            'plimsoll',
            image,
            args,
            PORTS.server,
            SIZING.server,
            [POD_NAMESPACE_ENV, dbEnv(SECRETS.db)],
            [TLS_MOUNT],
          ),
          volumes: [secretVolume('tls', SECRETS.tls)],
        }),
        ...servedObjects({
          name,
          namespace,
          component: 'central',
          replicas,
          servicePort: PORTS.server,
          servedPort: PORTS.server,
          egress: { apiServer: false, postgres: POSTGRES_PORT },
          parts: ['server'],
        }),
      )
      return out
    }
    case 'agent': {
      const name = 'plimsoll-agent'
      const elected = replicas > 1
      const rbac = rbacObjects(watcherRules(library), {
        name,
        namespace,
        ...(elected ? { lease: { name: AGENT_LEASE, namespace } } : {}),
      })
      out.push(...rbac.map((o) => relabel(o, 'agent')))
      const args = [
        'agent',
        '--in-cluster',
        '--central',
        options.central,
        '--central-ca',
        `${TLS_DIR}/ca.crt`,
        '--token-file',
        '/etc/plimsoll/token/token',
        ...(elected ? electionArgs(AGENT_LEASE, namespace) : []),
      ]
      out.push(
        deployment({
          name,
          namespace,
          component: 'agent',
          // Replicas elect the one that pushes: a standby takes over within the Lease's duration.
          replicas,
          ...(elected ? {} : { singleReplicaReason: 'asked for one replica (--replicas 1)' }),
          serviceAccount: name,
          automountToken: true,
          container: container(
            'agent',
            image,
            args,
            undefined,
            SIZING.watcher,
            [POD_NAMESPACE_ENV, ...(elected ? [POD_NAME_ENV] : [])],
            [TLS_MOUNT, { name: 'token', mountPath: '/etc/plimsoll/token', readOnly: true }],
          ),
          volumes: [
            secretVolume('tls', SECRETS.tls, [{ key: 'ca.crt', path: 'ca.crt' }]),
            secretVolume('token', SECRETS.agentToken, [{ key: 'token', path: 'token' }]),
          ],
        }),
        ...(elected ? [pdb(name, namespace, 'agent')] : []),
        networkPolicy({
          name,
          namespace,
          component: 'agent',
          ingressPort: undefined,
          apiServer: true,
          egressPorts: [portOf(options.central)],
        }),
      )
      return out
    }
    case 'webhook': {
      const name = 'plimsoll-webhook'
      out.push(serviceAccount(name, namespace, 'webhook', false))
      const args = ['webhook', 'serve', ...listenFlags(PORTS.webhook)]
      out.push(
        deployment({
          name,
          namespace,
          component: 'webhook',
          replicas,
          serviceAccount: name,
          automountToken: false,
          container: container(
            'webhook',
            image,
            args,
            PORTS.webhook,
            SIZING.webhook,
            [POD_NAMESPACE_ENV],
            [TLS_MOUNT],
          ),
          volumes: [secretVolume('tls', SECRETS.tls)],
        }),
        ...servedObjects({
          name,
          namespace,
          component: 'webhook',
          replicas,
          servicePort: 443,
          servedPort: PORTS.webhook,
          egress: { apiServer: false },
          parts: ['webhook'],
          own: [webhookObject(library, namespace, name)],
        }),
      )
      return out
    }
    case 'audit': {
      const name = 'plimsoll-audit'
      out.push(serviceAccount(name, namespace, 'audit', false))
      const args = [
        'audit',
        'serve',
        ...listenFlags(PORTS.audit),
        '--token-file',
        '/etc/plimsoll/tokens/tokens',
        '--store',
        '$(PLIMSOLL_DB)',
      ]
      out.push(
        deployment({
          name,
          namespace,
          component: 'audit',
          replicas,
          serviceAccount: name,
          automountToken: false,
          container: container(
            'audit',
            image,
            args,
            PORTS.audit,
            SIZING.audit,
            [POD_NAMESPACE_ENV, dbEnv(SECRETS.db)],
            [TLS_MOUNT, { name: 'tokens', mountPath: '/etc/plimsoll/tokens', readOnly: true }],
          ),
          volumes: [
            secretVolume('tls', SECRETS.tls),
            secretVolume('tokens', SECRETS.auditTokens, [{ key: 'tokens', path: 'tokens' }]),
          ],
        }),
        ...servedObjects({
          name,
          namespace,
          component: 'audit',
          replicas,
          servicePort: PORTS.audit,
          servedPort: PORTS.audit,
          egress: { apiServer: false, postgres: POSTGRES_PORT },
          parts: ['audit'],
        }),
      )
      return out
    }
  }
}

/** The port of the central URL (https: 443 when it names none). */
function portOf(url: string): number {
  try {
    const parsed = new URL(url)
    return parsed.port ? Number(parsed.port) : parsed.protocol === 'http:' ? 80 : 443
  } catch {
    return 443
  }
}

/** The watcher generator's objects, labelled with the component they serve here. */
function relabel(object: Obj, component: string): Obj {
  const metadata = object.metadata as Obj
  return { ...object, metadata: { ...metadata, labels: labelsOf(component) } }
}

/**
 * `plimsoll webhook manifest`'s configuration over the built-in kinds. Its CA comes from the serving
 * certificate's Secret: cert-manager's CA injector fills caBundle from the annotation.
 */
function webhookObject(library: Library, namespace: string, serviceName: string): Obj {
  const engine = engineOf(library)
  const served = BUILT_IN_TYPES.map((t) => ({
    group: t.group,
    version: t.version,
    kind: t.kind,
    resource: t.resource,
    namespaced: t.namespaced,
  }))
  const object = webhookConfigurationObject(
    'Validating',
    {
      name: 'plimsoll',
      service: { namespace, name: serviceName, port: 443 },
      caBundle: '',
      failurePolicy: 'Ignore',
      timeoutSeconds: 5,
      exemptions: defaultEnforcement(namespace).exemptions,
      serviceAccount: `system:serviceaccount:${namespace}:${serviceName}`,
    },
    webhookRules(engine, served),
  )
  const metadata = object.metadata as Obj
  const webhooks = (object.webhooks as Obj[]).map((w) => {
    const { caBundle: _, ...clientConfig } = w.clientConfig as Obj
    return { ...w, clientConfig }
  })
  return {
    ...object,
    metadata: {
      ...metadata,
      labels: labelsOf('webhook'),
      annotations: { 'cert-manager.io/inject-ca-from-secret': `${namespace}/${SECRETS.tls}` },
    },
    webhooks,
  }
}
