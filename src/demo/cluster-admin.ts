/**
 * The demo's clusters changed by hand, as an admin would with kubectl: through the control plane's
 * API, so that the watchers see the change as a watch event like any other.
 */
import { request } from 'node:https'
import type { ControlPlane } from '../control-plane/server.js'

/** DELETE `path` (e.g. /api/v1/namespaces/x/pods/y) as the cluster's admin; a failure is logged. */
export function deleteAsAdmin(cp: ControlPlane, path: string, log?: (line: string) => void): void {
  request(`${cp.url}${path}`, {
    method: 'DELETE',
    ca: cp.ca,
    headers: { authorization: `Bearer ${cp.admin.token}` },
  })
    .on('response', (res) => res.resume())
    .on('error', (err) => log?.(`demo cluster: ${err.message}`))
    .end()
}
