import { Hono } from 'hono'
import { fxRatesQuery, type FxRatesResponse, type FxRefreshResponse } from '#shared/contracts/fx'
import { requireRole, requireViewer } from '../auth/middleware'
import { audit } from '../auth/audit'
import { AppError, notFound } from '../http/errors'
import type { AppEnv } from '../http/types'
import { runFx } from '../fx/job'
import { pickSet } from '../fx/pricing'
import type { FxProviderError } from '../fx/provider'
import { fxStatus } from '../fx/status'
import { listRateSets, loadRates, orgBaseCurrency } from '../fx/store'
import { mondayOf } from '../fx/week'

function providerFailure(err: FxProviderError): AppError {
  const code = `FX_${err.kind.toUpperCase()}`
  const transient = err.kind === 'unavailable' || err.kind === 'quota' || err.kind === 'config'
  return new AppError(transient ? 503 : 502, code, err.message)
}

export const fx = new Hono<AppEnv>()
  .get('/rates', requireViewer, async (c) => {
    const q = fxRatesQuery.parse(c.req.query())
    const sets = await listRateSets(c.var.db)
    const chosen = pickSet(sets, q.date ? mondayOf(q.date) : null)
    if (!chosen) throw notFound('No FX rate set is stored yet: an admin can refresh rates now', 'FX_NO_RATES')
    const { set, estimated } = chosen
    const body: FxRatesResponse = {
      date: q.date ?? null,
      weekDate: set.weekDate,
      kind: set.kind,
      source: set.source,
      providerDate: set.providerDate,
      fetchedAt: set.fetchedAt,
      estimated,
      quoteBase: 'USD',
      currency: (await orgBaseCurrency(c.var.db, c.var.viewer.orgId)) ?? c.var.deps.config.BASE_CURRENCY,
      rates: await loadRates(c.var.db, set.id),
    }
    return c.json(body)
  })
  .get('/status', requireViewer, async (c) => {
    const { config, now } = c.var.deps
    return c.json(await fxStatus(c.var.db, config, now(), c.var.viewer.orgId))
  })
  .post('/refresh', requireViewer, requireRole('admin'), async (c) => {
    const { config, logger, fetch, now } = c.var.deps
    const { orgId, userId } = c.var.viewer
    // Rate sets, the repricing they cause and the provider's quota are shared by every org: an
    // admin's refresh reaches the provider only when the scheduled refresh would (the newest set is
    // CURRENCY_CACHE_DAYS old, or there is none), and reports only the admin's own org's figures.
    // Refreshes run one at a time across processes: one started meanwhile elsewhere is waited for,
    // and the set it stored is reported (refreshed false, no call).
    const r = await runFx(
      { config, db: c.var.db, logger, fetch, now },
      { ignoreRefusal: true, orgId, onlyIfDue: true },
    )
    const repriced = (r.org?.repricedOpen ?? 0) + (r.org?.repricedClosed ?? 0)
    const set = r.set
    await audit(c.var.db, {
      orgId,
      actorUserId: userId,
      action: 'fx.refresh',
      target: set?.weekDate ?? null,
      details: {
        calls: r.calls,
        repriced,
        refreshed: r.refreshed,
        error: r.error?.kind ?? null,
      },
    })
    if (r.error) throw providerFailure(r.error)
    if (!set)
      throw new AppError(
        503,
        'FX_REFRESH_RUNNING',
        'Another rate refresh is still running: try again in a few minutes',
      )
    const { id: _id, base: _base, ...shown } = set
    const body: FxRefreshResponse = {
      set: shown,
      refreshed: r.refreshed,
      calls: r.calls,
      repriced,
    }
    return c.json(body)
  })
