/**
 * The pieces every Plimsoll Pod shares: a securityContext at the Restricted Pod Security level
 * (non-root numeric user, read-only root filesystem with an emptyDir for /tmp, no privilege escalation,
 * every capability dropped, the runtime's default seccomp profile), probes on the real health
 * endpoints, and the labels that tie a Deployment to its Service, PodDisruptionBudget and policies.
 */

/** The image's numeric user and group (no name to resolve: runAsNonRoot can check it). */
export const USER_ID = 10001

export type Obj = Record<string, unknown>

export function labelsOf(component: string): Record<string, string> {
  return {
    'app.kubernetes.io/name': 'plimsoll',
    'app.kubernetes.io/component': component,
    'app.kubernetes.io/part-of': 'plimsoll',
  }
}

export function selectorOf(component: string): Record<string, string> {
  return { 'app.kubernetes.io/name': 'plimsoll', 'app.kubernetes.io/component': component }
}

export const podSecurityContext: Obj = {
  runAsNonRoot: true,
  runAsUser: USER_ID,
  runAsGroup: USER_ID,
  fsGroup: USER_ID,
  seccompProfile: { type: 'RuntimeDefault' },
}

export const containerSecurityContext: Obj = {
  runAsNonRoot: true,
  runAsUser: USER_ID,
  runAsGroup: USER_ID,
  allowPrivilegeEscalation: false,
  privileged: false,
  readOnlyRootFilesystem: true,
  capabilities: { drop: ['ALL'] },
  seccompProfile: { type: 'RuntimeDefault' },
}

/** Requests and limits, with where the figures come from. */
export interface Sizing {
  cpuRequest: string
  cpuLimit: string
  memoryRequest: string
  memoryLimit: string
}

export function resourcesOf(sizing: Sizing): Obj {
  return {
    requests: { cpu: sizing.cpuRequest, memory: sizing.memoryRequest },
    limits: { cpu: sizing.cpuLimit, memory: sizing.memoryLimit },
  }
}

/** /readyz for readiness, /healthz for liveness, on the served port (HTTPS: every part serves TLS). */
export function probesOf(port: string): Obj {
  const get = (path: string) => ({ path, port, scheme: 'HTTPS' })
  return {
    readinessProbe: { httpGet: get('/readyz'), periodSeconds: 10, timeoutSeconds: 5, failureThreshold: 3 },
    livenessProbe: {
      httpGet: get('/healthz'),
      initialDelaySeconds: 10,
      periodSeconds: 20,
      timeoutSeconds: 5,
      failureThreshold: 3,
    },
  }
}

export interface DeploymentSpec {
  name: string
  namespace: string
  component: string
  replicas: number
  serviceAccount: string
  /** false when the part never calls the API server */
  automountToken: boolean
  container: Obj
  volumes: Obj[]
  /** Recreate for a part that holds a ReadWriteOnce volume */
  recreate?: boolean
  /** why this part runs one replica: an exception to the single-replica check, on the Deployment */
  singleReplicaReason?: string
}

/** /tmp is the only place a read-only root filesystem lets a process write. */
export const TMP_VOLUME: Obj = { name: 'tmp', emptyDir: { sizeLimit: '64Mi' } }
export const TMP_MOUNT: Obj = { name: 'tmp', mountPath: '/tmp' }

export function deployment(spec: DeploymentSpec): Obj {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      name: spec.name,
      namespace: spec.namespace,
      labels: labelsOf(spec.component),
      ...(spec.singleReplicaReason
        ? { annotations: { 'plimsoll.dev/except.single-replica': spec.singleReplicaReason } }
        : {}),
    },
    spec: {
      replicas: spec.replicas,
      selector: { matchLabels: selectorOf(spec.component) },
      ...(spec.recreate ? { strategy: { type: 'Recreate' } } : {}),
      template: {
        metadata: { labels: labelsOf(spec.component) },
        spec: {
          serviceAccountName: spec.serviceAccount,
          automountServiceAccountToken: spec.automountToken,
          securityContext: podSecurityContext,
          // Replicas on different nodes where the scheduler can: one node's drain takes one of them.
          ...(spec.replicas > 1
            ? {
                topologySpreadConstraints: [
                  {
                    maxSkew: 1,
                    topologyKey: 'kubernetes.io/hostname',
                    whenUnsatisfiable: 'ScheduleAnyway',
                    labelSelector: { matchLabels: selectorOf(spec.component) },
                  },
                ],
              }
            : {}),
          containers: [spec.container],
          volumes: [TMP_VOLUME, ...spec.volumes],
        },
      },
    },
  }
}
