/**
 * Expands what the user named on the command line (files, directories, globs, `-` for stdin) into the
 * list of sources to read, in a stable order. Reading is left to the caller so that large inputs can be
 * processed one file at a time.
 */
import { isUtf8 } from 'node:buffer'
import { type Dirent, readFileSync } from 'node:fs'
import { lstat, readdir, readFile, realpath, stat } from 'node:fs/promises'
import { join, resolve } from 'node:path'
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

/** What a failed file-system call means, in words. */
function explain(err: unknown): string {
  const { code, message } = err as NodeJS.ErrnoException
  switch (code) {
    case 'ENOENT':
      return 'no such file or directory'
    case 'EACCES':
    case 'EPERM':
      return `permission denied (${code})`
    case 'ELOOP':
      return 'symbolic link loop (too many levels of symbolic links)'
    default:
      return code ?? message
  }
}

/** Why `path`, whose stat failed with `err`, cannot be read: a link to nothing is not "no such file". */
async function explainMissing(path: string, err: unknown): Promise<string> {
  if ((err as NodeJS.ErrnoException).code !== 'ENOENT') return explain(err)
  const link = await lstat(path).then(
    (info) => info.isSymbolicLink(),
    () => false,
  )
  return link ? 'broken symbolic link: its target does not exist' : explain(err)
}

/** A file to read, and its real path: the same file reached twice by different paths is read once. */
interface Found {
  path: string
  real: string
}

/** Real paths, where the file system says; a path that vanished in the meantime stands for itself. */
function withRealPaths(paths: readonly string[]): Promise<Found[]> {
  return Promise.all(
    paths.map(async (path) => ({ path, real: await realpath(path).catch(() => resolve(path)) })),
  )
}

interface Walk {
  files: Found[]
  charts: string[]
  errors: LoadError[]
  /** Real paths of the directories walked: a link back to one (a loop) or a second link to it is not walked again. */
  dirs: Set<string>
}

/**
 * Symbolic links are followed: a link to a file is read like the file, a link to a directory walked like
 * the directory, each directory once. A directory that cannot be read is an input error; the walk goes on.
 */
async function walk(dir: string, w: Walk): Promise<void> {
  let entries: Dirent[]
  let real: string
  try {
    real = await realpath(dir)
    if (w.dirs.has(real)) return
    w.dirs.add(real)
    entries = await readdir(dir, { withFileTypes: true })
  } catch (err) {
    w.errors.push({ file: dir, message: `cannot read directory: ${explain(err)}` })
    return
  }
  if (entries.some((e) => e.isFile() && e.name === 'Chart.yaml')) {
    w.charts.push(dir)
    return
  }
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
  for (const entry of entries) {
    if (entry.name.startsWith('.') || entry.name === 'node_modules') continue
    const path = join(dir, entry.name)
    let isDirectory = entry.isDirectory()
    let isFile = entry.isFile()
    // A file in a directory whose real path is known needs no call to know its own, unless it is a link.
    let realFile = join(real, entry.name)
    if (entry.isSymbolicLink()) {
      try {
        const target = await stat(path)
        isDirectory = target.isDirectory()
        isFile = target.isFile()
        if (isFile) realFile = await realpath(path)
      } catch (err) {
        // A broken link with a manifest's name is a manifest the user meant and cannot have.
        if (isManifest(entry.name)) w.errors.push({ file: path, message: await explainMissing(path, err) })
        continue
      }
    }
    if (isDirectory) await walk(path, w)
    else if (isFile && isManifest(entry.name)) w.files.push({ path, real: realFile })
  }
}

export async function expandInputs(inputs: readonly string[]): Promise<ExpandedInputs> {
  const files: string[] = []
  const explicit = new Set<string>()
  const errors: LoadError[] = []
  const charts: string[] = []
  // By real path, so that a file reached again through a link (a glob through a linked directory, a
  // directory and a file in it) is read once, under the name it was first found by.
  const seen = new Map<string, string>()
  /** Adds the files not seen yet; returns the path each is read under. */
  const add = (found: readonly Found[]): string[] =>
    found.map(({ path, real }) => {
      const kept = seen.get(real)
      if (kept !== undefined) return kept
      seen.set(real, path)
      files.push(path)
      return path
    })
  for (const input of inputs) {
    if (input === STDIN) {
      for (const f of add([{ path: STDIN, real: STDIN }])) explicit.add(f)
      continue
    }
    let info: Awaited<ReturnType<typeof stat>> | undefined
    let failure: unknown
    try {
      info = await stat(input)
    } catch (err) {
      failure = err
    }
    if (info?.isDirectory()) {
      const w: Walk = { files: [], charts, errors, dirs: new Set() }
      const before = { charts: charts.length, errors: errors.length }
      await walk(input, w)
      if (w.files.length === 0 && charts.length === before.charts && errors.length === before.errors)
        errors.push({ file: input, message: 'directory holds no .yaml, .yml or .json files' })
      add(w.files)
    } else if (info) {
      for (const f of add(await withRealPaths([input]))) explicit.add(f)
    } else if (isDynamicPattern(input)) {
      const matches = (await glob(input, { onlyFiles: true, dot: false })).filter(isManifest).sort()
      if (matches.length === 0)
        errors.push({ file: input, message: 'pattern matches no .yaml, .yml or .json files' })
      add(await withRealPaths(matches))
    } else {
      errors.push({ file: input, message: await explainMissing(input, failure) })
    }
  }
  return { files, explicit, errors, charts }
}

/**
 * Length of the valid UTF-8 sequence at `i` (1 to 4), or minus the length of its invalid part: the bytes
 * that could begin a sequence before the one that cannot (the maximal subpart of the WHATWG decoder,
 * which makes one U+FFFD of it).
 */
function sequenceLength(bytes: Uint8Array, i: number): number {
  const lead = bytes[i]!
  if (lead < 0x80) return 1
  let need: number
  let lo = 0x80
  let hi = 0xbf
  if (lead >= 0xc2 && lead <= 0xdf) need = 1
  else if (lead >= 0xe0 && lead <= 0xef) {
    need = 2
    if (lead === 0xe0)
      lo = 0xa0 // overlong
    else if (lead === 0xed) hi = 0x9f // a surrogate
  } else if (lead >= 0xf0 && lead <= 0xf4) {
    need = 3
    if (lead === 0xf0)
      lo = 0x90 // overlong
    else if (lead === 0xf4) hi = 0x8f // past U+10FFFF
  } else return -1
  for (let k = 1; k <= need; k++) {
    const next = bytes[i + k]
    if (next === undefined || next < lo || next > hi) return -k
    lo = 0x80
    hi = 0xbf
  }
  return need + 1
}

/**
 * The text of UTF-8 bytes. Where they are not UTF-8, each byte of an invalid sequence becomes a lone
 * surrogate, U+DC80 to U+DCFF for 0x80 to 0xFF (Python's `surrogateescape`): no UTF-8 decodes to one, so
 * parse.ts finds them, document by document and with line and column, and tells them from a real U+FFFD,
 * which is text. A decode to U+FFFD would lose both.
 */
export function decodeText(bytes: Uint8Array): string {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  if (isUtf8(buffer)) return buffer.toString('utf8')
  const parts: string[] = []
  let valid = 0
  let i = 0
  while (i < buffer.length) {
    const n = sequenceLength(buffer, i)
    if (n > 0) {
      i += n
      continue
    }
    parts.push(buffer.toString('utf8', valid, i))
    for (let k = 0; k < -n; k++) parts.push(String.fromCharCode(0xdc00 + buffer[i + k]!))
    i -= n
    valid = i
  }
  parts.push(buffer.toString('utf8', valid))
  return parts.join('')
}

/** The text of a file or of stdin, invalid UTF-8 kept findable (see decodeText). */
export async function readSource(file: string): Promise<string> {
  if (file === STDIN) {
    const chunks: Buffer[] = []
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer)
    return decodeText(Buffer.concat(chunks))
  }
  return decodeText(await readFile(file))
}

/**
 * The text of a file, read in this thread: a scan reads hundreds of small files one after another,
 * and each asynchronous read went through the thread pool and back, leaving this thread idle for
 * a tenth of a scan of many small files on a busy machine.
 */
export function readSourceSync(file: string): string {
  return decodeText(readFileSync(file))
}
