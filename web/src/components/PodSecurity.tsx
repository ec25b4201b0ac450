/**
 * Pod Security Admission in a namespace, as a watcher sees it: the `pod-security.kubernetes.io` labels,
 * the running pods by the highest level they meet, those that already violate what is enforced, and
 * what tightening the namespace would break: for each stricter setting, the running pods the API server
 * would refuse (on their next restart or rollout).
 */
import type { NamespacePodSecurity, PodVerdict, PsaMode, PsaSetting, PssLevel, WhatBreaks } from '../api'
import { PSS_LEVELS } from '../api'
import { formatNumber, plural } from '../format'
import { CheckLink } from './Links'

const MODES: readonly PsaMode[] = ['enforce', 'warn', 'audit']

/** "baseline latest", "restricted v1.25": a level and the version its rules are read at. */
export const settingName = (s: { level: PssLevel; version: string }) => `${s.level} ${s.version}`

function LevelBadge({ level }: { level: PssLevel }) {
  return <span className={`badge level-${level}`}>{level}</span>
}

function Setting({ mode, setting }: { mode: PsaMode; setting: PsaSetting | undefined }) {
  if (!setting)
    // The API server enforces privileged when the label is absent: say so, it is the usual surprise.
    return <span className="muted">{mode === 'enforce' ? 'privileged (no label)' : 'not set'}</span>
  return (
    <>
      <LevelBadge level={setting.level} /> <span className="small">{setting.version}</span>
      {setting.invalid !== undefined && (
        <>
          {' '}
          <span className="badge invalid" title="The label's value is not a level or a version">
            invalid label: {setting.invalid}
          </span>
        </>
      )}
    </>
  )
}

/** The modes labelled, one a line; enforce always (unset, it is privileged). */
export function PsaModes({ psa }: { psa: NamespacePodSecurity }) {
  const labelled = MODES.filter((m) => psa.modes[m])
  if (labelled.length === 0) return <span className="muted small">no labels: enforces privileged</span>
  return (
    <dl className="psa-modes">
      {MODES.filter((m) => m === 'enforce' || psa.modes[m]).map((mode) => (
        <div key={mode}>
          <dt>{mode}</dt>
          <dd>
            <Setting mode={mode} setting={psa.modes[mode]} />
          </dd>
        </div>
      ))}
    </dl>
  )
}

/** At most this many pods are listed under a setting; the count says the rest. */
const LISTED_PODS = 100

function PodList({ pods }: { pods: PodVerdict[] }) {
  return (
    <ul className="pod-list">
      {pods.slice(0, LISTED_PODS).map((p) => (
        <li key={p.name}>
          <span className="mono">{p.name}</span>
          {p.owner && <span className="muted small"> ({p.owner})</span>}: meets <LevelBadge level={p.level} />
          {p.violations.length > 0 && (
            <>
              ; fails{' '}
              {p.violations.map((id, i) => (
                <span key={id}>
                  {i > 0 && ', '}
                  <CheckLink id={id} />
                </span>
              ))}
            </>
          )}
        </li>
      ))}
      {pods.length > LISTED_PODS && (
        <li className="muted">and {formatNumber(pods.length - LISTED_PODS)} more</li>
      )}
    </ul>
  )
}

/** Running pods by level, and those violating the enforced level now (admitted before the label, or exempt). */
export function PodLevels({ psa }: { psa: NamespacePodSecurity }) {
  if (psa.pods === 0) return <span className="muted">no running pod</span>
  const enforced = psa.modes.enforce
  return (
    <>
      <div>{plural(psa.pods, 'running pod')}</div>
      <ul className="level-counts">
        {PSS_LEVELS.filter((l) => psa.levels[l] > 0).map((l) => (
          <li key={l}>
            <span className="count">{formatNumber(psa.levels[l])}</span> <LevelBadge level={l} />
          </li>
        ))}
      </ul>
      {psa.violating.length > 0 && (
        <details className="violating" data-testid={`violating-${psa.namespace}`}>
          <summary>
            {plural(psa.violating.length, 'pod')} {psa.violating.length === 1 ? 'violates' : 'violate'}{' '}
            enforce {enforced ? settingName(enforced) : 'privileged'}
          </summary>
          <PodList pods={psa.violating} />
        </details>
      )}
    </>
  )
}

function Breaks({ breaks: w }: { breaks: WhatBreaks }) {
  if (w.pods.length === 0)
    return (
      <>
        enforce {settingName(w)}: <span className="muted">nothing refused</span>
      </>
    )
  return (
    <details className="breaks">
      <summary>
        enforce {settingName(w)}: <strong>{plural(w.pods.length, 'pod')} refused</strong>
      </summary>
      <PodList pods={w.pods} />
    </details>
  )
}

/** Each stricter setting and what it would refuse, the pods a click away. */
export function WhatBreaksList({ psa }: { psa: NamespacePodSecurity }) {
  const strictest = psa.whatBreaks.at(-1)
  if (!strictest) return <span className="muted">already the strictest</span>
  // Nothing refused anywhere (most namespaces with nothing running): one line, not one per setting.
  if (psa.whatBreaks.every((w) => w.pods.length === 0))
    return <span className="muted">nothing, up to enforce {settingName(strictest)}</span>
  return (
    <ul className="what-breaks" data-testid={`what-breaks-${psa.namespace}`}>
      {psa.whatBreaks.map((w) => (
        <li key={settingName(w)}>
          <Breaks breaks={w} />
        </li>
      ))}
    </ul>
  )
}
