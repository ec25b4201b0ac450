import { existsSync } from 'node:fs'
import { resolve } from 'node:path'

/** The external corpus (../shared/corpus beside the checkout), or PLIMSOLL_CORPUS. */
export const CORPUS = resolve(
  process.env.PLIMSOLL_CORPUS ?? resolve(import.meta.dirname, '..', '..', '..', 'shared', 'corpus'),
)

export function corpusPath(...parts: string[]): string {
  const p = resolve(CORPUS, ...parts)
  if (!existsSync(p)) {
    throw new Error(`corpus not found at ${p}: set PLIMSOLL_CORPUS to the shared corpus folder (see README)`)
  }
  return p
}
