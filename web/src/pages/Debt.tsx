/**
 * Debt: the exceptions register (owner, reason, expiry; expired ones flagged) and its burn-down: excepted
 * and open findings per day, and how many exceptions stay in force until the last one expires.
 */
import { useId, useMemo, useState } from 'react'
import {
  type ApiError,
  asApiError,
  type DebtException,
  deleteException,
  endpoints,
  type FindingException,
  type TrendPoint,
} from '../api'
import { Dialog, DialogActions } from '../components/Dialog'
import { ExceptionForm } from '../components/ExceptionForm'
import { CheckLink, FindingResourceLink } from '../components/Links'
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
/** An exception this close to its expiry is flagged. */
const SOON_DAYS = 14

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
function Schedule({ exceptions }: { exceptions: DebtException[] }) {
  const start = today()
  const active = useMemo(() => exceptions.filter((e) => !e.expired), [exceptions])
  const end = [start, ...active.map((e) => e.expires)].sort().at(-1) ?? start
  const span = Math.min(daysBetween(start, end) + 1, 3 * 366)
  const x = useMemo(() => Array.from({ length: span + 1 }, (_, i) => addDays(start, i)), [start, span])
  const series = useMemo<SeriesSpec[]>(
    () => [
      {
        label: 'In force',
        color: 'var(--excepted)',
        width: 3,
        values: x.map((day) => active.filter((e) => e.expires >= day).length),
      },
    ],
    [x, active],
  )
  if (active.length === 0) return <p className="empty">No exception in the register is in force.</p>
  const summary = `${plural(active.length, 'exception')} in force today; the last expires on ${end}.`
  return (
    <TimeSeriesChart
      title="Exceptions in force until they expire"
      days={x}
      series={series}
      summary={summary}
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

function exceptedBy(e: FindingException): string {
  if (e.source === 'annotation') return 'annotation'
  return e.file.startsWith('store#') ? `register #${e.file.slice(6)}` : `${e.file} #${e.index + 1}`
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
                <td className="small">{f.exception ? exceptedBy(f.exception) : '–'}</td>
                <td>{f.exception?.source === 'file' ? f.exception.owner : '–'}</td>
                <td className="nowrap">
                  {f.exception?.source === 'file' ? (
                    f.exception.expires
                  ) : (
                    <span className="muted">never</span>
                  )}
                </td>
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
          <p>{error.status === 403 ? 'Deleting exceptions needs an admin token.' : error.message}</p>
        </ChangeError>
      )}
      <DialogActions label="Delete" onConfirm={remove} danger busy={busy} onCancel={onCancel} focusCancel />
    </>
  )
}

export function DebtPage() {
  usePageTitle('Debt')
  const { search } = useLocation()
  const wanted = Number(search.get('days'))
  const days = PERIODS.includes(wanted) ? wanted : 30
  const periodId = useId()
  const trends = useApi(endpoints.trends(days), { keep: true })
  const register = useApi(endpoints.exceptions())
  const [adding, setAdding] = useState(false)
  const [deleting, setDeleting] = useState<DebtException | null>(null)
  const [notice, setNotice] = useState<string>()

  const list = register.data ?? []
  const expired = list.filter((e) => e.expired).length
  const soon = list.filter((e) => !e.expired && daysBetween(today(), e.expires) <= SOON_DAYS).length
  const excepted = trends.data?.[trends.data.length - 1]?.excepted

  return (
    <>
      <div className="page-head">
        <h1>Debt</h1>
        <button type="button" className="primary" onClick={() => setAdding(true)}>
          New exception
        </button>
      </div>
      <p className="lead">
        {register.data ? (
          <>
            {plural(list.length, 'exception')} in the register
            {expired > 0 && (
              <>
                , <strong>{formatNumber(expired)} expired</strong>
              </>
            )}
            {soon > 0 && (
              <>
                , {formatNumber(soon)} expiring within {SOON_DAYS} days
              </>
            )}
            .{' '}
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
          <div className="field inline-field">
            <label htmlFor={periodId}>Period</label>
            <select
              id={periodId}
              value={days}
              onChange={(e) =>
                navigate(href('/debt', { days: e.target.value === '30' ? undefined : e.target.value }))
              }
            >
              {PERIODS.map((p) => (
                <option key={p} value={p}>
                  Last {p} days
                </option>
              ))}
            </select>
          </div>
        </div>
        <Fetched state={trends} loading="Loading the trend">
          {(points) => <BurnDown points={points} days={days} />}
        </Fetched>
        {register.data && <Schedule exceptions={register.data} />}
      </section>

      <section aria-labelledby="register-title">
        <h2 id="register-title">The register</h2>
        <Fetched
          state={register}
          loading="Loading the register"
          isEmpty={(exceptions) => exceptions.length === 0}
          empty={
            <>
              The register is empty. Findings can also be excepted by an exceptions file or an annotation on
              the resource;{' '}
              <Link to={explorerHref({ state: ['excepted'] })}>those are listed in the explorer</Link>.
            </>
          }
        >
          {(exceptions) => <ExceptionsTable exceptions={exceptions} onDelete={setDeleting} />}
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
            register.reload()
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
              register.reload()
            }}
          />
        )}
      </Dialog>
    </>
  )
}
