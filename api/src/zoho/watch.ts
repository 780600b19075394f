import { z } from 'zod'
import type { ZohoRestClient } from './client'
import { ZohoApiError } from './errors'

/**
 * Zoho's Watch (notifications) API, reference/zoho-crm-api.md §6: POST /actions/watch subscribes a
 * channel (PUT replaces its details, e.g. a later channel_expiry), DELETE ?channel_ids= removes
 * channels. Needs a ZohoCRM.notifications scope. Zoho then POSTs a callback to notify_url, echoing
 * `token`, on every matching change (see routes/zoho-notify.ts).
 */

/** Anything with the client's raw request method (clientForOrg's client). */
export type WatchClient = Pick<ZohoRestClient, 'request'>

export interface WatchSpec {
  /** Numeric string; Zoho reads it as a long. */
  channelId: string
  notifyUrl: string
  /** Per-channel secret (≤ 50 chars) Zoho echoes in every callback. */
  token: string
  /** At most one week ahead: further out (or omitted) and Zoho silently uses one hour. */
  expiry: Date
  /** `{Module}.{create|edit|delete|all}`; default Deals.all. */
  events?: readonly string[]
}

export interface EnabledWatch {
  channelId: string
  /** The expiry Zoho applied (it may differ from the one asked for). */
  expiresAt: Date
}

const MAX_TOKEN_CHARS = 50
const WATCH_PATH = '/actions/watch'

const resultSchema = z.looseObject({
  code: z.string(),
  status: z.string(),
  message: z.string().nullish(),
  details: z.record(z.string(), z.unknown()).nullish(),
})
const envelopeSchema = z.looseObject({ watch: z.array(resultSchema).min(1) })
const subscribedSchema = z.looseObject({
  events: z.array(z.looseObject({ channel_expiry: z.string().nullish() })).min(1),
})

const removedSchema = z.looseObject({
  events: z.array(z.looseObject({ channel_id: z.union([z.string(), z.number()]).nullish() })).min(1),
})

/** Zoho's datetime form: no milliseconds, explicit offset. */
export const zohoDateTime = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, '+00:00')

function results(body: unknown, what: string) {
  const r = envelopeSchema.safeParse(body)
  if (!r.success)
    throw new ZohoApiError(
      200,
      'UNEXPECTED_RESPONSE',
      `${what}: ${r.error.issues[0]?.message ?? 'invalid body'}`,
    )
  return r.data.watch
}

/**
 * Subscribes (POST) or, with `replace`, updates an existing channel (PUT: how an expiry is
 * extended). Throws ZohoApiError when Zoho refuses it.
 */
export async function enableWatch(
  client: WatchClient,
  spec: WatchSpec,
  opts: { replace?: boolean } = {},
): Promise<EnabledWatch> {
  if (!/^\d{1,19}$/.test(spec.channelId)) throw new Error('enableWatch: channelId must be ≤ 19 digits')
  if (!spec.token || spec.token.length > MAX_TOKEN_CHARS)
    throw new Error(`enableWatch: token must be 1-${MAX_TOKEN_CHARS} characters`)
  const method = opts.replace ? 'PUT' : 'POST'
  const what = `${method} /crm/v8${WATCH_PATH}`
  const res = await client.request(method, WATCH_PATH, {
    body: {
      watch: [
        {
          channel_id: spec.channelId,
          events: [...(spec.events ?? ['Deals.all'])],
          notify_url: spec.notifyUrl,
          token: spec.token,
          channel_expiry: zohoDateTime(spec.expiry),
          // Callbacks are hints (the deals are re-fetched): values and related actions are not needed.
          return_affected_field_values: false,
          notify_on_related_action: false,
        },
      ],
    },
  })
  const [result] = results(res.body, what)
  if (result!.status !== 'success')
    throw new ZohoApiError(
      res.status,
      result!.code,
      result!.message ?? 'watch refused',
      result!.details ?? {},
      what,
    )
  const details = subscribedSchema.safeParse(result!.details)
  const expiry = details.success ? details.data.events[0]!.channel_expiry : null
  const expiresAt = expiry ? new Date(expiry) : null
  if (!expiresAt || Number.isNaN(expiresAt.getTime()))
    throw new ZohoApiError(
      res.status,
      'UNEXPECTED_RESPONSE',
      `${what}: no channel_expiry in the answer`,
      {},
      what,
    )
  return { channelId: spec.channelId, expiresAt }
}

/** Removes channels; answers the ids Zoho removed (unknown ids are skipped, not thrown). */
export async function disableWatch(client: WatchClient, channelIds: readonly string[]): Promise<string[]> {
  if (!channelIds.length) return []
  const res = await client.request('DELETE', WATCH_PATH, { query: { channel_ids: channelIds.join(',') } })
  if (res.body === null) return []
  return results(res.body, `DELETE /crm/v8${WATCH_PATH}`).flatMap((r, i) => {
    if (r.status !== 'success') return []
    const named = removedSchema.safeParse(r.details)
    const id = named.success ? named.data.events[0]!.channel_id : channelIds[i]
    return id === undefined || id === null ? [] : [String(id)]
  })
}
