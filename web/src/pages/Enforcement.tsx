/**
 * The enforcement plan of a cluster (`GET /api/enforcement/plan`, as `plimsoll enforce plan` prints
 * it): per check, which namespaces are ready to enforce now, which should warn first and which should
 * only audit, from the cluster's latest scan (objects failing the check now) and the webhook's decisions
 * in the window (requests it would have denied). Cluster and window are in the query string.
 */
import { useId, useMemo } from 'react'
import {
  type EnforcementPlan,
  type EnforcementStep,
  endpoints,
  type PlanCheck,
  type PlanNamespace,
  SEVERITIES,
  type Severity,
} from '../api'
import { Card } from '../components/Card'
import { CheckRowHeader, checkHref } from '../components/Links'
import { periodOptions, plainOptions, SelectField } from '../components/SelectField'
import { SeverityBadge } from '../components/SeverityBadge'
import { ErrorMessage, Fetched } from '../components/Status'
import { Table } from '../components/Table'
import { formatNumber, formatTime, plural } from '../format'
import { href, Link, navigate, useLocation } from '../router'
import { useApi } from '../useApi'
import { usePageTitle } from '../usePageTitle'

const PERIODS = [7, 14, 30]

/** The ladder's steps, the readiest first, as the page names them. */
const STEP_LABELS: Record<EnforcementStep, string> = {
  enforce: 'Ready to enforce now',
  warn: 'Warn first',
  audit: 'Audit',
}
const LADDER: EnforcementStep[] = ['enforce', 'warn', 'audit']

/** A ladder's namespaces past this many are behind "and N more". */
const LIST_AT_MOST = 12

const namespaceLabel = (ns: string) => ns || '(cluster-scoped)'

function enforcementHref(cluster: string, days: number): string {
  return href('/enforcement', { cluster, days: days === PERIODS[0] ? undefined : days })
}

function StepBadge({ step }: { step: string }) {
  return <span className={`badge mode-${step}`}>{step}</span>
}

function PlanSeverity({ severity }: { severity: PlanCheck['severity'] }) {
  return (SEVERITIES as readonly string[]).includes(severity) ? (
    <SeverityBadge severity={severity as Severity} />
  ) : (
    <span className="badge muted">{severity}</span>
  )
}

function NamespaceList({ namespaces }: { namespaces: string[] }) {
  if (namespaces.length === 0) return <span className="muted">none</span>
  const shown = namespaces.slice(0, LIST_AT_MOST)
  const rest = namespaces.slice(LIST_AT_MOST)
  return (
    <>
      <ul className="inline-list">
        {shown.map((ns) => (
          <li key={ns}>{namespaceLabel(ns)}</li>
        ))}
      </ul>
      {rest.length > 0 && (
        <details className="more-list">
          <summary>and {formatNumber(rest.length)} more</summary>
          <ul className="inline-list">
            {rest.map((ns) => (
              <li key={ns}>{namespaceLabel(ns)}</li>
            ))}
          </ul>
        </details>
      )}
    </>
  )
}

function Ladder({ check }: { check: PlanCheck }) {
  return (
    <dl className="ladder">
      {LADDER.map((step) => (
        <div key={step} className={`ladder-step step-${step}`} data-testid={`ladder-${step}`}>
          <dt>
            {STEP_LABELS[step]} ({formatNumber(check.ladder[step]?.length ?? 0)})
          </dt>
          <dd>
            <NamespaceList namespaces={check.ladder[step] ?? []} />
          </dd>
        </div>
      ))}
      {(check.off?.length ?? 0) > 0 && (
        <div className="ladder-step step-off" data-testid="ladder-off">
          <dt>Off by a rule ({formatNumber(check.off.length)})</dt>
          <dd>
            <NamespaceList namespaces={check.off} />
          </dd>
        </div>
      )}
    </dl>
  )
}

function NamespacesTable({ check }: { check: PlanCheck }) {
  return (
    <Table
      caption={`Namespaces for ${check.id}`}
      columns={[
        'Namespace',
        'Teams',
        { label: 'Failing', num: true },
        'Examples',
        { label: 'Would have denied', num: true },
        { label: 'Denied', num: true },
        'Current mode',
        'Suggested',
        'Reason',
      ]}
      items={check.namespaces}
      empty="No namespace: the scan saw none and no admission named one."
    >
      {(n: PlanNamespace) => (
        <tr key={n.namespace} data-testid={`plan-ns-${n.namespace || '-'}`}>
          <th scope="row" className="cell-text">
            {namespaceLabel(n.namespace)}
          </th>
          <td className="small">{n.teams.length ? n.teams.join(', ') : <span className="muted">–</span>}</td>
          <td className="num">{formatNumber(n.failing)}</td>
          <td className="small mono">
            {n.examples.length ? n.examples.join(', ') : <span className="muted">–</span>}
          </td>
          <td className="num">{formatNumber(n.wouldDeny)}</td>
          <td className="num">{formatNumber(n.denied)}</td>
          <td>
            <StepBadge step={n.current} />
          </td>
          <td>
            <StepBadge step={n.suggested} />
          </td>
          <td className="reason small">{n.reason}</td>
        </tr>
      )}
    </Table>
  )
}

function CheckPlan({ check: c }: { check: PlanCheck }) {
  const id = useId()
  return (
    <section className="card plan-check" aria-labelledby={id} data-testid={`plan-${c.id}`}>
      <div className="plan-check-head">
        <h3 id={id}>
          <Link to={checkHref(c.id)}>{c.title || c.id}</Link>
        </h3>
        <PlanSeverity severity={c.severity} />
      </div>
      <p className="small muted mono">{c.id}</p>
      <dl className="facts">
        <div>
          <dt>Failing objects</dt>
          <dd data-testid="plan-failing">{formatNumber(c.failing)}</dd>
        </div>
        <div>
          <dt>Would have denied</dt>
          <dd data-testid="plan-would-deny">{formatNumber(c.wouldDeny)}</dd>
        </div>
        <div>
          <dt>Denied</dt>
          <dd>{formatNumber(c.denied)}</dd>
        </div>
      </dl>
      <Ladder check={c} />
      {c.namespaces.length > 0 && (
        <details className="plan-namespaces">
          <summary>Namespaces ({formatNumber(c.namespaces.length)})</summary>
          <NamespacesTable check={c} />
        </details>
      )}
    </section>
  )
}

/** Checks without evidence, a row each: their ladder is all "ready", but for namespaces a rule turns off. */
function QuietChecks({ checks }: { checks: PlanCheck[] }) {
  const withOff = checks.some((c) => (c.off?.length ?? 0) > 0)
  const columns = ['Check', 'Severity', STEP_LABELS.enforce]
  if (withOff) columns.push('Off by a rule')
  return (
    <Table caption="Checks with nothing against them" columns={columns} items={checks}>
      {(c) => (
        <tr key={c.id} data-testid={`plan-${c.id}`}>
          <CheckRowHeader id={c.id} title={c.title || c.id} />
          <td>
            <PlanSeverity severity={c.severity} />
          </td>
          <td data-testid="ladder-enforce">
            <NamespaceList namespaces={c.ladder.enforce ?? []} />
            {(c.ladder.warn?.length ?? 0) + (c.ladder.audit?.length ?? 0) > 0 && (
              <div className="small">
                {STEP_LABELS.warn}: {(c.ladder.warn ?? []).map(namespaceLabel).join(', ') || 'none'};{' '}
                {STEP_LABELS.audit}: {(c.ladder.audit ?? []).map(namespaceLabel).join(', ') || 'none'}
              </div>
            )}
          </td>
          {withOff && (
            <td>
              <NamespaceList namespaces={c.off ?? []} />
            </td>
          )}
        </tr>
      )}
    </Table>
  )
}

const hasEvidence = (c: PlanCheck) => c.failing > 0 || c.wouldDeny > 0 || c.denied > 0

/** The command that writes this plan into an EnforcementConfig file (the store: this server's). */
const applyCommand = (p: EnforcementPlan) =>
  `plimsoll enforce plan --store … --cluster-name ${p.cluster}${p.window.days === 7 ? '' : ` --days ${p.window.days}`} --apply-to enforcement.yaml`

function Figures({ plan: p }: { plan: EnforcementPlan }) {
  return (
    <div className="grid cards-3">
      <Card title="Admissions in the window">
        <p className="big-number" data-testid="plan-admissions">
          {formatNumber(p.admissions)}
        </p>
        <p className="muted">
          reviewed by the webhook in the last {plural(p.window.days, 'day')} (since{' '}
          {formatTime(p.window.since)}
          ).
        </p>
      </Card>
      <Card title="Checks ready everywhere">
        <p className="big-number" data-testid="plan-ready-everywhere">
          {formatNumber(p.totals.readyEverywhere)}
        </p>
        <p className="muted">
          of {plural(p.totals.checks, 'check')} can be enforced in every namespace now: nothing fails them and
          nothing would have been denied.
        </p>
      </Card>
      <Card title="Check × namespace pairs">
        <ul className="plain-list step-counts">
          {LADDER.map((step) => (
            <li key={step}>
              <span className="count" data-testid={`pairs-${step}`}>
                {formatNumber(p.totals.pairs[step] ?? 0)}
              </span>{' '}
              {STEP_LABELS[step].toLowerCase()}
            </li>
          ))}
        </ul>
      </Card>
    </div>
  )
}

function Plan({ plan: p }: { plan: EnforcementPlan }) {
  const [withEvidence, without] = useMemo(
    () => [p.checks.filter(hasEvidence), p.checks.filter((c) => !hasEvidence(c))],
    [p.checks],
  )
  return (
    <>
      <p className="lead" data-testid="plan-source">
        {p.scan ? (
          <>
            From scan run #{p.scan.runId} of {p.cluster} (started {formatTime(p.scan.startedAt)},{' '}
            {plural(p.scan.resources, 'resource')}
            {!p.scan.complete && '; incomplete: some kinds could not be listed'})
          </>
        ) : (
          <>No scan of {p.cluster} is in the store: failing objects are unknown</>
        )}{' '}
        and the webhook's decisions since {formatTime(p.window.since)};{' '}
        {plural(p.namespaces.length, 'namespace')}
        {p.exempt.length > 0 && <>, {p.exempt.join(', ')} exempt (never in a plan)</>}. Teams from the label{' '}
        <code>{p.teamLabel}</code>.
      </p>
      <Figures plan={p} />
      <Card title="Apply it">
        <p>
          Write the suggested modes into the webhook's EnforcementConfig (your own rules stay first; the
          file's modes are read as today's), review the change, then give the file to the webhook:
        </p>
        <pre className="command" data-testid="apply-command">
          <code>{applyCommand(p)}</code>
          {'\n'}
          <code>plimsoll webhook serve --enforcement enforcement.yaml …</code>
        </pre>
      </Card>
      <section aria-labelledby="evidence-title">
        <h2 id="evidence-title">Checks with evidence ({formatNumber(withEvidence.length)})</h2>
        {withEvidence.length === 0 ? (
          <p className="empty">No check fails an object or would have denied a request.</p>
        ) : (
          withEvidence.map((c) => <CheckPlan key={c.id} check={c} />)
        )}
      </section>
      {without.length > 0 && (
        <section aria-labelledby="no-evidence-title">
          <h2 id="no-evidence-title">Checks with nothing against them ({formatNumber(without.length)})</h2>
          <p className="muted">
            No object fails them and the webhook would have denied nothing: they can be enforced where the
            configuration does not turn them off.
          </p>
          <QuietChecks checks={without} />
        </section>
      )}
    </>
  )
}

export function EnforcementPage() {
  usePageTitle('Enforcement plan')
  const { search } = useLocation()
  const wanted = Number(search.get('days'))
  const days = PERIODS.includes(wanted) ? wanted : PERIODS[0]!
  const clusters = useApi(endpoints.admissionClusters())
  const names = useMemo(() => (clusters.data ?? []).map((c) => c.name), [clusters.data])
  // Unless one is asked for, the cluster with the most evidence: a scan, then the most admissions.
  const busiest = useMemo(
    () =>
      [...(clusters.data ?? [])].sort(
        (a, b) => Number(b.scanned) - Number(a.scanned) || b.admissions - a.admissions,
      )[0]?.name,
    [clusters.data],
  )
  const chosen = search.get('cluster') || busiest || ''
  // No scanned cluster: the API plans for the store's only cluster (one the webhook alone knows), if any.
  const plan = useApi(
    clusters.data === undefined && !chosen ? null : endpoints.enforcementPlan(chosen || undefined, days),
    { keep: true },
  )
  const cluster = chosen || plan.data?.cluster || ''
  const all = cluster && !names.includes(cluster) ? [cluster, ...names] : names
  // Nothing recorded at all (with several unscanned clusters the API's 400 says to choose one: shown as is).
  const nothing = !chosen && plan.error?.status === 400 && /^no cluster/.test(plan.error.message)

  return (
    <>
      <div className="page-head">
        <h1>Enforcement plan</h1>
        <div className="filter-row">
          {all.length > 0 && (
            <SelectField
              label="Cluster"
              inline
              value={cluster}
              options={plainOptions(all)}
              onChange={(c) => navigate(enforcementHref(c, days))}
            />
          )}
          <SelectField
            label="Window"
            inline
            value={String(days)}
            options={periodOptions(PERIODS)}
            onChange={(d) => navigate(enforcementHref(cluster, Number(d)))}
          />
        </div>
      </div>
      <p className="lead">
        Where each check can go from audit to warn to enforce, namespace by namespace: ready to enforce where
        nothing fails it now and it would have denied nothing; warn first where objects fail it, so their
        owners hear before they are refused. See also{' '}
        <Link to={href('/admissions', { cluster })}>the webhook's decisions</Link>.
      </p>
      {clusters.error && <ErrorMessage error={clusters.error} retry={clusters.reload} />}
      {nothing ? (
        <div className="empty teach" data-testid="plan-empty">
          <p>
            No cluster scan and no admission recorded yet: the plan reads a cluster's latest scan (
            <code>plimsoll watch --store …</code>, or an agent) and the webhook's decisions (
            <code>plimsoll webhook serve --store …</code>).
          </p>
        </div>
      ) : (
        <Fetched
          state={plan}
          loading="Loading the plan"
          isEmpty={(p) => !p.scan && p.admissions === 0}
          empty={
            <span data-testid="plan-empty">
              {cluster} has no scan in the store, and the webhook recorded no decision for it in the last{' '}
              {plural(days, 'day')}: run <code>plimsoll watch --store …</code> (or an agent) against it first.
            </span>
          }
        >
          {(p) => <Plan plan={p} />}
        </Fetched>
      )}
    </>
  )
}
