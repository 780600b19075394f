import { expect, it } from 'vitest'
import { buildOrg } from '../../api/src/sandbox/org'
import { serverAndBrowser } from './server'
import { apiJson, createSandboxDeal, newWidgetSecret, norm, signIn, syncNow, waitForSync } from './helpers'
import { crmUser, openDealInCrm } from './crm-standin'

/*
 * A Deal's page inside Zoho CRM shows its risk flags however many deals rank above it: a rep gets
 * 1,001 overdue deals in Qualification (through the sandbox CRM and a sync), and the page of the
 * smallest, past the first 1,000 of the risk listing, still says it is overdue.
 */

const { server, newContext, sandboxUrl } = serverAndBrowser({}, { demoSandbox: true })

const createDeal = (fields: Record<string, unknown>) => createSandboxDeal(sandboxUrl(), fields)

it("shows a deal's risk flags past the first 1,000 deals of the risk listing", async () => {
  const admin = await signIn(await newContext(), server.url, 'admin')
  await waitForSync(admin)
  const orgId = (await apiJson<{ org: { id: string } }>(admin, '/api/v1/me')).org.id
  const secret = await newWidgetSecret(admin)
  const { users } = await apiJson<{ users: { userId: string; role: string }[] }>(admin, '/api/v1/admin/users')
  const crmUsers = new Map(buildOrg(42, 'USD').users.all.map((u) => [u.id, u]))
  const crm = users.filter((u) => u.role === 'rep').map((u) => crmUsers.get(u.userId))
  const rep = crm.find((u) => u?.status === 'active')!
  expect(rep).toBeTruthy()

  const overdue = { Owner: rep.id, Stage: 'Qualification', Closing_Date: '2025-01-06' }
  for (let i = 0; i < 1000; i += 50)
    await Promise.all(Array.from({ length: 50 }, () => createDeal({ ...overdue, Amount: 1_000_000 })))
  const small = await createDeal({ ...overdue, Deal_Name: 'Smallest deal', Amount: 1 })
  await syncNow(admin)

  // The listing the page used to search stops before this deal.
  const listed = await apiJson<{ counts: { total: number }; deals: { id: string }[] }>(
    admin,
    `/api/v1/risk?stage=Qualification&owner=${rep.id}&limit=1000`,
  )
  expect(listed.counts.total).toBeGreaterThan(1000)
  expect(listed.deals.map((d) => d.id)).not.toContain(small)

  const ctx = await newContext()
  const { w } = await openDealInCrm(ctx, server.url, {
    secret,
    orgId,
    user: crmUser(rep),
    dealId: small,
  })
  // Either answer, once the flags have loaded.
  await w.getByText('No risk flags.').or(w.getByTestId('deal-risks')).waitFor({ timeout: 60_000 })
  expect(norm(await w.getByTestId('deal-view').textContent())).not.toContain('No risk flags')
  expect(norm(await w.getByTestId('deal-risks').textContent())).toContain(
    'overdue Closing date 6 Jan 2025 has passed',
  )
})
