import { describe, expect, it } from 'vitest'
import { TokenBuckets, isAllowedOrigin } from '../../api/src/auth/security'
import { safeNext } from '../../api/src/auth/session'
import { decodeSignature, signWidgetAssertion } from '../../api/src/auth/widget-assertion'
import { callbackAccountsServer, acceptedApiDomain, oauthClient } from '../../api/src/auth/oauth-login'
import { loadConfig } from '../../api/src/config'
import { signToken, verifyToken } from '../../api/src/auth/token'
import { decryptSecret, encryptSecret } from '../../api/src/auth/crypto'

describe('CORS origins', () => {
  it('allows Zoho widget hosts of every DC, zet run, and configured origins only', () => {
    for (const o of [
      'https://1a2b3c.zappsusercontent.com',
      'https://abc-def.zappsusercontent.eu',
      'https://x.zappsusercontent.in',
      'https://x.zappsusercontent.com.au',
      'https://x.zappsusercontent.jp',
      'https://x.zappsusercontent.com.cn',
      'https://x.zappsusercontent.ca',
      'https://x.zappsusercontent.sa',
      'https://127.0.0.1:5000',
    ])
      expect(isAllowedOrigin(o, []), o).toBe(true)
    for (const o of [
      'https://evil.example',
      'http://x.zappsusercontent.com',
      'https://zappsusercontent.com.evil.example',
      'https://x.zappsusercontent.com.evil.example',
      'https://evilzappsusercontent.com',
      'https://127.0.0.1:5001',
      'null',
    ])
      expect(isAllowedOrigin(o, []), o).toBe(false)
    expect(isAllowedOrigin('https://pulse.example.com', ['https://pulse.example.com'])).toBe(true)
  })
})

describe('token buckets', () => {
  it('allows a burst, refuses beyond it, and refills with time, per key', () => {
    const b = new TokenBuckets(3, 1)
    expect([b.take('a', 0), b.take('a', 0), b.take('a', 0)]).toEqual([0, 0, 0])
    expect(b.take('a', 0)).toBeGreaterThan(0)
    expect(b.take('b', 0)).toBe(0)
    expect(b.take('a', 1000)).toBe(0)
    expect(b.take('a', 1000)).toBeGreaterThan(0)
  })

  it('keeps memory bounded', () => {
    const b = new TokenBuckets(1, 1, 2)
    b.take('a', 0)
    b.take('b', 0)
    b.take('c', 0) // evicts a
    expect(b.take('a', 0)).toBe(0)
  })
})

describe('redirect targets', () => {
  it('keeps same-site paths and refuses anything that could leave the site', () => {
    expect(safeNext('/deals?x=1')).toBe('/deals?x=1')
    for (const bad of [
      '//evil.example',
      '/\\evil.example',
      'https://evil.example',
      'javascript:alert(1)',
      '',
      undefined,
      '/a b',
    ])
      expect(safeNext(bad)).toBe('/')
  })
})

describe('widget assertion signatures', () => {
  it('decodes hex and base64 HMACs to the same 32 bytes and refuses other shapes', async () => {
    const a = await signWidgetAssertion('s3cret', { zuid: '1', orgId: '2', iat: 3, nonce: 'n'.repeat(16) })
    const bytes = decodeSignature(a.sig)!
    expect(bytes).toHaveLength(32)
    const b64 = btoa(String.fromCharCode(...bytes))
    expect(decodeSignature(b64)).toEqual(bytes)
    expect(decodeSignature(b64.replace(/\+/g, '-').replace(/\//g, '_').replace(/=$/, ''))).toEqual(bytes)
    expect(decodeSignature(a.sig.toUpperCase())).toEqual(bytes)
    expect(decodeSignature('abc')).toBeNull()
    expect(decodeSignature(a.sig + '00')).toBeNull()
  })

  it('matches a known HMAC-SHA256 vector (what Deluge computes with "hex")', async () => {
    // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?"
    const key = await crypto.subtle.importKey(
      'raw',
      new TextEncoder().encode('Jefe'),
      { name: 'HMAC', hash: 'SHA-256' },
      false,
      ['verify'],
    )
    const sig = decodeSignature('5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843')!
    expect(
      await crypto.subtle.verify('HMAC', key, sig, new TextEncoder().encode('what do ya want for nothing?')),
    ).toBe(true)
  })
})

describe('OAuth hosts', () => {
  const client = {
    clientId: 'id',
    clientSecret: 'secret',
    accountsUrl: 'https://accounts.zoho.com',
    apiDomain: 'https://www.zohoapis.com',
  }

  it('exchanges at the returned accounts server only when it is a Zoho DC or the configured one', () => {
    expect(callbackAccountsServer(client, 'https://accounts.zoho.eu', 'eu')).toBe('https://accounts.zoho.eu')
    expect(callbackAccountsServer(client, 'https://accounts.zohocloud.ca', 'ca')).toBe(
      'https://accounts.zohocloud.ca',
    )
    expect(callbackAccountsServer(client, undefined, 'in')).toBe('https://accounts.zoho.in')
    expect(callbackAccountsServer(client, undefined, undefined)).toBe('https://accounts.zoho.com')
    expect(() => callbackAccountsServer(client, 'https://accounts.zoho.com.evil.example', 'us')).toThrow()
    expect(() => callbackAccountsServer(client, 'https://accounts.zoho.ca', 'ca')).toThrow()
    const local = { ...client, accountsUrl: 'http://127.0.0.1:9999' }
    expect(callbackAccountsServer(local, 'http://127.0.0.1:9999', 'us')).toBe('http://127.0.0.1:9999')
    expect(callbackAccountsServer(local, undefined, 'us')).toBe('http://127.0.0.1:9999')
  })

  it('starts sign-in at the configured region, or exactly at a configured accounts server', () => {
    const creds = { ZOHO_CLIENT_ID: '1000.X', ZOHO_CLIENT_SECRET: 's', SECRET_KEY: 'k'.repeat(20) }
    expect(oauthClient(loadConfig({ ...creds, ZOHO_REGION: 'eu' })).accountsUrl).toBe(
      'https://accounts.zoho.eu',
    )
    expect(oauthClient(loadConfig({ ...creds, ZOHO_REGION: 'ca' })).accountsUrl).toBe(
      'https://accounts.zohocloud.ca',
    )
    expect(
      oauthClient(loadConfig({ ...creds, ZOHO_ACCOUNTS_URL: 'http://127.0.0.1:7000/' })).accountsUrl,
    ).toBe('http://127.0.0.1:7000')
    expect(() => oauthClient(loadConfig({}))).toThrow(/not configured/)
  })

  it('accepts api_domain values of Zoho DCs or the configured one', () => {
    expect(acceptedApiDomain(client, 'https://www.zohoapis.eu', 'https://accounts.zoho.eu')).toBe(
      'https://www.zohoapis.eu',
    )
    expect(acceptedApiDomain(client, null, 'https://accounts.zoho.jp')).toBe('https://www.zohoapis.jp')
    expect(() => acceptedApiDomain(client, 'https://evil.example', 'https://accounts.zoho.com')).toThrow()
  })
})

describe('signed tokens and secrets at rest', () => {
  it('separates purposes, rejects tampering and expiry', async () => {
    const exp = Math.floor(Date.now() / 1000) + 60
    const t = await signToken('k'.repeat(20), 'session', { exp, userId: '1' })
    expect(await verifyToken('k'.repeat(20), 'session', t)).toMatchObject({ userId: '1' })
    expect(await verifyToken('k'.repeat(20), 'widget-token', t)).toBeNull()
    expect(
      await verifyToken(
        'k'.repeat(20),
        'session',
        t.replace(/^./, (ch) => (ch === 'a' ? 'b' : 'a')),
      ),
    ).toBeNull()
    expect(await verifyToken('k'.repeat(20), 'session', t, (exp + 1) * 1000)).toBeNull()
  })

  it('encrypts with a fresh IV each time and decrypts only with the same key', async () => {
    const a = await encryptSecret('k'.repeat(20), '1000.refresh')
    const b = await encryptSecret('k'.repeat(20), '1000.refresh')
    expect(a).not.toBe(b)
    expect(a).not.toContain('1000.refresh')
    expect(await decryptSecret('k'.repeat(20), a)).toBe('1000.refresh')
    // Another key (SECRET_KEY changed since): an error that says what to do, not WebCrypto's "OperationError".
    await expect(decryptSecret('j'.repeat(20), a)).rejects.toThrow(
      /cannot be decrypted with this SECRET_KEY .*reconnects Zoho CRM and generates a new widget secret/,
    )
  })
})

describe('the shipped Deluge function', () => {
  it('signs the payload the API verifies: the claim fields as JSON, HMAC-SHA256 hex under the secret', async () => {
    const { readFileSync } = await import('node:fs')
    const { widgetClaimsSchema } = await import('#shared/contracts/auth')
    const src = readFileSync(
      new URL('../../deluge/pipelinepulse_widget_assertion.dg', import.meta.url),
      'utf8',
    )
    expect(src).toContain('sig = zoho.encryption.hmacsha256(SECRET,payload,"hex");')
    expect(src).toContain('string standalone.pipelinepulse_widget_assertion()')
    expect(src).not.toMatch(/getOrgVariable/)
    // Evaluate the Deluge payload expression (same string syntax as JS) with realistic values.
    const expr = /\n\s*payload = (.+);\n/.exec(src)![1]!.replace('iat.toString()', 'String(iat)')
    const build = new Function('zuid', 'ORG_ID', 'iat', 'nonce', `return ${expr}`) as (
      ...a: unknown[]
    ) => string
    const payload = build('70000003', '5725767000000411001', 1764160000, 'a'.repeat(32))
    const claims = widgetClaimsSchema.parse(JSON.parse(payload))
    expect(claims).toEqual({
      zuid: '70000003',
      orgId: '5725767000000411001',
      iat: 1764160000,
      nonce: 'a'.repeat(32),
    })
  })
})
