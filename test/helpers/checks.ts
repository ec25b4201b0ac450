import { parseCheckFile } from '../../src/policy/check-loader.js'
import { compileCheck } from '../../src/policy/compile.js'
import { Engine } from '../../src/policy/engine.js'
import { BUILTIN_POD_TEMPLATES } from '../../src/policy/library.js'
import { parseSource } from '../../src/resources/parse.js'
import { PodTemplateTable } from '../../src/resources/pod-templates.js'

export const podTemplates = PodTemplateTable.fromFiles([BUILTIN_POD_TEMPLATES])

/** A check document from a compact spec; `spec` is YAML text indented under `spec:`. */
export function checkYaml(id: string, spec: string, severity = 'high'): string {
  return `apiVersion: plimsoll.dev/v1
kind: Check
metadata:
  id: ${id}
  title: ${id} title
  severity: ${severity}
  category: security
spec:
${spec
  .trim()
  .split('\n')
  .map((l) => `  ${l}`)
  .join('\n')}
`
}

export function engineFor(yaml: string, version = 1000): Engine {
  return new Engine(parseCheckFile('checks.yaml', yaml).map(compileCheck), podTemplates, { version })
}

export function resourcesOf(yaml: string) {
  const { resources, errors } = parseSource('r.yaml', yaml)
  if (errors.length > 0) throw new Error(JSON.stringify(errors))
  return resources
}
