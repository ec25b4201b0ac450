/**
 * Upgrade readiness (`plimsoll upgrade-check --store`): the latest check of each target to each release,
 * and one of them read as the text report reads: what breaks at the target release, which Pod Security
 * verdicts change, what is deprecated, each grouped by API version, feature or control with what to use
 * instead and the objects under it. The check shown and the area are in the URL.
 */
import { useMemo } from 'react'
import {
  endpoints,
  UPGRADE_AREAS,
  type UpgradeArea,
  type UpgradeCheckSummaryView,
  type UpgradeCheckView,
  type UpgradeFindingView,
  type UpgradeImpact,
} from '../api'
import { Card } from '../components/Card'
import { SelectField } from '../components/SelectField'
import { Fetched } from '../components/Status'
import { type Column, Table } from '../components/Table'
import { formatNumber, formatTime, plural } from '../format'
import { href, Link, navigate, useLocation } from '../router'
import { useApi } from '../useApi'
import { usePageTitle } from '../usePageTitle'

const PATH = '/upgrades'

const AREA_LABEL: Record<UpgradeArea, string> = {
  api: 'API versions',
  feature: 'Features',
  'pod-security': 'Pod Security Standards',
}

const IMPACT_TITLE: Record<UpgradeImpact, (to: string) => string> = {
  breaks: (to) => `Breaks at ${to}`,
  changes: (to) => `Pod Security verdicts that change at ${to}`,
  deprecated: (to) => `Deprecated, still working at ${to}`,
}

const IMPACT_CLASS: Record<UpgradeImpact, string> = {
  breaks: 'sev-critical',
  changes: 'sev-medium',
  deprecated: 'sev-low',
}

/** Breaks first, as the text report orders them. */
const IMPACTS: readonly UpgradeImpact[] = ['breaks', 'changes', 'deprecated']

/** The check to show when the URL names none: the one with the most that breaks, then the newest. */
function defaultCheck(checks: readonly UpgradeCheckSummaryView[]): UpgradeCheckSummaryView | undefined {
  return [...checks].sort(
    (a, b) => b.counts.breaks - a.counts.breaks || b.checkedAt.localeCompare(a.checkedAt),
  )[0]
}

function fromWhy(c: UpgradeCheckSummaryView): string {
  if (c.fromSource === 'cluster') return `the cluster runs ${c.clusterVersion ?? c.from}`
  return c.fromSource === 'flag' ? 'given with --from' : 'assumed: one release before'
}

/** Nothing recorded: the command that records a check. */
function NoChecks() {
  return (
    <div className="empty teach" data-testid="upgrades-empty">
      <p>
        No upgrade check recorded yet: run{' '}
        <code>plimsoll upgrade-check k8s/ --from v1.32 --to v1.33 --store … --target my-app</code> over
        manifests, or <code>plimsoll upgrade-check --cluster --context prod --to v1.33 --store …</code>{' '}
        against a cluster (<span className="mono">docs/upgrade-check.md</span>).
      </p>
      <p className="muted">
        With <code>--store</code> (the same store as this server's), each check is kept: this page shows the
        latest per target and release, with what breaks, what is deprecated and which Pod Security verdicts
        change, and what to use instead.
      </p>
    </div>
  )
}

const LIST_COLUMNS: Column[] = [
  'Target',
  'Upgrade',
  'Checked',
  { label: 'Breaks', num: true },
  { label: 'Pod Security changes', num: true },
  { label: 'Deprecated', num: true },
  { label: 'Objects', num: true },
]

function Checks({ checks, selected }: { checks: UpgradeCheckSummaryView[]; selected: number | undefined }) {
  return (
    <Table caption="Latest upgrade checks" columns={LIST_COLUMNS} items={checks} testId="upgrade-checks">
      {(c) => (
        <tr
          key={c.id}
          aria-current={c.id === selected ? 'true' : undefined}
          className={c.id === selected ? 'selected' : undefined}
        >
          <th scope="row">
            <Link to={href(PATH, { check: c.id })}>{c.target}</Link>
          </th>
          <td className="nowrap">
            {c.from} → {c.to}
          </td>
          <td className="nowrap">{formatTime(c.checkedAt)}</td>
          <td className="num">
            {c.counts.breaks > 0 ? (
              <span className="badge sev-critical">{formatNumber(c.counts.breaks)}</span>
            ) : (
              0
            )}
          </td>
          <td className="num">{formatNumber(c.counts.changes)}</td>
          <td className="num">{formatNumber(c.counts.deprecated)}</td>
          <td className="num">{formatNumber(c.objects)}</td>
        </tr>
      )}
    </Table>
  )
}

function objectName(f: UpgradeFindingView): string {
  const ns = f.object.namespace ? `${f.object.namespace}/` : ''
  return `${f.object.kind} ${ns}${f.object.name}`
}

function where(f: UpgradeFindingView): string {
  if (f.file === undefined) return f.path ?? ''
  return f.line !== undefined ? `${f.file}:${f.line}` : f.file
}

/** The findings of one id: its replacement once, the objects under it. */
function FindingGroup({ findings }: { findings: UpgradeFindingView[] }) {
  const first = findings[0]!
  const heading = first.area === 'api' ? first.id : `${first.id}: ${first.title}`
  return (
    <div className="finding-group" data-testid="upgrade-group">
      <h4>
        {heading} <span className="muted">({first.version})</span>
      </h4>
      {first.replacement && (
        <p>
          <strong>{first.area === 'api' ? 'Use' : 'Instead'}:</strong>{' '}
          <span data-testid="upgrade-replacement">{first.replacement}</span>
        </p>
      )}
      {first.notes && <p className="muted">What changes: {first.notes}</p>}
      <Table caption={heading} columns={['Object', 'Where', 'What']} items={findings}>
        {(f) => (
          <tr key={`${objectName(f)} ${where(f)} ${f.path ?? ''}`}>
            <th scope="row">{objectName(f)}</th>
            <td className="mono">{where(f)}</td>
            <td>{f.message}</td>
          </tr>
        )}
      </Table>
    </div>
  )
}

function ImpactSection({ impact, check }: { impact: UpgradeImpact; check: UpgradeCheckView }) {
  const findings = check.findings.items.filter((f) => f.impact === impact)
  if (findings.length === 0) return null
  return (
    <section aria-label={IMPACT_TITLE[impact](check.to)} data-testid={`upgrade-${impact}`}>
      <h3>
        <span className={`badge ${IMPACT_CLASS[impact]}`}>{formatNumber(findings.length)}</span>{' '}
        {IMPACT_TITLE[impact](check.to)}
      </h3>
      {UPGRADE_AREAS.map((area) => {
        const inArea = findings.filter((f) => f.area === area)
        if (inArea.length === 0) return null
        const groups = new Map<string, UpgradeFindingView[]>()
        for (const f of inArea) groups.set(f.id, [...(groups.get(f.id) ?? []), f])
        return (
          <div key={area}>
            <h4 className="muted">{AREA_LABEL[area]}</h4>
            {[...groups].map(([id, group]) => (
              <FindingGroup key={id} findings={group} />
            ))}
          </div>
        )
      })}
    </section>
  )
}

function Beyond({ check }: { check: UpgradeCheckView }) {
  return (
    <>
      {check.servedAtRisk.length > 0 && (
        <Card title="API versions the cluster serves that clients may still call">
          <Table
            caption="Served API versions at risk"
            columns={['API version', 'Fate', 'Use instead']}
            items={check.servedAtRisk}
          >
            {(s) => (
              <tr key={`${s.apiVersion} ${s.kind}`}>
                <th scope="row">
                  {s.apiVersion} {s.kind}
                </th>
                <td>{s.removedIn ? `removed in ${s.removedIn}` : `deprecated in ${s.deprecatedIn}`}</td>
                <td>{s.replacement ?? <span className="muted">none</span>}</td>
              </tr>
            )}
          </Table>
          <p className="muted">
            The API server's apiserver_requested_deprecated_apis metric says which are requested; audit events
            annotated k8s.io/deprecated say by whom.
          </p>
        </Card>
      )}
      {check.podSecurityStandardChanges.length > 0 && (
        <Card title={`Pod Security Standards controls that change between ${check.from} and ${check.to}`}>
          <ul className="plain-list">
            {check.podSecurityStandardChanges.map((s) => (
              <li key={s.id}>
                <span className="mono">{s.id}</span> ({s.level}, {s.versions.join(', ')}): {s.title}
              </li>
            ))}
          </ul>
        </Card>
      )}
      {check.notVisibleInManifests.length > 0 && (
        <Card title="Not visible in manifests, reached by this upgrade">
          <ul className="plain-list">
            {check.notVisibleInManifests.map((u) => (
              <li key={u.id}>
                <strong>
                  {u.id}: {u.title}
                </strong>{' '}
                ({u.version}). Look: {u.cannotSee} Instead: {u.instead}
              </li>
            ))}
          </ul>
        </Card>
      )}
    </>
  )
}

function CheckDetail({ id, area, onArea }: { id: number; area: string; onArea: (area: string) => void }) {
  const state = useApi(endpoints.upgradeCheck(id, area ? { area: [area as UpgradeArea] } : {}), {
    keep: true,
  })
  return (
    <Fetched state={state} loading="Loading the check">
      {(c) => (
        <section aria-labelledby="upgrade-check-title" data-testid="upgrade-check" className="after-table">
          <h2 id="upgrade-check-title">
            {c.target}: {c.from} → {c.to}
          </h2>
          <dl className="facts">
            <div>
              <dt>Checked</dt>
              <dd>{formatTime(c.checkedAt)}</dd>
            </div>
            <div>
              <dt>From</dt>
              <dd>
                {c.from} ({fromWhy(c)})
              </dd>
            </div>
            <div>
              <dt>Read</dt>
              <dd>
                {plural(c.objects, 'object')}
                {c.files > 0 && ` from ${plural(c.files, 'file')}`}
              </dd>
            </div>
            <div>
              <dt>Kept</dt>
              <dd>{plural(c.checks, 'check')} of this target to this release</dd>
            </div>
          </dl>
          {c.errors > 0 && (
            <div className="notice" role="note">
              {plural(c.errors, 'input')} could not be read: the check saw the rest.
              <ul>
                {c.errorList.map((e) => (
                  <li key={`${e.file}:${e.line}:${e.message}`}>
                    <span className="mono">
                      {e.file}
                      {e.line !== undefined && `:${e.line}`}
                    </span>{' '}
                    {e.message}
                  </li>
                ))}
              </ul>
            </div>
          )}
          {c.notes.map((n) => (
            <p key={n} className="muted">
              Note: {n}
            </p>
          ))}
          <div className="filter-row">
            <SelectField
              label="Area"
              all="Every area"
              value={area}
              options={UPGRADE_AREAS.map((a) => ({ value: a, label: AREA_LABEL[a] }))}
              onChange={onArea}
            />
          </div>
          {c.findings.total === 0 ? (
            <p className="empty" data-testid="upgrade-nothing">
              Nothing {area ? `of ${AREA_LABEL[area as UpgradeArea].toLowerCase()} ` : ''}breaks, changes or
              is deprecated on the way to {c.to} in what was read.
            </p>
          ) : (
            IMPACTS.map((impact) => <ImpactSection key={impact} impact={impact} check={c} />)
          )}
          {c.findings.total > c.findings.items.length && (
            <p className="muted">
              The first {formatNumber(c.findings.items.length)} of {formatNumber(c.findings.total)} findings:{' '}
              <code>plimsoll upgrade-check</code> prints them all.
            </p>
          )}
          <Beyond check={c} />
        </section>
      )}
    </Fetched>
  )
}

export function UpgradesPage() {
  usePageTitle('Upgrades')
  const { search } = useLocation()
  const checks = useApi(endpoints.upgradeChecks())
  const asked = Number.parseInt(search.get('check') ?? '', 10)
  const areaParam = search.get('area') ?? ''
  const area = (UPGRADE_AREAS as readonly string[]).includes(areaParam) ? areaParam : ''
  const selected = useMemo(() => {
    const list = checks.data ?? []
    return Number.isInteger(asked) && asked > 0 ? asked : defaultCheck(list)?.id
  }, [checks.data, asked])
  const onArea = (a: string) => navigate(href(PATH, { check: selected, area: a }))

  return (
    <>
      <h1>Upgrades</h1>
      <p className="muted">
        What upgrading to a Kubernetes release breaks or changes, as{' '}
        <code>plimsoll upgrade-check --store</code> last found it for each target and release.
      </p>
      <Fetched state={checks} loading="Loading the checks">
        {(list) =>
          list.length === 0 ? (
            <NoChecks />
          ) : (
            <>
              <Checks checks={list} selected={selected} />
              {selected !== undefined && (
                <CheckDetail key={selected} id={selected} area={area} onArea={onArea} />
              )}
            </>
          )
        }
      </Fetched>
    </>
  )
}
