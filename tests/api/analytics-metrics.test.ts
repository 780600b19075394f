import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Database } from '../../api/src/db/client'
import { summaryResponse, byOwnerResponse, byStageResponse } from '../../shared/contracts/pipeline'
import { forecastResponse } from '../../shared/contracts/forecast'
import { funnelResponse, timeInStageResponse } from '../../shared/contracts/funnel'
import { riskResponse } from '../../shared/contracts/risk'
import { qualityResponse } from '../../shared/contracts/quality'
import { trendResponse } from '../../shared/contracts/trend'
import { waterfallResponse } from '../../shared/contracts/waterfall'
import { createTestDatabase, testDbKind } from '../helpers/db'
import { createTestApp } from '../helpers/app'
import { asUser } from '../helpers/auth'
import {
  cents,
  dateIn,
  halfEven,
  loadOrgRows,
  money,
  ratio4,
  seedOrg,
  show,
  visibleOwners,
  type DealSeedRow,
  type OrgRows,
  type SeedResult,
} from '../helpers/seed'

/*
 * Every figure compared with an independent computation: plain TypeScript over the rows read back
 * from the tables, bigint maths, no shared code with api/src/analytics.
 */

const Q = { from: '2026-10-01', to: '2026-12-31' } // the current fiscal quarter (FY from April), 2026-11-26
const TODAY = '2026-11-26'

const daysBetween = (a: string, b: string) =>
  (Date.parse(`${b}T00:00:00Z`) - Date.parse(`${a}T00:00:00Z`)) / 86_400_000
const inRange = (d: string | null, p: { from: string; to: string }) => d !== null && d >= p.from && d <= p.to
const sum = (xs: bigint[]) => xs.reduce((a, b) => a + b, 0n)
const weighted = (ds: { amount_sgd: string | null; probability: number | null }[]) =>
  money(halfEven(sum(ds.map((d) => cents(d.amount_sgd) * BigInt(d.probability ?? 0))), 100n))

function visible(rows: OrgRows, userId: string): DealSeedRow[] {
  const owners = visibleOwners(rows, userId)
  return rows.deals.filter((d) => owners === null || (d.owner_id !== null && owners.has(d.owner_id)))
}

function stageOrder(rows: OrgRows) {
  const seq = new Map(rows.stages.map((s) => [s.display_value, s.sequence]))
  return (a: string, b: string) => (seq.get(a) ?? 1e9) - (seq.get(b) ?? 1e9) || a.localeCompare(b)
}

function refSummary(rows: OrgRows, deals: DealSeedRow[], p: { from: string; to: string }) {
  const open = deals.filter((d) => d.state === 'open')
  const won = deals.filter((d) => d.state === 'won' && inRange(d.closing_date, p))
  const lost = deals.filter((d) => d.state === 'lost' && inRange(d.closing_date, p))
  const amt = (ds: DealSeedRow[]) => sum(ds.map((d) => cents(d.amount_sgd)))
  const withProb = (ds: DealSeedRow[]) =>
    ds.map((d) => ({ amount_sgd: d.amount_sgd, probability: d.effective_probability }))
  const stages = [...new Set(open.map((d) => d.stage))].sort(stageOrder(rows))
  const wonPriced = won.filter((d) => d.amount_sgd !== null)
  const cycle = sum(
    won.map((d) => BigInt(daysBetween(dateIn(d.created_time, rows.org.time_zone), d.closing_date!))),
  )
  return {
    open: { count: open.length, amount: money(amt(open)), weighted: weighted(withProb(open)) },
    won: { count: won.length, amount: money(amt(won)) },
    lost: { count: lost.length, amount: money(amt(lost)) },
    byStage: stages.map((s) => {
      const ds = open.filter((d) => d.stage === s)
      return { stage: s, count: ds.length, amount: money(amt(ds)), weighted: weighted(withProb(ds)) }
    }),
    unpriced: { count: [...open, ...won, ...lost].filter((d) => d.amount_sgd === null).length },
    winRate: {
      count: ratio4(BigInt(won.length), BigInt(won.length + lost.length)),
      amount: ratio4(amt(won), amt(won) + amt(lost)),
    },
    averageDealSize: wonPriced.length ? money(halfEven(amt(won), BigInt(wonPriced.length))) : null,
    salesCycleDays: won.length ? Number(show(halfEven(cycle * 10n, BigInt(won.length)), 1)) : null,
  }
}

describe(`analytics figures (${testDbKind})`, () => {
  let database: Database
  let seed: SeedResult
  let rows: OrgRows
  let get: (path: string, userId?: string) => Promise<{ status: number; body: any }>

  beforeAll(async () => {
    database = await createTestDatabase()
    seed = await seedOrg(database.db)
    rows = await loadOrgRows(database.db, seed.orgId)
    const { app, config } = createTestApp(database, {}, { now: () => seed.now })
    get = async (path, userId = seed.users.admin) => {
      const res = await app.request(`/api/v1${path}`, { headers: await asUser(config, seed.orgId, userId) })
      return { status: res.status, body: await res.json() }
    }
  })
  afterAll(() => database.close())

  const viewers = () => [seed.users.admin, seed.users.manager, seed.users.rep, seed.users.otherManager]

  it('summary: open, won, lost, by stage, unpriced, win rate, deal size, cycle, for every role', async () => {
    for (const user of viewers()) {
      const { status, body } = await get('/pipeline/summary', user)
      expect(status).toBe(200)
      summaryResponse.parse(body)
      expect(body).toMatchObject({
        currency: 'SGD',
        asOf: '2026-11-26T05:00:00Z',
        period: Q,
        snapshotDay: null,
      })
      expect(body).toMatchObject(refSummary(rows, visible(rows, user), Q))
    }
    // The seed makes these figures non-trivial.
    const all = refSummary(rows, rows.deals, Q)
    expect(all.unpriced.count).toBeGreaterThan(0)
    expect(all.won.count).toBeGreaterThan(3)
  })

  it('summary honours every filter and an explicit period', async () => {
    const P = { from: '2025-07-01', to: '2026-06-30' }
    const cases: [string, (d: DealSeedRow) => boolean][] = [
      ['currency=USD,EUR', (d) => ['USD', 'EUR'].includes(d.currency)],
      [
        'stage=Proposal/Price Quote,Closed Won',
        (d) => ['Proposal/Price Quote', 'Closed Won'].includes(d.stage),
      ],
      ['territory=APAC', (d) => d.territory === 'APAC'],
      ['pipeline=Renewals', (d) => d.pipeline === 'Renewals'],
      [
        'closeFrom=2026-01-01&closeTo=2026-12-31',
        (d) => inRange(d.closing_date, { from: '2026-01-01', to: '2026-12-31' }),
      ],
      [
        `owner=${seed.users.rep},${seed.users.otherRep}`,
        (d) => [seed.users.rep, seed.users.otherRep].includes(d.owner_id!),
      ],
      // Team = role "Sales Manager A" and below.
      ['team=9000002', (d) => visibleOwners(rows, seed.users.manager)!.has(d.owner_id!)],
    ]
    for (const [q, pred] of cases) {
      const { status, body } = await get(`/pipeline/summary?from=${P.from}&to=${P.to}&${encodeURI(q)}`)
      expect(status, q).toBe(200)
      expect(body, q).toMatchObject(refSummary(rows, rows.deals.filter(pred), P))
    }
    // A team is intersected with the viewer's scope: manager B asking for team A sees only their own.
    const { body } = await get('/pipeline/summary?team=9000002', seed.users.otherManager)
    expect(body.open.count).toBe(0)
  })

  it("velocity: the summary's factors, for whole months (from the rollup) and odd days (from the deals)", async () => {
    for (const P of [Q, { from: '2025-07-03', to: '2026-06-17' }])
      for (const user of viewers()) {
        const { status, body } = await get(`/velocity?from=${P.from}&to=${P.to}`, user)
        expect(status).toBe(200)
        const ref = refSummary(rows, visible(rows, user), P)
        expect(body, `${P.from} ${user}`).toMatchObject({
          period: P,
          openDeals: ref.open.count,
          winRate: ref.winRate.count,
          averageDealSize: ref.averageDealSize,
          salesCycleDays: ref.salesCycleDays,
        })
        if (ref.won.count && ref.salesCycleDays) expect(body.velocityPerDay).not.toBeNull()
      }
  })

  it('summary as of a snapshot day answers from that day', async () => {
    for (const day of seed.snapshotDays) {
      const asOf = rows.snapshots
        .filter((s) => s.valid_from <= day && (s.valid_to === null || s.valid_to > day))
        .map((s) => ({
          ...(s as unknown as DealSeedRow),
          id: s.deal_id,
          effective_probability: s.probability,
          created_time: `${s.created_date}T12:00:00+08:00`,
        }))
      for (const user of [seed.users.admin, seed.users.manager]) {
        const owners = visibleOwners(rows, user)
        const mine = asOf.filter((d) => owners === null || owners.has(d.owner_id!))
        const { body } = await get(`/pipeline/summary?asOf=${day}`, user)
        expect(body).toMatchObject({ ...refSummary(rows, mine, Q), asOf: day, snapshotDay: day })
      }
    }
  })

  it('snapshots reproduce the deals table as it stood on each day', async () => {
    for (const day of seed.snapshotDays) {
      const written = seed.statesByDay.get(day)!
      const expected = [...written.values()]
        .filter((d) => dateIn(d.created_time, 'Asia/Singapore') <= day)
        .map((d) => [d.id, d.stage, d.state, d.amount_sgd, d.closing_date, d.owner_id].join('|'))
        .sort()
      const actual = rows.snapshots
        .filter((s) => s.valid_from <= day && (s.valid_to === null || s.valid_to > day))
        .map((s) => [s.deal_id, s.stage, s.state, s.amount_sgd, s.closing_date, s.owner_id].join('|'))
        .sort()
      expect(actual).toEqual(expected)
    }
    // Unchanged deals keep one version: far fewer rows than deals × days.
    expect(rows.snapshots.length).toBeLessThan(rows.deals.length * 2)
  })

  it('by stage lists every stage in pipeline order with open and closed-in-P figures', async () => {
    const { body } = await get('/pipeline/by-stage', seed.users.manager)
    byStageResponse.parse(body)
    const deals = visible(rows, seed.users.manager).filter(
      (d) => d.state === 'open' || d.state === 'unknown' || inRange(d.closing_date, Q),
    )
    const order = stageOrder(rows)
    const names = [
      ...new Set([...rows.stages.map((s) => s.display_value), ...deals.map((d) => d.stage)]),
    ].sort(order)
    expect(body.stages.map((s: { stage: string }) => s.stage)).toEqual(names)
    for (const s of body.stages) {
      const ds = deals.filter((d) => d.stage === s.stage)
      expect(s.count).toBe(ds.length)
      expect(s.amount).toBe(money(sum(ds.map((d) => cents(d.amount_sgd)))))
      expect(s.weighted).toBe(
        weighted(ds.map((d) => ({ amount_sgd: d.amount_sgd, probability: d.effective_probability }))),
      )
    }
    const all = await get('/pipeline/by-stage')
    expect(all.body.stages.find((s: { stage: string }) => s.stage === 'Legacy Stage')?.state).toBe('unknown')
  })

  it('by owner: leaderboard with quota attainment where targets exist', async () => {
    const { body } = await get('/pipeline/by-owner')
    byOwnerResponse.parse(body)
    const owners = [
      ...new Set(
        rows.deals.filter((d) => d.state === 'open' || inRange(d.closing_date, Q)).map((d) => d.owner_id!),
      ),
    ]
    expect(body.owners.map((o: { ownerId: string }) => o.ownerId).sort()).toEqual(owners.sort())
    for (const o of body.owners) {
      const ref = refSummary(
        rows,
        rows.deals.filter((d) => d.owner_id === o.ownerId),
        Q,
      )
      expect(o).toMatchObject({ open: ref.open, won: ref.won, lost: ref.lost, winRate: ref.winRate.count })
      const targets = rows.targets.filter(
        (t) => t.owner_id === o.ownerId && t.period_start >= Q.from && t.period_end <= Q.to,
      )
      const target = sum(targets.map((t) => cents(t.amount)))
      expect(o.target).toBe(targets.length ? money(target) : null)
      expect(o.attainment).toBe(targets.length ? ratio4(cents(ref.won.amount), target) : null)
    }
    expect(body.owners.some((o: { attainment: string | null }) => o.attainment !== null)).toBe(true)
    // Won amount descending.
    const won = body.owners.map((o: { won: { amount: string } }) => cents(o.won.amount))
    expect(won).toEqual([...won].sort((a: bigint, b: bigint) => (a < b ? 1 : a > b ? -1 : 0)))
  })

  it('forecast by fiscal quarter and by month, by category, weighted and unweighted', async () => {
    for (const period of ['quarter', 'month'] as const) {
      const { body } = await get(`/forecast?period=${period}`, seed.users.manager)
      forecastResponse.parse(body)
      expect(body.from).toBe('2026-04-01')
      expect(body.to).toBe('2027-03-31')
      expect(body.buckets.length).toBe(period === 'quarter' ? 4 : 12)
      if (period === 'quarter') expect(body.buckets[2]).toMatchObject({ key: 'FY2026 Q3', ...Q })
      const mine = visible(rows, seed.users.manager)
      for (const b of body.buckets) {
        for (const c of b.categories) {
          const ds = mine.filter(
            (d) =>
              inRange(d.closing_date, b) &&
              ((d.state === 'open' && (d.forecast_category ?? 'Uncategorized') === c.category) ||
                (d.state === 'won' && c.category === 'Closed')),
          )
          expect(c.count, `${b.key} ${c.category}`).toBe(ds.length)
          expect(c.amount).toBe(money(sum(ds.map((d) => cents(d.amount_sgd)))))
          expect(c.weighted).toBe(
            weighted(ds.map((d) => ({ amount_sgd: d.amount_sgd, probability: d.effective_probability }))),
          )
        }
      }
    }
    // Rep A has a target in Q3: coverage = open ÷ (target − won).
    const { body } = await get(`/forecast?owner=${seed.users.rep}`, seed.users.rep)
    const q3 = body.buckets[2]
    const mine = rows.deals.filter((d) => d.owner_id === seed.users.rep && inRange(d.closing_date, Q))
    const open = sum(mine.filter((d) => d.state === 'open').map((d) => cents(d.amount_sgd)))
    const won = sum(mine.filter((d) => d.state === 'won').map((d) => cents(d.amount_sgd)))
    const target = cents('250000.00') + cents('90000.00')
    expect(q3.target).toBe(money(target))
    expect(q3.coverage).toBe(target > won ? ratio4(open, target - won) : null)
  })

  it('funnel: deals created in P that reached each stage or later, conversions, won at the end', async () => {
    const P = { from: '2025-01-01', to: '2026-06-30' }
    const { body } = await get(`/funnel?from=${P.from}&to=${P.to}`)
    funnelResponse.parse(body)
    const open = rows.stages.filter((s) => s.state === 'open').sort((a, b) => a.sequence - b.sequence)
    const rank = (stage: string) =>
      open.findIndex((s) => s.display_value === stage || s.actual_value === stage) + 1
    const cohort = rows.deals.filter((d) => inRange(dateIn(d.created_time, 'Asia/Singapore'), P))
    const reachedRank = (d: DealSeedRow) =>
      Math.max(rank(d.stage), ...rows.history.filter((h) => h.deal_id === d.id).map((h) => rank(h.stage)))
    const reached = open.map(
      (_, i) => cohort.filter((d) => d.state === 'won' || reachedRank(d) >= i + 1).length,
    )
    const won = cohort.filter((d) => d.state === 'won').length
    expect(body.cohort).toBe(cohort.length)
    expect(body.won).toBe(won)
    expect(body.lost).toBe(cohort.filter((d) => d.state === 'lost').length)
    expect(body.steps).toEqual(
      open.map((s, i) => ({
        stage: s.display_value,
        reached: reached[i],
        conversionToNext: ratio4(BigInt(i + 1 < open.length ? reached[i + 1]! : won), BigInt(reached[i]!)),
      })),
    )
    expect(reached[0]).toBeGreaterThan(reached[4]!)
  })

  // Each way the stays are read: a manager's scope (the stays of its owners), the whole org (their
  // daily totals), a filter (the stays joined to the deals it keeps).
  it.each([
    ['manager', () => seed.users.manager, '', () => true],
    ['admin', () => seed.users.admin, '', () => true],
    [
      'admin, one pipeline',
      () => seed.users.admin,
      '&pipeline=Renewals',
      (d: DealSeedRow) => d.pipeline === 'Renewals',
    ],
  ])(
    'time in stage (%s): averages over deals that left the stage in P, and current stage so far',
    async (_, who, filter, keep) => {
      const user = who()
      const P = { from: '2026-01-01', to: '2026-11-26' }
      const { body } = await get(`/time-in-stage?from=${P.from}&to=${P.to}${filter}`, user)
      timeInStageResponse.parse(body)
      const mine = new Set(
        visible(rows, user)
          .filter(keep)
          .map((d) => d.id),
      )
      const display = (s: string) =>
        rows.stages.find((x) => x.display_value === s || x.actual_value === s)?.display_value ?? s
      // Calendar days in the org's time zone (Singapore), from the date entered to the date left.
      const sg = (instant: string) => dateIn(instant, 'Asia/Singapore')
      const spans: { stage: string; days: number; left: string }[] = []
      const byDeal = new Map<string, { stage: string; entered_at: string }[]>()
      for (const h of rows.history.filter((h) => mine.has(h.deal_id)))
        byDeal.set(h.deal_id, [...(byDeal.get(h.deal_id) ?? []), h])
      for (const all of byDeal.values()) {
        const hs = stays(all, display)
        hs.forEach((h, i) => {
          const next = hs[i + 1]
          if (next)
            spans.push({
              stage: h.stage,
              days: daysBetween(sg(h.entered_at), sg(next.entered_at)),
              left: sg(next.entered_at),
            })
        })
      }
      const avgDays = (days: number[]) =>
        days.length ? Number(show(halfEven(sum(days.map(BigInt)) * 10n, BigInt(days.length)), 1)) : null
      for (const s of body.stages) {
        const left = spans.filter((x) => x.stage === s.stage && inRange(x.left, P))
        expect(s.left, s.stage).toEqual({ count: left.length, averageDays: avgDays(left.map((x) => x.days)) })
        const cur = visible(rows, user).filter((d) => keep(d) && d.state === 'open' && d.stage === s.stage)
        expect(s.current).toEqual({
          count: cur.length,
          averageDaysSoFar: avgDays(cur.map((d) => daysBetween(sg(d.stage_entered_at!), TODAY))),
        })
      }
      expect(body.stages.some((s: { left: { count: number } }) => s.left.count > 0)).toBe(true)
    },
  )

  it('risk: stuck, overdue, slipping and quiet deals with their reasons', async () => {
    const { body } = await get('/risk?limit=1000', seed.users.manager)
    riskResponse.parse(body)
    // Thresholds: twice the median calendar days won deals spent in the stage, at least 14.
    const won = new Set(rows.deals.filter((d) => d.state === 'won').map((d) => d.id))
    const display = (s: string) =>
      rows.stages.find((x) => x.display_value === s || x.actual_value === s)?.display_value ?? s
    const durations = new Map<string, number[]>()
    const byDeal = new Map<string, { stage: string; entered_at: string }[]>()
    for (const h of rows.history.filter((h) => won.has(h.deal_id)))
      byDeal.set(h.deal_id, [...(byDeal.get(h.deal_id) ?? []), h])
    for (const all of byDeal.values()) {
      const hs = stays(all, display)
      hs.slice(0, -1).forEach((h, i) =>
        durations.set(h.stage, [
          ...(durations.get(h.stage) ?? []),
          daysBetween(
            dateIn(h.entered_at, 'Asia/Singapore'),
            dateIn(hs[i + 1]!.entered_at, 'Asia/Singapore'),
          ),
        ]),
      )
    }
    const median = (xs: number[]) => {
      const s = [...xs].sort((a, b) => a - b)
      const m = Math.floor(s.length / 2)
      return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2
    }
    const threshold = new Map<string, number>()
    for (const t of body.thresholds) {
      const ds = durations.get(t.stage) ?? []
      const expected = Math.max(14, ds.length ? 2 * median(ds) : 0)
      expect(t.days, t.stage).toBeCloseTo(expected, 1)
      threshold.set(t.stage, t.days)
    }
    const expected = visible(rows, seed.users.manager)
      .filter((d) => d.state === 'open')
      .map((d) => {
        const inStage = daysBetween(dateIn(d.stage_entered_at ?? d.created_time, 'Asia/Singapore'), TODAY)
        const quiet = daysBetween(dateIn(d.last_activity_time ?? d.created_time, 'Asia/Singapore'), TODAY)
        const versions = rows.snapshots
          .filter((s) => s.deal_id === d.id)
          .sort((a, b) => a.valid_from.localeCompare(b.valid_from))
        const moves = versions.filter(
          (v, i) => i > 0 && v.closing_date! > versions[i - 1]!.closing_date!,
        ).length
        const reasons = [
          ...(inStage > (threshold.get(d.stage) ?? 14) ? ['stuck'] : []),
          ...(d.closing_date !== null && d.closing_date < TODAY ? ['overdue'] : []),
          ...(Math.max(d.closing_push_count, moves) > 2 ? ['slipping'] : []),
          ...(quiet >= 30 ? ['quiet'] : []),
        ]
        return { id: d.id, reasons }
      })
      .filter((x) => x.reasons.length)
    const actual = body.deals.map((d: { id: string; reasons: { code: string }[] }) => ({
      id: d.id,
      reasons: d.reasons.map((r) => r.code),
    }))
    const byId = (a: { id: string }, b: { id: string }) => a.id.localeCompare(b.id)
    expect(actual.sort(byId)).toEqual(expected.sort(byId))
    for (const code of ['stuck', 'overdue', 'slipping', 'quiet'] as const)
      expect(body.counts[code], code).toBe(expected.filter((e) => e.reasons.includes(code)).length)
    expect(body.counts.slipping).toBeGreaterThan(0)
    expect(body.counts.overdue).toBeGreaterThan(0)
    // Filtering by one reason lists only those deals.
    const only = await get('/risk?reason=overdue', seed.users.manager)
    expect(
      only.body.deals.every((d: { reasons: { code: string }[] }) =>
        d.reasons.some((r) => r.code === 'overdue'),
      ),
    ).toBe(true)
    expect(only.body.counts.total).toBe(body.counts.overdue)
  })

  it('quality: unpriced, past-due, missing amounts and unknown stages, each listed', async () => {
    const { body } = await get('/quality?limit=1000', seed.users.manager)
    qualityResponse.parse(body)
    const mine = visible(rows, seed.users.manager)
    const ids = (ds: DealSeedRow[]) => ds.map((d) => d.id).sort()
    const list = (k: string) => body[k].deals.map((d: { id: string }) => d.id).sort()
    expect(list('unpriced')).toEqual(ids(mine.filter((d) => d.amount_sgd === null)))
    expect(list('pastDue')).toEqual(
      ids(mine.filter((d) => d.state === 'open' && d.closing_date !== null && d.closing_date < TODAY)),
    )
    expect(list('missingAmount')).toEqual(ids(mine.filter((d) => d.amount === null)))
    expect(list('unknownStage')).toEqual(ids(mine.filter((d) => d.state === 'unknown')))
    expect(body.unpriced.count).toBeGreaterThan(0)
    const limited = await get('/quality?limit=1', seed.users.manager)
    expect(limited.body.unpriced.count).toBe(body.unpriced.count)
    expect(limited.body.unpriced.deals).toHaveLength(1)
  })

  it('trend: one point per snapshotted day from the rollup and from snapshots alike', async () => {
    const owners = visibleOwners(rows, seed.users.manager)!
    for (const q of ['', '&currency=SGD,USD']) {
      const { body } = await get(`/trend?from=2026-10-01&to=2026-11-30${q}`, seed.users.manager)
      trendResponse.parse(body)
      expect(body.points.map((p: { day: string }) => p.day)).toEqual(seed.snapshotDays)
      for (const p of body.points) {
        const open = rows.snapshots.filter(
          (s) =>
            s.valid_from <= p.day &&
            (s.valid_to === null || s.valid_to > p.day) &&
            s.state === 'open' &&
            owners.has(s.owner_id!) &&
            (!q || ['SGD', 'USD'].includes(s.currency!)),
        )
        expect(p).toEqual({
          day: p.day,
          count: open.length,
          amount: money(sum(open.map((s) => cents(s.amount_sgd)))),
          weighted: weighted(open),
          unpriced: open.filter((s) => s.amount_sgd === null).length,
        })
      }
    }
  })

  it('waterfall: buckets per METRICS, the deals in each, and an exact balance', async () => {
    const org = rows.org.time_zone
    void org
    const cases = [
      { a: '2026-11-01', b: '2026-11-25', T: Q, user: seed.users.admin },
      {
        a: '2026-11-08',
        b: '2026-11-25',
        T: { from: '2026-11-01', to: '2026-12-31' },
        user: seed.users.manager,
      },
      { a: '2026-11-01', b: '2026-11-15', T: { from: '2026-10-01', to: '2027-03-31' }, user: seed.users.rep },
    ]
    const seen = new Set<string>()
    for (const { a, b, T, user } of cases) {
      const { status, body } = await get(
        `/waterfall?from=${a}&to=${b}&closeFrom=${T.from}&closeTo=${T.to}&limit=1000`,
        user,
      )
      expect(status).toBe(200)
      waterfallResponse.parse(body)
      const ref = refWaterfall(rows, a, b, T, visibleOwners(rows, user))
      expect(body.start).toEqual(ref.start)
      expect(body.end).toEqual(ref.end)
      for (const bucket of body.buckets) {
        const r = ref.buckets.get(bucket.bucket) ?? []
        expect(bucket.count, bucket.bucket).toBe(r.length)
        expect(bucket.amount, bucket.bucket).toBe(money(sum(r.map((x) => x.amount))))
        expect(bucket.deals.map((d: { id: string; amount: string }) => `${d.id}:${d.amount}`).sort()).toEqual(
          r.map((x) => `${x.id}:${money(x.amount)}`).sort(),
        )
        if (bucket.count) seen.add(bucket.bucket)
      }
      // Start + in − out = End, exactly, in the response and in the reference.
      const signed = body.buckets.reduce(
        (acc: bigint, x: { sign: string; amount: string }) =>
          acc + (x.sign === '+' ? 1n : -1n) * cents(x.amount),
        cents(body.start.amount),
      )
      expect(money(signed)).toBe(body.end.amount)
      expect(body.balance).toMatchObject({ holds: true, end: body.end.amount, computedEnd: body.end.amount })
      expect(body.rule).toContain('Pulled in')
    }
    // The seed exercises every bucket somewhere.
    expect([...seen].sort()).toEqual(
      ['Created', 'Decreased', 'Increased', 'Lost', 'Pulled in', 'Pulled out', 'Pushed out', 'Won'].sort(),
    )
    // The quick win created and won between snapshots enters and leaves.
    const { body } = await get(`/waterfall?from=2026-11-08&to=2026-11-25&closeFrom=${Q.from}&closeTo=${Q.to}`)
    const has = (bucket: string, id: string) =>
      body.buckets
        .find((x: { bucket: string }) => x.bucket === bucket)
        .deals.some((d: { id: string }) => d.id === id)
    expect(has('Created', '5725767000005000001') && has('Won', '5725767000005000001')).toBe(true)
  })
})

/**
 * A deal's stays in order: its stage-history rows by time (stage as display value), consecutive rows
 * of the same stage being one stay that starts at the first of them.
 */
function stays<H extends { stage: string; entered_at: string }>(hs: H[], display: (s: string) => string) {
  const sorted = [...hs].sort(
    (a, b) => a.entered_at.localeCompare(b.entered_at) || display(a.stage).localeCompare(display(b.stage)),
  )
  return sorted
    .map((h) => ({ ...h, stage: display(h.stage) }))
    .filter((h, i, xs) => i === 0 || xs[i - 1]!.stage !== h.stage)
}

/** The waterfall of METRICS.md over the snapshot rows, deal by deal. */
function refWaterfall(
  rows: OrgRows,
  a: string,
  b: string,
  T: { from: string; to: string },
  owners: Set<string> | null,
) {
  type V = OrgRows['snapshots'][number]
  const versions = new Map<string, V[]>()
  for (const s of rows.snapshots) versions.set(s.deal_id, [...(versions.get(s.deal_id) ?? []), s])
  const at = (vs: V[], day: string) =>
    vs.find((s) => s.valid_from <= day && (s.valid_to === null || s.valid_to > day))
  const isIn = (v: V | undefined) => !!v && v.state === 'open' && inRange(v.closing_date, T)
  const buckets = new Map<string, { id: string; amount: bigint }[]>()
  const put = (k: string, id: string, amount: bigint) =>
    buckets.set(k, [...(buckets.get(k) ?? []), { id, amount }])
  let start = 0n
  let end = 0n
  let startN = 0
  let endN = 0
  for (const [id, vsUnsorted] of versions) {
    const vs = vsUnsorted.sort((x, y) => x.valid_from.localeCompare(y.valid_from))
    const upToB = vs.filter((v) => v.valid_from <= b)
    const last = upToB[upToB.length - 1]
    if (!last || (owners && !owners.has(last.owner_id!))) continue
    const s1 = at(vs, a)
    const s2 = at(vs, b)
    const in1 = isIn(s1)
    const in2 = isIn(s2)
    const exit = cents((s2 ?? last).amount_sgd)
    const mid = vs.find((v) => v.valid_from > a && v.valid_from < b && isIn(v))
    const entered =
      !in1 &&
      !in2 &&
      (!!mid ||
        // Created after A, or open outside T at A, then won or lost inside T by B.
        (((!s1 && last.created_date! > a) || s1?.state === 'open') &&
          !!s2 &&
          ['won', 'lost'].includes(s2.state) &&
          inRange(s2.closing_date, T)))
    if (in1) {
      start += cents(s1!.amount_sgd)
      startN++
    }
    if (in2) {
      end += exit
      endN++
    }
    let basis: bigint | null = null
    if (in1) basis = cents(s1!.amount_sgd)
    if (!in1 && (in2 || entered)) {
      const entry = in2 ? exit : mid ? cents(mid.amount_sgd) : exit
      // Created after A (by its created date), else Pulled in: missing from S1 is not "created".
      put(last.created_date! > a ? 'Created' : 'Pulled in', id, entry)
      if (entered) basis = entry
    }
    if (basis !== null) {
      if (exit > basis) put('Increased', id, exit - basis)
      if (exit < basis) put('Decreased', id, basis - exit)
      if (!in2) {
        const st = s2?.state ?? 'deleted'
        if (st === 'won') put('Won', id, exit)
        else if (st !== 'open') put('Lost', id, exit)
        else if (s2!.closing_date === null || s2!.closing_date > T.to) put('Pushed out', id, exit)
        else put('Pulled out', id, exit)
      }
    }
  }
  return {
    start: { count: startN, amount: money(start) },
    end: { count: endN, amount: money(end) },
    buckets,
  }
}
