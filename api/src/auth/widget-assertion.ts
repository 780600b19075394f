import { and, eq, lt, sql } from 'drizzle-orm'
import type { Db } from '../db/client'
import { query } from '../db/client'
import { authNonces, orgs } from '../db/schema'
import { widgetClaimsSchema, type WidgetAssertion, type WidgetClaims } from '#shared/contracts/auth'
import { decryptSecret, encryptSecret } from './crypto'

/**
 * The widget's identity (DESIGN.md "The widget", zoho-widget.md §3.2 option 3): a Zoho CRM Deluge
 * function, running as the signed-in CRM user, signs `{zuid, orgId, iat, nonce}` with HMAC-SHA256 under
 * the org's widget secret. We check the signature (constant time, via WebCrypto verify), the clock
 * skew, and that the nonce was never seen before. Nothing the browser could forge is trusted.
 */

/** Both directions: an assertion older or newer than this is refused. */
export const MAX_SKEW_SECONDS = 300

const enc = new TextEncoder()

/** Why an assertion was refused; all map to 401 (the reason is for logs and tests, not the client). */
export type AssertionFailure = 'malformed' | 'unknown_org' | 'bad_signature' | 'skew' | 'replay'

export class AssertionError extends Error {
  constructor(readonly reason: AssertionFailure) {
    super(`Widget assertion refused: ${reason}`)
  }
}

function hmacKey(secret: string, usage: KeyUsage[]) {
  return crypto.subtle.importKey('raw', enc.encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, usage)
}

/** Signature bytes from lowercase/uppercase hex (Deluge "hex") or base64/base64url (Deluge default). */
export function decodeSignature(sig: string): Uint8Array<ArrayBuffer> | null {
  const s = sig.trim()
  if (/^[0-9a-fA-F]{64}$/.test(s)) return Uint8Array.from(s.match(/../g)!, (h) => parseInt(h, 16))
  if (/^[A-Za-z0-9+/_-]{43}=?$/.test(s)) {
    try {
      const bin = atob(s.replace(/-/g, '+').replace(/_/g, '/').replace(/=$/, '') + '=')
      return bin.length === 32 ? Uint8Array.from(bin, (c) => c.charCodeAt(0)) : null
    } catch {
      return null
    }
  }
  return null
}

/** What the Deluge function does, in TypeScript (tests and tooling use it): hex HMAC over the JSON text. */
export async function signWidgetAssertion(secret: string, claims: WidgetClaims): Promise<WidgetAssertion> {
  const payload = JSON.stringify({
    zuid: claims.zuid,
    orgId: claims.orgId,
    iat: claims.iat,
    nonce: claims.nonce,
  })
  const mac = new Uint8Array(
    await crypto.subtle.sign('HMAC', await hmacKey(secret, ['sign']), enc.encode(payload)),
  )
  return { payload, sig: Array.from(mac, (b) => b.toString(16).padStart(2, '0')).join('') }
}

/** JSON whose long digit runs stay strings: a 19-digit id sent as a JSON number must not lose digits. */
function parsePayload(payload: string): unknown {
  const guarded = payload.replace(/(:\s*)(-?\d{16,})(\s*[,}])/g, '$1"$2"$3')
  return JSON.parse(guarded)
}

export async function orgWidgetSecret(db: Db, secretKey: string, orgId: string): Promise<string | null> {
  const [row] = await db.select({ enc: orgs.widgetSecretEnc }).from(orgs).where(eq(orgs.id, orgId))
  if (!row?.enc) return null
  return decryptSecret(secretKey, row.enc)
}

/** A fresh per-org secret, stored encrypted; the plaintext is returned once, for the Deluge function. */
export async function rotateWidgetSecret(db: Db, secretKey: string, orgId: string, now: Date) {
  const bytes = crypto.getRandomValues(new Uint8Array(32))
  const secret = Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')
  const updated = await db
    .update(orgs)
    .set({
      widgetSecretEnc: await encryptSecret(secretKey, secret),
      widgetSecretRotatedAt: now,
      updatedAt: now,
    })
    .where(eq(orgs.id, orgId))
    .returning({ id: orgs.id })
  if (!updated.length) return null
  return { secret, rotatedAt: now }
}

/**
 * Verify an assertion and consume its nonce. Order matters: the signature is checked before the
 * nonce is stored, so nobody can burn nonces without the secret.
 */
export async function verifyWidgetAssertion(
  db: Db,
  secretKey: string,
  assertion: WidgetAssertion,
  now: Date,
): Promise<{ orgId: string; zuid: string; iat: number }> {
  let raw: unknown
  try {
    raw = parsePayload(assertion.payload)
  } catch {
    throw new AssertionError('malformed')
  }
  const parsed = widgetClaimsSchema.safeParse(raw)
  if (!parsed.success) throw new AssertionError('malformed')
  const claims = parsed.data
  const sig = decodeSignature(assertion.sig)
  if (!sig) throw new AssertionError('malformed')

  const orgId = String(claims.orgId)
  const secret = await orgWidgetSecret(db, secretKey, orgId)
  if (!secret) throw new AssertionError('unknown_org')
  const ok = await crypto.subtle.verify(
    'HMAC',
    await hmacKey(secret, ['verify']),
    sig,
    enc.encode(assertion.payload),
  )
  if (!ok) throw new AssertionError('bad_signature')

  const nowSec = Math.floor(now.getTime() / 1000)
  if (Math.abs(nowSec - claims.iat) > MAX_SKEW_SECONDS) throw new AssertionError('skew')

  // Seen nonces are kept until the assertion could no longer pass the skew check anyway.
  await db.delete(authNonces).where(and(eq(authNonces.orgId, orgId), lt(authNonces.expiresAt, now)))
  const inserted = await query<{ nonce: string }>(
    db,
    sql`insert into auth_nonces (org_id, nonce, expires_at)
        values (${orgId}, ${claims.nonce}, ${new Date((claims.iat + MAX_SKEW_SECONDS + 60) * 1000).toISOString()})
        on conflict do nothing returning nonce`,
  )
  if (!inserted.length) throw new AssertionError('replay')
  return { orgId, zuid: String(claims.zuid), iat: claims.iat }
}
