/**
 * The CEL dialects of Kyverno's policies:
 * - ValidatingPolicy: the API server's admission environment plus Kyverno's libraries (the ones
 *   pkg/cel/policies/vpol/compiler registers in kyverno/kyverno), validations that must return a bool;
 * - ClusterPolicy `validate.cel`: the API server's environment and semantics (Kyverno runs these rules
 *   through Kubernetes' ValidatingAdmissionPolicy validator, without its own libraries).
 * Both see resources as Kyverno's unstructured objects, explicit nulls kept.
 */
import type { Environment } from '@marcbachmann/cel-js'
import {
  type CelPolicyDialect,
  KUBERNETES_DIALECT,
  KUBERNETES_UNAVAILABLE,
} from '../../admission/cel-policy.js'
import { admissionEnvironment } from '../../admission/environment.js'
import { addExternalLibraries } from './external-data.js'
import { addImageLibrary } from './image-library.js'
import { addPureLibraries } from './pure-libraries.js'
import { addRegexLibrary } from './regex-library.js'
import { toUnstructuredValue } from './values.js'

let shared: Environment | undefined

export function kyvernoEnvironment(): Environment {
  shared ??= addRegexLibrary(
    addExternalLibraries(addPureLibraries(addImageLibrary(admissionEnvironment().clone()))),
  )
  return shared
}

export const VALIDATING_POLICY_DIALECT: CelPolicyDialect = {
  defaultMessage: (_expression, index) => `CEL expression validation failed at index ${index}`,
  nonBoolean: 'error',
  unavailable: KUBERNETES_UNAVAILABLE,
  environment: kyvernoEnvironment,
  toValue: toUnstructuredValue,
}

export const VALIDATE_CEL_DIALECT: CelPolicyDialect = {
  ...KUBERNETES_DIALECT,
  toValue: toUnstructuredValue,
}
