/**
 * Expands what the user named on the command line (files, directories, globs, `-` for stdin) into the
 * list of sources to read, in a stable order. Reading is left to the caller so that large inputs can be
 * processed one file at a time.
 */
import { readdir, readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { glob, isDynamicPattern } from 'tinyglobby'
import type { LoadError } from './types.js'

export const MANIFEST_EXTENSIONS = ['.yaml', '.yml', '.json']
export const STDIN = '-'

export interface ExpandedInputs {
  /** Files to read, or STDIN. */
  files: string[]
  /** Files the user named themselves (not found by a directory walk or a glob). */
  explicit: Set<string>
  errors: LoadError[]
  /**
   * Helm chart directories (holding a Chart.yaml) a directory walk came upon: their templates are not
   * YAML until rendered, so they are not read; `--helm <dir>` renders and scans them.
   */
  charts: string[]
}

function isManifest(name: string): boolean {
  const lower = name.toLowerCase()
  return MANIFEST_EXTENSIONS.some((ext) => lower.endsWith(ext))
}

async function walk(dir: string, out: string[], charts: string[]): Promise<void> {
  const entries = await readdir(dir, { withFileTypes: true })
  if (entries.some((e) => e.isFile() && e.name === 'Chart.yaml')) {
    charts.push(dir)
    return
  }
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
  for (const entry of entries) {
    if (entry.name.startsWith('.') || entry.name === 'node_modules') continue
    const path = join(dir, entry.name)
    if (entry.isDirectory()) await walk(path, out, charts)
    else if (entry.isFile() && isManifest(entry.name)) out.push(path)
  }
}

export async function expandInputs(inputs: readonly string[]): Promise<ExpandedInputs> {
  const files: string[] = []
  const explicit = new Set<string>()
  const errors: LoadError[] = []
  const charts: string[] = []
  const seen = new Set<string>()
  const add = (f: string) => {
    if (!seen.has(f)) {
      seen.add(f)
      files.push(f)
    }
  }
  for (const input of inputs) {
    if (input === STDIN) {
      add(STDIN)
      explicit.add(STDIN)
      continue
    }
    let info: Awaited<ReturnType<typeof stat>> | undefined
    try {
      info = await stat(input)
    } catch {
      info = undefined
    }
    if (info?.isDirectory()) {
      const found: string[] = []
      const before = charts.length
      await walk(input, found, charts)
      if (found.length === 0 && charts.length === before)
        errors.push({ file: input, message: 'directory holds no .yaml, .yml or .json files' })
      found.forEach(add)
    } else if (info) {
      add(input)
      explicit.add(input)
    } else if (isDynamicPattern(input)) {
      const matches = (await glob(input, { onlyFiles: true, dot: false })).filter(isManifest).sort()
      if (matches.length === 0)
        errors.push({ file: input, message: 'pattern matches no .yaml, .yml or .json files' })
      matches.forEach(add)
    } else {
      errors.push({ file: input, message: 'no such file or directory' })
    }
  }
  return { files, explicit, errors, charts }
}

export async function readSource(file: string): Promise<string> {
  if (file === STDIN) {
    const chunks: Buffer[] = []
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer)
    return Buffer.concat(chunks).toString('utf8')
  }
  return readFile(file, 'utf8')
}
