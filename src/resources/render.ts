/**
 * Rendered inputs: `kustomize build` (or `kubectl kustomize`) and `helm template`, run as the user would
 * run them. Their output is scanned like a file named after the command, so findings point at lines of
 * the rendered stream.
 */
import { spawnSync } from 'node:child_process'
import { accessSync, constants } from 'node:fs'
import { delimiter, join } from 'node:path'

export interface RenderedSource {
  /** the command, used as the file name of findings */
  name: string
  text: string
  /** With --helm: the chart's directory, where the templates that `# Source:` comments name live. */
  chart?: string
}

/**
 * `# Source: shop/templates/web.yaml` names a template by the chart's name, then its path inside the chart
 * (subcharts: `shop/charts/redis/templates/...`); with the chart's directory, that is a file to point at.
 */
export function templateFile(chart: string, template: string): string {
  const slash = template.indexOf('/')
  return slash < 0 ? template : join(chart, template.slice(slash + 1))
}

export class RenderError extends Error {}

/**
 * Whether an executable of that name is on the PATH. Looked up rather than run: `kubectl version` would
 * contact the user's current cluster just to answer this.
 */
export function onPath(tool: string): boolean {
  return (process.env.PATH ?? '').split(delimiter).some((dir) => {
    if (dir === '') return false
    try {
      accessSync(join(dir, tool), constants.X_OK)
      return true
    } catch {
      return false
    }
  })
}

function runTool(tool: string, args: string[]): string {
  const r = spawnSync(tool, args, { encoding: 'utf8', maxBuffer: 512 * 1024 * 1024 })
  if (r.error) throw new RenderError(`${tool}: ${r.error.message}`)
  if (r.status !== 0)
    throw new RenderError(
      `${tool} ${args.join(' ')} failed (exit ${r.status}): ${r.stderr.trim().split('\n').slice(-3).join(' ')}`,
    )
  return r.stdout
}

export function renderKustomize(dir: string): RenderedSource {
  if (onPath('kustomize'))
    return { name: `kustomize build ${dir}`, text: runTool('kustomize', ['build', dir]) }
  if (onPath('kubectl'))
    return { name: `kubectl kustomize ${dir}`, text: runTool('kubectl', ['kustomize', dir]) }
  throw new RenderError('--kustomize needs `kustomize` or `kubectl` on the PATH; neither was found')
}

export function renderHelm(chart: string, values: readonly string[]): RenderedSource {
  if (!onPath('helm'))
    throw new RenderError(
      '--helm needs `helm` on the PATH; it was not found (or render yourself: helm template ... | plimsoll scan -)',
    )
  const args = ['template', chart, ...values.flatMap((v) => ['--values', v])]
  return { name: `helm ${args.join(' ')}`, text: runTool('helm', args), chart }
}
