import type { ListDealsParams, ZohoClient, ZohoDealsPage, ZohoPageInfo } from '../zoho/types'
import type { Checkpoint } from './checkpoint'
import type { SyncSession } from './session'

/*
 * Deals page requests. The page_token chain is sequential, so with prefetch on (SyncSession), the
 * page after the one being read is requested as soon as that page's info is in, before its body is
 * parsed; a step uses it only if its checkpoint asks for that page. settlePending waits for the
 * previous page's commit, which may still be running while the next page is read.
 */

/** A Deals page requested, with what the checkpoint knew when it was. */
export interface PageRequest {
  key: string
  params: ListDealsParams
  /** The checkpoint's windowRecords before this page, and its limits. */
  windowRecords: number
  perPage: number
  tokenWindowRecords: number
  /** The response; dropped once read, as the request stays referenced while its page is read. */
  result?: Promise<{ page: ZohoDealsPage } | { error: unknown }>
  /** The page after it, once its info is in (null: none, or not one to request ahead). */
  next?: { params: PageRequest['params']; windowRecords: number } | null
}

/**
 * Waits for the page commit in flight. If it failed, the run cached from it is dropped (the stored
 * checkpoint is the truth again) and its error surfaces here.
 */
export async function settlePending(s: SyncSession): Promise<void> {
  const pending = s.pending
  if (!pending) return
  s.pending = undefined
  try {
    await pending
  } catch (e) {
    s.run = undefined
    s.nextPage = undefined
    s.reading = undefined
    throw e
  }
}

const pageKey = (p: ListDealsParams) =>
  JSON.stringify([p.modifiedSince ?? null, p.pageToken ?? null, p.perPage])

/** The Deals page a checkpoint asks for: the one requested ahead when it matches, else a fresh call. */
export async function fetchDealsPage(
  client: ZohoClient,
  s: SyncSession,
  cp: Checkpoint,
  params: ListDealsParams,
): Promise<ZohoDealsPage> {
  let page = s.nextPage
  s.nextPage = undefined
  if (page?.key !== pageKey(params)) page = requestPage(client, s, cp, params, cp.windowRecords)
  s.reading = page
  requestNext(client, s, page)
  const result = page.result!
  page.result = undefined
  const r = await result
  if ('page' in r) return r.page
  throw r.error
}

/** Requests the page after the current one (the checkpoint's next request), unless it already was. */
export function prefetchDealsPage(
  client: ZohoClient,
  s: SyncSession,
  cp: Checkpoint,
  params: ListDealsParams,
): void {
  if (s.nextPage?.key !== pageKey(params)) s.nextPage = requestPage(client, s, cp, params, cp.windowRecords)
}

/** A Deals page request; `windowRecords`: the records of its token window before it. */
function requestPage(
  client: ZohoClient,
  s: SyncSession,
  limits: Pick<Checkpoint, 'perPage' | 'tokenWindowRecords'>,
  params: ListDealsParams,
  windowRecords: number,
): PageRequest {
  const page: PageRequest = {
    key: pageKey(params),
    params,
    windowRecords,
    perPage: limits.perPage,
    tokenWindowRecords: limits.tokenWindowRecords,
    // Settled into a value so an abandoned page never becomes an unhandled rejection.
    result: client
      .listDeals(params, {
        // The page_token chain is the sync's critical path: as soon as this body is in, before
        // its parse, the next request goes out (if this is the page being read).
        onInfo: (info) => {
          page.next = pageAfter(page, info)
          return requestNext(client, s, page)
        },
      })
      .then(
        (p) => ({ page: p }),
        (error: unknown) => ({ error }),
      ),
  }
  return page
}

/**
 * The request after `page` as the step reading it will make it (same window, its next_page_token),
 * or null when that step decides otherwise (last page, a new window).
 */
function pageAfter(page: PageRequest, info: ZohoPageInfo): PageRequest['next'] {
  const windowRecords = page.windowRecords + (info.count ?? 0)
  if (!info.more_records || !info.next_page_token || !info.count) return null
  if (windowRecords + page.perPage > page.tokenWindowRecords) return null
  return { params: { ...page.params, pageToken: info.next_page_token }, windowRecords }
}

/** Requests the page after the one being read, once its info is in. True when it did. */
function requestNext(client: ZohoClient, s: SyncSession, page: PageRequest): boolean {
  if (!s.prefetch || s.reading !== page || !page.next || s.nextPage) return false
  s.nextPage = requestPage(client, s, page, page.next.params, page.next.windowRecords)
  return true
}
