/**
 * The CEL environment of admission policies (ValidatingAdmissionPolicy, Kyverno's CEL policies): the
 * variables the API server declares, all `dyn` (objects are schemaless here, as for a CRD), and the
 * Kubernetes libraries. Plimsoll's own helpers (inventory, selectors) are left out: a policy written for
 * a cluster must not come to depend on them.
 */
import { Environment } from '@marcbachmann/cel-js'
import { CEL_OPTIONS } from '../cel/environment.js'
import { addKubernetesLibraries } from '../cel/kubernetes-libraries.js'
import { addQuantityLibrary } from '../cel/quantity.js'
import { addStringsExtension } from '../cel/strings-ext.js'

export const ADMISSION_VARIABLES = [
  'object',
  'oldObject',
  'request',
  'params',
  'namespaceObject',
  'variables',
] as const

export type AdmissionVariable = (typeof ADMISSION_VARIABLES)[number]

let shared: Environment | undefined

export function admissionEnvironment(): Environment {
  if (!shared) {
    const env = new Environment(CEL_OPTIONS)
    for (const name of ADMISSION_VARIABLES) env.registerVariable(name, 'dyn')
    shared = addStringsExtension(addQuantityLibrary(addKubernetesLibraries(env)))
  }
  return shared
}
