/**
 * A button that downloads a file the API makes (a report). The request carries the token as every other
 * does (a plain link would not: the token is a header, not a cookie), then the answer is saved from a
 * Blob URL under `filename`. Saved, not opened in a tab: a page opened from a Blob URL would take on the
 * dashboard's strict Content-Security-Policy, which refuses the report's own styles.
 */
import { fetchFile } from '../api'
import { useAction } from '../useAction'
import { ErrorMessage } from './Status'

interface DownloadButtonProps {
  /** the API path, e.g. /api/assessments/3/report */
  path: string
  filename: string
  children: string
  testId?: string
}

export function DownloadButton({ path, filename, children, testId }: DownloadButtonProps) {
  const { busy, error, run } = useAction()
  const download = () =>
    run(async () => {
      const blob = await fetchFile(path)
      const url = URL.createObjectURL(blob)
      const a = document.createElement('a')
      a.href = url
      a.download = filename
      document.body.append(a)
      a.click()
      a.remove()
      // The download has its own copy once it started; a minute is plenty.
      setTimeout(() => URL.revokeObjectURL(url), 60_000)
    })
  return (
    <>
      <button type="button" onClick={download} disabled={busy} data-testid={testId}>
        {busy ? 'Downloading…' : children}
      </button>
      {error && <ErrorMessage error={error} />}
    </>
  )
}
