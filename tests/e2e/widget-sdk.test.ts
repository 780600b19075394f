import { beforeAll, describe, expect, it } from 'vitest'
import type { Page } from 'playwright-core'
import { buildOrg } from '../../api/src/sandbox/org'
import { serverAndBrowser } from './server'
import { apiJson, newWidgetSecret, norm, signIn } from './helpers'
import { crmUser, type CrmUser, installCrmStandIn, SDK_URL, WIDGET_ORIGIN } from './crm-standin'

/*
 * Who the widget signs in. Its sign-in runs the Deluge function through ZOHO.CRM.FUNCTIONS.execute,
 * which runs as the current user only since Embedded App SDK 1.4; under 1.2 it runs as the org admin
 * (reference zoho-widget.md §1.1, §2.3). The CRM stand-in behaves that way, so a widget that loads an
 * SDK older than 1.4 signs every rep in as the admin here as it would in Zoho.
 */

const { server, newContext: context } = serverAndBrowser()
let secret: string
let orgId: string
let rep: CrmUser
let admin: { zuid: string; full_name: string }

beforeAll(async () => {
  const page = await signIn(await context(), server.url, 'admin')
  orgId = (await apiJson<{ org: { id: string } }>(page, '/api/v1/me')).org.id
  secret = await newWidgetSecret(page)
  const { users } = await apiJson<{ users: { userId: string; role: string }[] }>(page, '/api/v1/admin/users')
  // The stand-in CRM plays Zoho: it knows each user's ZUID (the demo's sandbox org, seed 42).
  const org = buildOrg(42, 'USD').users
  const r = org.all.find((u) => users.some((x) => x.userId === u.id && x.role === 'rep'))!
  rep = crmUser(r)
  admin = { zuid: org.admin.zuid, full_name: org.admin.full_name }
})

/** Opens the Pipeline Pulse web tab in the CRM stand-in as the rep; `sdk` swaps the SDK widget.html loads. */
async function openAsRep(sdk?: string): Promise<Page> {
  const ctx = await context()
  const crmUrl = await installCrmStandIn(ctx, server.url, {
    secret,
    orgId,
    user: rep,
    pageLoad: null,
    admin: { zuid: admin.zuid },
  })
  if (sdk)
    // Registered last, so it runs before the stand-in's proxy of the widget's host.
    await ctx.route(`${WIDGET_ORIGIN}/widget.html*`, async (route) => {
      const response = await route.fetch({ url: `${server.url}/widget.html` })
      const html = (await response.text()).replace(SDK_URL, sdk)
      await route.fulfill({ response, body: html })
    })
  const page = await ctx.newPage()
  await page.goto(crmUrl)
  return page
}

const whoami = async (page: Page) => {
  const w = page.frameLocator('#w')
  await w.getByTestId('whoami').waitFor({ timeout: 60_000 })
  return norm(await w.getByTestId('whoami').textContent())
}

describe('widget sign-in inside Zoho CRM', () => {
  it('signs a rep in as that rep, on the SDK 1.4 widget.html loads', async () => {
    const page = await openAsRep()
    const who = await whoami(page)
    expect(who).toContain(`${rep.full_name} · rep`)
    expect(who).not.toContain(admin.full_name)
    expect(await page.evaluate(() => (window as unknown as { sdkVersion: string }).sdkVersion)).toBe('1.4')
  })

  it('(control) on SDK 1.2 the same rep would be signed in as the admin', async () => {
    const page = await openAsRep(SDK_URL.replace('/1.4/', '/1.2/'))
    const who = await whoami(page)
    expect(await page.evaluate(() => (window as unknown as { sdkVersion: string }).sdkVersion)).toBe('1.2')
    expect(who).toContain(`${admin.full_name} · admin`)
  })
})
