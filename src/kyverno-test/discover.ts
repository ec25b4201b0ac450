/** Finds Kyverno CLI test files below a folder: every `kyverno-test.yaml`, as `kyverno test` does. */
import { readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'

export const TEST_FILE_NAME = 'kyverno-test.yaml'

export function findKyvernoTests(path: string): string[] {
  if (!statSync(path).isDirectory()) return [path]
  const out: string[] = []
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) =>
      a.name.localeCompare(b.name),
    )) {
      const p = join(dir, entry.name)
      if (entry.isDirectory()) {
        if (entry.name !== 'node_modules' && entry.name !== '.git') walk(p)
      } else if (entry.name === TEST_FILE_NAME) out.push(p)
    }
  }
  walk(path)
  return out
}
