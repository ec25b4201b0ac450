/**
 * The one CEL environment every check is compiled in. Variables are declared `dyn`: resources are
 * schemaless JSON here, as they are to a ValidatingAdmissionPolicy without a typed schema.
 */
import { Environment } from '@marcbachmann/cel-js'
import { builtinApiLifecycle, celLifecycle } from '../api-lifecycle.js'
import { Inventory } from '../inventory.js'
import { addKubernetesLibraries } from './kubernetes-libraries.js'
import { LazyVariables } from './lazy-variables.js'
import { addQuantityLibrary } from './quantity.js'
import { addSelectorLibrary } from './selectors.js'

export const CHECK_VARIABLES = [
  'object',
  'podSpec',
  'podMetadata',
  'allContainers',
  'container',
  'containerType',
  'variables',
  'version',
  'inventory',
  'usage',
] as const

const VARIABLE_TYPES: Partial<Record<(typeof CHECK_VARIABLES)[number], string>> = {
  version: 'int',
  inventory: 'Inventory',
}

/** `inventory.of(kind[, namespace])`, `.workloads(namespace[, selector])` and more: docs/cel.md. */
function addInventoryFunctions(env: Environment): void {
  env
    .registerFunction('Inventory.of(string): list', (inv: Inventory, kind: string) => inv.of(kind))
    .registerFunction('Inventory.of(string, string): list', (inv: Inventory, kind: string, ns: string) =>
      inv.in(kind, ns),
    )
    .registerFunction(
      'Inventory.named(string, string, string): list',
      (inv: Inventory, kind: string, ns: string, name: string) => inv.named(kind, ns, name),
    )
    .registerFunction('Inventory.workloads(string): list', (inv: Inventory, ns: string) => inv.workloads(ns))
    .registerFunction(
      'Inventory.workloadsLabelled(string, dyn): list',
      (inv: Inventory, ns: string, sel: unknown) => inv.workloadsLabelled(ns, sel),
    )
    .registerFunction(
      'Inventory.workloadsSelected(string, dyn): list',
      (inv: Inventory, ns: string, sel: unknown) => inv.workloadsSelected(ns, sel),
    )
    .registerFunction('Inventory.hasCustomResources(string): bool', (inv: Inventory, ns: string) =>
      inv.hasCustomResources(ns),
    )
}

/** The options of every CEL environment here: optional types, mixed literals, bounded programs. */
export const CEL_OPTIONS = {
  enableOptionalTypes: true,
  homogeneousAggregateLiterals: false,
  limits: {
    maxAstNodes: 10_000,
    maxDepth: 100,
    maxListElements: 1000,
    maxMapEntries: 1000,
    maxCallArguments: 32,
  },
} as const

let shared: Environment | undefined

export function checkEnvironment(): Environment {
  if (!shared) {
    const env = new Environment(CEL_OPTIONS)
    env.registerType('Inventory', Inventory)
    env.registerType('Variables', LazyVariables)
    for (const name of CHECK_VARIABLES) env.registerVariable(name, VARIABLE_TYPES[name] ?? 'dyn')
    addInventoryFunctions(env)
    // The deprecated-api-version check and `plimsoll upgrade-check` share one table of API versions.
    env.registerFunction('apiLifecycle(string, string): dyn', (apiVersion: string, kind: string) =>
      celLifecycle(builtinApiLifecycle().lookup(apiVersion, kind)),
    )
    shared = addSelectorLibrary(addQuantityLibrary(addKubernetesLibraries(env)))
  }
  return shared
}
