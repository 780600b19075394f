import { sql } from 'drizzle-orm'
import { query } from '../db/client'
import type { Filters } from '#shared/contracts/common'
import { WATERFALL_BUCKETS, WATERFALL_RULE, type WaterfallResponse } from '#shared/contracts/waterfall'
import { badRequest } from '../http/errors'
import { filterConditions, type AnalyticsContext } from './context'
import { addDecimals, money, subtractDecimals } from './decimal'
import type { Period } from './period'
import { requireSnapshotDay } from './trend'

type Bucket = (typeof WATERFALL_BUCKETS)[number]
const SIGN: Record<Bucket, '+' | '-'> = {
  Created: '+',
  'Pulled in': '+',
  Increased: '+',
  Decreased: '-',
  Won: '-',
  Lost: '-',
  'Pushed out': '-',
  'Pulled out': '-',
}

interface Row {
  bucket: Bucket | 'Start' | 'End'
  deal_id: string | null
  name: string | null
  amount: string
  n: number
  total: string
}

/**
 * The waterfall of METRICS.md from day A to day B over closing-date window T. Each deal's fate is
 * decided from its snapshot versions: S1 (as of A), S2 (as of B), the first version between A and
 * B in which it was in (for deals that entered and left in between) and its last version up to B
 * (deleted deals leave with that amount). A deal created after A, or open outside T at A, and
 * won/lost by B inside T counts as Created (Pulled in) then Won/Lost even when no daily snapshot
 * caught it open in T. An entering deal is Created when its created date (org time zone) is after A,
 * else Pulled in, even when S1 lacks it (first synced after A's snapshot, e.g. a new install). Filters and scope apply to the deal's last version up to B, so each deal is
 * wholly in or out of the picture.
 */
export async function waterfall(
  ctx: AnalyticsContext,
  filters: Filters,
  a: string,
  b: string,
  window: Period,
  limit: number,
): Promise<WaterfallResponse> {
  if (a > b) throw badRequest('from (A) must be on or before to (B)', 'INVALID_INPUT')
  if (window.from > window.to) throw badRequest('closeFrom must be on or before closeTo', 'INVALID_INPUT')
  // S1 and S2 must be the snapshots of A and B themselves, not earlier ones under their labels.
  await requireSnapshotDay(ctx, a)
  await requireSnapshotDay(ctx, b)
  // Scope/filters on the deal's last version; closing-date filters are the window T itself.
  const where = await filterConditions(ctx, { ...filters, closeFrom: undefined, closeTo: undefined }, 'd')
  const org = ctx.org.id
  const inT = sql.raw(`(s.state = 'open' and s.closing_date between '${window.from}' and '${window.to}')`)
  const atA = sql`(s.valid_from <= ${a} and (s.valid_to is null or s.valid_to > ${a}))`
  const atB = sql`(s.valid_from <= ${b} and (s.valid_to is null or s.valid_to > ${b}))`
  const between = sql`(s.valid_from > ${a} and s.valid_from < ${b} and ${inT})`
  const last = (col: string, as: string) => sql.raw(`max(s.${col}) filter (where s.rn_desc = 1) as ${as}`)
  // One sorted pass over the versions overlapping [A, B] (no joins, no ordered aggregates): per deal,
  // its last version up to B, its versions at A and B, and its first "in" version between them.
  // Only deals with a version starting or ending in (A, B] can move; every other deal has one version
  // spanning A..B and adds the same amount to Start and End (summed apart, without per-deal work).
  const unchangedQuery = query<{ n: number; total: string | null }>(
    ctx.db,
    sql`select count(*)::int as n, sum(d.amount_sgd)::text as total from deal_snapshots d
        where d.org_id = ${org} and d.state = 'open' and d.closing_date between ${window.from} and ${window.to}
          and d.valid_from <= ${a} and (d.valid_to is null or d.valid_to > ${b}) and ${where}`,
  )
  const rowsQuery = query<Row>(
    ctx.db,
    sql`with changed as (
          select s.deal_id from deal_snapshots s
          where s.org_id = ${org} and s.valid_from > ${a} and s.valid_from <= ${b}
          union
          select s.deal_id from deal_snapshots s
          where s.org_id = ${org} and s.valid_to > ${a} and s.valid_to <= ${b}
        ), v as (
          select s.*, row_number() over (partition by s.deal_id order by s.valid_from desc) as rn_desc,
                 min(s.valid_from) filter (where ${between}) over (partition by s.deal_id) as first_mid
          from deal_snapshots s
          where s.org_id = ${org} and s.valid_from <= ${b} and (s.valid_to is null or s.valid_to > ${a})
            and s.deal_id in (select deal_id from changed)
        ), d as (
          select s.deal_id, max(s.org_id) as org_id, ${last('owner_id', 'owner_id')},
                 ${last('pipeline', 'pipeline')}, ${last('stage', 'stage')}, ${last('currency', 'currency')},
                 ${last('territory', 'territory')}, ${last('amount_sgd', 'last_amt')},
                 ${last('created_date', 'created_date')},
                 bool_or(${atA}) as ex1, bool_or(${atA} and ${inT}) as in1,
                 max(s.amount_sgd) filter (where ${atA}) as a1, max(s.state) filter (where ${atA}) as st1,
                 bool_or(${atB}) as ex2, bool_or(${atB} and ${inT}) as in2,
                 max(s.amount_sgd) filter (where ${atB}) as a2,
                 max(s.state) filter (where ${atB}) as st2,
                 max(s.closing_date) filter (where ${atB}) as cd2,
                 bool_or(s.valid_from = s.first_mid) as mid_in,
                 max(s.amount_sgd) filter (where s.valid_from = s.first_mid) as mid_amt
          from v s group by s.deal_id
          -- Only deals that were in at some point, created after A, or closed inside T can land in a bucket.
          having bool_or(${inT}) or max(s.created_date) > ${a}
              or bool_or(s.state in ('won', 'lost') and s.closing_date between ${window.from} and ${window.to})
        ), base as (
          select d.deal_id, coalesce(d.in1, false) as in1, coalesce(d.in2, false) as in2,
                 coalesce(d.ex1, false) as ex1, coalesce(d.a1, 0) as a1, d.st1,
                 case when d.ex2 then d.st2 else 'deleted' end as st2, d.cd2,
                 coalesce(case when d.ex2 then d.a2 else d.last_amt end, 0) as exit_amt,
                 coalesce(d.mid_in, false) as mid_in, d.mid_amt, d.created_date
          from d where ${where}
        ), per as (
          -- Entered and left between A and B: caught in T by a snapshot in between, or won/lost in T
          -- at B having been created after A (Created) or open outside T at A (Pulled in: its closing
          -- date moved into T when it closed) with no snapshot catching it open in T.
          select *, (not in1 and not in2 and (mid_in or (
                       ((not ex1 and created_date > ${a}) or (ex1 and st1 = 'open'))
                       and st2 in ('won', 'lost') and cd2 between ${window.from} and ${window.to}))) as entered
          from base
        ), moves as (
          select p.deal_id, x.bucket, x.amount from (
            select *, coalesce(created_date > ${a}, false) as created_after_a,
                      case when in2 then exit_amt when entered then coalesce(mid_amt, exit_amt) end as entry,
                      case when in1 then a1 when entered then coalesce(mid_amt, exit_amt) end as basis
            from per
          ) p
          cross join lateral (values
            ('Start', case when p.in1 then p.a1 end),
            ('End', case when p.in2 then p.exit_amt end),
            -- Created: created after A (its created date, not its absence from S1: a deal first synced
            -- after A's snapshot was not created then). Every other entry is Pulled in, so each
            -- entering deal lands in exactly one of the two and the balance holds.
            ('Created', case when not p.in1 and (p.in2 or p.entered) and p.created_after_a then p.entry end),
            ('Pulled in', case when not p.in1 and (p.in2 or p.entered) and not p.created_after_a then p.entry end),
            ('Increased', case when (p.in1 or p.entered) and p.exit_amt > p.basis then p.exit_amt - p.basis end),
            ('Decreased', case when (p.in1 or p.entered) and p.exit_amt < p.basis then p.basis - p.exit_amt end),
            ('Won', case when (p.in1 or p.entered) and not p.in2 and p.st2 = 'won' then p.exit_amt end),
            ('Lost', case when (p.in1 or p.entered) and not p.in2 and p.st2 in ('lost', 'deleted', 'unknown')
                          then p.exit_amt end),
            ('Pushed out', case when (p.in1 or p.entered) and not p.in2 and p.st2 = 'open'
                                 and (p.cd2 is null or p.cd2 > ${window.to}) then p.exit_amt end),
            ('Pulled out', case when (p.in1 or p.entered) and not p.in2 and p.st2 = 'open'
                                 and p.cd2 < ${window.from} then p.exit_amt end)
          ) as x(bucket, amount)
          where x.amount is not null
        ), ranked as (
          select m.*, count(*) over w as n, sum(m.amount) over w as total,
                 row_number() over (partition by m.bucket order by m.amount desc, m.deal_id) as rn
          from moves m
          window w as (partition by m.bucket)
        )
        select r.bucket, case when r.rn <= ${limit} then r.deal_id end as deal_id, dl.name,
               r.amount::text as amount, r.n::int as n, r.total::text as total
        from ranked r
        left join deals dl on dl.org_id = ${org} and dl.id = r.deal_id and r.rn <= ${limit}
        where r.rn <= greatest(${limit}, 1)
        order by r.bucket, r.rn`,
  )
  const [rows, [unchanged]] = await Promise.all([rowsQuery, unchangedQuery])
  const group = (bucket: string) => rows.filter((r) => r.bucket === bucket)
  const same = (bucket: string) => bucket === 'Start' || bucket === 'End'
  const totalOf = (bucket: string) =>
    addDecimals(group(bucket)[0]?.total ?? '0', (same(bucket) && unchanged?.total) || '0')
  const countOf = (bucket: string) => (group(bucket)[0]?.n ?? 0) + (same(bucket) ? (unchanged?.n ?? 0) : 0)
  const buckets = WATERFALL_BUCKETS.map((bucket) => ({
    bucket,
    sign: SIGN[bucket],
    count: countOf(bucket),
    amount: money(totalOf(bucket), ctx.org.baseCurrency),
    deals: group(bucket)
      .filter((r) => r.deal_id !== null)
      .map((r) => ({ id: r.deal_id!, name: r.name, amount: money(r.amount, ctx.org.baseCurrency) })),
  }))
  // The balance is checked on the exact sums, then shown in the base currency's minor unit.
  const plus = WATERFALL_BUCKETS.filter((k) => SIGN[k] === '+').map(totalOf)
  const minus = WATERFALL_BUCKETS.filter((k) => SIGN[k] === '-').map(totalOf)
  const computed = subtractDecimals(addDecimals(totalOf('Start'), ...plus), addDecimals('0', ...minus))
  const end = totalOf('End')
  return {
    currency: ctx.org.baseCurrency,
    from: a,
    to: b,
    window,
    start: { count: countOf('Start'), amount: money(totalOf('Start'), ctx.org.baseCurrency) },
    end: { count: countOf('End'), amount: money(end, ctx.org.baseCurrency) },
    buckets,
    rule: WATERFALL_RULE,
    balance: {
      expression:
        'Start + Created + Pulled in + Increased − Decreased − Pushed out − Pulled out − Won − Lost = End',
      computedEnd: money(computed, ctx.org.baseCurrency),
      end: money(end, ctx.org.baseCurrency),
      holds: subtractDecimals(computed, end).replace(/[-0.]/g, '') === '',
    },
  }
}
