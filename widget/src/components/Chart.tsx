import { useEffect, useRef } from 'preact/hooks'
import type uPlot from 'uplot'
import { shortLabels } from './chart-labels'

/**
 * Small uPlot wrapper (after vmui's pattern): the plot is created once per series layout, then only
 * setData/setSize are called; it follows its container's width (ResizeObserver), shows a tooltip
 * from a cursor plugin, and is destroyed on unmount. uPlot itself is loaded on demand so it never
 * weighs on first paint.
 */

export interface SeriesSpec {
  label: string
  color: string
  kind?: 'line' | 'bar'
}

export interface ChartProps {
  /** Category labels for x (bars by stage, month…) or undefined for a time axis (x in unix seconds). */
  categories?: string[]
  x?: number[]
  series: SeriesSpec[]
  /** One array per series, aligned with x / categories. */
  values: (number | null)[][]
  /** Stack series (cumulative bars); the tooltip still shows each series' own value. */
  stacked?: boolean
  height?: number
  format?: (v: number) => string
  /** Describes the chart for screen readers. */
  label: string
}

let uplotModule: Promise<typeof uPlot> | null = null
const loadUplot = () =>
  (uplotModule ??= Promise.all([import('uplot'), import('uplot/dist/uPlot.min.css')]).then(
    ([m]) => m.default,
  ))

function tooltipPlugin(getProps: () => ChartProps): uPlot.Plugin {
  let tt: HTMLDivElement
  return {
    hooks: {
      init: (u) => {
        tt = document.createElement('div')
        tt.className = 'tt'
        u.over.appendChild(tt)
        u.over.addEventListener('mouseleave', () => (tt.style.display = 'none'))
      },
      setCursor: (u) => {
        const idx = u.cursor.idx
        const p = getProps()
        if (idx === null || idx === undefined || u.cursor.left === undefined || u.cursor.left < 0) {
          tt.style.display = 'none'
          return
        }
        const fmt = p.format ?? ((v: number) => v.toLocaleString('en'))
        const xv = u.data[0][idx]!
        const head = p.categories
          ? (p.categories[idx] ?? '')
          : new Date(xv * 1000).toLocaleDateString('en-GB', {
              day: 'numeric',
              month: 'short',
              year: 'numeric',
            })
        const rows = p.series
          .map((s, i) => {
            const v = p.values[i]?.[idx]
            return `<div><span style="color:${s.color}">■</span> ${s.label}: <b>${v === null || v === undefined ? '—' : fmt(v)}</b></div>`
          })
          .join('')
        tt.innerHTML = `<div>${head}</div>${rows}`
        tt.style.display = 'block'
        const left = Math.min(u.cursor.left, u.over.clientWidth - tt.offsetWidth - 4)
        tt.style.left = `${Math.max(0, left)}px`
        tt.style.top = `${Math.max(0, (u.cursor.top ?? 0) - tt.offsetHeight - 8)}px`
      },
    },
  }
}

/** The value axis's range on the chart element (data-y-min / data-y-max), for tests and tools. */
function scaleAttributePlugin(): uPlot.Plugin {
  return {
    hooks: {
      setScale: (u, key) => {
        if (key !== 'y') return
        u.root.parentElement?.setAttribute('data-y-min', String(u.scales.y!.min))
        u.root.parentElement?.setAttribute('data-y-max', String(u.scales.y!.max))
      },
    },
  }
}

function toData(p: ChartProps): uPlot.AlignedData {
  const n = p.categories ? p.categories.length : (p.x?.length ?? 0)
  const xs = p.categories ? Array.from({ length: n }, (_, i) => i) : p.x!
  let ys = p.values
  if (p.stacked) {
    const acc = new Array<number>(n).fill(0)
    ys = p.values.map((row) => row.map((v, i) => (acc[i] = acc[i]! + (v ?? 0))))
    ys = [...ys].reverse() // tallest first, so each smaller stack draws over it
  }
  return [xs, ...ys] as uPlot.AlignedData
}

/**
 * The value axis as wide as its longest label ("SGD 12.5M" is wider than "SGD 0"), measured with the
 * axis's own font, so no label is clipped at the chart's left edge.
 */
const axisSize: uPlot.Axis.Size = (u, values, axisIdx, cycleNum) => {
  const axis = u.axes[axisIdx]!
  const longest = (values ?? []).reduce((a, v) => (v.length > a.length ? v : a), '')
  // After init uPlot holds the axis font as [css font at the pixel ratio, size, css size].
  u.ctx.font = (axis.font as unknown as [string])[0]
  const text = longest ? u.ctx.measureText(longest).width / (window.devicePixelRatio || 1) : 0
  const size = Math.ceil((axis.ticks?.size ?? 10) + (axis.gap ?? 5) + text + 4)
  // uPlot asks again while the layout converges, and the ticks may change with the width: never
  // shrink within one layout, so it settles.
  const previous = (axis as { _size?: number })._size
  return cycleNum > 1 && previous ? Math.max(previous, size) : size
}

function buildOptions(
  U: typeof uPlot,
  p: ChartProps,
  width: number,
  getProps: () => ChartProps,
): uPlot.Options {
  const fmt = p.format ?? ((v: number) => v.toLocaleString('en'))
  const specs = p.stacked ? [...p.series].reverse() : p.series
  const cats = () => getProps().categories ?? []
  return {
    width,
    height: p.height ?? 240,
    legend: { show: p.series.length > 1, live: false },
    cursor: { drag: { x: false, y: false }, points: { show: !p.categories } },
    scales: {
      x: p.categories
        ? { time: false, range: (_u, _min, _max) => [-0.5, cats().length - 0.5] }
        : { time: true },
      // Bars stand on zero: a baseline at the smallest value would shorten every bar unequally.
      ...(p.series.some((s) => s.kind === 'bar') && {
        y: { range: (_u, min, max) => U.rangeNum(Math.min(0, min), Math.max(0, max), 0.1, true) },
      }),
    },
    axes: [
      p.categories
        ? {
            splits: () => cats().map((_, i) => i),
            // Shorten labels to the room each category has, so narrow screens stay legible: the
            // labels are measured in the axis's own font (a fixed width per character let
            // "FY2026 Q1FY2026 Q2" run together in a narrow widget).
            values: (u, splits) => {
              const dpr = window.devicePixelRatio || 1
              const room = u.bbox.width / dpr / Math.max(1, cats().length) - 8
              u.ctx.font = (u.axes[0]!.font as unknown as [string])[0]
              const width = (l: string) => u.ctx.measureText(l).width / dpr
              const all = cats()
              let max = Math.max(3, ...all.map((l) => l.length))
              let short = shortLabels(all, max)
              while (max > 3 && short.some((l) => width(l) > room)) short = shortLabels(all, --max)
              u.root.parentElement?.setAttribute('data-x-labels', JSON.stringify(short))
              return splits.map((i) => short[i] ?? '')
            },
            gap: 4,
            size: 40,
            stroke: '#5f6b7a',
            grid: { show: false },
          }
        : { stroke: '#5f6b7a', grid: { stroke: '#eef1f5' } },
      {
        values: (_u, splits) => splits.map((v) => fmt(v)),
        size: axisSize,
        stroke: '#5f6b7a',
        grid: { stroke: '#eef1f5' },
      },
    ],
    series: [
      {},
      ...specs.map((s) => ({
        label: s.label,
        stroke: s.color,
        width: s.kind === 'bar' ? 0 : 2,
        fill: s.kind === 'bar' ? s.color : undefined,
        points: { show: s.kind !== 'bar' && !p.categories },
        paths: s.kind === 'bar' ? U.paths.bars!({ size: [0.6, 80], align: 0 }) : undefined,
      })),
    ],
    plugins: [tooltipPlugin(getProps), scaleAttributePlugin()],
  }
}

export function Chart(props: ChartProps) {
  const host = useRef<HTMLDivElement>(null)
  const plot = useRef<uPlot | null>(null)
  const latest = useRef(props)
  latest.current = props
  const layout = JSON.stringify([props.series, props.stacked, Boolean(props.categories), props.height])

  useEffect(() => {
    let cancelled = false
    let ro: ResizeObserver | undefined
    const el = host.current!
    void loadUplot().then((U) => {
      if (cancelled) return
      const p = latest.current
      plot.current = new U(
        buildOptions(U, p, el.clientWidth || 300, () => latest.current),
        toData(p),
        el,
      )
      ro = new ResizeObserver(() => {
        const w = el.clientWidth
        if (plot.current && w > 0 && w !== plot.current.width)
          plot.current.setSize({ width: w, height: p.height ?? 240 })
      })
      ro.observe(el)
    })
    return () => {
      cancelled = true
      ro?.disconnect()
      plot.current?.destroy()
      plot.current = null
    }
  }, [layout])

  useEffect(() => {
    plot.current?.setData(toData(props))
  }, [props.values, props.categories, props.x])

  return <div class="chart" ref={host} role="img" aria-label={props.label} />
}
