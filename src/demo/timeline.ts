/**
 * The story as dates: for every defect of the plan, the days on which it is in the manifests. Defects
 * without a fix day get one from their team's pace, drawn from a seeded generator, so the estate is the
 * same on every run.
 */
import type { Defect, DefectPlan, NamespacePlan, TeamPlan, UnitPlan } from './plan.js'
import { seededRandom } from './prng.js'

/** Days [from, to); `to` may be Infinity. */
export type Span = readonly [number, number]

export interface Timed<P> {
  team: string
  plan: P
  defects: ReadonlyMap<Defect, readonly Span[]>
}

export interface TeamTimeline {
  name: string
  namespaces: Timed<NamespacePlan>[]
  units: Timed<UnitPlan>[]
}

export const DEMO_SEED = 20240917

/** The date `days` after a YYYY-MM-DD date (before it, when negative). */
export function dateAfter(day: string, days: number): string {
  return new Date(Date.parse(`${day}T00:00:00Z`) + days * 86_400_000).toISOString().slice(0, 10)
}

export function within(spans: readonly Span[], day: number): boolean {
  return spans.some(([from, to]) => day >= from && day < to)
}

/** Whether the defect is in the manifests on that day. */
export function has(item: Timed<unknown>, defect: Defect, day: number): boolean {
  const spans = item.defects.get(defect)
  return spans !== undefined && within(spans, day)
}

/** Whether the unit exists on that day. */
export function present(unit: UnitPlan, day: number): boolean {
  return unit.present === undefined || within(unit.present, day)
}

function resolveTeam(team: TeamPlan, random: () => number): TeamTimeline {
  const { start, end, share } = team.pace
  const resolve = (defects: readonly (Defect | DefectPlan)[] = []) => {
    const out = new Map<Defect, Span[]>()
    for (const d of defects) {
      const plan: DefectPlan = typeof d === 'string' ? { defect: d } : d
      // Two draws for every defect, used or not: editing one defect's plan leaves the others' days alone.
      const fixed = random() < share
      const offset = Math.floor(random() * (end - start + 1))
      const fix =
        plan.fix === 'never'
          ? Number.POSITIVE_INFINITY
          : (plan.fix ?? (fixed ? start + offset : Number.POSITIVE_INFINITY))
      const spans: Span[] = [[0, fix]]
      if (plan.back) spans.push([plan.back[0], plan.back[1] ?? Number.POSITIVE_INFINITY])
      out.set(plan.defect, spans)
    }
    return out
  }
  return {
    name: team.name,
    namespaces: team.namespaces.map((plan) => ({ team: team.name, plan, defects: resolve(plan.defects) })),
    units: team.units.map((plan) => ({ team: team.name, plan, defects: resolve(plan.defects) })),
  }
}

/** Every team's timeline, from one seed. */
export function resolveTimeline(teams: readonly TeamPlan[], seed: number = DEMO_SEED): TeamTimeline[] {
  const random = seededRandom(seed)
  return teams.map((team) => resolveTeam(team, random))
}
