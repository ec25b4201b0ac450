/**
 * A validating review decided: the object (or the old one, for a DELETE) through the same engine and
 * library as `scan` and `watch`, the request as the API server sent it handed to the policies that
 * read it, then each failing check given its mode (enforcement.ts): enforce denies, naming the check
 * and the field; warn allows with a warning; audit allows and says so in the audit annotations; off
 * says nothing. Exceptions (annotations, the exceptions file) hold here as in a scan. Knows nothing of
 * HTTP: server.ts hands it requests.
 */
import { LiveResource } from '../cluster/objects.js'
import type { AdmissionRequestInfo, LiveAdmission } from '../policy/admission/request.js'
import type { Engine } from '../policy/engine.js'
import type { NamespaceObjects } from '../policy/foreign-policies.js'
import type { CheckResult } from '../policy/result.js'
import type { ExceptionContext, Finding } from '../scan/scan-file.js'
import { toFinding } from '../scan/scan-file.js'
import { type EnforcementConfig, exemptionOf, type Mode, modeFor, type Subject } from './enforcement.js'
import type { AdmissionRequest, Verdict } from './review.js'

export interface ValidationSetup {
  readonly engine: Engine
  readonly enforcement: EnforcementConfig
  readonly exceptions?: ExceptionContext
  /** the cluster's namespaces, for rules and policies that select by namespace labels */
  readonly namespaces?: () => NamespaceObjects
}

/** One failing check and what was done with it: what the decision record keeps. */
export interface Decided {
  readonly finding: Finding
  /** `excepted` when an exception holds (nothing done), else the mode applied */
  readonly mode: Mode | 'excepted'
}

export interface Decision {
  readonly verdict: Verdict
  readonly decided: readonly Decided[]
  /** why the request was not looked at (an exemption), if it was not */
  readonly exempt?: string
}

type Obj = Record<string, unknown>

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v)

function labelsOf(object: Obj | null | undefined): Record<string, string> {
  const labels = at(object, 'metadata', 'labels')
  return isObj(labels) ? (labels as Record<string, string>) : {}
}

const at = (value: unknown, ...path: string[]): unknown =>
  path.reduce<unknown>((v, key) => (isObj(v) ? v[key] : undefined), value)

/** spec.runtimeClassName of a Pod, or of the pod template of a workload or a CronJob. */
function runtimeClassOf(object: Obj | null): string | undefined {
  for (const spec of [
    at(object, 'spec'),
    at(object, 'spec', 'template', 'spec'),
    at(object, 'spec', 'jobTemplate', 'spec', 'template', 'spec'),
  ]) {
    const name = at(spec, 'runtimeClassName')
    if (typeof name === 'string') return name
  }
  return undefined
}

/** The request as the policies see it (CEL's `request`, Kyverno's `request.*`). */
export function requestInfoOf(request: AdmissionRequest): AdmissionRequestInfo {
  return {
    operation: request.operation,
    kind: request.kind,
    resource: request.resource,
    subResource: request.subResource,
    name: request.name,
    namespace: request.namespace,
    scope: request.namespace === '' ? 'Cluster' : 'Namespaced',
    userInfo: {
      username: request.userInfo.username,
      groups: [...request.userInfo.groups],
      ...(request.userInfo.uid ? { uid: request.userInfo.uid } : {}),
      ...(request.userInfo.extra
        ? { extra: Object.fromEntries(Object.entries(request.userInfo.extra).map(([k, v]) => [k, [...v]])) }
        : {}),
    },
    dryRun: request.dryRun,
  }
}

/** One line per failing check: what, where, why. */
function describe(f: Finding): string {
  return `${f.checkId}${f.path ? ` (${f.path})` : ''}: ${f.message}`
}

export function decideValidation(setup: ValidationSetup, request: AdmissionRequest): Decision {
  // What is judged: the object as it would be stored, or what a DELETE removes.
  const object = request.operation === 'DELETE' ? request.oldObject : request.object
  const namespaces = setup.namespaces?.()
  const namespaceObject = request.namespace ? namespaces?.get(request.namespace) : undefined
  const subject: Subject = {
    username: request.userInfo.username,
    namespace: request.namespace,
    namespaceLabels: labelsOf(namespaceObject),
    objectLabels: labelsOf(object),
    ...(runtimeClassOf(object) ? { runtimeClassName: runtimeClassOf(object)! } : {}),
  }
  const exempt = exemptionOf(setup.enforcement, subject)
  if (exempt) return { verdict: { allowed: true, auditAnnotations: { exempt } }, decided: [], exempt }
  // A CONNECT's object is its options (PodExecOptions...): only policies that ask for it see it.
  if (!object) return { verdict: { allowed: true }, decided: [] }
  const resource = new LiveResource(
    object,
    {
      group: request.kind.group,
      version: request.kind.version,
      kind: request.kind.kind,
      resource: request.resource.resource,
      namespaced: request.namespace !== '',
      path: '',
      custom: false,
    },
    { namespace: request.namespace, name: request.name || generatedName(object) },
    'admission',
  )
  const admission: LiveAdmission = { request: requestInfoOf(request), oldObject: request.oldObject }
  const results = setup.engine.evaluate(resource, { admission, ...(namespaces ? { namespaces } : {}) })
  return judge(setup, subject, results)
}

/** A CREATE with generateName has no name yet: said as kubectl shows it. */
function generatedName(object: Obj): string {
  const prefix = at(object, 'metadata', 'generateName')
  return typeof prefix === 'string' ? `${prefix}*` : ''
}

function judge(setup: ValidationSetup, subject: Subject, results: readonly CheckResult[]): Decision {
  const denials: string[] = []
  const warnings: string[] = []
  const audited: string[] = []
  const decided: Decided[] = []
  const matched = new Set<string>()
  for (const result of results) {
    if (result.status === 'pass') continue
    const finding = toFinding(result, setup.exceptions, matched)
    if (finding.excepted) {
      decided.push({ finding, mode: 'excepted' })
      continue
    }
    if (result.status === 'error') {
      // A check that could not be judged: the configuration says whether that blocks.
      const line = `${finding.checkId} could not be evaluated: ${finding.message}`
      if (setup.enforcement.policyErrors === 'fail') denials.push(line)
      else warnings.push(line)
      decided.push({ finding, mode: setup.enforcement.policyErrors === 'fail' ? 'enforce' : 'warn' })
      continue
    }
    const mode = modeFor(setup.enforcement, finding.checkId, subject, result.action)
    decided.push({ finding, mode })
    if (mode === 'enforce') denials.push(describe(finding))
    else if (mode === 'warn') warnings.push(describe(finding))
    else if (mode === 'audit') audited.push(finding.checkId)
  }
  const auditAnnotations = audited.length > 0 ? { violations: [...new Set(audited)].join(',') } : undefined
  if (denials.length > 0)
    return {
      verdict: {
        allowed: false,
        code: 403,
        reason: 'Forbidden',
        message: `plimsoll: denied by ${denials.length === 1 ? 'a check' : `${denials.length} checks`}:\n- ${denials.join('\n- ')}`,
        ...(warnings.length > 0 ? { warnings } : {}),
        ...(auditAnnotations ? { auditAnnotations } : {}),
      },
      decided,
    }
  return {
    verdict: {
      allowed: true,
      ...(warnings.length > 0 ? { warnings } : {}),
      ...(auditAnnotations ? { auditAnnotations } : {}),
    },
    decided,
  }
}
