/**
 * Loads checks: the built-in library shipped in policies/, and the user's own files or directories.
 * Duplicate ids are an error: findings, exceptions and baselines refer to checks by id.
 */
import { readFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseSource } from '../resources/parse.js'
import { PodTemplateTable } from '../resources/pod-templates.js'
import type { LoadError } from '../resources/types.js'
import { ForeignChecks } from './adapters/foreign-checks.js'
import { hasMutations, Mutator } from './adapters/mutator.js'
import { addPolicies, completePolicySet, emptyPolicySet, type PolicySet } from './adapters/policy-set.js'
import { BUILTIN_DATA_DIR } from './api-lifecycle.js'
import type { CheckDefinition } from './check.js'
import { cachedDefinitions } from './check-cache.js'
import { CHECK_API_VERSION, CheckLoadError, parseCheckFile } from './check-loader.js'
import { type CompiledCheck, compileCheck } from './compile.js'
import { type Framework, frameworkChain, implementsFramework, loadFrameworks } from './frameworks.js'
import { problemMessage } from './kyverno/load.js'
import { PodSecurityEngines } from './pod-security-engines.js'
import { claimDefinitionId, yamlFiles } from './yaml-fields.js'

/** The package's policies/ folder (next to dist/ and src/). */
export const BUILTIN_POLICY_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'policies')
export const BUILTIN_POD_TEMPLATES = join(BUILTIN_POLICY_DIR, 'pod-templates.yaml')
export const BUILTIN_FRAMEWORKS_DIR = join(BUILTIN_POLICY_DIR, 'frameworks')
/** Coverage tables of other scanners' checks (see coverage.ts): data for docs/checks.md, not checks. */
export const BUILTIN_COVERAGE_DIR = join(BUILTIN_POLICY_DIR, 'coverage')
/** Rules over the API server's audit events (src/audit/rules): not checks of objects. */
export const BUILTIN_AUDIT_RULES_DIR = join(BUILTIN_POLICY_DIR, 'audit-rules')
/** Folders of policies/ that hold something other than checks (data/: tables checks and commands read). */
const NOT_CHECKS = new Set([
  BUILTIN_FRAMEWORKS_DIR,
  BUILTIN_COVERAGE_DIR,
  BUILTIN_AUDIT_RULES_DIR,
  BUILTIN_DATA_DIR,
])

/** The check files a path names: the file itself, or every .yaml/.yml below a directory. */
export function checkFiles(path: string): string[] {
  return yamlFiles(
    path,
    CheckLoadError,
    (p) => NOT_CHECKS.has(resolve(p)) || resolve(p) === BUILTIN_POD_TEMPLATES,
  )
}

/**
 * The files `plimsoll policy lint` reads below a path: check files and audit rule files
 * (policies/audit-rules is walked too), but not frameworks, coverage tables or pod templates.
 */
export function lintFiles(path: string): string[] {
  return yamlFiles(path, CheckLoadError, (p) => {
    const at = resolve(p)
    return (NOT_CHECKS.has(at) && at !== BUILTIN_AUDIT_RULES_DIR) || at === BUILTIN_POD_TEMPLATES
  })
}

/**
 * Records a check's id, throwing if an earlier check took it: findings, exceptions and baselines refer
 * to checks by id.
 */
export function claimId(seen: Map<string, CheckDefinition>, def: CheckDefinition): void {
  claimDefinitionId(seen, def, CheckLoadError)
}

/**
 * The documents of a file written for another engine (Kyverno, ValidatingPolicy...), or undefined for
 * a Plimsoll check file: one whose documents all parse and none is a Plimsoll check.
 */
function foreignDocuments(file: string, text: string) {
  if (text.includes(CHECK_API_VERSION)) return undefined
  const { resources, errors } = parseSource(file, text)
  return errors.length === 0 && resources.length > 0 ? resources : undefined
}

/**
 * Plimsoll check files become definitions; policy files of other engines (Kyverno, ValidatingPolicy)
 * go to `foreign`, when given.
 */
export function loadCheckDefinitions(paths: readonly string[], foreign?: PolicySet): CheckDefinition[] {
  const defs: CheckDefinition[] = []
  const seen = new Map<string, CheckDefinition>()
  for (const path of paths) {
    for (const file of checkFiles(path)) {
      const text = readFileSync(file, 'utf8')
      const documents = foreign && foreignDocuments(file, text)
      if (foreign && documents) {
        addPolicies(foreign, documents, true)
        continue
      }
      for (const def of cachedDefinitions(file, text) ?? parseCheckFile(file, text)) {
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
  /** Kyverno and other engines' policies given with `policies`, run beside the checks */
  foreign?: ForeignChecks
  /** Their mutating policies, applied to each resource before it is checked (see adapters/mutator.ts) */
  mutator?: Mutator
  /** Rules of those policies that could not be loaded: reported as input errors, the run goes on */
  policyErrors: LoadError[]
  /** Policies and rules that will not run here (unsupported features), with the reason */
  policyWarnings: string[]
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

/**
 * The built-in Pod Security Standards checks by level and version, loaded on first use: what Kyverno's
 * podSecurity rules are answered with, and what the cluster's Pod Security Admission view asks.
 */
export const builtinPodSecurity = new PodSecurityEngines(() => loadLibrary({}))

const NOT_GENERATED =
  'generating policies create other resources, and a scan reports on the resources it is given (plimsoll kyverno test runs them)'
const UNBOUND =
  'no MutatingAdmissionPolicyBinding names it, and the API server runs a MutatingAdmissionPolicy only through its bindings'

/** What of a policy set will not run in a scan, and why: one line each, with its file and line. */
function notRunWarnings(set: PolicySet, mutator: Mutator | undefined): string[] {
  return [
    ...set.unsupported.map((u) => `${u.file}:${u.line}: ${u.kind} '${u.name}': not run: ${u.reason}`),
    ...set.generating.map((p) => `${p.file}:${p.line}: ${p.kind} '${p.name}': not run: ${NOT_GENERATED}`),
    ...(mutator?.unboundMaps ?? []).map(
      (p) => `${p.source.file}:${p.source.line}: MutatingAdmissionPolicy '${p.name}': not run: ${UNBOUND}`,
    ),
    ...set.kyverno.flatMap((p) =>
      p.rules.flatMap((r) =>
        r.validation.type === 'unsupported' && !r.autogenFrom && !r.mutation
          ? [
              `${p.file}:${r.line}: policy '${p.name}', rule '${r.name}': not run: ${r.validation.unsupported.feature}: ${r.validation.unsupported.reason}`,
            ]
          : [],
      ),
    ),
  ]
}

/** The policy files' problems as input errors. */
function policyLoadErrors(set: PolicySet): LoadError[] {
  return set.problems.map(
    (p): LoadError => ({
      file: p.file,
      position: { line: p.line, column: 1 },
      message: problemMessage(p),
    }),
  )
}

export function loadLibrary(options: LibraryOptions = {}): Library {
  const paths = [...(options.builtin === false ? [] : [BUILTIN_POLICY_DIR]), ...(options.policies ?? [])]
  const set = emptyPolicySet(builtinPodSecurity)
  let checks = loadCheckDefinitions(paths, set).map(compileCheck)
  completePolicySet(set)
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
  const policyErrors = policyLoadErrors(set)
  // A framework's controls are implemented by native checks only, on the manifests as written.
  const mutator = chain === undefined && hasMutations(set) ? new Mutator(set) : undefined
  const policyWarnings = notRunWarnings(set, mutator)
  const foreign =
    chain === undefined &&
    (set.kyverno.length > 0 || set.validating.length > 0 || set.vap.policies.length > 0)
      ? new ForeignChecks(set)
      : undefined
  return {
    checks,
    podTemplates,
    options,
    policyErrors,
    policyWarnings,
    ...(foreign ? { foreign } : {}),
    ...(mutator ? { mutator } : {}),
    ...(chain ? { frameworkChain: chain } : {}),
  }
}
