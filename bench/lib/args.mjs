// What every bench reads from its command line: `--name value` options, and which build it measures.
import { join, resolve } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

export const args = process.argv.slice(2)

/** The value after `--name`, or `dflt`. */
export function opt(name, dflt) {
  const i = args.indexOf(`--${name}`)
  return i >= 0 ? args[i + 1] : dflt
}

/** The build measured: dist/ beside bench/, or `--dist DIR` (another build, for a before and after). */
export const dist = resolve(opt('dist', join(fileURLToPath(new URL('../..', import.meta.url)), 'dist')))

/** A module of that build, by its path under dist/. */
export const mod = (path) => import(pathToFileURL(join(dist, path)).href)
