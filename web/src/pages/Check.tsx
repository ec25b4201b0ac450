/** One check: why it matters, how to fix what it finds, the framework controls it stands for, and its open findings. */
import { type Check, endpoints } from '../api'
import { Card } from '../components/Card'
import { InlineText } from '../components/InlineText'
import { FindingResourceLink } from '../components/Links'
import { SeverityBadge } from '../components/SeverityBadge'
import { ErrorMessage, Fetched, Loading } from '../components/Status'
import { Table } from '../components/Table'
import { explorerHref } from '../explorer'
import { capitalize, plural } from '../format'
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
  return (
    <Table
      caption="Framework controls"
      columns={['Framework', 'Control']}
      items={check.controls}
      empty="This check is not part of a framework."
    >
      {(c) => (
        <tr key={`${c.framework}/${c.id}`}>
          <th scope="row" className="cell-text">
            <Link to={`/compliance/${c.framework}`}>{FRAMEWORK_NAMES[c.framework] ?? c.framework}</Link>
          </th>
          <td className="mono">{c.id}</td>
        </tr>
      )}
    </Table>
  )
}

function OpenFindings({ checkId }: { checkId: string }) {
  const findings = useApi(endpoints.findings({ check: [checkId], limit: 10 }))
  return (
    <Fetched
      state={findings}
      loading="Loading its findings"
      isEmpty={(page) => page.total === 0}
      empty="No open findings: every resource passes."
    >
      {(page) => (
        <>
          <ul className="plain-list">
            {page.items.map((f) => (
              <li key={f.id}>
                <SeverityBadge severity={f.severity} /> <FindingResourceLink finding={f} />: {f.message}
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
      )}
    </Fetched>
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
      {c.external ? (
        <Card title={c.external.tool ? `Imported from ${c.external.tool}` : 'Outside the library'}>
          <p data-testid="check-external">
            <InlineText text={c.rationale ?? ''} />
          </p>
          <p className="muted">
            Known from {plural(c.external.findings, 'finding')} in the store ({c.external.open} open); its
            severity is the worst of them.
          </p>
        </Card>
      ) : (
        <div className="grid cards-2">
          <Card title="Rationale">
            <p>{c.rationale ? <InlineText text={c.rationale} /> : 'Not given.'}</p>
          </Card>
          <Card title="Remediation">
            <p>{c.remediation ? <InlineText text={c.remediation} /> : 'Not given.'}</p>
            {c.docs && (
              <p>
                <a href={c.docs} rel="noreferrer noopener" target="_blank">
                  Documentation<span className="visually-hidden"> (opens in a new tab)</span>
                </a>
              </p>
            )}
          </Card>
        </div>
      )}
      {!c.external && (
        <Card title="Framework controls">
          <Controls check={c} />
        </Card>
      )}
      <Card title="Open findings">
        <OpenFindings checkId={c.id} />
      </Card>
    </>
  )
}
