import { sql } from 'drizzle-orm'
import type { FxStatusResponse } from '#shared/contracts/fx'
import type { Config } from '../config'
import { query, type Db } from '../db/client'
import { PROVIDER } from './provider'
import { isStale, loadRates, newestSetInfo, orgBaseCurrency, providerStatus } from './store'
import { daysBetween } from './week'

/** Freshness of the rates, the provider's health, and the org's deals the rates leave unpriced. */
export async function fxStatus(db: Db, config: Config, now: Date, orgId: string): Promise<FxStatusResponse> {
  const base = (await orgBaseCurrency(db, orgId)) ?? config.BASE_CURRENCY
  const [newest, status, [counts], byCurrency, [sets]] = await Promise.all([
    newestSetInfo(db),
    providerStatus(db),
    query<{ unpriced: number; zoho: number; estimated: number }>(
      db,
      sql`select count(*) filter (where amount_sgd is null)::int as unpriced,
                 count(*) filter (where fx_source = 'zoho')::int as zoho,
                 count(*) filter (where fx_estimated)::int as estimated
          from deals where org_id = ${orgId}`,
    ),
    query<{ currency: string; deals: number }>(
      db,
      sql`select currency, count(*)::int as deals from deals
          where org_id = ${orgId} and currency <> ${base} group by currency order by currency`,
    ),
    query<{ n: number }>(db, sql`select count(*)::int as n from fx_rate_sets where base = 'USD'`),
  ])
  const quoted = new Set(newest ? Object.keys(await loadRates(db, newest.id)) : [])
  const missing = newest ? byCurrency.filter((r) => !quoted.has(r.currency)) : byCurrency
  return {
    currency: base,
    newest: newest && {
      weekDate: newest.weekDate,
      kind: newest.kind,
      source: newest.source,
      providerDate: newest.providerDate,
      fetchedAt: newest.fetchedAt,
    },
    ageDays: newest ? Math.round(daysBetween(new Date(newest.fetchedAt), now) * 100) / 100 : null,
    stale: isStale(newest, status, now, config.CURRENCY_CACHE_DAYS),
    cacheDays: config.CURRENCY_CACHE_DAYS,
    sets: sets?.n ?? 0,
    provider: {
      name: PROVIDER,
      reachable: status.reachable,
      lastAttemptAt: status.lastAttemptAt,
      lastSuccessAt: status.lastSuccessAt,
      lastError: status.lastError,
      historicalRefusedAt: status.historicalRefusedAt,
    },
    missingCurrencies: missing,
    deals: counts ?? { unpriced: 0, zoho: 0, estimated: 0 },
  }
}
