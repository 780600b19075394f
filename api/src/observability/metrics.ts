/** A minimal Prometheus text registry: request counters and a latency histogram (Node's /metrics). */
const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

export class Metrics {
  private counters = new Map<string, number>()
  private histograms = new Map<string, { buckets: number[]; sum: number; count: number }>()

  inc(name: string, labels: Record<string, string | number>, by = 1): void {
    const key = `${name}${fmt(labels)}`
    this.counters.set(key, (this.counters.get(key) ?? 0) + by)
  }

  observe(name: string, labels: Record<string, string | number>, seconds: number): void {
    const key = `${name}\u0000${fmt(labels)}`
    const h = this.histograms.get(key) ?? { buckets: BUCKETS.map(() => 0), sum: 0, count: 0 }
    BUCKETS.forEach((b, i) => {
      if (seconds <= b) h.buckets[i]!++
    })
    h.sum += seconds
    h.count++
    this.histograms.set(key, h)
  }

  render(): string {
    const lines: string[] = []
    const seen = new Set<string>()
    for (const [key, v] of this.counters) {
      const name = key.split('{')[0]!
      if (!seen.has(name)) {
        lines.push(`# TYPE ${name} counter`)
        seen.add(name)
      }
      lines.push(`${key} ${v}`)
    }
    for (const [key, h] of this.histograms) {
      const [name, labels] = key.split('\u0000') as [string, string]
      if (!seen.has(name)) {
        lines.push(`# TYPE ${name} histogram`)
        seen.add(name)
      }
      const inner = labels.slice(1, -1)
      const sep = inner ? ',' : ''
      BUCKETS.forEach((b, i) => lines.push(`${name}_bucket{${inner}${sep}le="${b}"} ${h.buckets[i]}`))
      lines.push(`${name}_bucket{${inner}${sep}le="+Inf"} ${h.count}`)
      lines.push(`${name}_sum${labels} ${h.sum}`)
      lines.push(`${name}_count${labels} ${h.count}`)
    }
    return lines.join('\n') + '\n'
  }
}

function fmt(labels: Record<string, string | number>): string {
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${String(v).replace(/["\\\n]/g, '_')}"`)
  return parts.length ? `{${parts.join(',')}}` : ''
}
