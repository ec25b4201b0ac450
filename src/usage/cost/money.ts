/**
 * Money and units for the cost model.
 *
 * Amounts are float64 dollars from the first multiplication to the last sum, and are rounded to cents
 * only when shown (`cents`, `formatMoney`). Why not integer cents or micro-dollars: the prices are far
 * below a cent (OpenCost's default RAM price is $0.004237 per GiB-hour), so rounding each container's
 * cost would lose or invent money that a sum of thousands of containers then shows; and OpenCost itself
 * computes in float64 (`alloc.CPUCost = alloc.CPUCoreHours * node.CostPerCPUHr`), so the same floats
 * are what "agrees with OpenCost to the cent" means. A float64 carries 15-16 significant digits: a
 * bill below $10^9 summed over 10^6 terms drifts by less than 10^-3 of a cent. The one consequence to
 * know: a total is rounded once, from unrounded parts, so it can differ by a cent from the sum of its
 * rounded rows.
 */

/** OpenCost's month: `timeutil.HoursPerMonth = 730.0` (core/pkg/util/timeutil/timeutil.go). */
export const HOURS_PER_MONTH = 730

/** Prices are per GiB-hour; OpenCost divides bytes by 1024 three times. */
export const GIB = 1024 * 1024 * 1024

export const SECONDS_PER_HOUR = 3600

/**
 * Whole cents, half away from zero. The float is first cut to 12 significant digits so that the noise
 * of binary arithmetic (1.005 * 100 = 100.49999999999999) does not decide the rounding.
 */
export function cents(dollars: number): number {
  if (!Number.isFinite(dollars)) throw new RangeError(`not an amount of money: ${dollars}`)
  const c = Number((dollars * 100).toPrecision(12))
  const r = Math.sign(c) * Math.round(Math.abs(c))
  return r === 0 ? 0 : r
}

/** Dollars rounded to the cent, as a number (for JSON). */
export function roundMoney(dollars: number): number {
  return cents(dollars) / 100
}

/** `$1,234.57`, `-$0.25`. */
export function formatMoney(dollars: number, currency = '$'): string {
  const c = cents(dollars)
  const abs = Math.abs(c)
  const whole = Math.floor(abs / 100)
    .toString()
    .replace(/\B(?=(\d{3})+(?!\d))/g, ',')
  const frac = (abs % 100).toString().padStart(2, '0')
  return `${c < 0 ? '-' : ''}${currency}${whole}.${frac}`
}

/** A cost over `hours` as a monthly rate (OpenCost: `cost / dataHours * HoursPerMonth`). */
export function monthly(cost: number, hours: number): number {
  if (!(hours > 0)) throw new RangeError(`a window of ${hours} hours cannot be turned into a month`)
  return (cost / hours) * HOURS_PER_MONTH
}
