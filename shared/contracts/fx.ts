import { z } from 'zod'
import { dateParam, decimal, isoDate, type EndpointDoc } from './common'

/*
 * FX routes: the weekly Currency Freaks rate sets (base USD) and their health. Rates are exact
 * decimal strings, units of each currency per 1 USD, as the provider quoted them.
 */

export const fxRatesQuery = z.object({
  date: dateParam
    .optional()
    .describe('Answer with the set that applies to a deal closed on this day (default: the newest set)'),
})
export type FxRatesQuery = z.infer<typeof fxRatesQuery>

const rateSetInfo = z.object({
  /** The Monday of the set's week. */
  weekDate: isoDate,
  kind: z.enum(['latest', 'historical']),
  source: z.string(),
  /** The provider's timestamp for the quotes (ISO). */
  providerDate: z.string().nullable(),
  fetchedAt: z.string(),
})

export const fxRatesResponse = rateSetInfo.extend({
  /** The date asked about (null: the newest set was asked for). */
  date: isoDate.nullable(),
  /** True when the date's own week has no stored set and the nearest stored set stands in. */
  estimated: z.boolean(),
  /** Quotes are per 1 unit of this currency (always USD). */
  quoteBase: z.literal('USD'),
  /** The reporting currency (BASE_CURRENCY). */
  currency: z.string(),
  rates: z.record(z.string(), decimal),
})
export type FxRatesResponse = z.infer<typeof fxRatesResponse>

export const fxStatusResponse = z.object({
  currency: z.string(),
  newest: rateSetInfo.nullable(),
  /** Days since the newest set was fetched. */
  ageDays: z.number().nullable(),
  /** No set, older than CURRENCY_CACHE_DAYS, or the provider failed and the set is from an earlier week. */
  stale: z.boolean(),
  cacheDays: z.number().int(),
  sets: z.number().int(),
  provider: z.object({
    name: z.string(),
    /** At the last attempt; null before any. */
    reachable: z.boolean().nullable(),
    lastAttemptAt: z.string().nullable(),
    lastSuccessAt: z.string().nullable(),
    lastError: z.string().nullable(),
    /** The plan refused historical rates at this time: closed deals use the nearest stored set. */
    historicalRefusedAt: z.string().nullable(),
  }),
  /** Deal currencies (in the viewer's org) the newest set has no rate for. */
  missingCurrencies: z.array(z.object({ currency: z.string(), deals: z.number().int() })),
  deals: z.object({
    unpriced: z.number().int(),
    /** Priced through Zoho's Exchange_Rate. */
    zoho: z.number().int(),
    /** Priced from a nearby week's set because their own week's set is missing. */
    estimated: z.number().int(),
  }),
})
export type FxStatusResponse = z.infer<typeof fxStatusResponse>

export const fxRefreshResponse = z.object({
  /** The set just fetched, or (refreshed false) the newest stored set, still fresh. */
  set: rateSetInfo,
  /**
   * False when the newest stored set is younger than CURRENCY_CACHE_DAYS: the provider was not
   * called (rate sets and the provider's quota are shared by every org of the deployment).
   */
  refreshed: z.boolean(),
  /** Provider calls made (latest plus historical backfill). */
  calls: z.number().int(),
  /** The viewer's org's deals whose value changed. */
  repriced: z.number().int(),
})
export type FxRefreshResponse = z.infer<typeof fxRefreshResponse>

export const fxEndpoints: EndpointDoc[] = [
  {
    method: 'get',
    path: '/api/v1/fx/rates',
    summary: 'The FX rate set that applies to a date',
    description:
      'Weekly sets keyed by their Monday. A date takes the set of the Monday on or before it, or the newest set when that Monday is later.',
    tag: 'FX',
    query: fxRatesQuery,
    response: fxRatesResponse,
  },
  {
    method: 'get',
    path: '/api/v1/fx/status',
    summary: 'Rate freshness, provider health and unpriced deals',
    tag: 'FX',
    response: fxStatusResponse,
  },
  {
    method: 'post',
    path: '/api/v1/fx/refresh',
    summary: 'Fetch the latest rates now and re-price open deals (when the newest set is due)',
    description:
      'Rate sets are shared by every org: while the newest set is younger than CURRENCY_CACHE_DAYS the provider is not called and the answer is that set with refreshed false.',
    tag: 'FX',
    response: fxRefreshResponse,
    roles: ['admin'],
  },
]
