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

  it('refuses a schedule the scheduler cannot run, and CORS origins a browser never sends', () => {
    expect(() => loadConfig({ CURRENCY_UPDATE_SCHEDULE: '0 0 * * FOO' })).toThrow(
      /^Invalid configuration: CURRENCY_UPDATE_SCHEDULE: not a valid cron pattern/,
    )
    expect(() => loadConfig({ CURRENCY_UPDATE_SCHEDULE: '0 25 * * *' })).toThrow(/CURRENCY_UPDATE_SCHEDULE/)
    expect(loadConfig({ CURRENCY_UPDATE_SCHEDULE: '30 1 * * MON' }).CURRENCY_UPDATE_SCHEDULE).toBe(
      '30 1 * * MON',
    )
    // Every 90 minutes cannot be one cron (*/90 is not a minute); 45 would run at :00 and :45.
    expect(() => loadConfig({ SYNC_INTERVAL_MINUTES: '90' })).toThrow(
      /^Invalid configuration: SYNC_INTERVAL_MINUTES: must be one of/,
    )
    expect(() => loadConfig({ SYNC_INTERVAL_MINUTES: '45' })).toThrow(/SYNC_INTERVAL_MINUTES/)
    expect(loadConfig({ SYNC_INTERVAL_MINUTES: '120' }).SYNC_INTERVAL_MINUTES).toBe(120)
    expect(() => loadConfig({ CORS_ORIGINS: 'not a url' })).toThrow(/^Invalid configuration: CORS_ORIGINS: /)
    expect(() => loadConfig({ CORS_ORIGINS: '*' })).toThrow(/CORS_ORIGINS/)
    expect(() => loadConfig({ CORS_ORIGINS: 'https://a.example.com/path' })).toThrow(/CORS_ORIGINS/)
    expect(loadConfig({ CORS_ORIGINS: 'https://a.example.com, http://localhost:5173' }).CORS_ORIGINS).toBe(
      'https://a.example.com, http://localhost:5173',
    )
  })

  it('lets only test runs against a loopback sandbox go without SECRET_KEY', () => {
    const client = { ZOHO_CLIENT_ID: 'id', ZOHO_CLIENT_SECRET: 's', APP_ENV: 'test' }
    // APP_ENV=test pointed at Zoho itself would sign real sessions with the public key.
    expect(() => loadConfig(client)).toThrow(/SECRET_KEY: required with a real Zoho client/)
    expect(() => loadConfig({ ...client, ZOHO_ACCOUNTS_URL: 'https://accounts.zoho.eu' })).toThrow(
      /SECRET_KEY/,
    )
    expect(loadConfig({ ...client, ZOHO_ACCOUNTS_URL: 'http://127.0.0.1:4000' }).demoMode).toBe(false)
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
