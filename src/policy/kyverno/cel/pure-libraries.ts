/**
 * Kyverno's CEL libraries that need nothing from outside the policy (extensions/cel/libs in kyverno/sdk,
 * as registered by pkg/cel/policies/vpol/compiler in kyverno/kyverno): user (`parseServiceAccount`), hash,
 * math, json, yaml, random, transform (`listObjToMap`), time and x509. Functions Kyverno also offers
 * under a namespace since 1.18 (`user.parseServiceAccount`, `hash.sha256`...) are reached here through a
 * variable of that name, cel-js having no qualified function names.
 */
import { createHash } from 'node:crypto'
import type { Environment } from '@marcbachmann/cel-js'
import { load } from 'js-yaml'
import { randomMatching, x509Decode } from '../functions.js'
import { fromCelValue, toUnstructuredValue } from './values.js'

const SA_PREFIX = 'system:serviceaccount:'

/** user.parseServiceAccount: the Name and Namespace of a service account user name, empty otherwise. */
export function parseServiceAccount(username: string): { Name: string; Namespace: string } {
  if (!username.startsWith(SA_PREFIX)) return { Name: '', Namespace: '' }
  const rest = username.slice(SA_PREFIX.length)
  const sep = rest.indexOf(':')
  return sep === -1
    ? { Name: '', Namespace: '' }
    : { Namespace: rest.slice(0, sep), Name: rest.slice(sep + 1) }
}

const hex = (algorithm: string) => (s: string) => createHash(algorithm).update(s).digest('hex')

/** math.round(value, precision): Go's math.Round after shifting by 10^precision. */
function round(value: number, precision: bigint): number {
  const shift = 10 ** Number(precision)
  const shifted = value * shift
  // Go rounds half away from zero; Math.round rounds half up.
  return (Math.sign(shifted) * Math.round(Math.abs(shifted))) / shift
}

function listObjToMap(keys: unknown[], values: unknown[], keyName: string, valueName: string) {
  if (keys.length !== values.length)
    throw new Error(
      `listObjToMap must take lists of equal length. list1: ${keys.length}, list2: ${values.length}`,
    )
  const out: Record<string, unknown> = {}
  keys.forEach((entry, i) => {
    const key = (entry as Record<string, unknown> | null)?.[keyName]
    if (typeof key !== 'string')
      throw new Error('the passed key name cannot be handled as a string in the key object list')
    const value = values[i]
    if (value === null || typeof value !== 'object' || Array.isArray(value))
      throw new Error('object cannot be handled as a map string to any in the value object list')
    out[key] = (value as Record<string, unknown>)[valueName] ?? null
  })
  return out
}

/** time.toCron: `minute hour day month weekday` of the instant, in UTC. */
function toCron(t: Date): string {
  return [t.getUTCMinutes(), t.getUTCHours(), t.getUTCDate(), t.getUTCMonth() + 1, t.getUTCDay()].join(' ')
}

/** Milliseconds from Go's zero time (January 1, year 1, UTC) to the Unix epoch. */
const GO_ZERO_TO_EPOCH_MS = 62_135_596_800_000

/** time.truncate: Go's Time.Truncate, rounding down to a multiple of the duration since Go's zero time. */
function truncate(t: Date, d: { valueOf(): number }): Date {
  const ms = d.valueOf()
  if (ms <= 0) return t
  const sinceZero = t.getTime() + GO_ZERO_TO_EPOCH_MS
  return new Date(sinceZero - (sinceZero % ms) - GO_ZERO_TO_EPOCH_MS)
}

/** Go's encoding/json writes a map's keys sorted. */
function goMapOrder(_key: string, value: unknown): unknown {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return value
  return Object.fromEntries(Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
}

/** Handles of the namespaced functions: each library is a value whose methods are the functions. */
class UserLibrary {}
class HashLibrary {}
class MathLibrary {}
class JsonLibrary {}
class YamlLibrary {}
class RandomLibrary {}
class TransformLibrary {}
class TimeLibrary {}
class X509Library {}

const HANDLES = {
  user: ['kyverno.user', UserLibrary],
  hash: ['kyverno.hash', HashLibrary],
  math: ['kyverno.math', MathLibrary],
  json: ['kyverno.json', JsonLibrary],
  yaml: ['kyverno.yaml', YamlLibrary],
  random: ['kyverno.random', RandomLibrary],
  transform: ['kyverno.transform', TransformLibrary],
  time: ['kyverno.time', TimeLibrary],
  x509: ['kyverno.x509', X509Library],
} as const

/** The library handles, as constants: they hold no data, so every evaluation shares them. */
function registerHandles(env: Environment): void {
  for (const [name, [type, Handle]] of Object.entries(HANDLES)) {
    env.registerType(type, Handle)
    env.registerConstant(name, type, new Handle())
  }
}

export function addPureLibraries(env: Environment): Environment {
  registerHandles(env)
  const sa = (s: string) => parseServiceAccount(s)
  const random = (pattern: string) => randomMatching(pattern)
  const defaultRandom = () => randomMatching('[0-9a-z]{8}')
  const toMap = (k: unknown[], v: unknown[], kn: string, vn: string) =>
    toUnstructuredValue(listObjToMap(fromCelValue(k) as unknown[], fromCelValue(v) as unknown[], kn, vn))
  env
    .registerFunction('parseServiceAccount(string): map<string, string>', sa)
    .registerFunction(
      'kyverno.user.parseServiceAccount(string): map<string, string>',
      (_: unknown, s: string) => sa(s),
    )
  for (const [name, algorithm] of [
    ['sha1', 'sha1'],
    ['sha256', 'sha256'],
    ['md5', 'md5'],
  ] as const) {
    env
      .registerFunction(`${name}(string): string`, hex(algorithm))
      .registerFunction(`kyverno.hash.${name}(string): string`, (_: unknown, s: string) => hex(algorithm)(s))
  }
  env
    .registerFunction('kyverno.math.round(double, int): double', (_: unknown, v: number, p: bigint) =>
      round(v, p),
    )
    .registerFunction('kyverno.json.unmarshal(string): dyn', (_: unknown, s: string) =>
      toUnstructuredValue(JSON.parse(s)),
    )
    .registerFunction('kyverno.json.marshal(dyn): string', (_: unknown, v: unknown) =>
      JSON.stringify(fromCelValue(v), goMapOrder),
    )
    .registerFunction('kyverno.yaml.parse(string): dyn', (_: unknown, s: string) =>
      toUnstructuredValue(load(s) ?? null),
    )
    .registerFunction('random(): string', defaultRandom)
    .registerFunction('random(string): string', random)
    .registerFunction('kyverno.random.random(): string', () => defaultRandom())
    .registerFunction('kyverno.random.random(string): string', (_: unknown, p: string) => random(p))
    .registerFunction('listObjToMap(list, list, string, string): map<string, dyn>', toMap)
    .registerFunction(
      'kyverno.transform.listObjToMap(list, list, string, string): map<string, dyn>',
      (_: unknown, k: unknown[], v: unknown[], kn: string, vn: string) => toMap(k, v, kn, vn),
    )
    .registerFunction('kyverno.time.now(): google.protobuf.Timestamp', () => new Date())
    .registerFunction('kyverno.time.toCron(google.protobuf.Timestamp): string', (_: unknown, t: Date) =>
      toCron(t),
    )
    .registerFunction(
      'kyverno.time.truncate(google.protobuf.Timestamp, google.protobuf.Duration): google.protobuf.Timestamp',
      (_: unknown, t: Date, d: { valueOf(): number }) => truncate(t, d),
    )
    .registerFunction('kyverno.x509.decode(string): dyn', (_: unknown, pem: string) =>
      toUnstructuredValue(x509Decode(pem)),
    )
  return env
}
