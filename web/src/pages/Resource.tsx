/** A resource: where it is, all its findings (open, excepted, resolved), and its manifest. */
import { useState } from 'react'
import { type DebtException, endpoints, type Finding, type ResourceDetail } from '../api'
import { Dialog } from '../components/Dialog'
import { ExceptionNote } from '../components/ExceptionFacts'
import { type ExceptionDraft, ExceptionForm } from '../components/ExceptionForm'
import { CheckLink } from '../components/Links'
import { Manifest } from '../components/Manifest'
import { SeverityBadge, StateBadge } from '../components/SeverityBadge'
import { ErrorMessage, Loading } from '../components/Status'
import { type Column, Table } from '../components/Table'
import { formatDay, formatTime, resourceName } from '../format'
import { Link, useLocation } from '../router'
import { useApi } from '../useApi'
import { usePageTitle } from '../usePageTitle'

function draftFor(f: Finding): ExceptionDraft {
  return {
    checks: [f.checkId],
    kinds: [f.resource.kind],
    namespaces: f.resource.namespace ? [f.resource.namespace] : [],
    names: [f.resource.name],
  }
}

interface FindingListProps {
  findings: Finding[]
  highlighted: number | undefined
  onAccept: (f: Finding) => void
}

const FINDING_COLUMNS: Column[] = [
  'Severity',
  'Check',
  'Message',
  'State',
  { label: 'Line', num: true },
  'Seen',
  { label: 'Actions', hidden: true },
]

function ResourceFindings({ findings, highlighted, onAccept }: FindingListProps) {
  return (
    <Table
      caption="Findings of this resource"
      columns={FINDING_COLUMNS}
      items={findings}
      empty="This resource has no findings."
    >
      {(f) => (
        <tr
          key={f.id}
          className={f.id === highlighted ? 'selected' : undefined}
          aria-current={f.id === highlighted ? 'true' : undefined}
          data-testid={`finding-${f.id}`}
        >
          <td>
            <SeverityBadge severity={f.severity} />
          </td>
          <td>
            <CheckLink id={f.checkId} />
          </td>
          <td>
            {f.message}
            {f.container && <div className="small muted">container {f.container}</div>}
            {f.exception && <ExceptionNote exception={f.exception} />}
          </td>
          <td>
            <StateBadge state={f.state} />
            {f.reopened > 0 && <div className="small muted">reopened {f.reopened}×</div>}
          </td>
          <td className="num">{f.state === 'open' ? <a href={`#L${f.line}`}>{f.line}</a> : f.line}</td>
          <td className="nowrap small">
            {formatDay(f.firstSeen)} –{' '}
            {f.resolvedAt ? `resolved ${formatDay(f.resolvedAt)}` : formatDay(f.lastSeen)}
          </td>
          <td>
            {f.state === 'open' && (
              <button type="button" onClick={() => onAccept(f)} aria-label={`Accept as debt: ${f.checkId}`}>
                Accept as debt
              </button>
            )}
          </td>
        </tr>
      )}
    </Table>
  )
}

function ResourceFacts({ resource: r }: { resource: ResourceDetail }) {
  return (
    <dl className="facts">
      <div>
        <dt>Target</dt>
        <dd>{r.target}</dd>
      </div>
      <div>
        <dt>File</dt>
        <dd className="mono">{r.file}</dd>
      </div>
      <div>
        <dt>API group</dt>
        <dd>{r.group || 'core'}</dd>
      </div>
      <div>
        <dt>Seen</dt>
        <dd>
          {formatTime(r.firstSeen)} – {formatTime(r.lastSeen)}
        </dd>
      </div>
    </dl>
  )
}

export function ResourcePage({ id }: { id: number }) {
  const { search } = useLocation()
  const highlighted = Number(search.get('finding')) || undefined
  const resource = useApi(Number.isInteger(id) && id > 0 ? endpoints.resource(id) : null)
  const [accepting, setAccepting] = useState<Finding | null>(null)
  const [created, setCreated] = useState<DebtException | null>(null)
  const r = resource.data
  usePageTitle(r ? resourceName(r) : 'Resource')

  if (!Number.isInteger(id) || id <= 0) return <h1>No such resource</h1>
  if (resource.error)
    return (
      <>
        <h1>Resource</h1>
        <ErrorMessage error={resource.error} retry={resource.reload} />
      </>
    )
  if (!r)
    return (
      <>
        <h1>Resource</h1>
        <Loading what="Loading the resource" />
      </>
    )

  const open = r.findings.filter((f) => f.state === 'open')
  const focus = r.findings.find((f) => f.id === highlighted)
  return (
    <>
      <p className="breadcrumb">
        <Link to="/findings">Findings</Link> / {r.kind}
      </p>
      <h1>{resourceName(r)}</h1>
      <ResourceFacts resource={r} />
      {created && (
        <div className="notice" role="status">
          Exception #{created.id} is in the register, until {created.expires}; it applies from the next scan.{' '}
          <Link to="/debt">See it on the debt page</Link>.
        </div>
      )}
      <section aria-labelledby="resource-findings">
        <h2 id="resource-findings">
          Findings{' '}
          <span className="muted">
            ({open.length} open of {r.findings.length})
          </span>
        </h2>
        <ResourceFindings findings={r.findings} highlighted={highlighted} onAccept={setAccepting} />
      </section>
      <section aria-labelledby="resource-manifest">
        <h2 id="resource-manifest">Manifest</h2>
        {r.manifest ? (
          <Manifest
            text={r.manifest}
            firstLine={r.manifestLine ?? 1}
            findings={open}
            focusLine={focus?.line}
          />
        ) : (
          <p className="notice">
            The manifest is not stored for this resource (Secrets, and resources in which a check found a
            credential, never are). Its findings are listed above, with the line of <code>{r.file}</code> each
            is on.
          </p>
        )}
      </section>
      <Dialog open={accepting !== null} title="Accept as debt" onClose={() => setAccepting(null)}>
        {accepting && (
          <>
            <p>
              <SeverityBadge severity={accepting.severity} /> <code>{accepting.checkId}</code>:{' '}
              {accepting.message}
            </p>
            <ExceptionForm
              draft={draftFor(accepting)}
              onCancel={() => setAccepting(null)}
              onCreated={(e) => {
                setCreated(e)
                setAccepting(null)
              }}
            />
          </>
        )}
      </Dialog>
    </>
  )
}
