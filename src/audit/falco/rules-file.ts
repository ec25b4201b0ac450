/**
 * Reads Falco rules files (YAML: a sequence of rule/macro/list/required_engine_version/
 * required_plugin_versions items) and collects them as Falco's rule loader does, in order, later files
 * modifying earlier ones: a name defined again replaces the earlier definition (keeping its place);
 * `append: true` (deprecated in Falco, still everywhere) and `override: {key: append|replace}` modify it;
 * a rule item with only `enabled` switches an existing rule on or off.
 *
 * Unlike Falco, which refuses to start on the first error, a broken item or file is reported (file and
 * line) and skipped; everything else still loads.
 */
import { EVENT_ID, FAILSAFE_SCHEMA, loadAll, parseEvents, YAMLException } from 'js-yaml'
import type { Priority } from '../types.js'

export interface RulesFileInput {
  /** shown in messages: a path or a label */
  readonly name: string
  readonly text: string
}

/** An error or warning from loading, located in its file. */
export interface LoadMessage {
  readonly file: string
  /** 1-based; 0 when the whole file is concerned */
  readonly line: number
  /** `rule 'X'`, `macro 'Y'`, `list 'Z'` when an item is concerned */
  readonly item?: string
  readonly message: string
}

export function formatMessage(m: LoadMessage): string {
  return `${m.file}:${m.line}: ${m.item === undefined ? '' : `${m.item}: `}${m.message}`
}

export interface Origin {
  readonly file: string
  readonly line: number
}

interface Versioned {
  /** position of the first definition (Falco's index): the order rules are evaluated in */
  index: number
  /** position of the last definition or change (Falco's visibility) */
  visibility: number
  origin: Origin
}

export interface ListInfo extends Versioned {
  readonly name: string
  items: string[]
}

export interface MacroInfo extends Versioned {
  readonly name: string
  cond: string
}

/** One `exceptions:` entry. `fields`/`comps` a string (one field) or a list; values as written. */
export interface ExceptionInfo {
  readonly name: string
  fields?: string | string[]
  comps?: string | string[]
  values: ExceptionValue[]
}
export type ExceptionValue = string | (string | string[])[]

export interface RuleInfo extends Versioned {
  readonly name: string
  cond: string
  output: string
  desc: string
  priority: Priority
  source: string
  enabled: boolean
  tags: Set<string>
  exceptions: ExceptionInfo[]
}

export interface Collected {
  readonly lists: Map<string, ListInfo>
  readonly macros: Map<string, MacroInfo>
  readonly rules: Map<string, RuleInfo>
  readonly requiredEngineVersion?: string
  readonly requiredPluginVersions: { name: string; version: string }[][]
  readonly errors: LoadMessage[]
  readonly warnings: LoadMessage[]
}

/** Falco's priority names, any case, to Plimsoll's. */
export function parsePriority(s: string): Priority | undefined {
  switch (s.toLowerCase()) {
    case 'emergency':
      return 'emergency'
    case 'alert':
      return 'alert'
    case 'critical':
      return 'critical'
    case 'error':
      return 'error'
    case 'warning':
      return 'warning'
    case 'notice':
      return 'notice'
    case 'info':
    case 'informational':
      return 'informational'
    case 'debug':
      return 'debug'
    default:
      return undefined
  }
}

class ItemError extends Error {}

const fail = (message: string): never => {
  throw new ItemError(message)
}

type Item = Record<string, unknown>

function isMap(v: unknown): v is Item {
  return v !== null && typeof v === 'object' && !Array.isArray(v)
}

/** yaml-cpp's as<bool>: true/false/yes/no/on/off/y/n, any case */
function asBool(v: unknown, key: string): boolean {
  if (typeof v === 'string') {
    const s = v.toLowerCase()
    if (['true', 'yes', 'on', 'y'].includes(s)) return true
    if (['false', 'no', 'off', 'n'].includes(s)) return false
  }
  return fail(`Can't decode YAML scalar value for key '${key}'`)
}

function str(item: Item, key: string): string {
  const v = item[key]
  if (v === undefined) fail(`Item has no mapping for key '${key}'`)
  if (v === null) fail(`Mapping for key '${key}' is empty`)
  if (typeof v !== 'string') fail(`Value of '${key}' must be a string`)
  if ((v as string).length === 0) fail(`Mapping for key '${key}' is empty`)
  return v as string
}

function optStr(item: Item, key: string): string | undefined {
  const v = item[key]
  if (v === undefined) return undefined
  if (typeof v !== 'string') fail(`Value of '${key}' must be a string`)
  return v as string
}

function strList(v: unknown, what: string): string[] {
  if (v === undefined) return []
  if (!Array.isArray(v)) return fail(`Value of ${what} must be a sequence`)
  return v.map((x) => {
    if (typeof x !== 'string') fail(`Items of ${what} must be strings`)
    return x as string
  })
}

/** Positions (1-based lines) of the items of each document's top-level sequence. */
function itemLines(text: string): number[] {
  const lineStarts = [0]
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) lineStarts.push(i + 1)
  const lineOf = (offset: number) => {
    let lo = 0
    let hi = lineStarts.length - 1
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1
      if (lineStarts[mid]! <= offset) lo = mid
      else hi = mid - 1
    }
    return lo + 1
  }
  const lines: number[] = []
  let depth = 0
  for (const e of parseEvents(text, { maxDepth: Number.POSITIVE_INFINITY })) {
    if (e.type === EVENT_ID.POP) {
      depth--
      continue
    }
    if (e.type === EVENT_ID.DOCUMENT) {
      depth++
      continue
    }
    if (depth === 2) {
      const offset = e.type === EVENT_ID.SCALAR ? e.valueStart : 'start' in e ? e.start : 0
      lines.push(lineOf(offset))
    }
    if (e.type === EVENT_ID.SEQUENCE || e.type === EVENT_ID.MAPPING) depth++
  }
  return lines
}

/** the event sources whose rules this engine runs */
export const KNOWN_SOURCES: ReadonlySet<string> = new Set(['k8s_audit'])

export class Collector {
  private counter = 0
  readonly lists = new Map<string, ListInfo>()
  readonly macros = new Map<string, MacroInfo>()
  readonly rules = new Map<string, RuleInfo>()
  requiredEngineVersion: string | undefined
  readonly requiredPluginVersions: { name: string; version: string }[][] = []
  readonly errors: LoadMessage[] = []
  readonly warnings: LoadMessage[] = []

  collected(): Collected {
    return this
  }

  addFile(file: RulesFileInput): void {
    let docs: unknown[]
    let lines: number[]
    try {
      const text = this.lenient(file)
      // as Falco (yaml-cpp's LoadAll), every document of the file counts
      docs = loadAll(text, { schema: FAILSAFE_SCHEMA, filename: file.name })
      lines = itemLines(text)
    } catch (e) {
      const line = e instanceof YAMLException && e.mark !== undefined ? e.mark.line + 1 : 0
      const reason = e instanceof YAMLException ? e.reason : String(e)
      this.errors.push({ file: file.name, line, message: `YAML: ${reason}; nothing in this file was loaded` })
      return
    }
    const items: unknown[] = []
    for (const doc of docs) {
      if (doc === undefined || doc === null || doc === '') continue
      if (!Array.isArray(doc)) {
        this.errors.push({
          file: file.name,
          line: 1,
          message: 'Rules content is not yaml array of objects; nothing in this file was loaded',
        })
        return
      }
      items.push(...doc)
    }
    items.forEach((item, i) => {
      const origin: Origin = { file: file.name, line: lines[i] ?? 0 }
      let label: string | undefined
      try {
        if (!isMap(item)) fail('Unexpected element type. Each element should be a yaml associative array.')
        const it = item as Item
        label = labelOf(it)
        this.readItem(it, origin)
      } catch (e) {
        if (!(e instanceof ItemError)) throw e
        this.errors.push({ ...origin, ...(label === undefined ? {} : { item: label }), message: e.message })
      }
    })
  }

  /**
   * The text, with flow collections' closing brackets indented enough for js-yaml. yaml-cpp (Falco's
   * parser) accepts a `]` at the indentation of its key, as in
   *   items: [
   *     a,
   *   ]
   * which YAML (and js-yaml) call deficient indentation; Falco's own rules files have it. Lines keep
   * their numbers.
   */
  private lenient(file: RulesFileInput): string {
    let text = file.text
    for (let tries = 0; tries < 1000; tries++) {
      try {
        parseEvents(text, { maxDepth: Number.POSITIVE_INFINITY })
        return text
      } catch (e) {
        if (
          !(e instanceof YAMLException) ||
          e.mark === undefined ||
          !/deficient indentation/.test(e.reason)
        ) {
          return text
        }
        const lines = text.split('\n')
        const line = lines[e.mark.line]
        if (line === undefined || !/^\s*[\]}]/.test(line)) return text
        lines[e.mark.line] = `  ${line}`
        text = lines.join('\n')
        if (tries === 0) {
          this.warn(
            { file: file.name, line: e.mark.line + 1 },
            undefined,
            'closing bracket indented less than YAML allows; read as Falco (yaml-cpp) does',
          )
        }
      }
    }
    return text
  }

  private unknownKeys(item: Item, expected: readonly string[], origin: Origin, label: string): void {
    for (const key of Object.keys(item)) {
      if (!expected.includes(key)) this.warn(origin, label, `Unknown key '${key}'. The key will be ignored.`)
    }
  }

  private warn(origin: Origin, item: string | undefined, message: string): void {
    this.warnings.push({ ...origin, ...(item === undefined ? {} : { item }), message })
  }

  private readItem(item: Item, origin: Origin): void {
    if (item.required_engine_version !== undefined) {
      const v = item.required_engine_version
      if (typeof v !== 'string') fail('required_engine_version must be a scalar')
      this.requiredEngineVersion = v as string
    } else if (item.required_plugin_versions !== undefined) {
      const reqs = item.required_plugin_versions
      if (!Array.isArray(reqs)) fail('Value of required_plugin_versions must be a sequence')
      for (const r of reqs as unknown[]) {
        if (!isMap(r)) fail('Plugin version must be a mapping')
        const alts = [{ name: str(r as Item, 'name'), version: str(r as Item, 'version') }]
        const more = (r as Item).alternatives
        if (more !== undefined) {
          if (!Array.isArray(more)) fail('Value of plugin version alternatives must be a sequence')
          for (const a of more as unknown[]) {
            if (!isMap(a)) fail('Plugin version alternative must be a mapping')
            alts.push({ name: str(a as Item, 'name'), version: str(a as Item, 'version') })
          }
        }
        this.requiredPluginVersions.push(alts)
      }
    } else if (item.list !== undefined) this.readList(item, origin)
    else if (item.macro !== undefined) this.readMacro(item, origin)
    else if (item.rule !== undefined) this.readRule(item, origin)
    else this.warn(origin, undefined, 'Unknown top level object')
  }

  private overrides(item: Item, appendable: Set<string>, replaceable: Set<string>) {
    const append = new Set<string>()
    const replace = new Set<string>()
    const o = item.override
    if (o === undefined) return { append, replace }
    if (!isMap(o)) fail("Value of 'override' must be a mapping")
    for (const [key, how] of Object.entries(o as Item)) {
      if (how === 'append') {
        if (!appendable.has(key)) fail(`Key '${key}' cannot be appended to`)
        append.add(key)
      } else if (how === 'replace') {
        if (!replaceable.has(key)) fail(`Key '${key}' cannot be replaced`)
        replace.add(key)
      } else fail(`Invalid override '${String(how)}' for key '${key}': must be one of 'append', 'replace'`)
      if (item[key] === undefined) {
        fail(`An ${how} override for '${key}' was specified but '${key}' is not defined`)
      }
    }
    return { append, replace }
  }

  private appendFlag(item: Item, origin: Origin, label: string): boolean {
    const append = item.append === undefined ? false : asBool(item.append, 'append')
    if (append) {
      this.warn(origin, label, "'append' key is deprecated. Add an 'append' entry under 'override' instead.")
    }
    return append
  }

  private define<T extends Versioned & { name: string }>(map: Map<string, T>, info: T): void {
    const prev = map.get(info.name)
    const id = this.counter++
    info.visibility = id
    if (prev !== undefined) {
      info.index = prev.index
      map.set(info.name, info)
    } else {
      info.index = id
      map.set(info.name, info)
    }
  }

  private readList(item: Item, origin: Origin): void {
    const name = str(item, 'list')
    const label = `list '${name}'`
    this.unknownKeys(item, ['list', 'items', 'append', 'override'], origin, label)
    const items = strList(item.items, 'items')
    if (item.items === undefined) fail("Item has no mapping for key 'items'")
    let append = this.appendFlag(item, origin, label)
    const ov = this.overrides(item, new Set(['items']), new Set(['items']))
    if (append && (ov.append.size > 0 || ov.replace.size > 0)) {
      fail(
        "Keys 'override' and 'append: true' cannot be used together. Add an 'append' entry under 'override' instead.",
      )
    }
    append ||= ov.append.has('items')
    if (append) {
      const prev = this.lists.get(name)
      if (prev === undefined)
        fail("List has 'append' key or an append override, but no list by that name already exists")
      prev!.items.push(...items)
      prev!.visibility = this.counter++
    } else {
      this.define(this.lists, { name, items, index: 0, visibility: 0, origin })
    }
  }

  private readMacro(item: Item, origin: Origin): void {
    const name = str(item, 'macro')
    const label = `macro '${name}'`
    if (!/^[a-zA-Z]+[a-zA-Z0-9_]*$/.test(name)) {
      this.warn(origin, label, 'Macro has an invalid name. Macro names should match [a-zA-Z]+[a-zA-Z0-9_]*')
    }
    this.unknownKeys(item, ['macro', 'condition', 'append', 'override'], origin, label)
    const cond = str(item, 'condition')
    let append = this.appendFlag(item, origin, label)
    const ov = this.overrides(item, new Set(['condition']), new Set(['condition']))
    if (append && (ov.append.size > 0 || ov.replace.size > 0)) {
      fail(
        "Keys 'override' and 'append: true' cannot be used together. Add an 'append' entry under 'override' instead.",
      )
    }
    append ||= ov.append.has('condition')
    if (append) {
      const prev = this.macros.get(name)
      if (prev === undefined)
        fail("Macro has 'append' key or an append override, but no macro by that name already exists")
      prev!.cond += ` ${cond}`
      prev!.visibility = this.counter++
    } else {
      this.define(this.macros, { name, cond, index: 0, visibility: 0, origin })
    }
  }

  private readRule(item: Item, origin: Origin): void {
    const name = str(item, 'rule')
    const label = `rule '${name}'`
    const source = optStr(item, 'source')
    const appendFlag = this.appendFlag(item, origin, label)
    const appendable = new Set(['condition', 'output', 'desc', 'tags', 'exceptions'])
    const replaceable = new Set([
      'condition',
      'output',
      'desc',
      'priority',
      'capture',
      'capture_duration',
      'tags',
      'exceptions',
      'enabled',
      'warn_evttypes',
      'skip-if-unknown-filter',
    ])
    this.unknownKeys(item, ['rule', 'source', 'append', 'override', ...replaceable], origin, label)
    const ov = this.overrides(item, appendable, replaceable)
    const hasOverrides = ov.append.size > 0 || ov.replace.size > 0
    if (appendFlag && hasOverrides) {
      fail(
        "Keys 'override' and 'append: true' cannot be used together. Add an 'append' entry under 'override' instead.",
      )
    }
    const prevOf = (): RuleInfo => {
      const prev = this.rules.get(name)
      if (prev === undefined) {
        return fail(
          `Rule has 'append' key or an ${appendFlag ? 'append' : 'override'}, but no rule by that name already exists`,
        )
      }
      if (source !== undefined && source !== '' && prev.source !== source) {
        fail('Rule has been re-defined with a different source')
      }
      return prev
    }

    if (hasOverrides) {
      for (const key of [...appendable, ...replaceable]) {
        if (item[key] !== undefined && !ov.append.has(key) && !ov.replace.has(key)) {
          fail(`Unexpected key '${key}': no corresponding entry under 'override' is defined.`)
        }
      }
      const prev = prevOf()
      for (const key of ov.append) {
        if (key === 'condition') prev.cond += ` ${str(item, 'condition')}`
        if (key === 'output') prev.output += ` ${str(item, 'output')}`
        if (key === 'desc') prev.desc += ` ${str(item, 'desc')}`
        if (key === 'tags') for (const t of strList(item.tags, 'tags')) prev.tags.add(t)
        if (key === 'exceptions') appendExceptions(prev, readExceptions(item, true))
      }
      for (const key of ov.replace) {
        if (key === 'condition') prev.cond = str(item, 'condition')
        if (key === 'output') prev.output = str(item, 'output').trim()
        if (key === 'desc') prev.desc = str(item, 'desc')
        if (key === 'tags') prev.tags = new Set(strList(item.tags, 'tags'))
        if (key === 'exceptions') prev.exceptions = readExceptions(item, false)
        if (key === 'enabled') prev.enabled = asBool(item.enabled, 'enabled')
        if (key === 'priority') prev.priority = priorityOf(item)
      }
      prev.visibility = this.counter++
      return
    }
    if (appendFlag) {
      const prev = prevOf()
      if (item.condition === undefined && item.exceptions === undefined) {
        fail('Appended rule must have exceptions or condition property')
      }
      if (item.condition !== undefined) prev.cond += ` ${str(item, 'condition')}`
      if (item.exceptions !== undefined) appendExceptions(prev, readExceptions(item, true))
      prev.visibility = this.counter++
      return
    }
    if (
      item.condition === undefined &&
      item.output === undefined &&
      item.desc === undefined &&
      item.priority === undefined
    ) {
      // only `enabled`: switch an existing rule on or off
      if (item.enabled === undefined) fail("Item has no mapping for key 'condition'")
      const prev = this.rules.get(name)
      if (prev === undefined) fail("Rule has 'enabled' key but no rule by that name already exists")
      prev!.enabled = asBool(item.enabled, 'enabled')
      return
    }
    const cond = str(item, 'condition')
    const output = str(item, 'output').trim()
    const desc = str(item, 'desc')
    const priority = priorityOf(item)
    const src = source === undefined || source === '' ? 'syscall' : source
    const prev = this.rules.get(name)
    if (prev !== undefined && prev.source !== src) fail('Rule has been re-defined with a different source')
    const enabled = item.enabled === undefined ? true : asBool(item.enabled, 'enabled')
    const tags = new Set(strList(item.tags, 'tags'))
    const exceptions = readExceptions(item, false)
    for (const ex of exceptions) validateException(ex)
    // kept (a later file may append to it) but never compiled: only k8s_audit rules run here
    if (!KNOWN_SOURCES.has(src)) this.warn(origin, label, `Unknown source ${src}, skipping`)
    this.define(this.rules, {
      name,
      cond,
      output,
      desc,
      priority,
      source: src,
      enabled,
      tags,
      exceptions,
      index: 0,
      visibility: 0,
      origin,
    })
  }
}

function labelOf(item: Item): string | undefined {
  for (const k of ['rule', 'macro', 'list'] as const) {
    if (typeof item[k] === 'string') return `${k} '${item[k]}'`
  }
  return undefined
}

function priorityOf(item: Item): Priority {
  const p = parsePriority(str(item, 'priority'))
  return p ?? fail('Invalid priority')
}

function readExceptions(item: Item, appending: boolean): ExceptionInfo[] {
  const raw = item.exceptions
  if (raw === undefined) return []
  if (!Array.isArray(raw)) return fail('Rule exceptions must be a sequence')
  return raw.map((e: unknown) => {
    if (!isMap(e)) fail('Rule exception must be a mapping')
    const ex = e as Item
    const name = str(ex, 'name')
    const fields =
      ex.fields === undefined
        ? undefined
        : typeof ex.fields === 'string'
          ? ex.fields
          : strList(ex.fields, 'fields')
    if (fields === undefined && !appending)
      fail('Rule exception item must have fields property with a list of fields')
    const comps =
      ex.comps === undefined
        ? undefined
        : typeof ex.comps === 'string'
          ? ex.comps
          : strList(ex.comps, 'comps')
    const values: ExceptionValue[] = []
    if (ex.values !== undefined) {
      if (!Array.isArray(ex.values)) fail('Rule exception values must be a sequence')
      for (const v of ex.values as unknown[]) {
        if (typeof v === 'string') values.push(v)
        else if (Array.isArray(v)) {
          values.push(
            v.map((x: unknown) => {
              if (typeof x === 'string') return x
              if (Array.isArray(x)) return strList(x, 'exception values')
              return fail('Expected values array to contain a list of strings or lists')
            }),
          )
        } else fail('Expected values array to contain a list of strings or lists')
      }
    }
    const out: ExceptionInfo = { name, values }
    if (fields !== undefined) out.fields = fields
    if (comps !== undefined) out.comps = comps
    return out
  })
}

const EXCEPTION_OPS = new Set([
  '=',
  '==',
  '!=',
  '<',
  '<=',
  '>',
  '>=',
  'contains',
  'icontains',
  'bcontains',
  'startswith',
  'bstartswith',
  'endswith',
  'glob',
  'iglob',
  'regex',
  'in',
  'intersects',
  'pmatch',
  'exists',
])

/** Falco's validate_exception_info: fills default comps and checks their shapes. */
function validateException(ex: ExceptionInfo): void {
  if (Array.isArray(ex.fields)) {
    if (ex.comps === undefined) ex.comps = ex.fields.map(() => '=')
    if (!Array.isArray(ex.comps) || ex.comps.length !== ex.fields.length) {
      fail('Fields and comps lists must have equal length')
    }
    ex.comps = (ex.comps as string[]).map((c) => c.trim())
    for (const c of ex.comps) if (!EXCEPTION_OPS.has(c)) fail(`'${c}' is not a supported comparison operator`)
  } else if (ex.fields !== undefined) {
    if (ex.comps === undefined) ex.comps = 'in'
    if (Array.isArray(ex.comps)) fail('Fields and comps must both be strings')
    ex.comps = (ex.comps as string).trim()
    if (!['in', 'pmatch', 'intersects'].includes(ex.comps)) {
      fail('When fields is a single value, comps must be one of (in, pmatch, intersects)')
    }
  }
}

function appendExceptions(rule: RuleInfo, more: ExceptionInfo[]): void {
  for (const ex of more) {
    const prev = rule.exceptions.find((e) => e.name === ex.name)
    if (prev === undefined) {
      if (ex.fields === undefined) fail('Rule exception must have fields property with a list of fields')
      if (ex.values.length === 0) fail('Rule exception must have values property with a list of values')
      validateException(ex)
      rule.exceptions.push(ex)
    } else {
      if (ex.fields !== undefined) fail('Can not append exception fields to existing exception, only values')
      if (ex.comps !== undefined) fail('Can not append exception comps to existing exception, only values')
      prev.values.push(...ex.values)
    }
  }
}

/** Collects the files in order. */
export function collectRules(files: readonly RulesFileInput[]): Collected {
  const c = new Collector()
  for (const f of files) c.addFile(f)
  return c.collected()
}
