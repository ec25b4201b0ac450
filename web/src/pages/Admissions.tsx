/**
 * Admissions: what the webhook decided (`plimsoll webhook serve --store`), as recorded in the store:
 * decisions by outcome, denials per day, the checks and namespaces denied most, and the decisions
 * themselves, newest first, a page at a time ("Load older decisions"). Cluster, outcome, namespace and
 * period are in the query string.
 */
import { type FormEvent, type ReactNode, useEffect, useId, useMemo, useState } from 'react'
import {
  ADMISSION_OUTCOMES,
  type AdmissionCheck,
  type AdmissionDecision,
  type AdmissionOutcome,
  type AdmissionSummary,
  type Check,
  endpoints,
  get,
} from '../api'
import { Card } from '../components/Card'
import {
  ClusterPeriodFilters,
  clusterNames,
  periodOf,
  periodParam,
  useClusterPeriodView,
} from '../components/ClusterPeriodFilters'
import { CheckRowHeader, checkHref } from '../components/Links'
import { SelectField } from '../components/SelectField'
import { ErrorMessage, Fetched } from '../components/Status'
import { Table } from '../components/Table'
import { type SeriesSpec, TimeSeriesChart } from '../components/TimeSeriesChart'
import { addDays, formatClock, formatDay, formatNumber, plural } from '../format'
import { href, Link, navigate } from '../router'
import { useApi } from '../useApi'
import { useOlderPages } from '../useOlderPages'
import { usePageTitle } from '../usePageTitle'

const PERIODS = [7, 30, 90]
const PAGE_SIZE = 50

const OUTCOME_LABELS: Record<AdmissionOutcome, string> = {
  denied: 'Denied',
  warned: 'Warned',
  audited: 'Audited',
  allowed: 'Allowed',
  exempt: 'Exempt',
}
const OUTCOME_OPTIONS = ADMISSION_OUTCOMES.map((o) => ({ value: o, label: OUTCOME_LABELS[o] }))

/** What the page shows: all of it in the URL (`cluster`, `outcome`, `namespace`, `days`). */
interface AdmissionsView {
  cluster: string
  outcome: AdmissionOutcome | undefined
  namespace: string
  days: number
}

function admissionsView(search: URLSearchParams): AdmissionsView {
  const outcome = search.get('outcome') as AdmissionOutcome | null
  return {
    cluster: search.get('cluster') ?? '',
    outcome: outcome && ADMISSION_OUTCOMES.includes(outcome) ? outcome : undefined,
    namespace: search.get('namespace') ?? '',
    days: periodOf(search, PERIODS),
  }
}

function admissionsHref(view: AdmissionsView, change: Partial<AdmissionsView> = {}): string {
  const next = { ...view, ...change }
  return href('/admissions', {
    cluster: next.cluster,
    outcome: next.outcome,
    namespace: next.namespace.trim(),
    days: periodParam(next.days, PERIODS),
  })
}

const namespaceLabel = (ns: string) => ns || '(cluster-scoped)'

export function OutcomeBadge({ outcome }: { outcome: AdmissionOutcome }) {
  return <span className={`badge outcome-${outcome}`}>{outcome}</span>
}

function ModeBadge({ mode }: { mode: AdmissionCheck['mode'] }) {
  return <span className={`badge mode-${mode}`}>{mode}</span>
}

function OutcomeCounts({
  summary,
  view,
  days,
}: {
  summary: AdmissionSummary
  view: AdmissionsView
  days: number
}) {
  const total = ADMISSION_OUTCOMES.reduce((n, o) => n + (summary.outcomes[o] ?? 0), 0)
  return (
    <Card title="Decisions">
      <p className="big-number" data-testid="admissions-total">
        {formatNumber(total)}
      </p>
      <p className="muted">admission reviews decided in the last {plural(days, 'day')}.</p>
      <ul className="severity-counts outcome-counts">
        {ADMISSION_OUTCOMES.map((o) => {
          const n = summary.outcomes[o] ?? 0
          return (
            <li key={o}>
              <Link
                to={admissionsHref(view, { outcome: o })}
                aria-label={`${formatNumber(n)} ${o}`}
                aria-current={view.outcome === o ? 'true' : undefined}
              >
                <span className="count" data-testid={`outcome-${o}`}>
                  {formatNumber(n)}
                </span>{' '}
                <OutcomeBadge outcome={o} />
              </Link>
            </li>
          )
        })}
      </ul>
    </Card>
  )
}

/** Denials per day over the window, from the API's denials per hour (hours without one left out). */
function Denials({ summary, since, days }: { summary: AdmissionSummary; since: string; days: number }) {
  const x = useMemo(() => {
    const first = since.slice(0, 10)
    return Array.from({ length: days + 1 }, (_, i) => addDays(first, i))
  }, [since, days])
  const perDay = useMemo(() => {
    const m = new Map<string, number>()
    for (const h of summary.deniedByHour)
      m.set(h.hour.slice(0, 10), (m.get(h.hour.slice(0, 10)) ?? 0) + h.denied)
    return m
  }, [summary])
  const series = useMemo<SeriesSpec[]>(
    () => [{ label: 'Denied', color: 'var(--fail)', width: 3, values: x.map((d) => perDay.get(d) ?? 0) }],
    [x, perDay],
  )
  const total = summary.outcomes.denied ?? 0
  if (total === 0) return <p className="empty">No admission was denied in the last {plural(days, 'day')}.</p>
  const worstDay = [...perDay].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))[0]
  const worstHour = [...summary.deniedByHour].sort(
    (a, b) => b.denied - a.denied || a.hour.localeCompare(b.hour),
  )[0]
  const text =
    `${plural(total, 'denial')} in the last ${plural(days, 'day')}` +
    (worstDay ? `; the most on ${worstDay[0]} (${formatNumber(worstDay[1])})` : '') +
    (worstHour
      ? `, the busiest hour ${worstHour.hour.slice(11, 13)}:00 UTC on ${worstHour.hour.slice(0, 10)} (${formatNumber(worstHour.denied)})`
      : '') +
    '.'
  return (
    <TimeSeriesChart
      title={`Denied admissions per day, last ${days} days`}
      days={x}
      series={series}
      summary={text}
      height={200}
    />
  )
}

function TopDeniedChecks({ summary, checks }: { summary: AdmissionSummary; checks: Map<string, Check> }) {
  return (
    <Card title="Top denied checks">
      <Table
        caption="Top denied checks"
        columns={['Check', { label: 'Denied', num: true }]}
        items={summary.topDeniedChecks}
        empty="No check denied anything."
      >
        {(c) => {
          const known = checks.get(c.check)
          return (
            <tr key={c.check} data-testid={`denied-check-${c.check}`}>
              {known ? (
                <CheckRowHeader id={c.check} title={known.title} />
              ) : (
                <th scope="row" className="cell-text mono">
                  {c.check}
                </th>
              )}
              <td className="num">{formatNumber(c.denied)}</td>
            </tr>
          )
        }}
      </Table>
    </Card>
  )
}

function TopDeniedNamespaces({ summary, view }: { summary: AdmissionSummary; view: AdmissionsView }) {
  return (
    <Card title="Top denied namespaces">
      <Table
        caption="Top denied namespaces"
        columns={['Namespace', { label: 'Denied', num: true }]}
        items={summary.topDeniedNamespaces}
        empty="No namespace had a request denied."
      >
        {(n) => (
          <tr key={n.namespace}>
            <th scope="row" className="cell-text">
              {n.namespace ? (
                <Link
                  to={admissionsHref(view, { namespace: n.namespace, outcome: 'denied' })}
                  aria-label={`Denied in ${n.namespace}`}
                >
                  {n.namespace}
                </Link>
              ) : (
                namespaceLabel(n.namespace)
              )}
            </th>
            <td className="num">{formatNumber(n.denied)}</td>
          </tr>
        )}
      </Table>
    </Card>
  )
}

function DecisionChecks({ checks, known }: { checks: AdmissionCheck[]; known: Map<string, Check> }) {
  if (checks.length === 0) return <span className="muted">none failed</span>
  return (
    <ul className="decision-checks">
      {checks.map((c) => (
        <li key={`${c.id}|${c.path}|${c.message}`}>
          {known.has(c.id) ? (
            <Link to={checkHref(c.id)} className="mono">
              {c.id}
            </Link>
          ) : (
            <span className="mono">{c.id}</span>
          )}{' '}
          <ModeBadge mode={c.mode} />
          <div className="small">
            {c.message}
            {c.path && <div className="muted mono path">{c.path}</div>}
          </div>
        </li>
      ))}
    </ul>
  )
}

const objectName = (d: AdmissionDecision) => `${d.kind} ${d.namespace ? `${d.namespace}/` : ''}${d.name}`

function DecisionsTable({
  decisions,
  known,
  showCluster,
}: {
  decisions: AdmissionDecision[]
  known: Map<string, Check>
  showCluster: boolean
}) {
  const columns = ['Time', 'Operation', 'Object', 'User', 'Outcome', 'Failing checks']
  if (showCluster) columns.splice(1, 0, 'Cluster')
  return (
    <Table caption="Admission decisions" columns={columns} items={decisions} testId="admissions-table">
      {(d) => (
        <tr key={d.id} data-testid={`admission-${d.id}`}>
          <td className="nowrap small">
            <time dateTime={d.at}>
              {formatDay(d.at)} {formatClock(d.at)}
            </time>
          </td>
          {showCluster && <td>{d.cluster}</td>}
          <td className="mono small">{d.operation}</td>
          <th scope="row" className="cell-text">
            {objectName(d)}
            {d.group && <div className="small muted mono">{d.group}</div>}
          </th>
          <td className="small mono">{d.username}</td>
          <td>
            <OutcomeBadge outcome={d.outcome} />
            {d.weight > 1 && (
              <div className="small muted" title="Allowed decisions are sampled under load">
                stands for {formatNumber(d.weight)}
              </div>
            )}
          </td>
          <td>
            <DecisionChecks checks={d.checks} known={known} />
          </td>
        </tr>
      )}
    </Table>
  )
}

/** The first page of decisions, and older ones appended on demand (by `before`, the oldest id shown). */
function Decisions({
  first,
  query,
  known,
  showCluster,
  emptyText,
}: {
  first: AdmissionDecision[]
  query: Parameters<typeof endpoints.admissions>[0]
  known: Map<string, Check>
  showCluster: boolean
  emptyText: ReactNode
}) {
  const { all, more, busy, error, loadOlder } = useOlderPages(first, PAGE_SIZE, (before) =>
    get(endpoints.admissions({ ...query, before, limit: PAGE_SIZE })),
  )
  if (all.length === 0) return <p className="empty">{emptyText}</p>
  return (
    <>
      <p className="visually-hidden" role="status">
        {plural(all.length, 'decision')} shown
      </p>
      <DecisionsTable decisions={all} known={known} showCluster={showCluster} />
      {error && <ErrorMessage error={error} retry={loadOlder} />}
      <p className="actions">
        {more ? (
          <button type="button" onClick={loadOlder} disabled={busy}>
            {busy ? 'Loading older decisions…' : 'Load older decisions'}
          </button>
        ) : (
          <span className="muted">{all.length > PAGE_SIZE ? 'No older decision in this period.' : ''}</span>
        )}
      </p>
    </>
  )
}

function DecisionFilters({
  view,
  onChange,
}: {
  view: AdmissionsView
  onChange: (change: Partial<AdmissionsView>) => void
}) {
  const namespaceId = useId()
  const [text, setText] = useState(view.namespace)
  useEffect(() => setText(view.namespace), [view.namespace])
  const submit = (e: FormEvent) => {
    e.preventDefault()
    onChange({ namespace: text.trim() })
  }
  return (
    <section className="filters" aria-label="Decision filters">
      <div className="filter-row">
        <SelectField
          label="Outcome"
          all="All outcomes"
          value={view.outcome ?? ''}
          options={OUTCOME_OPTIONS}
          onChange={(o) => onChange({ outcome: (o || undefined) as AdmissionOutcome | undefined })}
        />
        <form className="field" onSubmit={submit}>
          <label htmlFor={namespaceId}>Namespace</label>
          <input
            id={namespaceId}
            type="search"
            value={text}
            placeholder="any namespace"
            maxLength={253}
            onChange={(e) => setText(e.target.value)}
            onBlur={() => text.trim() !== view.namespace && onChange({ namespace: text.trim() })}
          />
        </form>
        {(view.outcome || view.namespace) && (
          <button type="button" onClick={() => onChange({ outcome: undefined, namespace: '' })}>
            Clear filters
          </button>
        )}
      </div>
    </section>
  )
}

/** Nothing recorded at all: how to record decisions. */
function NoAdmissions() {
  return (
    <div className="empty teach" data-testid="admissions-empty">
      <p>
        No admission decisions recorded yet: run <code>plimsoll webhook serve --store …</code> (
        <span className="mono">docs/admission.md</span>).
      </p>
      <p className="muted">
        With <code>--store</code> (the same store as this server's) and <code>--cluster-name</code>, the
        webhook records each decision: who asked for what, the outcome, and what each failing check did.
      </p>
    </div>
  )
}

export function AdmissionsPage() {
  usePageTitle('Admissions')
  const { view, since, cluster } = useClusterPeriodView(admissionsView)
  const clusters = useApi(endpoints.admissionClusters())
  const checks = useApi(endpoints.checks())
  const summary = useApi(endpoints.admissionSummary({ cluster, since }), { keep: true })
  const query = {
    cluster,
    outcome: view.outcome,
    namespace: view.namespace || undefined,
    since,
    limit: PAGE_SIZE,
  }
  const decisions = useApi(endpoints.admissions(query))
  const total = summary.data
    ? ADMISSION_OUTCOMES.reduce((n, o) => n + (summary.data!.outcomes[o] ?? 0), 0)
    : -1
  // None in this window: is there any at all? (If not, the page says how to record them.)
  const ever = useApi(total === 0 ? endpoints.admissions({ limit: 1 }) : null)
  const known = useMemo(() => new Map((checks.data ?? []).map((c) => [c.id, c])), [checks.data])
  const names = useMemo(
    () =>
      clusterNames(
        (clusters.data ?? []).map((c) => c.name),
        view.cluster,
      ),
    [clusters.data, view.cluster],
  )
  const go = (change: Partial<AdmissionsView>) => navigate(admissionsHref(view, change))
  const nothingEver = total === 0 && ever.data !== undefined && ever.data.length === 0

  return (
    <>
      <ClusterPeriodFilters
        title="Admissions"
        names={names}
        cluster={view.cluster}
        days={view.days}
        periods={PERIODS}
        onChange={go}
      />
      <p className="lead">
        What the admission webhook decided{view.cluster ? <> in {view.cluster}</> : null}: each request it
        reviewed, who made it, and what each failing check did. Where to enforce next:{' '}
        <Link to={href('/enforcement', { cluster: view.cluster })}>the enforcement plan</Link>.
      </p>
      <Fetched state={summary} loading="Loading the admissions">
        {(s) =>
          nothingEver ? (
            <NoAdmissions />
          ) : (
            <>
              <div className="grid cards-2">
                <OutcomeCounts summary={s} view={view} days={view.days} />
                <Card title="Denials over time">
                  <Denials summary={s} since={since} days={view.days} />
                </Card>
              </div>
              <div className="grid cards-2">
                <TopDeniedChecks summary={s} checks={known} />
                <TopDeniedNamespaces summary={s} view={view} />
              </div>
            </>
          )
        }
      </Fetched>
      {!nothingEver && (
        <section aria-labelledby="decisions-title">
          <h2 id="decisions-title">Recent decisions</h2>
          <DecisionFilters view={view} onChange={go} />
          <Fetched state={decisions} loading="Loading the decisions">
            {(first) => (
              <Decisions
                key={endpoints.admissions(query).path}
                first={first}
                query={query}
                known={known}
                showCluster={!view.cluster && names.length > 1}
                emptyText={
                  view.outcome || view.namespace ? (
                    <>
                      No decision in the last {plural(view.days, 'day')} matches these filters;{' '}
                      <Link to={admissionsHref(view, { outcome: undefined, namespace: '' })}>
                        see all decisions
                      </Link>
                      .
                    </>
                  ) : (
                    <>No decision in the last {plural(view.days, 'day')}.</>
                  )
                }
              />
            )}
          </Fetched>
        </section>
      )}
    </>
  )
}
