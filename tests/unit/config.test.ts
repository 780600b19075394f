import { describe, expect, it } from 'vitest'
import { loadConfig } from '../../api/src/config'

describe('configuration', () => {
  it('has defaults for a zero-setup start: PGlite, sandbox Zoho org, SGD', () => {
    const c = loadConfig({})
    expect(c).toMatchObject({
      PORT: 8000,
      BASE_CURRENCY: 'SGD',
      CURRENCY_CACHE_DAYS: 7,
      SYNC_INTERVAL_MINUTES: 15,
    })
    expect(c.DATABASE_URL).toBeUndefined()
    expect(c.demoMode).toBe(true)
  })

  it('stops with one line naming the bad variable', () => {
    expect(() => loadConfig({ PORT: 'eighty' })).toThrow(/^Invalid configuration: PORT: /)
    expect(() => loadConfig({ BASE_CURRENCY: 'sgd' })).toThrow(/BASE_CURRENCY: must be a 3-letter ISO code/)
    expect(() => loadConfig({ DATABASE_URL: 'mysql://x' })).toThrow(/DATABASE_URL/)
    expect(() => loadConfig({ ZOHO_CLIENT_ID: 'id' })).toThrow(/ZOHO_CLIENT_SECRET/)
    expect(() => loadConfig({ APP_ENV: 'production' })).toThrow(/SECRET_KEY/)
    // A real Zoho client never runs on the well-known sandbox key (sessions would be forgeable).
    expect(() => loadConfig({ ZOHO_CLIENT_ID: 'id', ZOHO_CLIENT_SECRET: 's' })).toThrow(
      /SECRET_KEY: required with a real Zoho client/,
    )
  })

  it('treats empty strings as unset and honours Zoho and FX URLs exactly', () => {
    const c = loadConfig({
      DATABASE_URL: '',
      ZOHO_API_DOMAIN: 'http://127.0.0.1:9999/z',
      CURRENCY_API_URL: 'http://x.test/v2.0',
    })
    expect(c.DATABASE_URL).toBeUndefined()
    expect(c.ZOHO_API_DOMAIN).toBe('http://127.0.0.1:9999/z')
    expect(c.CURRENCY_API_URL).toBe('http://x.test/v2.0')
  })
})
