/**
 * Maturity (`/maturity`): the CNCF Cloud Native Maturity Model's Level 3 as `plimsoll assess --store`
 * judged it. The trend across assessments (Level 3 and each aspect's score), the counts of the chosen
 * assessment against the one before, then that assessment whole: per aspect its standing and its
 * criteria with their evidence (and where it was seen), the answers (self-reported, by whom, when) and
 * the model's sentence; the gaps with advice, what is next (Level 4), what it could not know, and what
 * the collectors could not read. The printable report downloads with the token. Last, the
 * questionnaire: admins answer it, and the answers count from the next assessment. The assessment
 * shown is in the query string (`?assessment=<id>`; the latest without it).
 */
import { useMemo } from 'react'
import {
  ASSESSMENT_ASPECTS,
  type AssessmentCriterionView,
  type AssessmentSummaryView,
  type AssessmentView,
  endpoints,
} from '../api'
import { Card } from '../components/Card'
import { DownloadButton } from '../components/DownloadButton'
import {
  AnswerText,
  ASPECT_TITLES,
  factValueText,
  GRADE_LABELS,
  JUDGED_TEXT,
  Sources,
  STANDING_LABELS,
  StandingBadge,
  scorePercent,
} from '../components/MaturityParts'
import { Questionnaire } from '../components/Questionnaire'
import { SelectField } from '../components/SelectField'
import { Fetched } from '../components/Status'
import { Table } from '../components/Table'
import type { SeriesSpec } from '../components/TimeSeriesChart'
import { byHour, SnapshotChart } from '../components/UsageParts'
import { formatTime, plural } from '../format'
import { href, navigate, useLocation } from '../router'
import { useApi } from '../useApi'
import { usePageTitle } from '../usePageTitle'

const ASPECT_COLORS = [
  'var(--sev-high)',
  'var(--pass)',
  'var(--excepted)',
  'var(--sev-critical)',
  'var(--sev-medium)',
]

/** The trend: Level 3's score and each aspect's, per assessment (the last of an hour standing for it). */
function Trend({ summaries }: { summaries: readonly AssessmentSummaryView[] }) {
  const { hours, series, summary } = useMemo(() => {
    const { hours, points } = byHour(summaries)
    const pct = (n: number) => Math.round(n * 1000) / 10
    const series: SeriesSpec[] = [
      { label: 'Level 3', color: 'var(--accent)', width: 3, values: points.map((p) => pct(p.score)) },
      ...ASSESSMENT_ASPECTS.map((aspect, i) => ({
        label: ASPECT_TITLES[aspect],
        color: ASPECT_COLORS[i]!,
        values: points.map((p) => pct(p.aspects.find((a) => a.aspect === aspect)?.score ?? 0)),
      })),
    ]
    const first = points[0]
    const last = points[points.length - 1]
    const summary =
      first && last
        ? points.length === 1
          ? `1 assessment: Level 3 score ${scorePercent(last.score)} (${STANDING_LABELS[last.standing]}).`
          : `${plural(points.length, 'assessment')}: Level 3 score from ${scorePercent(first.score)} to ${scorePercent(last.score)}; the latest ${scorePercent(last.score)} (${STANDING_LABELS[last.standing]}).`
        : 'No assessment.'
    return { hours, series, summary }
  }, [summaries])
  return (
    <SnapshotChart
      title="Level 3 score by aspect (%)"
      hours={hours}
      series={series}
      summary={summary}
      height={240}
      tooFew={
        <>
          A trend needs two assessments or more: run <code>plimsoll assess --store</code> again (monthly,
          say).
        </>
      }
    />
  )
}

/** The counts of the assessment shown against the one before it. */
function Progress({
  current,
  before,
}: {
  current: AssessmentSummaryView
  before: AssessmentSummaryView | undefined
}) {
  const rows = [
    { label: 'Met', key: 'meets' },
    { label: 'Partly', key: 'partly' },
    { label: 'Not yet', key: 'notYet' },
    { label: 'Unknown', key: 'unknown' },
  ] as const
  const change = (n: number) => (n > 0 ? `+${n}` : n < 0 ? `−${-n}` : '0')
  return (
    <>
      {!before && <p className="muted small">The first assessment: nothing to compare it with yet.</p>}
      <div className="table-wrap">
        <table data-testid="maturity-progress">
          <caption className="visually-hidden">
            Level 3 criteria by standing, against the assessment before
          </caption>
          <thead>
            <tr>
              <th scope="col">Level 3 criteria</th>
              {before && (
                <th scope="col" className="num">
                  {formatTime(before.takenAt).slice(0, 10)}
                </th>
              )}
              <th scope="col" className="num">
                {formatTime(current.takenAt).slice(0, 10)}
              </th>
              {before && (
                <th scope="col" className="num">
                  Change
                </th>
              )}
            </tr>
          </thead>
          <tbody>
            {rows.map((r) => (
              <tr key={r.key} data-testid={`progress-${r.key}`}>
                <th scope="row">{r.label}</th>
                {before && <td className="num">{before[r.key]}</td>}
                <td className="num">{current[r.key]}</td>
                {before && <td className="num">{change(current[r.key] - before[r.key])}</td>}
              </tr>
            ))}
            <tr data-testid="progress-score">
              <th scope="row">Score</th>
              {before && <td className="num">{scorePercent(before.score)}</td>}
              <td className="num">{scorePercent(current.score)}</td>
              {before && (
                <td className="num">
                  {change(Math.round(current.score * 100) - Math.round(before.score * 100))} pts
                </td>
              )}
            </tr>
          </tbody>
        </table>
      </div>
    </>
  )
}

function Quote({ quote }: { quote: AssessmentCriterionView['quote'] }) {
  return (
    <blockquote className="model-quote small">
      <p>“{quote.text}”</p>
      <footer className="muted">
        — CNCF Cloud Native Maturity Model, <cite className="mono">{quote.page}</cite>
      </footer>
    </blockquote>
  )
}

/** One criterion: standing, why, the evidence with its sources, the answer, the model's words, advice. */
function Criterion({ c }: { c: AssessmentCriterionView }) {
  const gap = c.standing === 'partly' || c.standing === 'not-yet'
  return (
    <article className={`criterion criterion-${c.standing}`} data-testid={`criterion-${c.id}`}>
      <h4>
        {c.title} <StandingBadge standing={c.standing} testId="criterion-standing" />
      </h4>
      <p className="muted small">
        {JUDGED_TEXT[c.judged]} · <span className="mono">{c.id}</span>
      </p>
      <p className="why">{c.why}</p>
      {c.evidence.length > 0 && (
        <dl className="evidence" data-testid="criterion-evidence">
          {c.evidence.map((e) => (
            <div key={e.fact}>
              <dt>
                <span className="mono">{e.fact}</span> = <strong>{factValueText(e)}</strong>{' '}
                <span className="muted small">{e.description}</span>
              </dt>
              <dd>
                <Sources sources={e.sources} />
              </dd>
            </div>
          ))}
        </dl>
      )}
      {c.unknownFacts.length > 0 && (
        <p className="small unknown-facts" data-testid="criterion-unknown-facts">
          <strong>Unknown</strong> (no collector gave it):{' '}
          {c.unknownFacts.map((f, i) => (
            <span key={f}>
              {i > 0 && ', '}
              <span className="mono">{f}</span>
            </span>
          ))}
        </p>
      )}
      {c.question && (
        <p className="small" data-testid="criterion-answer">
          <span className="muted">Question</span> {c.question.text}{' '}
          {c.answer ? (
            <>
              <br />
              <span className="muted">Answer</span> <AnswerText answer={c.answer} />
            </>
          ) : (
            <span className="unanswered">(unanswered)</span>
          )}
        </p>
      )}
      <Quote quote={c.quote} />
      {gap && (
        <p className="advice small">
          <strong>Advice:</strong> {c.advice}
        </p>
      )}
    </article>
  )
}

function byIds(a: AssessmentView, ids: readonly string[]): AssessmentCriterionView[] {
  const byId = new Map(a.criteria.map((c) => [c.id, c]))
  return ids.map((id) => byId.get(id)).filter((c) => c !== undefined)
}

function Inputs({ a }: { a: AssessmentView }) {
  const i = a.inputs
  return (
    <dl className="facts" data-testid="assessment-inputs">
      <div>
        <dt>Repositories</dt>
        <dd>{i.repositories.length > 0 ? i.repositories.join(', ') : 'none read (--repo)'}</dd>
      </div>
      <div>
        <dt>Cluster</dt>
        <dd>{i.cluster ?? 'none read (--kubeconfig)'}</dd>
      </div>
      <div>
        <dt>Store</dt>
        <dd>{i.store ?? 'none read (--store)'}</dd>
      </div>
      <div>
        <dt>Answers</dt>
        <dd>
          {i.answers
            ? `${i.answers.origin}, self-reported by ${i.answers.answeredBy} on ${i.answers.answeredAt.slice(0, 10)}`
            : 'none: what only the questionnaire can tell is unknown'}
        </dd>
      </div>
    </dl>
  )
}

function Assessment({ a, id }: { a: AssessmentView; id: number }) {
  const gaps = byIds(a, a.gaps)
  const foundations = byIds(a, a.foundations)
  const next = byIds(a, a.next)
  const unknown = a.criteria.filter((c) => c.level === 3 && c.standing === 'unknown')
  const day = a.takenAt.slice(0, 10)
  return (
    <>
      <div className="section-head">
        <h2 id="assessment-title">Assessment of {formatTime(a.takenAt)}</h2>
        <div className="actions">
          <DownloadButton
            path={`/api/assessments/${id}/report`}
            filename={`plimsoll-assessment-${day}.html`}
            testId="report-html"
          >
            Printable report (HTML)
          </DownloadButton>
          <DownloadButton
            path={`/api/assessments/${id}/report?format=markdown`}
            filename={`plimsoll-assessment-${day}.md`}
            testId="report-markdown"
          >
            Markdown
          </DownloadButton>
        </div>
      </div>
      <p className="level3" data-testid="level3-standing">
        Level 3 (Scale): <StandingBadge standing={a.level3.standing} />{' '}
        <strong>score {scorePercent(a.level3.score)}</strong>{' '}
        <span className="muted">
          ({a.level3.meets} met, {a.level3.partly} partly, {a.level3.notYet} not yet, {a.level3.unknown}{' '}
          unknown of {a.level3.total})
        </span>
      </p>
      <Inputs a={a} />
      {a.problems.length > 0 && (
        <div className="notice usage-gaps" role="note" data-testid="assessment-problems">
          <p>
            <strong>What the collectors could not read</strong>: the criteria that depend on it are unknown.
          </p>
          <ul>
            {a.problems.map((p) => (
              <li key={p}>{p}</li>
            ))}
          </ul>
        </div>
      )}

      <Table
        caption="Level 3 by aspect"
        testId="maturity-aspects"
        columns={[
          'Aspect',
          'Standing',
          { label: 'Score', num: true },
          { label: 'Met', num: true },
          { label: 'Partly', num: true },
          { label: 'Not yet', num: true },
          { label: 'Unknown', num: true },
        ]}
        items={a.aspects}
      >
        {(r) => (
          <tr key={r.aspect} data-testid={`aspect-row-${r.aspect}`}>
            <th scope="row" className="cell-text">
              <a href={`#aspect-${r.aspect}`}>{ASPECT_TITLES[r.aspect]}</a>
            </th>
            <td>
              <StandingBadge standing={r.standing} />
            </td>
            <td className="num">{scorePercent(r.score)}</td>
            <td className="num">{r.meets}</td>
            <td className="num">{r.partly}</td>
            <td className="num">{r.notYet}</td>
            <td className="num">{r.unknown}</td>
          </tr>
        )}
      </Table>

      {ASSESSMENT_ASPECTS.map((aspect) => {
        const r = a.aspects.find((x) => x.aspect === aspect)
        const criteria = a.criteria.filter((c) => c.level === 3 && c.aspect === aspect)
        return (
          <section
            key={aspect}
            id={`aspect-${aspect}`}
            className="aspect"
            aria-labelledby={`aspect-${aspect}-title`}
            data-testid={`aspect-${aspect}`}
          >
            <h3 id={`aspect-${aspect}-title`} className="aspect-title">
              {ASPECT_TITLES[aspect]}{' '}
              {r && (
                <>
                  <StandingBadge standing={r.standing} testId="aspect-standing" />{' '}
                  <span className="muted small">score {scorePercent(r.score)}</span>
                </>
              )}
            </h3>
            {criteria.map((c) => (
              <Criterion key={c.id} c={c} />
            ))}
          </section>
        )
      })}

      <div className="grid cards-2">
        <Card title="Gaps">
          <p className="muted small">Level 3 criteria partly met or not yet, with what would close them.</p>
          {gaps.length === 0 ? (
            <p className="empty">No gap among what is known.</p>
          ) : (
            <ul className="plain-list" data-testid="maturity-gaps">
              {gaps.map((c) => (
                <li key={c.id}>
                  <StandingBadge standing={c.standing} /> <strong>{c.title}</strong>{' '}
                  <span className="muted small">({ASPECT_TITLES[c.aspect]})</span>
                  <div className="small">{c.advice}</div>
                </li>
              ))}
            </ul>
          )}
          {foundations.length > 0 && (
            <>
              <h3>Level 2 foundations not met</h3>
              <ul className="plain-list" data-testid="maturity-foundations">
                {foundations.map((c) => (
                  <li key={c.id}>
                    <StandingBadge standing={c.standing} /> <strong>{c.title}</strong>
                    <div className="small">{c.advice}</div>
                  </li>
                ))}
              </ul>
            </>
          )}
        </Card>
        <Card title="Unknown">
          <p className="muted small">
            Level 3 criteria nothing was seen of, either way: never counted as met, nor as not yet. Give the
            assessment what it lacked (a repository, a cluster, the store, the questionnaire) to know them.
          </p>
          {unknown.length === 0 ? (
            <p className="empty">Nothing unknown.</p>
          ) : (
            <ul className="plain-list" data-testid="maturity-unknown">
              {unknown.map((c) => (
                <li key={c.id}>
                  <StandingBadge standing="unknown" /> <strong>{c.title}</strong>
                  <div className="small muted">{c.why}</div>
                </li>
              ))}
            </ul>
          )}
        </Card>
      </div>

      <Card title="What is next: Level 4 (Improve)">
        <p className="muted small">The Level 4 criteria not met yet, most valuable and least effort first.</p>
        <Table
          caption="What is next"
          testId="maturity-next"
          columns={['Criterion', 'Standing', 'Value', 'Effort', 'Advice']}
          items={next}
          empty="Every Level 4 criterion is met."
        >
          {(c) => (
            <tr key={c.id} data-testid={`next-${c.id}`}>
              <th scope="row" className="cell-text">
                {c.title}
                <div className="muted small">{ASPECT_TITLES[c.aspect]}</div>
              </th>
              <td>
                <StandingBadge standing={c.standing} />
              </td>
              <td>{c.next ? GRADE_LABELS[c.next.value] : '—'}</td>
              <td>{c.next ? GRADE_LABELS[c.next.effort] : '—'}</td>
              <td className="small">{c.advice}</td>
            </tr>
          )}
        </Table>
      </Card>
    </>
  )
}

function NoAssessment() {
  return (
    <div className="empty teach" data-testid="maturity-empty">
      <p>
        No assessment recorded yet: run <code>plimsoll assess --repo . --kubeconfig … --store …</code> (
        <span className="mono">docs/assess.md</span>).
      </p>
      <p className="muted">
        Each run with <code>--store</code> (the same store as this server's) records where the repositories,
        the cluster and this store stand against Level 3 of the CNCF Cloud Native Maturity Model, with the
        evidence. Run it monthly and this page shows the trend.
      </p>
    </div>
  )
}

export function MaturityPage() {
  usePageTitle('Maturity')
  const { search } = useLocation()
  const me = useApi(endpoints.me())
  const admin = me.data?.role === 'admin'
  const summaries = useApi(endpoints.assessments())
  const questions = useApi(endpoints.assessmentQuestions(), { keep: true })
  const list = summaries.data ?? []
  const asked = Number(search.get('assessment'))
  const chosen = list.find((s) => s.id === asked) ?? list[list.length - 1]
  const before = chosen ? list[list.indexOf(chosen) - 1] : undefined
  const assessment = useApi(chosen ? endpoints.assessment(chosen.id) : null)
  const latestId = list[list.length - 1]?.id
  const options = [...list].reverse().map((s) => ({
    value: String(s.id),
    // UTC, as every time on the page; short enough for the filter's width
    label: `${s.takenAt.slice(0, 10)} ${s.takenAt.slice(11, 16)}${s.id === latestId ? ' (latest)' : ''}`,
  }))

  return (
    <>
      <div className="page-head">
        <h1>Maturity</h1>
        {list.length > 1 && chosen && (
          <div className="filter-row">
            <SelectField
              label="Assessment"
              inline
              value={String(chosen.id)}
              options={options}
              onChange={(id) =>
                navigate(href('/maturity', { assessment: Number(id) === latestId ? undefined : id }))
              }
            />
          </div>
        )}
      </div>
      <p className="lead">
        Where the estate stands against Level 3 (Scale) of the CNCF Cloud Native Maturity Model, as{' '}
        <code>plimsoll assess --store</code> judged it: every statement backed by evidence (and where it was
        seen) or marked self-reported; what nothing showed either way is <strong>unknown</strong>, never met.
      </p>
      <Fetched
        state={summaries}
        loading="Loading the assessments"
        isEmpty={(l) => l.length === 0}
        empty={<NoAssessment />}
      >
        {() =>
          chosen && (
            <>
              <div className="grid cards-2">
                <Card title="Trend">
                  <Trend summaries={list} />
                </Card>
                <Card title="Progress">
                  <Progress current={chosen} before={before} />
                </Card>
              </div>
              <section aria-labelledby="assessment-title" data-testid="assessment">
                <Fetched state={assessment} loading="Loading the assessment">
                  {(a) => <Assessment a={a} id={chosen.id} />}
                </Fetched>
              </section>
            </>
          )
        }
      </Fetched>
      <section aria-labelledby="questionnaire-title" data-testid="questionnaire">
        <h2 id="questionnaire-title">Questionnaire</h2>
        <p className="muted small" data-testid="questionnaire-note">
          What no tool can see (people, training, the release process), as the team says it: every answer is
          self-reported, dated and attributed. Answers take effect at the next{' '}
          <code>plimsoll assess --store</code> run (one given an answers file with <code>--answers</code>{' '}
          reads that file instead); the answers an assessment used are shown with its criteria above.
          {!admin && ' Answering needs an admin token.'}
        </p>
        <Fetched state={questions} loading="Loading the questionnaire">
          {(qs) => <Questionnaire questions={qs} admin={admin} onSaved={questions.reload} />}
        </Fetched>
      </section>
    </>
  )
}
