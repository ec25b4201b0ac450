/**
 * Whether a reported position sits on the field path it names: at a key of the path
 * (`privileged: true`), or at a list item on the path (`- name: app`, `[a, b]`). A finding about a missing field
 * points at the deepest key that exists, which is still on the path.
 */
export function pointsAtPath(lineText: string, column: number, path: string): boolean {
  const text = lineText.slice(column - 1)
  const keys = path.split(/[.[\]"]+/).filter((k) => k && !/^\d+$/.test(k))
  const atKey = keys.some((k) => text.startsWith(k) || text.startsWith(`"${k}"`) || text.startsWith(`'${k}'`))
  // a block item (`- x`) or a flow item (`[a, x]`)
  const atItem = /[-[,]$/.test(lineText.slice(0, column - 1).trimEnd()) && /\[\d+\]/.test(path)
  return atKey || atItem
}
