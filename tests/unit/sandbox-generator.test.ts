import { describe, expect, it } from 'vitest'
import {
  createdAt,
  dealId,
  dealIndex,
  generateDeal,
  generateStageHistory,
  modifiedAt,
  type GenContext,
} from '../../api/src/sandbox/generator'
import { buildOrg, stageByValue, zohoDate, zohoTime } from '../../api/src/sandbox/org'
import { DealStore } from '../../api/src/sandbox/store'
import { FX_BASE_RATES, fxRatesFor, mondayOf } from '../../api/src/sandbox/fx-rates'

const anchor = Date.parse('2026-11-26T00:00:00Z') / 1000
const ctxOf = (n: number, seed = 42): GenContext => ({ seed, n, anchor, org: buildOrg(seed, 'USD') })

describe('sandbox deal generator', () => {
  it('is a pure function of (seed, index)', () => {
    const a = ctxOf(5000)
    const b = ctxOf(5000)
    for (const i of [0, 1, 777, 4999]) expect(generateDeal(a, i)).toEqual(generateDeal(b, i))
    expect(generateDeal(ctxOf(5000, 7), 777)).not.toEqual(generateDeal(a, 777))
  })

  it('serves deal 999,999 of a million-deal org without generating or storing the others', () => {
    const ctx = ctxOf(1_000_000)
    const store = new DealStore(ctx, () => Date.parse('2026-11-26T12:00:00Z'))
    const last = store.get(999_999)!
    expect(last.id).toBe(dealId(ctx.org, 999_999))
    expect(store.getById(last.id)).toEqual(last)
    // An If-Modified-Since scan starts at the cut (binary search), not at deal 0.
    const since = modifiedAt(ctx, 999_990)
    const scanned = [...store.scan('Modified_Time', false, null, since)].map(([c]) => c.v)
    expect(scanned).toEqual([
      999_990, 999_991, 999_992, 999_993, 999_994, 999_995, 999_996, 999_997, 999_998, 999_999,
    ])
    expect(store.edited.size + store.created.length + store.deleted.size).toBe(0)
  })

  it('formats times as Date would, in the org offset and without milliseconds', () => {
    const viaDate = (sec: number, off: number) => {
      const sign = off >= 0 ? '+' : '-'
      const hm = [Math.floor(Math.abs(off) / 60), Math.abs(off) % 60].map((n) => String(n).padStart(2, '0'))
      return `${new Date((sec + off * 60) * 1000).toISOString().slice(0, 19)}${sign}${hm.join(':')}`
    }
    const times = [0, 59, 86_399, 86_400, 1_700_000_000.75, -1, 253_402_300_799, anchor - 1]
    for (let k = 0; k < 2000; k++) times.push(anchor - 800 * 86_400 + k * 34_567)
    for (const off of [480, 0, -300, 345])
      for (const t of times) {
        expect(zohoTime(t, off)).toBe(viaDate(t, off))
        expect(zohoDate(t, off)).toBe(viaDate(t, off).slice(0, 10))
      }
    expect(zohoTime(1_735_689_599, 480)).toBe('2025-01-01T07:59:59+08:00')
  })

  it('keeps ids, Created_Time and Modified_Time increasing with the index', () => {
    const ctx = ctxOf(3000)
    let prev = generateDeal(ctx, 0)
    for (let i = 1; i < 3000; i += 7) {
      const d = generateDeal(ctx, i)
      expect(BigInt(d.id) > BigInt(prev.id)).toBe(true)
      expect(Date.parse(d.Created_Time as string)).toBeGreaterThanOrEqual(
        Date.parse(prev.Created_Time as string),
      )
      expect(Date.parse(d.Modified_Time as string)).toBeGreaterThanOrEqual(
        Date.parse(prev.Modified_Time as string),
      )
      expect(createdAt(ctx, i)).toBeLessThanOrEqual(modifiedAt(ctx, i))
      expect(dealIndex(ctx.org, d.id)).toBe(i)
      prev = d
    }
    expect(dealIndex(ctx.org, '1234567890123456789')).toBeUndefined()
  })

  it('produces the awkward data a real org has', () => {
    const ctx = ctxOf(3000)
    const deals = Array.from({ length: 3000 }, (_, i) => generateDeal(ctx, i))
    const stages = new Set(deals.map((d) => d.Stage))
    expect(stages.has('Identify Decision Makers')).toBe(true)
    expect(stages.has('Id. Decision Makers')).toBe(true)
    expect(deals.some((d) => d.Amount === null)).toBe(true)
    expect(deals.some((d) => d.Probability === null)).toBe(true)
    const currencies = new Set(deals.map((d) => d.Currency))
    for (const c of ['SGD', 'USD', 'EUR', 'JPY', 'IDR', 'KWD', 'MYR', 'MMK']) expect(currencies).toContain(c)
    // Collect the offenders and assert once (thousands of expect() calls would dominate the run time).
    const bad = deals.filter(
      (d) =>
        !/^\d{19}$/.test(d.id) ||
        !/^\d{4}-\d{2}-\d{2}$/.test(d.Closing_Date as string) ||
        !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+08:00$/.test(d.Modified_Time as string) ||
        typeof d.Exchange_Rate !== 'number' ||
        (d.Amount !== null && d.Currency === 'JPY' && !Number.isInteger(d.Amount)) ||
        (d.Amount !== null && d.Currency === 'KWD' && !/^\d+(\.\d{1,3})?$/.test(String(d.Amount))),
    )
    expect(bad).toEqual([])
    const org = ctx.org
    const state = (d: (typeof deals)[number]) => stageByValue(org, d.Stage as string)!.deal_category
    const today = '2026-11-26'
    const closed = deals.filter((d) => state(d) !== 'Open')
    expect(closed.some((d) => state(d) === 'Closed Won')).toBe(true)
    expect(closed.some((d) => state(d) === 'Closed Lost')).toBe(true)
    expect(
      closed.every((d) => (d.Closing_Date as string) < today && (d.Closing_Date as string) > '2024-11-01'),
    ).toBe(true)
    const open = deals.filter((d) => state(d) === 'Open')
    expect(open.some((d) => (d.Closing_Date as string) < today)).toBe(true)
    expect(open.some((d) => (d.Closing_Date as string) > today)).toBe(true)
    const owners = new Set(deals.map((d) => (d.Owner as { id: string }).id))
    for (const u of org.users.reps.filter((r) => r.status !== 'active')) expect(owners).toContain(u.id)
  })

  it('gives each deal a stage history that ends at its current stage', () => {
    const ctx = ctxOf(500)
    for (let i = 0; i < 500; i += 13) {
      const d = generateDeal(ctx, i)
      const rows = generateStageHistory(ctx, i, d)
      expect(rows[rows.length - 1]!.Stage).toBe(d.Stage)
      const times = rows.map((r) => Date.parse(r.Modified_Time as string))
      expect([...times].sort((a, b) => a - b)).toEqual(times)
      expect(times[0]).toBe(Date.parse(d.Created_Time as string))
      expect(times[times.length - 1]!).toBeLessThanOrEqual(Date.parse(d.Modified_Time as string))
      const cats = rows.map((r) => stageByValue(ctx.org, r.Stage as string)!.deal_category)
      expect(cats.slice(0, -1).every((c) => c === 'Open')).toBe(true)
    }
  })
})

describe('sandbox deal store', () => {
  const clock = { t: Date.parse('2026-11-26T12:00:00Z') }
  const fresh = () => new DealStore(ctxOf(50), () => clock.t)

  it('moves edited deals to the end of the Modified_Time order and records a stage change', () => {
    const store = fresh()
    const first = store.get(3)!
    clock.t += 1000
    store.edit(first.id, { Stage: 'Closed Won' })
    const asc = [...store.scan('Modified_Time', false, null, null)].map(([, d]) => d.id)
    expect(asc[asc.length - 1]).toBe(first.id)
    expect(asc).toHaveLength(50)
    const byId = [...store.scan('id', false, null, null)].map(([, d]) => d.id)
    expect(byId[3]).toBe(first.id)
    const edited = store.get(3)!
    expect(edited.Probability).toBe(100)
    expect(edited.Modified_Time).toBe('2026-11-26T20:00:01+08:00')
    expect(store.history(3)[0]!.Stage).toBe('Closed Won')
  })

  it('drops deleted deals from every order and lists them as deleted', () => {
    const store = fresh()
    const victim = store.get(10)!
    store.delete(victim.id)
    expect(store.get(10)).toBeUndefined()
    for (const sort of ['id', 'Created_Time', 'Modified_Time'] as const)
      expect([...store.scan(sort, true, null, null)].map(([, d]) => d.id)).not.toContain(victim.id)
    expect([...store.deleted.values()][0]).toMatchObject({ id: victim.id, type: 'recycle' })
  })

  it('mutates at random deterministically from a seed', () => {
    const a = fresh().mutateRandom({ edits: 5, deletes: 2, creates: 3 }, 9)
    const b = fresh().mutateRandom({ edits: 5, deletes: 2, creates: 3 }, 9)
    expect(a).toEqual(b)
    expect(a.created).toHaveLength(3)
    expect(a.deleted).toHaveLength(2)
  })
})

describe('sandbox FX rates', () => {
  it('move weekly as a pure function of the Monday', () => {
    expect(mondayOf('2026-11-26')).toBe('2026-11-23')
    expect(mondayOf('2026-11-23')).toBe('2026-11-23')
    expect(fxRatesFor('2026-11-23')).toEqual(fxRatesFor('2026-11-29'))
    expect(fxRatesFor('2026-11-30').SGD).not.toBe(fxRatesFor('2026-11-29').SGD)
    const r = fxRatesFor('2025-02-12')
    expect(r.USD).toBe('1.0')
    expect(r.MMK).toBeUndefined()
    for (const c of [
      'SGD',
      'EUR',
      'GBP',
      'JPY',
      'IDR',
      'MYR',
      'THB',
      'PHP',
      'VND',
      'INR',
      'CNY',
      'HKD',
      'AUD',
      'KWD',
      'BHD',
    ])
      expect(r[c]).toMatch(/^\d+\.\d+$/)
    expect(Object.keys(r).length).toBe(Object.keys(FX_BASE_RATES).length)
    expect(Math.abs(Number(r.SGD) / FX_BASE_RATES.SGD! - 1)).toBeLessThan(0.05)
  })
})
