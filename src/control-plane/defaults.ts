/**
 * What the API server adds to an object before storing it, in two steps as the server does:
 * defaulting (which the writer's managedFields entry then owns: imagePullPolicy, restartPolicy,
 * Deployment strategy...) and the built-in admission plugins that run afterwards and own nothing
 * (ServiceAccount: the kube-api-access volume; DefaultTolerationSeconds; Priority; a Service's
 * cluster IP). The ServiceAccount volume has upstream's three sources, not the recorded fork's four.
 */
import { randomInt } from 'node:crypto'
import type { ResourceType } from './catalog.js'
import { isObj, type Obj, objAt, strAt } from './types.js'
import { defaultWebhookConfiguration } from './webhook-config.js'

const SUFFIX_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789'

/** A generateName suffix: five characters from the API server's alphabet. */
export function randomSuffix(length = 5): string {
  let s = ''
  for (let i = 0; i < length; i++) s += SUFFIX_ALPHABET[randomInt(SUFFIX_ALPHABET.length)]
  return s
}

function setDefault(o: Obj, key: string, value: unknown): void {
  if (o[key] === undefined || o[key] === null) o[key] = value
}

function imagePullPolicy(image: string): string {
  const last = image.split('/').pop() ?? ''
  if (last.includes('@')) return 'IfNotPresent'
  const tag = last.includes(':') ? last.slice(last.lastIndexOf(':') + 1) : ''
  return tag === '' || tag === 'latest' ? 'Always' : 'IfNotPresent'
}

function defaultContainers(list: unknown): void {
  if (!Array.isArray(list)) return
  for (const c of list) {
    if (!isObj(c)) continue
    setDefault(c, 'resources', {})
    setDefault(c, 'terminationMessagePath', '/dev/termination-log')
    setDefault(c, 'terminationMessagePolicy', 'File')
    setDefault(c, 'imagePullPolicy', imagePullPolicy(strAt(c, 'image') ?? ''))
    if (Array.isArray(c.ports)) for (const p of c.ports) if (isObj(p)) setDefault(p, 'protocol', 'TCP')
  }
}

function defaultPodSpec(spec: Obj | undefined): void {
  if (!spec) return
  defaultContainers(spec.containers)
  defaultContainers(spec.initContainers)
  defaultContainers(spec.ephemeralContainers)
  setDefault(spec, 'restartPolicy', 'Always')
  setDefault(spec, 'terminationGracePeriodSeconds', 30)
  setDefault(spec, 'dnsPolicy', 'ClusterFirst')
  setDefault(spec, 'securityContext', {})
  setDefault(spec, 'schedulerName', 'default-scheduler')
}

function defaultTemplate(spec: Obj | undefined): void {
  const template = objAt(spec, 'template')
  if (!template) return
  const meta = objAt(template, 'metadata') ?? {}
  if (!('creationTimestamp' in meta)) template.metadata = { creationTimestamp: null, ...meta }
  defaultPodSpec(objAt(template, 'spec'))
}

/** API defaulting: runs before managedFields are computed, so the writer owns these fields. */
export function applyDefaults(type: ResourceType, obj: Obj): void {
  const spec = objAt(obj, 'spec')
  switch (type.storageKey) {
    case 'admissionregistration.k8s.io/validatingwebhookconfigurations':
      defaultWebhookConfiguration(obj, false)
      break
    case 'admissionregistration.k8s.io/mutatingwebhookconfigurations':
      defaultWebhookConfiguration(obj, true)
      break
    case '/pods':
      defaultPodSpec(spec)
      if (spec) setDefault(spec, 'enableServiceLinks', true)
      break
    case 'apps/deployments':
      if (!spec) break
      setDefault(spec, 'replicas', 1)
      setDefault(spec, 'strategy', {})
      if (isObj(spec.strategy)) {
        setDefault(spec.strategy, 'type', 'RollingUpdate')
        if (spec.strategy.type === 'RollingUpdate') {
          setDefault(spec.strategy, 'rollingUpdate', {})
          const ru = spec.strategy.rollingUpdate
          if (isObj(ru)) {
            setDefault(ru, 'maxUnavailable', '25%')
            setDefault(ru, 'maxSurge', '25%')
          }
        }
      }
      setDefault(spec, 'revisionHistoryLimit', 10)
      setDefault(spec, 'progressDeadlineSeconds', 600)
      defaultTemplate(spec)
      setDefault(obj, 'status', {})
      break
    case 'apps/replicasets':
    case '/replicationcontrollers':
      if (!spec) break
      setDefault(spec, 'replicas', 1)
      defaultTemplate(spec)
      setDefault(obj, 'status', { replicas: 0 })
      break
    case 'apps/statefulsets':
      if (!spec) break
      setDefault(spec, 'replicas', 1)
      setDefault(spec, 'podManagementPolicy', 'OrderedReady')
      setDefault(spec, 'updateStrategy', { type: 'RollingUpdate', rollingUpdate: { partition: 0 } })
      setDefault(spec, 'revisionHistoryLimit', 10)
      setDefault(spec, 'persistentVolumeClaimRetentionPolicy', {
        whenDeleted: 'Retain',
        whenScaled: 'Retain',
      })
      defaultTemplate(spec)
      setDefault(obj, 'status', { replicas: 0, availableReplicas: 0 })
      break
    case 'apps/daemonsets':
      if (!spec) break
      setDefault(spec, 'updateStrategy', {
        type: 'RollingUpdate',
        rollingUpdate: { maxUnavailable: 1, maxSurge: 0 },
      })
      setDefault(spec, 'revisionHistoryLimit', 10)
      defaultTemplate(spec)
      setDefault(obj, 'status', {
        currentNumberScheduled: 0,
        numberMisscheduled: 0,
        desiredNumberScheduled: 0,
        numberReady: 0,
      })
      break
    case 'batch/jobs':
      if (!spec) break
      setDefault(spec, 'parallelism', 1)
      setDefault(spec, 'completions', 1)
      setDefault(spec, 'backoffLimit', 6)
      setDefault(spec, 'completionMode', 'NonIndexed')
      setDefault(spec, 'suspend', false)
      defaultTemplate(spec)
      break
    case 'batch/cronjobs':
      if (!spec) break
      setDefault(spec, 'concurrencyPolicy', 'Allow')
      setDefault(spec, 'suspend', false)
      setDefault(spec, 'successfulJobsHistoryLimit', 3)
      setDefault(spec, 'failedJobsHistoryLimit', 1)
      defaultTemplate(objAt(objAt(spec, 'jobTemplate'), 'spec'))
      break
    case '/services':
      if (!spec) break
      setDefault(spec, 'type', 'ClusterIP')
      setDefault(spec, 'sessionAffinity', 'None')
      setDefault(spec, 'internalTrafficPolicy', 'Cluster')
      if (Array.isArray(spec.ports))
        for (const p of spec.ports)
          if (isObj(p)) {
            setDefault(p, 'protocol', 'TCP')
            setDefault(p, 'targetPort', p.port)
          }
      break
    case '/secrets':
      if (!obj.type) obj.type = 'Opaque'
      break
    case '/namespaces': {
      const meta = objAt(obj, 'metadata') ?? {}
      const labels = objAt(meta, 'labels') ?? {}
      labels['kubernetes.io/metadata.name'] = strAt(meta, 'name') ?? ''
      meta.labels = labels
      obj.spec = { finalizers: ['kubernetes'], ...(spec ?? {}) }
      obj.status = { phase: 'Active' }
      break
    }
  }
}

function qosClass(spec: Obj | undefined): string {
  const containers = Array.isArray(spec?.containers) ? spec.containers.filter(isObj) : []
  let anyRequest = false
  let guaranteed = containers.length > 0
  for (const c of containers) {
    const res = objAt(c, 'resources') ?? {}
    const req = objAt(res, 'requests') ?? {}
    const lim = objAt(res, 'limits') ?? {}
    if (Object.keys(req).length || Object.keys(lim).length) anyRequest = true
    for (const r of ['cpu', 'memory']) {
      if (lim[r] === undefined || (req[r] !== undefined && req[r] !== lim[r])) guaranteed = false
    }
  }
  if (!anyRequest) return 'BestEffort'
  return guaranteed ? 'Guaranteed' : 'Burstable'
}

/** Allocates cluster IPs from 10.0.0.0/24, like the recorded server's service range. */
export class ClusterIpAllocator {
  private next = 2
  allocate(): string {
    const n = this.next++
    return `10.0.${Math.floor(n / 254) % 256}.${(n % 254) + 1}`
  }
}

/** Built-in admission (mutating) on create: what the plugins add after defaulting. */
export function admitOnCreate(type: ResourceType, obj: Obj, ips: ClusterIpAllocator): void {
  const spec = objAt(obj, 'spec')
  if (type.storageKey === '/pods' && spec) {
    const sa = strAt(spec, 'serviceAccountName') ?? strAt(spec, 'serviceAccount') ?? 'default'
    spec.serviceAccountName = sa
    spec.serviceAccount = sa
    if (spec.automountServiceAccountToken !== false) {
      const volName = `kube-api-access-${randomSuffix()}`
      const volumes = Array.isArray(spec.volumes) ? spec.volumes : []
      volumes.push({
        name: volName,
        projected: {
          sources: [
            { serviceAccountToken: { expirationSeconds: 3607, path: 'token' } },
            { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
            {
              downwardAPI: {
                items: [
                  { path: 'namespace', fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } },
                ],
              },
            },
          ],
          defaultMode: 420,
        },
      })
      spec.volumes = volumes
      for (const list of [spec.containers, spec.initContainers]) {
        if (!Array.isArray(list)) continue
        for (const c of list) {
          if (!isObj(c)) continue
          const mounts = Array.isArray(c.volumeMounts) ? c.volumeMounts : []
          mounts.push({
            name: volName,
            readOnly: true,
            mountPath: '/var/run/secrets/kubernetes.io/serviceaccount',
          })
          c.volumeMounts = mounts
        }
      }
    }
    const tolerations = Array.isArray(spec.tolerations) ? spec.tolerations.filter(isObj) : []
    for (const key of ['node.kubernetes.io/not-ready', 'node.kubernetes.io/unreachable']) {
      if (!tolerations.some((t) => t.key === key))
        tolerations.push({ key, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 })
    }
    spec.tolerations = tolerations
    setDefault(spec, 'priority', 0)
    setDefault(spec, 'preemptionPolicy', 'PreemptLowerPriority')
    const status = objAt(obj, 'status') ?? {}
    obj.status = { phase: strAt(status, 'phase') ?? 'Pending', ...status, qosClass: qosClass(spec) }
  }
  if (type.storageKey === '/services' && spec) {
    const t = strAt(spec, 'type')
    if (t !== 'ExternalName' && spec.clusterIP !== 'None') {
      if (!strAt(spec, 'clusterIP')) spec.clusterIP = ips.allocate()
      spec.clusterIPs = [spec.clusterIP]
      setDefault(spec, 'ipFamilies', ['IPv4'])
      setDefault(spec, 'ipFamilyPolicy', 'SingleStack')
    }
    setDefault(obj, 'status', { loadBalancer: {} })
  }
}
