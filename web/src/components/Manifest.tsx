/**
 * A resource's YAML with the line numbers of its file, the lines of its open findings highlighted (each
 * line has an anchor, `#L63`). The highlighted lines are also listed in words above the text.
 */
import { useEffect, useMemo } from 'react'
import type { Finding } from '../api'

interface ManifestProps {
  text: string
  /** line of the text's first line in its file */
  firstLine: number
  /** the open findings; those on a line of the text are highlighted */
  findings: Finding[]
  /** a line to bring into view */
  focusLine?: number | undefined
}

export function Manifest({ text, firstLine, findings, focusLine }: ManifestProps) {
  const lines = useMemo(() => text.replace(/\n$/, '').split('\n'), [text])
  const last = firstLine + lines.length - 1
  const byLine = useMemo(() => {
    const map = new Map<number, Finding[]>()
    for (const f of findings)
      if (f.line >= firstLine && f.line <= last) map.set(f.line, [...(map.get(f.line) ?? []), f])
    return map
  }, [findings, firstLine, last])

  useEffect(() => {
    if (focusLine === undefined) return
    document.getElementById(`L${focusLine}`)?.scrollIntoView({ block: 'center' })
  }, [focusLine])

  const marked = [...byLine.keys()].sort((a, b) => a - b)
  return (
    <>
      {marked.length > 0 ? (
        <p>
          Highlighted:{' '}
          {marked.map((n, i) => (
            <span key={n}>
              {i > 0 && ', '}
              <a href={`#L${n}`}>line {n}</a> (
              {byLine
                .get(n)!
                .map((f) => f.checkId)
                .join(', ')}
              )
            </span>
          ))}
          .
        </p>
      ) : (
        <p className="muted">No open finding points at a line of this manifest.</p>
      )}
      {/* biome-ignore lint/a11y/noNoninteractiveTabindex: a scrolling region must take focus to scroll by keyboard */}
      <section className="manifest" aria-label="Manifest" tabIndex={0} data-testid="manifest">
        <pre>
          <code>
            {lines.map((line, i) => {
              const n = firstLine + i
              const hits = byLine.get(n)
              return (
                <span
                  key={n}
                  id={`L${n}`}
                  className={`line${hits ? ' hit' : ''}${n === focusLine ? ' focus' : ''}`}
                  data-line={n}
                  title={hits?.map((f) => `${f.checkId}: ${f.message}`).join('\n')}
                >
                  <span className="ln" aria-hidden="true">
                    {n}
                  </span>
                  {hits ? <mark>{line || ' '}</mark> : line}
                  {'\n'}
                </span>
              )
            })}
          </code>
        </pre>
      </section>
    </>
  )
}
