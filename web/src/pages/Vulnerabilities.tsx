/**
 * Vulnerabilities imported from Trivy and Grype (`plimsoll import`): how many are open, how many have a
 * fix, how old they are, which images and advisories carry most, and the list, worst and oldest first.
 * Every filter is in the URL, and an image or advisory of the summary filters the page to it.
 */
import { type FormEvent, useEffect, useId, useMemo, useState } from 'react'
import {
  endpoints,
  FIX_STATES,
  SEVERITIES,
  type Severity,
  type VulnerabilityGroupView,
  type VulnerabilityQuery,
  type VulnerabilitySummaryView,
} from '../api'
import { Card } from '../components/Card'
import { Pagination } from '../components/Pagination'
import { plainOptions, SelectField } from '../components/SelectField'
import { SeverityBadge } from '../components/SeverityBadge'
import { Fetched } from '../components/Status'
import { type Column, Table } from '../components/Table'
import { TargetSelect } from '../components/TargetSelect'
import { formatNumber, plural } from '../format'
import { href, navigate, useLocation } from '../router'
import { useApi } from '../useApi'
import { usePageTitle } from '../usePageTitle'

const PAGE_SIZE = 50
const PATH = '/vulnerabilities'

interface View {
  target: string
  image: string
  advisory: string
  /** 'yes', 'no' or '' (either) */
  fixable: string
  severity: string
  page: number
}

function parseView(search: URLSearchParams): View {
  const fixable = search.get('fixable') ?? ''
  const severity = search.get('severity') ?? ''
  return {
    target: search.get('target') ?? '',
    image: search.get('image') ?? '',
    advisory: search.get('advisory') ?? '',
    fixable: fixable === 'yes' || fixable === 'no' ? fixable : '',
    severity: (SEVERITIES as readonly string[]).includes(severity) ? severity : '',
    page: Math.max(1, Number.parseInt(search.get('page') ?? '1', 10) || 1),
  }
}

const viewHref = (v: View) =>
  href(PATH, {
    target: v.target,
    image: v.image,
    advisory: v.advisory,
    fixable: v.fixable,
    severity: v.severity,
    page: v.page > 1 ? v.page : undefined,
  })

function queryOf(v: View): VulnerabilityQuery {
  return {
    ...(v.target ? { target: v.target } : {}),
    ...(v.image ? { image: v.image } : {}),
    ...(v.advisory ? { advisory: v.advisory } : {}),
    ...(v.fixable ? { fixable: v.fixable === 'yes' } : {}),
    ...(v.severity ? { severity: [v.severity as Severity] } : {}),
  }
}

const FIXABLE_OPTIONS = [
  { value: 'yes', label: 'Fixable (a fixed version is known)' },
  { value: 'no', label: 'No fix known' },
]
const FIX_STATE_LABEL: Record<(typeof FIX_STATES)[number], string> = {
  fixed: 'fixed',
  'not-fixed': 'not fixed yet',
  'wont-fix': "won't be fixed",
  unknown: 'unknown',
}

/** An image reference with its digest cut to 12 digits (the whole one in the title): tables stay readable. */
function ImageRef({ image }: { image: string }) {
  const short = image.replace(/@sha256:([0-9a-f]{12})[0-9a-f]{20,}$/, '@sha256:$1…')
  return (
    <span className="mono" title={short === image ? undefined : image}>
      {short}
    </span>
  )
}

function Filters({
  view,
  targets,
  onChange,
}: {
  view: View
  targets: string[]
  onChange: (c: Partial<View>) => void
}) {
  const advisoryId = useId()
  const [text, setText] = useState(view.advisory)
  useEffect(() => setText(view.advisory), [view.advisory])
  const submit = (e: FormEvent) => {
    e.preventDefault()
    onChange({ advisory: text.trim() })
  }
  const filtered = view.target || view.image || view.advisory || view.fixable || view.severity
  return (
    <section className="filters" aria-label="Vulnerability filters">
      <div className="filter-row">
        <TargetSelect value={view.target} targets={targets} onChange={(target) => onChange({ target })} />
        <SelectField
          label="Fix"
          all="Fixable or not"
          value={view.fixable}
          options={FIXABLE_OPTIONS}
          onChange={(fixable) => onChange({ fixable })}
        />
        <SelectField
          label="Severity"
          all="All severities"
          value={view.severity}
          options={plainOptions(SEVERITIES)}
          onChange={(severity) => onChange({ severity })}
        />
        <form className="field" onSubmit={submit}>
          <label htmlFor={advisoryId}>Advisory</label>
          <input
            id={advisoryId}
            type="search"
            value={text}
            placeholder="CVE-… or GHSA-…"
            maxLength={200}
            onChange={(e) => setText(e.target.value)}
            onBlur={() => text.trim() !== view.advisory && onChange({ advisory: text.trim() })}
          />
        </form>
        {filtered && (
          <button
            type="button"
            onClick={() => onChange({ target: '', image: '', advisory: '', fixable: '', severity: '' })}
          >
            Clear filters
          </button>
        )}
      </div>
      {view.image && (
        <p>
          Image <ImageRef image={view.image} />{' '}
          <button type="button" onClick={() => onChange({ image: '' })}>
            Show every image
          </button>
        </p>
      )}
    </section>
  )
}

function Figures({ summary }: { summary: VulnerabilitySummaryView }) {
  const notFixed = FIX_STATES.filter((s) => s !== 'fixed' && summary.byFixState[s] > 0)
  return (
    <div className="grid cards-3">
      <Card title="Open">
        <p className="big-number" data-testid="vulnerabilities-open">
          {formatNumber(summary.count)}
        </p>
        <ul className="severity-counts">
          {SEVERITIES.filter((s) => summary.bySeverity[s] > 0).map((s) => (
            <li key={s}>
              <SeverityBadge severity={s} /> {formatNumber(summary.bySeverity[s])}
            </li>
          ))}
        </ul>
      </Card>
      <Card title="Fixable">
        <p className="big-number" data-testid="vulnerabilities-fixable">
          {formatNumber(summary.fixable)}
        </p>
        <p className="muted">
          {plural(summary.notFixable, 'vulnerability', 'vulnerabilities')} with no fix known
          {notFixed.length > 0 &&
            `: ${notFixed.map((s) => `${formatNumber(summary.byFixState[s])} ${FIX_STATE_LABEL[s]}`).join(', ')}`}
        </p>
      </Card>
      <Card title="Age">
        <Table
          caption="Open vulnerabilities by days since first seen"
          columns={['First seen', { label: 'Open', num: true }, { label: 'Fixable', num: true }]}
          items={summary.age}
        >
          {(band) => (
            <tr key={band.label}>
              <th scope="row">{band.label} ago</th>
              <td className="num">{formatNumber(band.count)}</td>
              <td className="num">{formatNumber(band.fixable)}</td>
            </tr>
          )}
        </Table>
      </Card>
    </div>
  )
}

function Groups({
  title,
  what,
  groups,
  onPick,
}: {
  title: string
  what: 'image' | 'advisory'
  groups: { total: number; items: VulnerabilityGroupView[] }
  onPick: (key: string) => void
}) {
  const columns: Column[] = [
    what === 'image' ? 'Image' : 'Advisory',
    'Worst',
    { label: 'Open', num: true },
    { label: 'Fixable', num: true },
    { label: what === 'image' ? 'Packages' : 'Images', num: true },
    { label: 'Oldest (days)', num: true },
  ]
  return (
    <Card title={title}>
      <Table caption={title} columns={columns} items={groups.items} empty="None.">
        {(g) => (
          <tr key={g.key}>
            <th scope="row">
              <button type="button" className="link-button" onClick={() => onPick(g.key)}>
                {what === 'image' ? <ImageRef image={g.key} /> : <span className="nowrap">{g.key}</span>}
              </button>
            </th>
            <td>
              <SeverityBadge severity={g.severity} />
            </td>
            <td className="num">{formatNumber(g.count)}</td>
            <td className="num">{formatNumber(g.fixable)}</td>
            <td className="num">{formatNumber(what === 'image' ? g.packages : g.images)}</td>
            <td className="num">{formatNumber(g.oldestDays)}</td>
          </tr>
        )}
      </Table>
      {groups.total > groups.items.length && (
        <p className="muted">
          The worst {groups.items.length} of {formatNumber(groups.total)}.
        </p>
      )}
    </Card>
  )
}

const LIST_COLUMNS: Column[] = [
  'Severity',
  'Advisory',
  'Package',
  'Installed',
  'Fixed in',
  'Image',
  'Target',
  { label: 'Age (days)', num: true },
]

export function VulnerabilitiesPage() {
  usePageTitle('Vulnerabilities')
  const { search } = useLocation()
  const view = useMemo(() => parseView(search), [search])
  const query = useMemo(() => queryOf(view), [view])
  const targets = useApi(endpoints.targets())
  const summary = useApi(endpoints.vulnerabilitySummary(query), { keep: true })
  const list = useApi(
    endpoints.vulnerabilities({ ...query, limit: PAGE_SIZE, offset: (view.page - 1) * PAGE_SIZE }),
    { keep: true },
  )
  const change = (c: Partial<View>) => navigate(viewHref({ ...view, ...c, page: 1 }))

  return (
    <>
      <h1>Vulnerabilities</h1>
      <p className="muted">
        Imported from Trivy and Grype reports (<code>plimsoll import</code>); open ones unless a filter says
        otherwise.
      </p>
      <Filters view={view} targets={targets.data ?? []} onChange={change} />
      <Fetched
        state={summary}
        loading="Loading the summary"
        isEmpty={(s) => s.count === 0}
        empty="No open vulnerability matches these filters. Import a Trivy or Grype report with plimsoll import."
      >
        {(s) => (
          <>
            <Figures summary={s} />
            <div className="grid cards-2">
              <Groups title="By image" what="image" groups={s.images} onPick={(image) => change({ image })} />
              <Groups
                title="By advisory"
                what="advisory"
                groups={s.advisories}
                onPick={(advisory) => change({ advisory })}
              />
            </div>
          </>
        )}
      </Fetched>
      <h2>Worst and oldest first</h2>
      <Fetched
        state={list}
        loading="Loading vulnerabilities"
        isEmpty={(p) => p.items.length === 0}
        empty="None."
      >
        {(p) => (
          <>
            <p role="status" className="result-count">
              {plural(p.total, 'vulnerability', 'vulnerabilities')}
            </p>
            <Table caption="Vulnerabilities" columns={LIST_COLUMNS} items={p.items} testId="vulnerabilities">
              {(v) => (
                <tr key={`${v.target}\u0000${v.findingId}`}>
                  <td>
                    <SeverityBadge severity={v.severity} />
                  </td>
                  <th scope="row">
                    <span className="nowrap">{v.advisory}</span>
                    {v.aliases.length > 0 && <span className="muted"> ({v.aliases.join(', ')})</span>}
                  </th>
                  <td>
                    {v.package}
                    {v.packageType && <span className="muted"> ({v.packageType})</span>}
                  </td>
                  <td>{v.installedVersion}</td>
                  <td>{v.fixedVersion ?? <span className="muted">{FIX_STATE_LABEL[v.fixState]}</span>}</td>
                  <td>
                    <ImageRef image={v.image} />
                  </td>
                  <td>{v.target}</td>
                  <td className="num">{formatNumber(v.ageDays)}</td>
                </tr>
              )}
            </Table>
            <Pagination
              label="Vulnerability pages"
              page={view.page}
              pageSize={PAGE_SIZE}
              total={p.total}
              hrefOf={(n) => viewHref({ ...view, page: n })}
            />
          </>
        )}
      </Fetched>
    </>
  )
}
