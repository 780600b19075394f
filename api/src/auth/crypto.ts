/**
 * Secrets at rest (Zoho refresh tokens, widget secrets): AES-256-GCM under a key derived from
 * SECRET_KEY with HKDF. Output "v1.<iv>.<ciphertext>" in base64url. WebCrypto, so both runtimes.
 */
const enc = new TextEncoder()
const dec = new TextDecoder()

const b64 = (b: Uint8Array) =>
  btoa(String.fromCharCode(...b))
    .replace(/\+/g, '-')
    .replace(/\//g, '_')
    .replace(/=+$/, '')
const unb64 = (s: string) =>
  Uint8Array.from(atob(s.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0))

const keyCache = new Map<string, Promise<CryptoKey>>()
function aesKey(secretKey: string): Promise<CryptoKey> {
  let k = keyCache.get(secretKey)
  if (!k) {
    k = crypto.subtle.importKey('raw', enc.encode(secretKey), 'HKDF', false, ['deriveKey']).then((base) =>
      crypto.subtle.deriveKey(
        {
          name: 'HKDF',
          hash: 'SHA-256',
          salt: enc.encode('pipeline-pulse'),
          info: enc.encode('secrets-at-rest-v1'),
        },
        base,
        { name: 'AES-GCM', length: 256 },
        false,
        ['encrypt', 'decrypt'],
      ),
    )
    keyCache.set(secretKey, k)
  }
  return k
}

export async function encryptSecret(secretKey: string, plaintext: string): Promise<string> {
  const iv = crypto.getRandomValues(new Uint8Array(12))
  const ct = await crypto.subtle.encrypt(
    { name: 'AES-GCM', iv },
    await aesKey(secretKey),
    enc.encode(plaintext),
  )
  return `v1.${b64(iv)}.${b64(new Uint8Array(ct))}`
}

export async function decryptSecret(secretKey: string, stored: string): Promise<string> {
  const [v, iv, ct] = stored.split('.')
  if (v !== 'v1' || !iv || !ct) throw new Error('Unrecognised encrypted secret format')
  const key = await aesKey(secretKey)
  let pt: ArrayBuffer
  try {
    pt = await crypto.subtle.decrypt({ name: 'AES-GCM', iv: unb64(iv) }, key, unb64(ct))
  } catch {
    // WebCrypto only says "OperationError": almost always a SECRET_KEY that changed since.
    throw new SecretKeyMismatchError()
  }
  return dec.decode(pt)
}

/** A secret stored under another SECRET_KEY (or altered): only a new one can replace it. */
export class SecretKeyMismatchError extends Error {
  override name = 'SecretKeyMismatchError'
  constructor() {
    super(
      'A stored secret cannot be decrypted with this SECRET_KEY (it was stored under another one): ' +
        'an admin reconnects Zoho CRM and generates a new widget secret',
    )
  }
}

async function digest(s: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest('SHA-256', enc.encode(s)))
}

/** Constant-time equality (hashing first hides the length too). */
export async function safeEqual(a: string, b: string): Promise<boolean> {
  const [x, y] = await Promise.all([digest(a), digest(b)])
  let diff = 0
  for (let i = 0; i < x.length; i++) diff |= x[i]! ^ y[i]!
  return diff === 0
}
