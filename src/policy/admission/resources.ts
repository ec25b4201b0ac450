/**
 * Admission works on resources (`deployments`), manifests name kinds (`Deployment`): the table of the
 * built-in kinds' plural resource names and scopes, the fallback for custom resources, and how a policy's
 * resource rules (`resourceRules`, `excludeResourceRules`) match a request.
 */

export interface GroupVersionResource {
  group: string
  version: string
  resource: string
}

export interface GroupVersionKind {
  group: string
  version: string
  kind: string
}

export type Scope = 'Namespaced' | 'Cluster'

interface KindInfo {
  resource: string
  scope: Scope
}

/** group -> kind -> [plural, scope]: the built-in API of Kubernetes 1.33. */
const BUILT_IN: Record<string, Record<string, [string, Scope]>> = {
  '': {
    Binding: ['bindings', 'Namespaced'],
    ComponentStatus: ['componentstatuses', 'Cluster'],
    ConfigMap: ['configmaps', 'Namespaced'],
    Endpoints: ['endpoints', 'Namespaced'],
    Event: ['events', 'Namespaced'],
    LimitRange: ['limitranges', 'Namespaced'],
    Namespace: ['namespaces', 'Cluster'],
    Node: ['nodes', 'Cluster'],
    PersistentVolume: ['persistentvolumes', 'Cluster'],
    PersistentVolumeClaim: ['persistentvolumeclaims', 'Namespaced'],
    Pod: ['pods', 'Namespaced'],
    PodTemplate: ['podtemplates', 'Namespaced'],
    ReplicationController: ['replicationcontrollers', 'Namespaced'],
    ResourceQuota: ['resourcequotas', 'Namespaced'],
    Secret: ['secrets', 'Namespaced'],
    Service: ['services', 'Namespaced'],
    ServiceAccount: ['serviceaccounts', 'Namespaced'],
  },
  'admissionregistration.k8s.io': {
    MutatingAdmissionPolicy: ['mutatingadmissionpolicies', 'Cluster'],
    MutatingAdmissionPolicyBinding: ['mutatingadmissionpolicybindings', 'Cluster'],
    MutatingWebhookConfiguration: ['mutatingwebhookconfigurations', 'Cluster'],
    ValidatingAdmissionPolicy: ['validatingadmissionpolicies', 'Cluster'],
    ValidatingAdmissionPolicyBinding: ['validatingadmissionpolicybindings', 'Cluster'],
    ValidatingWebhookConfiguration: ['validatingwebhookconfigurations', 'Cluster'],
  },
  'apiextensions.k8s.io': { CustomResourceDefinition: ['customresourcedefinitions', 'Cluster'] },
  'apiregistration.k8s.io': { APIService: ['apiservices', 'Cluster'] },
  apps: {
    ControllerRevision: ['controllerrevisions', 'Namespaced'],
    DaemonSet: ['daemonsets', 'Namespaced'],
    Deployment: ['deployments', 'Namespaced'],
    ReplicaSet: ['replicasets', 'Namespaced'],
    StatefulSet: ['statefulsets', 'Namespaced'],
  },
  'authentication.k8s.io': {
    SelfSubjectReview: ['selfsubjectreviews', 'Cluster'],
    TokenReview: ['tokenreviews', 'Cluster'],
  },
  'authorization.k8s.io': {
    LocalSubjectAccessReview: ['localsubjectaccessreviews', 'Namespaced'],
    SelfSubjectAccessReview: ['selfsubjectaccessreviews', 'Cluster'],
    SelfSubjectRulesReview: ['selfsubjectrulesreviews', 'Cluster'],
    SubjectAccessReview: ['subjectaccessreviews', 'Cluster'],
  },
  autoscaling: { HorizontalPodAutoscaler: ['horizontalpodautoscalers', 'Namespaced'] },
  batch: { CronJob: ['cronjobs', 'Namespaced'], Job: ['jobs', 'Namespaced'] },
  'certificates.k8s.io': {
    CertificateSigningRequest: ['certificatesigningrequests', 'Cluster'],
    ClusterTrustBundle: ['clustertrustbundles', 'Cluster'],
  },
  'coordination.k8s.io': {
    Lease: ['leases', 'Namespaced'],
    LeaseCandidate: ['leasecandidates', 'Namespaced'],
  },
  'discovery.k8s.io': { EndpointSlice: ['endpointslices', 'Namespaced'] },
  'events.k8s.io': { Event: ['events', 'Namespaced'] },
  'flowcontrol.apiserver.k8s.io': {
    FlowSchema: ['flowschemas', 'Cluster'],
    PriorityLevelConfiguration: ['prioritylevelconfigurations', 'Cluster'],
  },
  'networking.k8s.io': {
    IPAddress: ['ipaddresses', 'Cluster'],
    Ingress: ['ingresses', 'Namespaced'],
    IngressClass: ['ingressclasses', 'Cluster'],
    NetworkPolicy: ['networkpolicies', 'Namespaced'],
    ServiceCIDR: ['servicecidrs', 'Cluster'],
  },
  'node.k8s.io': { RuntimeClass: ['runtimeclasses', 'Cluster'] },
  policy: {
    PodDisruptionBudget: ['poddisruptionbudgets', 'Namespaced'],
    PodSecurityPolicy: ['podsecuritypolicies', 'Cluster'],
  },
  'rbac.authorization.k8s.io': {
    ClusterRole: ['clusterroles', 'Cluster'],
    ClusterRoleBinding: ['clusterrolebindings', 'Cluster'],
    Role: ['roles', 'Namespaced'],
    RoleBinding: ['rolebindings', 'Namespaced'],
  },
  'resource.k8s.io': {
    DeviceClass: ['deviceclasses', 'Cluster'],
    ResourceClaim: ['resourceclaims', 'Namespaced'],
    ResourceClaimTemplate: ['resourceclaimtemplates', 'Namespaced'],
    ResourceSlice: ['resourceslices', 'Cluster'],
  },
  'scheduling.k8s.io': { PriorityClass: ['priorityclasses', 'Cluster'] },
  'storage.k8s.io': {
    CSIDriver: ['csidrivers', 'Cluster'],
    CSINode: ['csinodes', 'Cluster'],
    CSIStorageCapacity: ['csistoragecapacities', 'Namespaced'],
    StorageClass: ['storageclasses', 'Cluster'],
    VolumeAttachment: ['volumeattachments', 'Cluster'],
    VolumeAttributesClass: ['volumeattributesclasses', 'Cluster'],
  },
  'storagemigration.k8s.io': { StorageVersionMigration: ['storageversionmigrations', 'Cluster'] },
}

/**
 * Lowercase plural of a custom kind, as `kubectl` and CRD authors almost always spell it: `Policy` ->
 * `policies`, `Ingress` -> `ingresses`, `ReplicaLimit` -> `replicalimits`.
 */
export function guessPlural(kind: string): string {
  const lower = kind.toLowerCase()
  if (/[^aeiou]y$/.test(lower)) return `${lower.slice(0, -1)}ies`
  if (/(s|x|z|ch|sh)$/.test(lower)) return `${lower}es`
  return `${lower}s`
}

/**
 * The resource name and scope of a kind. A custom kind gets the guessed plural, and a scope guessed from
 * the object: namespaced when it names a namespace (the API server would know from the CRD).
 */
export function kindInfo(group: string, kind: string, hasNamespace: boolean): KindInfo {
  const known = BUILT_IN[group]?.[kind]
  if (known) return { resource: known[0], scope: known[1] }
  return { resource: guessPlural(kind), scope: hasNamespace ? 'Namespaced' : 'Cluster' }
}

export function parseApiVersion(apiVersion: string): { group: string; version: string } {
  const slash = apiVersion.indexOf('/')
  return slash < 0
    ? { group: '', version: apiVersion }
    : { group: apiVersion.slice(0, slash), version: apiVersion.slice(slash + 1) }
}

export type Operation = 'CREATE' | 'UPDATE' | 'DELETE' | 'CONNECT'
export const OPERATIONS: readonly Operation[] = ['CREATE', 'UPDATE', 'DELETE', 'CONNECT']

/** One entry of `resourceRules` / `excludeResourceRules` (admissionregistration NamedRuleWithOperations). */
export interface ResourceRule {
  apiGroups: string[]
  apiVersions: string[]
  resources: string[]
  operations: string[]
  resourceNames: string[]
  scope: 'Cluster' | 'Namespaced' | '*'
}

/** What of a request resource rules look at. */
export interface RuleSubject {
  resource: GroupVersionResource
  subResource: string
  operation: Operation
  name: string
  scope: Scope
}

function listMatches(list: readonly string[], value: string): boolean {
  return list.some((x) => x === '*' || x === value)
}

/**
 * `pods` matches the resource only, `pods/*` its subresources only, `*` every resource (no subresource),
 * `*\/*` everything, `*\/status` every status subresource (the API server's Rule semantics).
 */
function resourceMatches(patterns: readonly string[], resource: string, subResource: string): boolean {
  return patterns.some((pattern) => {
    const [res = '', sub] = pattern.split('/', 2)
    if (res !== '*' && res !== resource) return false
    if (sub === undefined) return subResource === ''
    return sub === '*' || sub === subResource
  })
}

export function ruleMatches(rule: ResourceRule, subject: RuleSubject, ignoreVersion = false): boolean {
  const { resource } = subject
  return (
    listMatches(rule.operations, subject.operation) &&
    listMatches(rule.apiGroups, resource.group) &&
    (ignoreVersion || listMatches(rule.apiVersions, resource.version)) &&
    resourceMatches(rule.resources, resource.resource, subject.subResource) &&
    (rule.scope === '*' || rule.scope === subject.scope) &&
    (rule.resourceNames.length === 0 || rule.resourceNames.includes(subject.name))
  )
}

export type MatchPolicy = 'Equivalent' | 'Exact'

/**
 * Whether any rule matches. With matchPolicy Equivalent the API server also matches a rule naming the
 * same group and resource at another version (it converts the object to that version first); offline
 * there is no conversion, so the object is evaluated as written.
 */
export function anyRuleMatches(
  rules: readonly ResourceRule[],
  subject: RuleSubject,
  matchPolicy: MatchPolicy,
): boolean {
  if (rules.some((rule) => ruleMatches(rule, subject))) return true
  return matchPolicy === 'Equivalent' && rules.some((rule) => ruleMatches(rule, subject, true))
}
