/**
 * The alerts config: an Alertmanager config (route tree, inhibit_rules, receivers; the same keys, the
 * same defaults, the same inheritance from parent route to child) plus Plimsoll's extras: `allowlist`
 * (detections dropped before anything else), `rate_limits` (new alerts per rule per interval) and the
 * `alertmanager_configs` receiver (hand alerts to a real Alertmanager instead of grouping them here).
 * Every mistake is reported as `file:line: where: what`.
 */
import { readFileSync } from 'node:fs'
import { ConfigReader, loadYamlConfig, YamlConfigError } from '../../policy/yaml-fields.js'
import type { PathSegment } from '../../resources/types.js'
import {
  type CompiledMatcher,
  compileMatcher,
  type Matcher,
  MatcherError,
  parseMatcher,
  parseMatchers,
} from './matchers.js'

export class AlertConfigError extends YamlConfigError {}

export interface Route {
  /** unique within the tree, stable across reloads of the same file: `{}/{priority="critical"}/0` */
  readonly id: string
  readonly receiver: string
  readonly matchers: readonly CompiledMatcher[]
  /** label names; `all` when `group_by: ['...']` (every label, i.e. one group per alert) */
  readonly groupBy: readonly string[] | 'all'
  readonly groupWaitMs: number
  readonly groupIntervalMs: number
  readonly repeatIntervalMs: number
  readonly continue: boolean
  readonly routes: readonly Route[]
  /** 1-based line in the file */
  readonly line: number
}

export interface InhibitRule {
  readonly sourceMatchers: readonly CompiledMatcher[]
  readonly targetMatchers: readonly CompiledMatcher[]
  readonly equal: readonly string[]
  readonly line: number
}

export interface WebhookConfig {
  readonly type: 'webhook'
  readonly url: string
  /** shared secret for the X-Plimsoll-Signature header; none: the header is left out */
  readonly secret?: string
  readonly sendResolved: boolean
  /** most alerts in one message (0: all), as Alertmanager's max_alerts */
  readonly maxAlerts: number
}

export interface SlackConfig {
  readonly type: 'slack'
  readonly apiUrl: string
  readonly channel?: string
  readonly username?: string
  readonly sendResolved: boolean
}

export interface AlertmanagerConfig {
  readonly type: 'alertmanager'
  /** the Alertmanager's base URL; alerts are POSTed to `<url>/api/v2/alerts` */
  readonly url: string
  readonly sendResolved: boolean
}

export type Integration = WebhookConfig | SlackConfig | AlertmanagerConfig

export interface Receiver {
  readonly name: string
  readonly integrations: readonly Integration[]
}

export interface AllowlistEntry {
  readonly matchers: readonly CompiledMatcher[]
  readonly comment: string
  readonly line: number
}

export interface RateLimit {
  readonly matchers: readonly CompiledMatcher[]
  /** the budget is per value of these labels (default: `rule`) */
  readonly by: readonly string[]
  /** new alerts admitted per interval and key */
  readonly maxAlerts: number
  readonly perMs: number
  readonly line: number
}

export interface AlertsConfig {
  readonly resolveTimeoutMs: number
  /** the link put in each alert's generatorURL, when set (`{rule}` is replaced by the rule, URL-encoded) */
  readonly externalUrl?: string
  readonly route: Route
  readonly inhibitRules: readonly InhibitRule[]
  readonly receivers: ReadonlyMap<string, Receiver>
  readonly allowlist: readonly AllowlistEntry[]
  readonly rateLimits: readonly RateLimit[]
}

/** Alertmanager's defaults. */
export const DEFAULTS = {
  resolveTimeout: '5m',
  groupWait: '30s',
  groupInterval: '5m',
  repeatInterval: '4h',
} as const

const UNIT_MS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
  y: 31_536_000_000,
}

/** A Prometheus duration (`1h30m`, `500ms`, `2d`): milliseconds, or undefined when it is not one. */
export function parseDuration(text: string): number | undefined {
  if (text === '0') return 0
  const re = /(\d+)(ms|s|m|h|d|w|y)/gy
  let total = 0
  let matched = 0
  for (let m = re.exec(text); m; m = re.exec(text)) {
    total += Number(m[1]) * UNIT_MS[m[2]!]!
    matched = re.lastIndex
  }
  return matched === text.length && text.length > 0 ? total : undefined
}

export function loadAlertsConfig(file: string): AlertsConfig {
  return parseAlertsConfig(file, readFileSync(file, 'utf8'))
}

type Obj = Record<string, unknown>

class Reader extends ConfigReader {
  list(v: unknown, path: readonly PathSegment[]): unknown[] {
    if (v === undefined || v === null) return []
    if (!Array.isArray(v)) this.fail(path, 'expected a list')
    return v
  }

  string(v: unknown, path: readonly PathSegment[], required: true): string
  string(v: unknown, path: readonly PathSegment[], required?: boolean): string | undefined
  string(v: unknown, path: readonly PathSegment[], required = false): string | undefined {
    if (v === undefined || v === null) {
      if (required) this.fail(path, 'is required')
      return undefined
    }
    if (typeof v !== 'string') this.fail(path, `expected a string, got ${JSON.stringify(v)}`)
    return v
  }

  strings(v: unknown, path: readonly PathSegment[]): string[] | undefined {
    if (v === undefined || v === null) return undefined
    return this.list(v, path).map((s, i) => this.string(s, [...path, i], true))
  }

  bool(v: unknown, path: readonly PathSegment[], dflt: boolean): boolean {
    if (v === undefined || v === null) return dflt
    if (typeof v !== 'boolean') this.fail(path, `expected true or false, got ${JSON.stringify(v)}`)
    return v
  }

  duration(v: unknown, path: readonly PathSegment[]): number | undefined {
    if (v === undefined || v === null) return undefined
    const ms = typeof v === 'string' ? parseDuration(v) : v === 0 ? 0 : undefined
    if (ms === undefined)
      this.fail(path, `invalid duration ${JSON.stringify(v)} (expected e.g. 30s, 5m, 4h, 1d)`)
    return ms
  }

  positiveInt(v: unknown, path: readonly PathSegment[], required: boolean): number | undefined {
    if (v === undefined || v === null) {
      if (required) this.fail(path, 'is required')
      return undefined
    }
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0)
      this.fail(path, `expected a whole number, got ${JSON.stringify(v)}`)
    return v
  }

  url(v: unknown, path: readonly PathSegment[]): string {
    const s = this.string(v, path, true)
    let u: URL
    try {
      u = new URL(s)
    } catch {
      this.fail(path, `invalid URL ${JSON.stringify(s)}`)
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:')
      this.fail(path, `expected an http:// or https:// URL, got ${JSON.stringify(s)}`)
    return s
  }

  /** `matchers:` (strings) plus the deprecated `match:` / `match_re:` maps, compiled. */
  matchers(
    obj: Obj,
    path: readonly PathSegment[],
    key: string,
    legacy?: { match: string; matchRe: string },
  ): CompiledMatcher[] {
    const out: CompiledMatcher[] = []
    const add = (m: Matcher, at: readonly PathSegment[]) => {
      try {
        out.push(compileMatcher(m))
      } catch (err) {
        if (err instanceof MatcherError) this.fail(at, err.message)
        throw err
      }
    }
    this.list(obj[key], [...path, key]).forEach((s, i) => {
      const at = [...path, key, i]
      const text = this.string(s, at, true)
      let parsed: Matcher[]
      try {
        parsed = text.trim().startsWith('{') ? parseMatchers(text) : [parseMatcher(text)]
      } catch (err) {
        if (err instanceof MatcherError) this.fail(at, err.message)
        throw err
      }
      for (const m of parsed) add(m, at)
    })
    if (legacy) {
      for (const [k, type] of [
        [legacy.match, '='],
        [legacy.matchRe, '=~'],
      ] as const) {
        const v = obj[k]
        if (v === undefined || v === null) continue
        const map = this.object(v, [...path, k], Object.keys(v as Obj))
        for (const [name, value] of Object.entries(map))
          add({ name, type, value: this.string(value, [...path, k, name], true) }, [...path, k, name])
      }
    }
    return out
  }
}

const ROUTE_KEYS = [
  'receiver',
  'group_by',
  'group_wait',
  'group_interval',
  'repeat_interval',
  'matchers',
  'match',
  'match_re',
  'continue',
  'routes',
]

interface Inherited {
  receiver: string | undefined
  groupBy: readonly string[] | 'all'
  groupWaitMs: number
  groupIntervalMs: number
  repeatIntervalMs: number
}

function readRoute(
  r: Reader,
  v: unknown,
  path: PathSegment[],
  parent: Inherited,
  parentId: string,
  index: number,
): Route {
  const o = r.object(v, path, ROUTE_KEYS)
  const isRoot = path.length === 1
  const matchers = r.matchers(o, path, 'matchers', { match: 'match', matchRe: 'match_re' })
  if (isRoot && matchers.length > 0) r.fail([...path, 'matchers'], 'the root route must not have matchers')
  if (isRoot && o.continue !== undefined) r.fail([...path, 'continue'], 'the root route cannot have continue')
  const receiver = r.string(o.receiver, [...path, 'receiver']) ?? parent.receiver
  if (!receiver) r.fail([...path, 'receiver'], 'the root route needs a receiver')
  let groupBy: readonly string[] | 'all' = parent.groupBy
  const gb = r.strings(o.group_by, [...path, 'group_by'])
  if (gb) {
    if (gb.includes('...')) {
      if (gb.length > 1)
        r.fail([...path, 'group_by'], "'...' groups by every label and cannot be listed with others")
      groupBy = 'all'
    } else {
      gb.forEach((name, i) => {
        if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name))
          r.fail([...path, 'group_by', i], `invalid label name ${JSON.stringify(name)}`)
      })
      if (new Set(gb).size !== gb.length) r.fail([...path, 'group_by'], 'a label is listed twice')
      groupBy = [...gb].sort()
    }
  }
  const groupIntervalMs = r.duration(o.group_interval, [...path, 'group_interval']) ?? parent.groupIntervalMs
  if (groupIntervalMs <= 0) r.fail([...path, 'group_interval'], 'must be more than zero')
  const repeatIntervalMs =
    r.duration(o.repeat_interval, [...path, 'repeat_interval']) ?? parent.repeatIntervalMs
  if (repeatIntervalMs <= 0) r.fail([...path, 'repeat_interval'], 'must be more than zero')
  const here: Inherited = {
    receiver,
    groupBy,
    groupWaitMs: r.duration(o.group_wait, [...path, 'group_wait']) ?? parent.groupWaitMs,
    groupIntervalMs,
    repeatIntervalMs,
  }
  const matcherText = `{${matchers.map((m) => `${m.name}${m.type}${JSON.stringify(m.value)}`).join(',')}}`
  const id = isRoot ? matcherText : `${parentId}/${matcherText}/${index}`
  const routes = r
    .list(o.routes, [...path, 'routes'])
    .map((child, i) => readRoute(r, child, [...path, 'routes', i], here, id, i))
  return {
    id,
    receiver,
    matchers,
    groupBy,
    groupWaitMs: here.groupWaitMs,
    groupIntervalMs,
    repeatIntervalMs,
    continue: r.bool(o.continue, [...path, 'continue'], false),
    routes,
    line: r.line(path),
  }
}

function readReceiver(r: Reader, v: unknown, path: PathSegment[]): Receiver {
  const o = r.object(v, path, ['name', 'webhook_configs', 'slack_configs', 'alertmanager_configs'])
  const name = r.string(o.name, [...path, 'name'], true)
  const integrations: Integration[] = []
  r.list(o.webhook_configs, [...path, 'webhook_configs']).forEach((c, i) => {
    const p = [...path, 'webhook_configs', i]
    const w = r.object(c, p, ['url', 'secret', 'secret_file', 'send_resolved', 'max_alerts'])
    let secret = r.string(w.secret, [...p, 'secret'])
    const secretFile = r.string(w.secret_file, [...p, 'secret_file'])
    if (secret !== undefined && secretFile !== undefined)
      r.fail([...p, 'secret_file'], 'give secret or secret_file, not both')
    if (secretFile !== undefined) {
      try {
        secret = readFileSync(secretFile, 'utf8').trim()
      } catch (err) {
        r.fail([...p, 'secret_file'], `cannot read ${secretFile}: ${(err as Error).message}`)
      }
    }
    integrations.push({
      type: 'webhook',
      url: r.url(w.url, [...p, 'url']),
      ...(secret ? { secret } : {}),
      sendResolved: r.bool(w.send_resolved, [...p, 'send_resolved'], true),
      maxAlerts: r.positiveInt(w.max_alerts, [...p, 'max_alerts'], false) ?? 0,
    })
  })
  r.list(o.slack_configs, [...path, 'slack_configs']).forEach((c, i) => {
    const p = [...path, 'slack_configs', i]
    const s = r.object(c, p, ['api_url', 'channel', 'username', 'send_resolved'])
    const channel = r.string(s.channel, [...p, 'channel'])
    const username = r.string(s.username, [...p, 'username'])
    integrations.push({
      type: 'slack',
      apiUrl: r.url(s.api_url, [...p, 'api_url']),
      ...(channel ? { channel } : {}),
      ...(username ? { username } : {}),
      // Alertmanager's default for Slack
      sendResolved: r.bool(s.send_resolved, [...p, 'send_resolved'], false),
    })
  })
  r.list(o.alertmanager_configs, [...path, 'alertmanager_configs']).forEach((c, i) => {
    const p = [...path, 'alertmanager_configs', i]
    const a = r.object(c, p, ['url', 'send_resolved'])
    integrations.push({
      type: 'alertmanager',
      url: r.url(a.url, [...p, 'url']).replace(/\/+$/, ''),
      sendResolved: r.bool(a.send_resolved, [...p, 'send_resolved'], true),
    })
  })
  return { name, integrations }
}

/** Parses the config's text; `file` names it in errors. */
export function parseAlertsConfig(file: string, text: string): AlertsConfig {
  const { doc, at } = loadYamlConfig(file, text, AlertConfigError)
  const r: Reader = new Reader(file, at, AlertConfigError)
  const root = r.object(
    doc,
    [],
    ['global', 'route', 'inhibit_rules', 'receivers', 'allowlist', 'rate_limits', 'templates'],
  )
  const global = r.object(root.global ?? {}, ['global'], ['resolve_timeout', 'external_url'])
  const resolveTimeoutMs =
    r.duration(global.resolve_timeout, ['global', 'resolve_timeout']) ??
    (parseDuration(DEFAULTS.resolveTimeout) as number)
  if (resolveTimeoutMs <= 0) r.fail(['global', 'resolve_timeout'], 'must be more than zero')
  const externalUrl =
    global.external_url === undefined ? undefined : r.url(global.external_url, ['global', 'external_url'])

  const receivers = new Map<string, Receiver>()
  r.list(root.receivers, ['receivers']).forEach((v, i) => {
    const rec = readReceiver(r, v, ['receivers', i])
    if (receivers.has(rec.name)) r.fail(['receivers', i, 'name'], `receiver '${rec.name}' is defined twice`)
    receivers.set(rec.name, rec)
  })
  if (root.route === undefined) r.fail([], "no 'route': the config needs a root route")
  const route = readRoute(
    r,
    root.route,
    ['route'],
    {
      receiver: undefined,
      groupBy: [],
      groupWaitMs: parseDuration(DEFAULTS.groupWait) as number,
      groupIntervalMs: parseDuration(DEFAULTS.groupInterval) as number,
      repeatIntervalMs: parseDuration(DEFAULTS.repeatInterval) as number,
    },
    '',
    0,
  )
  const checkReceivers = (rt: Route, path: PathSegment[]) => {
    const rec = receivers.get(rt.receiver)
    if (!rec) r.fail([...path, 'receiver'], `receiver '${rt.receiver}' is not defined in receivers`)
    // Alertmanager resolves an alert at its endsAt: Plimsoll must send firing ones again before then.
    if (rec.integrations.some((i) => i.type === 'alertmanager') && rt.repeatIntervalMs >= resolveTimeoutMs)
      r.fail(
        [...path, 'repeat_interval'],
        `receiver '${rt.receiver}' sends to Alertmanager, which resolves an alert at its endsAt (global.resolve_timeout, ${resolveTimeoutMs / 1000}s, after its last detection): set repeat_interval below that (e.g. 1m) so firing alerts are sent again in time`,
      )
    rt.routes.forEach((c, i) => {
      checkReceivers(c, [...path, 'routes', i])
    })
  }
  checkReceivers(route, ['route'])

  const inhibitRules = r.list(root.inhibit_rules, ['inhibit_rules']).map((v, i): InhibitRule => {
    const p = ['inhibit_rules', i]
    const o = r.object(v, p, [
      'source_matchers',
      'target_matchers',
      'equal',
      'source_match',
      'source_match_re',
      'target_match',
      'target_match_re',
    ])
    return {
      sourceMatchers: r.matchers(o, p, 'source_matchers', {
        match: 'source_match',
        matchRe: 'source_match_re',
      }),
      targetMatchers: r.matchers(o, p, 'target_matchers', {
        match: 'target_match',
        matchRe: 'target_match_re',
      }),
      equal: r.strings(o.equal, [...p, 'equal']) ?? [],
      line: r.line(p),
    }
  })

  const allowlist = r.list(root.allowlist, ['allowlist']).map((v, i): AllowlistEntry => {
    const p = ['allowlist', i]
    const o = r.object(v, p, ['matchers', 'comment'])
    const matchers = r.matchers(o, p, 'matchers')
    if (matchers.length === 0)
      r.fail([...p, 'matchers'], 'an allowlist entry needs matchers (it would drop everything)')
    return { matchers, comment: r.string(o.comment, [...p, 'comment']) ?? '', line: r.line(p) }
  })

  const rateLimits = r.list(root.rate_limits, ['rate_limits']).map((v, i): RateLimit => {
    const p = ['rate_limits', i]
    const o = r.object(v, p, ['matchers', 'by', 'max_alerts', 'per'])
    const perMs = r.duration(o.per, [...p, 'per'])
    if (perMs === undefined || perMs <= 0) r.fail([...p, 'per'], 'is required and must be more than zero')
    return {
      matchers: r.matchers(o, p, 'matchers'),
      by: r.strings(o.by, [...p, 'by']) ?? ['rule'],
      maxAlerts: r.positiveInt(o.max_alerts, [...p, 'max_alerts'], true) as number,
      perMs,
      line: r.line(p),
    }
  })
  if (root.templates !== undefined)
    r.fail(['templates'], 'templates are not supported: messages have a fixed form')

  return {
    resolveTimeoutMs,
    ...(externalUrl ? { externalUrl } : {}),
    route,
    inhibitRules,
    receivers,
    allowlist,
    rateLimits,
  }
}

/** The routes an alert with these labels goes to, as Alertmanager's Route.Match walks the tree. */
export function matchRoutes(route: Route, labels: Readonly<Record<string, string>>): Route[] {
  for (const m of route.matchers) if (!m.matches(labels)) return []
  const all: Route[] = []
  for (const child of route.routes) {
    const found = matchRoutes(child, labels)
    all.push(...found)
    if (found.length > 0 && !child.continue) break
  }
  if (all.length === 0) all.push(route)
  return all
}
