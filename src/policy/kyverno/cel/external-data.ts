/**
 * Kyverno's CEL libraries that read outside the policy: `resource` (Get/List/Post), `image.GetMetadata`
 * (the image data library), `globalContext` and `http`. Offline, `kyverno test` answers the first two
 * from the test's context file (cmd/cli/kubectl-kyverno/processor/utils.go, NewContextProvider, and
 * pkg/cel/libs/fake_context.go in kyverno/kyverno):
 * - `resource.Get` finds a context resource by group/version/resource, namespace and name, and gives
 *   null when there is none (the library turns NotFound into null);
 * - `resource.List` gives `{items: [...]}`, the resources of that namespace exactly, or an error when
 *   the context has no resource of that kind at all;
 * - `image.GetMetadata(ref)` gives the context's data for that reference as written, or an error.
 * Without a context file, and always for what no file can stand in for (`resource.Post`, global
 * context entries, HTTP calls), the function throws MissingExternalData: the result is unsupported,
 * with the reason, rather than an error of the policy.
 */
import type { Environment } from '@marcbachmann/cel-js'
import { MissingExternalData } from '../../admission/cel-policy.js'
import { kindInfo, parseApiVersion } from '../../admission/resources.js'
import { isJsonMap } from '../../json-map.js'
import { fromCelValue, toUnstructuredValue } from './values.js'

type Json = Record<string, unknown>

const metaOf = (o: Json): Json => (isJsonMap(o.metadata) ? o.metadata : {})
const str = (v: unknown): string => (typeof v === 'string' ? v : '')

/** What a test's context file gives: cluster resources, and image data by reference. */
export class ExternalData {
  /** `group/version/resource` -> namespace -> name -> object */
  private readonly index = new Map<string, Map<string, Map<string, Json>>>()

  constructor(
    resources: readonly Json[],
    private readonly images: ReadonlyMap<string, Json>,
  ) {
    for (const object of resources) {
      const { group, version } = parseApiVersion(str(object.apiVersion))
      const meta = metaOf(object)
      const namespace = str(meta.namespace)
      const plural = kindInfo(group, str(object.kind), namespace !== '').resource
      const key = `${group}/${version}/${plural}`
      const byNamespace = this.index.get(key) ?? new Map<string, Map<string, Json>>()
      this.index.set(key, byNamespace)
      const byName = byNamespace.get(namespace) ?? new Map<string, Json>()
      byNamespace.set(namespace, byName)
      byName.set(str(meta.name), object)
    }
  }

  private kind(apiVersion: string, resource: string) {
    const { group, version } = parseApiVersion(apiVersion)
    return this.index.get(`${group}/${version}/${resource}`)
  }

  get(apiVersion: string, resource: string, namespace: string, name: string): Json | null {
    return this.kind(apiVersion, resource)?.get(namespace)?.get(name) ?? null
  }

  list(apiVersion: string, resource: string, namespace: string, labels?: Record<string, string>): Json {
    const kind = this.kind(apiVersion, resource)
    if (!kind) throw new Error(`failed to list resource: ${resource} resource not found`)
    const items = [...(kind.get(namespace)?.values() ?? [])].filter((o) => {
      const have = isJsonMap(metaOf(o).labels) ? (metaOf(o).labels as Json) : {}
      return Object.entries(labels ?? {}).every(([k, v]) => have[k] === v)
    })
    return { items }
  }

  image(reference: string): Json {
    const data = this.images.get(reference)
    if (!data)
      throw new Error(`failed to get image data: image data for ${reference} not found in the context`)
    return data
  }
}

const NO_CONTEXT = {
  resource:
    "resource.Get/List read the cluster's resources: give them in the test's context file (spec.resources)",
  image:
    "image.GetMetadata reads the image registry: give the image's data in the test's context file (spec.images)",
  post: 'resource.Post sends a request to the API server of a live cluster',
  globalContext: "globalContext.Get reads Kyverno's global context entries, which live in a cluster",
  http: 'the http library calls out over the network, which offline evaluation does not do',
}

class ResourceLibrary {
  constructor(readonly data: ExternalData | undefined) {}

  use(): ExternalData {
    if (!this.data) throw new MissingExternalData(NO_CONTEXT.resource)
    return this.data
  }
}

class ImageDataLibrary {
  constructor(readonly data: ExternalData | undefined) {}
}

class GlobalContextLibrary {}
class HttpLibrary {}

const HTTP = new HttpLibrary()
const GLOBAL_CONTEXT = new GlobalContextLibrary()

function bindingsOf(data: ExternalData | undefined): Record<string, unknown> {
  return {
    resource: new ResourceLibrary(data),
    image: new ImageDataLibrary(data),
    globalContext: GLOBAL_CONTEXT,
    http: HTTP,
  }
}

const WITHOUT_DATA = bindingsOf(undefined)
const withData = new WeakMap<ExternalData, Record<string, unknown>>()

/** The variables the libraries are reached through, for evaluations with `data` (or none). */
export function externalBindings(data: ExternalData | undefined): Record<string, unknown> {
  if (!data) return WITHOUT_DATA
  const known = withData.get(data)
  if (known) return known
  const bindings = bindingsOf(data)
  withData.set(data, bindings)
  return bindings
}

const missing = (reason: string) => () => {
  throw new MissingExternalData(reason)
}

function registerResource(env: Environment): void {
  const get = (lib: ResourceLibrary, v: string, r: string, ns: string, name: string) =>
    toUnstructuredValue(lib.use().get(v, r, ns, name))
  const list = (lib: ResourceLibrary, v: string, r: string, ns: string, labels?: unknown) =>
    toUnstructuredValue(lib.use().list(v, r, ns, fromCelValue(labels ?? {}) as Record<string, string>))
  env.registerType('kyverno.resource', ResourceLibrary).registerVariable('resource', 'kyverno.resource')
  for (const [Get, List, Post] of [
    ['Get', 'List', 'Post'],
    ['get', 'list', 'post'],
  ]) {
    env
      .registerFunction(`kyverno.resource.${Get}(string, string, string, string): dyn`, get)
      .registerFunction(`kyverno.resource.${List}(string, string, string): dyn`, list)
      .registerFunction(`kyverno.resource.${List}(string, string, string, map<string, string>): dyn`, list)
      .registerFunction(
        `kyverno.resource.${Post}(string, string, map<string, dyn>): dyn`,
        missing(NO_CONTEXT.post),
      )
      .registerFunction(
        `kyverno.resource.${Post}(string, string, string, map<string, dyn>): dyn`,
        missing(NO_CONTEXT.post),
      )
  }
}

function registerImageData(env: Environment): void {
  const metadata = (lib: ImageDataLibrary, reference: string) => {
    if (!lib.data) throw new MissingExternalData(NO_CONTEXT.image)
    return toUnstructuredValue(lib.data.image(reference))
  }
  env.registerType('kyverno.imagedata', ImageDataLibrary).registerVariable('image', 'kyverno.imagedata')
  env
    .registerFunction('kyverno.imagedata.GetMetadata(string): dyn', metadata)
    .registerFunction('kyverno.imagedata.getMetadata(string): dyn', metadata)
}

function registerUnavailable(env: Environment): void {
  env
    .registerType('kyverno.globalcontext', GlobalContextLibrary)
    .registerVariable('globalContext', 'kyverno.globalcontext')
  env.registerType('kyverno.http', HttpLibrary).registerVariable('http', 'kyverno.http')
  const globalContext = missing(NO_CONTEXT.globalContext)
  const http = missing(NO_CONTEXT.http)
  for (const get of ['Get', 'get'])
    env
      .registerFunction(`kyverno.globalcontext.${get}(string): dyn`, globalContext)
      .registerFunction(`kyverno.globalcontext.${get}(string, string): dyn`, globalContext)
  for (const [get, post, client] of [
    ['Get', 'Post', 'Client'],
    ['get', 'post', 'client'],
  ])
    env
      .registerFunction(`kyverno.http.${get}(string): dyn`, http)
      .registerFunction(`kyverno.http.${get}(string, map<string, string>): dyn`, http)
      .registerFunction(`kyverno.http.${post}(string, dyn): dyn`, http)
      .registerFunction(`kyverno.http.${post}(string, dyn, map<string, string>): dyn`, http)
      .registerFunction(`kyverno.http.${client}(string): kyverno.http`, http)
}

export function addExternalLibraries(env: Environment): Environment {
  registerResource(env)
  registerImageData(env)
  registerUnavailable(env)
  return env
}
