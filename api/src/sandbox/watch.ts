import type { Mutation } from './store'

/** Watch API channels and their callbacks (POSTed to notify_url, shaped like Zoho's). */

export interface Channel {
  channel_id: string
  events: string[]
  notify_url: string
  token: string | null
  expiresAt: number
  return_affected_field_values: boolean
  notify_on_related_action: boolean
  userId: string
}

export interface Delivery {
  at: number
  channel_id: string
  url: string
  body: Record<string, unknown>
  status: number | 'error'
}

const OPERATION_EVENT = { insert: 'create', update: 'edit', delete: 'delete' } as const

export class Watch {
  readonly channels = new Map<string, Channel>()
  readonly deliveries: Delivery[] = []
  private inflight = new Set<Promise<void>>()

  constructor(
    private now: () => number,
    private resourceUri: () => string,
  ) {}

  live(): Channel[] {
    const t = this.now()
    for (const [id, ch] of this.channels) if (ch.expiresAt <= t) this.channels.delete(id)
    return [...this.channels.values()]
  }

  notify(m: Mutation, visible: (userId: string, dealId: string) => boolean): void {
    const event = OPERATION_EVENT[m.operation]
    for (const ch of this.live()) {
      if (!ch.events.includes('Deals.all') && !ch.events.includes(`Deals.${event}`)) continue
      const changes = m.changes.filter((x) => m.operation === 'delete' || visible(ch.userId, x.id))
      if (!changes.length) continue
      const url = new URL(ch.notify_url)
      const body: Record<string, unknown> = {
        server_time: this.now(),
        query_params: Object.fromEntries(url.searchParams),
        module: 'Deals',
        resource_uri: this.resourceUri(),
        ids: changes.map((x) => x.id),
        affected_fields: m.operation === 'update' ? changes.map((x) => ({ [x.id]: x.fields })) : [],
        ...(ch.return_affected_field_values && m.operation === 'update'
          ? { affected_values: changes.map((x) => ({ record_id: x.id, values: x.values })) }
          : {}),
        operation: m.operation,
        channel_id: ch.channel_id,
        token: ch.token,
      }
      const delivery: Delivery = {
        at: Date.now(),
        channel_id: ch.channel_id,
        url: ch.notify_url,
        body,
        status: 0,
      }
      this.deliveries.push(delivery)
      const p = fetch(ch.notify_url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      })
        .then(async (r) => {
          delivery.status = r.status
          await r.body?.cancel()
        })
        .catch(() => {
          delivery.status = 'error'
        })
        .finally(() => this.inflight.delete(p))
      this.inflight.add(p)
    }
  }

  /** Resolves once every callback sent so far has been answered (or failed). */
  async settle(): Promise<void> {
    while (this.inflight.size) await Promise.all([...this.inflight])
  }
}
