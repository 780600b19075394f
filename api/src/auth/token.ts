/**
 * Compact signed tokens (HMAC-SHA256 over base64url JSON), used for the session cookie and the
 * widget's bearer token. WebCrypto only, so the same code runs on Workers and Node.
 */
const enc = new TextEncoder()

function b64url(bytes: Uint8Array): string {
  let s = ''
  for (const b of bytes) s += String.fromCharCode(b)
  return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')
}

function fromB64url(s: string): Uint8Array<ArrayBuffer> {
  const bin = atob(s.replace(/-/g, '+').replace(/_/g, '/'))
  return Uint8Array.from(bin, (c) => c.charCodeAt(0))
}

const keys = new Map<string, Promise<CryptoKey>>()
function hmacKey(secret: string, purpose: string): Promise<CryptoKey> {
  const id = `${purpose}\u0000${secret}`
  let k = keys.get(id)
  if (!k) {
    k = crypto.subtle.importKey(
      'raw',
      enc.encode(`${purpose}:${secret}`),
      { name: 'HMAC', hash: 'SHA-256' },
      false,
      ['sign', 'verify'],
    )
    keys.set(id, k)
  }
  return k
}

export interface TokenClaims {
  /** Expiry, seconds since the epoch. */
  exp: number
  [key: string]: unknown
}

/** `purpose` separates keys: a session token can never pass as a widget token or an OAuth state. */
export async function signToken(secret: string, purpose: string, claims: TokenClaims): Promise<string> {
  const body = b64url(enc.encode(JSON.stringify(claims)))
  const sig = await crypto.subtle.sign('HMAC', await hmacKey(secret, purpose), enc.encode(body))
  return `${body}.${b64url(new Uint8Array(sig))}`
}

/** The claims when the signature is valid and the token has not expired; otherwise null. */
export async function verifyToken<T extends TokenClaims>(
  secret: string,
  purpose: string,
  token: string,
  nowMs = Date.now(),
): Promise<T | null> {
  const [body, sig, extra] = token.split('.')
  if (!body || !sig || extra !== undefined) return null
  let ok = false
  try {
    ok = await crypto.subtle.verify('HMAC', await hmacKey(secret, purpose), fromB64url(sig), enc.encode(body))
  } catch {
    return null
  }
  if (!ok) return null
  try {
    const claims = JSON.parse(new TextDecoder().decode(fromB64url(body))) as T
    if (typeof claims.exp !== 'number' || claims.exp * 1000 <= nowMs) return null
    return claims
  } catch {
    return null
  }
}
