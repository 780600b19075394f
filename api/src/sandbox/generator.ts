import { pickIndex, unit } from './rng'
import {
  DEAL_CURRENCIES,
  zohoDate,
  zohoTime,
  type OrgData,
  type Pipeline,
  type SandboxUser,
  type Stage,
} from './org'

/**
 * Deal i of the sandbox org as a pure function of (seed, i): nothing is stored, so 1,000,000 deals
 * cost no memory and deal 999,999 is computed without the ones before it. Ids, Created_Time and
 * Modified_Time all increase with i, so sorting by any of them is index order.
 */

export type DealRecord = Record<string, unknown> & { id: string }

export interface GenContext {
  seed: number
  /** Number of generated deals. */
  n: number
  /** Epoch seconds all generated times stay before (start of the sandbox's day). */
  anchor: number
  org: OrgData
}

const DAY = 86_400
/** Modified times span 728 days, from 730 to 2 days before the anchor. */
const MODIFIED_SPAN = 728 * DAY
/** Days from creation to the last edit: 7 plus twice the last edit's age, at most 58 (new deals are young). */
const CYCLE_DAYS = 58

export const DEAL_ID_BASE = 100_000_000
export const DEAL_ID_STEP = 13

export function dealId(org: OrgData, g: number): string {
  return org.id(2, DEAL_ID_BASE + g * DEAL_ID_STEP)
}

/** Global deal index of an id, or undefined when the id is not one of this org's deal ids. */
export function dealIndex(org: OrgData, id: string): number | undefined {
  if (!/^\d{19}$/.test(id) || !id.startsWith(`${org.prefix}2`)) return undefined
  const n = Number(id.slice(org.prefix.length + 1)) - DEAL_ID_BASE
  return n >= 0 && n % DEAL_ID_STEP === 0 ? n / DEAL_ID_STEP : undefined
}

/** Share of the way from deal i to the newest (1 for deal 0, 0 for the newest). */
function oldness(ctx: GenContext, i: number): number {
  return (ctx.n - i) / ctx.n
}

export function createdAt(ctx: GenContext, i: number): number {
  const modified = modifiedAt(ctx, i)
  const edited = ctx.anchor - 2 * DAY - modified
  return modified - Math.min(CYCLE_DAYS * DAY, 7 * DAY + 2 * edited)
}

/**
 * Cubic in the index rather than linear, so that edits bunch up towards today as in a growing org
 * whose reps work their open deals (17% of deals edited in the last month, 13 times as many a day
 * as two years before): a linear spread left nearly every open deal untouched for months, and the
 * demo's Risk view flagging all of them.
 */
export function modifiedAt(ctx: GenContext, i: number): number {
  const x = oldness(ctx, i)
  return ctx.anchor - 2 * DAY - Math.floor((0.2 * x + 0.8 * x ** 3) * MODIFIED_SPAN)
}

/** First generated index whose Modified_Time is at or after `epochSeconds` (n when none). */
export function firstModifiedAtOrAfter(ctx: GenContext, epochSeconds: number): number {
  let lo = 0
  let hi = ctx.n
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (modifiedAt(ctx, mid) >= epochSeconds) hi = mid
    else lo = mid + 1
  }
  return lo
}

/** Owner weights: the ten reps (incl. a deactivated and a deleted one) own most deals. */
export function ownerOf(ctx: GenContext, i: number): SandboxUser {
  const { admin, managers, reps } = ctx.org.users
  const u = unit(ctx.seed, i, 'owner')
  if (u < 0.05) return admin
  if (u < 0.15) return managers[pickIndex(managers.length, ctx.seed, i, 'mgr')]!
  return reps[pickIndex(reps.length, ctx.seed, i, 'rep')]!
}

const CURRENCY_WEIGHTS: [string, number][] = [
  ['SGD', 0.3],
  ['USD', 0.2],
  ['EUR', 0.1],
  ['JPY', 0.08],
  ['IDR', 0.08],
  ['KWD', 0.06],
  ['MYR', 0.12],
  ['MMK', 0.06],
]
const TYPES = ['New Business', 'Existing Business']
const SOURCES = [
  'Advertisement',
  'Cold Call',
  'Employee Referral',
  'Partner',
  'Web Download',
  'Trade Show',
  null,
]
const LOSS_REASONS = ['Price', 'Lost to Competitor', 'No Budget', 'No Decision', 'Timing']
const PRODUCTS = ['Platform Licence', 'Renewal', 'Expansion', 'Services', 'Pilot', 'Support Plan']

/** A pipeline's stages by category, computed once per pipeline (stagePath runs for every deal served). */
const stagesByCategory = new WeakMap<Pipeline, Record<Stage['deal_category'], Stage[]>>()

function categorized(org: OrgData, pipeline: Pipeline): Record<Stage['deal_category'], Stage[]> {
  let c = stagesByCategory.get(pipeline)
  if (!c) {
    const stages = pipeline.stages.map((s) => org.stages.find((x) => x.display_value === s)!)
    const of = (cat: Stage['deal_category']) => stages.filter((s) => s.deal_category === cat)
    c = { Open: of('Open'), 'Closed Won': of('Closed Won'), 'Closed Lost': of('Closed Lost') }
    stagesByCategory.set(pipeline, c)
  }
  return c
}

/** The history path of a deal: the stages it went through, ending at its current stage. */
export function stagePath(ctx: GenContext, i: number): { pipeline: string; path: Stage[] } {
  const { org, seed, n } = ctx
  const pipeline = unit(seed, i, 'pipeline') < 0.3 ? org.pipelines[1]! : org.pipelines[0]!
  const { Open: open, 'Closed Won': won, 'Closed Lost': lost } = categorized(org, pipeline)
  // Deals are closed but for a few left open; most of those edited in the last month are open.
  const recency = n > 1 ? i / (n - 1) : 1
  const pOpen = 0.04 + 0.8 * recency ** 8
  const r = unit(seed, i, 'state')
  let path: Stage[]
  if (r < pOpen) {
    path = open.slice(0, 1 + pickIndex(open.length, seed, i, 'openstage'))
  } else if (r < pOpen + (1 - pOpen) * 0.55) {
    path = [...open.slice(0, 2 + pickIndex(open.length - 1, seed, i, 'reach')), won[0]!]
  } else {
    const reached = 1 + pickIndex(open.length, seed, i, 'reach')
    path = [...open.slice(0, reached), lost[pickIndex(lost.length, seed, i, 'lost')]!]
  }
  return { pipeline: pipeline.name, path }
}

function lookup(u: SandboxUser) {
  return { name: u.full_name, id: u.id, email: u.email }
}

/** Minor units → JSON number with the currency's decimals (exact shortest representation). */
export function money(minor: number, decimals: number): number {
  return minor / 10 ** decimals
}

/** The stage value a deal shows: sometimes the picklist's display value, sometimes its actual value. */
function shown(ctx: GenContext, i: number, s: Stage, salt: string | number): string {
  return s.actual_value !== s.display_value && unit(ctx.seed, i, 'shown', salt) < 0.5
    ? s.actual_value
    : s.display_value
}

/**
 * Times (epoch seconds) of each stage change of a generated deal, evenly spaced from its creation.
 * A closed deal's last change (its close) is a step short of its last edit; an open deal moved to
 * its current stage in the last third of the time to its last edit, as deals being worked do.
 */
function pathTimes(ctx: GenContext, i: number, path: Stage[]): number[] {
  const c = createdAt(ctx, i)
  const gap = modifiedAt(ctx, i) - c
  const steps = path.length
  const open = path[steps - 1]!.deal_category === 'Open'
  const span = open && steps > 1 ? (gap * (1 - unit(ctx.seed, i, 'lastmove') / 3)) / (steps - 1) : gap / steps
  const times: number[] = []
  for (let j = 0; j < steps; j++) times.push(c + Math.floor(span * j))
  return times
}

/** Generated deal i with every field, as Zoho returns it. */
export function generateDeal(ctx: GenContext, i: number): DealRecord {
  const { seed, org } = ctx
  const off = org.offsetMinutes
  const owner = ownerOf(ctx, i)
  const { pipeline, path } = stagePath(ctx, i)
  const stage = path[path.length - 1]!
  const created = createdAt(ctx, i)
  const modified = modifiedAt(ctx, i)
  const times = pathTimes(ctx, i, path)

  let cw = unit(seed, i, 'currency')
  let currency = 'SGD'
  for (const [code, w] of CURRENCY_WEIGHTS) {
    if (cw < w) {
      currency = code
      break
    }
    cw -= w
  }
  const cur = DEAL_CURRENCIES.find((c) => c.code === currency)!
  const rate = Number(org.exchangeRates.get(currency)!)
  // Deal size: log-uniform between 2,000 and 500,000 in home currency, expressed in the deal currency.
  const home = 2000 * Math.exp(unit(seed, i, 'size') * Math.log(250))
  const minor = Math.round(home * rate * 10 ** cur.decimals)
  const amount = unit(seed, i, 'nullamount') < 0.03 ? null : money(minor, cur.decimals)

  const pr = unit(seed, i, 'prob')
  const probability =
    stage.deal_category !== 'Open'
      ? stage.probability
      : pr < 0.04
        ? null
        : pr < 0.2
          ? Math.min(95, Math.max(5, stage.probability + (pickIndex(5, seed, i, 'pd') - 2) * 5))
          : stage.probability
  const expected =
    amount === null || probability === null
      ? null
      : money(Math.round((minor * probability) / 100), cur.decimals)

  const closed = stage.deal_category !== 'Open'
  // An open deal's closing date was last set when it was last edited: mostly ahead of that, in the
  // past for about one in ten worked recently, and for the deals left untouched for months.
  const closing = closed
    ? zohoDate(times[times.length - 1]!, off)
    : zohoDate(Math.max(created + 14 * DAY, modified + (pickIndex(200, seed, i, 'close') - 20) * DAY), off)

  const account =
    unit(seed, i, 'noacct') < 0.05 ? null : org.accounts[pickIndex(org.accounts.length, seed, i, 'acct')]!
  const contact =
    unit(seed, i, 'nocontact') < 0.5
      ? null
      : org.contacts[pickIndex(org.contacts.length, seed, i, 'contact')]!
  const region =
    owner.roleId === org.roles[4]!.id || owner.roleId === org.roles[2]!.id
      ? 0
      : owner.roleId === org.roles[5]!.id || owner.roleId === org.roles[3]!.id
        ? 1
        : pickIndex(2, seed, i, 'terr')
  const territory = org.territories[region]!
  const modifier = unit(seed, i, 'modby') < 0.8 ? owner : org.users.admin
  // Reps log calls and notes on a deal as they work it: an open deal's last activity is within the
  // three weeks before its last edit, a closed deal's any time before it.
  const activitySpan = closed ? modified - created : Math.min(modified - created, 21 * DAY)
  const lastActivity =
    unit(seed, i, 'noact') < 0.1 ? null : modified - Math.floor(unit(seed, i, 'act') * activitySpan)
  const product = PRODUCTS[pickIndex(PRODUCTS.length, seed, i, 'product')]!
  const cycle = closed ? Math.round((times[times.length - 1]! - created) / DAY) : null
  const modifiedTime = zohoTime(modified, off)

  return {
    id: dealId(org, i),
    Deal_Name: `${account?.name ?? 'Walk-in'} - ${product} #${i + 1}`,
    Amount: amount,
    Currency: currency,
    Exchange_Rate: rate,
    $currency_symbol: cur.symbol,
    Stage: shown(ctx, i, stage, 'current'),
    Probability: probability,
    Expected_Revenue: expected,
    Closing_Date: closing,
    Pipeline: pipeline,
    Type: TYPES[pickIndex(TYPES.length, seed, i, 'type')]!,
    Lead_Source: SOURCES[pickIndex(SOURCES.length, seed, i, 'source')]!,
    Reason_For_Loss__s:
      stage.deal_category === 'Closed Lost'
        ? LOSS_REASONS[pickIndex(LOSS_REASONS.length, seed, i, 'loss')]!
        : null,
    Next_Step: closed ? null : 'Follow up',
    Description: null,
    Owner: lookup(owner),
    Account_Name: account ? { name: account.name, id: account.id } : null,
    Contact_Name: contact ? { name: contact.name, id: contact.id } : null,
    Campaign_Source: null,
    Territory: [{ id: territory.id, name: territory.name }],
    Tag: [],
    Created_By: lookup(owner),
    Modified_By: lookup(modifier),
    Created_Time: zohoTime(created, off),
    Modified_Time: modifiedTime,
    Last_Activity_Time: lastActivity === null ? null : zohoTime(lastActivity, off),
    Change_Log_Time__s: modifiedTime,
    Sales_Cycle_Duration: cycle,
    Overall_Sales_Duration: cycle,
    Lead_Conversion_Time: null,
    Record_Status__s: 'Available',
    Locked__s: false,
  }
}

/** Stage_History rows of generated deal i, oldest first. */
export function generateStageHistory(ctx: GenContext, i: number, deal: DealRecord): DealRecord[] {
  const { org } = ctx
  const { path } = stagePath(ctx, i)
  const times = pathTimes(ctx, i, path)
  const owner = deal.Owner as { name: string; id: string; email: string }
  const cur = DEAL_CURRENCIES.find((c) => c.code === deal.Currency)!
  // A quarter of the open deals past two stages slipped: each stage change came with the closing
  // date a month earlier than the next, and it moved again since (three or more moves later).
  const closing =
    typeof deal.Closing_Date === 'string' ? Date.parse(`${deal.Closing_Date}T00:00:00Z`) / 1000 : NaN
  const slipped =
    !Number.isNaN(closing) &&
    path.length > 2 &&
    path[path.length - 1]!.deal_category === 'Open' &&
    unit(ctx.seed, i, 'slip') < 0.25
  return path.map((s, j) => {
    const last = j === path.length - 1
    const probability = last ? (deal.Probability as number | null) : s.probability
    const amount = deal.Amount as number | null
    return {
      id: org.id(3, i * 16 + j),
      Stage: last ? (deal.Stage as string) : shown(ctx, i, s, j),
      Amount: amount,
      Probability: probability,
      Close_Date: slipped ? zohoDate(closing - (path.length - j) * 30 * DAY, 0) : deal.Closing_Date,
      Expected_Revenue:
        amount === null || probability === null
          ? null
          : money(Math.round((Math.round(amount * 10 ** cur.decimals) * probability) / 100), cur.decimals),
      Modified_Time: zohoTime(times[j]!, org.offsetMinutes),
      Modified_By: owner,
      Created_Time: zohoTime(times[j]!, org.offsetMinutes),
      Created_By: owner,
    }
  })
}
