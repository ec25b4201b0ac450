#!/usr/bin/env node
// A live object's manifest and its findings' positions: js-yaml's dump then DocumentLocator (which
// parses the text again with parseEvents) against writeYaml (src/resources/yaml-writer.ts), which notes
// positions while it writes. Input: every document of the corpus's real manifests, read as parse.ts
// reads them, repeated to about 10,000 objects; each object gets its text and 3 positions (a field near
// the top, one in the middle, the last one), as an object with a few findings does. The two run
// alternately, round after round, in this process (the machine is shared, so each round times both
// within a few seconds of each other); the median round is reported. First it checks that both give the
// same positions for those paths.
// Run after `npx tsc -p .`: it imports from dist/.
// With --input workload, only the workload manifests of the scan bench (bench/lib/inputs.mjs):
// Deployments, Services, RBAC, ConfigMaps, without the CRDs that make most of the corpus's bytes.
// Usage: node bench/yaml-writer.mjs [--rounds 5] [--objects 10000] [--input all|workload] [--corpus DIR]
//        [--dist DIR]
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { dump, load } from 'js-yaml'
import { mod, opt } from './lib/args.mjs'
import { WORKLOAD_FILES } from './lib/inputs.mjs'

const here = fileURLToPath(new URL('.', import.meta.url))
const { writeYaml } = await mod('resources/yaml-writer.js')
const { DocumentLocator } = await mod('resources/locate.js')
const { splitDocuments } = await mod('resources/split.js')
const { KUBERNETES_YAML_SCHEMA } = await mod('resources/yaml-schema.js')

const rounds = Number(opt('rounds', '5'))
const input = opt('input', 'all')
const wanted = Number(opt('objects', '10000'))
const corpus = resolve(
  opt('corpus', process.env.PLIMSOLL_CORPUS ?? join(here, '..', '..', 'shared', 'corpus')),
  'real-manifests',
)

function manifestsUnder(dir) {
  const out = []
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name)
    if (statSync(path).isDirectory()) out.push(...manifestsUnder(path))
    else if (/\.ya?ml$/i.test(name)) out.push(path)
  }
  return out
}

/** Every path to a node of `value`, in document order. */
function pathsOf(value) {
  const out = []
  const walk = (v, path) => {
    out.push(path)
    if (Array.isArray(v)) for (let i = 0; i < v.length; i++) walk(v[i], [...path, i])
    else if (v !== null && typeof v === 'object') for (const k of Object.keys(v)) walk(v[k], [...path, k])
  }
  walk(value, [])
  return out
}

const documents = []
const files = input === 'workload' ? WORKLOAD_FILES.map((f) => join(corpus, f)) : manifestsUnder(corpus)
for (const file of files) {
  for (const chunk of splitDocuments(readFileSync(file, 'utf8'))) {
    let value
    try {
      value = load(chunk.text, { schema: KUBERNETES_YAML_SCHEMA })
    } catch {
      continue
    }
    if (value === null || typeof value !== 'object') continue
    const all = pathsOf(value)
    const paths = [all[Math.min(2, all.length - 1)], all[all.length >> 1], all[all.length - 1]]
    documents.push({ value, paths })
  }
}
const objects = []
while (objects.length < wanted) objects.push(...documents.slice(0, wanted - objects.length))
let bytes = 0
for (const o of objects) bytes += writeYaml(o.value).text.length

function viaJsYaml(o) {
  const locator = new DocumentLocator(dump(o.value, { lineWidth: -1, noRefs: true }), 0)
  let sum = locator.text.length
  for (const p of o.paths) sum += locator.locate(p).line
  return sum
}

function viaWriter(o) {
  const written = writeYaml(o.value)
  let sum = written.text.length
  for (const p of o.paths) sum += written.locate(p).line
  return sum
}

// Both must agree where they point before their times mean anything.
for (const o of documents) {
  const written = writeYaml(o.value)
  const locator = new DocumentLocator(written.text, 0)
  for (const p of o.paths) {
    const a = written.locate(p)
    const b = locator.locate(p)
    if (a.line !== b.line || a.column !== b.column)
      throw new Error(
        `positions differ at ${JSON.stringify(p)}: ${JSON.stringify(a)} vs ${JSON.stringify(b)}`,
      )
  }
}

function time(fn) {
  const start = process.hrtime.bigint()
  let sink = 0
  for (const o of objects) sink += fn(o)
  const ms = Number(process.hrtime.bigint() - start) / 1e6
  if (sink === 0) throw new Error('nothing done')
  return ms
}

console.log(
  `${objects.length} objects (${documents.length} documents of ${corpus}, ${input}, repeated), ` +
    `${(bytes / 1e6).toFixed(1)} MB of YAML, 3 positions each`,
)
// Warm both up once before timing.
time(viaJsYaml)
time(viaWriter)
const old = []
const now = []
for (let r = 0; r < rounds; r++) {
  old.push(time(viaJsYaml))
  now.push(time(viaWriter))
  console.log(
    `round ${r + 1}: js-yaml dump + parseEvents ${old[r].toFixed(0)} ms, writeYaml ${now[r].toFixed(0)} ms`,
  )
}
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1]
const a = median(old)
const b = median(now)
console.log(
  `median: js-yaml ${a.toFixed(0)} ms (${((a * 1000) / objects.length).toFixed(1)} µs/object), ` +
    `writeYaml ${b.toFixed(0)} ms (${((b * 1000) / objects.length).toFixed(1)} µs/object): ${(a / b).toFixed(1)}x faster`,
)
