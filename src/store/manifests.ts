/**
 * The manifests of resources with findings, for the dashboard's resource page: each resource's YAML
 * document, cut from the source it was scanned from, with the line it starts at. Never stored: Secrets,
 * and any resource that a check found a credential in (the text would hold it).
 */
import { splitDocuments } from '../resources/split.js'
import type { Finding } from '../scan/scan.js'

export interface Manifest {
  text: string
  /** 1-based line of the text's first line in its file */
  line: number
}

/** Checks whose findings mean the manifest holds a credential. */
const CREDENTIAL_CHECKS = new Set(['credentials-in-env', 'secret-in-configmap'])

/** Larger documents are not kept (a CRD-sized resource would dwarf its findings). */
export const MAX_MANIFEST_BYTES = 256 * 1024

/**
 * Whether a resource's manifest must never be kept: a Secret's, or one in which a check (among those
 * that found something in it) found a credential.
 */
export function manifestWithheld(kind: string, checkIds: Iterable<string>): boolean {
  if (kind === 'Secret') return true
  for (const id of checkIds) if (CREDENTIAL_CHECKS.has(id)) return true
  return false
}

export function manifestsOf(
  findings: readonly Finding[],
  keyOf: (f: Finding) => string,
  readText: (file: string) => string | undefined,
): Map<string, Manifest> {
  const withheld = new Set<string>()
  for (const f of findings) if (manifestWithheld(f.resource.kind, [f.checkId])) withheld.add(keyOf(f))
  const documents = new Map<string, ReturnType<typeof splitDocuments> | undefined>()
  const out = new Map<string, Manifest>()
  for (const f of findings) {
    const key = keyOf(f)
    if (withheld.has(key) || out.has(key)) continue
    const file = f.location.file
    if (!documents.has(file)) {
      const text = readText(file)
      documents.set(file, text === undefined ? undefined : splitDocuments(text))
    }
    const chunk = documents.get(file)?.[f.location.documentIndex]
    if (chunk && chunk.text.length <= MAX_MANIFEST_BYTES)
      out.set(key, { text: chunk.text.trimEnd(), line: chunk.startLine + 1 })
  }
  return out
}
