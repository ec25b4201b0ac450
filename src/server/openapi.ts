/** The OpenAPI 3.1 document, built from the routes' own schemas so it cannot drift from what is served. */
import { toolInfo } from '../version.js'
import { ERROR_SCHEMA, type JsonSchema, type Route } from './route.js'

function parameters(location: 'query' | 'path', schema: JsonSchema | undefined) {
  const props = (schema?.properties ?? {}) as Record<string, JsonSchema>
  const required = new Set((schema?.required as string[] | undefined) ?? [])
  return Object.entries(props).map(([name, s]) => ({
    name,
    in: location,
    required: location === 'path' || required.has(name),
    ...(s.description ? { description: s.description } : {}),
    schema: s,
  }))
}

function content(schema: JsonSchema) {
  return schema.type === 'null' ? undefined : { 'application/json': { schema } }
}

export function openapiDocument(routes: readonly Route[]) {
  const paths: Record<string, Record<string, unknown>> = {}
  for (const r of routes) {
    const path = r.url.replace(/:([A-Za-z]+)/g, '{$1}')
    const responses: Record<string, unknown> = {}
    for (const [code, schema] of Object.entries(r.schema.response)) {
      const body = content(schema)
      responses[code] = {
        description: code.startsWith('2') ? 'OK' : 'error',
        ...(body ? { content: body } : {}),
      }
    }
    responses['400'] = { description: 'invalid request', content: content(ERROR_SCHEMA) }
    if (r.access !== 'public') {
      responses['401'] = { description: 'no valid token', content: content(ERROR_SCHEMA) }
      responses['403'] = { description: 'the token may not do this', content: content(ERROR_SCHEMA) }
    }
    paths[path] ??= {}
    paths[path]![r.method.toLowerCase()] = {
      summary: r.summary,
      tags: [r.tag],
      ...(r.access === 'public' ? { security: [] } : {}),
      ...(r.access === 'admin' ? { description: 'Needs an admin token.' } : {}),
      parameters: [...parameters('path', r.schema.params), ...parameters('query', r.schema.querystring)],
      ...(r.schema.body ? { requestBody: { required: true, content: content(r.schema.body) } } : {}),
      responses,
    }
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Plimsoll API',
      version: toolInfo().version,
      description:
        'Posture, findings, runs and the exceptions register of a Plimsoll store. Authenticate with `Authorization: Bearer <token>` (`plimsoll token create`); changes need an admin token.',
    },
    components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    security: [{ bearer: [] }],
    paths,
  }
}
