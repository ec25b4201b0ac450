/** Compliance per framework: each control passing, failing or not applicable, with the checks behind it. */
import {
  type ComplianceReport,
  type ControlResult,
  type ControlStatus,
  endpoints,
  type Summary,
} from '../api'
import { CheckLink } from '../components/Links'
import { Fetched } from '../components/Status'
import { Table } from '../components/Table'
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
    <Table
      caption="Controls"
      columns={['Control', 'Status', { label: 'Failures', num: true }, 'Checks']}
      items={controls}
    >
      {(c) => (
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
                    <CheckLink id={id} />
                  </span>
                ))}
          </td>
        </tr>
      )}
    </Table>
  )
}

function ComplianceScore({ report: r }: { report: ComplianceReport }) {
  const count = (s: ControlStatus) => r.controls.filter((c) => c.status === s).length
  return (
    <p className="lead">
      <strong data-testid="compliance-score">{formatPercent(r.score)}</strong> of the applicable controls
      pass: {plural(count('pass'), 'control')} pass, {formatNumber(count('fail'))} fail,{' '}
      {formatNumber(count('not-applicable'))} not applicable.
    </p>
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
      {framework ? (
        <Fetched state={report} loading="Loading the framework">
          {(rep) => (
            <>
              <ComplianceScore report={rep} />
              <ControlsTable controls={rep.controls} target={target} />
            </>
          )}
        </Fetched>
      ) : (
        <Fetched state={summary} loading="Loading the frameworks">
          {() => <p>Choose a framework.</p>}
        </Fetched>
      )}
    </>
  )
}
