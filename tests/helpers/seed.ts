import type { DealRow } from '../../api/src/sync/map'
import { sql } from 'drizzle-orm'
import { query, type Db } from '../../api/src/db/client'
import { takeSnapshot } from '../../api/src/analytics/snapshot'

/*
 * A deterministic, varied org written straight into the tables, for the analytics suites.
 *
 * Suites never read the seed's internals to build expectations: they read the tables back with
 * plain selects (loadOrgRows) and compute every figure with the reference model below (plain
 * TypeScript, bigint maths). So the same suites can run over an org that arrived through the
 * sandbox + sync path instead: all they need is an AnalyticsFixture (org id, a fixed clock, an
 * admin, a manager and a rep, and the snapshotted days).
 */

export interface AnalyticsFixture {
  orgId: string
  /** The clock the app runs with (deps.now). */
  now: Date
  users: { admin: string; manager: string; rep: string; otherManager: string; otherRep: string }
  /** Days takeSnapshot ran for, ascending. */
  snapshotDays: string[]
}

export interface SeedResult extends AnalyticsFixture {
  /** Per snapshot day, the deals table as it stood when that snapshot was taken (id → row). */
  statesByDay: Map<string, Map<string, DealSeedRow>>
}

// ------------------------------------------------------------------------------------ constants

export const SEED_ORG = '7000000000000000001'
export const SEED_NOW = new Date('2026-11-26T06:00:00Z') // 14:00 in Singapore: today is 2026-11-26
const TZ = 'Asia/Singapore'

const U = {
  admin: '5725767000000100001',
  mgrA: '5725767000000100002',
  mgrB: '5725767000000100003',
  rep1: '5725767000000100004',
  rep2: '5725767000000100005',
  rep3: '5725767000000100006',
  gone: '5725767000000100007', // a deactivated rep who still owns deals
}

const ROLES = [
  { id: '9000001', name: 'CEO', reports_to_id: null },
  { id: '9000002', name: 'Sales Manager A', reports_to_id: '9000001' },
  { id: '9000003', name: 'Sales Manager B', reports_to_id: '9000001' },
  { id: '9000004', name: 'Rep A', reports_to_id: '9000002' },
  { id: '9000005', name: 'Rep B', reports_to_id: '9000003' },
]

const USERS = [
  {
    id: U.admin,
    full_name: 'Ada Admin',
    role_id: '9000001',
    profile_name: 'Administrator',
    status: 'active',
  },
  { id: U.mgrA, full_name: 'Mona Manager', role_id: '9000002', profile_name: 'Standard', status: 'active' },
  { id: U.mgrB, full_name: 'Max Manager', role_id: '9000003', profile_name: 'Standard', status: 'active' },
  { id: U.rep1, full_name: 'Rita Rep', role_id: '9000004', profile_name: 'Standard', status: 'active' },
  {
    id: U.rep2,
    full_name: 'Raj "RJ" Rep, Jr.',
    role_id: '9000004',
    profile_name: 'Standard',
    status: 'active',
  },
  { id: U.rep3, full_name: 'Rosa Rep', role_id: '9000005', profile_name: 'Standard', status: 'active' },
  { id: U.gone, full_name: 'Gus Gone', role_id: '9000004', profile_name: 'Standard', status: 'inactive' },
]

interface StageSeed {
  display: string
  actual: string
  probability: number
  state: 'open' | 'won' | 'lost'
  category: string
}

const STAGES: StageSeed[] = [
  { display: 'Qualification', actual: 'Qualification', probability: 10, state: 'open', category: 'Pipeline' },
  {
    display: 'Needs Analysis',
    actual: 'Needs Analysis',
    probability: 20,
    state: 'open',
    category: 'Pipeline',
  },
  {
    display: 'Value Proposition',
    actual: 'Value Proposition',
    probability: 40,
    state: 'open',
    category: 'Best Case',
  },
  // Display differs from the actual value: history rows below sometimes carry the actual value.
  { display: 'Proposal/Price Quote', actual: 'Proposal', probability: 75, state: 'open', category: 'Commit' },
  {
    display: 'Negotiation/Review',
    actual: 'Negotiation/Review',
    probability: 90,
    state: 'open',
    category: 'Commit',
  },
  { display: 'Closed Won', actual: 'Closed Won', probability: 100, state: 'won', category: 'Closed' },
  { display: 'Closed Lost', actual: 'Closed Lost', probability: 0, state: 'lost', category: 'Omitted' },
  {
    display: 'Closed-Lost to Competition',
    actual: 'Closed-Lost to Competition',
    probability: 0,
    state: 'lost',
    category: 'Omitted',
  },
]
const OPEN_STAGES = STAGES.filter((s) => s.state === 'open')

/** Base-currency (SGD) units per unit of each deal currency; XTS has no rate: its deals are unpriced. */
const RATES: Record<string, string | null> = {
  SGD: '1',
  USD: '1.3412',
  EUR: '1.45675',
  MYR: '0.30215',
  JPY: '0.008934',
  XTS: null,
}

// ------------------------------------------------------------------------------ exact decimals

/** A decimal string as bigint units of 10^-scale (no rounding; throws when it does not fit). */
export function units(s: string, scale: number): bigint {
  const m = /^(-?)(\d+)(?:\.(\d+))?$/.exec(s)
  if (!m) throw new Error(`bad decimal ${s}`)
  const frac = (m[3] ?? '').replace(/0+$/, '')
  if (frac.length > scale) throw new Error(`${s} has more than ${scale} places`)
  const v = BigInt(m[2]! + frac.padEnd(scale, '0'))
  return m[1] ? -v : v
}

/** n ÷ d rounded half to even. */
export function halfEven(n: bigint, d: bigint): bigint {
  const sign = n < 0n !== d < 0n ? -1n : 1n
  const a = n < 0n ? -n : n
  const b = d < 0n ? -d : d
  let q = a / b
  const r = a - q * b
  if (2n * r > b || (2n * r === b && q % 2n === 1n)) q += 1n
  return sign * q
}

export function show(v: bigint, scale: number): string {
  const neg = v < 0n
  const s = (neg ? -v : v).toString().padStart(scale + 1, '0')
  const out = scale ? `${s.slice(0, s.length - scale)}.${s.slice(s.length - scale)}` : s
  return neg && v !== 0n ? `-${out}` : out
}

const mulRound2 = (amount: string, rate: string): string => {
  // amount (≤ 2 places) × rate (≤ 6 places) has ≤ 8 places; round half-even to 2.
  return show(halfEven(units(amount, 2) * units(rate, 6), 1_000_000n), 2)
}

// -------------------------------------------------------------------------------------- rows

/** A deals row as the sync writes it, plus what the seed sets directly. */
export type DealSeedRow = DealRow & {
  org_id: string
  stage_entered_at: string | null
  closing_push_count: number
  synced_at: string
}

/** Deterministic PRNG (mulberry32). */
function rng(seed: number) {
  let a = seed >>> 0
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  return {
    next,
    int: (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1)),
    pick: <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)]!,
    chance: (p: number) => next() < p,
  }
}

const dayMs = 86_400_000
const addDays = (day: string, n: number) =>
  new Date(Date.parse(`${day}T00:00:00Z`) + n * dayMs).toISOString().slice(0, 10)
/** A Singapore wall-clock time on a day, as an ISO instant with offset. */
const sgTime = (day: string, hour: number) => `${day}T${String(hour).padStart(2, '0')}:15:00+08:00`

function priced(row: DealSeedRow): DealSeedRow {
  const rate = RATES[row.currency] ?? null
  const stage = STAGES.find((s) => s.display === row.stage)
  const eff = row.probability ?? stage?.probability ?? null
  const amountSgd = rate === null ? null : row.amount === null ? '0.00' : mulRound2(row.amount, rate)
  return {
    ...row,
    state: stage?.state ?? 'unknown',
    forecast_category: stage?.category ?? null,
    effective_probability: eff,
    amount_sgd: amountSgd,
    weighted_sgd:
      amountSgd === null || eff === null ? null : show(halfEven(units(amountSgd, 2) * BigInt(eff), 100n), 2),
    fx_rate: rate,
    fx_date: rate === null ? null : '2026-11-23',
    fx_source: rate === null ? null : row.currency === 'SGD' ? 'identity' : 'provider',
  }
}

interface Built {
  deals: DealSeedRow[]
  history: { deal_id: string; stage: string; entered_at: string; source: 'zoho' | 'sync' }[]
  /** Earlier versions: for snapshot index k, overrides of a deal (or 'absent'). */
  earlier: Map<string, (Partial<DealSeedRow> | 'absent' | undefined)[]>
  deleted: DealSeedRow[]
}

export const SNAPSHOT_DAYS = ['2026-11-01', '2026-11-08', '2026-11-15', '2026-11-25']
const TODAY = '2026-11-26'

function build(orgId: string): Built {
  const r = rng(20261126)
  const owners = [U.rep1, U.rep1, U.rep2, U.rep2, U.rep3, U.rep3, U.mgrA, U.mgrB, U.admin, U.gone]
  const names = new Map(USERS.map((u) => [u.id, u.full_name]))
  const deals: DealSeedRow[] = []
  const history: Built['history'] = []
  const earlier: Built['earlier'] = new Map()
  const N = 170
  for (let i = 0; i < N; i++) {
    const id = String(5725767000003000000n + BigInt(i * 7 + 11))
    const owner = r.pick(owners)
    const currency = r.pick(['SGD', 'SGD', 'USD', 'USD', 'EUR', 'MYR', 'JPY', 'XTS'] as const)
    const created = addDays('2024-11-26', r.int(0, 729))
    const roll = r.next()
    let stage: StageSeed
    if (roll < 0.5) stage = r.pick(OPEN_STAGES)
    else if (roll < 0.75) stage = STAGES[5]!
    else stage = r.pick([STAGES[6]!, STAGES[7]!])
    let closing: string | null
    if (stage.state === 'open') closing = addDays(TODAY, r.int(-60, 240))
    else {
      closing = addDays(created, r.int(5, 200))
      if (closing > TODAY) closing = addDays(TODAY, -r.int(0, 20))
      if (closing < created) closing = created
    }
    if (r.chance(0.03)) closing = null
    const amount = r.chance(0.06)
      ? null
      : currency === 'JPY'
        ? String(r.int(100_000, 50_000_000))
        : `${r.int(500, 480_000)}.${String(r.int(0, 99)).padStart(2, '0')}`
    // Stage path: open stages up to the current one (some skipped), then the closing stage.
    const path: string[] = []
    const top = stage.state === 'open' ? OPEN_STAGES.indexOf(stage) : r.int(0, OPEN_STAGES.length - 1)
    for (let k = 0; k <= top; k++)
      if (k === 0 || k === top || r.chance(0.7)) path.push(OPEN_STAGES[k]!.display)
    if (stage.state !== 'open') path.push(stage.display)
    const createdAt = Date.parse(sgTime(created, 9))
    const end =
      stage.state === 'open'
        ? Date.parse(`${TODAY}T00:00:00+08:00`)
        : Date.parse(sgTime(closing ?? created, 17))
    const span = Math.max(end - createdAt, path.length * 3_600_000)
    let enteredAt = createdAt
    path.forEach((s, k) => {
      if (k > 0) enteredAt += Math.floor((span / path.length) * (0.5 + r.next()))
      if (enteredAt > end && k > 0) enteredAt = end - (path.length - k) * 3_600_000
      const useActual = s === 'Proposal/Price Quote' && r.chance(0.5)
      history.push({
        deal_id: id,
        stage: useActual ? 'Proposal' : s,
        entered_at: new Date(enteredAt).toISOString(),
        source: r.chance(0.8) ? 'zoho' : 'sync',
      })
    })
    const lastEntered = new Date(enteredAt).toISOString()
    const row = priced({
      org_id: orgId,
      id,
      name:
        i % 17 === 3
          ? `Deal ${i}, "quoted" & co\nline two`
          : `Deal ${i} ${r.pick(['Acme', 'Globex', 'Initech', 'Umbrella'])}`,
      stage: stage.display,
      state: stage.state,
      forecast_category: null,
      pipeline: r.chance(0.8) ? 'Standard' : 'Renewals',
      owner_id: owner,
      owner_name: names.get(owner) ?? null,
      account_name: r.pick(['Acme Pte Ltd', 'Globex', null]),
      territory: r.pick(['APAC', 'APAC', 'EMEA', null]),
      amount,
      currency,
      zoho_exchange_rate: currency === 'SGD' ? '1' : null,
      probability: r.chance(0.2) && stage.state === 'open' ? r.int(5, 95) : null,
      effective_probability: null,
      amount_sgd: null,
      weighted_sgd: null,
      fx_rate: null,
      fx_date: null,
      fx_source: null,
      fx_estimated: false,
      closing_date: closing,
      created_time: sgTime(created, 9),
      modified_time: new Date(Math.max(createdAt, enteredAt) + r.int(0, 5) * 3_600_000).toISOString(),
      last_activity_time: r.chance(0.15)
        ? null
        : new Date(SEED_NOW.getTime() - r.int(0, 80) * dayMs).toISOString(),
      stage_entered_at: lastEntered,
      closing_push_count: r.chance(0.2) ? r.int(3, 5) : r.int(0, 2),
      synced_at: SEED_NOW.toISOString(),
    })
    deals.push(row)
    // Earlier snapshot versions for a third of the deals created before the window.
    if (created < '2026-10-25' && r.chance(0.4)) {
      const variants: (Partial<DealSeedRow> | undefined)[] = []
      for (let k = 0; k < SNAPSHOT_DAYS.length - 1; k++) {
        const v = r.next()
        if (v < 0.25) variants.push({ amount: amount === null ? '1000.00' : halve(amount) })
        else if (v < 0.45)
          variants.push({
            closing_date: closing ? addDays(closing, r.pick([-75, -40, -20, 30, 60])) : '2026-12-15',
          })
        else if (v < 0.6 && stage.state !== 'open')
          variants.push({ stage: 'Negotiation/Review', closing_date: addDays(TODAY, r.int(5, 30)) })
        else if (v < 0.68 && stage.state === 'open') variants.push({ stage: 'Closed Lost' })
        else if (v < 0.75) variants.push({ owner_id: r.pick([U.rep1, U.rep3]) })
        else variants.push(undefined)
      }
      earlier.set(
        id,
        variants.map((x) =>
          x ? { ...x, owner_name: x.owner_id ? (names.get(x.owner_id) ?? null) : undefined } : x,
        ),
      )
    }
  }
  // Two deals on a stage the picklist does not know (e.g. renamed in Zoho, not yet re-synced).
  for (let i = 0; i < 2; i++) {
    const d = priced({
      ...deals[i]!,
      id: String(5725767000004000000n + BigInt(i)),
      name: `Legacy ${i}`,
      stage: 'Legacy Stage',
    })
    deals.push(d)
  }
  // Created inside the waterfall range: created and won between snapshots, created and pushed out.
  const cw = priced({
    ...deals[10]!,
    id: '5725767000005000001',
    name: 'Quick win',
    stage: 'Closed Won',
    created_time: sgTime('2026-11-10', 10),
    closing_date: '2026-11-12',
    stage_entered_at: '2026-11-12T02:15:00.000Z',
    amount: '12345.67',
    currency: 'SGD',
    probability: null,
  })
  const cp = priced({
    ...deals[11]!,
    id: '5725767000005000002',
    name: 'Created then pushed',
    stage: 'Needs Analysis',
    created_time: sgTime('2026-11-03', 10),
    closing_date: '2027-03-20',
    stage_entered_at: '2026-11-03T02:15:00.000Z',
    amount: '5000.00',
    currency: 'SGD',
    probability: null,
  })
  const po = priced({
    ...deals[12]!,
    id: '5725767000005000003',
    name: 'Pulled back out',
    stage: 'Value Proposition',
    created_time: sgTime('2026-06-01', 10),
    closing_date: '2026-09-15',
    stage_entered_at: '2026-06-01T02:15:00.000Z',
    amount: '7000.00',
    currency: 'USD',
    probability: null,
  })
  deals.push(cw, cp, po)
  earlier.set(cp.id, [undefined, { closing_date: '2026-12-20' }, undefined])
  earlier.set(po.id, [
    { closing_date: '2026-11-20' },
    { closing_date: '2026-11-20', amount: '6500.00' },
    undefined,
  ])
  history.push({
    deal_id: cw.id,
    stage: 'Qualification',
    entered_at: '2026-11-10T02:15:00.000Z',
    source: 'sync',
  })
  history.push({
    deal_id: cw.id,
    stage: 'Closed Won',
    entered_at: '2026-11-12T02:15:00.000Z',
    source: 'sync',
  })
  history.push({
    deal_id: cp.id,
    stage: 'Needs Analysis',
    entered_at: '2026-11-03T02:15:00.000Z',
    source: 'sync',
  })
  history.push({
    deal_id: po.id,
    stage: 'Value Proposition',
    entered_at: '2026-06-01T02:15:00.000Z',
    source: 'zoho',
  })
  // Deleted in Zoho after the second snapshot: present in the first two snapshots only.
  const deleted: DealSeedRow[] = []
  for (let i = 0; i < 4; i++) {
    const base = deals.find((d, k) => k > 20 + i * 9 && d.state === 'open' && d.created_time < '2026-10')!
    deleted.push({
      ...base,
      id: String(5725767000006000000n + BigInt(i)),
      name: `Deleted ${i}`,
      closing_date: '2026-12-01',
    })
  }
  return { deals, history, earlier, deleted }
}

function halve(amount: string): string {
  return show(halfEven(units(amount, 2), 2n), 2)
}

/**
 * Rows as JSON into `table`, by column name. Only the rows' columns are written: a column added
 * later (a migration) takes its default rather than a null from jsonb_populate_recordset.
 */
export async function insertJson(db: Db, table: string, rows: object[]) {
  if (!rows.length) return
  const cols = sql.raw([...new Set(rows.flatMap((r) => Object.keys(r)))].join(', '))
  await db.execute(
    sql`insert into ${sql.raw(table)} (${cols}) select ${cols} from jsonb_populate_recordset(null::${sql.raw(table)}, ${JSON.stringify(rows)}::jsonb)`,
  )
}

/** The deals table as it stood on snapshot index k. */
function stateAt(b: Built, k: number): DealSeedRow[] {
  const day = SNAPSHOT_DAYS[k]!
  const out: DealSeedRow[] = []
  const last = k === SNAPSHOT_DAYS.length - 1
  for (const d of b.deals) {
    const v = last ? undefined : b.earlier.get(d.id)?.[k]
    if (v === 'absent') continue
    out.push(
      v ? priced({ ...d, ...Object.fromEntries(Object.entries(v).filter(([, x]) => x !== undefined)) }) : d,
    )
  }
  if (k < 2) out.push(...b.deleted)
  void day
  return out
}

/**
 * Seed the org: roles, users, stages, pipelines, targets, sync state; then for each snapshot day
 * write the deals table as it stood then and take that day's snapshot; finally leave the current
 * state (the last snapshot day is yesterday, so "today" has live data only).
 */
/** A new org `org` with the roles, users and stages of the seeded org `from`, and no deals. */
export async function copySeededOrg(db: Db, org: string, from: string): Promise<void> {
  await db.execute(sql`insert into orgs (id, name, time_zone, home_currency, multi_currency, base_currency,
      crm_host, domain_name, fiscal_year_start_month, settings)
    values (${org}, 'Mini', 'Asia/Singapore', 'SGD', false, 'SGD', 'https://crm.zoho.com', null, 1, '{}'::jsonb)`)
  for (const t of ['roles', 'users', 'stages'])
    await db.execute(
      sql.raw(`insert into ${t} select * from jsonb_populate_recordset(null::${t},
        (select jsonb_agg(jsonb_set(to_jsonb(x), '{org_id}', '"${org}"')) from ${t} x where org_id = '${from}'))`),
    )
}

export async function seedOrg(db: Db, orgId = SEED_ORG): Promise<SeedResult> {
  const b = build(orgId)
  await db.execute(
    sql`insert into orgs (id, name, time_zone, home_currency, multi_currency, base_currency, crm_host, domain_name, fiscal_year_start_month, settings)
        values (${orgId}, 'Seeded Pte Ltd', ${TZ}, 'SGD', true, 'SGD', 'https://crm.zoho.com', null, 4, '{}'::jsonb)`,
  )
  await insertJson(
    db,
    'roles',
    ROLES.map((r) => ({ org_id: orgId, ...r })),
  )
  await insertJson(
    db,
    'users',
    USERS.map((u) => ({
      org_id: orgId,
      ...u,
      zuid: null,
      email: null,
      profile_id: null,
      reporting_to_id: null,
      time_zone: TZ,
      app_role_override: null,
      updated_at: SEED_NOW.toISOString(),
    })),
  )
  await insertJson(
    db,
    'stages',
    STAGES.map((s, i) => ({
      org_id: orgId,
      display_value: s.display,
      actual_value: s.actual,
      zoho_id: null,
      sequence: (i + 1) * 10,
      probability: s.probability,
      state: s.state,
      forecast_type: s.state === 'open' ? 'Open' : s.state === 'won' ? 'Closed Won' : 'Closed Lost',
      forecast_category: s.category,
      used: true,
    })),
  )
  await insertJson(db, 'sales_targets', [
    {
      org_id: orgId,
      owner_id: U.rep1,
      period_start: '2026-10-01',
      period_end: '2026-12-31',
      amount: '250000.00',
    },
    {
      org_id: orgId,
      owner_id: U.rep3,
      period_start: '2026-10-01',
      period_end: '2026-12-31',
      amount: '180000.50',
    },
    {
      org_id: orgId,
      owner_id: U.rep1,
      period_start: '2026-11-01',
      period_end: '2026-11-30',
      amount: '90000.00',
    },
  ])
  const statesByDay = new Map<string, Map<string, DealSeedRow>>()
  for (let k = 0; k < SNAPSHOT_DAYS.length; k++) {
    const rows = stateAt(b, k)
    await db.execute(sql`delete from deals where org_id = ${orgId}`)
    await insertJson(db, 'deals', rows)
    await takeSnapshot(db, orgId, SNAPSHOT_DAYS[k]!)
    statesByDay.set(SNAPSHOT_DAYS[k]!, new Map(rows.map((d) => [d.id, d])))
  }
  // After the deals: its trigger keeps their furthest stage (deals.furthest_stage).
  await insertJson(
    db,
    'stage_history',
    b.history.map((h, i) => ({
      id: i + 1,
      org_id: orgId,
      ...h,
      amount: null,
      probability: null,
      closing_date: null,
      zoho_id: null,
    })),
  )
  await db.execute(sql`select setval('stage_history_id_seq', ${b.history.length + 1})`)
  await db.execute(
    sql`update sync_state set last_success_at = '2026-11-26T05:00:00Z' where org_id = ${orgId}`,
  )
  return {
    orgId,
    now: SEED_NOW,
    users: { admin: U.admin, manager: U.mgrA, rep: U.rep1, otherManager: U.mgrB, otherRep: U.rep3 },
    snapshotDays: SNAPSHOT_DAYS,
    statesByDay,
  }
}

// ------------------------------------------------------------------- reading back, for reference

export interface OrgRows {
  org: { id: string; time_zone: string; fiscal_year_start_month: number; settings: Record<string, unknown> }
  deals: DealSeedRow[]
  stages: {
    display_value: string
    actual_value: string
    sequence: number
    state: string
    probability: number | null
    forecast_category: string | null
  }[]
  users: {
    id: string
    role_id: string | null
    profile_name: string | null
    full_name: string
    app_role_override: string | null
  }[]
  roles: { id: string; reports_to_id: string | null }[]
  history: { deal_id: string; stage: string; entered_at: string }[]
  snapshots: {
    deal_id: string
    valid_from: string
    valid_to: string | null
    stage: string
    state: string
    amount_sgd: string | null
    probability: number | null
    closing_date: string | null
    owner_id: string | null
    created_date: string | null
    currency: string | null
    pipeline: string | null
  }[]
  targets: { owner_id: string; period_start: string; period_end: string; amount: string }[]
}

/** Plain selects of everything the analytics read (timestamps as ISO UTC strings). */
export async function loadOrgRows(db: Db, orgId: string): Promise<OrgRows> {
  const iso = (c: string) => sql.raw(`to_char(${c} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`)
  const [org] = await query<OrgRows['org']>(
    db,
    sql`select id, time_zone, fiscal_year_start_month, settings from orgs where id = ${orgId}`,
  )
  const deals = await query<DealSeedRow>(
    db,
    sql`select id, name, stage, state, forecast_category, pipeline, owner_id, owner_name, territory, currency,
               amount::text as amount, amount_sgd::text as amount_sgd, weighted_sgd::text as weighted_sgd,
               effective_probability, probability, closing_date::text as closing_date,
               fx_rate::text as fx_rate, fx_date::text as fx_date, fx_source,
               ${iso('created_time')} as created_time, ${iso('modified_time')} as modified_time,
               ${iso('last_activity_time')} as last_activity_time, ${iso('stage_entered_at')} as stage_entered_at,
               closing_push_count
        from deals where org_id = ${orgId}`,
  )
  return {
    org: org!,
    deals,
    stages: await query(
      db,
      sql`select display_value, actual_value, sequence, state, probability, forecast_category from stages where org_id = ${orgId}`,
    ),
    users: await query(
      db,
      sql`select id, role_id, profile_name, full_name, app_role_override from users where org_id = ${orgId}`,
    ),
    roles: await query(db, sql`select id, reports_to_id from roles where org_id = ${orgId}`),
    history: await query(
      db,
      sql`select deal_id, stage, ${iso('entered_at')} as entered_at from stage_history where org_id = ${orgId}`,
    ),
    snapshots: await query(
      db,
      sql`select deal_id, valid_from::text as valid_from, valid_to::text as valid_to, stage, state,
                 amount_sgd::text as amount_sgd, probability, closing_date::text as closing_date, owner_id,
                 created_date::text as created_date, currency, pipeline
          from deal_snapshots where org_id = ${orgId}`,
    ),
    targets: await query(
      db,
      sql`select owner_id, period_start::text as period_start, period_end::text as period_end, amount::text as amount from sales_targets where org_id = ${orgId}`,
    ),
  }
}

/**
 * The visibility rule of DESIGN.md, implemented independently: owner ids a user may see, or null
 * for the whole org (profile Administrator or an admin override).
 */
export function visibleOwners(rows: OrgRows, userId: string): Set<string> | null {
  const me = rows.users.find((u) => u.id === userId)!
  if (me.app_role_override === 'admin' || (!me.app_role_override && me.profile_name === 'Administrator'))
    return null
  const out = new Set([userId])
  if (me.app_role_override === 'rep' || !me.role_id) return out
  const below = new Set<string>()
  let frontier = [me.role_id]
  while (frontier.length) {
    const next = rows.roles
      .filter((r) => r.reports_to_id && frontier.includes(r.reports_to_id))
      .map((r) => r.id)
    frontier = next.filter((id) => !below.has(id))
    frontier.forEach((id) => below.add(id))
  }
  for (const u of rows.users) if (u.role_id && below.has(u.role_id)) out.add(u.id)
  return out
}

/** Calendar date of an instant in a time zone. */
export function dateIn(instant: string, tz: string): string {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone: tz,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
  }).formatToParts(new Date(instant))
  const get = (t: string) => parts.find((p) => p.type === t)!.value
  return `${get('year')}-${get('month')}-${get('day')}`
}

export const cents = (s: string | null | undefined) => (s === null || s === undefined ? 0n : units(s, 2))
/** Σ amounts (cents) → "x.yy". */
export const money = (v: bigint) => show(v, 2)
/** a ÷ b with 4 places, half-even, or null. */
export const ratio4 = (a: bigint, b: bigint) => (b === 0n ? null : show(halfEven(a * 10_000n, b), 4))
