/**
 * The one CEL environment every check is compiled in. Variables are declared `dyn`: resources are
 * schemaless JSON here, as they are to a ValidatingAdmissionPolicy without a typed schema.
 */
import { Environment } from '@marcbachmann/cel-js'
import { addKubernetesLibraries } from './kubernetes-libraries.js'
import { addQuantityLibrary } from './quantity.js'

export const CHECK_VARIABLES = [
  'object',
  'podSpec',
  'podMetadata',
  'allContainers',
  'container',
  'containerType',
  'variables',
  'version',
] as const

let shared: Environment | undefined

export function checkEnvironment(): Environment {
  if (!shared) {
    const env = new Environment({
      enableOptionalTypes: true,
      homogeneousAggregateLiterals: false,
      limits: {
        maxAstNodes: 10_000,
        maxDepth: 100,
        maxListElements: 1000,
        maxMapEntries: 1000,
        maxCallArguments: 32,
      },
    })
    for (const name of CHECK_VARIABLES) env.registerVariable(name, name === 'version' ? 'int' : 'dyn')
    shared = addQuantityLibrary(addKubernetesLibraries(env))
  }
  return shared
}
