/**
 * The scan finds the same, byte for byte, as the engine did before it was made fast: every finding of
 * the real-manifests corpus and of the 10k-resource workload input, in one thread and in workers. The
 * expectations were recorded with the slower code (test/data/README.md).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { WORKLOAD_FILES, writeCopies } from '../../bench/lib/inputs.mjs'
import { run } from '../helpers/cli.js'
import { corpusPath } from '../helpers/corpus.js'
import { digest, findingLines } from '../helpers/golden.mjs'

const GOLDEN = resolve(import.meta.dirname, '..', 'data', 'golden')
const summaries = JSON.parse(readFileSync(join(GOLDEN, 'summaries.json'), 'utf8'))

function expected(name: string): string[] {
  return readFileSync(join(GOLDEN, name), 'utf8').split('\n').filter(Boolean)
}

function scanJson(dir: string, extra: string[]) {
  const outDir = mkdtempSync(join(tmpdir(), 'plimsoll-golden-out-'))
  const out = join(outDir, 'report.json')
  const r = run(['scan', dir, '--fail-on', 'none', '--format', 'json', '-o', out, ...extra])
  expect(r.stderr).toBe('')
  expect(r.code).toBe(0)
  const report = JSON.parse(readFileSync(out, 'utf8'))
  rmSync(outDir, { recursive: true })
  const summary = report.summary
  return { report, summary, lines: findingLines(report, dir) }
}

describe('scan findings, byte for byte', () => {
  it.each([
    ['one thread', ['-j', '1']],
    ['worker threads', ['-j', '2']],
  ])('real-manifests, %s', (_name, extra) => {
    const dir = corpusPath('real-manifests')
    const { summary, lines } = scanJson(dir, extra)
    expect(summary).toEqual(summaries['real-manifests'])
    expect(lines).toEqual(expected('real-manifests.jsonl'))
  })

  describe('the workload input (10,011 resources)', () => {
    let dir: string
    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), 'plimsoll-golden-'))
      writeCopies(corpusPath('real-manifests'), dir, 141, WORKLOAD_FILES)
    })
    afterAll(() => rmSync(dir, { recursive: true, force: true }))

    it.each([
      ['one thread', ['-j', '1']],
      ['worker threads (the default)', []],
    ])('%s', (_name, extra) => {
      const { summary, lines } = scanJson(dir, extra)
      const { sha256, ...counts } = summaries.workload
      expect(summary).toEqual(counts)
      // The first copy line by line, so that a difference shows; then every line, by digest.
      expect(lines.filter((l) => l.includes('"file":"copy-0/'))).toEqual(expected('workload-copy-0.jsonl'))
      expect(digest(lines)).toBe(sha256)
    })
  })
})
