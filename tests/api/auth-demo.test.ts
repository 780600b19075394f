import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { AddressInfo } from 'node:net'
import { serve, type ServerType } from '@hono/node-server'
import type { Database } from '../../api/src/db/client'
import { runOrgSync } from '../../api/src/sync/run'
import { createTestDatabase, testDbKind } from '../helpers/db'
import { createTestApp } from '../helpers/app'
import { connectSandbox, sandboxConfig, type Harness } from '../sync/setup'

/** Cookies per host, redirects followed by hand: a browser's sign-in, hop by hop. */
class Browser {
  jar = new Map<string, string>()
  async get(url: string) {
    const host = new URL(url).host
    const res = await fetch(url, {
      redirect: 'manual',
      headers: {
        cookie: [...this.jar]
          .filter(([k]) => k.startsWith(`${host} `))
          .map(([k, v]) => `${k.split(' ')[1]}=${v}`)
          .join('; '),
      },
    })
    for (const line of res.headers.getSetCookie()) {
      const [pair] = line.split(';')
      const i = pair!.indexOf('=')
      const value = pair!.slice(i + 1).trim()
      const key = `${host} ${pair!.slice(0, i).trim()}`
      if (value === '' || /max-age=0\b/i.test(line)) this.jar.delete(key)
      else this.jar.set(key, value)
    }
    return res
  }
  /** Follows redirects; returns the Location of each hop on our own origin. */
  async follow(url: string, origin: string): Promise<string[]> {
    const ours: string[] = []
    for (let i = 0; i < 10; i++) {
      const res = await this.get(url)
      const loc = res.headers.get('location')
      if (res.status < 300 || res.status >= 400 || !loc) break
      if (url.startsWith(origin)) ours.push(loc)
      const nextUrl = new URL(loc, url)
      // The app's own pages after sign-in are the web view: stop there, as a browser would render it.
      if (nextUrl.origin === origin && !nextUrl.pathname.startsWith('/auth/')) break
      if (nextUrl.origin !== origin && !/^http:\/\/127\.0\.0\.1:/.test(nextUrl.origin)) break
      url = nextUrl.toString()
    }
    return ours
  }
}

const unescapeHtml = (s: string) =>
  s.replace(
    /&(amp|lt|gt|quot|#39);/g,
    (_, e: string) => ({ amp: '&', lt: '<', gt: '>', quot: '"', '#39': "'" })[e]!,
  )

/** The sign-in links of the demo page, as the browser resolves them. */
const userLinks = (html: string) =>
  [...html.matchAll(/<a class="user" href="([^"]+)"/g)].map((m) => unescapeHtml(m[1]!))

describe(`the demo sign-in page (${testDbKind})`, () => {
  let database: Database
  let h: Harness
  let server: ServerType
  let base: string

  beforeAll(async () => {
    database = await createTestDatabase()
    h = await connectSandbox(database, { deals: 20 })
    const synced = await runOrgSync(h.ctx, h.orgId, { trigger: 'manual', historyBudget: 0 })
    expect(synced.status, synced.error).toBe('succeeded')
    // Demo mode: the Node entry points the OAuth client at the sandbox and keeps demoMode on.
    const config = { ...sandboxConfig(h.sb), demoMode: true }
    const demo = createTestApp(database, {}, { config })
    ;({ server, base } = await new Promise<{ server: ServerType; base: string }>((resolve) => {
      const s = serve({ fetch: demo.app.fetch, port: 0, hostname: '127.0.0.1' }, (info: AddressInfo) =>
        resolve({ server: s, base: `http://127.0.0.1:${info.port}` }),
      )
    }))
  })
  afterAll(async () => {
    server?.close()
    await h?.close()
    await database?.close()
  })

  const signInFrom = async (query: string) => {
    const res = await fetch(`${base}/auth/demo${query}`)
    expect(res.status).toBe(200)
    const html = await res.text()
    const rep = h.sb.users.reps.find((u) => u.status === 'active')!
    const link = userLinks(html).find((l) => l.includes(encodeURIComponent(rep.email)))!
    expect(link).toBeTruthy()
    const b = new Browser()
    const hops = await b.follow(new URL(link, base).toString(), base)
    const me = await b.get(`${base}/api/v1/me`)
    expect(me.status).toBe(200)
    expect(await me.json()).toMatchObject({ userId: rep.id })
    return { html, landedOn: hops.at(-1) }
  }

  it('returns to the view the user came from after signing in', async () => {
    const { landedOn } = await signInFrom(`?next=${encodeURIComponent('/deals?stage=Won&owner=me')}`)
    expect(landedOn).toBe('/deals?stage=Won&owner=me')
  })

  it('refuses a next that leaves the app (absolute or protocol-relative): the home view instead', async () => {
    for (const next of ['//evil.example', 'https://evil.example/x', '/\\evil.example', 'evil.example']) {
      const { html, landedOn } = await signInFrom(`?next=${encodeURIComponent(next)}`)
      expect(html).not.toContain('evil.example')
      expect(landedOn).toBe('/')
    }
  })

  it('without next, the home view as before', async () => {
    expect((await signInFrom('')).landedOn).toBe('/')
  })

  it('names its own icon, so the browser does not ask for a /favicon.ico that is not there', async () => {
    const res = await fetch(`${base}/auth/demo`)
    const html = await res.text()
    const href = /<link rel="icon"[^>]* href="([^"]+)"/.exec(html)?.[1]
    expect(href, 'an icon link').toBeTruthy()
    const icon = await fetch(new URL(unescapeHtml(href!), `${base}/auth/demo`))
    expect(icon.status).toBe(200)
    expect(icon.headers.get('content-type')).toMatch(/^image\//)
    expect(await icon.text()).toMatch(/^<svg [^>]*>.*<\/svg>$/s)
    // The page's policy lets the browser load it.
    expect(res.headers.get('content-security-policy')).toMatch(/img-src[^;]* data:/)

    // The sign-in error pages are rendered the same way.
    const err = await fetch(`${base}/auth/zoho/callback?error=access_denied`)
    expect(err.status).toBe(401)
    expect(await err.text()).toContain(`<link rel="icon" type="image/svg+xml" href="${href}">`)
  })
})
