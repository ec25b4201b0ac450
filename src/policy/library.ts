/**
 * Loads checks: the built-in library shipped in policies/, and the user's own files or directories.
 * Duplicate ids are an error: findings, exceptions and baselines refer to checks by id.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { PodTemplateTable } from '../resources/pod-templates.js'
import type { CheckDefinition } from './check.js'
import { CheckLoadError, parseCheckFile } from './check-loader.js'
import { type CompiledCheck, compileCheck } from './compile.js'
import { type Framework, frameworkChain, implementsFramework, loadFrameworks } from './frameworks.js'

/** The package's policies/ folder (next to dist/ and src/). */
export const BUILTIN_POLICY_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'policies')
export const BUILTIN_POD_TEMPLATES = join(BUILTIN_POLICY_DIR, 'pod-templates.yaml')
export const BUILTIN_FRAMEWORKS_DIR = join(BUILTIN_POLICY_DIR, 'frameworks')
/** Coverage tables of other scanners' checks (see coverage.ts): data for docs/checks.md, not checks. */
export const BUILTIN_COVERAGE_DIR = join(BUILTIN_POLICY_DIR, 'coverage')

/** The check files a path names: the file itself, or every .yaml/.yml below a directory. */
export function checkFiles(path: string): string[] {
  if (!existsSync(path)) throw new CheckLoadError(path, 0, undefined, '', 'no such file or directory')
  if (!statSync(path).isDirectory()) return [path]
  const out: string[] = []
  const walk = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      const p = join(dir, name)
      if (statSync(p).isDirectory()) {
        if (resolve(p) !== BUILTIN_FRAMEWORKS_DIR && resolve(p) !== BUILTIN_COVERAGE_DIR) walk(p)
      } else if (/\.ya?ml$/.test(name) && resolve(p) !== BUILTIN_POD_TEMPLATES) out.push(p)
    }
  }
  walk(path)
  return out
}

/**
 * Records a check's id, throwing if an earlier check took it: findings, exceptions and baselines refer
 * to checks by id.
 */
export function claimId(seen: Map<string, CheckDefinition>, def: CheckDefinition): void {
  const prior = seen.get(def.metadata.id)
  if (prior) {
    throw new CheckLoadError(
      def.origin.file,
      def.origin.line,
      def.metadata.id,
      'metadata.id',
      `duplicate id, first defined at ${prior.origin.file}:${prior.origin.line}`,
    )
  }
  seen.set(def.metadata.id, def)
}

export function loadCheckDefinitions(paths: readonly string[]): CheckDefinition[] {
  const defs: CheckDefinition[] = []
  const seen = new Map<string, CheckDefinition>()
  for (const path of paths) {
    for (const file of checkFiles(path)) {
      for (const def of parseCheckFile(file, readFileSync(file, 'utf8'))) {
        claimId(seen, def)
        defs.push(def)
      }
    }
  }
  return defs
}

export interface Library {
  checks: CompiledCheck[]
  podTemplates: PodTemplateTable
  /** What it was loaded from, so a worker thread can load the same library. */
  options: LibraryOptions
  /** With `framework`: that framework and those it includes, whose controls the checks implement. */
  frameworkChain?: Framework[]
}

export interface LibraryOptions {
  /** Include the built-in checks (default true). */
  builtin?: boolean
  /** User check files or directories. */
  policies?: readonly string[]
  /** User pod-template tables, added to the built-in one. */
  podTemplates?: readonly string[]
  /** Keep only the checks that implement this framework's controls (see policies/frameworks/). */
  framework?: string
}

export function loadLibrary(options: LibraryOptions = {}): Library {
  const paths = [...(options.builtin === false ? [] : [BUILTIN_POLICY_DIR]), ...(options.policies ?? [])]
  let checks = loadCheckDefinitions(paths).map(compileCheck)
  let chain: Framework[] | undefined
  if (options.framework !== undefined) {
    const frameworks = loadFrameworks(BUILTIN_FRAMEWORKS_DIR)
    if (!frameworks.has(options.framework)) {
      throw new Error(
        `unknown framework '${options.framework}' (available: ${[...frameworks.keys()].join(', ')})`,
      )
    }
    const selected = frameworkChain(frameworks, options.framework)
    checks = checks.filter((c) => implementsFramework(c.metadata, selected))
    chain = selected
  }
  const podTemplates = PodTemplateTable.fromFiles([BUILTIN_POD_TEMPLATES, ...(options.podTemplates ?? [])])
  return { checks, podTemplates, options, ...(chain ? { frameworkChain: chain } : {}) }
}
