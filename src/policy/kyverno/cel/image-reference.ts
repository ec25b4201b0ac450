/**
 * Image references as Kyverno's CEL image library reads them: go-containerregistry's
 * `name.ParseReference` with its default options (pkg/name in google/go-containerregistry). Unlike the
 * `images` JMESPath variable (../images.ts), the default registry is `index.docker.io` (`docker.io` is
 * rewritten to it), a one-component Docker Hub repository gets `library/`, and a reference without tag
 * or digest has the tag `latest`.
 */

export interface ImageReference {
  registry: string
  /** the repository path without the registry, `library/` added for official Docker Hub images */
  repository: string
  /** set for a tag reference (`latest` when none is written) */
  tag?: string
  /** set for a digest reference */
  digest?: string
}

const DEFAULT_REGISTRY = 'index.docker.io'
const REPOSITORY_CHARS = /^[a-z0-9_\-./]{2,255}$/
const TAG_CHARS = /^[A-Za-z0-9_\-.]{1,128}$/
const DIGEST_CHARS = /^[sh:0-9a-f]{71}$/
/** What Go's url.Parse accepts as the host of `//<registry>` */
const REGISTRY = /^(?:[A-Za-z0-9._~-]+|\[[0-9A-Fa-f:.]+\])(?::\d*)?$/

function badName(message: string): Error {
  return new Error(`could not parse reference: ${message}`)
}

function registryOf(name: string): string {
  if (name === '' || name === 'docker.io') return DEFAULT_REGISTRY
  if (!REGISTRY.test(name)) throw badName(`registries must be valid RFC 3986 URI authorities: ${name}`)
  return name
}

function repositoryOf(name: string): { registry: string; repository: string } {
  if (name === '') throw badName('a repository name must be given')
  const slash = name.indexOf('/')
  const first = slash === -1 ? '' : name.slice(0, slash)
  const hasRegistry = slash !== -1 && (first.includes('.') || first.includes(':') || first === 'localhost')
  const repo = hasRegistry ? name.slice(slash + 1) : name
  if (!REPOSITORY_CHARS.test(repo))
    throw badName(`repository can only contain the characters of [a-z0-9_-./]: ${repo}`)
  const registry = registryOf(hasRegistry ? first : '')
  const implicit = !repo.includes('/') && registry === DEFAULT_REGISTRY
  return { registry, repository: implicit ? `library/${repo}` : repo }
}

function tagReference(name: string): ImageReference {
  const parts = name.split(':')
  const last = parts.at(-1) ?? ''
  const split = parts.length > 1 && !last.includes('/')
  const tag = split ? last : ''
  if (tag !== '' && !TAG_CHARS.test(tag)) throw badName(`tag can only contain the characters [\\w.-]: ${tag}`)
  const base = split ? parts.slice(0, -1).join(':') : name
  return { ...repositoryOf(base), tag: tag || 'latest' }
}

function digestReference(name: string): ImageReference {
  const parts = name.split('@')
  if (parts.length !== 2) throw badName(`a digest must contain exactly one '@' separator: ${name}`)
  const [base = '', digest = ''] = parts
  if (!DIGEST_CHARS.test(digest)) throw badName(`digest must be sha256: and 64 hex characters: ${digest}`)
  const { registry, repository } = tagReference(base)
  return { registry, repository, digest }
}

/** Parses `s` as a tag reference, else as a digest reference; throws when it is neither. */
export function parseReference(s: string): ImageReference {
  try {
    return tagReference(s)
  } catch {
    try {
      return digestReference(s)
    } catch {
      throw badName(s)
    }
  }
}
