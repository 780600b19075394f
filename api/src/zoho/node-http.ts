import http from 'node:http'
import https from 'node:https'
import zlib from 'node:zlib'
import type { ZohoHttp, ZohoHttpResponse } from './client'

/*
 * The Zoho client's HTTP on Node: node:http(s) with keep-alive agents instead of fetch. A full
 * sync reads one ~116 KB Deals page per call; fetch's Response and web-stream machinery cost the
 * sync about 1 ms of CPU per page more than this (measured over 500 pages from the sandbox: about
 * 1.1 s against 0.4 s), on a 2-core server where the sync, PostgreSQL and Zoho's stand-in share the
 * CPU. Workers keep fetch (ZohoClientOptions.fetch).
 *
 * Unlike fetch it follows no redirect (Zoho's API answers the wrong data centre with an error, not a
 * redirect): a 3xx is returned as it came, and the client reports it. gzip and deflate are asked
 * for and decoded, as fetch does.
 */

const agents = {
  'http:': new http.Agent({ keepAlive: true }),
  'https:': new https.Agent({ keepAlive: true }),
}

/** No byte for this long while waiting for headers or body: a network error (fetch waits 300 s). */
const IDLE_TIMEOUT_MS = 120_000

export const nodeZohoHttp: ZohoHttp = (url, init) =>
  new Promise<ZohoHttpResponse>((resolve, reject) => {
    const target = new URL(url)
    const mod = target.protocol === 'https:' ? https : http
    const agent = agents[target.protocol as keyof typeof agents]
    if (!agent) return reject(new TypeError(`Unsupported protocol: ${target.protocol}`))
    const headers: Record<string, string> = { 'accept-encoding': 'gzip, deflate', ...init.headers }
    if (init.body !== undefined) headers['content-length'] = String(Buffer.byteLength(init.body))
    const req = mod.request(target, { method: init.method ?? 'GET', headers, agent }, (res) => {
      const encoding = String(res.headers['content-encoding'] ?? '').toLowerCase()
      const chunks: Buffer[] = []
      let failed = false
      const fail = (e: Error) => {
        if (failed) return
        failed = true
        reject(e)
      }
      res.on('data', (c: Buffer) => chunks.push(c))
      // Node reports a connection dropped mid-body as 'aborted' (and an error on the response).
      res.on('aborted', () => fail(new Error('connection closed before the body was complete')))
      res.on('error', fail)
      res.on('end', () => {
        if (failed) return
        try {
          const raw = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)
          const body =
            encoding === 'gzip' || encoding === 'x-gzip'
              ? zlib.gunzipSync(raw)
              : encoding === 'deflate'
                ? zlib.inflateSync(raw)
                : raw
          const text = body.toString('utf8')
          const status = res.statusCode ?? 0
          resolve({
            status,
            ok: status >= 200 && status < 300,
            headers: {
              get(name: string) {
                const v = res.headers[name.toLowerCase()]
                return v === undefined ? null : Array.isArray(v) ? v.join(', ') : v
              },
            },
            text: () => Promise.resolve(text),
          })
        } catch (e) {
          fail(e as Error)
        }
      })
    })
    req.setTimeout(IDLE_TIMEOUT_MS, () =>
      req.destroy(new Error(`no response for ${IDLE_TIMEOUT_MS / 1000} s`)),
    )
    req.on('error', reject)
    req.end(init.body)
  })
