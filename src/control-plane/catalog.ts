/**
 * The API surface the control plane serves: every group, version and resource of a kube-apiserver
 * v1.32 (as its discovery documents list them, in the same order), and the CustomResourceDefinitions
 * created at run time. Discovery, routing, RBAC messages and storage all read this one catalogue, so
 * a resource is either served everywhere or nowhere.
 */
import { createHash } from 'node:crypto'

export interface Subresource {
  readonly name: string
  readonly kind: string
  readonly verbs: readonly string[]
  /** The group/version of the subresource's kind when it differs (Scale is autoscaling/v1). */
  readonly groupVersion?: string
}

/** How the store treats a resource; the real API server's per-resource strategies, reduced to flags. */
export interface Traits {
  /** metadata.generation is set on create and bumped on every spec change. */
  readonly generation: boolean
  /** DELETE answers with the deleted object rather than a Status (pods, services, CRDs, CRs, namespaces). */
  readonly deleteReturnsObject: boolean
  /** Create-only review resources (SelfSubjectAccessReview, ...): answered, never stored. */
  readonly virtual: boolean
}

/** A served version of a custom resource: its schema decides what is pruned, its columns the Table. */
export interface CustomVersion {
  readonly schema: unknown
  readonly printerColumns: readonly {
    name: string
    type: string
    jsonPath: string
    format?: string
    description?: string
    priority?: number
  }[]
  readonly statusSubresource: boolean
}

export interface ResourceType {
  readonly group: string
  readonly version: string
  /** "v1" for the core group, else "group/version". */
  readonly apiVersion: string
  readonly resource: string
  readonly kind: string
  readonly listKind: string
  readonly singular: string
  readonly namespaced: boolean
  readonly verbs: readonly string[]
  readonly shortNames: readonly string[]
  readonly categories: readonly string[]
  readonly subresources: readonly Subresource[]
  /** Objects of every version of a group/resource share one collection, as in etcd. */
  readonly storageKey: string
  readonly traits: Traits
  /** Set for resources defined by a CustomResourceDefinition. */
  readonly custom?: CustomVersion
  /** base64 of the first 8 bytes of sha256("group/version/kind") of the storage version. */
  readonly storageVersionHash?: string
}

const ALL = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'] as const
const NO_DELETECOLLECTION = ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'] as const
const STATUS = ['get', 'patch', 'update'] as const
const NS = true
const CLUSTER = false

interface Options {
  singular?: string
  shortNames?: string[]
  categories?: string[]
  subresources?: [string, string, readonly string[], string?][]
}
type Row = [string, string, boolean, readonly string[], Options?]
interface VersionRows {
  version: string
  rows: Row[]
}
interface GroupRows {
  group: string
  versions: VersionRows[]
}

function r(
  resource: string,
  kind: string,
  namespaced: boolean,
  verbs: readonly string[],
  options?: Options,
): Row {
  return options ? [resource, kind, namespaced, verbs, options] : [resource, kind, namespaced, verbs]
}
function version(v: string, rows: Row[]): VersionRows {
  return { version: v, rows }
}
function group(g: string, versions: VersionRows[]): GroupRows {
  return { group: g, versions }
}

/** Built-in groups in the order the recorded server listed them (core first). */
const BUILT_IN: GroupRows[] = [
  group('', [
    version('v1', [
      r('bindings', 'Binding', NS, ['create']),
      r('componentstatuses', 'ComponentStatus', CLUSTER, ['get', 'list'], {
        singular: 'componentstatus',
        shortNames: ['cs'],
      }),
      r('configmaps', 'ConfigMap', NS, ALL, { shortNames: ['cm'] }),
      r('endpoints', 'Endpoints', NS, ALL, { singular: 'endpoints', shortNames: ['ep'] }),
      r('events', 'Event', NS, ALL, { shortNames: ['ev'] }),
      r('limitranges', 'LimitRange', NS, ALL, { shortNames: ['limits'] }),
      r('namespaces', 'Namespace', CLUSTER, NO_DELETECOLLECTION, {
        shortNames: ['ns'],
        subresources: [
          ['finalize', 'Namespace', ['update']],
          ['status', 'Namespace', STATUS],
        ],
      }),
      r('nodes', 'Node', CLUSTER, ALL, {
        shortNames: ['no'],
        subresources: [
          ['proxy', 'NodeProxyOptions', ['create', 'delete', 'get', 'patch', 'update']],
          ['status', 'Node', STATUS],
        ],
      }),
      r('persistentvolumeclaims', 'PersistentVolumeClaim', NS, ALL, {
        shortNames: ['pvc'],
        subresources: [['status', 'PersistentVolumeClaim', STATUS]],
      }),
      r('persistentvolumes', 'PersistentVolume', CLUSTER, ALL, {
        shortNames: ['pv'],
        subresources: [['status', 'PersistentVolume', STATUS]],
      }),
      r('pods', 'Pod', NS, ALL, {
        shortNames: ['po'],
        categories: ['all'],
        subresources: [
          ['attach', 'PodAttachOptions', ['create', 'get']],
          ['binding', 'Binding', ['create']],
          ['ephemeralcontainers', 'Pod', STATUS],
          ['eviction', 'Eviction', ['create'], 'policy/v1'],
          ['exec', 'PodExecOptions', ['create', 'get']],
          ['log', 'Pod', ['get']],
          ['portforward', 'PodPortForwardOptions', ['create', 'get']],
          ['proxy', 'PodProxyOptions', ['create', 'delete', 'get', 'patch', 'update']],
          ['status', 'Pod', STATUS],
        ],
      }),
      r('podtemplates', 'PodTemplate', NS, ALL),
      r('replicationcontrollers', 'ReplicationController', NS, ALL, {
        shortNames: ['rc'],
        categories: ['all'],
        subresources: [
          ['scale', 'Scale', STATUS, 'autoscaling/v1'],
          ['status', 'ReplicationController', STATUS],
        ],
      }),
      r('resourcequotas', 'ResourceQuota', NS, ALL, {
        shortNames: ['quota'],
        subresources: [['status', 'ResourceQuota', STATUS]],
      }),
      r('secrets', 'Secret', NS, ALL),
      r('serviceaccounts', 'ServiceAccount', NS, ALL, {
        shortNames: ['sa'],
        subresources: [['token', 'TokenRequest', ['create'], 'authentication.k8s.io/v1']],
      }),
      r('services', 'Service', NS, ALL, {
        shortNames: ['svc'],
        categories: ['all'],
        subresources: [
          ['proxy', 'ServiceProxyOptions', ['create', 'delete', 'get', 'patch', 'update']],
          ['status', 'Service', STATUS],
        ],
      }),
    ]),
  ]),
  group('apiregistration.k8s.io', [
    version('v1', [
      r('apiservices', 'APIService', CLUSTER, ALL, {
        categories: ['api-extensions'],
        subresources: [['status', 'APIService', STATUS]],
      }),
    ]),
  ]),
  group('apps', [
    version('v1', [
      r('controllerrevisions', 'ControllerRevision', NS, ALL),
      r('daemonsets', 'DaemonSet', NS, ALL, {
        shortNames: ['ds'],
        categories: ['all'],
        subresources: [['status', 'DaemonSet', STATUS]],
      }),
      r('deployments', 'Deployment', NS, ALL, {
        shortNames: ['deploy'],
        categories: ['all'],
        subresources: [
          ['scale', 'Scale', STATUS, 'autoscaling/v1'],
          ['status', 'Deployment', STATUS],
        ],
      }),
      r('replicasets', 'ReplicaSet', NS, ALL, {
        shortNames: ['rs'],
        categories: ['all'],
        subresources: [
          ['scale', 'Scale', STATUS, 'autoscaling/v1'],
          ['status', 'ReplicaSet', STATUS],
        ],
      }),
      r('statefulsets', 'StatefulSet', NS, ALL, {
        shortNames: ['sts'],
        categories: ['all'],
        subresources: [
          ['scale', 'Scale', STATUS, 'autoscaling/v1'],
          ['status', 'StatefulSet', STATUS],
        ],
      }),
    ]),
  ]),
  group('events.k8s.io', [version('v1', [r('events', 'Event', NS, ALL, { shortNames: ['ev'] })])]),
  group('authentication.k8s.io', [
    version('v1', [
      r('selfsubjectreviews', 'SelfSubjectReview', CLUSTER, ['create']),
      r('tokenreviews', 'TokenReview', CLUSTER, ['create']),
    ]),
  ]),
  group('authorization.k8s.io', [
    version('v1', [
      r('localsubjectaccessreviews', 'LocalSubjectAccessReview', NS, ['create']),
      r('selfsubjectaccessreviews', 'SelfSubjectAccessReview', CLUSTER, ['create']),
      r('selfsubjectrulesreviews', 'SelfSubjectRulesReview', CLUSTER, ['create']),
      r('subjectaccessreviews', 'SubjectAccessReview', CLUSTER, ['create']),
    ]),
  ]),
  group('autoscaling', [
    version('v2', [
      r('horizontalpodautoscalers', 'HorizontalPodAutoscaler', NS, ALL, {
        shortNames: ['hpa'],
        categories: ['all'],
        subresources: [['status', 'HorizontalPodAutoscaler', STATUS]],
      }),
    ]),
    version('v1', [
      r('horizontalpodautoscalers', 'HorizontalPodAutoscaler', NS, ALL, {
        shortNames: ['hpa'],
        categories: ['all'],
        subresources: [['status', 'HorizontalPodAutoscaler', STATUS]],
      }),
    ]),
  ]),
  group('batch', [
    version('v1', [
      r('cronjobs', 'CronJob', NS, ALL, {
        shortNames: ['cj'],
        categories: ['all'],
        subresources: [['status', 'CronJob', STATUS]],
      }),
      r('jobs', 'Job', NS, ALL, { categories: ['all'], subresources: [['status', 'Job', STATUS]] }),
    ]),
  ]),
  group('certificates.k8s.io', [
    version('v1', [
      r('certificatesigningrequests', 'CertificateSigningRequest', CLUSTER, ALL, {
        shortNames: ['csr'],
        subresources: [
          ['approval', 'CertificateSigningRequest', STATUS],
          ['status', 'CertificateSigningRequest', STATUS],
        ],
      }),
    ]),
  ]),
  group('networking.k8s.io', [
    version('v1', [
      r('ingressclasses', 'IngressClass', CLUSTER, ALL, { singular: 'ingressclass' }),
      r('ingresses', 'Ingress', NS, ALL, {
        singular: 'ingress',
        shortNames: ['ing'],
        subresources: [['status', 'Ingress', STATUS]],
      }),
      r('networkpolicies', 'NetworkPolicy', NS, ALL, { singular: 'networkpolicy', shortNames: ['netpol'] }),
    ]),
  ]),
  group('policy', [
    version('v1', [
      r('poddisruptionbudgets', 'PodDisruptionBudget', NS, ALL, {
        shortNames: ['pdb'],
        subresources: [['status', 'PodDisruptionBudget', STATUS]],
      }),
    ]),
  ]),
  group('rbac.authorization.k8s.io', [
    version('v1', [
      r('clusterrolebindings', 'ClusterRoleBinding', CLUSTER, ALL),
      r('clusterroles', 'ClusterRole', CLUSTER, ALL),
      r('rolebindings', 'RoleBinding', NS, ALL),
      r('roles', 'Role', NS, ALL),
    ]),
  ]),
  group('storage.k8s.io', [
    version('v1', [
      r('csidrivers', 'CSIDriver', CLUSTER, ALL),
      r('csinodes', 'CSINode', CLUSTER, ALL),
      r('csistoragecapacities', 'CSIStorageCapacity', NS, ALL, { singular: 'csistoragecapacity' }),
      r('storageclasses', 'StorageClass', CLUSTER, ALL, { singular: 'storageclass', shortNames: ['sc'] }),
      r('volumeattachments', 'VolumeAttachment', CLUSTER, ALL, {
        subresources: [['status', 'VolumeAttachment', STATUS]],
      }),
    ]),
  ]),
  group('admissionregistration.k8s.io', [
    version('v1', [
      r('mutatingwebhookconfigurations', 'MutatingWebhookConfiguration', CLUSTER, ALL, {
        categories: ['api-extensions'],
      }),
      r('validatingadmissionpolicies', 'ValidatingAdmissionPolicy', CLUSTER, ALL, {
        singular: 'validatingadmissionpolicy',
        categories: ['api-extensions'],
        subresources: [['status', 'ValidatingAdmissionPolicy', STATUS]],
      }),
      r('validatingadmissionpolicybindings', 'ValidatingAdmissionPolicyBinding', CLUSTER, ALL, {
        categories: ['api-extensions'],
      }),
      r('validatingwebhookconfigurations', 'ValidatingWebhookConfiguration', CLUSTER, ALL, {
        categories: ['api-extensions'],
      }),
    ]),
  ]),
  group('apiextensions.k8s.io', [
    version('v1', [
      r('customresourcedefinitions', 'CustomResourceDefinition', CLUSTER, ALL, {
        shortNames: ['crd', 'crds'],
        categories: ['api-extensions'],
        subresources: [['status', 'CustomResourceDefinition', STATUS]],
      }),
    ]),
  ]),
  group('scheduling.k8s.io', [
    version('v1', [
      r('priorityclasses', 'PriorityClass', CLUSTER, ALL, { singular: 'priorityclass', shortNames: ['pc'] }),
    ]),
  ]),
  group('coordination.k8s.io', [version('v1', [r('leases', 'Lease', NS, ALL)])]),
  group('node.k8s.io', [
    version('v1', [r('runtimeclasses', 'RuntimeClass', CLUSTER, ALL, { singular: 'runtimeclass' })]),
  ]),
  group('discovery.k8s.io', [version('v1', [r('endpointslices', 'EndpointSlice', NS, ALL)])]),
  group('flowcontrol.apiserver.k8s.io', [
    version('v1', [
      r('flowschemas', 'FlowSchema', CLUSTER, ALL, { subresources: [['status', 'FlowSchema', STATUS]] }),
      r('prioritylevelconfigurations', 'PriorityLevelConfiguration', CLUSTER, ALL, {
        subresources: [['status', 'PriorityLevelConfiguration', STATUS]],
      }),
    ]),
  ]),
]

/** Resources whose strategy sets metadata.generation (the rest never carry it). */
const GENERATION = new Set([
  'apps/deployments',
  'apps/replicasets',
  'apps/statefulsets',
  'apps/daemonsets',
  '/replicationcontrollers',
  'batch/jobs',
  'batch/cronjobs',
  'autoscaling/horizontalpodautoscalers',
  'networking.k8s.io/networkpolicies',
  'networking.k8s.io/ingresses',
  'policy/poddisruptionbudgets',
  'apiextensions.k8s.io/customresourcedefinitions',
  'admissionregistration.k8s.io/validatingadmissionpolicies',
  'admissionregistration.k8s.io/validatingadmissionpolicybindings',
  'admissionregistration.k8s.io/validatingwebhookconfigurations',
  'admissionregistration.k8s.io/mutatingwebhookconfigurations',
  'flowcontrol.apiserver.k8s.io/flowschemas',
  'flowcontrol.apiserver.k8s.io/prioritylevelconfigurations',
])

/** DELETE answers with the object: graceful deletion (pods), finalizers (namespaces, CRDs), or the
 * registry's ReturnDeletedObject (services). */
const DELETE_RETURNS_OBJECT = new Set([
  '/pods',
  '/namespaces',
  '/services',
  'apiextensions.k8s.io/customresourcedefinitions',
])

/** Where a resource's storage version differs from the version that serves it. */
const STORAGE_VERSION: Record<string, string> = {
  'events.k8s.io/events': '/v1/Event',
  'autoscaling/horizontalpodautoscalers': 'autoscaling/v2/HorizontalPodAutoscaler',
}

export function storageVersionHash(groupVersionKind: string): string {
  return createHash('sha256').update(groupVersionKind).digest().subarray(0, 8).toString('base64')
}

function defaultSingular(resource: string): string {
  return resource.slice(0, -1)
}

function builtInTypes(): ResourceType[] {
  const out: ResourceType[] = []
  for (const g of BUILT_IN) {
    for (const v of g.versions) {
      for (const [resource, kind, namespaced, verbs, options] of v.rows) {
        const storageKey = `${g.group}/${resource}`
        const creatable = verbs.includes('create')
        const listable = verbs.includes('list')
        const gvk = STORAGE_VERSION[storageKey] ?? `${g.group}/${v.version}/${kind}`
        out.push({
          group: g.group,
          version: v.version,
          apiVersion: g.group ? `${g.group}/${v.version}` : v.version,
          resource,
          kind,
          listKind: `${kind}List`,
          singular: options?.singular ?? defaultSingular(resource),
          namespaced,
          verbs,
          shortNames: options?.shortNames ?? [],
          categories: options?.categories ?? [],
          subresources: (options?.subresources ?? []).map(([name, k, subVerbs, gv]) => ({
            name,
            kind: k,
            verbs: subVerbs,
            ...(gv ? { groupVersion: gv } : {}),
          })),
          storageKey,
          traits: {
            generation: GENERATION.has(storageKey),
            deleteReturnsObject: DELETE_RETURNS_OBJECT.has(storageKey),
            virtual: creatable && !listable,
          },
          ...(listable ? { storageVersionHash: storageVersionHash(gvk) } : {}),
        })
      }
    }
  }
  return out
}

export const BUILT_IN_TYPES: readonly ResourceType[] = builtInTypes()

/** The built-in group names in discovery order; "" is the legacy core group. */
export const BUILT_IN_GROUPS: readonly string[] = BUILT_IN.map((g) => g.group)

/** Versions of each built-in group in discovery (preference) order. */
export const BUILT_IN_VERSIONS: ReadonlyMap<string, readonly string[]> = new Map(
  BUILT_IN.map((g) => [g.group, g.versions.map((v) => v.version)]),
)
