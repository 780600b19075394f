/**
 * Zoho CRM Embedded App SDK handshake. widget.html loads SDK 1.4 (not 1.2): signedAssertion() needs
 * FUNCTIONS.execute to run as the current user, which only 1.4+ does. PageLoad is registered BEFORE
 * init() (1.2's source attaches only the listeners that exist when init() runs, and 1.4 is not
 * documented to differ); one module-level promise, so a second mount never re-runs init; and a
 * timeout, because outside CRM (no parent, no serviceOrigin) init() never settles.
 */

interface ZohoSdk {
  embeddedApp: { on(event: string, fn: (data: unknown) => void): void; init(): Promise<unknown> }
  CRM: {
    CONFIG: { getCurrentUser(): Promise<unknown> }
    FUNCTIONS: { execute(name: string, req: { arguments: string }): Promise<unknown> }
  }
}
declare global {
  interface Window {
    ZOHO?: ZohoSdk
  }
}

export class NotInCrmError extends Error {
  override name = 'NotInCrmError'
}

export interface PageContext {
  entity: string | null
  entityId: string | null
}

export interface CrmUser {
  id: string
  name: string
  email: string | null
}

/** `EntityId` is a string on related lists but an array on buttons: take the first id. */
export function normalisePageLoad(data: unknown): PageContext {
  const d = (data ?? {}) as { Entity?: unknown; EntityId?: unknown }
  const raw = Array.isArray(d.EntityId) ? d.EntityId[0] : d.EntityId
  return {
    entity: typeof d.Entity === 'string' ? d.Entity : null,
    entityId: raw === undefined || raw === null || raw === '' ? null : String(raw),
  }
}

let handshake: Promise<PageContext> | null = null

/**
 * Resolves with the page context once the SDK is initialised. A web tab has no record and may never
 * send PageLoad, so after init we wait only briefly for it.
 */
export function zohoReady(timeoutMs = 5000): Promise<PageContext> {
  handshake ??= new Promise<PageContext>((resolve, reject) => {
    const Z = window.ZOHO
    if (!Z?.embeddedApp) return reject(new NotInCrmError('The Zoho CRM SDK is not available'))
    let page: PageContext | null = null
    let pageSeen: () => void = () => {}
    const pageLoaded = new Promise<void>((r) => (pageSeen = r))
    Z.embeddedApp.on('PageLoad', (data) => {
      page = normalisePageLoad(data)
      pageSeen()
    })
    const timer = setTimeout(() => reject(new NotInCrmError('Zoho CRM did not answer')), timeoutMs)
    Z.embeddedApp.init().then(
      async () => {
        clearTimeout(timer)
        await Promise.race([pageLoaded, new Promise((r) => setTimeout(r, 400))])
        resolve(page ?? { entity: null, entityId: null })
      },
      (err: unknown) => {
        clearTimeout(timer)
        reject(err instanceof Error ? err : new Error(String(err)))
      },
    )
  })
  return handshake
}

/** getCurrentUser resolves to {users:[…]} in practice (the JSDoc's flat object is wrong). */
export async function currentUser(): Promise<CrmUser> {
  const r = (await window.ZOHO!.CRM.CONFIG.getCurrentUser()) as {
    users?: { id: unknown; full_name?: string; email?: string }[]
  }
  const u = (r.users?.[0] ?? r) as { id?: unknown; full_name?: string; email?: string }
  return { id: String(u.id ?? ''), name: u.full_name ?? '', email: u.email ?? null }
}

export const ASSERTION_FUNCTION = 'pipelinepulse_widget_assertion'

/**
 * Runs the Deluge function that signs who the user is. It runs as the current user only with SDK
 * 1.4+ (widget.html pins 1.4); under 1.2 it would run as the org admin and sign the admin in.
 * Its output (details.output) is a JSON string {payload, sig}.
 */
export async function signedAssertion(): Promise<{ payload: string; sig: string }> {
  const r = (await window.ZOHO!.CRM.FUNCTIONS.execute(ASSERTION_FUNCTION, {
    arguments: JSON.stringify({}),
  })) as { code?: string; details?: { output?: unknown }; message?: string }
  let out = r.details?.output
  if (typeof out === 'string') {
    try {
      out = JSON.parse(out)
    } catch {
      throw new Error(`The ${ASSERTION_FUNCTION} function returned unreadable output`)
    }
  }
  const o = (out ?? {}) as { payload?: unknown; sig?: unknown; signature?: unknown }
  const sig = o.sig ?? o.signature
  if (typeof o.payload !== 'string' || typeof sig !== 'string')
    throw new Error(
      `The ${ASSERTION_FUNCTION} function did not return a signed assertion${r.message ? `: ${r.message}` : ''}`,
    )
  return { payload: o.payload, sig }
}
