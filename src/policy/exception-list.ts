/**
 * The exceptions register written as an ExceptionList file (the format `--exceptions` reads), so that
 * the register can live in a Git repository and reach the cluster the way everything else does: each
 * entry with a comment saying where it came from, for the reviewer of the pull request.
 */
import { dump } from 'js-yaml'
import type { StoredExceptionView } from '../api-types.js'

export interface ExportOptions {
  /** where the register was read (a store's location), said in the file's first comment */
  source: string
  /** when, an ISO time */
  at: string
  /** keep the expired entries too (by default they are left out: they no longer hide anything) */
  includeExpired?: boolean
}

/** One entry as the file holds it: the matching fields first, then who answers for it. */
function entryOf(e: StoredExceptionView): Record<string, unknown> {
  return {
    checks: e.checks,
    ...(e.kinds.length > 0 ? { kinds: e.kinds } : {}),
    ...(e.namespaces.length > 0 ? { namespaces: e.namespaces } : {}),
    ...(e.names.length > 0 ? { names: e.names } : {}),
    ...(Object.keys(e.labels).length > 0 ? { labels: e.labels } : {}),
    owner: e.owner,
    reason: e.reason,
    expires: e.expires,
  }
}

/** Every line of a comment starts with '#': a newline in a creator's name cannot end the comment. */
const comment = (text: string, indent = '') =>
  text
    .split('\n')
    .map((line) => `${indent}# ${line}`.trimEnd())
    .join('\n')

export function exceptionListYaml(register: readonly StoredExceptionView[], options: ExportOptions): string {
  const entries = options.includeExpired ? register : register.filter((e) => !e.expired)
  const header = { ...options, leftOut: register.length - entries.length }
  const lines = [
    comment(
      `The exceptions register of ${header.source}, exported ${header.at}: ${entries.length} ` +
        `${entries.length === 1 ? 'entry' : 'entries'}` +
        (header.leftOut > 0 ? ` (${header.leftOut} expired left out)` : '') +
        '.\nRead by plimsoll scan, watch, serve and agent with --exceptions <this file>.',
    ),
    'apiVersion: plimsoll.dev/v1',
    'kind: ExceptionList',
    entries.length === 0 ? 'exceptions: []' : 'exceptions:',
  ]
  for (const e of entries) {
    const provenance =
      `register #${e.id}, added by ${e.createdBy} on ${e.createdAt.slice(0, 10)}` +
      (e.expired ? '; expired' : '') +
      (e.stale ? '; stale: it matched nothing in the latest runs' : '')
    lines.push(comment(provenance, '  '))
    // Dates stay strings (quoted), so that no YAML reader turns them into timestamps.
    const body = dump([entryOf(e)], { lineWidth: 100, noRefs: true })
    lines.push(
      body
        .trimEnd()
        .split('\n')
        .map((line) => `  ${line}`)
        .join('\n'),
    )
  }
  return `${lines.join('\n')}\n`
}
