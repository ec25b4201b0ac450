/**
 * A test's `context:` file (cli.kyverno.io/v1alpha1 Context): the cluster resources and the image data
 * `kyverno test` answers CEL's `resource.Get`/`resource.List` and `image.GetMetadata` from
 * (cmd/cli/kubectl-kyverno/apis/v1alpha1/context.go and processor/utils.go in kyverno/kyverno).
 */
import { isJsonMap } from '../policy/json-map.js'
import { ExternalData } from '../policy/kyverno/cel/external-data.js'
import { readYaml, TestFileError } from './test-file.js'

type Json = Record<string, unknown>

/**
 * One `spec.images` entry as the CLI serialises it for the library: image, resolvedImage, registry and
 * repository always (empty when not given), tag, digest, imageIndex, manifest and config when given.
 */
function imageData(entry: Json): Json {
  const out: Json = {}
  for (const key of ['image', 'resolvedImage', 'registry', 'repository'])
    out[key] = typeof entry[key] === 'string' ? entry[key] : ''
  for (const key of ['tag', 'digest'])
    if (typeof entry[key] === 'string' && entry[key] !== '') out[key] = entry[key]
  for (const key of ['imageIndex', 'manifest', 'config'])
    if (entry[key] !== undefined && entry[key] !== null) out[key] = entry[key]
  return out
}

export function readContextFile(file: string): ExternalData {
  const raw = readYaml(file)
  if (!isJsonMap(raw) || raw.kind !== 'Context')
    throw new TestFileError(file, 'expected a cli.kyverno.io Context (kind: Context)')
  const spec = isJsonMap(raw.spec) ? raw.spec : {}
  const resources = (Array.isArray(spec.resources) ? spec.resources : []).filter(isJsonMap)
  const images = new Map<string, Json>()
  for (const entry of Array.isArray(spec.images) ? spec.images : [])
    if (isJsonMap(entry) && typeof entry.image === 'string') images.set(entry.image, imageData(entry))
  return new ExternalData(resources, images)
}
