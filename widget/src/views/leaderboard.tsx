import { FilterBar } from '../components/filters'
import { Async, Card, useResource } from '../components/ui'
import { api } from '../endpoints'
import { money, num, pct } from '../format'
import { filters } from '../state'

/** Per owner: open, won and lost in P, win rate and target attainment; best won amount first. */
export default function Leaderboard() {
  const f = filters.value
  const res = useResource(() => api.byOwner(f), [JSON.stringify(f)])
  return (
    <div>
      <h1 class="sr-only">Leaderboard</h1>
      <FilterBar />
      <Async res={res} isEmpty={(d) => d.owners.length === 0} empty="No deal owners in your view.">
        {(d) => {
          const rows = [...d.owners].sort((a, b) => Number(b.won.amount) - Number(a.won.amount))
          return (
            <Card title="Rep leaderboard">
              <div class="table-wrap">
                <table data-testid="leaderboard">
                  <thead>
                    <tr>
                      <th scope="col">#</th>
                      <th scope="col">Owner</th>
                      <th scope="col" class="num">
                        Won in period
                      </th>
                      <th scope="col" class="num">
                        Win rate
                      </th>
                      <th scope="col" class="num">
                        Open pipeline
                      </th>
                      <th scope="col" class="num">
                        Weighted
                      </th>
                      <th scope="col" class="num">
                        Lost
                      </th>
                      <th scope="col" class="num">
                        Attainment
                      </th>
                    </tr>
                  </thead>
                  <tbody>
                    {rows.map((o, i) => (
                      <tr key={o.ownerId}>
                        <td>{i + 1}</td>
                        <td>{o.ownerName ?? o.ownerId}</td>
                        <td class="num">
                          {money(o.won.amount, d.currency)} <span class="muted">({num(o.won.count)})</span>
                        </td>
                        <td class="num">{pct(o.winRate)}</td>
                        <td class="num">
                          {money(o.open.amount, d.currency)} <span class="muted">({num(o.open.count)})</span>
                        </td>
                        <td class="num">{money(o.open.weighted, d.currency)}</td>
                        <td class="num">
                          {money(o.lost.amount, d.currency)} <span class="muted">({num(o.lost.count)})</span>
                        </td>
                        <td class="num">
                          {o.target ? `${pct(o.attainment)} of ${money(o.target, d.currency)}` : '—'}
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            </Card>
          )
        }}
      </Async>
    </div>
  )
}
