/**
 * An upgrade check from objects to its report: the tables it reads (the API lifecycle, the features,
 * the built-in library's Pod Security checks and pod templates), loaded once, and the assessment with
 * the Pod Security Standards changes beside it. The CLI, the demo and the bench all go through here,
 * so that a stored check and a printed one are the same report.
 */
import { type ApiLifecycle, loadApiLifecycle } from '../policy/api-lifecycle.js'
import { type Library, loadLibrary } from '../policy/library.js'
import { PodSecurityEngines } from '../policy/pod-security-engines.js'
import { parseSource } from '../resources/parse.js'
import type { LoadError } from '../resources/types.js'
import { assessUpgrade, standardChanges, type UpgradeObject } from './evaluate.js'
import { loadUpgradeFeatures, type UpgradeFeature } from './features.js'
import type { UpgradeReport } from './report.js'

export interface UpgradeTables {
  lifecycle: ApiLifecycle
  features: readonly UpgradeFeature[]
  library: Library
  podSecurity: PodSecurityEngines
}

/** The built-in tables; `library` reuses one already loaded (the demo's). */
export function loadUpgradeTables(library: Library = loadLibrary({})): UpgradeTables {
  return {
    lifecycle: loadApiLifecycle(),
    features: loadUpgradeFeatures(),
    library,
    podSecurity: new PodSecurityEngines(() => library),
  }
}

/** A file's objects, each locating its fields in the file; `notKubernetes` for YAML of something else. */
export function objectsOfSource(
  file: string,
  text: string,
): { objects: UpgradeObject[]; errors: LoadError[]; notKubernetes: boolean } {
  const loaded = parseSource(file, text)
  return {
    objects: loaded.resources.map((r) => ({ object: r.object, file, locate: (path) => r.locate(path) })),
    errors: loaded.errors,
    notKubernetes: loaded.notKubernetes === true,
  }
}

/** What the report says besides the assessment: the run's versions, inputs, notes and cluster. */
export type UpgradeRun = Omit<UpgradeReport, 'assessment' | 'standardChanges' | 'newestKnown'>

export function judgeUpgrade(
  tables: UpgradeTables,
  objects: readonly UpgradeObject[],
  run: UpgradeRun,
): UpgradeReport {
  const { lifecycle, features, library, podSecurity } = tables
  const assessment = assessUpgrade(objects, {
    from: run.from,
    to: run.to,
    lifecycle,
    features,
    podTemplates: library.podTemplates,
    podSecurity: (level, minor, object) => podSecurity.evaluate(level, `v1.${minor}`, object),
  })
  return {
    ...run,
    newestKnown: lifecycle.newest,
    assessment,
    standardChanges: standardChanges(library.checks, run.from, run.to),
  }
}
