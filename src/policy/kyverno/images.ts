/**
 * The `images` variable: what Kyverno reads from every container image of a pod or pod controller
 * (pkg/utils/image and pkg/utils/api in kyverno/kyverno). References are parsed with the grammar of
 * distribution/reference's `Parse`, after Kyverno's default registry (`docker.io`) is put in front of a
 * name that has none. Unlike Docker's normalisation, no `library/` is added: `nginx` has path `nginx`.
 */

export interface ImageInfo {
  readonly registry: string
  /** The last path component, e.g. `nginx` of `bitnami/nginx`. */
  readonly name: string
  /** The repository path without the registry, e.g. `bitnami/nginx`. */
  readonly path: string
  /** Absent only when the image names a digest and no tag; a bare name gets `latest`. */
  readonly tag?: string
  readonly digest?: string
  /** `registry/path@digest` when there is a digest, `registry/path:tag` otherwise. */
  readonly reference: string
  /** `registry/path:tag`; the tag part is empty for digest-only images (`docker.io/nginx:`). */
  readonly referenceWithTag: string
}

const DEFAULT_REGISTRY = 'docker.io'

const ALPHANUMERIC = '[a-z0-9]+'
const SEPARATOR = '(?:[._]|__|[-]+)'
const PATH_COMPONENT = `${ALPHANUMERIC}(?:${SEPARATOR}${ALPHANUMERIC})*`
const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])'
const DOMAIN_NAME = `${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*`
const IPV6 = '\\[(?:[a-fA-F0-9:]+)\\]'
const DOMAIN = `(?:${DOMAIN_NAME}|${IPV6})(?::[0-9]+)?`
const TAG = '[\\w][\\w.-]{0,127}'
const DIGEST = '[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}'
const REFERENCE = new RegExp(
  `^((?:(${DOMAIN})/)?(${PATH_COMPONENT}(?:/${PATH_COMPONENT})*))(?::(${TAG}))?(?:@(${DIGEST}))?$`,
)
const NAME_TOTAL_LENGTH_MAX = 255

/** Kyverno's `addDefaultRegistry`: a first component that cannot be a registry host gets `docker.io/`. */
function withDefaultRegistry(image: string): string {
  const slash = image.indexOf('/')
  if (slash === -1) return `${DEFAULT_REGISTRY}/${image}`
  const first = image.slice(0, slash)
  const isHost = /[.:]/.test(first) || first === 'localhost' || first.toLowerCase() !== first
  return isHost ? image : `${DEFAULT_REGISTRY}/${image}`
}

function referenceError(image: string, reason: string): Error {
  return new Error(`bad image: ${image}, defaultRegistry: ${DEFAULT_REGISTRY}: ${reason}`)
}

export function parseImageReference(image: string): ImageInfo {
  const full = withDefaultRegistry(image)
  const m = REFERENCE.exec(full)
  if (!m) {
    if (full === '') throw referenceError(full, 'repository name must have at least one component')
    if (REFERENCE.test(full.toLowerCase())) throw referenceError(full, 'repository name must be lowercase')
    throw referenceError(full, 'invalid reference format')
  }
  const [, name = '', registry = '', path = '', explicitTag, digest] = m
  if (name.length > NAME_TOTAL_LENGTH_MAX)
    throw referenceError(full, `repository name must not be more than ${NAME_TOTAL_LENGTH_MAX} characters`)
  const tag = explicitTag ?? (digest ? undefined : 'latest')
  const repository = registry ? `${registry}/${path}` : path
  return {
    registry,
    name: path.slice(path.lastIndexOf('/') + 1),
    path,
    ...(tag === undefined ? {} : { tag }),
    ...(digest === undefined ? {} : { digest }),
    reference: digest ? `${repository}@${digest}` : `${repository}:${tag}`,
    referenceWithTag: `${repository}:${tag ?? ''}`,
  }
}

const CONTAINER_GROUPS = ['initContainers', 'containers', 'ephemeralContainers'] as const

/** Where each kind keeps its pod spec (Kyverno's registered image extractors). */
const POD_SPEC_PATH: Readonly<Record<string, readonly string[]>> = {
  Pod: ['spec'],
  DaemonSet: ['spec', 'template', 'spec'],
  Deployment: ['spec', 'template', 'spec'],
  ReplicaSet: ['spec', 'template', 'spec'],
  ReplicationController: ['spec', 'template', 'spec'],
  StatefulSet: ['spec', 'template', 'spec'],
  Job: ['spec', 'template', 'spec'],
  CronJob: ['spec', 'jobTemplate', 'spec', 'template', 'spec'],
}

function child(value: unknown, key: string): unknown {
  return value && typeof value === 'object' && !Array.isArray(value)
    ? (value as Record<string, unknown>)[key]
    : undefined
}

/** One container group as `{ <container name>: info + jsonPointer }`; empty when it has no images. */
function groupImages(containers: unknown, pointer: string): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  if (!Array.isArray(containers)) return out
  containers.forEach((container, index) => {
    if (!container || typeof container !== 'object' || Array.isArray(container))
      throw new Error(`invalid image config at ${pointer}/${index}`)
    const { name, image } = container as Record<string, unknown>
    if (typeof image !== 'string' || image.trim() === '') return
    if (typeof name !== 'string') throw new Error(`invalid key: container ${pointer}/${index} has no name`)
    out[name] = { ...parseImageReference(image), jsonPointer: `${pointer}/${index}/image` }
  })
  return out
}

export function imagesOf(resource: Record<string, unknown>): Record<string, unknown> {
  const path = typeof resource.kind === 'string' ? POD_SPEC_PATH[resource.kind] : undefined
  if (!path) return {}
  const spec = path.reduce<unknown>(child, resource)
  const images: Record<string, unknown> = {}
  for (const group of CONTAINER_GROUPS) {
    const found = groupImages(child(spec, group), `/${[...path, group].join('/')}`)
    if (Object.keys(found).length > 0) images[group] = found
  }
  return images
}
