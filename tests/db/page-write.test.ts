import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { sql } from 'drizzle-orm'
import { query, type Database } from '../../api/src/db/client'
import type { DealRow } from '../../api/src/sync/map'
import { upsertDeals, type PageCommit } from '../../api/src/sync/write'
import { createTestDatabase, testDbKind } from '../helpers/db'

/*
 * Page writes as a full sync makes them, each one statement with the lease gate and the
 * checkpoint. A page expected to be new takes a plain INSERT; should a deal of it be stored, that
 * statement fails whole and the upsert statement, which compares with stored rows, writes the page.
 * Either way the table must hold exactly what the page said, and the checkpoint count it once.
 */

const ORG = 'org-page-write'

function deal(i: number, over: Partial<DealRow> = {}): DealRow {
  return {
    id: String(4_876_543_210_000_000_000n + BigInt(i)),
    name: `Deal ${i}`,
    stage: 'Qualification',
    state: 'open',
    forecast_category: 'Pipeline',
    pipeline: 'Standard',
    owner_id: '111',
    owner_name: 'Ann Tan',
    account_name: null,
    territory: null,
    amount: '12345678901234.50',
    currency: 'USD',
    zoho_exchange_rate: '0.7412',
    probability: 20,
    effective_probability: 20,
    amount_sgd: '16656606393946.40',
    weighted_sgd: '3331321278789.280',
    fx_rate: '1.349123456789012345678901234567',
    fx_date: '2026-11-23',
    fx_source: 'currencyfreaks',
    fx_estimated: false,
    closing_date: '2026-12-31',
    created_time: '2026-01-05T09:00:00+08:00',
    modified_time: '2026-02-01T10:00:00+08:00',
    last_activity_time: null,
    ...over,
  }
}

describe(`page writes (${testDbKind})`, () => {
  let database: Database
  beforeAll(async () => {
    database = await createTestDatabase()
    await database.db.execute(
      sql`insert into orgs (id, name, time_zone, home_currency, multi_currency, base_currency, crm_host)
          values (${ORG}, 'Page Write Pte Ltd', 'Asia/Singapore', 'SGD', true, 'SGD', 'https://crm.zoho.com')`,
    )
    await database.db.execute(
      sql`insert into sync_state (org_id, lease_owner, lease_expires_at) values (${ORG}, 'me', now() + interval '1 hour')`,
    )
  })
  afterAll(async () => {
    await database?.close()
  })

  /** The gate and checkpoint a sync page commits with: the lease renewal and a counter. */
  const page = (holder: string): PageCommit => ({
    gate: sql`update sync_state set lease_expires_at = now() + interval '1 hour'
              where org_id = ${ORG} and lease_owner = ${holder} returning org_id`,
    progress: (changed) => sql`update orgs set settings = jsonb_build_object('changed',
        coalesce((settings->>'changed')::int, 0) + ${changed}) where id = ${ORG}`,
  })
  const changedSoFar = async () =>
    (
      await query<{ n: number }>(
        database.db,
        sql`select (settings->>'changed')::int as n from orgs where id = ${ORG}`,
      )
    )[0]?.n ?? 0

  async function stored() {
    return query<Record<string, unknown>>(
      database.db,
      sql`select id, name, stage, state, forecast_category, pipeline, owner_id, owner_name, account_name, territory,
            amount::text, currency, zoho_exchange_rate::text, probability, effective_probability,
            amount_sgd::text, weighted_sgd::text, fx_rate::text, fx_date::text, fx_source, fx_estimated,
            closing_date::text, extract(epoch from created_time)::int as created, extract(epoch from modified_time)::int as modified,
            last_activity_time is null as no_activity, extract(epoch from stage_entered_at)::int as entered,
            closing_push_count
          from deals where org_id = ${ORG} order by id`,
    )
  }
  const epoch = (t: string) => Date.parse(t) / 1000

  it('stores every field exactly as the page gave it, text that needs escaping included', async () => {
    const awkward = [
      'Tab\there',
      'Line\nbreak\r\nCRLF',
      'Back\\slash \\N \\t',
      'Quotes "x" \'y\', 日本語 ✓',
      '',
      'NULL',
      '{braces}, commas',
      '  padded  ',
      '"',
      '\\',
    ]
    const rows = awkward.map((name, i) =>
      deal(i, { name, account_name: i % 2 ? `Acme\\${i}` : null, territory: i === 1 ? 'APAC\tNorth' : null }),
    )
    rows.push(deal(15, { amount: null, amount_sgd: null, weighted_sgd: null, fx_rate: null, fx_date: null }))
    const r = await upsertDeals(database.db, ORG, rows, {
      recordNew: false,
      page: page('me'),
      expectNew: true,
    })
    expect(r).toEqual({ written: rows.length, changed: rows.length, gated: true, stored: 0 })
    expect(await changedSoFar()).toBe(rows.length)

    const got = await stored()
    expect(got.map((g) => g.name)).toEqual(rows.map((x) => x.name))
    for (const [i, x] of rows.entries()) {
      expect(got[i]).toEqual({
        id: x.id,
        name: x.name,
        stage: x.stage,
        state: x.state,
        forecast_category: x.forecast_category,
        pipeline: x.pipeline,
        owner_id: x.owner_id,
        owner_name: x.owner_name,
        account_name: x.account_name,
        territory: x.territory,
        amount: x.amount,
        currency: x.currency,
        zoho_exchange_rate: x.zoho_exchange_rate,
        probability: x.probability,
        effective_probability: x.effective_probability,
        amount_sgd: x.amount_sgd,
        weighted_sgd: x.weighted_sgd,
        fx_rate: x.fx_rate,
        fx_date: x.fx_date,
        fx_source: x.fx_source,
        fx_estimated: x.fx_estimated,
        closing_date: x.closing_date,
        created: epoch(x.created_time),
        modified: epoch(x.modified_time),
        no_activity: true,
        entered: epoch(x.created_time),
        closing_push_count: 0,
      })
    }
  })

  it('a page expected new but mixing stored deals: the insert fails whole, the upsert writes it once', async () => {
    const before = await changedSoFar()
    const rows = [
      // stored, moved on: stage change at Modified_Time, closing date pushed later
      deal(0, {
        name: 'Tab\there',
        stage: 'Negotiation',
        closing_date: '2027-01-31',
        modified_time: '2026-03-01T10:00:00+08:00',
      }),
      // stored, unchanged (same Modified_Time): written again, not counted as changed
      deal(2, { name: 'Back\\slash \\N \\t' }),
      // stored, but this copy is older than the stored one: ignored
      deal(3, { name: 'stale', modified_time: '2025-12-01T10:00:00+08:00' }),
      // new
      deal(20, { name: 'Brand new' }),
    ]
    const count = (await stored()).length
    const r = await upsertDeals(database.db, ORG, rows, {
      recordNew: false,
      page: page('me'),
      expectNew: true,
    })
    expect(r).toEqual({ written: 3, changed: 2, gated: true, stored: 3 })
    // The failed insert left nothing behind: one new row, one checkpoint count.
    expect((await stored()).length).toBe(count + 1)
    expect((await changedSoFar()) - before).toBe(2)

    const byId = new Map((await stored()).map((g) => [g.id, g]))
    expect(byId.get(rows[0]!.id)).toMatchObject({
      stage: 'Negotiation',
      entered: epoch('2026-03-01T10:00:00+08:00'),
      closing_push_count: 1,
    })
    expect(byId.get(rows[2]!.id)).toMatchObject({ name: 'Quotes "x" \'y\', 日本語 ✓' })
    expect(byId.get(rows[3]!.id)).toMatchObject({ name: 'Brand new', entered: epoch(rows[3]!.created_time) })
    const history = await query<{ deal_id: string; stage: string; source: string }>(
      database.db,
      sql`select deal_id, stage, source from stage_history where org_id = ${ORG}`,
    )
    expect(history).toEqual([{ deal_id: rows[0]!.id, stage: 'Negotiation', source: 'sync' }])
  })

  it('writes nothing, not even new deals or progress, once the lease is held by someone else', async () => {
    const before = { deals: (await stored()).length, changed: await changedSoFar() }
    for (const expectNew of [true, false]) {
      for (const rows of [
        [deal(30), deal(31)],
        [deal(30), deal(0, { name: 'lost' })],
      ]) {
        const r = await upsertDeals(database.db, ORG, rows, {
          recordNew: false,
          page: page('someone-else'),
          expectNew,
        })
        expect(r.gated).toBe(false)
      }
    }
    expect((await stored()).length).toBe(before.deals)
    expect((await stored()).find((g) => g.name === 'lost')).toBeUndefined()
    expect(await changedSoFar()).toBe(before.changed)
  })
})
