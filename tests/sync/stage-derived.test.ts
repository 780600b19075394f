import { describe, expect, it } from 'vitest'
import { sql } from 'drizzle-orm'
import { query, type Db } from '../../api/src/db/client'
import { localDate } from '../../api/src/analytics/period'
import { runOrgSync } from '../../api/src/sync/run'
import { testDbKind } from '../helpers/db'
import { sandboxSuite } from './setup'

/*
 * Time in stage, the stuck thresholds and the funnel read what the stage_history trigger keeps
 * (stage_stays, deals.furthest_stage) instead of the history itself. Whatever writes the history
 * (backfill, the sync's observed changes, deletions) and whatever the picklist becomes, that data
 * must equal what the history and the picklist say, derived here from scratch.
 */

interface HistoryRow {
  deal_id: string
  stage: string
  entered_at: string
}
interface StageRow {
  display_value: string
  actual_value: string
  sequence: number
  used: boolean
  state: string
}

async function fromScratch(db: Db, orgId: string) {
  const history = await query<HistoryRow>(
    db,
    sql`select deal_id, stage, to_json(entered_at)#>>'{}' as entered_at from stage_history where org_id = ${orgId}`,
  )
  const [org] = await query<{ time_zone: string }>(db, sql`select time_zone from orgs where id = ${orgId}`)
  // A stay's end as a date in the org's zone (Intl's time zone data), and its calendar days.
  const day = (at: number) => localDate(new Date(at), org!.time_zone)
  const days = (from: number, to: number) => (Date.parse(day(to)) - Date.parse(day(from))) / 86_400_000
  const stages = await query<StageRow>(
    db,
    sql`select display_value, actual_value, sequence, used, state from stages where org_id = ${orgId}`,
  )
  // Display value of a Stage value: a display match wins, then the latest actual match by sequence.
  const display = (v: string) =>
    stages.find((s) => s.display_value === v)?.display_value ??
    stages.filter((s) => s.actual_value === v).sort((a, b) => b.sequence - a.sequence)[0]?.display_value ??
    v
  const open = stages.filter((s) => s.used && s.state === 'open').sort((a, b) => a.sequence - b.sequence)
  const rank = (v: string) =>
    Math.max(0, ...open.flatMap((s, i) => (s.display_value === v || s.actual_value === v ? [i + 1] : [])))
  const byDeal = new Map<string, HistoryRow[]>()
  for (const h of history) byDeal.set(h.deal_id, [...(byDeal.get(h.deal_id) ?? []), h])
  // A stay carries its deal's owner now (null when the deal is not stored).
  const owners = new Map(
    (
      await query<{ id: string; owner_id: string | null }>(
        db,
        sql`select id, owner_id from deals where org_id = ${orgId}`,
      )
    ).map((d) => [d.id, d.owner_id]),
  )
  const won = new Set(
    (
      await query<{ id: string }>(db, sql`select id from deals where org_id = ${orgId} and state = 'won'`)
    ).map((d) => d.id),
  )
  const wonDays = new Map<string, number[]>()
  // Finished stays by the day they ended and stage: count and days (stay_day_totals).
  const totals: Record<string, string> = {}
  const stays: string[] = []
  const furthest = new Map<string, string>()
  for (const [deal, rows] of byDeal) {
    const runs = rows
      .map((r) => ({ stage: display(r.stage), at: Date.parse(r.entered_at) }))
      .sort((a, b) => a.at - b.at || (a.stage < b.stage ? -1 : a.stage > b.stage ? 1 : 0))
      .filter((r, i, all) => i === 0 || all[i - 1]!.stage !== r.stage)
    runs.forEach((r, i) => {
      const left = runs[i + 1]?.at
      stays.push(
        `${deal} ${r.stage} ${r.at} ${left ?? '-'} ${left ? `${day(left)} ${days(r.at, left)}` : '- -'} ${owners.get(deal) ?? '-'}`,
      )
      if (!left) return
      if (won.has(deal)) wonDays.set(r.stage, [...(wonDays.get(r.stage) ?? []), days(r.at, left)])
      const [n, sum] = (totals[`${day(left)} ${r.stage}`] ?? '0 0').split(' ').map(Number)
      totals[`${day(left)} ${r.stage}`] = `${n! + 1} ${sum! + days(r.at, left)}`
    })
    const top = Math.max(...rows.map((r) => rank(r.stage)))
    if (top > 0) furthest.set(deal, open[top - 1]!.display_value)
  }
  // The stuck thresholds' medians: per open stage, the median of won deals' finished stays.
  const median = (v: number[] = []) => {
    const x = [...v].sort((a, b) => a - b)
    const mid = Math.floor(x.length / 2)
    return x.length ? String(x.length % 2 ? x[mid]! : (x[mid - 1]! + x[mid]!) / 2) : null
  }
  const medians = Object.fromEntries(
    stages
      .filter((s) => s.state === 'open')
      .map((s) => [s.display_value, median(wonDays.get(s.display_value))]),
  )
  return { stays: stays.sort(), furthest, medians, totals }
}

async function stored(db: Db, orgId: string) {
  const stays = await query<{ s: string }>(
    db,
    sql`select deal_id || ' ' || stage || ' ' || (extract(epoch from entered_at) * 1000)::bigint || ' ' ||
               coalesce(((extract(epoch from left_at) * 1000)::bigint)::text, '-') || ' ' ||
               coalesce(to_char(left_on, 'YYYY-MM-DD'), '-') || ' ' || coalesce(days::text, '-') || ' ' ||
               coalesce(owner_id, '-') as s
        from stage_stays where org_id = ${orgId}`,
  )
  const deals = await query<{ id: string; furthest_stage: string }>(
    db,
    sql`select id, furthest_stage from deals where org_id = ${orgId} and furthest_stage is not null`,
  )
  // Filled at the end of each sync run (warmStageMedians), in the org's time zone.
  const medians = await query<{ stage: string; median: string | null }>(
    db,
    sql`select m.stage, m.median::text as median from stage_medians m join orgs o on o.id = m.org_id
        where m.org_id = ${orgId} and m.time_zone = o.time_zone`,
  )
  return {
    stays: stays.map((r) => r.s).sort(),
    furthest: new Map(deals.map((d) => [d.id, d.furthest_stage])),
    medians: Object.fromEntries(medians.map((r) => [r.stage, r.median])),
    totals: Object.fromEntries(
      (
        await query<{ k: string; v: string }>(
          db,
          sql`select to_char(left_on, 'YYYY-MM-DD') || ' ' || stage as k, stays || ' ' || days as v
              from stay_day_totals where org_id = ${orgId}`,
        )
      ).map((r) => [r.k, r.v]),
    ),
  }
}

describe(`stays and furthest stages follow the history and the picklist (${testDbKind})`, () => {
  const { database, h } = sandboxSuite({ sandbox: { deals: 300 } })
  const check = async () => {
    const want = await fromScratch(database.db, h.orgId)
    expect(await stored(database.db, h.orgId)).toEqual(want)
    return want
  }
  const historyBySource = async () =>
    Object.fromEntries(
      (
        await query<{ source: string; n: number }>(
          database.db,
          sql`select source, count(*)::int as n from stage_history where org_id = ${h.orgId} group by source`,
        )
      ).map((r) => [r.source, r.n]),
    )

  it('after the backfill, the sync’s stage changes and deletions, and picklist edits', async () => {
    const full = await runOrgSync(h.ctx, h.orgId, { trigger: 'manual', historyBudget: 1000 })
    expect(full.status, full.error).toBe('succeeded')
    const backfilled = await check()
    expect(backfilled.stays.length).toBeGreaterThan(100)
    expect(backfilled.furthest.size).toBeGreaterThan(50)
    expect(Object.values(backfilled.medians).filter((m) => m !== null).length).toBeGreaterThan(2)

    // Edits (stage changes among them), deletions and new deals, read by an incremental run.
    const before = await historyBySource()
    const m = h.sb.mutateRandom({ edits: 60, deletes: 15, creates: 10 })
    const inc = await runOrgSync(h.ctx, h.orgId, { trigger: 'manual', historyBudget: 100 })
    expect(inc.status, inc.error).toBe('succeeded')
    expect(inc.kind).toBe('incremental')
    expect((await historyBySource()).sync ?? 0).toBeGreaterThan(before.sync ?? 0)
    const after = await check()
    for (const id of m.deleted) {
      expect(after.stays.some((s) => s.startsWith(`${id} `))).toBe(false)
      expect(after.furthest.has(id)).toBe(false)
    }

    // Deals with stays change hands: their stays follow them to the new owner.
    const moved = await query<{ id: string; owner_id: string }>(
      database.db,
      sql`select d.id, d.owner_id from deals d where d.org_id = ${h.orgId}
            and exists (select 1 from stage_stays s where s.org_id = d.org_id and s.deal_id = d.id)
          order by d.id limit 3`,
    )
    expect(moved).toHaveLength(3)
    for (const d of moved)
      h.sb.editDeal(d.id, {
        Owner: h.sb.users.all.find((u) => u.id !== d.owner_id && u.status === 'active')!.id,
      })
    const handed = await runOrgSync(h.ctx, h.orgId, { trigger: 'manual', historyBudget: 0 })
    expect(handed.status, handed.error).toBe('succeeded')
    const rehomed = await check()
    for (const d of moved) {
      const theirs = rehomed.stays.filter((s) => s.startsWith(`${d.id} `))
      expect(theirs.length).toBeGreaterThan(0)
      expect(theirs.some((s) => s.endsWith(` ${d.owner_id}`))).toBe(false)
    }

    // The picklist changes: an open stage is removed, another becomes a closed one. Display values
    // and the funnel's ranks move with it, for deals no run reads again.
    const [removed, closed] = (
      await query<{ stage: string }>(
        database.db,
        sql`select s.display_value as stage from stages s
            where s.org_id = ${h.orgId} and s.state = 'open'
              and exists (select 1 from deals d where d.org_id = s.org_id and d.furthest_stage = s.display_value)
            order by s.sequence desc limit 2`,
      )
    ).map((r) => r.stage)
    expect(removed && closed).toBeTruthy()
    h.sb.removeStage(removed!)
    h.sb.setStage(closed!, { deal_category: 'Closed Lost', forecast_category: 'Omitted' })
    await database.db.execute(
      sql`update sync_state set metadata_refreshed_at = now() - interval '25 hours' where org_id = ${h.orgId}`,
    )
    const meta = await runOrgSync(h.ctx, h.orgId, { trigger: 'manual', historyBudget: 0 })
    expect(meta.status, meta.error).toBe('succeeded')
    const edited = await check()
    // Neither is an open stage in use any more: no deal's furthest stage is either.
    expect([...edited.furthest.values()]).not.toContain(removed)
    expect([...edited.furthest.values()]).not.toContain(closed)
    expect(edited.furthest).not.toEqual(after.furthest)
  })
})
