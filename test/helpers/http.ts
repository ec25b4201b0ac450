/** One HTTP request to a test server, its answer decoded (JSON when it is JSON). */
export interface Answer {
  status: number
  body: Record<string, unknown>
  headers: Headers
  text: string
}

export async function request(
  base: string,
  path: string,
  init: RequestInit & { token?: string } = {},
): Promise<Answer> {
  const headers = new Headers(init.headers)
  if (init.token) headers.set('authorization', `Bearer ${init.token}`)
  if (init.body && !headers.has('content-type')) headers.set('content-type', 'application/json')
  const res = await fetch(`${base}${path}`, { ...init, headers })
  const text = await res.text()
  let body: unknown
  try {
    body = text ? JSON.parse(text) : undefined
  } catch {
    body = text
  }
  return { status: res.status, body: body as Record<string, unknown>, headers: res.headers, text }
}
