/**
 * The demo estate as YAML, day by day: one repository per team (`git.example.com/<team>/deploy`, a file
 * per workload) and the production cluster (`prod-cluster`, a file per namespace), which runs what the
 * repositories held the day before, plus what only a cluster shows. Deterministic: the same day always
 * gives the same text.
 */
import { dump } from 'js-yaml'
import { utcToday } from '../policy/exceptions.js'
import type { RunSource } from '../store/schema.js'
import { type KubeObject, namespaceObjects, unitObjects } from './manifests.js'
import { CLUSTER_ONLY, MODEL_DAYS, TEAMS } from './plan.js'
import { DEMO_SEED, present, resolveTimeline, type TeamTimeline } from './timeline.js'

/** One file-like unit of input: findings are reported against its name. */
export interface DemoSource {
  name: string
  text: string
}

export interface DemoTarget {
  target: string
  source: RunSource
  /** the team whose repository it is; absent for the cluster */
  team?: string
}

export interface TargetInput extends DemoTarget {
  sources: DemoSource[]
}

export const CLUSTER_TARGET = 'prod-cluster'

export const DEMO_TARGETS: readonly DemoTarget[] = [
  ...TEAMS.map((t) => ({ target: `git.example.com/${t.name}/deploy`, source: 'ci' as const, team: t.name })),
  { target: CLUSTER_TARGET, source: 'cluster' },
]

/** YAML of objects, each dumped once: most objects are the same from one day to the next. */
function yamlWriter(): (objects: readonly KubeObject[]) => string {
  const dumped = new Map<string, string>()
  const one = (o: KubeObject) => {
    const key = JSON.stringify(o)
    let text = dumped.get(key)
    if (text === undefined) {
      text = dump(o, { lineWidth: 120, noRefs: true })
      dumped.set(key, text)
    }
    return text
  }
  return (objects) => objects.map(one).join('---\n')
}

/** A team's repository on a model day: file name (without the repository prefix) → objects. */
function repositoryFiles(team: TeamTimeline, day: number, lastDay: string): Map<string, KubeObject[]> {
  const files = new Map<string, KubeObject[]>()
  const add = (file: string, objects: KubeObject[]) => {
    if (objects.length > 0) files.set(file, [...(files.get(file) ?? []), ...objects])
  }
  add(
    'namespaces.yaml',
    team.namespaces.flatMap((ns) => namespaceObjects(ns, day)),
  )
  for (const unit of team.units) {
    if (!present(unit.plan, day)) continue
    const rbac = unit.plan.kind === 'Role' || unit.plan.kind === 'ClusterRoleBinding'
    add(rbac ? 'rbac.yaml' : `${unit.plan.name}.yaml`, unitObjects(unit, day, lastDay))
  }
  return files
}

export interface DemoEstate {
  days: number
  targets: readonly DemoTarget[]
  /** Day 0 is the oldest, `days - 1` today. */
  inputs(day: number): TargetInput[]
  /** Where a day falls in the story, which is written over 30 days (0 to 29). */
  modelDay(day: number): number
}

export interface EstateOptions {
  seed?: number
  /** the date of the last day, YYYY-MM-DD, which exceptions' expiry dates count from (default: today) */
  lastDay?: string
}

/**
 * The estate over `days` days. The story is written over 30 days; other lengths stretch or squeeze it,
 * so that the first day always shows the debt and the last the progress.
 */
export function demoEstate(days: number = MODEL_DAYS, options: EstateOptions = {}): DemoEstate {
  if (!Number.isInteger(days) || days < 1) throw new Error(`days must be a positive integer, not ${days}`)
  const seed = options.seed ?? DEMO_SEED
  const lastDay = options.lastDay ?? utcToday()
  const teams = resolveTimeline(TEAMS, seed)
  const [clusterOnly] = resolveTimeline([CLUSTER_ONLY], seed)
  const toYaml = yamlWriter()
  const modelDay = (day: number) => (days === 1 ? MODEL_DAYS - 1 : (day * (MODEL_DAYS - 1)) / (days - 1))
  const files = (team: TeamTimeline, day: number) => repositoryFiles(team, day, lastDay)
  return {
    days,
    targets: DEMO_TARGETS,
    modelDay,
    inputs(day) {
      if (!Number.isInteger(day) || day < 0 || day >= days) throw new Error(`no day ${day} in ${days} days`)
      const t = modelDay(day)
      const out: TargetInput[] = teams.map((team, i) => ({
        ...DEMO_TARGETS[i]!,
        sources: [...files(team, t)].map(([file, objects]) => ({
          name: `${team.name}/deploy/${file}`,
          text: toYaml(objects),
        })),
      }))
      // The cluster runs yesterday's repositories (deploys follow merges by a day), and its own extras.
      const deployed = Math.max(0, t - 1)
      const objects = [
        ...teams.flatMap((team) => [...files(team, deployed).values()].flat()),
        ...[...files(clusterOnly!, t).values()].flat(),
      ]
      const byNamespace = new Map<string, KubeObject[]>()
      for (const o of objects) {
        const ns = ((o.metadata as KubeObject).namespace as string | undefined) ?? ''
        byNamespace.set(ns, [...(byNamespace.get(ns) ?? []), o])
      }
      out.push({
        ...DEMO_TARGETS[teams.length]!,
        sources: [...byNamespace.keys()].sort().map((ns) => ({
          name: `${CLUSTER_TARGET}/${ns === '' ? 'cluster-scoped' : ns}.yaml`,
          text: toYaml(byNamespace.get(ns)!),
        })),
      })
      return out
    },
  }
}
