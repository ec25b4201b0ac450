/**
 * `variables.<name>` of a check: each evaluated on first use, at most once per activation.
 *
 * A Map subclass, registered as a CEL object type: cel-js reads a field of a registered type through
 * its `get`, so a variable is computed when an expression first reads it. The alternatives cost more
 * than the variables' own expressions: getters defined one by one per activation turn every such
 * object into a slow dictionary, and an object literal of getters allocates a closure per variable.
 */
export type VariablePrograms = ReadonlyMap<string, (activation: Record<string, unknown>) => unknown>

export class LazyVariables extends Map<string, unknown> {
  constructor(
    private readonly programs: VariablePrograms,
    private readonly activation: Record<string, unknown>,
  ) {
    super()
  }

  override get(name: string): unknown {
    if (super.has(name)) return super.get(name)
    const program = this.programs.get(name)
    if (!program) return undefined
    const value = program(this.activation)
    super.set(name, value)
    return value
  }

  override has(name: string): boolean {
    return this.programs.has(name)
  }
}
