import { createHmac, randomBytes } from 'node:crypto'
import { Hono, type Context } from 'hono'
import { E, zohoError } from './crm-errors'
import {
  currenciesBody,
  fieldsBody,
  layoutsBody,
  orgBody,
  pipelinesBody,
  profilesBody,
  rolesBody,
  territoriesBody,
  userBody,
  usersOfType,
} from './crm-meta'
import type { Faults } from './faults'
import { dropMidBody, type SandboxEnv } from './http'
import { zohoTime, type OrgData, type SandboxUser } from './org'
import type { Cursor, DealStore, SortBy } from './store'
import { scopeCovers, type AccessToken, type TokenStore } from './tokens'
import type { DealRecord } from './generator'
import type { Watch } from './watch'

/** The sandbox Zoho CRM REST API v8 (mounted at /crm/v8). */
export interface CrmDeps {
  org: OrgData
  store: DealStore
  tokens: TokenStore
  faults: Faults
  watch: Watch
  apiDomain: () => string
  now: () => number
  dailyCredits: number
  credits: { used: number }
  /** `offset`: a page_token resumes at the count of records served, not after the last one. */
  pageTokens: { ttlMs: number; notBefore: number; recordLimit: number; offset: boolean }
  /**
   * Stage_History fields the org's list lacks, whether refusing one names it, and whether every
   * call is refused as for an invalid deal id (SandboxOptions).
   */
  stageHistory?: { lacks: string[]; namesField: boolean; refusesIds?: boolean }
}

type CrmEnv = SandboxEnv & { Variables: { token: AccessToken; user: SandboxUser } }
type C = Context<CrmEnv>

const MAX_PER_PAGE = 200
const MAX_FIELDS = 50
const DISCRETE_LIMIT = 2000
const SORTS: SortBy[] = ['id', 'Created_Time', 'Modified_Time']

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

export function crmApp(d: CrmDeps): Hono<CrmEnv> {
  const app = new Hono<CrmEnv>()
  const tokenKey = randomBytes(32)

  const isAdmin = (u: SandboxUser) => u.profile === 'Administrator'
  const canSee = (u: SandboxUser, deal: DealRecord) =>
    isAdmin(u) || (deal.Owner as { id: string } | null)?.id === u.id

  // Auth, credits and faults for every CRM call.
  app.use('/crm/v8/*', async (c, next) => {
    const f = d.faults.applies('crm') ? d.faults.config : {}
    if (f.latencyMs) await sleep(f.latencyMs)
    if (d.credits.used > d.dailyCredits / 2)
      c.header('X-API-CREDITS-REMAINING', String(Math.max(0, d.dailyCredits - d.credits.used)))
    const auth = c.req.header('authorization') ?? ''
    if (!auth.startsWith('Zoho-oauthtoken ') || auth.length <= 'Zoho-oauthtoken '.length)
      return E.authFailure(c)
    const raw = auth.slice('Zoho-oauthtoken '.length).trim()
    const token = d.tokens.lookup(raw)
    if (!token) return E.invalidToken(c)
    token.uses++
    if (f.expireTokenEveryCalls && token.uses > f.expireTokenEveryCalls) {
      d.tokens.access.delete(raw)
      return E.invalidToken(c)
    }
    const user = d.org.users.all.find((u) => u.id === token.userId)
    if (!user || user.status !== 'active') return E.invalidToken(c)
    // Authenticated calls spend one credit each (list pages of up to 200 records included).
    d.credits.used++
    if (d.credits.used > d.dailyCredits / 2)
      c.header('X-API-CREDITS-REMAINING', String(Math.max(0, d.dailyCredits - d.credits.used)))
    if (d.credits.used > d.dailyCredits) return E.tooMany(c)
    const fate = d.faults.applies('crm') ? d.faults.next() : 'none'
    if (fate === '429') return E.tooMany(c)
    if (fate === '5xx') return E.internal(c)
    c.set('token', token)
    c.set('user', user)
    await next()
    if (fate === 'drop') await dropMidBody(c)
  })

  const need = (c: C, scope: string) => (scopeCovers(c.var.token.scopes, scope) ? null : E.scope(c))

  const intParam = (c: C, name: string, def: number, max?: number): number | Response => {
    const raw = c.req.query(name)
    if (raw === undefined) return def
    const n = Number(raw)
    if (!/^\d+$/.test(raw) || n < 1 || (max !== undefined && n > max))
      return E.invalid(c, name, `invalid value for ${name}`)
    return n
  }

  const pageOf = <T>(c: C, rows: T[], key: string, perPage: number, page: number) => {
    const slice = rows.slice((page - 1) * perPage, page * perPage)
    if (!slice.length) return c.body(null, 204)
    return c.json({
      [key]: slice,
      info: { per_page: perPage, count: slice.length, page, more_records: rows.length > page * perPage },
    })
  }

  app.get('/crm/v8/org', (c) => need(c, 'ZohoCRM.org.READ') ?? c.json(orgBody(d.org)))

  app.get(
    '/crm/v8/org/currencies',
    (c) => need(c, 'ZohoCRM.settings.currencies.READ') ?? c.json(currenciesBody(d.org)),
  )

  app.get('/crm/v8/users', (c) => {
    const denied = need(c, 'ZohoCRM.users.READ')
    if (denied) return denied
    const users = usersOfType(d.org, c.req.query('type') ?? 'AllUsers', c.var.user)
    if (!users) return E.invalid(c, 'type', 'invalid value for type')
    const perPage = intParam(c, 'per_page', MAX_PER_PAGE, MAX_PER_PAGE)
    const page = intParam(c, 'page', 1)
    if (perPage instanceof Response) return perPage
    if (page instanceof Response) return page
    const ids = c.req.query('ids')?.split(',')
    const picked = ids ? users.filter((u) => ids.includes(u.id)) : users
    return pageOf(
      c,
      picked.map((u) => userBody(d.org, u)),
      'users',
      perPage,
      page,
    )
  })

  app.get('/crm/v8/users/:id', (c) => {
    const denied = need(c, 'ZohoCRM.users.READ')
    if (denied) return denied
    const u = d.org.users.all.find((x) => x.id === c.req.param('id'))
    if (!u) return c.body(null, 204)
    return c.json({ users: [userBody(d.org, u)] })
  })

  app.get('/crm/v8/settings/roles', (c) => need(c, 'ZohoCRM.settings.roles.READ') ?? c.json(rolesBody(d.org)))
  app.get(
    '/crm/v8/settings/profiles',
    (c) => need(c, 'ZohoCRM.settings.profiles.READ') ?? c.json(profilesBody(d.org)),
  )
  app.get(
    '/crm/v8/settings/territories',
    (c) => need(c, 'ZohoCRM.settings.territories.READ') ?? c.json(territoriesBody(d.org)),
  )

  const moduleParam = (c: C): Response | null => {
    const m = c.req.query('module')
    if (!m) return E.missing(c, 'module')
    return m === 'Deals' ? null : E.invalidModule(c)
  }

  app.get(
    '/crm/v8/settings/layouts',
    (c) => need(c, 'ZohoCRM.settings.layouts.READ') ?? moduleParam(c) ?? c.json(layoutsBody(d.org)),
  )

  app.get(
    '/crm/v8/settings/fields',
    (c) => need(c, 'ZohoCRM.settings.fields.READ') ?? moduleParam(c) ?? c.json(fieldsBody(d.org)),
  )

  app.get('/crm/v8/settings/pipeline', (c) => {
    const denied = need(c, 'ZohoCRM.settings.pipeline.READ')
    if (denied) return denied
    const layout = c.req.query('layout_id')
    if (!layout) return E.missing(c, 'layout_id')
    if (layout !== d.org.layoutId) return c.body(null, 204)
    return c.json(pipelinesBody(d.org))
  })

  // ---- Deals ---------------------------------------------------------------------------------

  const parseIms = (c: C): number | null | Response => {
    const h = c.req.header('if-modified-since')
    if (!h) return null
    const t = Date.parse(h)
    if (Number.isNaN(t))
      return zohoError(c, 400, 'INVALID_DATA', 'invalid If-Modified-Since header', {
        header: 'If-Modified-Since',
      })
    return Math.floor(t / 1000)
  }

  const project = (deal: DealRecord, fields: string[] | null) => (fields ? projector(fields)(deal) : deal)

  const fieldsParam = (c: C): string[] | Response => {
    const raw = c.req.query('fields')
    if (!raw) return E.missing(c, 'fields')
    const fields = [
      ...new Set(
        raw
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean),
      ),
    ]
    if (!fields.length) return E.missing(c, 'fields')
    if (fields.length > MAX_FIELDS)
      return zohoError(c, 400, 'LIMIT_EXCEEDED', 'limit exceeded', { limit: MAX_FIELDS, param: 'fields' })
    return fields
  }

  interface PageTokenState {
    u: string
    b: string
    c: Cursor
    s: number
    p: number
    i: number
  }

  const sign = (payload: string) =>
    createHmac('sha256', tokenKey).update(payload).digest('base64url').slice(0, 16)
  const encodeToken = (t: PageTokenState) => {
    const payload = Buffer.from(JSON.stringify(t)).toString('base64url')
    return `${payload}.${sign(payload)}`
  }
  const decodeToken = (raw: string): PageTokenState | undefined => {
    const [payload, mac] = raw.split('.')
    if (!payload || mac !== sign(payload)) return undefined
    try {
      return JSON.parse(Buffer.from(payload, 'base64url').toString()) as PageTokenState
    } catch {
      return undefined
    }
  }

  app.get('/crm/v8/Deals', (c) => {
    const denied = need(c, 'ZohoCRM.modules.deals.READ')
    if (denied) return denied
    const q = c.req.query()
    const fields = fieldsParam(c)
    if (fields instanceof Response) return fields
    const perPage = intParam(c, 'per_page', MAX_PER_PAGE, MAX_PER_PAGE)
    if (perPage instanceof Response) return perPage
    const sortBy = (q.sort_by ?? 'id') as SortBy
    if (!SORTS.includes(sortBy)) return E.invalid(c, 'sort_by', 'invalid value for sort_by')
    const sortOrder = q.sort_order ?? 'desc'
    if (sortOrder !== 'asc' && sortOrder !== 'desc')
      return E.invalid(c, 'sort_order', 'invalid value for sort_order')
    const ims = parseIms(c)
    if (ims instanceof Response) return ims
    const user = c.var.user

    // Explicit ids: those that exist, are live and visible, in the requested order.
    if (q.ids !== undefined) {
      const ids = q.ids.split(',').filter(Boolean)
      if (ids.length > 100)
        return zohoError(c, 400, 'LIMIT_EXCEEDED', 'limit exceeded', { limit: 100, param: 'ids' })
      const rows = ids
        .map((id) => d.store.getById(id))
        .filter((x): x is DealRecord => !!x && canSee(user, x))
        .filter((x) => ims === null || Date.parse(x.Modified_Time as string) / 1000 >= ims)
      if (!rows.length) return c.body(null, ims === null ? 204 : 304)
      return c.json({
        data: rows.map((r) => project(r, fields)),
        info: infoOf(perPage, rows.length, sortBy, sortOrder, 1, false, null, null),
      })
    }

    // Every parameter except page_token itself is bound to a page_token, as is the user. That
    // includes `page`: Zoho binds the exact parameters of the request that issued the token, so a
    // chain whose first request sent page=1 cannot go on without it (and page_token refuses page
    // alongside: AMBIGUITY_DURING_PROCESSING). Leaving page out here hid exactly that client bug.
    const bind = createHmac('sha256', tokenKey)
      .update(
        JSON.stringify([
          Object.entries(q)
            .filter(([k]) => k !== 'page_token')
            .sort(),
          c.req.header('if-modified-since') ?? null,
        ]),
      )
      .digest('base64url')

    let after: Cursor | null = null
    let served = 0
    let page = 1
    if (q.page_token !== undefined) {
      if (q.page !== undefined)
        return zohoError(
          c,
          400,
          'AMBIGUITY_DURING_PROCESSING',
          'page and page_token cannot be given together',
          {
            ambiguity_due_to: ['page', 'page_token'],
          },
        )
      const t = decodeToken(q.page_token)
      if (!t || t.u !== user.id) return E.invalid(c, 'page_token', 'invalid page_token')
      if (t.i + d.pageTokens.ttlMs <= d.now() || t.i < d.pageTokens.notBefore)
        return zohoError(c, 400, 'EXPIRED_VALUE', 'the page_token has expired', { param_name: 'page_token' })
      if (t.b !== bind)
        return zohoError(
          c,
          400,
          'TOKEN_BOUND_DATA_MISMATCH',
          'the page_token is bound to different parameters',
          {
            param_name: 'page_token',
          },
        )
      const limit = d.pageTokens.recordLimit
      if (t.s >= limit)
        return zohoError(c, 400, 'PAGINATION_LIMIT_EXCEEDED', `You can only get the first ${limit} records`, {
          limit,
        })
      after = d.pageTokens.offset ? null : t.c
      served = t.s
      page = t.p + 1
    } else {
      const p = intParam(c, 'page', 1)
      if (p instanceof Response) return p
      page = p
      if (page * perPage > DISCRETE_LIMIT)
        return zohoError(
          c,
          400,
          'DISCRETE_PAGINATION_LIMIT_EXCEEDED',
          `You can only get the first ${DISCRETE_LIMIT} records without using page_token param`,
          { limit: DISCRETE_LIMIT },
        )
    }

    const rows: DealRecord[] = []
    let last: Cursor | null = after
    let more = false
    let skip = q.page_token === undefined ? (page - 1) * perPage : d.pageTokens.offset ? served : 0
    for (const [cursor, deal] of d.store.scan(sortBy, sortOrder === 'desc', after, ims)) {
      if (!canSee(user, deal)) continue
      if (skip > 0) {
        skip--
        last = cursor
        continue
      }
      if (rows.length === perPage) {
        more = true
        break
      }
      rows.push(deal)
      last = cursor
    }
    if (!rows.length) return c.body(null, ims === null ? 204 : 304)
    served = (q.page_token === undefined ? (page - 1) * perPage : served) + rows.length
    const issued = d.now()
    const next = more ? encodeToken({ u: user.id, b: bind, c: last!, s: served, p: page, i: issued }) : null
    const expiry = more
      ? zohoTime(Math.floor((issued + d.pageTokens.ttlMs) / 1000), d.org.offsetMinutes)
      : null
    return c.json({
      data: rows.map(projector(fields)),
      info: infoOf(perPage, rows.length, sortBy, sortOrder, page, more, next, expiry),
    })
  })

  function infoOf(
    perPage: number,
    count: number,
    sortBy: string,
    sortOrder: string,
    page: number,
    more: boolean,
    next: string | null,
    expiry: string | null,
  ) {
    return {
      call: false,
      per_page: perPage,
      next_page_token: next,
      count,
      sort_by: sortBy,
      page,
      previous_page_token: null,
      page_token_expiry: expiry,
      sort_order: sortOrder,
      email: false,
      more_records: more,
    }
  }

  app.get('/crm/v8/Deals/deleted', (c) => {
    const denied = need(c, 'ZohoCRM.modules.deals.READ')
    if (denied) return denied
    const type = c.req.query('type') ?? 'all'
    if (!['all', 'recycle', 'permanent'].includes(type)) return E.invalid(c, 'type', 'invalid value for type')
    const perPage = intParam(c, 'per_page', MAX_PER_PAGE, MAX_PER_PAGE)
    const page = intParam(c, 'page', 1)
    if (perPage instanceof Response) return perPage
    if (page instanceof Response) return page
    const ims = parseIms(c)
    if (ims instanceof Response) return ims
    // Zoho lists a deletion for a limited time: 60 days from the recycle bin, 120 permanent.
    const nowSec = Math.floor(d.now() / 1000)
    const rows = [...d.store.deleted.values()]
      .filter((x) => type === 'all' || x.type === type)
      .filter((x) => x.deleted_epoch > nowSec - (x.type === 'recycle' ? 60 : 120) * 86_400)
      .filter((x) => ims === null || x.deleted_epoch >= ims)
      .reverse()
      .map(({ deleted_epoch: _e, ...x }) =>
        x.type === 'permanent' ? { ...x, display_name: null, deleted_by: null, created_by: null } : x,
      )
    if (!rows.length && ims !== null) return c.body(null, 304)
    return pageOf(c, rows, 'data', perPage, page)
  })

  app.get('/crm/v8/Deals/:id', (c) => {
    const denied = need(c, 'ZohoCRM.modules.deals.READ')
    if (denied) return denied
    const deal = d.store.getById(c.req.param('id'))
    if (!deal) return c.body(null, 204)
    if (!canSee(c.var.user, deal)) return E.noPermission(c)
    const raw = c.req.query('fields')
    const fields = raw ? raw.split(',').filter(Boolean) : null
    return c.json({ data: [project(deal, fields)] })
  })

  app.get('/crm/v8/Deals/:id/Stage_History', (c) => {
    const denied = need(c, 'ZohoCRM.modules.deals.READ')
    if (denied) return denied
    const fields = fieldsParam(c)
    if (fields instanceof Response) return fields
    const lacking = fields.find((f) => d.stageHistory?.lacks.includes(f))
    if (lacking !== undefined)
      return d.stageHistory!.namesField
        ? zohoError(c, 400, 'INVALID_DATA', 'invalid data', { api_name: lacking })
        : E.invalid(c, 'fields')
    const perPage = intParam(c, 'per_page', MAX_PER_PAGE, MAX_PER_PAGE)
    const page = intParam(c, 'page', 1)
    if (perPage instanceof Response) return perPage
    if (page instanceof Response) return page
    const g = d.store.indexOf(c.req.param('id'))
    const deal = g === undefined ? undefined : d.store.get(g)
    if (g === undefined || !deal || d.stageHistory?.refusesIds)
      return E.invalid(c, 'id', 'the related id given seems to be invalid')
    if (!canSee(c.var.user, deal)) return E.noPermission(c)
    const ims = parseIms(c)
    if (ims instanceof Response) return ims
    const rows = d.store
      .history(g)
      .filter((r) => ims === null || Date.parse(r.Modified_Time as string) / 1000 >= ims)
      .map((r) => project(r, fields))
    if (!rows.length && ims !== null) return c.body(null, 304)
    return pageOf(c, rows, 'data', perPage, page)
  })

  // ---- Watch -----------------------------------------------------------------------------------

  const WEEK = 7 * 86_400_000
  const HOUR = 3_600_000

  const subscribe = async (c: C, replace: boolean) => {
    const denied = need(c, replace ? 'ZohoCRM.notifications.UPDATE' : 'ZohoCRM.notifications.CREATE')
    if (denied) return denied
    let body: { watch?: Record<string, unknown>[] }
    try {
      body = await c.req.json()
    } catch {
      return zohoError(c, 400, 'INVALID_DATA', 'body is not valid JSON')
    }
    if (!Array.isArray(body.watch) || !body.watch.length) return E.missing(c, 'watch')
    const results = body.watch.map((w) => {
      const fail = (code: string, message: string, details: Record<string, unknown>) => ({
        code,
        details,
        message,
        status: 'error',
      })
      for (const key of ['channel_id', 'events', 'notify_url'])
        if (w[key] === undefined || w[key] === null)
          return fail('MANDATORY_NOT_FOUND', 'required field not found', { api_name: key })
      const channelId = String(w.channel_id)
      if (!/^\d+$/.test(channelId)) return fail('INVALID_DATA', 'invalid data', { api_name: 'channel_id' })
      const events = w.events as unknown
      if (
        !Array.isArray(events) ||
        !events.length ||
        !events.every((e) => /^Deals\.(all|create|edit|delete)$/.test(String(e)))
      )
        return fail('INVALID_DATA', 'invalid data', { api_name: 'events' })
      let url: URL
      try {
        url = new URL(String(w.notify_url))
      } catch {
        return fail('INVALID_DATA', 'invalid data', { api_name: 'notify_url' })
      }
      const token = w.token === undefined || w.token === null ? null : String(w.token)
      if (token !== null && token.length > 50)
        return fail('INVALID_DATA', 'invalid data', { api_name: 'token' })
      if (replace && !d.watch.channels.has(channelId))
        return fail('INVALID_DATA', 'the given channel_id does not exist', { api_name: 'channel_id' })
      // Omitted, unparsable, past or more than a week ahead: Zoho defaults to one hour.
      const now = d.now()
      const asked = w.channel_expiry ? Date.parse(String(w.channel_expiry)) : NaN
      const expiresAt = Number.isNaN(asked) || asked <= now || asked > now + WEEK ? now + HOUR : asked
      d.watch.channels.set(channelId, {
        channel_id: channelId,
        events: events.map(String),
        notify_url: url.toString(),
        token,
        expiresAt,
        return_affected_field_values: w.return_affected_field_values === true,
        notify_on_related_action: w.notify_on_related_action !== false,
        userId: c.var.user.id,
      })
      return {
        code: 'SUCCESS',
        details: {
          events: [
            {
              channel_expiry: zohoTime(Math.floor(expiresAt / 1000), d.org.offsetMinutes),
              resource_uri: `${d.apiDomain()}/crm/v2/Deals`,
              resource_id: d.org.id(0, 41_001),
              resource_name: 'Deals',
              channel_id: channelId,
            },
          ],
        },
        message: replace
          ? 'Successfully updated the subscribe details'
          : 'Successfully subscribed for actions-watch of the given module',
        status: 'success',
      }
    })
    return c.json({ watch: results }, results.every((r) => r.status === 'success') ? 200 : 400)
  }

  app.post('/crm/v8/actions/watch', (c) => subscribe(c, false))
  app.put('/crm/v8/actions/watch', (c) => subscribe(c, true))

  app.get('/crm/v8/actions/watch', (c) => {
    const denied = need(c, 'ZohoCRM.notifications.READ')
    if (denied) return denied
    const perPage = intParam(c, 'per_page', MAX_PER_PAGE, MAX_PER_PAGE)
    const page = intParam(c, 'page', 1)
    if (perPage instanceof Response) return perPage
    if (page instanceof Response) return page
    const id = c.req.query('channel_id')
    const rows = d.watch
      .live()
      .filter((ch) => !id || ch.channel_id === id)
      .map((ch) => ({
        channel_id: ch.channel_id,
        events: ch.events,
        notify_url: ch.notify_url,
        token: ch.token,
        channel_expiry: zohoTime(Math.floor(ch.expiresAt / 1000), d.org.offsetMinutes),
        resource_uri: `${d.apiDomain()}/crm/v2/Deals`,
        resource_id: d.org.id(0, 41_001),
        resource_name: 'Deals',
        return_affected_field_values: ch.return_affected_field_values,
        notify_on_related_action: ch.notify_on_related_action,
      }))
    return pageOf(c, rows, 'watch', perPage, page)
  })

  app.delete('/crm/v8/actions/watch', (c) => {
    const denied = need(c, 'ZohoCRM.notifications.DELETE')
    if (denied) return denied
    const ids = c.req.query('channel_ids')?.split(',').filter(Boolean)
    if (!ids?.length) return E.missing(c, 'channel_ids')
    return c.json({
      watch: ids.map((id) => {
        const existed = d.watch.channels.delete(id)
        return existed
          ? {
              code: 'SUCCESS',
              details: {
                events: [
                  {
                    resource_uri: `${d.apiDomain()}/crm/v2/Deals`,
                    resource_id: d.org.id(0, 41_001),
                    resource_name: 'Deals',
                    channel_id: id,
                  },
                ],
              },
              message: 'Successfully unsubscribed from actions-watch of the given module',
              status: 'success',
            }
          : {
              code: 'INVALID_DATA',
              details: { channel_id: id },
              message: 'the given channel_id does not exist',
              status: 'error',
            }
      }),
    })
  })

  // Any other module under /crm/v8/{Module} is not part of this sandbox.
  app.get('/crm/v8/:module{[A-Z][A-Za-z_]*}', (c) => E.invalidModule(c))
  app.all('/crm/v8/*', (c) => E.notFound(c))

  return app
}

type Projector = (deal: DealRecord) => Record<string, unknown>
const projectors = new Map<string, Projector>()

/**
 * A deal projected to `fields`, then id, as Zoho returns it. List pages project every record they
 * serve, so each field list gets a compiled projector: one object literal with every key in order
 * (a missing field is undefined there, which JSON.stringify leaves out just the same), cheaper to
 * build and to stringify than a copy made key by key. Keys enter the source JSON-quoted.
 * Integer-like and inherited names (toString, __proto__...) have special rules in object literals
 * and under `in`: field lists with them keep the plain loop.
 */
function projector(fields: string[]): Projector {
  const key = JSON.stringify(fields)
  let p = projectors.get(key)
  if (p) return p
  if (fields.some((f) => /^\d+$/.test(f) || f in Object.prototype)) {
    p = (deal) => {
      const out: Record<string, unknown> = {}
      for (const f of fields) if (f in deal) out[f] = deal[f]
      out.id = deal.id
      return out
    }
  } else {
    const keys = [...new Set([...fields, 'id'])].map((k) => JSON.stringify(k))
    p = new Function('d', `return {${keys.map((k) => `${k}: d[${k}]`).join(', ')}}`) as Projector
  }
  if (projectors.size >= 100) projectors.clear()
  projectors.set(key, p)
  return p
}
