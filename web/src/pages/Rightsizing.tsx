/**
 * Rightsizing (`/usage/rightsizing`): the latest snapshots' containers with what to set instead, and the
 * evidence: each resource's usage percentiles (p50, p95, p99, max) plotted against its request, its
 * limit and the recommendation, the reasons, the confidence, OOM kills and HPAs, and what applying it
 * saves a month. Most savings first. Cluster, namespace, team, confidence and page are in the URL.
 */
import { type FormEvent, useEffect, useId, useState } from 'react'
import {
  endpoints,
  type RightsizingRow,
  USAGE_CONFIDENCES,
  type UsageConfidence,
  type UsageRightsizing,
} from '../api'
import { plainOptions, SelectField } from '../components/SelectField'
import { Fetched } from '../components/Status'
import {
  formatBytes,
  formatMoney,
  LatestSnapshots,
  NoUsage,
  PercentileLegend,
  PercentilePlot,
  UsageHead,
  useUsageClusters,
} from '../components/UsageParts'
import { formatNumber, formatTime, plural } from '../format'
import { href, Link, navigate, useLocation } from '../router'
import { useApi } from '../useApi'
import { usePageTitle } from '../usePageTitle'

const PAGE_SIZE = 50

interface RightsizingView {
  cluster: string
  namespace: string
  team: string
  confidence: UsageConfidence | undefined
  page: number
}

function rightsizingView(search: URLSearchParams): RightsizingView {
  const confidence = search.get('confidence') as UsageConfidence | null
  const page = Number(search.get('page'))
  return {
    cluster: search.get('cluster') ?? '',
    namespace: search.get('namespace') ?? '',
    team: search.get('team') ?? '',
    confidence: confidence && USAGE_CONFIDENCES.includes(confidence) ? confidence : undefined,
    page: Number.isInteger(page) && page > 1 ? page : 1,
  }
}

function rightsizingHref(view: RightsizingView, change: Partial<RightsizingView> = {}): string {
  // A filter changed: back to the first page.
  const next = { ...view, page: 1, ...change }
  return href('/usage/rightsizing', {
    cluster: next.cluster,
    namespace: next.namespace.trim(),
    team: next.team.trim(),
    confidence: next.confidence,
    page: next.page > 1 ? next.page : undefined,
  })
}

function ConfidenceBadge({ confidence }: { confidence: UsageConfidence | null }) {
  if (!confidence) return <span className="muted">—</span>
  return <span className={`badge confidence-${confidence}`}>{confidence}</span>
}

const rowName = (r: RightsizingRow) => `${r.namespace}/${r.workload}/${r.container}`

function ContainerRow({
  row,
  currency,
  showCluster,
}: {
  row: RightsizingRow
  currency: string
  showCluster: boolean
}) {
  const reasons = [
    ...row.cpu.reasons.map((r) => `CPU: ${r}`),
    ...row.memory.reasons.map((r) => `Memory: ${r}`),
  ]
  return (
    <tr data-testid={`rightsizing-${showCluster ? `${row.cluster}/` : ''}${rowName(row)}`}>
      <th scope="row" className="cell-text">
        <div>
          <strong>{row.workload}</strong> <span className="muted">/ {row.container}</span>
        </div>
        <div className="small muted">
          {row.kind} in {row.namespace}
          {showCluster && <> · {row.cluster}</>}
        </div>
        <div className="small">
          team {row.team ?? <span className="muted">none</span>} · {plural(row.pods, 'pod')}
          {row.restarts > 0 && <> · {plural(row.restarts, 'restart')}</>}
        </div>
        {row.oomKills.length > 0 && (
          <div className="small oom" data-testid="oom-kills">
            OOM-killed {row.oomKills.length === 1 ? 'once' : `${row.oomKills.length} times`} (at{' '}
            {row.oomKills.map((k) => `${formatBytes(k.memory)}, ${formatTime(k.at)}`).join('; ')})
          </div>
        )}
        {row.hpa && <div className="small">HPA on {row.hpa.join(' and ')}</div>}
        <div className="small muted">
          history {row.history.samples} samples from {formatTime(row.history.from)}
        </div>
      </th>
      <td>
        <PercentilePlot resource="cpu" evidence={row.cpu} testId="percentiles-cpu" />
      </td>
      <td>
        <PercentilePlot resource="memory" evidence={row.memory} testId="percentiles-memory" />
      </td>
      <td>
        <ConfidenceBadge confidence={row.confidence} />
        {row.skipped && <div className="small muted">{row.skipped}</div>}
        {reasons.length > 0 && (
          <details className="small reasons">
            <summary>Why</summary>
            <ul>
              {reasons.map((r) => (
                <li key={r}>{r}</li>
              ))}
            </ul>
          </details>
        )}
      </td>
      <td className="num" data-testid="savings">
        {row.savings === null ? (
          <span className="muted">—</span>
        ) : (
          <span className={row.savings.monthly < 0 ? 'costs-more' : undefined}>
            {formatMoney(row.savings.monthly, currency)}
          </span>
        )}
        <div className="small muted">of {formatMoney(row.cost.monthly, currency)}</div>
      </td>
    </tr>
  )
}

function Filters({
  view,
  onChange,
}: {
  view: RightsizingView
  onChange: (c: Partial<RightsizingView>) => void
}) {
  const nsId = useId()
  const teamId = useId()
  const [namespace, setNamespace] = useState(view.namespace)
  const [team, setTeam] = useState(view.team)
  useEffect(() => setNamespace(view.namespace), [view.namespace])
  useEffect(() => setTeam(view.team), [view.team])
  const submit = (e: FormEvent) => {
    e.preventDefault()
    onChange({ namespace: namespace.trim(), team: team.trim() })
  }
  return (
    <section className="filters" aria-label="Rightsizing filters">
      <form className="filter-row" onSubmit={submit}>
        <div className="field">
          <label htmlFor={nsId}>Namespace</label>
          <input
            id={nsId}
            type="search"
            value={namespace}
            placeholder="any namespace"
            maxLength={253}
            onChange={(e) => setNamespace(e.target.value)}
            onBlur={() => namespace.trim() !== view.namespace && onChange({ namespace: namespace.trim() })}
          />
        </div>
        <div className="field">
          <label htmlFor={teamId}>Team</label>
          <input
            id={teamId}
            type="search"
            value={team}
            placeholder="any team"
            maxLength={253}
            onChange={(e) => setTeam(e.target.value)}
            onBlur={() => team.trim() !== view.team && onChange({ team: team.trim() })}
          />
        </div>
        <SelectField
          label="Confidence"
          all="Any confidence"
          value={view.confidence ?? ''}
          options={plainOptions(USAGE_CONFIDENCES)}
          onChange={(c) => onChange({ confidence: (c || undefined) as UsageConfidence | undefined })}
        />
        <button type="submit" className="visually-hidden">
          Apply
        </button>
        {(view.namespace || view.team || view.confidence) && (
          <button type="button" onClick={() => onChange({ namespace: '', team: '', confidence: undefined })}>
            Clear filters
          </button>
        )}
      </form>
    </section>
  )
}

function Results({ data, view }: { data: UsageRightsizing; view: RightsizingView }) {
  const currency = data.snapshots[0]?.currency ?? 'USD'
  const showCluster = data.snapshots.length > 1
  const filtered = Boolean(view.namespace || view.team || view.confidence)
  const shownSavings = data.items.reduce((a, r) => a + (r.savings?.monthly ?? 0), 0)
  const allSavings = data.snapshots.reduce((a, s) => a + s.cost.savings.monthly, 0)
  const pages = Math.max(1, Math.ceil(data.total / PAGE_SIZE))
  return (
    <>
      <LatestSnapshots snapshots={data.snapshots} />
      <p data-testid="rightsizing-summary">
        {plural(data.total, 'container')}
        {filtered ? ' match' : ''}; applying every recommendation saves{' '}
        <strong>{formatMoney(allSavings, currency)}</strong> a month
        {data.total > 0 && (filtered || pages > 1) && (
          <>
            {' '}
            ({formatMoney(shownSavings, currency)} of it in the {plural(data.items.length, 'container')}{' '}
            shown)
          </>
        )}
        .
      </p>
      {data.items.length === 0 ? (
        <p className="empty">
          No container matches these filters;{' '}
          <Link to={rightsizingHref(view, { namespace: '', team: '', confidence: undefined })}>see all</Link>.
        </p>
      ) : (
        <>
          <PercentileLegend />
          <div className="table-wrap">
            <table data-testid="rightsizing-table" className="rightsizing-table">
              <caption className="visually-hidden">
                Containers with their recommendations, most savings first
              </caption>
              <thead>
                <tr>
                  <th scope="col">Container</th>
                  <th scope="col">CPU</th>
                  <th scope="col">Memory</th>
                  <th scope="col">Confidence</th>
                  <th scope="col" className="num">
                    Savings / month
                  </th>
                </tr>
              </thead>
              <tbody>
                {data.items.map((r) => (
                  <ContainerRow
                    key={`${r.snapshotId}/${rowName(r)}`}
                    row={r}
                    currency={currency}
                    showCluster={showCluster}
                  />
                ))}
              </tbody>
            </table>
          </div>
          {pages > 1 && (
            <nav className="pagination" aria-label="Pages">
              {view.page > 1 ? (
                <Link to={rightsizingHref(view, { page: view.page - 1 })}>Previous</Link>
              ) : (
                <span className="disabled">Previous</span>
              )}
              <span>
                Page {formatNumber(view.page)} of {formatNumber(pages)}
              </span>
              {view.page < pages ? (
                <Link to={rightsizingHref(view, { page: view.page + 1 })}>Next</Link>
              ) : (
                <span className="disabled">Next</span>
              )}
            </nav>
          )}
        </>
      )}
    </>
  )
}

export function RightsizingPage() {
  usePageTitle('Rightsizing')
  const { search } = useLocation()
  const view = rightsizingView(search)
  const { clusters, nothing } = useUsageClusters(view.cluster)
  const data = useApi(
    endpoints.usageRightsizing({
      cluster: view.cluster || undefined,
      namespace: view.namespace || undefined,
      team: view.team || undefined,
      confidence: view.confidence,
      limit: PAGE_SIZE,
      offset: (view.page - 1) * PAGE_SIZE,
    }),
    { keep: true },
  )
  const go = (change: Partial<RightsizingView>) => navigate(rightsizingHref(view, change))
  return (
    <>
      <UsageHead
        title="Rightsizing"
        cluster={view.cluster}
        clusters={clusters}
        onCluster={(c) => go({ cluster: c })}
      />
      <p className="lead">
        What to set instead, for each container of the latest snapshots, with the evidence: its usage&apos;s
        percentiles against its request and limit and the recommendation. Recommendations never go below what
        a container used, and an OOM-killed container gets more memory, not less (
        <span className="mono">docs/usage.md</span>
        ).
      </p>
      {nothing ? (
        <NoUsage />
      ) : (
        <>
          <Filters view={view} onChange={go} />
          <Fetched state={data} loading="Loading the recommendations">
            {(d) => <Results data={d} view={view} />}
          </Fetched>
        </>
      )}
    </>
  )
}
