import { sql, type SQL } from 'drizzle-orm'
import { query, type Db } from '../db/client'
import { markRollupsBehind } from '../analytics/rollup'
import { loadRateBook, repriceAllDealsOfOrg, repriceWhere, weightedSgdSql } from '../fx/pricing'
import { orgBaseCurrency } from '../fx/store'
import { stageKeys } from '../analytics/stage-keys'
import type { Logger } from '../observability/logger'
import { crmHostFor } from '../zoho/oauth'
import type { ZohoClient, ZohoOrg, ZohoUser } from '../zoho/types'
import { stateFromCategory } from './stages'

/** JSON for a single jsonb bind parameter (jsonb_to_recordset), so a write is one statement. */
export const jsonParam = (v: unknown) => sql`${JSON.stringify(v)}::jsonb`

const DEFAULT_CRM_HOST = 'https://crm.zoho.com'

/**
 * Writes the orgs row from GET /org (time zone, home currency, multi-currency, CRM host per DC) and
 * the reporting currency (BASE_CURRENCY). orgs.base_currency labels every amount of the org and is
 * the base its deals are priced in, so when BASE_CURRENCY changed, the org's deals are re-priced
 * in the new base in the same transaction: amounts and their label never disagree.
 */
export async function upsertOrg(
  db: Db,
  org: ZohoOrg,
  apiDomain: string,
  baseCurrency: string,
): Promise<void> {
  const crmHost = crmHostFor(apiDomain) ?? DEFAULT_CRM_HOST
  await db.transaction(async (tx) => {
    const t = tx as unknown as Db
    const [before] = await query<{ base: string }>(
      t,
      sql`select base_currency as base from orgs where id = ${org.id} for update`,
    )
    await t.execute(sql`
      insert into orgs (id, name, time_zone, home_currency, multi_currency, base_currency, crm_host, domain_name)
      values (${org.id}, ${org.company_name || org.id}, ${org.time_zone || 'UTC'}, ${org.iso_code},
              ${Boolean(org.mc_status)}, ${baseCurrency}, ${crmHost}, ${org.domain_name ?? null})
      on conflict (id) do update set name = excluded.name, time_zone = excluded.time_zone,
        home_currency = excluded.home_currency, multi_currency = excluded.multi_currency,
        base_currency = excluded.base_currency,
        crm_host = excluded.crm_host, domain_name = excluded.domain_name, updated_at = now()`)
    if (before && before.base !== baseCurrency)
      await repriceAllDealsOfOrg(t, await loadRateBook(t, baseCurrency), org.id)
  })
}

export interface MetadataResult {
  calls: number
  users: number
  stages: number
  /** Stored deals whose stage, state, forecast category or effective probability the picklist changed. */
  remapped: number
}

/** What of the stored picklist the history's derived data depends on (refresh_stage_derived). */
async function picklistSignature(db: Db, orgId: string): Promise<string> {
  const [r] = await query<{ sig: string | null }>(
    db,
    sql`select string_agg(concat_ws('|', display_value, actual_value, sequence, used, state), ','
                          order by display_value, sequence) as sig
        from stages where org_id = ${orgId}`,
  )
  return r?.sig ?? ''
}

/**
 * Re-applies the org's stored Stage picklist to its stored deals, as mapDeal would map them now:
 * stage (display value, matched on display or actual value as StageMap does), state, forecast
 * category, effective probability (the deal's own, else the stage's default) and weighted_sgd, in
 * one statement that writes only the deals whose values differ. A deal whose stage is no longer in
 * the picklist (removed in Zoho) becomes state 'unknown' with no forecast category and only its own
 * probability, as mapDeal stores it in a full sync. Deals whose state moved between open (or
 * unknown) and won/lost change rate set (open → newest set, won/lost → their closing Monday's), so
 * they are re-priced from the stored sets. Returns how many deals changed.
 */
export async function applyStagesToDeals(db: Db, orgId: string): Promise<number> {
  const base = await orgBaseCurrency(db, orgId)
  if (!base) return 0
  const closed = (state: SQL) => sql`(${state} in ('won', 'lost'))`
  // One row per value a deal's stage may hold (stageKeys), with that stage's metadata.
  const [res] = await query<{ n: number; moved: string[] }>(
    db,
    sql`with v as (
          select k.key as value, s.display_value, s.state, s.forecast_category, s.probability
          from (${stageKeys(orgId)}) k
          join stages s on s.org_id = ${orgId} and s.display_value = k.display_value
        ), c as (
          -- No v row: the deal's stage left the picklist, which mapDeal stores as state 'unknown'.
          select d.id, coalesce(v.display_value, d.stage) as stage, coalesce(v.state, 'unknown') as state,
                 v.forecast_category, coalesce(d.probability, v.probability) as p,
                 ${closed(sql`d.state`)} <> ${closed(sql`coalesce(v.state, 'unknown')`)} as moved
          from deals d left join v on v.value = d.stage
          where d.org_id = ${orgId}
            and (d.stage <> coalesce(v.display_value, d.stage) or d.state <> coalesce(v.state, 'unknown')
                 or d.forecast_category is distinct from v.forecast_category
                 or d.effective_probability is distinct from coalesce(d.probability, v.probability))
        ), u as (
          update deals d set stage = c.stage, state = c.state, forecast_category = c.forecast_category,
            effective_probability = c.p, weighted_sgd = ${weightedSgdSql(sql`d.amount_sgd`, sql`c.p`, base)}
          from c where d.org_id = ${orgId} and d.id = c.id
          returning d.id, c.moved
        )
        select count(*)::int as n, coalesce(jsonb_agg(id) filter (where moved), '[]'::jsonb) as moved from u`,
  )
  const moved = res?.moved ?? []
  if (moved.length)
    await repriceWhere(
      db,
      await loadRateBook(db, base),
      sql`d.id in (select jsonb_array_elements_text(${jsonParam(moved)}))`,
      orgId,
    )
  return res?.n ?? 0
}

/**
 * Org, currencies, users of every status, roles, layouts → pipelines, and the Stage picklist.
 * About 8 calls; each table is written with one statement.
 */
export async function syncMetadata(
  db: Db,
  client: ZohoClient,
  orgId: string,
  opts: { apiDomain: string; baseCurrency: string; logger: Logger },
): Promise<MetadataResult> {
  const before = client.stats.calls
  const org = await client.getOrg()
  if (org.id !== orgId) throw new Error(`Zoho answered org ${org.id} for the connection of org ${orgId}`)
  await upsertOrg(db, org, opts.apiDomain, opts.baseCurrency)

  if (org.mc_status) {
    const currencies = await client.getCurrencies()
    if (currencies)
      await db.execute(sql`
        update orgs set settings = jsonb_set(settings, '{zohoCurrencies}', ${jsonParam(
          currencies.map((c) => ({
            iso: c.iso_code,
            rate: c.exchange_rate,
            base: c.is_base,
            active: c.is_active,
          })),
        )}) where id = ${orgId}`)
  }

  // Deals can belong to deactivated or deleted users: AllUsers plus DeletedUsers.
  const byId = new Map<string, ZohoUser>()
  for (const u of await client.getUsers('AllUsers')) byId.set(u.id, u)
  for (const u of await client.getUsers('DeletedUsers'))
    if (!byId.has(u.id)) byId.set(u.id, { ...u, status: 'deleted' })
  const users = [...byId.values()].map((u) => ({
    id: u.id,
    zuid: u.zuid ?? null,
    full_name: u.full_name || u.email || u.id,
    email: u.email ?? null,
    status: u.status || 'active',
    role_id: u.role?.id ?? null,
    profile_id: u.profile?.id ?? null,
    profile_name: u.profile?.name ?? null,
    reporting_to_id: u.Reporting_To?.id ?? null,
    time_zone: u.time_zone ?? null,
  }))
  if (users.length)
    await db.execute(sql`
      insert into users (org_id, id, zuid, full_name, email, status, role_id, profile_id, profile_name, reporting_to_id, time_zone)
      select ${orgId}, x.id, x.zuid, x.full_name, x.email, x.status, x.role_id, x.profile_id, x.profile_name,
             x.reporting_to_id, x.time_zone
      from jsonb_to_recordset(${jsonParam(users)}) as x(id text, zuid text, full_name text, email text, status text,
        role_id text, profile_id text, profile_name text, reporting_to_id text, time_zone text)
      on conflict (org_id, id) do update set zuid = excluded.zuid, full_name = excluded.full_name,
        email = excluded.email, status = excluded.status, role_id = excluded.role_id,
        profile_id = excluded.profile_id, profile_name = excluded.profile_name,
        reporting_to_id = excluded.reporting_to_id, time_zone = excluded.time_zone, updated_at = now()`)

  const roles = (await client.getRoles()).map((r) => ({
    id: r.id,
    name: r.display_label || r.name,
    reports_to_id: r.reporting_to?.id ?? null,
  }))
  await db.transaction(async (tx) => {
    await tx.execute(sql`delete from roles where org_id = ${orgId}`)
    if (roles.length)
      await tx.execute(sql`
        insert into roles (org_id, id, name, reports_to_id)
        select ${orgId}, x.id, x.name, x.reports_to_id
        from jsonb_to_recordset(${jsonParam(roles)}) as x(id text, name text, reports_to_id text)`)
  })

  const pipelines: {
    id: string
    layout_id: string
    display_value: string
    actual_value: string
    is_default: boolean
    stages: string[]
  }[] = []
  for (const layout of await client.getLayouts('Deals')) {
    for (const p of await client.getPipelines(layout.id)) {
      if (pipelines.some((x) => x.id === p.id)) continue
      pipelines.push({
        id: p.id,
        layout_id: layout.id,
        display_value: p.display_value,
        actual_value: p.actual_value,
        is_default: Boolean(p.default),
        stages: [...p.maps].sort((a, b) => a.sequence_number - b.sequence_number).map((m) => m.display_value),
      })
    }
  }

  const picklist = await client.getStagePicklist()
  const stages = picklist.map((v) => {
    const state = stateFromCategory(v.deal_category, v.forecast_type)
    if (!state)
      opts.logger.warn('stage without deal_category/forecast_type; treated as open', {
        orgId,
        stage: v.display_value,
      })
    return {
      display_value: v.display_value,
      actual_value: v.actual_value,
      zoho_id: v.id ?? null,
      sequence: v.sequence_number,
      probability: v.probability,
      state: state ?? 'open',
      forecast_type: v.forecast_type ?? v.deal_category ?? null,
      forecast_category: v.forecast_category?.name ?? null,
      used: v.type !== 'unused',
    }
  })

  let remapped = 0
  await db.transaction(async (tx) => {
    await tx.execute(sql`delete from pipelines where org_id = ${orgId}`)
    if (pipelines.length)
      await tx.execute(sql`
        insert into pipelines (org_id, id, layout_id, display_value, actual_value, is_default, stages)
        select ${orgId}, x.id, x.layout_id, x.display_value, x.actual_value, x.is_default, x.stages
        from jsonb_to_recordset(${jsonParam(pipelines)}) as x(id text, layout_id text, display_value text,
          actual_value text, is_default boolean, stages jsonb)`)
    const before = await picklistSignature(tx as unknown as Db, orgId)
    await tx.execute(sql`delete from stages where org_id = ${orgId}`)
    if (stages.length)
      await tx.execute(sql`
        insert into stages (org_id, display_value, actual_value, zoho_id, sequence, probability, state,
                            forecast_type, forecast_category, used)
        select distinct on (x.display_value) ${orgId}, x.display_value, x.actual_value, x.zoho_id, x.sequence,
               x.probability, x.state, x.forecast_type, x.forecast_category, x.used
        from jsonb_to_recordset(${jsonParam(stages)}) as x(display_value text, actual_value text, zoho_id text,
          sequence int, probability smallint, state text, forecast_type text, forecast_category text, used boolean)
        order by x.display_value, x.sequence`)
    // Stored deals follow the picklist in the same transaction: stages and deals never disagree.
    remapped = await applyStagesToDeals(tx as unknown as Db, orgId)
    // So do the stays and furthest stages derived from the history (display values and ranks).
    if ((await picklistSignature(tx as unknown as Db, orgId)) !== before)
      await tx.execute(sql`select refresh_stage_derived(${orgId},
        array(select distinct deal_id from stage_history where org_id = ${orgId}))`)
    await tx.execute(sql`
      insert into sync_state (org_id, metadata_refreshed_at) values (${orgId}, now())
      on conflict (org_id) do update set metadata_refreshed_at = now()`)
  })
  // The run refreshes rollups at its end (metadata_refreshed_at makes rollupBehind true); until
  // then, or if it fails first, reads must not answer from rollups built on the old stage values.
  if (remapped) await markRollupsBehind(db, orgId)

  return { calls: client.stats.calls - before, users: users.length, stages: stages.length, remapped }
}
