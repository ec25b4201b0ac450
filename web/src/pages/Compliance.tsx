/** Compliance per framework: each control passing, failing or not applicable, with the checks behind it. */
import { type ControlResult, type ControlStatus, endpoints, type Summary } from '../api'
import { ErrorMessage, Loading } from '../components/Status'
import { TargetSelect } from '../components/TargetSelect'
import { explorerHref } from '../explorer'
import { formatNumber, formatPercent, plural } from '../format'
import { href, Link, navigate, useLocation } from '../router'
import { useApi } from '../useApi'
import { usePageTitle } from '../usePageTitle'

const STATUS_LABEL: Record<ControlStatus, string> = {
  pass: 'Pass',
  fail: 'Fail',
  'not-applicable': 'Not applicable',
}

function FrameworkNav({
  summary,
  current,
  target,
}: {
  summary: Summary | undefined
  current?: string
  target: string
}) {
  if (!summary) return null
  return (
    <nav aria-label="Frameworks" className="tabs">
      <ul>
        {summary.byFramework.map((f) => (
          <li key={f.id}>
            <Link
              to={href(`/compliance/${f.id}`, { target })}
              aria-current={f.id === current ? 'page' : undefined}
            >
              {f.title.replace(/\s*\(.*\)$/, '')} <span className="muted">{formatPercent(f.score)}</span>
            </Link>
          </li>
        ))}
      </ul>
    </nav>
  )
}

function ControlsTable({ controls, target }: { controls: ControlResult[]; target: string }) {
  return (
    <div className="table-wrap">
      <table>
        <caption className="visually-hidden">Controls</caption>
        <thead>
          <tr>
            <th scope="col">Control</th>
            <th scope="col">Status</th>
            <th scope="col" className="num">
              Failures
            </th>
            <th scope="col">Checks</th>
          </tr>
        </thead>
        <tbody>
          {controls.map((c) => (
            <tr key={`${c.framework}/${c.id}`}>
              <th scope="row" className="cell-text">
                {c.title}
                <div className="small muted mono">
                  {c.framework} {c.id}
                </div>
              </th>
              <td>
                <span className={`badge status-${c.status}`}>{STATUS_LABEL[c.status]}</span>
              </td>
              <td className="num">
                {c.failed > 0 ? (
                  <Link
                    to={explorerHref({ check: c.checks, target })}
                    aria-label={`${c.failed} failures: ${c.title}`}
                  >
                    {formatNumber(c.failed)}
                  </Link>
                ) : (
                  '0'
                )}
              </td>
              <td className="small">
                {c.checks.length === 0
                  ? 'No check covers it'
                  : c.checks.map((id, i) => (
                      <span key={id}>
                        {i > 0 && ', '}
                        <Link to={`/checks/${id}`} className="mono">
                          {id}
                        </Link>
                      </span>
                    ))}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  )
}

export function CompliancePage({ framework }: { framework?: string }) {
  const { search } = useLocation()
  const target = search.get('target') ?? ''
  const summary = useApi(endpoints.summary(target || undefined), { keep: true })
  const report = useApi(framework ? endpoints.compliance(framework, target || undefined) : null, {
    keep: true,
  })
  const r = framework ? report.data : undefined
  usePageTitle(r ? r.title : 'Compliance')
  const count = (s: ControlStatus) => r?.controls.filter((c) => c.status === s).length ?? 0

  return (
    <>
      <div className="page-head">
        <h1>{r ? r.title : 'Compliance'}</h1>
        <TargetSelect
          value={target}
          targets={summary.data?.targets ?? []}
          onChange={(t) => navigate(href(window.location.pathname, { target: t }))}
        />
      </div>
      <FrameworkNav summary={summary.data} target={target} {...(framework ? { current: framework } : {})} />
      {!framework && summary.error && <ErrorMessage error={summary.error} retry={summary.reload} />}
      {!framework && !summary.error && summary.data && <p>Choose a framework.</p>}
      {!framework && !summary.error && !summary.data && <Loading what="Loading the frameworks" />}
      {framework && report.error && <ErrorMessage error={report.error} retry={report.reload} />}
      {framework && !r && !report.error && <Loading what="Loading the framework" />}
      {r && (
        <>
          <p className="lead">
            <strong data-testid="compliance-score">{formatPercent(r.score)}</strong> of the applicable
            controls pass: {plural(count('pass'), 'control')} pass, {formatNumber(count('fail'))} fail,{' '}
            {formatNumber(count('not-applicable'))} not applicable.
          </p>
          <ControlsTable controls={r.controls} target={target} />
        </>
      )}
    </>
  )
}
