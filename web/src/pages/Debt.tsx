/**
 * Debt: the exceptions register (owner, reason, expiry; expired ones flagged), a page at a time and
 * filtered by state, owner and words, and its burn-down: excepted and open findings per day, and how many
 * exceptions stay in force until the last one expires.
 */
import { type FormEvent, useId, useMemo, useState } from 'react'
import {
  type ApiError,
  asApiError,
  type DebtException,
  deleteException,
  EXCEPTION_STATES,
  EXPIRING_WITHIN_DAYS,
  type ExceptionState,
  endpoints,
  type RegisterSummary,
  type TrendPoint,
} from '../api'
import { Dialog, DialogActions } from '../components/Dialog'
import { DownloadButton } from '../components/DownloadButton'
import { exceptedBy, UnaccountedBadge } from '../components/ExceptionFacts'
import { ExceptionForm } from '../components/ExceptionForm'
import { CheckLink, FindingResourceLink } from '../components/Links'
import { Pagination } from '../components/Pagination'
import { periodOptions, SelectField } from '../components/SelectField'
import { SeverityBadge } from '../components/SeverityBadge'
import { ChangeError, Fetched } from '../components/Status'
import { type Column, Table } from '../components/Table'
import { type SeriesSpec, TimeSeriesChart } from '../components/TimeSeriesChart'
import { explorerHref } from '../explorer'
import { addDays, daysBetween, formatDay, formatNumber, plural, today } from '../format'
import { href, Link, navigate, useLocation } from '../router'
import { useApi } from '../useApi'
import { usePageTitle } from '../usePageTitle'

const PERIODS = [30, 90, 180, 365]
/** An exception this close to its expiry is flagged (the API's `expiring`). */
const SOON_DAYS = EXPIRING_WITHIN_DAYS
const PAGE_SIZE = 50

function BurnDown({ points, days }: { points: TrendPoint[]; days: number }) {
  const x = useMemo(() => points.map((p) => p.day), [points])
  const series = useMemo<SeriesSpec[]>(
    () => [
      { label: 'Excepted', color: 'var(--excepted)', width: 3, values: points.map((p) => p.excepted) },
      { label: 'Open', color: 'var(--fg)', dash: [6, 4], values: points.map((p) => p.open) },
    ],
    [points],
  )
  const first = points[0]
  const last = points[points.length - 1]
  if (!first || !last) return <p className="empty">No runs recorded yet.</p>
  const summary = `Excepted findings went from ${formatNumber(first.excepted)} on ${first.day} to ${formatNumber(last.excepted)} on ${last.day}; open findings from ${formatNumber(first.open)} to ${formatNumber(last.open)}.`
  return (
    <TimeSeriesChart
      title={`Excepted and open findings, last ${days} days`}
      days={x}
      series={series}
      summary={summary}
    />
  )
}

/** Exceptions of the register still in force each day, from today to the day after the last expiry. */
function Schedule({ summary }: { summary: RegisterSummary }) {
  const start = today()
  const { inForce, active } = summary
  const end = inForce.at(-1)?.expires ?? start
  const span = Math.min(daysBetween(start, end) + 1, 3 * 366)
  const x = useMemo(() => Array.from({ length: span + 1 }, (_, i) => addDays(start, i)), [start, span])
  const series = useMemo<SeriesSpec[]>(() => {
    // In force on a day: those in force today, less those that expired before it.
    let left = active
    let next = 0
    const values = x.map((day) => {
      while (next < inForce.length && inForce[next]!.expires < day) left -= inForce[next++]!.count
      return left
    })
    return [{ label: 'In force', color: 'var(--excepted)', width: 3, values }]
  }, [x, inForce, active])
  if (active === 0) return <p className="empty">No exception in the register is in force.</p>
  const text = `${plural(active, 'exception')} in force today; the last expires on ${end}.`
  return (
    <TimeSeriesChart
      title="Exceptions in force until they expire"
      days={x}
      series={series}
      summary={text}
      height={200}
    />
  )
}

function Expiry({ exception: e }: { exception: DebtException }) {
  const left = daysBetween(today(), e.expires)
  return (
    <>
      <span className="nowrap">{e.expires}</span>{' '}
      {e.expired ? (
        <span className="badge expired">expired</span>
      ) : left <= SOON_DAYS ? (
        <span className="badge soon">{left === 0 ? 'expires today' : `in ${plural(left, 'day')}`}</span>
      ) : null}
    </>
  )
}

const globs = (list: string[]) => (list.length ? list.join(', ') : 'any')

const EXCEPTION_COLUMNS: Column[] = [
  { label: 'ID', num: true },
  'Checks',
  'Applies to',
  'Owner',
  'Reason',
  'Expires',
  'Created',
  { label: 'Actions', hidden: true },
]

function ExceptionsTable({
  exceptions,
  onDelete,
}: {
  exceptions: DebtException[]
  onDelete: (e: DebtException) => void
}) {
  return (
    <Table caption="Exceptions" columns={EXCEPTION_COLUMNS} items={exceptions} testId="exceptions-table">
      {(e) => (
        <tr key={e.id} className={e.expired ? 'expired-row' : undefined} data-testid={`exception-${e.id}`}>
          <td className="num">{e.id}</td>
          <th scope="row" className="cell-text mono">
            {e.checks.map((c, i) => (
              <span key={c}>
                {i > 0 && ', '}
                {/[*?]/.test(c) ? c : <CheckLink id={c} />}
              </span>
            ))}
          </th>
          <td className="small">
            <div>kinds: {globs(e.kinds)}</div>
            <div>namespaces: {globs(e.namespaces)}</div>
            <div>names: {globs(e.names)}</div>
            {Object.keys(e.labels).length > 0 && (
              <div>
                labels:{' '}
                {Object.entries(e.labels)
                  .map(([k, v]) => `${k}=${v}`)
                  .join(', ')}
              </div>
            )}
            <div>
              {e.stale ? (
                <span className="badge stale" title="Every target was scanned since it was added">
                  stale: matches nothing
                </span>
              ) : (
                `covers ${plural(e.matches, 'finding')}`
              )}
            </div>
          </td>
          <td>{e.owner}</td>
          <td className="reason">{e.reason}</td>
          <td>
            <Expiry exception={e} />
          </td>
          <td className="small">
            {e.createdBy}
            <div className="muted">{formatDay(e.createdAt)}</div>
          </td>
          <td>
            <button type="button" onClick={() => onDelete(e)} aria-label={`Delete exception ${e.id}`}>
              Delete
            </button>
          </td>
        </tr>
      )}
    </Table>
  )
}

/** The findings excepted now, whatever excepted them: the register, an exceptions file or an annotation. */
function ExceptedFindings() {
  const findings = useApi(
    endpoints.findings({ state: ['excepted'], sort: 'resource', order: 'asc', limit: 100 }),
  )
  return (
    <Fetched
      state={findings}
      loading="Loading the excepted findings"
      isEmpty={(page) => page.total === 0}
      empty="No finding is excepted."
    >
      {(page) => (
        <>
          <Table
            caption="Excepted findings"
            columns={['Resource', 'Check', 'Excepted by', 'Owner', 'Expires', 'Reason']}
            items={page.items}
          >
            {(f) => (
              <tr key={f.id}>
                <th scope="row" className="cell-text">
                  <FindingResourceLink finding={f} />
                  <div className="small muted">{f.target}</div>
                </th>
                <td>
                  <SeverityBadge severity={f.severity} /> <CheckLink id={f.checkId} />
                </td>
                <td className="small">
                  {f.exception ? exceptedBy(f.exception) : '–'}
                  {f.exception && (
                    <div>
                      <UnaccountedBadge exception={f.exception} />
                    </div>
                  )}
                </td>
                <td>{f.exception?.owner ?? '–'}</td>
                <td className="nowrap">{f.exception?.expires ?? <span className="muted">never</span>}</td>
                <td className="reason">{f.exception?.reason ?? ''}</td>
              </tr>
            )}
          </Table>
          {page.total > page.items.length && (
            <p>
              <Link to={explorerHref({ state: ['excepted'] })}>
                All {plural(page.total, 'excepted finding')}
              </Link>
            </p>
          )}
        </>
      )}
    </Fetched>
  )
}

function ConfirmDelete({
  exception: e,
  onDone,
  onCancel,
}: {
  exception: DebtException
  onDone: () => void
  onCancel: () => void
}) {
  const [error, setError] = useState<ApiError>()
  const [busy, setBusy] = useState(false)
  const remove = async () => {
    setBusy(true)
    try {
      await deleteException(e.id)
      onDone()
    } catch (err) {
      setError(asApiError(err))
    } finally {
      setBusy(false)
    }
  }
  return (
    <>
      <p>
        Exception #{e.id} ({e.checks.join(', ')}, owned by {e.owner}) will be removed from the register; its
        findings come back as open at the next scan.
      </p>
      {error && (
        <ChangeError error={error}>
          <p>
            {error.status === 401 || error.status === 403
              ? 'Deleting exceptions needs an admin token.'
              : error.message}
          </p>
        </ChangeError>
      )}
      <DialogActions label="Delete" onConfirm={remove} danger busy={busy} onCancel={onCancel} focusCancel />
    </>
  )
}

const STATE_LABELS: Record<ExceptionState, string> = {
  active: 'In force',
  expiring: `Expiring within ${SOON_DAYS} days`,
  expired: 'Expired',
  stale: 'Stale (matching nothing)',
}
const STATE_OPTIONS = EXCEPTION_STATES.map((s) => ({ value: s, label: STATE_LABELS[s] }))

/** Which part of the register is listed: all of it in the URL (`state`, `owner`, `q`, `page`). */
interface RegisterView {
  state: ExceptionState | undefined
  owner: string
  q: string
  page: number
}

function registerView(search: URLSearchParams): RegisterView {
  const state = search.get('state') as ExceptionState | null
  const page = Number.parseInt(search.get('page') ?? '1', 10)
  return {
    state: state && EXCEPTION_STATES.includes(state) ? state : undefined,
    owner: search.get('owner') ?? '',
    q: search.get('q') ?? '',
    page: Number.isFinite(page) && page >= 1 ? page : 1,
  }
}

function RegisterFilters({
  view,
  owners,
  onChange,
}: {
  view: RegisterView
  owners: RegisterSummary['owners']
  onChange: (change: Partial<RegisterView>) => void
}) {
  const searchId = useId()
  const [text, setText] = useState(view.q)
  const submit = (e: FormEvent) => {
    e.preventDefault()
    onChange({ q: text })
  }
  return (
    <section className="filters" aria-label="Register filters">
      <search>
        <form className="field search-field" onSubmit={submit}>
          <label htmlFor={searchId}>Search exceptions</label>
          <input
            id={searchId}
            type="search"
            value={text}
            placeholder="check, matchers, owner or reason"
            maxLength={200}
            onChange={(e) => setText(e.target.value)}
          />
        </form>
      </search>
      <div className="filter-row">
        <SelectField
          label="State"
          all="Any state"
          value={view.state ?? ''}
          options={STATE_OPTIONS}
          onChange={(s) => onChange({ state: (s || undefined) as ExceptionState | undefined })}
        />
        <SelectField
          label="Owner"
          all="All owners"
          value={view.owner}
          options={[
            // The chosen one too, when no exception has it (any more).
            ...(view.owner && !owners.some((o) => o.owner === view.owner)
              ? [{ value: view.owner, label: view.owner }]
              : []),
            ...owners.map((o) => ({ value: o.owner, label: `${o.owner} (${formatNumber(o.count)})` })),
          ]}
          onChange={(owner) => onChange({ owner })}
        />
      </div>
    </section>
  )
}

export function DebtPage() {
  usePageTitle('Debt')
  const { search } = useLocation()
  const wanted = Number(search.get('days'))
  const days = PERIODS.includes(wanted) ? wanted : 30
  const trends = useApi(endpoints.trends(days), { keep: true })
  const view = registerView(search)
  const summary = useApi(endpoints.exceptionSummary())
  const register = useApi(
    endpoints.exceptions({
      state: view.state,
      owner: view.owner || undefined,
      q: view.q,
      limit: PAGE_SIZE,
      offset: (view.page - 1) * PAGE_SIZE,
    }),
    { keep: true },
  )
  const debtHref = (change: Partial<RegisterView>, period = days) => {
    const next = { ...view, page: 1, ...change }
    return href('/debt', {
      days: period === 30 ? undefined : period,
      state: next.state,
      owner: next.owner,
      q: next.q.trim(),
      page: next.page > 1 ? next.page : undefined,
    })
  }
  const changed = () => {
    register.reload()
    summary.reload()
  }
  const [adding, setAdding] = useState(false)
  const [deleting, setDeleting] = useState<DebtException | null>(null)
  const [notice, setNotice] = useState<string>()

  const figures = summary.data
  const excepted = trends.data?.[trends.data.length - 1]?.excepted

  return (
    <>
      <div className="page-head">
        <h1>Debt</h1>
        <div className="actions">
          <DownloadButton path="/api/exceptions/export" filename="exceptions.yaml" testId="export-register">
            Export as YAML (for Git)
          </DownloadButton>
          <button type="button" className="primary" onClick={() => setAdding(true)}>
            New exception
          </button>
        </div>
      </div>
      <p className="lead">
        {figures ? (
          <>
            {plural(figures.total, 'exception')} in the register
            {figures.expired > 0 && (
              <>
                , <strong>{formatNumber(figures.expired)} expired</strong>
              </>
            )}
            {figures.expiring > 0 && (
              <>
                , {formatNumber(figures.expiring)} expiring within {SOON_DAYS} days
              </>
            )}
            {figures.stale > 0 && <>, {formatNumber(figures.stale)} stale (matching nothing)</>}.{' '}
          </>
        ) : null}
        {excepted !== undefined && (
          <>
            {plural(excepted, 'finding')} excepted at the last runs (by the register, exceptions files or
            annotations): <Link to={explorerHref({ state: ['excepted'] })}>see the excepted findings</Link>.
          </>
        )}
      </p>
      {notice && (
        <p className="notice" role="status">
          {notice}
        </p>
      )}

      <section className="card" aria-labelledby="burn-down-title">
        <div className="section-head">
          <h2 id="burn-down-title">Burn-down</h2>
          <SelectField
            label="Period"
            inline
            value={String(days)}
            options={periodOptions(PERIODS)}
            onChange={(d) => navigate(debtHref({ page: view.page }, Number(d)))}
          />
        </div>
        <Fetched state={trends} loading="Loading the trend">
          {(points) => <BurnDown points={points} days={days} />}
        </Fetched>
        {figures && <Schedule summary={figures} />}
      </section>

      <section aria-labelledby="register-title">
        <h2 id="register-title">The register</h2>
        {figures && figures.total > 0 && (
          <RegisterFilters
            key={view.q}
            view={view}
            owners={figures.owners}
            onChange={(change) => navigate(debtHref(change))}
          />
        )}
        <Fetched
          state={register}
          loading="Loading the register"
          isEmpty={(page) => page.total === 0}
          empty={
            figures && figures.total > 0 ? (
              <>
                No exception matches these filters;{' '}
                <Link to={debtHref({ state: undefined, owner: '', q: '' })}>see the whole register</Link>.
              </>
            ) : (
              <>
                The register is empty. Findings can also be excepted by an exceptions file or an annotation on
                the resource;{' '}
                <Link to={explorerHref({ state: ['excepted'] })}>those are listed in the explorer</Link>.
              </>
            )
          }
        >
          {(page) => (
            <>
              <p className="visually-hidden" role="status">
                {plural(page.total, 'exception')}
              </p>
              <ExceptionsTable exceptions={page.items} onDelete={setDeleting} />
              <Pagination
                label="Exceptions pages"
                page={view.page}
                pageSize={PAGE_SIZE}
                total={page.total}
                hrefOf={(n) => debtHref({ page: n })}
              />
            </>
          )}
        </Fetched>
      </section>

      <section aria-labelledby="excepted-title">
        <h2 id="excepted-title">Excepted findings</h2>
        <ExceptedFindings />
      </section>

      <Dialog open={adding} title="New exception" onClose={() => setAdding(false)}>
        <ExceptionForm
          draft={{ checks: [], kinds: [], namespaces: [], names: [] }}
          onCancel={() => setAdding(false)}
          onCreated={(e) => {
            setAdding(false)
            setNotice(`Exception #${e.id} added; it applies from the next scan.`)
            changed()
          }}
        />
      </Dialog>
      <Dialog open={deleting !== null} title="Delete exception" onClose={() => setDeleting(null)}>
        {deleting && (
          <ConfirmDelete
            exception={deleting}
            onCancel={() => setDeleting(null)}
            onDone={() => {
              setNotice(`Exception #${deleting.id} deleted.`)
              setDeleting(null)
              changed()
            }}
          />
        )}
      </Dialog>
    </>
  )
}
