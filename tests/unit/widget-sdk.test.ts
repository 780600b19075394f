import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { SDK_URL, runsFunctionsAsCurrentUser } from '../e2e/crm-standin'

/**
 * The widget signs users in with ZOHO.CRM.FUNCTIONS.execute, which runs the Deluge function as the
 * current user only since Embedded App SDK 1.4 (reference zoho-widget.md §1.1, §2.3). Under an
 * older SDK it runs as the org admin, so every rep would be signed in as the admin.
 */
const html = readFileSync(new URL('../../widget/widget.html', import.meta.url), 'utf8')
const sdkScripts = [...html.matchAll(/<script\b[^>]*\bsrc="([^"]*ZohoEmbededAppSDK[^"]*)"/g)].map(
  (m) => m[1]!,
)

describe('widget.html loads the Zoho Embedded App SDK', () => {
  it('once, pinned to an explicit version from the official CDN', () => {
    expect(sdkScripts).toHaveLength(1)
    expect(sdkScripts[0]).toMatch(
      /^https:\/\/live\.zwidgets\.com\/js-sdk\/\d+\.\d+(\.\d+)?\/ZohoEmbededAppSDK\.min\.js$/,
    )
  })

  it('1.4 or later, where the sign-in function runs as the current user rather than the admin', () => {
    const version = /\/js-sdk\/([\d.]+)\//.exec(sdkScripts[0] ?? '')?.[1] ?? '0'
    expect(runsFunctionsAsCurrentUser(version), `SDK ${version} runs functions as the org admin`).toBe(true)
    expect(runsFunctionsAsCurrentUser('1.2')).toBe(false)
    expect(runsFunctionsAsCurrentUser('1.10')).toBe(true)
  })

  it('the very URL the e2e CRM stand-in serves', () => {
    expect(sdkScripts[0]).toBe(SDK_URL)
  })
})
