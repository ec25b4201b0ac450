/**
 * The local control plane the leader-election tests share: a namespace for the Leases and a shop with
 * one failing and one passing Deployment, and the Lease as the API server holds it.
 */
import type { LeaseSpec } from '../../src/cluster/leader.js'
import { type ControlPlane, startControlPlane } from '../../src/control-plane/server.js'
import { deployment, kube } from './kube.js'

/** The namespace the Leases live in. */
export const LEASE_NS = 'plimsoll'

/** Short lease timings: the election's semantics, quickly (3 s lease, 2 s deadline, 1 s retry). */
export const QUICK_ELECTION = [
  '--lease-namespace',
  LEASE_NS,
  '--lease-duration',
  '3',
  '--renew-deadline',
  '2',
  '--retry-period',
  '1',
]

export const leasePath = (name: string) =>
  `/apis/coordination.k8s.io/v1/namespaces/${LEASE_NS}/leases/${name}`

export async function startLeaseCluster(): Promise<ControlPlane> {
  const cp = await startControlPlane()
  cp.load([
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: LEASE_NS } },
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop' } },
    deployment('web', 'shop', true),
    deployment('api', 'shop', false),
  ])
  return cp
}

/** The Lease's spec as stored, undefined while there is no Lease. */
export async function leaseSpec(cp: ControlPlane, name: string): Promise<LeaseSpec | undefined> {
  const r = await kube(cp, 'GET', leasePath(name))
  return r.status === 200 ? ((r.body.spec as LeaseSpec) ?? {}) : undefined
}
