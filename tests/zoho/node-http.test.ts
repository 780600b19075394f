import http from 'node:http'
import type { AddressInfo } from 'node:net'
import zlib from 'node:zlib'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { nodeZohoHttp } from '../../api/src/zoho/node-http'

/*
 * The Zoho client's HTTP on Node, against a real server on loopback: what fetch would have given
 * the client (status, headers, decoded text), and a network error, not a short body, when the
 * connection drops. The sync suites run it against the sandbox as well.
 */

const body = JSON.stringify({ data: [{ Deal_Name: 'Überweisung – 日本 "x"', Amount: 12.5 }] })

describe('nodeZohoHttp', () => {
  let server: http.Server
  let base = ''
  const seen: { method?: string; body: string; headers: http.IncomingHttpHeaders }[] = []
  beforeAll(async () => {
    server = http.createServer((req, res) => {
      let got = ''
      req.on('data', (c) => (got += c))
      req.on('end', () => {
        seen.push({ method: req.method, body: got, headers: req.headers })
        if (req.url === '/gzip') {
          res.writeHead(200, { 'content-encoding': 'gzip', 'x-api-credits-remaining': '4990' })
          res.end(zlib.gzipSync(body))
        } else if (req.url === '/redirect') {
          res.writeHead(301, { location: '/gzip' })
          res.end()
        } else if (req.url === '/cut') {
          // Promises more than it sends, then drops the connection.
          res.writeHead(200, { 'content-length': String(Buffer.byteLength(body) * 2) })
          res.write(body)
          setTimeout(() => res.socket?.destroy(), 20)
        } else {
          res.writeHead(429, { 'content-type': 'application/json', 'retry-after': '7' })
          res.end('{"code":"TOO_MANY_REQUESTS"}')
        }
      })
    })
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  })
  afterAll(async () => {
    server.closeAllConnections()
    await new Promise((r) => server.close(r))
  })

  it('asks for compression and hands the client the decoded text and the headers', async () => {
    const res = await nodeZohoHttp(`${base}/gzip`, {
      method: 'GET',
      headers: { authorization: 'Zoho-oauthtoken t' },
    })
    expect(res.status).toBe(200)
    expect(res.ok).toBe(true)
    expect(res.headers.get('X-API-Credits-Remaining')).toBe('4990')
    expect(res.headers.get('retry-after')).toBeNull()
    expect(await res.text()).toBe(body)
    expect(seen.at(-1)!.headers['accept-encoding']).toMatch(/gzip/)
    expect(seen.at(-1)!.headers.authorization).toBe('Zoho-oauthtoken t')
  })

  it('sends a body with its length, and returns error statuses as they came', async () => {
    const res = await nodeZohoHttp(`${base}/limited`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"watch":[]}',
    })
    expect(res.status).toBe(429)
    expect(res.ok).toBe(false)
    expect(res.headers.get('retry-after')).toBe('7')
    expect(await res.text()).toBe('{"code":"TOO_MANY_REQUESTS"}')
    expect(seen.at(-1)).toMatchObject({ method: 'POST', body: '{"watch":[]}' })
  })

  it('follows no redirect', async () => {
    const res = await nodeZohoHttp(`${base}/redirect`, { method: 'GET', headers: {} })
    expect(res.status).toBe(301)
    expect(res.headers.get('location')).toBe('/gzip')
  })

  it('fails, rather than returning part of a body, when the connection drops mid-body', async () => {
    await expect(nodeZohoHttp(`${base}/cut`, { method: 'GET', headers: {} })).rejects.toThrow()
  })

  it('fails when nothing listens', async () => {
    const closed = http.createServer()
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r))
    const port = (closed.address() as AddressInfo).port
    await new Promise((r) => closed.close(r))
    await expect(nodeZohoHttp(`http://127.0.0.1:${port}/`, { method: 'GET', headers: {} })).rejects.toThrow(
      /ECONNREFUSED/,
    )
  })
})
