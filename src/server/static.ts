/**
 * The dashboard: the files `vite build` wrote to dist/web, with `index.html` for every other page URL
 * (the app routes in the browser). Hashed assets are cached for good; the page itself never is.
 */
import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { dirname, extname, join, normalize, sep } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { FastifyInstance } from 'fastify'

export const WEB_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'web')

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
}

/** Only what the page needs: its own scripts, styles and API; no framing, no other origins. */
const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'self'",
].join('; ')

export function registerDashboard(app: FastifyInstance, dir: string = WEB_DIR): void {
  // The headers every answer carries are set in app.ts; this one is only for pages.
  app.addHook('onSend', async (_request, reply) => {
    // A page the API makes (an assessment's report) sets its own, as strict for what it is.
    if (
      String(reply.getHeader('content-type') ?? '').startsWith('text/html') &&
      !reply.hasHeader('content-security-policy')
    )
      reply.header('content-security-policy', CSP)
  })
  const built = existsSync(join(dir, 'index.html'))
  app.get('/*', async (request, reply) => {
    if (!built && !request.url.startsWith('/api'))
      return reply
        .code(404)
        .send({ error: 'the dashboard is not built here (npm run build); the API is at /api' })
    const path = decodeURIComponent(request.url.split('?')[0]!)
    if (path === '/api' || path.startsWith('/api/'))
      return reply.code(404).send({ error: `no route for ${request.method} ${path}` })
    const file = normalize(join(dir, path))
    const inside = file.startsWith(dir + sep)
    if (inside && extname(file) !== '') {
      try {
        const body = await readFile(file)
        const immutable = file.startsWith(join(dir, 'assets') + sep)
        return reply
          .type(TYPES[extname(file)] ?? 'application/octet-stream')
          .header('cache-control', immutable ? 'public, max-age=31536000, immutable' : 'no-cache')
          .send(body)
      } catch {
        return reply.code(404).send({ error: `no such file: ${path}` })
      }
    }
    return reply
      .type(TYPES['.html']!)
      .header('cache-control', 'no-cache')
      .send(await readFile(join(dir, 'index.html')))
  })
}
