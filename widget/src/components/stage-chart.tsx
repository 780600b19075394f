import { compactMoney } from '../format'
import { Chart } from './Chart'

/** Amount (bars) and weighted amount (line) per stage, in pipeline order. */
export function StageAmountChart({
  label,
  stages,
  currency,
  height,
}: {
  label: string
  stages: { stage: string; amount: string; weighted: string }[]
  currency: string
  height?: number
}) {
  return (
    <Chart
      label={label}
      categories={stages.map((s) => s.stage)}
      series={[
        { label: 'Amount', color: '#1a73e8', kind: 'bar' },
        { label: 'Weighted', color: '#f29900', kind: 'line' },
      ]}
      values={[stages.map((s) => Number(s.amount)), stages.map((s) => Number(s.weighted))]}
      format={(v) => compactMoney(v, currency)}
      height={height}
    />
  )
}
