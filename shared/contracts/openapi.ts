import { z } from 'zod'
import { errorSchema, type EndpointDoc } from './common'

type Json = Record<string, unknown>

function schemaOf(s: z.ZodType, io: 'input' | 'output'): Json {
  const out = z.toJSONSchema(s, { io, unrepresentable: 'any' }) as Json
  delete out.$schema
  return out
}

/** Query/path parameters from a zod object: one per key, required unless optional or defaulted. */
function parameters(obj: z.ZodObject | undefined, where: 'query' | 'path'): Json[] {
  if (!obj) return []
  const shape = obj.shape as Record<string, z.ZodType>
  const json = schemaOf(obj, 'input')
  const props = (json.properties ?? {}) as Record<string, Json>
  const required = new Set((json.required ?? []) as string[])
  return Object.keys(shape).map((name) => {
    const schema = { ...props[name] }
    const description = schema.description
    delete schema.description
    return {
      name,
      in: where,
      required: where === 'path' || required.has(name),
      ...(description ? { description } : {}),
      schema,
    }
  })
}

/** The OpenAPI 3.1 document, generated from the same zod schemas the API validates with. */
export function openApiDocument(endpoints: EndpointDoc[], info: { version: string }): Json {
  const paths: Record<string, Record<string, Json>> = {}
  const error = {
    description: 'Error envelope',
    content: { 'application/json': { schema: schemaOf(errorSchema, 'output') } },
  }
  for (const e of endpoints) {
    const op: Json = {
      tags: [e.tag],
      summary: e.summary,
      ...(e.description ? { description: e.description } : {}),
      ...(e.roles ? { 'x-roles': e.roles } : {}),
      parameters: [...parameters(e.params, 'path'), ...parameters(e.query, 'query')],
      ...(e.body
        ? {
            requestBody: {
              required: true,
              content: { 'application/json': { schema: schemaOf(e.body, 'input') } },
            },
          }
        : {}),
      responses: {
        '200': e.contentType
          ? { description: 'OK', content: { [e.contentType]: { schema: { type: 'string' } } } }
          : {
              description: 'OK',
              content: { 'application/json': { schema: e.response ? schemaOf(e.response, 'output') : {} } },
            },
        '400': error,
        '401': error,
        '403': error,
        '404': error,
      },
      security: [{ session: [] }, { widgetToken: [] }],
    }
    // Paths are relative to the /api/v1 server; accept full paths and :param segments too.
    const path = e.path.replace(/^\/api\/v1(?=\/)/, '').replace(/:(\w+)/g, '{$1}')
    paths[path] = { ...(paths[path] ?? {}), [e.method]: op }
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Pipeline Pulse API',
      version: info.version,
      description:
        'Zoho CRM pipeline analytics in the base currency (SGD by default). Amounts are exact decimal strings; ' +
        'dates are YYYY-MM-DD in the org time zone. Every figure covers the deals the caller may see.',
    },
    servers: [{ url: '/api/v1' }],
    components: {
      securitySchemes: {
        session: { type: 'apiKey', in: 'cookie', name: 'pp_session' },
        widgetToken: { type: 'http', scheme: 'bearer' },
      },
    },
    paths,
  }
}
