/** `--enforcement <file>`, read the same way by every command that takes it (webhook, enforce, serve). */
import type { EnforcementConfig } from '../webhook/enforcement.js'

/**
 * The --enforcement file's EnforcementConfig and the text it was read from (the defaults, and no text,
 * without one), or what is wrong with it.
 */
export async function enforcementFileOf(flags: {
  enforcement?: string
  namespace: string
}): Promise<{ config: EnforcementConfig; text?: string } | string[]> {
  const { defaultEnforcement, loadEnforcement } = await import('../webhook/enforcement.js')
  if (!flags.enforcement) return { config: defaultEnforcement(flags.namespace) }
  const { readFileSync } = await import('node:fs')
  let text: string
  try {
    text = readFileSync(flags.enforcement, 'utf8')
  } catch (err) {
    return [`--enforcement: ${(err as Error).message}`]
  }
  const loaded = loadEnforcement(flags.enforcement, text, flags.namespace)
  return loaded.ok ? { config: loaded.config, text } : [...loaded.problems]
}

/** The --enforcement file's EnforcementConfig (the defaults without one), or what is wrong with it. */
export async function enforcementOf(flags: {
  enforcement?: string
  namespace: string
}): Promise<EnforcementConfig | string[]> {
  const read = await enforcementFileOf(flags)
  return Array.isArray(read) ? read : read.config
}
