import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/** A fresh temporary folder, and a writer of files in it that returns each file's path. */
export function tempFiles(prefix: string): { dir: string; file: (name: string, text: string) => string } {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  return {
    dir,
    file: (name, text) => {
      const p = join(dir, name)
      writeFileSync(p, text)
      return p
    },
  }
}
