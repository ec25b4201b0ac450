/**
 * Kubernetes objects compared as sets: by kind, namespace and name, whatever order a tool wrote them in
 * (`kubectl kustomize` and Helm both reorder by kind), and as JSON sees them (no undefined fields).
 */
type Obj = Record<string, unknown>

export function identityOf(object: Obj): string {
  const metadata = object.metadata as { namespace?: string; name: string }
  return `${object.kind}/${metadata.namespace ?? ''}/${metadata.name}`
}

export function byIdentity(objects: readonly Obj[]): Obj[] {
  return (JSON.parse(JSON.stringify(objects)) as Obj[]).sort((a, b) =>
    identityOf(a).localeCompare(identityOf(b)),
  )
}
