/**
 * What structured merge needs to know of a resource's schema: which maps and structs are merged field by
 * field or replaced whole (atomic), and which lists are replaced whole (atomic), merged as sets, or merged
 * item by item on keys (containers by name). These are the `x-kubernetes-list-type`, `-list-map-keys`,
 * `-map-type` markers of Kubernetes' OpenAPI (the `+listType`, `+listMapKey`, `+structType` comments of
 * k8s.io/api), for the built-in kinds policies mutate most.
 *
 * A field this table does not name is treated as structured-merge-diff treats a schemaless value
 * ("deduced"): maps and structs merged field by field, lists replaced whole, scalars replaced. That is
 * what Kubernetes does for most unnamed fields too, its lists being atomic unless marked otherwise.
 */

export type ListKind =
  | 'atomic'
  | 'set'
  | { keys: readonly string[]; defaults?: Readonly<Record<string, unknown>> }

export type SchemaNode =
  /** `fields` named here; `atomic` replaced whole */
  | { t: 'struct'; fields: Readonly<Record<string, SchemaNode>>; atomic?: boolean }
  /** a map with values of one schema (labels, resources.limits) */
  | { t: 'map'; values: SchemaNode; atomic?: boolean }
  | { t: 'list'; list: ListKind; items: SchemaNode }
  | { t: 'scalar' }
  /** schemaless: maps merged, lists atomic */
  | { t: 'deduced' }

export const DEDUCED: SchemaNode = { t: 'deduced' }
const scalar: SchemaNode = { t: 'scalar' }
const struct = (fields: Record<string, SchemaNode>, atomic = false): SchemaNode =>
  atomic ? { t: 'struct', fields, atomic } : { t: 'struct', fields }
const stringMap: SchemaNode = { t: 'map', values: scalar }
/** `+mapType=atomic`: PodSpec.nodeSelector, the selectors of Services and ReplicationControllers. */
const atomicStringMap: SchemaNode = { t: 'map', values: scalar, atomic: true }
const atomicList = (items: SchemaNode = DEDUCED): SchemaNode => ({ t: 'list', list: 'atomic', items })
const set: SchemaNode = { t: 'list', list: 'set', items: scalar }
const keyed = (keys: string[], items: SchemaNode, defaults?: Record<string, unknown>): SchemaNode => ({
  t: 'list',
  list: defaults ? { keys, defaults } : { keys },
  items,
})

/** metav1.LabelSelector is `+structType=atomic`. */
const labelSelector = struct({}, true)
/** LocalObjectReference and the key selectors are `+structType=atomic`. */
const reference = struct({}, true)

const objectMeta = struct({
  labels: stringMap,
  annotations: stringMap,
  finalizers: set,
  ownerReferences: keyed(['uid'], struct({})),
  managedFields: atomicList(),
})

const conditions = keyed(['type'], struct({}))

const envVar = struct({
  valueFrom: struct({
    configMapKeyRef: reference,
    secretKeyRef: reference,
    fieldRef: reference,
    resourceFieldRef: reference,
  }),
})

const securityContext = struct({
  capabilities: struct({ add: atomicList(scalar), drop: atomicList(scalar) }),
})

const container = struct({
  command: atomicList(scalar),
  args: atomicList(scalar),
  ports: keyed(['containerPort', 'protocol'], struct({}), { protocol: 'TCP' }),
  env: keyed(['name'], envVar),
  envFrom: atomicList(),
  volumeMounts: keyed(['mountPath'], struct({})),
  volumeDevices: keyed(['devicePath'], struct({})),
  resizePolicy: atomicList(),
  resources: struct({ limits: stringMap, requests: stringMap, claims: keyed(['name'], struct({})) }),
  securityContext,
})

const podSpec = struct({
  containers: keyed(['name'], container),
  initContainers: keyed(['name'], container),
  ephemeralContainers: keyed(['name'], container),
  volumes: keyed(['name'], struct({})),
  imagePullSecrets: keyed(['name'], reference),
  hostAliases: keyed(['ip'], struct({ hostnames: atomicList(scalar) })),
  topologySpreadConstraints: keyed(['topologyKey', 'whenUnsatisfiable'], struct({ labelSelector })),
  resourceClaims: keyed(['name'], struct({})),
  schedulingGates: keyed(['name'], struct({})),
  tolerations: atomicList(),
  readinessGates: atomicList(),
  nodeSelector: atomicStringMap,
  overhead: stringMap,
  securityContext: struct({ supplementalGroups: atomicList(scalar), sysctls: atomicList() }),
  affinity: struct({
    nodeAffinity: struct({
      requiredDuringSchedulingIgnoredDuringExecution: struct({ nodeSelectorTerms: atomicList() }, true),
      preferredDuringSchedulingIgnoredDuringExecution: atomicList(),
    }),
    podAffinity: struct({
      requiredDuringSchedulingIgnoredDuringExecution: atomicList(),
      preferredDuringSchedulingIgnoredDuringExecution: atomicList(),
    }),
    podAntiAffinity: struct({
      requiredDuringSchedulingIgnoredDuringExecution: atomicList(),
      preferredDuringSchedulingIgnoredDuringExecution: atomicList(),
    }),
  }),
})

const podTemplate = struct({ metadata: objectMeta, spec: podSpec })
const workloadSpec = struct({ selector: labelSelector, template: podTemplate })
const jobSpec = struct({ selector: labelSelector, template: podTemplate })

const withMeta = (fields: Record<string, SchemaNode>) => struct({ metadata: objectMeta, ...fields })

/** By `group/Kind` (`''` for the core group). */
const KINDS: Readonly<Record<string, SchemaNode>> = {
  '/Pod': withMeta({ spec: podSpec, status: struct({ conditions }) }),
  '/PodTemplate': withMeta({ template: podTemplate }),
  '/ReplicationController': withMeta({ spec: struct({ selector: atomicStringMap, template: podTemplate }) }),
  'apps/Deployment': withMeta({ spec: workloadSpec, status: struct({ conditions }) }),
  'apps/ReplicaSet': withMeta({ spec: workloadSpec, status: struct({ conditions }) }),
  'apps/DaemonSet': withMeta({ spec: workloadSpec, status: struct({ conditions }) }),
  'apps/StatefulSet': withMeta({
    spec: struct({ selector: labelSelector, template: podTemplate, volumeClaimTemplates: atomicList() }),
    status: struct({ conditions }),
  }),
  'batch/Job': withMeta({ spec: jobSpec, status: struct({ conditions: atomicList() }) }),
  'batch/CronJob': withMeta({
    spec: struct({ jobTemplate: struct({ metadata: objectMeta, spec: jobSpec }) }),
  }),
  '/Namespace': withMeta({
    spec: struct({ finalizers: atomicList(scalar) }),
    status: struct({ conditions }),
  }),
  '/Service': withMeta({
    spec: struct({
      ports: keyed(['port', 'protocol'], struct({}), { protocol: 'TCP' }),
      selector: atomicStringMap,
      externalIPs: atomicList(scalar),
      clusterIPs: atomicList(scalar),
      ipFamilies: atomicList(scalar),
      loadBalancerSourceRanges: atomicList(scalar),
    }),
  }),
  '/ConfigMap': withMeta({ data: stringMap, binaryData: stringMap }),
  '/Secret': withMeta({ data: stringMap, stringData: stringMap }),
  '/ServiceAccount': withMeta({ secrets: keyed(['name'], struct({})), imagePullSecrets: atomicList() }),
  'networking.k8s.io/NetworkPolicy': withMeta({
    spec: struct({
      podSelector: labelSelector,
      ingress: atomicList(),
      egress: atomicList(),
      policyTypes: atomicList(scalar),
    }),
  }),
  'networking.k8s.io/Ingress': withMeta({ spec: struct({ rules: atomicList(), tls: atomicList() }) }),
  'rbac.authorization.k8s.io/Role': withMeta({ rules: atomicList() }),
  'rbac.authorization.k8s.io/ClusterRole': withMeta({ rules: atomicList() }),
  'rbac.authorization.k8s.io/RoleBinding': withMeta({ subjects: atomicList(), roleRef: struct({}, true) }),
  'rbac.authorization.k8s.io/ClusterRoleBinding': withMeta({
    subjects: atomicList(),
    roleRef: struct({}, true),
  }),
}

/** The merge schema of a kind; a kind not listed is schemaless but for its metadata. */
export function schemaFor(apiVersion: string, kind: string): SchemaNode {
  const group = apiVersion.includes('/') ? apiVersion.slice(0, apiVersion.indexOf('/')) : ''
  return KINDS[`${group}/${kind}`] ?? withMeta({})
}
