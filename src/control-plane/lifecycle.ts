/**
 * What controllers and the API server itself do after some writes, done synchronously here so tests
 * see a settled state at once: a new namespace gets its kube-root-ca.crt ConfigMap and default
 * ServiceAccount (kube-controller-manager); a CRD becomes Established and its resources are served
 * (apiextensions); deleting a namespace deletes its contents, deleting a CRD its custom objects.
 */
import type { ResourceType } from './catalog.js'
import type { Shared } from './context.js'
import { recordUpdate } from './managed-fields.js'
import { objectOf } from './objects.js'
import { extractFields } from './selectors.js'
import { isObj, type Obj, objAt, strAt } from './types.js'

const ROOT_CA_DESCRIPTION =
  'Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes clusters.'

function now(): string {
  return new Date().toISOString().replace(/\.\d{3}Z$/, 'Z')
}

/** Stores an object as a controller would (its own field manager), without admission. */
export function systemCreate(shared: Shared, type: ResourceType, obj: Obj, manager: string): void {
  const meta = objAt(obj, 'metadata') ?? {}
  if (
    shared.store.get(
      type.storageKey,
      type.namespaced ? String(meta.namespace ?? '') : '',
      String(meta.name ?? ''),
    )
  )
    return
  meta.creationTimestamp = now()
  obj.metadata = meta
  recordUpdate(type, null, obj, manager, type.apiVersion)
  shared.store.put(type, obj, (o) => extractFields(type, o))
}

export function namespaceCreated(shared: Shared, namespace: string, caPem: string): void {
  const cm = shared.registry.lookup('', 'v1', 'configmaps')
  const sa = shared.registry.lookup('', 'v1', 'serviceaccounts')
  if (cm)
    systemCreate(
      shared,
      cm,
      {
        kind: 'ConfigMap',
        apiVersion: 'v1',
        metadata: {
          name: 'kube-root-ca.crt',
          namespace,
          annotations: { 'kubernetes.io/description': ROOT_CA_DESCRIPTION },
        },
        data: { 'ca.crt': caPem },
      },
      'kube-controller-manager',
    )
  if (sa)
    systemCreate(
      shared,
      sa,
      { kind: 'ServiceAccount', apiVersion: 'v1', metadata: { name: 'default', namespace } },
      'kube-controller-manager',
    )
}

/** Deletes every namespaced object of a namespace (the namespace controller's job). */
export function namespaceDeleted(shared: Shared, namespace: string): void {
  for (const t of shared.registry.all()) {
    if (!t.namespaced || t.traits.virtual) continue
    const preferred = shared.registry.byResource(t.group, t.resource)
    if (preferred !== t) continue
    for (const name of shared.store.namesIn(t.storageKey, namespace)) shared.store.remove(t, namespace, name)
  }
}

/** The apiextensions controllers: accept the names, mark Established, serve the resources. */
export function establishCrd(shared: Shared, crdType: ResourceType, name: string): void {
  const stored = shared.store.get(crdType.storageKey, '', name)
  if (!stored) return
  const crd = objectOf(crdType, stored)
  const prev = objectOf(crdType, stored)
  const spec = objAt(crd, 'spec') ?? {}
  const names = objAt(spec, 'names') ?? {}
  // The controllers accept a new CRD's names within milliseconds (the recorded server in the same
  // second): the time of the write that created it, so that a slow run crossing a second does not
  // reorder its managedFields (sorted by second, then manager).
  const written = (objAt(crd, 'metadata')?.managedFields as { time?: unknown }[] | undefined) ?? []
  const t =
    written
      .map((e) => e.time)
      .filter((x): x is string => typeof x === 'string')
      .sort()
      .at(-1) ?? now()
  const accepted: Obj = { ...names }
  if (!accepted.singular) accepted.singular = String(strAt(names, 'kind') ?? '').toLowerCase()
  if (!accepted.listKind) accepted.listKind = `${strAt(names, 'kind') ?? ''}List`
  crd.status = {
    conditions: [
      {
        type: 'NamesAccepted',
        status: 'True',
        lastTransitionTime: t,
        reason: 'NoConflicts',
        message: 'no conflicts found',
      },
      {
        type: 'Established',
        status: 'True',
        lastTransitionTime: t,
        reason: 'InitialNamesAccepted',
        message: 'the initial names have been accepted',
      },
    ],
    acceptedNames: {
      plural: accepted.plural,
      singular: accepted.singular,
      ...(accepted.shortNames ? { shortNames: accepted.shortNames } : {}),
      kind: accepted.kind,
      listKind: accepted.listKind,
      ...(accepted.categories ? { categories: accepted.categories } : {}),
    },
    storedVersions: objAt(prev, 'status')?.storedVersions ?? [],
  }
  recordUpdate(crdType, prev, crd, 'kube-apiserver', crdType.apiVersion, 'status', t)
  shared.store.put(crdType, crd, (o) => extractFields(crdType, o))
  shared.registry.defineCustom(crd)
}

/** A CRD as the API server stores it on create: conversion defaulted, status not yet accepted. */
export function prepareCrd(crd: Obj): void {
  const spec = objAt(crd, 'spec') ?? {}
  if (!objAt(spec, 'conversion')) spec.conversion = { strategy: 'None' }
  const versions = Array.isArray(spec.versions) ? spec.versions : []
  const storage = versions.find((v): v is Obj => isObj(v) && v.storage === true)
  crd.status = {
    conditions: null,
    acceptedNames: { plural: '', kind: '' },
    storedVersions: storage ? [String(storage.name ?? '')] : [],
  }
}

export function crdDeleted(shared: Shared, crd: Obj): void {
  const name = strAt(objAt(crd, 'metadata'), 'name') ?? ''
  const types = shared.registry.removeCustom(name)
  const first = types[0]
  if (first) {
    for (const ns of new Set([...shared.store.scan(first.storageKey)].map((o) => o.namespace))) {
      for (const n of shared.store.namesIn(first.storageKey, ns)) shared.store.remove(first, ns, n)
    }
  }
}
