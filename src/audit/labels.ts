/**
 * The labels a detection takes from the audit event it was found in, whatever found it (Falco's rules,
 * Plimsoll's audit rules, the anomaly baselines): who did what to which object, and in which cluster.
 * A missing or empty value is left out.
 */
import type { AuditEvent } from './types.js'

function label(labels: Record<string, string>, key: string, v: unknown): void {
  if (typeof v === 'string' && v !== '') labels[key] = v
}

/** Adds the verb, resource, namespace and name of the event, then `cluster`, to `labels`. */
export function addObjectLabels(
  labels: Record<string, string>,
  event: AuditEvent,
  cluster: string | undefined,
): Record<string, string> {
  label(labels, 'verb', event.verb)
  label(labels, 'resource', event.objectRef?.resource)
  label(labels, 'namespace', event.objectRef?.namespace)
  label(labels, 'name', event.objectRef?.name)
  label(labels, 'cluster', cluster)
  return labels
}

/**
 * Adds the user, verb, resource, namespace, name and cluster of the event to `labels`: the cluster is
 * the one the event names (its `cluster_name` annotation), else `cluster`.
 */
export function addEventLabels(
  labels: Record<string, string>,
  event: AuditEvent,
  cluster: string | undefined,
): Record<string, string> {
  label(labels, 'user', event.user?.username)
  return addObjectLabels(labels, event, event.annotations?.cluster_name ?? cluster)
}
