/**
 * What the enforcement plan reads from the store about one cluster: its latest scan (the namespaces it
 * saw and the objects that fail each check now) and the admissions the webhook recorded in a window
 * (which checks failed in which namespace, and what was done). Read in pages, so that a busy cluster's
 * week of decisions never sits in memory at once: only the sums do.
 */
import { load } from 'js-yaml'
import type { AdmissionCheck } from '../api-types.js'
import type { Store } from './connect.js'

export interface ScanEvidence {
  runId: number
  startedAt: string
  complete: boolean
  resources: number
  /** namespaces the run evaluated objects in ('' for cluster-scoped ones) */
  namespaces: string[]
}

/** An object that fails a check now. */
export interface FailingObject {
  check: string
  namespace: string
  kind: string
  name: string
  /** its team label's value, when its kept manifest has one */
  team?: string
}

/** One failing check of one recorded admission, with the decisions the row stands for. */
export interface AdmittedFailure {
  check: string
  namespace: string
  mode: AdmissionCheck['mode']
  weight: number
}

/** The cluster's latest run, or undefined when it was never scanned. */
export async function latestScan(store: Store, cluster: string): Promise<ScanEvidence | undefined> {
  const run = await store.db
    .selectFrom('runs')
    .select(['id', 'started_at', 'complete', 'resources'])
    .where('target', '=', cluster)
    .orderBy('id', 'desc')
    .limit(1)
    .executeTakeFirst()
  if (!run) return undefined
  const namespaces = await store.db
    .selectFrom('run_namespaces')
    .select('namespace')
    .where('run_id', '=', run.id)
    .where('applied', '>', 0)
    .execute()
  return {
    runId: Number(run.id),
    startedAt: run.started_at,
    complete: Number(run.complete) === 1,
    resources: Number(run.resources),
    namespaces: namespaces.map((n) => n.namespace),
  }
}

/**
 * The cluster's open findings as failing objects, one per check and object. Excepted findings are
 * left out: an exception holds at admission as it does in a scan.
 */
export async function failingObjects(
  store: Store,
  cluster: string,
  teamLabel: string,
): Promise<FailingObject[]> {
  const rows = await store.db
    .selectFrom('findings')
    .select(['check_id', 'namespace', 'kind', 'resource_name', 'resource_id'])
    .where('target', '=', cluster)
    .where('state', '=', 'open')
    .execute()
  const teams = await teamsOf(
    store,
    cluster,
    rows.map((r) => Number(r.resource_id)),
    teamLabel,
  )
  const seen = new Set<string>()
  const out: FailingObject[] = []
  for (const r of rows) {
    const key = `${r.check_id}\0${r.resource_id}`
    if (seen.has(key)) continue
    seen.add(key)
    const team = teams.get(Number(r.resource_id))
    out.push({
      check: r.check_id,
      namespace: r.namespace,
      kind: r.kind,
      name: r.resource_name,
      ...(team !== undefined ? { team } : {}),
    })
  }
  return out
}

/**
 * Namespaces' labels, from the Namespace objects the store kept (the cluster scan keeps an object's
 * manifest while it has findings): rules that select namespaces by label, and the team label.
 */
export async function namespaceLabels(
  store: Store,
  cluster: string,
): Promise<Map<string, Record<string, string>>> {
  const rows = await store.db
    .selectFrom('resources')
    .select(['name', 'manifest'])
    .where('target', '=', cluster)
    .where('kind', '=', 'Namespace')
    .where('manifest', 'is not', null)
    .execute()
  const out = new Map<string, Record<string, string>>()
  for (const r of rows) out.set(r.name, labelsOf(r.manifest!))
  return out
}

/** Rows per query: keeps the bound values under both dialects' limits. */
const PAGE = 500

async function teamsOf(
  store: Store,
  cluster: string,
  resourceIds: readonly number[],
  teamLabel: string,
): Promise<Map<number, string>> {
  const ids = [...new Set(resourceIds)]
  const out = new Map<number, string>()
  for (let i = 0; i < ids.length; i += PAGE) {
    const rows = await store.db
      .selectFrom('resources')
      .select(['id', 'manifest'])
      .where('target', '=', cluster)
      .where('id', 'in', ids.slice(i, i + PAGE))
      .where('manifest', 'is not', null)
      .execute()
    for (const r of rows) {
      // Most manifests do not name the label: those are not parsed.
      const team = r.manifest!.includes(teamLabel) ? labelsOf(r.manifest!)[teamLabel] : undefined
      if (team) out.set(Number(r.id), team)
    }
  }
  return out
}

/** metadata.labels of a kept manifest (YAML or JSON); {} when it has none or does not parse. */
function labelsOf(manifest: string): Record<string, string> {
  try {
    const doc = load(manifest) as { metadata?: { labels?: Record<string, unknown> } } | undefined
    const labels = doc?.metadata?.labels
    if (typeof labels !== 'object' || labels === null) return {}
    return Object.fromEntries(
      Object.entries(labels).filter((e): e is [string, string] => typeof e[1] === 'string'),
    )
  } catch {
    return {}
  }
}

/** Recorded admissions of the cluster at or after `since`: how many, and each failing check of each. */
export async function admittedFailures(
  store: Store,
  cluster: string,
  since: string,
  each: (failure: AdmittedFailure) => void,
): Promise<{ admissions: number; namespaces: Set<string> }> {
  const total = await store.db
    .selectFrom('admissions')
    .select((eb) => eb.fn.sum<number>('weight').as('n'))
    .where('cluster', '=', cluster)
    .where('at', '>=', since)
    .executeTakeFirst()
  const namespaces = new Set<string>()
  let after = 0
  for (;;) {
    const rows = await store.db
      .selectFrom('admissions')
      .select(['id', 'namespace', 'checks', 'weight'])
      .where('cluster', '=', cluster)
      .where('at', '>=', since)
      .where('id', '>', after)
      .where('checks', '!=', '[]')
      .orderBy('id')
      .limit(PAGE * 10)
      .execute()
    for (const r of rows) {
      namespaces.add(r.namespace)
      for (const c of JSON.parse(r.checks) as AdmissionCheck[])
        each({ check: c.id, namespace: r.namespace, mode: c.mode, weight: Number(r.weight) })
    }
    if (rows.length < PAGE * 10) break
    after = Number(rows[rows.length - 1]!.id)
  }
  return { admissions: Number(total?.n ?? 0), namespaces }
}
