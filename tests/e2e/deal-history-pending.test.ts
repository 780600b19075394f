import { expect, it } from 'vitest'
import { buildOrg } from '../../api/src/sandbox/org'
import { serverAndBrowser } from './server'
import { apiJson, norm, signIn, waitForSync } from './helpers'
import { installCrmStandIn } from './crm-standin'

/*
 * The demo org has 2,000 deals and a sync reads the Stage_History of at most 100 of them, newest
 * modified first: after the first sync, the open deal modified longest ago has no history read yet.
 * Its Deal page inside Zoho CRM says the history is still to come, not that the deal never changed
 * stage, and qualifies its days in stage, counted from its creation until then.
 */

const { server, newContext } = serverAndBrowser()

it('says a deal whose stage history is not read yet is waiting for it, not that it has none', async () => {
  const admin = await signIn(await newContext(), server.url, 'admin')
  await waitForSync(admin)
  const orgId = (await apiJson<{ org: { id: string } }>(admin, '/api/v1/me')).org.id
  const secret = (
    await apiJson<{ secret: string }>(admin, '/api/v1/admin/widget-secret', { method: 'POST', body: {} })
  ).secret
  const {
    deals: [oldest],
  } = await apiJson<{ deals: { id: string; stage: string }[] }>(
    admin,
    '/api/v1/deals?state=open&sort=modified&dir=asc&limit=1',
  )
  expect(oldest).toBeTruthy()
  const detail = await apiJson<{ stageHistory: unknown[] }>(admin, `/api/v1/deals/${oldest!.id}`)
  expect(detail.stageHistory).toEqual([])

  const user = buildOrg(42, 'USD').users.admin
  const ctx = await newContext()
  const crmUrl = await installCrmStandIn(ctx, server.url, {
    secret,
    orgId,
    user: { id: user.id, zuid: user.zuid, full_name: user.full_name, email: user.email },
    pageLoad: { Entity: 'Deals', EntityId: [oldest!.id], ButtonPosition: 'DetailView' },
  })
  const page = await ctx.newPage()
  await page.goto(crmUrl)
  const w = page.frameLocator('#w')
  await w.getByTestId('deal-view').waitFor({ timeout: 60_000 })

  expect(norm(await w.getByRole('region', { name: 'Stage history' }).textContent())).toContain(
    "This deal's stage history has not been read from Zoho CRM yet: it arrives with the coming syncs.",
  )
  expect(norm(await w.getByTestId('deal-view').textContent())).not.toContain('No stage changes recorded.')

  // The days count from the deal's creation: an upper bound, said so.
  const days = norm(await w.getByTestId('deal-days').textContent())
  expect(days).toMatch(/^up to [\d,.]+ days? in /)
  expect(days).toContain(` in ${oldest!.stage} so far.`)
  expect(norm(await w.getByTestId('deal-days-provisional').textContent())).toBe(
    `Counted from when the deal was created, until its stage history from Zoho CRM says when it entered ${oldest!.stage}.`,
  )
})
