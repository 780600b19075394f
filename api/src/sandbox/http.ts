import type { AddressInfo } from 'node:net'
import { serve, type HttpBindings } from '@hono/node-server'
import type { Context, Hono } from 'hono'

export type SandboxEnv = { Bindings: HttpBindings }

export interface Listener {
  url: string
  close(): Promise<void>
}

/** Serves a Hono app over real HTTP on 127.0.0.1 (port 0 = a free port). */
export function listen(app: Hono<SandboxEnv>, port = 0): Promise<Listener> {
  return new Promise((resolve, reject) => {
    const server = serve({ fetch: app.fetch, port, hostname: '127.0.0.1' }, (info: AddressInfo) => {
      resolve({
        url: `http://127.0.0.1:${info.port}`,
        close: () =>
          new Promise<void>((done) => {
            const s = server as unknown as { close(cb: () => void): void; closeAllConnections?(): void }
            s.close(() => done())
            s.closeAllConnections?.()
          }),
      })
    })
    server.once('error', reject)
  })
}

/** Query parameters as a plain object (last value wins). */
export function queryOf(url: string): Record<string, string> {
  return Object.fromEntries(new URL(url).searchParams)
}

/** Sends the first half of the response body, then destroys the socket (a connection dropped mid-body). */
export async function dropMidBody(c: Context<any>): Promise<void> {
  const out = c.env?.outgoing
  if (!out || !c.res.body) return
  const text = await c.res.clone().text()
  if (text.length < 2) return
  const headers: Record<string, string> = {}
  c.res.headers.forEach((v, k) => (headers[k] = v))
  headers['content-length'] = String(Buffer.byteLength(text))
  out.writeHead(c.res.status, headers)
  out.write(text.slice(0, Math.floor(text.length / 2)))
  await new Promise((r) => setTimeout(r, 10))
  out.destroy()
  c.res = new Response(null, { headers: { 'x-hono-already-sent': 'true' } })
}
