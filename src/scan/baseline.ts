/**
 * Baselines: record today's findings so that the gate fails only on new ones. A finding is identified
 * by a fingerprint of the check, the resource (API group, not version, so that a move from v1beta1 to v1
 * keeps it), the container and the field path; never by line, so that edits elsewhere in a file do not
 * turn old findings into new ones.
 */
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import type { Finding } from './scan-file.js'

export const BASELINE_VERSION = 1

export interface BaselineEntry {
  fingerprint: string
  checkId: string
  resource: string
  container?: string
  path: string
}

export interface BaselineFile {
  baselineVersion: number
  createdAt: string
  findings: BaselineEntry[]
}

export interface BaselineComparison {
  /** findings not in the baseline: these fail the gate */
  new: number
  /** baseline findings still present */
  existing: number
  /** baseline findings no longer found */
  fixed: number
}

function resourceId(f: Finding): string {
  const group = f.resource.apiVersion.includes('/') ? f.resource.apiVersion.split('/')[0] : 'core'
  return `${group}/${f.resource.kind}/${f.resource.namespace ?? ''}/${f.resource.name}`
}

export function fingerprint(f: Finding): string {
  return createHash('sha256')
    .update([f.checkId, resourceId(f), f.container?.name ?? '', f.path].join('\u0000'))
    .digest('hex')
    .slice(0, 32)
}

export function createBaseline(findings: readonly Finding[]): BaselineFile {
  const seen = new Set<string>()
  const entries: BaselineEntry[] = []
  for (const f of findings) {
    if (f.excepted) continue
    const fp = fingerprint(f)
    if (seen.has(fp)) continue
    seen.add(fp)
    const entry: BaselineEntry = {
      fingerprint: fp,
      checkId: f.checkId,
      resource: resourceId(f),
      path: f.path,
    }
    if (f.container) entry.container = f.container.name
    entries.push(entry)
  }
  entries.sort(
    (a, b) =>
      a.resource.localeCompare(b.resource) ||
      a.checkId.localeCompare(b.checkId) ||
      a.path.localeCompare(b.path),
  )
  return { baselineVersion: BASELINE_VERSION, createdAt: new Date().toISOString(), findings: entries }
}

/** Reads a baseline file; throws an Error that names the file and what is wrong. */
export function readBaseline(path: string): BaselineFile {
  let data: unknown
  try {
    data = JSON.parse(readFileSync(path, 'utf8'))
  } catch (err) {
    throw new Error(`${path}: not a readable baseline (${(err as Error).message})`)
  }
  const file = data as Partial<BaselineFile>
  if (file?.baselineVersion !== BASELINE_VERSION || !Array.isArray(file.findings)) {
    throw new Error(
      `${path}: not a Plimsoll baseline (expected baselineVersion ${BASELINE_VERSION} and a findings list)`,
    )
  }
  return file as BaselineFile
}

/** Marks findings found in the baseline (`inBaseline`) and counts new, existing and fixed. */
export function applyBaseline(findings: Finding[], baseline: BaselineFile): BaselineComparison {
  const known = new Set(baseline.findings.map((e) => e.fingerprint))
  const present = new Set<string>()
  let fresh = 0
  for (const f of findings) {
    if (f.excepted) continue
    const fp = fingerprint(f)
    if (known.has(fp)) {
      f.inBaseline = true
      present.add(fp)
    } else fresh++
  }
  return { new: fresh, existing: present.size, fixed: known.size - present.size }
}
