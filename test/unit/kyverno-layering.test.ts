/**
 * The import circle policy/kyverno/pod-security -> pod-security-levels -> library -> adapters -> kyverno
 * stays broken: the engine defines what its adapters implement (foreign-policies.ts), and Kyverno's
 * evaluation is handed the Pod Security Standards checks instead of importing the library that loads it.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { describe, expect, it } from 'vitest'

const SRC = join(import.meta.dirname, '..', '..', 'src')

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  )
}

const imports = (file: string) => [...readFileSync(file, 'utf8').matchAll(/from '([^']+)'/g)].map((m) => m[1])

describe('policy layering', () => {
  it('keeps Kyverno evaluation below the library loader, the engine and the adapters', () => {
    const upward =
      /\/(library|pod-security-levels|pod-security-engines|engine|foreign-policies)\.js$|\/adapters\//
    for (const file of sources(join(SRC, 'policy', 'kyverno')))
      expect(
        imports(file).filter((i) => upward.test(i ?? '')),
        relative(SRC, file),
      ).toEqual([])
  })

  it('has the engine import no adapter', () => {
    expect(imports(join(SRC, 'policy', 'engine.ts')).filter((i) => i?.includes('/adapters/'))).toEqual([])
  })
})
