#!/usr/bin/env node
// The YAML event reader: js-yaml's parseEvents against fastEvents (src/resources/fast-events.ts), on
// the scan bench's two inputs (bench/lib/inputs.mjs): workload (141 renamed copies of five install
// manifests, 7 MB) and crd-heavy (46 renamed copies of the whole real-manifests corpus). Each file is
// read and split into documents as parse.ts splits it, in memory before timing; then the two readers
// run over every document, alternately, round after round, in this process (the machine is shared, so
// each round times both within a few seconds of each other). First it checks that fastEvents gives
// exactly parseEvents' events wherever it does not give up, and counts how many documents it takes.
// The values are timed too: js-yaml's constructFromEvents against constructPlain
// (src/resources/construct.ts), which the scan runs on those events now.
// Run after `npx tsc -p .`: it imports from dist/.
// Usage: node bench/parse.mjs [--rounds 5] [--corpus DIR] [--dist DIR] [--input workload|crd-heavy]
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { isDeepStrictEqual } from 'node:util'
import { constructFromEvents, parseEvents } from 'js-yaml'
import { mod, opt } from './lib/args.mjs'
import { WORKLOAD_FILES, writeCopies } from './lib/inputs.mjs'

const here = fileURLToPath(new URL('.', import.meta.url))
const { fastEvents } = await mod('resources/fast-events.js')
const { constructPlain, GIVE_UP } = await mod('resources/construct.js')
const { splitDocuments } = await mod('resources/split.js')
const { expandInputs, readSource } = await mod('resources/inputs.js')
const { KUBERNETES_YAML_SCHEMA } = await mod('resources/yaml-schema.js')
const { DEFAULT_MAX_DEPTH } = await mod('resources/parse.js')

const rounds = Number(opt('rounds', '5'))
const corpus = resolve(
  opt('corpus', process.env.PLIMSOLL_CORPUS ?? join(here, '..', '..', 'shared', 'corpus')),
  'real-manifests',
)
const only = opt('input', undefined)

/** The documents of every file under `dir`, as parse.ts reads them (a leading BOM becomes a space). */
async function documentsOf(dir) {
  const { files } = await expandInputs([dir])
  const docs = []
  let bytes = 0
  for (const f of files) {
    let text = await readSource(f)
    if (text.charCodeAt(0) === 0xfeff) text = ` ${text.slice(1)}`
    bytes += text.length
    for (const chunk of splitDocuments(text)) docs.push(chunk.text)
  }
  return { docs, bytes }
}

function js(text) {
  return parseEvents(text, { filename: 'bench.yaml', maxDepth: DEFAULT_MAX_DEPTH })
}

/** Milliseconds `fn` takes. */
function timed(fn) {
  const t0 = performance.now()
  fn()
  return performance.now() - t0
}

const range = (xs) => {
  const s = [...xs].sort((a, b) => a - b)
  return `${s[0].toFixed(0)}-${s[s.length - 1].toFixed(0)} ms (median ${s[s.length >> 1].toFixed(0)})`
}

const { files: corpusFiles } = await expandInputs([corpus])
const inputs = [
  { name: 'workload', files: WORKLOAD_FILES, copies: 141 },
  { name: 'crd-heavy', files: corpusFiles.map((f) => relative(corpus, f)), copies: 46 },
].filter((i) => !only || i.name === only)

for (const input of inputs) {
  const dir = mkdtempSync(join(tmpdir(), `plimsoll-bench-parse-${input.name}-`))
  writeCopies(corpus, dir, input.copies, input.files)
  const { docs, bytes } = await documentsOf(dir)
  rmSync(dir, { recursive: true, force: true })

  // Same events, wherever the fast reader does not give up; and how often it gives up.
  let taken = 0
  let events = 0
  for (const text of docs) {
    const fast = fastEvents(text, DEFAULT_MAX_DEPTH)
    if (fast === undefined) continue
    taken++
    events += fast.length
    if (!isDeepStrictEqual(fast, js(text))) throw new Error(`${input.name}: fastEvents differs on\n${text}`)
  }
  console.log(
    `\n${input.name}: ${docs.length} documents, ${(bytes / 1024 / 1024).toFixed(1)} MB, ` +
      `${events} events; fastEvents takes ${taken} (${((100 * taken) / docs.length).toFixed(1)}%), identical events`,
  )

  // the events of every document, for constructFromEvents (made once, outside the timed rounds)
  const all = docs.map((text) => fastEvents(text, DEFAULT_MAX_DEPTH) ?? js(text))
  const jsMs = []
  const fastMs = []
  const withFallbackMs = []
  const constructMs = []
  const plainMs = []
  for (let r = 0; r < rounds; r++) {
    const a = timed(() => {
      let n = 0
      for (const text of docs) n += js(text).length
      return n
    })
    const b = timed(() => {
      let n = 0
      for (const text of docs) n += fastEvents(text, DEFAULT_MAX_DEPTH)?.length ?? 0
      return n
    })
    const c = timed(() => {
      let n = 0
      for (const text of docs) n += (fastEvents(text, DEFAULT_MAX_DEPTH) ?? js(text)).length
      return n
    })
    const d = timed(() => {
      let n = 0
      for (let i = 0; i < docs.length; i++)
        n += constructFromEvents(all[i], { schema: KUBERNETES_YAML_SCHEMA, source: docs[i] }).length
      return n
    })
    // What loadWithEvents does with the events now: constructPlain, and js-yaml where it gives up.
    const e = timed(() => {
      let n = 0
      for (let i = 0; i < docs.length; i++) {
        const value = constructPlain(docs[i], all[i])
        if (value === GIVE_UP)
          n += constructFromEvents(all[i], { schema: KUBERNETES_YAML_SCHEMA, source: docs[i] }).length
        else n++
      }
      return n
    })
    jsMs.push(a)
    fastMs.push(b)
    withFallbackMs.push(c)
    constructMs.push(d)
    plainMs.push(e)
    console.log(
      `  round ${r + 1}: parseEvents ${a.toFixed(0)} ms, fastEvents ${b.toFixed(0)} ms (${(a / b).toFixed(1)}x), ` +
        `fastEvents ?? parseEvents ${c.toFixed(0)} ms, constructFromEvents ${d.toFixed(0)} ms, constructPlain ${e.toFixed(0)} ms`,
    )
  }
  console.log(`  parseEvents:                ${range(jsMs)}`)
  console.log(`  fastEvents:                 ${range(fastMs)}`)
  console.log(`  fastEvents ?? parseEvents:  ${range(withFallbackMs)}   (what loadWithEvents runs)`)
  console.log(`  constructFromEvents:        ${range(constructMs)}   (js-yaml's, what the scan ran before)`)
  console.log(`  constructPlain ?? js-yaml:  ${range(plainMs)}   (what loadWithEvents runs now)`)
  const ratios = jsMs.map((a, i) => a / fastMs[i])
  console.log(
    `  speed-up, same round: ${Math.min(...ratios).toFixed(1)}-${Math.max(...ratios).toFixed(1)}x   (target >= 3x)`,
  )
}
