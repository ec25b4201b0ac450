/**
 * Lines over days (uPlot), with its text alternatives: a one-sentence summary as the chart's label and
 * under it, and the numbers as a table behind a disclosure. Redrawn for the theme and the width.
 */
import { useEffect, useId, useRef } from 'react'
import uPlot from 'uplot'
import 'uplot/dist/uPlot.min.css'
import { formatNumber } from '../format'
import { resolveColor, useTheme } from '../theme'

export interface SeriesSpec {
  label: string
  /** any CSS colour, custom properties included */
  color: string
  values: number[]
  dash?: number[]
  width?: number
}

interface TimeSeriesChartProps {
  title: string
  /** YYYY-MM-DD (or YYYY-MM-DDTHH with `step: 'hour'`), one per value */
  days: string[]
  /** what one point is: a UTC day (default) or a UTC hour */
  step?: 'day' | 'hour'
  series: SeriesSpec[]
  /** what the chart shows, in words */
  summary: string
  height?: number
}

const toSeconds = (point: string) =>
  Date.parse(point.length > 10 ? `${point}:00:00Z` : `${point}T00:00:00Z`) / 1000
const dayOf = (seconds: number) => new Date(seconds * 1000).toISOString().slice(0, 10)
const hourOf = (seconds: number) =>
  `${new Date(seconds * 1000).toISOString().slice(0, 13).replace('T', ' ')}:00`

export function TimeSeriesChart({
  title,
  days,
  step = 'day',
  series,
  summary,
  height = 260,
}: TimeSeriesChartProps) {
  const host = useRef<HTMLDivElement>(null)
  const { theme } = useTheme()
  const captionId = useId()

  useEffect(() => {
    const el = host.current
    if (!el || days.length === 0) return
    void theme // colours are read from the styles, which follow the theme
    const text = resolveColor('var(--muted)')
    const grid = resolveColor('var(--grid)')
    const axis = { stroke: text, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 } }
    const opts: uPlot.Options = {
      width: Math.max(200, el.clientWidth),
      height,
      tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), 'Etc/UTC'),
      scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, Math.max(1, Math.ceil(max * 1.1))] } },
      axes: [axis, { ...axis, size: 48 }],
      cursor: { drag: { x: false, y: false, setScale: false } },
      series: [
        {
          label: step === 'hour' ? 'Hour' : 'Day',
          value: (_u, v) => (v == null ? '' : step === 'hour' ? hourOf(v) : dayOf(v)),
        },
        ...series.map((s) => ({
          label: s.label,
          stroke: resolveColor(s.color),
          width: s.width ?? 2,
          ...(s.dash ? { dash: s.dash } : {}),
          points: { show: false },
          value: (_u: uPlot, v: number | null) => (v == null ? '' : formatNumber(v)),
        })),
      ],
    }
    const data: uPlot.AlignedData = [days.map(toSeconds), ...series.map((s) => s.values)]
    const plot = new uPlot(opts, data, el)
    const observer = new ResizeObserver(() => plot.setSize({ width: Math.max(200, el.clientWidth), height }))
    observer.observe(el)
    return () => {
      observer.disconnect()
      plot.destroy()
    }
  }, [days, step, series, height, theme])

  return (
    <figure className="chart">
      <figcaption id={captionId}>{title}</figcaption>
      <div ref={host} className="chart-plot" role="img" aria-label={`${title}: ${summary}`} />
      <p className="chart-summary">{summary}</p>
      <details className="chart-data">
        <summary>Show the data as a table</summary>
        <div className="table-wrap">
          <table>
            <caption>
              {title}, by {step}
            </caption>
            <thead>
              <tr>
                <th scope="col">{step === 'hour' ? 'Hour (UTC)' : 'Day'}</th>
                {series.map((s) => (
                  <th scope="col" key={s.label} className="num">
                    {s.label}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {days.map((day, i) => (
                <tr key={day}>
                  <th scope="row">{step === 'hour' ? hourOf(toSeconds(day)) : day}</th>
                  {series.map((s) => (
                    <td key={s.label} className="num">
                      {formatNumber(s.values[i] ?? 0)}
                    </td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </details>
    </figure>
  )
}
