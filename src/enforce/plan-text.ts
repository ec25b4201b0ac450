/** The enforcement plan as `plimsoll enforce plan` prints it: what is ready, then what is left, worst first. */
import { createColors } from 'picocolors'
import type { EnforcementPlan, PlanCheck } from '../api-types.js'
import { plural } from '../report/plural.js'

export interface PlanTextOptions {
  color: boolean
  /** list every check ready everywhere, not the first few */
  verbose?: boolean
}

/** Checks ready everywhere named before "and N more". */
const READY_SHOWN = 12

export function renderPlan(plan: EnforcementPlan, options: PlanTextOptions): string {
  const c = createColors(options.color)
  const out: string[] = []
  const scan = plan.scan
    ? `the cluster scan of ${plan.scan.startedAt.slice(0, 16).replace('T', ' ')} UTC (${plural(plan.scan.resources, 'object')}${plan.scan.complete ? '' : ', incomplete'})`
    : c.yellow('no cluster scan (run `plimsoll watch`): only admissions are evidence')
  out.push(c.bold(`Enforcement plan for ${plan.cluster}`))
  out.push(
    `From ${scan} and ${plural(plan.admissions, 'admission')} of the last ${plural(plan.window.days, 'day')}.`,
  )
  if (plan.exempt.length > 0) out.push(c.dim(`Exempt, never planned: ${plan.exempt.join(', ')}`))
  out.push('')
  const ready = plan.checks.filter((k) => k.ladder.audit.length === 0 && k.ladder.warn.length === 0)
  const left = plan.checks.filter((k) => k.ladder.audit.length > 0 || k.ladder.warn.length > 0)
  if (ready.length > 0) {
    const shown = options.verbose ? ready : ready.slice(0, READY_SHOWN)
    const more = ready.length - shown.length
    out.push(c.green(`Ready to enforce everywhere (${plural(ready.length, 'check')}):`))
    out.push(
      `  ${shown.map((k) => k.id).join(', ')}${more > 0 ? c.dim(` and ${more} more (--verbose lists them)`) : ''}`,
    )
    out.push('')
  }
  if (left.length > 0) {
    out.push(c.bold(`Work left (${plural(left.length, 'check')}, most would-be denials first):`))
    out.push(
      c.dim(
        '  warn: allowed, and whoever applies it is told why (nothing breaks); audit: allowed and recorded',
      ),
    )
    for (const check of left) out.push(...checkLines(check, c))
  } else if (plan.checks.length > 0) out.push(c.green('Every check is ready to enforce in every namespace.'))
  const p = plan.totals.pairs
  out.push(
    `${plural(p.enforce, 'check × namespace')} ready to enforce, ${p.warn} to warn, ${p.audit} to audit first.`,
  )
  out.push(
    c.dim(
      `Write these modes: plimsoll enforce plan --cluster-name ${plan.cluster} --apply-to enforcement.yaml`,
    ),
  )
  return `${out.join('\n')}\n`
}

function checkLines(check: PlanCheck, c: ReturnType<typeof createColors>): string[] {
  const lines = [
    '',
    `${c.bold(check.id)} ${c.dim(`[${check.severity}]`)} ${check.title}`,
    `  ${plural(check.failing, 'object')} failing, ${plural(check.wouldDeny, 'admission')} it would have denied, ${check.denied} denied`,
  ]
  if (check.ladder.enforce.length > 0)
    lines.push(`  ${c.green('enforce now:')} ${check.ladder.enforce.map(nsName).join(', ')}`)
  for (const row of check.namespaces) {
    if (row.suggested === 'enforce') continue
    const step = row.suggested === 'warn' ? c.yellow('warn') : c.cyan('audit')
    const teams = row.teams.length > 0 ? ` (${row.teams.join(', ')})` : ''
    const examples = row.examples.length > 0 ? c.dim(` e.g. ${row.examples.join(', ')}`) : ''
    lines.push(`  ${step} ${nsName(row.namespace)}${teams}: ${row.reason}${examples}`)
  }
  if (check.off.length > 0) lines.push(c.dim(`  off by a rule: ${check.off.map(nsName).join(', ')}`))
  return lines
}

const nsName = (ns: string) => (ns === '' ? '(cluster-scoped)' : ns)
