// The benchmark inputs, made from the corpus's real manifests by renamed copies. Shared by the scan
// bench and the test that pins the scan's findings, so both look at exactly the same bytes.
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join, relative } from 'node:path'

/**
 * Ordinary workloads, the input most teams have: Deployments, Services, StatefulSets, ServiceAccounts,
 * RBAC, ConfigMaps (71 resources, 44 KB a copy). The CRD-heavy whole corpus hides the engine's cost
 * behind the parse; this one does not.
 */
export const WORKLOAD_FILES = [
  'GoogleCloudPlatform__microservices-demo/release/kubernetes-manifests.yaml',
  'istio__istio/samples/bookinfo/platform/kube/bookinfo.yaml',
  'kubernetes__examples/web/guestbook/all-in-one/guestbook-all-in-one.yaml',
  'kubernetes__examples/databases/cassandra/cassandra-statefulset.yaml',
  'kubernetes__dashboard/aio/deploy/recommended.yaml',
]
export const WORKLOAD_RESOURCES_PER_COPY = 71

function manifestsUnder(dir) {
  const out = []
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name)
    if (statSync(path).isDirectory()) out.push(...manifestsUnder(path))
    else if (/\.(ya?ml|json)$/i.test(name)) out.push(path)
  }
  return out
}

/** Every `name:` value gets the copy's suffix, so copies are distinct resources. */
export function renamed(text, copy) {
  return text.replace(/^(\s+name:\s*)([A-Za-z0-9][-A-Za-z0-9.]*)\s*$/gm, `$1$2-c${copy}`)
}

/**
 * Writes `copies` renamed copies of `files` (paths under `corpusDir`; every manifest there when omitted)
 * into `outDir/copy-N/`, one file per source, numbered in order. Returns the sources' paths.
 */
export function writeCopies(corpusDir, outDir, copies, files) {
  const sources = (files ?? manifestsUnder(corpusDir).map((f) => relative(corpusDir, f))).map((f) => ({
    f,
    text: readFileSync(join(corpusDir, f), 'utf8'),
  }))
  for (let c = 0; c < copies; c++) {
    const sub = join(outDir, `copy-${c}`)
    mkdirSync(sub, { recursive: true })
    sources.forEach(({ text }, i) => {
      writeFileSync(join(sub, `${i}.yaml`), renamed(text, c))
    })
  }
  return sources.map((s) => s.f)
}
