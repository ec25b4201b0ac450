/**
 * The NetworkPolicy of one part: ingress only on the port it serves, egress only to DNS, the API
 * server (for the parts that watch it), PostgreSQL (for the parts on the shared store) and the ports
 * named (the agent's central server). The API server's and PostgreSQL's addresses are the cluster's:
 * their rules name the port only, which an operator narrows with an ipBlock.
 */
import { labelsOf, type Obj, selectorOf } from './pod.js'

export interface NetworkOptions {
  name: string
  namespace: string
  component: string
  /** the served port; none: no ingress at all */
  ingressPort: number | undefined
  /** egress to the API server (443 and 6443: the Service's port and the usual control-plane port) */
  apiServer: boolean
  /** egress to PostgreSQL on this port */
  postgres?: number | undefined
  /** further egress ports */
  egressPorts?: number[]
}

const tcp = (port: number) => ({ protocol: 'TCP', port })

export function networkPolicy(options: NetworkOptions): Obj {
  const egress: Obj[] = [
    {
      // DNS, to the cluster's resolver only.
      to: [
        {
          namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } },
          podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } },
        },
      ],
      ports: [
        { protocol: 'UDP', port: 53 },
        { protocol: 'TCP', port: 53 },
      ],
    },
  ]
  const ports = [
    ...(options.apiServer ? [443, 6443] : []),
    ...(options.postgres !== undefined ? [options.postgres] : []),
    ...(options.egressPorts ?? []),
  ]
  const unique = [...new Set(ports)].sort((a, b) => a - b)
  if (unique.length > 0) egress.push({ ports: unique.map(tcp) })
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: options.name, namespace: options.namespace, labels: labelsOf(options.component) },
    spec: {
      podSelector: { matchLabels: selectorOf(options.component) },
      policyTypes: ['Ingress', 'Egress'],
      ingress: options.ingressPort === undefined ? [] : [{ ports: [tcp(options.ingressPort)] }],
      egress,
    },
  }
}
