import { FilterBar } from '../components/filters'
import { DataTable, MoneyCount } from '../components/table'
import { Async, Card, useResource } from '../components/ui'
import { api } from '../endpoints'
import { money, pct } from '../format'
import { filters } from '../state'

/** Per owner: open, won and lost in P, win rate and target attainment; best won amount first. */
export default function Leaderboard() {
  const f = filters.value
  const res = useResource((signal) => api.byOwner(f, signal), [JSON.stringify(f)])
  return (
    <div>
      <h1 class="sr-only">Leaderboard</h1>
      <FilterBar />
      <Async res={res} isEmpty={(d) => d.owners.length === 0} empty="No deal owners in your view.">
        {(d) => {
          const rows = [...d.owners].sort((a, b) => Number(b.won.amount) - Number(a.won.amount))
          return (
            <Card title="Rep leaderboard">
              <DataTable
                testId="leaderboard"
                rows={rows}
                rowKey={(o) => o.ownerId}
                columns={[
                  { label: '#', num: true, cell: (_o, i) => i + 1 },
                  { label: 'Owner', cell: (o) => o.ownerName ?? o.ownerId },
                  {
                    label: 'Won in period',
                    num: true,
                    cell: (o) => <MoneyCount value={o.won} currency={d.currency} />,
                  },
                  { label: 'Win rate', num: true, cell: (o) => pct(o.winRate) },
                  {
                    label: 'Open pipeline',
                    num: true,
                    cell: (o) => <MoneyCount value={o.open} currency={d.currency} />,
                  },
                  { label: 'Weighted', num: true, cell: (o) => money(o.open.weighted, d.currency) },
                  {
                    label: 'Lost',
                    num: true,
                    cell: (o) => <MoneyCount value={o.lost} currency={d.currency} />,
                  },
                  {
                    label: 'Attainment',
                    num: true,
                    cell: (o) => (o.target ? `${pct(o.attainment)} of ${money(o.target, d.currency)}` : '—'),
                  },
                ]}
              />
            </Card>
          )
        }}
      </Async>
    </div>
  )
}
