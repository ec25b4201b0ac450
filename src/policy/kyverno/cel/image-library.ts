/**
 * Kyverno's CEL image library (extensions/cel/libs/image in kyverno/sdk): `image(ref)` (and its newer
 * name `parseImageReference(ref)`) parses a reference into a value with `registry()`, `repository()`,
 * `identifier()`, `tag()`, `digest()` and `containsDigest()`; `isImage(ref)` says whether it parses.
 */
import type { Environment } from '@marcbachmann/cel-js'
import { type ImageReference, parseReference } from './image-reference.js'

export class Image {
  constructor(readonly reference: ImageReference) {}
}

const TYPE = 'kyverno.image'

function isImage(s: string): boolean {
  try {
    parseReference(s)
    return true
  } catch {
    return false
  }
}

export function addImageLibrary(env: Environment): Environment {
  const parse = (s: string) => new Image(parseReference(s))
  const method = (name: string, result: 'string' | 'bool', read: (r: ImageReference) => string | boolean) =>
    env.registerFunction(`${TYPE}.${name}(): ${result}`, (i: Image) => read(i.reference))
  env.registerType(TYPE, Image)
  env
    .registerFunction(`image(string): ${TYPE}`, parse)
    .registerFunction(`parseImageReference(string): ${TYPE}`, parse)
    .registerFunction('isImage(string): bool', isImage)
  method('registry', 'string', (r) => r.registry)
  method('repository', 'string', (r) => r.repository)
  method('identifier', 'string', (r) => r.digest ?? r.tag ?? '')
  method('tag', 'string', (r) => r.tag ?? '')
  method('digest', 'string', (r) => r.digest ?? '')
  method('containsDigest', 'bool', (r) => (r.digest ?? '') !== '')
  return env
}
