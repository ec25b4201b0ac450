/**
 * Splits a multi-document YAML stream into documents by its `---` / `...` marker lines, so that each
 * document is parsed on its own and one broken document cannot hide the others. This is the same
 * line-based split the Kubernetes YAML reader performs before decoding.
 */
export interface DocumentChunk {
  /** The document's text, starting at its marker line (the marker itself blanked, so columns stay true). */
  text: string
  /** 0-based line of the chunk's first line in the file. */
  startLine: number
}

function isMarker(source: string, pos: number, lineEnd: number, marker: '---' | '...'): boolean {
  if (!source.startsWith(marker, pos)) return false
  const next = source.charCodeAt(pos + 3)
  return pos + 3 >= lineEnd || next === 32 || next === 9 || next === 13
}

/** Blank, comment-only and directive lines carry no document content. */
function isContentLine(source: string, pos: number, lineEnd: number): boolean {
  for (let i = pos; i < lineEnd; i++) {
    const c = source.charCodeAt(i)
    if (c === 32 || c === 9 || c === 13) continue
    return c !== 35 /* # */ && !(i === pos && c === 37) /* % directive */
  }
  return false
}

export function splitDocuments(source: string): DocumentChunk[] {
  const chunks: DocumentChunk[] = []
  let start = 0
  let startLine = 0
  let hasContent = false
  const close = (end: number) => {
    if (!hasContent) return
    const text = source.slice(start, end)
    chunks.push({ text: text.startsWith('---') ? `   ${text.slice(3)}` : text, startLine })
  }
  let pos = 0
  for (let line = 0; pos <= source.length; line++) {
    const nl = source.indexOf('\n', pos)
    const lineEnd = nl < 0 ? source.length : nl
    if (isMarker(source, pos, lineEnd, '---')) {
      close(pos)
      start = pos
      startLine = line
      hasContent = isContentLine(source, pos + 3, lineEnd)
    } else if (isMarker(source, pos, lineEnd, '...')) {
      close(pos)
      start = lineEnd + 1
      startLine = line + 1
      hasContent = false
    } else if (!hasContent && isContentLine(source, pos, lineEnd)) {
      hasContent = true
    }
    if (nl < 0) break
    pos = nl + 1
  }
  close(source.length)
  return chunks
}
