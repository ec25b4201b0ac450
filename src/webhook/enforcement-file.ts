/**
 * The --enforcement file, looked at again while the webhook runs: a ConfigMap mounted as a volume is
 * updated in place (`enforce plan --apply-to` then `kubectl apply`), and the new modes should hold
 * without a restart. A file that no longer loads is said, line by line, and the modes in force are
 * kept: a typo never turns enforcement off.
 */
import { readFile } from 'node:fs/promises'
import { type EnforcementConfig, loadEnforcement } from './enforcement.js'

export interface EnforcementWatch {
  stop(): void
}

export function watchEnforcementFile(options: {
  file: string
  /** the text the webhook started with: a change is a text different from the last one seen */
  text: string
  ownNamespace: string
  everyMs: number
  onChange: (config: EnforcementConfig) => void
  log: (line: string) => void
}): EnforcementWatch {
  let last = options.text
  let reading = false
  const timer = setInterval(async () => {
    if (reading) return
    reading = true
    try {
      const text = await readFile(options.file, 'utf8')
      if (text === last) return
      last = text
      const loaded = loadEnforcement(options.file, text, options.ownNamespace)
      if (!loaded.ok) {
        for (const problem of loaded.problems) options.log(problem)
        options.log(`${options.file} changed but does not load: the modes in force are kept`)
        return
      }
      options.onChange(loaded.config)
      options.log(
        `${options.file} reloaded: default mode ${loaded.config.defaultMode}, ${loaded.config.rules.length} rule(s)`,
      )
    } catch (err) {
      // Gone for a moment (a ConfigMap's symlinks being swapped): looked at again next time.
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT')
        options.log(`${options.file}: ${(err as Error).message}`)
    } finally {
      reading = false
    }
  }, options.everyMs)
  timer.unref()
  return { stop: () => clearInterval(timer) }
}
