#!/usr/bin/env node
/**
 * A local control plane for humans: `node dist/control-plane/main.js [--port N] [--kubeconfig FILE]
 * [--seed DIR_OF_YAML] [--generate N]` starts it, loads the YAML files of a directory (and/or N
 * generated objects), writes an admin kubeconfig, prints the URL and the kubeconfig path, and serves
 * until Ctrl-C. Then: kubectl --kubeconfig FILE get pods -A.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { loadAll } from 'js-yaml'
import { KUBERNETES_YAML_SCHEMA } from '../resources/yaml-schema.js'
import { generateObjects } from './seed-objects.js'
import { startControlPlane } from './server.js'
import { isObj, type Obj } from './types.js'

interface Args {
  port: number
  kubeconfig: string
  seed?: string
  generate: number
}

const USAGE = 'usage: control-plane [--port N] [--kubeconfig FILE] [--seed DIR_OF_YAML] [--generate N]'

function parseArgs(argv: string[]): Args {
  const args: Args = {
    port: 0,
    kubeconfig: join(tmpdir(), `plimsoll-control-plane-${process.pid}.kubeconfig`),
    generate: 0,
  }
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!
    const value = () => {
      const v = argv[++i]
      if (v === undefined) throw new Error(`${a} needs a value\n${USAGE}`)
      return v
    }
    if (a === '--port') args.port = Number(value())
    else if (a === '--kubeconfig') args.kubeconfig = resolve(value())
    else if (a === '--seed') args.seed = resolve(value())
    else if (a === '--generate') args.generate = Number(value())
    else if (a === '--help' || a === '-h') {
      process.stdout.write(`${USAGE}\n`)
      process.exit(0)
    } else throw new Error(`unknown argument ${a}\n${USAGE}`)
  }
  if (!Number.isInteger(args.port) || args.port < 0 || args.port > 65535)
    throw new Error(`--port must be 0-65535\n${USAGE}`)
  if (!Number.isInteger(args.generate) || args.generate < 0)
    throw new Error(`--generate must be a count\n${USAGE}`)
  return args
}

function yamlFiles(dir: string): string[] {
  const out: string[] = []
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name)
    if (statSync(p).isDirectory()) out.push(...yamlFiles(p))
    else if (/\.(ya?ml|json)$/.test(name)) out.push(p)
  }
  return out
}

/** Documents of the seed directory, List kinds flattened; namespaces first so others find theirs. */
function seedObjects(dir: string): Obj[] {
  const objs: Obj[] = []
  for (const file of yamlFiles(dir)) {
    for (const doc of loadAll(readFileSync(file, 'utf8'), { schema: KUBERNETES_YAML_SCHEMA })) {
      if (!isObj(doc)) continue
      if (typeof doc.kind === 'string' && doc.kind.endsWith('List') && Array.isArray(doc.items))
        objs.push(...doc.items.filter(isObj))
      else objs.push(doc)
    }
  }
  return objs.sort((a, b) => Number(b.kind === 'Namespace') - Number(a.kind === 'Namespace'))
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2))
  const cp = await startControlPlane({ port: args.port })
  let loaded = 0
  if (args.seed) loaded += cp.load(seedObjects(args.seed), { asCreated: true })
  if (args.generate) loaded += cp.load(generateObjects(args.generate, 1))
  cp.kubeconfig(args.kubeconfig)
  process.stdout.write(
    `control plane: ${cp.url}\nkubeconfig:    ${args.kubeconfig}\n${loaded ? `loaded:        ${loaded} objects\n` : ''}try:          kubectl --kubeconfig ${args.kubeconfig} get pods -A\n`,
  )
  const stop = () => {
    void cp.stop().then(() => process.exit(0))
  }
  process.on('SIGINT', stop)
  process.on('SIGTERM', stop)
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`)
  process.exit(2)
})
