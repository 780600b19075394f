import { Hono } from 'hono'
import type { AppEnv } from '../http/types'
import { ENDPOINTS } from '#shared/contracts/index'
import { openApiDocument } from '#shared/contracts/openapi'
import pkg from '../../../package.json'

let cached: Record<string, unknown> | null = null
const documentOnce = () => (cached ??= openApiDocument(ENDPOINTS, { version: pkg.version }))

const esc = (s: unknown) => String(s).replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`)

type Op = {
  tags: string[]
  summary: string
  description?: string
  parameters: {
    name: string
    in: string
    required: boolean
    description?: string
    schema: Record<string, unknown>
  }[]
  requestBody?: { content: Record<string, { schema: unknown }> }
  responses: Record<string, { content?: Record<string, { schema: unknown }> }>
  'x-roles'?: string[]
}

const typeOf = (s: Record<string, unknown>): string =>
  s.enum
    ? (s.enum as unknown[]).map(String).join(' | ')
    : String(s.type ?? (s.format ? s.format : 'any')) + (s.format ? ` (${s.format})` : '')

/** A self-contained HTML rendering of the OpenAPI document: no scripts, no CDN, works offline. */
export function docsHtml(doc: Record<string, unknown>): string {
  const paths = doc.paths as Record<string, Record<string, Op>>
  const sections = Object.entries(paths)
    .flatMap(([path, ops]) => Object.entries(ops).map(([method, op]) => ({ path, method, op })))
    .map(({ path, method, op }) => {
      const params = op.parameters.length
        ? `<table><tr><th>Parameter</th><th>In</th><th>Type</th><th>Required</th><th>Description</th></tr>${op.parameters
            .map(
              (p) =>
                `<tr><td><code>${esc(p.name)}</code></td><td>${esc(p.in)}</td><td>${esc(typeOf(p.schema))}</td><td>${
                  p.required ? 'yes' : ''
                }</td><td>${esc(p.description ?? '')}</td></tr>`,
            )
            .join('')}</table>`
        : ''
      const ok = op.responses['200']?.content
      const body = op.requestBody
        ? `<details><summary>Request body</summary><pre>${esc(JSON.stringify(Object.values(op.requestBody.content)[0]?.schema, null, 2))}</pre></details>`
        : ''
      const response = ok
        ? `<details><summary>Response ${esc(Object.keys(ok)[0])}</summary><pre>${esc(
            JSON.stringify(Object.values(ok)[0]?.schema, null, 2),
          )}</pre></details>`
        : ''
      const id = `${method}-${path}`.replace(/[^a-z0-9]+/gi, '-')
      return `<section id="${esc(id)}"><h3><span class="m ${esc(method)}">${esc(method.toUpperCase())}</span> <code>/api/v1${esc(path)}</code></h3>
<p>${esc(op.summary)}${op['x-roles'] ? ` <em>(roles: ${esc(op['x-roles'].join(', '))})</em>` : ''}</p>${
        op.description ? `<p class="d">${esc(op.description)}</p>` : ''
      }${params}${body}${response}</section>`
    })
  const info = doc.info as { title: string; version: string; description: string }
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${esc(info.title)} ${esc(info.version)}</title><style>
body{font:15px/1.5 system-ui,sans-serif;max-width:980px;margin:2rem auto;padding:0 1rem;color:#1d2433}
section{border-top:1px solid #dde2ea;padding:.5rem 0}h3{margin:.4rem 0;font-size:1.05rem}
.m{display:inline-block;min-width:3.2rem;text-align:center;border-radius:4px;color:#fff;font-size:.8rem;padding:.1rem .3rem}
.get{background:#2f7d4f}.put{background:#a86a12}.post{background:#2c5fa8}.delete{background:#a83232}
table{border-collapse:collapse;width:100%;font-size:.9rem}td,th{border:1px solid #dde2ea;padding:.25rem .4rem;text-align:left;vertical-align:top}
pre{background:#f5f7fa;padding:.6rem;overflow:auto;font-size:.8rem}.d{color:#4a5568}summary{cursor:pointer}
</style></head><body><h1>${esc(info.title)} <small>${esc(info.version)}</small></h1><p>${esc(info.description)}</p>
<p>Machine-readable: <a href="openapi.json">openapi.json</a> (OpenAPI 3.1). Errors: <code>{"error":{"code","message","requestId"}}</code>.</p>
${sections.join('\n')}</body></html>`
}

export const openapi = new Hono<AppEnv>()
  .get('/openapi.json', (c) => c.json(documentOnce()))
  .get('/docs', (c) => c.html(docsHtml(documentOnce())))
