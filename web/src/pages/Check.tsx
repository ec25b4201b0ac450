/** One check: why it matters, how to fix what it finds, the framework controls it stands for, and its open findings. */
import { type Check, endpoints } from '../api'
import { InlineText } from '../components/InlineText'
import { SeverityBadge } from '../components/SeverityBadge'
import { ErrorMessage, Loading } from '../components/Status'
import { explorerHref } from '../explorer'
import { capitalize, plural, resourceName } from '../format'
import { Link } from '../router'
import { useApi } from '../useApi'
import { usePageTitle } from '../usePageTitle'

const FRAMEWORK_NAMES: Record<string, string> = {
  'pss-baseline': 'Pod Security Standards, Baseline',
  'pss-restricted': 'Pod Security Standards, Restricted',
  cis: 'CIS Kubernetes Benchmark',
  nsa: 'NSA/CISA Hardening Guide',
}

function Controls({ check }: { check: Check }) {
  if (check.controls.length === 0) return <p className="muted">This check is not part of a framework.</p>
  return (
    <table>
      <caption className="visually-hidden">Framework controls</caption>
      <thead>
        <tr>
          <th scope="col">Framework</th>
          <th scope="col">Control</th>
        </tr>
      </thead>
      <tbody>
        {check.controls.map((c) => (
          <tr key={`${c.framework}/${c.id}`}>
            <th scope="row" className="cell-text">
              <Link to={`/compliance/${c.framework}`}>{FRAMEWORK_NAMES[c.framework] ?? c.framework}</Link>
            </th>
            <td className="mono">{c.id}</td>
          </tr>
        ))}
      </tbody>
    </table>
  )
}

function OpenFindings({ checkId }: { checkId: string }) {
  const findings = useApi(endpoints.findings({ check: [checkId], limit: 10 }))
  if (findings.error) return <ErrorMessage error={findings.error} retry={findings.reload} />
  const page = findings.data
  if (!page) return <Loading what="Loading its findings" />
  if (page.total === 0) return <p className="empty">No open findings: every resource passes.</p>
  return (
    <>
      <ul className="plain-list">
        {page.items.map((f) => (
          <li key={f.id}>
            <SeverityBadge severity={f.severity} />{' '}
            <Link to={`/resources/${f.resource.id}?finding=${f.id}`}>{resourceName(f.resource)}</Link>:{' '}
            {f.message}
          </li>
        ))}
      </ul>
      <p>
        <Link to={explorerHref({ check: [checkId] })}>
          {page.total > page.items.length
            ? `All ${plural(page.total, 'open finding')}`
            : 'Open in the explorer'}
        </Link>
      </p>
    </>
  )
}

export function CheckPage({ id }: { id: string }) {
  const check = useApi(endpoints.check(id))
  const c = check.data
  usePageTitle(c?.title ?? id)
  if (check.error)
    return (
      <>
        <h1>Check {id}</h1>
        <ErrorMessage error={check.error} retry={check.reload} />
      </>
    )
  if (!c)
    return (
      <>
        <h1>Check {id}</h1>
        <Loading what="Loading the check" />
      </>
    )
  return (
    <>
      <p className="breadcrumb">
        <Link to="/checks">Checks</Link> / <span className="mono">{c.id}</span>
      </p>
      <h1>{c.title}</h1>
      <p className="check-meta">
        <SeverityBadge severity={c.severity} /> <span className="mono">{c.id}</span> ·{' '}
        {capitalize(c.category)}
      </p>
      <div className="grid cards-2">
        <section className="card" aria-labelledby="rationale">
          <h2 id="rationale">Rationale</h2>
          <p>{c.rationale ? <InlineText text={c.rationale} /> : 'Not given.'}</p>
        </section>
        <section className="card" aria-labelledby="remediation">
          <h2 id="remediation">Remediation</h2>
          <p>{c.remediation ? <InlineText text={c.remediation} /> : 'Not given.'}</p>
          {c.docs && (
            <p>
              <a href={c.docs} rel="noreferrer noopener" target="_blank">
                Documentation<span className="visually-hidden"> (opens in a new tab)</span>
              </a>
            </p>
          )}
        </section>
      </div>
      <section className="card" aria-labelledby="controls">
        <h2 id="controls">Framework controls</h2>
        <Controls check={c} />
      </section>
      <section className="card" aria-labelledby="check-findings">
        <h2 id="check-findings">Open findings</h2>
        <OpenFindings checkId={c.id} />
      </section>
    </>
  )
}
