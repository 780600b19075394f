import type { ComponentChildren } from 'preact'
import { money, num } from '../format'

export interface Column<R> {
  label: ComponentChildren
  /** A figure: right-aligned (class "num") in the header and the cells. */
  num?: boolean
  /** The cell names its row: rendered as <th scope="row">. */
  rowHeader?: boolean
  /** aria-sort of a sortable column's header. */
  sort?: 'ascending' | 'descending'
  cell: (row: R, index: number) => ComponentChildren
}

/**
 * The tables of every view: column headers (scope="col"), one row per item, figures right-aligned.
 * It scrolls sideways in its own box (never the page); `header={false}` for label/value tables whose
 * first cell heads the row; `after` adds rows (totals) at the end of the body.
 */
export function DataTable<R>({
  columns,
  rows,
  rowKey,
  testId,
  header = true,
  after,
}: {
  columns: Column<R>[]
  rows: R[]
  rowKey: (row: R) => string
  testId?: string
  header?: boolean
  after?: ComponentChildren
}) {
  const cls = (c: Column<R>) => (c.num ? 'num' : undefined)
  const table = (
    <table data-testid={testId}>
      {header && (
        <thead>
          <tr>
            {columns.map((c, i) => (
              <th key={i} scope="col" class={cls(c)} aria-sort={c.sort}>
                {c.label}
              </th>
            ))}
          </tr>
        </thead>
      )}
      <tbody>
        {rows.map((r, ri) => (
          <tr key={rowKey(r)}>
            {columns.map((c, i) =>
              c.rowHeader ? (
                <th key={i} scope="row" class={cls(c)}>
                  {c.cell(r, ri)}
                </th>
              ) : (
                <td key={i} class={cls(c)}>
                  {c.cell(r, ri)}
                </td>
              ),
            )}
          </tr>
        ))}
        {after}
      </tbody>
    </table>
  )
  // Scrolls sideways inside its card on a narrow screen, never the page.
  return <div class="table-wrap">{table}</div>
}

/** An amount with its deal count after it: "SGD 1,200.00 (3)". */
export function MoneyCount({
  value,
  currency,
}: {
  value: { amount: string; count: number }
  currency: string
}) {
  return (
    <>
      {money(value.amount, currency)} <span class="muted">({num(value.count)})</span>
    </>
  )
}
