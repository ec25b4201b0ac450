/**
 * What stops working or becomes required across releases beyond API versions
 * (policies/data/upgrade-features.yaml): in-tree volume plugins, annotations replaced by fields,
 * removed admission controllers and runtimes. Each entry's `detect` becomes a function that finds its
 * uses in one object, with the field path of each.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { BUILTIN_DATA_DIR, versionField } from '../policy/api-lifecycle.js'
import { ConfigReader, loadYamlConfig, type Raw, YamlConfigError } from '../policy/yaml-fields.js'
import type { PodTemplateTable } from '../resources/pod-templates.js'
import { getPath } from '../resources/pod-templates.js'
import { groupOf, type PathSegment } from '../resources/types.js'

export const BUILTIN_UPGRADE_FEATURES = join(BUILTIN_DATA_DIR, 'upgrade-features.yaml')

export class UpgradeFeaturesError extends YamlConfigError {}

/** One use of a feature in an object: where, and what was found there. */
export interface FeatureUse {
  path: PathSegment[]
  found: string
}

/** The object, and its pod spec and pod metadata paths when its kind carries a pod template. */
export interface ObjectView {
  object: Record<string, unknown>
  pod?: { spec: PathSegment[]; metadata: PathSegment[] }
}

export interface UpgradeFeature {
  id: string
  title: string
  deprecatedIn?: number
  breaksIn?: number
  instead: string
  /** where to look when manifests cannot show it */
  cannotSee?: string
  /** absent: not visible in manifests */
  detect?: (view: ObjectView) => FeatureUse[]
  line: number
}

const DETECTORS = [
  'kinds',
  'volume',
  'provisioner',
  'hostPath',
  'annotation',
  'podField',
  'nodeLabel',
  'field',
]

function isMap(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

function listAt(object: unknown, path: readonly PathSegment[]): unknown[] {
  const v = getPath(object, path)
  return Array.isArray(v) ? v : []
}

/** A pod's volumes with their paths, or, for a PersistentVolume, its spec as the one source. */
function volumeSources(view: ObjectView): { path: PathSegment[]; source: Record<string, unknown> }[] {
  if (view.object.kind === 'PersistentVolume' && isMap(view.object.spec))
    return [{ path: ['spec'], source: view.object.spec }]
  if (!view.pod) return []
  const base = [...view.pod.spec, 'volumes']
  return listAt(view.object, base).flatMap((v, i) => (isMap(v) ? [{ path: [...base, i], source: v }] : []))
}

/** Every annotation of the object and of its pod template, with its path. */
function annotations(view: ObjectView): { path: PathSegment[]; key: string }[] {
  const places: PathSegment[][] = [['metadata', 'annotations']]
  // A Pod's own metadata is its pod metadata: looked at once.
  if (view.pod && view.pod.metadata.join('.') !== 'metadata')
    places.push([...view.pod.metadata, 'annotations'])
  return places.flatMap((p) => {
    const a = getPath(view.object, p)
    return isMap(a) ? Object.keys(a).map((key) => ({ path: [...p, key], key })) : []
  })
}

/** Node label keys a pod names: nodeSelector keys, node affinity expressions, topology keys. */
function nodeLabelKeys(view: ObjectView): { path: PathSegment[]; key: string }[] {
  if (!view.pod) return []
  const spec = view.pod.spec
  const out: { path: PathSegment[]; key: string }[] = []
  const selector = getPath(view.object, [...spec, 'nodeSelector'])
  if (isMap(selector))
    for (const key of Object.keys(selector)) out.push({ path: [...spec, 'nodeSelector', key], key })
  const required = [
    ...spec,
    'affinity',
    'nodeAffinity',
    'requiredDuringSchedulingIgnoredDuringExecution',
    'nodeSelectorTerms',
  ]
  const terms: PathSegment[][] = listAt(view.object, required).map((_, i) => [...required, i])
  const preferred = [...spec, 'affinity', 'nodeAffinity', 'preferredDuringSchedulingIgnoredDuringExecution']
  listAt(view.object, preferred).forEach((_, i) => {
    terms.push([...preferred, i, 'preference'])
  })
  for (const term of terms) {
    listAt(view.object, [...term, 'matchExpressions']).forEach((e, j) => {
      if (isMap(e) && typeof e.key === 'string')
        out.push({ path: [...term, 'matchExpressions', j, 'key'], key: e.key })
    })
  }
  const topology: PathSegment[][] = [[...spec, 'topologySpreadConstraints']]
  for (const kind of ['podAffinity', 'podAntiAffinity']) {
    topology.push([...spec, 'affinity', kind, 'requiredDuringSchedulingIgnoredDuringExecution'])
  }
  for (const list of topology) {
    listAt(view.object, list).forEach((t, i) => {
      if (isMap(t) && typeof t.topologyKey === 'string')
        out.push({ path: [...list, i, 'topologyKey'], key: t.topologyKey })
    })
  }
  return out
}

/**
 * Whether the pod or one of its containers sets a securityContext field (seccompProfile,
 * appArmorProfile). Pods served by an API server that syncs the field to its old annotation carry both;
 * the annotation is then no reliance on the old mechanism.
 */
function setsProfile(view: ObjectView, field: string): boolean {
  if (!view.pod) return false
  const spec = view.pod.spec
  if (getPath(view.object, [...spec, 'securityContext', field]) !== undefined) return true
  return ['containers', 'initContainers', 'ephemeralContainers'].some((list) =>
    listAt(view.object, [...spec, list]).some(
      (c) => isMap(c) && getPath(c, ['securityContext', field]) !== undefined,
    ),
  )
}

function dotted(path: string): PathSegment[] {
  return path.split('.')
}

/** The detector an entry's `detect` describes; its mistakes are errors at their line. */
function readDetector(r: ConfigReader, raw: unknown, p: PathSegment[]): (view: ObjectView) => FeatureUse[] {
  const d = r.object(raw, p, [...DETECTORS, 'kinds', 'matches', 'unlessSameAs', 'unlessProfileField'])
  const strings = (key: string): string[] => {
    const v = d[key]
    const list = typeof v === 'string' ? [v] : v
    if (!Array.isArray(list) || list.length === 0 || list.some((s) => typeof s !== 'string' || s === ''))
      r.fail([...p, key], 'expected a string or a list of strings')
    return list as string[]
  }
  const used = DETECTORS.filter((k) => d[k] !== undefined && k !== 'kinds')
  if (used.length > 1) r.fail(p, `one of ${DETECTORS.join(', ')} (not ${used.join(' and ')})`)
  const which = used[0] ?? (d.kinds !== undefined ? 'kinds' : undefined)
  switch (which) {
    case 'kinds': {
      const kinds = new Set(strings('kinds'))
      return (v) =>
        kinds.has(String(v.object.kind)) ? [{ path: ['kind'], found: `a ${v.object.kind}` }] : []
    }
    case 'volume': {
      const [type] = strings('volume') as [string]
      return (v) =>
        volumeSources(v)
          .filter((s) => s.source[type] !== undefined)
          .map((s) => ({ path: [...s.path, type], found: `a ${type} volume` }))
    }
    case 'provisioner': {
      const names = new Set(strings('provisioner'))
      return (v) =>
        v.object.kind === 'StorageClass' && names.has(String(v.object.provisioner))
          ? [{ path: ['provisioner'], found: `provisioner ${v.object.provisioner}` }]
          : []
    }
    case 'hostPath': {
      const paths = new Set(strings('hostPath'))
      return (v) =>
        volumeSources(v).flatMap((s) => {
          const host = isMap(s.source.hostPath) ? s.source.hostPath.path : undefined
          return typeof host === 'string' && paths.has(host.replace(/\/+$/, ''))
            ? [{ path: [...s.path, 'hostPath', 'path'], found: `hostPath ${host}` }]
            : []
        })
    }
    case 'annotation': {
      const prefixes = strings('annotation')
      const field = d.unlessProfileField === undefined ? undefined : strings('unlessProfileField')[0]
      return (v) =>
        field !== undefined && setsProfile(v, field)
          ? []
          : annotations(v)
              .filter((a) => prefixes.some((prefix) => a.key.startsWith(prefix)))
              .map((a) => ({ path: a.path, found: `annotation ${a.key}` }))
    }
    case 'podField': {
      const [field] = strings('podField') as [string]
      const same = d.unlessSameAs === undefined ? undefined : (strings('unlessSameAs')[0] as string)
      return (v) => {
        if (!v.pod) return []
        const value = getPath(v.object, [...v.pod.spec, field])
        return value === undefined ||
          value === null ||
          value === '' ||
          (same !== undefined && getPath(v.object, [...v.pod.spec, same]) === value)
          ? []
          : [{ path: [...v.pod.spec, field], found: `${field}: ${JSON.stringify(value)}` }]
      }
    }
    case 'nodeLabel': {
      const keys = new Set(strings('nodeLabel'))
      return (v) =>
        nodeLabelKeys(v)
          .filter((k) => keys.has(k.key))
          .map((k) => ({ path: k.path, found: `node label ${k.key}` }))
    }
    case 'field': {
      const [field] = strings('field') as [string]
      const kinds = d.kinds === undefined ? undefined : new Set(strings('kinds'))
      let pattern: RegExp | undefined
      if (d.matches !== undefined) {
        try {
          pattern = new RegExp(String(d.matches))
        } catch (err) {
          r.fail([...p, 'matches'], `not a regular expression: ${(err as Error).message}`)
        }
      }
      const path = dotted(field)
      return (v) => {
        if (kinds && !kinds.has(String(v.object.kind))) return []
        const value = getPath(v.object, path)
        if (value === undefined || value === null || value === '') return []
        if (pattern && !pattern.test(String(value))) return []
        return [{ path, found: `${field}: ${JSON.stringify(value)}` }]
      }
    }
    default:
      return r.fail(p, `expected one of: ${DETECTORS.join(', ')}`)
  }
}

export function parseUpgradeFeatures(file: string, source: string): UpgradeFeature[] {
  const { doc, at } = loadYamlConfig(file, source, UpgradeFeaturesError)
  const r: ConfigReader = new ConfigReader(file, at, UpgradeFeaturesError)
  const root = r.object(doc, [], ['apiVersion', 'kind', 'features'])
  if (root.kind !== 'UpgradeFeatures') r.fail(['kind'], "expected 'UpgradeFeatures'")
  if (!Array.isArray(root.features)) r.fail(['features'], 'expected a list')
  const seen = new Set<string>()
  return root.features.map((raw, i): UpgradeFeature => {
    const p = ['features', i]
    const f: Raw = r.object(raw, p, [
      'id',
      'title',
      'deprecatedIn',
      'breaksIn',
      'detect',
      'instead',
      'cannotSee',
    ])
    for (const key of ['id', 'title', 'instead']) {
      if (typeof f[key] !== 'string' || f[key].trim() === '') r.fail([...p, key], 'is required (a string)')
    }
    const id = f.id as string
    if (seen.has(id)) r.fail([...p, 'id'], `'${id}' is used twice`)
    seen.add(id)
    const deprecatedIn = versionField(r, f, 'deprecatedIn', p)
    const breaksIn = versionField(r, f, 'breaksIn', p)
    if (deprecatedIn === undefined && breaksIn === undefined) r.fail(p, "needs 'deprecatedIn' or 'breaksIn'")
    if (f.detect === undefined && typeof f.cannotSee !== 'string')
      r.fail(p, "without 'detect', 'cannotSee' must say where to look")
    const feature: UpgradeFeature = {
      id,
      title: (f.title as string).trim(),
      instead: (f.instead as string).trim(),
      line: at(p),
    }
    if (deprecatedIn !== undefined) feature.deprecatedIn = deprecatedIn
    if (breaksIn !== undefined) feature.breaksIn = breaksIn
    if (typeof f.cannotSee === 'string') feature.cannotSee = f.cannotSee.trim()
    if (f.detect !== undefined) feature.detect = readDetector(r, f.detect, [...p, 'detect'])
    return feature
  })
}

export function loadUpgradeFeatures(file: string = BUILTIN_UPGRADE_FEATURES): UpgradeFeature[] {
  return parseUpgradeFeatures(file, readFileSync(file, 'utf8'))
}

/** The object's view: where its pod spec is, when its kind carries a pod template. */
export function viewOf(object: Record<string, unknown>, podTemplates: PodTemplateTable): ObjectView {
  const found = podTemplates.lookup(groupOf(String(object.apiVersion ?? '')), String(object.kind ?? ''))
  return found ? { object, pod: { spec: found.podSpec, metadata: found.podMetadata } } : { object }
}
