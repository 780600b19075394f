import { sequence } from './rng'
import { stageByValue, zohoTime, DEAL_CURRENCIES, type SandboxUser } from './org'
import {
  dealId,
  dealIndex,
  firstModifiedAtOrAfter,
  generateDeal,
  generateStageHistory,
  money,
  type DealRecord,
  type GenContext,
} from './generator'

/**
 * The live deal set: generated deals plus an overlay of mutations (edited, created, deleted), so
 * memory grows with the number of mutations only.
 *
 * Orders: by id and by Created_Time, deals are in global-index order (created deals get the next
 * indices). By Modified_Time: generated deals never touched, in index order, then every mutated or
 * created deal in the order it was last changed (their Modified_Time is "now").
 */

export interface DeletedDeal {
  id: string
  display_name: string | null
  /** 'recycle' or 'permanent'; any other value stands for a kind of deletion Zoho might add. */
  type: string
  deleted_time: string
  deleted_epoch: number
  deleted_by: { name: string; id: string } | null
  created_by: { name: string; id: string } | null
}

export interface Mutation {
  operation: 'insert' | 'update' | 'delete'
  changes: { id: string; fields: string[]; values: Record<string, unknown> }[]
}

/** A position in a scan: part 0 = global index order, part 1 = the list of mutated deals. */
export interface Cursor {
  p: 0 | 1
  v: number
}

export type SortBy = 'id' | 'Created_Time' | 'Modified_Time'

const DAY = 86_400

export class DealStore {
  readonly created: DealRecord[] = []
  readonly edited = new Map<number, DealRecord>()
  readonly deleted = new Map<number, DeletedDeal>()
  private extraHistory = new Map<number, DealRecord[]>()
  private modOrder: number[] = []
  private modSeq = new Map<number, number>()
  private historySeq = 0
  private pending: Mutation[] | null = null
  private randomCalls = 0
  readonly listeners: ((m: Mutation) => void)[] = []

  constructor(
    readonly ctx: GenContext,
    private nowMs: () => number,
  ) {}

  get total(): number {
    return this.ctx.n + this.created.length
  }

  private nowSec(): number {
    return Math.floor(this.nowMs() / 1000)
  }

  private time(sec: number): string {
    return zohoTime(sec, this.ctx.org.offsetMinutes)
  }

  /** The live deal at global index g, or undefined when deleted or out of range. */
  get(g: number): DealRecord | undefined {
    if (g < 0 || g >= this.total || this.deleted.has(g)) return undefined
    if (g >= this.ctx.n) return this.created[g - this.ctx.n]
    return this.edited.get(g) ?? generateDeal(this.ctx, g)
  }

  indexOf(id: string): number | undefined {
    const g = dealIndex(this.ctx.org, id)
    return g !== undefined && g < this.total ? g : undefined
  }

  getById(id: string): DealRecord | undefined {
    const g = this.indexOf(id)
    return g === undefined ? undefined : this.get(g)
  }

  /** Every live deal in id order (streamed). */
  *all(): Generator<DealRecord> {
    for (let g = 0; g < this.total; g++) {
      const d = this.get(g)
      if (d) yield d
    }
  }

  /** Stage_History rows of a deal, newest first. */
  history(g: number): DealRecord[] {
    const extra = this.extraHistory.get(g) ?? []
    const base = g < this.ctx.n ? generateStageHistory(this.ctx, g, generateDeal(this.ctx, g)) : []
    return [...base, ...extra].reverse()
  }

  /**
   * Live deals in the requested order, strictly after `after`. With `imsSec`, only deals modified
   * at or after it (generated deals are cut by binary search: their Modified_Time grows with the index).
   */
  *scan(
    sort: SortBy,
    desc: boolean,
    after: Cursor | null,
    imsSec: number | null,
  ): Generator<[Cursor, DealRecord]> {
    const n = this.ctx.n
    const byMod = sort === 'Modified_Time'
    const top = byMod ? n : this.total
    const k = imsSec === null ? 0 : firstModifiedAtOrAfter(this.ctx, imsSec)
    const passes = (d: DealRecord) =>
      imsSec === null || Date.parse(d.Modified_Time as string) / 1000 >= imsSec
    // Edited generated deals below the cut may still pass the filter (their Modified_Time is new).
    const editedBelowCut = () =>
      byMod || k === 0 ? [] : [...this.edited.keys()].filter((g) => g < k).sort((a, b) => a - b)
    const partA = this.partA(top, byMod, passes)
    const get = (g: number) => this.get(g)
    const modEntry = (s: number) => this.modEntry(s)
    const modCount = this.modOrder.length

    function* forward(): Generator<[Cursor, DealRecord]> {
      if (!after || after.p === 0) {
        const start = after ? after.v + 1 : 0
        for (const g of editedBelowCut()) {
          if (g < start) continue
          const d = get(g)
          if (d && passes(d)) yield [{ p: 0, v: g }, d]
        }
        for (let g = Math.max(start, k); g < top; g++) {
          const d = partA(g)
          if (d) yield [{ p: 0, v: g }, d]
        }
      }
      if (!byMod) return
      for (let s = after?.p === 1 ? after.v + 1 : 0; s < modCount; s++) {
        const d = modEntry(s)
        if (d && passes(d)) yield [{ p: 1, v: s }, d]
      }
    }

    function* backward(): Generator<[Cursor, DealRecord]> {
      if (byMod && (!after || after.p === 1)) {
        for (let s = after ? after.v - 1 : modCount - 1; s >= 0; s--) {
          const d = modEntry(s)
          if (d && passes(d)) yield [{ p: 1, v: s }, d]
        }
      }
      const start = after?.p === 0 ? after.v - 1 : top - 1
      for (let g = start; g >= k; g--) {
        const d = partA(g)
        if (d) yield [{ p: 0, v: g }, d]
      }
      for (const g of editedBelowCut().reverse()) {
        if (g > start) continue
        const d = get(g)
        if (d && passes(d)) yield [{ p: 0, v: g }, d]
      }
    }

    yield* desc ? backward() : forward()
  }

  /** Part-0 lookup for indices at or above the cut: generated untouched deals pass the filter by construction. */
  private partA(top: number, byMod: boolean, passes: (d: DealRecord) => boolean) {
    return (g: number): DealRecord | undefined => {
      if (g >= top || this.deleted.has(g)) return undefined
      if (byMod) return this.edited.has(g) ? undefined : generateDeal(this.ctx, g)
      const d = this.get(g)
      if (!d) return undefined
      return g < this.ctx.n && !this.edited.has(g) ? d : passes(d) ? d : undefined
    }
  }

  private modEntry(s: number): DealRecord | undefined {
    const g = this.modOrder[s]!
    return this.modSeq.get(g) === s ? this.get(g) : undefined
  }

  private touch(g: number): void {
    this.modSeq.set(g, this.modOrder.length)
    this.modOrder.push(g)
  }

  private put(g: number, d: DealRecord): void {
    if (g >= this.ctx.n) this.created[g - this.ctx.n] = d
    else this.edited.set(g, d)
  }

  private emit(m: Mutation): void {
    if (this.pending) this.pending.push(m)
    else for (const l of this.listeners) l(m)
  }

  private lookup(u: SandboxUser) {
    return { name: u.full_name, id: u.id, email: u.email }
  }

  private userFor(v: unknown): SandboxUser {
    const id = typeof v === 'string' ? v : (v as { id?: string } | null)?.id
    const u = this.ctx.org.users.all.find((x) => x.id === id)
    if (!u) throw new Error(`unknown user ${String(id)}`)
    return u
  }

  /** Applies field changes the way Zoho does: derived fields follow, Modified_Time becomes now. */
  private apply(before: DealRecord | null, changes: Record<string, unknown>, by: SandboxUser): DealRecord {
    const org = this.ctx.org
    const next: DealRecord = { ...(before ?? ({} as DealRecord)), ...changes } as DealRecord
    if ('Owner' in changes) next.Owner = this.lookup(this.userFor(changes.Owner))
    const stage = stageByValue(org, String(next.Stage))
    if (!stage) throw new Error(`unknown stage ${String(next.Stage)}`)
    if ('Stage' in changes && !('Probability' in changes)) next.Probability = stage.probability
    if ('Currency' in changes) {
      const rate = org.exchangeRates.get(String(next.Currency))
      if (!rate) throw new Error(`unknown currency ${String(next.Currency)}`)
      if (!('Exchange_Rate' in changes)) next.Exchange_Rate = Number(rate)
      next.$currency_symbol = DEAL_CURRENCIES.find((c) => c.code === next.Currency)?.symbol ?? next.Currency
    }
    if (!('Expected_Revenue' in changes)) {
      const decimals = DEAL_CURRENCIES.find((c) => c.code === next.Currency)?.decimals ?? 2
      const amount = next.Amount as number | null
      const p = next.Probability as number | null
      next.Expected_Revenue =
        amount === null || p === null
          ? null
          : money(Math.round((Math.round(amount * 10 ** decimals) * p) / 100), decimals)
    }
    const now = this.time(this.nowSec())
    next.Modified_Time = now
    next.Change_Log_Time__s = now
    next.Modified_By = this.lookup(by)
    return next
  }

  private addHistory(g: number, d: DealRecord, by: SandboxUser): void {
    const rows = this.extraHistory.get(g) ?? []
    rows.push({
      id: this.ctx.org.id(4, ++this.historySeq),
      Stage: d.Stage,
      Amount: d.Amount,
      Probability: d.Probability,
      Close_Date: d.Closing_Date,
      Expected_Revenue: d.Expected_Revenue,
      Modified_Time: d.Modified_Time,
      Modified_By: this.lookup(by),
      Created_Time: d.Modified_Time,
      Created_By: this.lookup(by),
    })
    this.extraHistory.set(g, rows)
  }

  edit(id: string, changes: Record<string, unknown>, by: SandboxUser = this.ctx.org.users.admin): void {
    const g = this.indexOf(id)
    const before = g === undefined ? undefined : this.get(g)
    if (g === undefined || !before) throw new Error(`no live deal ${id}`)
    const { id: _ignored, ...rest } = changes
    const next = this.apply(before, rest, by)
    next.id = before.id
    this.put(g, next)
    this.touch(g)
    if (next.Stage !== before.Stage) this.addHistory(g, next, by)
    const fields = Object.keys(rest).filter((f) => JSON.stringify(before[f]) !== JSON.stringify(next[f]))
    this.emit({
      operation: 'update',
      changes: [{ id, fields, values: Object.fromEntries(fields.map((f) => [f, next[f]])) }],
    })
  }

  /** Deletes a deal: to the recycle bin, or permanently (listed with null names, as Zoho does). */
  delete(
    id: string,
    type: DeletedDeal['type'] = 'recycle',
    by: SandboxUser = this.ctx.org.users.admin,
  ): void {
    const g = this.indexOf(id)
    const d = g === undefined ? undefined : this.get(g)
    if (g === undefined || !d) throw new Error(`no live deal ${id}`)
    const sec = this.nowSec()
    const createdBy = d.Created_By as { name: string; id: string }
    this.deleted.set(g, {
      id,
      display_name: d.Deal_Name as string,
      type,
      deleted_time: this.time(sec),
      deleted_epoch: sec,
      deleted_by: { name: by.full_name, id: by.id },
      created_by: { name: createdBy.name, id: createdBy.id },
    })
    this.emit({ operation: 'delete', changes: [{ id, fields: [], values: {} }] })
  }

  create(fields: Record<string, unknown> = {}, by: SandboxUser = this.ctx.org.users.admin): string {
    const g = this.total
    const org = this.ctx.org
    const template = generateDeal(this.ctx, g)
    const sec = this.nowSec()
    const owner = fields.Owner !== undefined ? this.userFor(fields.Owner) : by
    const base: DealRecord = {
      ...template,
      id: dealId(org, g),
      Stage: 'Qualification',
      Probability: 10,
      Closing_Date: this.time(sec + 30 * DAY).slice(0, 10),
      Pipeline: org.pipelines[0]!.name,
      Reason_For_Loss__s: null,
      Next_Step: 'Follow up',
      Sales_Cycle_Duration: null,
      Overall_Sales_Duration: null,
      Last_Activity_Time: null,
      Owner: this.lookup(owner),
      Created_By: this.lookup(by),
      Created_Time: this.time(sec),
    }
    const { id: _ignored, ...rest } = fields
    const d = this.apply(base, { ...rest, Owner: owner.id }, by)
    d.id = base.id
    this.created.push(d)
    this.touch(g)
    this.addHistory(g, d, by)
    this.emit({
      operation: 'insert',
      changes: [{ id: d.id, fields: Object.keys(d).filter((k) => k !== 'id'), values: { ...d } }],
    })
    return d.id
  }

  /** Random live deal ids' mutations, deterministic from the seed; notifications grouped per operation. */
  mutateRandom(
    n: { edits?: number; deletes?: number; creates?: number },
    seed?: number,
  ): { edited: string[]; deleted: string[]; created: string[] } {
    const draw = sequence(seed ?? this.ctx.seed * 7919 + ++this.randomCalls)
    const out = { edited: [] as string[], deleted: [] as string[], created: [] as string[] }
    const pickLive = (): [number, DealRecord] => {
      for (;;) {
        const g = Math.floor(draw() * this.total)
        const d = this.get(g)
        if (d) return [g, d]
      }
    }
    this.pending = []
    try {
      for (let e = 0; e < (n.edits ?? 0); e++) {
        const [, d] = pickLive()
        this.edit(d.id, this.randomChange(d, draw))
        out.edited.push(d.id)
      }
      for (let x = 0; x < (n.deletes ?? 0); x++) {
        const [, d] = pickLive()
        this.delete(d.id, draw() < 0.25 ? 'permanent' : 'recycle')
        out.deleted.push(d.id)
      }
      for (let c = 0; c < (n.creates ?? 0); c++) {
        const reps = this.ctx.org.users.reps.filter((u) => u.status === 'active')
        out.created.push(this.create({ Owner: reps[Math.floor(draw() * reps.length)]!.id }))
      }
    } finally {
      const batch = this.pending
      this.pending = null
      for (const op of ['update', 'delete', 'insert'] as const) {
        const changes = batch.filter((m) => m.operation === op).flatMap((m) => m.changes)
        if (changes.length) this.emit({ operation: op, changes })
      }
    }
    return out
  }

  private randomChange(d: DealRecord, draw: () => number): Record<string, unknown> {
    const org = this.ctx.org
    const r = draw()
    const pipeline = org.pipelines.find((p) => p.name === d.Pipeline) ?? org.pipelines[0]!
    const current = stageByValue(org, String(d.Stage))!
    if (r < 0.5) {
      // Move to another stage of its pipeline (often the next one).
      const at = pipeline.stages.indexOf(current.display_value)
      const nextIdx =
        draw() < 0.7
          ? Math.min(at + 1, pipeline.stages.length - 1)
          : Math.floor(draw() * pipeline.stages.length)
      const target = pipeline.stages[nextIdx === at ? (at + 1) % pipeline.stages.length : nextIdx]!
      return { Stage: target }
    }
    if (r < 0.8) {
      const amount = d.Amount as number | null
      const decimals = DEAL_CURRENCIES.find((c) => c.code === d.Currency)?.decimals ?? 2
      const base = amount ?? 10_000
      return { Amount: money(Math.round(base * (0.8 + draw() * 0.4) * 10 ** decimals), decimals) }
    }
    const shift = (Math.floor(draw() * 60) - 20) * DAY * 1000
    const date = new Date(Date.parse(`${d.Closing_Date as string}T00:00:00Z`) + shift)
    return { Closing_Date: date.toISOString().slice(0, 10) }
  }
}
