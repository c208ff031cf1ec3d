/**
 * The drawing code of run pages: the timeline (one lane per concurrency slot, one bar per task) and the histogram
 * of task durations, as SVG markup built from plain data. The HTML report (`RunReportHtml`) draws with it on the
 * server; pages that draw a run live (the HTTP dashboard) run the very same functions in the browser, from
 * `script`. So every function and value listed in `script` stands alone: it uses only its arguments, the
 * language's globals and the other bindings listed there.
 *
 * @internal
 */
import * as text from "./text.js"

// Local bindings, not imports: the functions below refer to them by these names, which the browser script defines
// too (a module loader may rename imported bindings in the functions' source).
const formatMillis = text.formatMillis
const formatCount = text.formatCount

/** @internal */
export type OutcomeKey = "succeeded" | "failed" | "timed-out" | "interrupted" | "running"

/** @internal */
export interface Outcome {
  /** The CSS class suffix: `bar-<key>`, `hist-<key>`, `swatch-<key>`. */
  readonly key: OutcomeKey
  readonly label: string
  readonly color: string
}

/**
 * How a task ended, in the order pages list them; `running` is for pages that draw a run under way.
 *
 * @internal
 */
export const outcomes: ReadonlyArray<Outcome> = [
  { key: "succeeded", label: "succeeded", color: "#2f9e5b" },
  { key: "failed", label: "failed", color: "#d64545" },
  { key: "timed-out", label: "timed out", color: "#e39b12" },
  { key: "interrupted", label: "interrupted", color: "#7c67c9" },
  { key: "running", label: "running", color: "#8fb2e8" }
]

/**
 * The width of every chart, in SVG user units; pages scale it to their column.
 *
 * @internal
 */
export const chartWidth = 1100

/**
 * Room on the left of a chart, for the lane and count labels.
 *
 * @internal
 */
export const chartLeft = 80

/** @internal */
export const chartRight = 24

const entities: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", "\"": "&quot;", "'": "&#39;" }

/**
 * Escapes text for HTML content and for quoted attribute values.
 *
 * @internal
 */
export const escapeHtml = (text: string): string => text.replace(/[&<>"']/g, (c) => entities[c]!)

/**
 * A coordinate with at most one decimal.
 *
 * @internal
 */
export const num = (x: number): string => String(Math.round(x * 10) / 10)

/**
 * An axis label: `0`, `250 ms`, `1.5 s`, `2 min 30 s`.
 *
 * @internal
 */
export const tickLabel = (millis: number): string => {
  if (millis === 0) return "0"
  if (millis < 1000) return `${Number(millis.toFixed(2))} ms`
  if (millis < 120_000) return `${Number((millis / 1000).toFixed(3))} s`
  const seconds = Math.round(millis / 1000)
  return seconds % 60 === 0 ? `${seconds / 60} min` : `${Math.floor(seconds / 60)} min ${seconds % 60} s`
}

/**
 * The smallest of 1, 2, 2.5, 5 (or 1, 2, 5 for counts) times a power of ten that is at least `x`.
 *
 * @internal
 */
export const niceStep = (x: number, multiples: ReadonlyArray<number> = [1, 2, 2.5, 5, 10]): number => {
  if (!(x > 0) || !Number.isFinite(x)) return 1
  const power = Math.pow(10, Math.floor(Math.log10(x)))
  for (const m of multiples) {
    if (m * power >= x * (1 - 1e-9)) return m * power
  }
  return 10 * power
}

/** @internal */
export const counting: ReadonlyArray<number> = [1, 2, 5, 10]

/**
 * One task's bar on the timeline.
 *
 * @internal
 */
export interface Bar {
  readonly taskId: string
  /** Its slot. */
  readonly lane: number
  /** When it started, in milliseconds from the start of the run. */
  readonly start: number
  readonly duration: number
  readonly outcome: OutcomeKey
  /** The text shown on hover (plain text: it is escaped here). */
  readonly details: string
}

/**
 * The hover text of a bar: the task, its agent instance, outcome, start, duration and error.
 *
 * @internal
 */
export const barDetails = (bar: {
  readonly taskId: string
  readonly agent: string | undefined
  readonly outcome: string
  readonly start: number
  readonly duration: number
  readonly error: string | undefined
}): string => {
  const lines = [
    bar.taskId,
    `agent: ${bar.agent ?? "-"}`,
    `outcome: ${bar.outcome}`,
    `start: +${formatMillis(bar.start)}`,
    `duration: ${formatMillis(bar.duration)}`
  ]
  if (bar.error !== undefined) lines.push(`error: ${bar.error}`)
  return lines.join("\n")
}

/**
 * The timeline as an `<svg>` element: `lanes` lanes over `span` milliseconds, one bar per entry of `bars`. A tall
 * chart (many lanes) gets its time axis above the lanes too, and labels every k-th lane.
 *
 * @internal
 */
export const timelineSvg = (lanes: number, span: number, bars: ReadonlyArray<Bar>): string => {
  const laneHeight = Math.min(22, Math.max(1, 560 / lanes))
  const left = chartLeft
  const top = lanes * laneHeight > 600 ? 24 : 4
  const plot = chartWidth - left - chartRight
  const barHeight = laneHeight >= 8 ? laneHeight - 4 : laneHeight >= 3 ? laneHeight - 1 : laneHeight
  const barY = (laneHeight - barHeight) / 2
  const plotHeight = lanes * laneHeight
  const height = top + plotHeight + 30
  const x = (millis: number) => left + (Math.min(Math.max(millis, 0), span) / span) * plot

  const byLane: Array<Array<Bar>> = []
  for (let lane = 0; lane < lanes; lane++) byLane.push([])
  for (const bar of bars) byLane[Math.min(lanes - 1, Math.max(0, bar.lane))]!.push(bar)

  const out: Array<string> = []
  const step = niceStep(span / 8)
  for (let i = 0; i * step <= span * (1 + 1e-9); i++) {
    const t = i * step
    out.push(
      `<line class="grid" x1="${num(x(t))}" x2="${num(x(t))}" y1="${top}" y2="${num(top + plotHeight)}"/>` +
        `<text class="tick" x="${num(x(t))}" y="${num(top + plotHeight + 18)}">${tickLabel(t)}</text>` +
        (top > 4 ? `<text class="tick" x="${num(x(t))}" y="16">${tickLabel(t)}</text>` : "")
    )
  }
  // Label every lane when there is room, else every k-th.
  const every = laneHeight >= 12 ? 1 : Math.max(1, niceStep(14 / laneHeight, counting))
  for (let lane = 0; lane < lanes; lane++) {
    const y = top + lane * laneHeight
    out.push(`<g class="lane" data-lane="${lane}" transform="translate(0 ${num(y)})">`)
    if (lanes <= 200) {
      out.push(
        `<rect class="lane-bg${lane % 2 === 0 ? "" : " odd"}" x="${left}" y="0" width="${plot}" ` +
          `height="${num(laneHeight)}"/>`
      )
    }
    if (lane % every === 0) {
      out.push(
        `<text class="lane-label" x="${left - 8}" y="${num(Math.max(laneHeight / 2, 4))}">slot ${lane}</text>`
      )
    }
    for (const bar of byLane[lane]!) {
      const x0 = x(bar.start)
      const full = x(bar.start + bar.duration) - x0
      // A hairline between back-to-back bars, when they are wide enough to spare it.
      const width = full >= 4 ? full - 1 : Math.max(full, 1)
      out.push(
        `<rect class="bar bar-${bar.outcome}" data-task-id="${escapeHtml(bar.taskId)}" x="${num(x0)}" ` +
          `y="${num(barY)}" width="${num(width)}" height="${num(barHeight)}"><title>${
            escapeHtml(bar.details)
          }</title></rect>`
      )
    }
    out.push("</g>")
  }
  return `<svg class="chart timeline" viewBox="0 0 ${chartWidth} ${num(height)}" role="img" ` +
    `aria-label="Timeline of the run's tasks by slot"${laneHeight < 3 ? " shape-rendering=\"crispEdges\"" : ""}>\n` +
    `${out.join("\n")}\n</svg>`
}

/**
 * The histogram of task durations as an `<svg>` element, with its number of buckets and their width: 10 to 20
 * buckets of a round width (at least 1 ms), each stacked by outcome. `undefined` when there is no duration.
 *
 * @internal
 */
export const histogramSvg = (
  items: ReadonlyArray<{ readonly duration: number; readonly outcome: OutcomeKey }>
): { readonly svg: string; readonly buckets: number; readonly step: number } | undefined => {
  if (items.length === 0) return undefined
  let min = Infinity
  let max = -Infinity
  for (const item of items) {
    min = Math.min(min, item.duration)
    max = Math.max(max, item.duration)
  }
  const step = Math.max(1, niceStep((max - min) / 19))
  let lo = Math.floor(min / step) * step
  let count = Math.max(1, Math.ceil((max - lo) / step + 1e-9))
  if (count < 10) {
    lo = Math.max(0, lo - Math.floor((10 - count) / 2) * step)
    count = 10
  }
  const buckets: Array<Record<string, number>> = []
  for (let i = 0; i < count; i++) buckets.push({})
  for (const item of items) {
    const bucket = buckets[Math.min(count - 1, Math.max(0, Math.floor((item.duration - lo) / step)))]!
    bucket[item.outcome] = (bucket[item.outcome] ?? 0) + 1
  }
  const totalOf = (bucket: Record<string, number>) => {
    let total = 0
    for (const key in bucket) total += bucket[key]!
    return total
  }
  let highest = 0
  for (const bucket of buckets) highest = Math.max(highest, totalOf(bucket))
  const yStep = Math.max(1, niceStep(highest / 4, counting))
  const yMax = Math.ceil(highest / yStep) * yStep

  const left = chartLeft
  const top = 8
  const plotHeight = 180
  const plot = chartWidth - left - chartRight
  const height = top + plotHeight + 30
  const bucketWidth = plot / count
  const gap = Math.min(4, bucketWidth * 0.15)
  const y = (n: number) => top + plotHeight - (n / yMax) * plotHeight

  const out: Array<string> = []
  for (let n = 0; n <= yMax; n += yStep) {
    out.push(
      `<line class="grid" x1="${left}" x2="${left + plot}" y1="${num(y(n))}" y2="${num(y(n))}"/>` +
        `<text class="lane-label" x="${left - 8}" y="${num(y(n))}">${formatCount(n)}</text>`
    )
  }
  const labelEvery = count <= 12 ? 1 : 2
  for (let i = 0; i <= count; i++) {
    if (i % labelEvery === 0) {
      out.push(
        `<text class="tick" x="${num(left + i * bucketWidth)}" y="${top + plotHeight + 18}">${
          tickLabel(lo + i * step)
        }</text>`
      )
    }
  }
  buckets.forEach((bucket, i) => {
    const total = totalOf(bucket)
    if (total === 0) return
    const x0 = left + i * bucketWidth + gap / 2
    const parts: Array<string> = []
    for (const o of outcomes) {
      if (bucket[o.key] !== undefined) parts.push(`${formatCount(bucket[o.key]!)} ${o.label}`)
    }
    out.push(
      `<g class="bucket"><title>${tickLabel(lo + i * step)} to ${tickLabel(lo + (i + 1) * step)}: ${
        formatCount(total)
      } ${total === 1 ? "task" : "tasks"} (${parts.join(", ")})</title>`
    )
    let below = 0
    for (const o of outcomes) {
      const n = bucket[o.key]
      if (n === undefined) continue
      out.push(
        `<rect class="hist hist-${o.key}" x="${num(x0)}" y="${num(y(below + n))}" width="${
          num(bucketWidth - gap)
        }" height="${num(y(below) - y(below + n))}"/>`
      )
      below += n
    }
    out.push("</g>")
  })
  return {
    svg: `<svg class="chart histogram" viewBox="0 0 ${chartWidth} ${height}" role="img" ` +
      `aria-label="Histogram of task durations">\n${out.join("\n")}\n</svg>`,
    buckets: count,
    step
  }
}

/**
 * The styles of the charts: their frame, labels, lanes and the colour of each outcome. On a narrow screen a chart
 * keeps a minimum width (its container scrolls sideways) and larger text, so that its labels stay readable.
 *
 * @internal
 */
export const chartStyles = `
.chart-scroll{overflow-x:auto;-webkit-overflow-scrolling:touch}
.chart{display:block;width:100%;height:auto;background:var(--card);border:1px solid var(--line);border-radius:8px}
.chart text{font-size:11px;fill:var(--muted)}
.tick{text-anchor:middle}
.lane-label{text-anchor:end;dominant-baseline:middle}
.grid{stroke:var(--line);stroke-width:1}
.lane-bg{fill:var(--lane)}.lane-bg.odd{fill:var(--lane-odd)}
${outcomes.map((o) => `.bar-${o.key},.hist-${o.key}{fill:var(--${o.key})}`).join("")}
.bar-running{fill-opacity:.75}
.bar:hover,.bar.active{stroke:var(--fg);stroke-width:1.5;paint-order:stroke}
.bucket:hover rect{opacity:.8}
.swatch{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:7px;vertical-align:-1px}
${outcomes.map((o) => `.swatch-${o.key}{background:var(--${o.key})}`).join("")}
@media (max-width:700px){.chart{min-width:640px}.chart text{font-size:17px}}
`

/**
 * The custom properties the charts' styles read: page colours and one per outcome.
 *
 * @internal
 */
export const chartColors = `--fg:#1d2330;--muted:#5d6678;--line:#e3e6ec;--bg:#f6f7f9;--card:#fff;--lane:#f3f5f8;` +
  `--lane-odd:#eceff4;${outcomes.map((o) => `--${o.key}:${o.color};`).join("")}`

/**
 * The drawing code as a browser script: it defines `RunReportCharts`, an object with `timelineSvg`,
 * `histogramSvg`, `barDetails`, `escapeHtml`, `formatMillis`, `formatCount`, `tickLabel` and `outcomes`, the same
 * functions the server draws the HTML report with.
 *
 * @internal
 */
export const script: string = (() => {
  const bindings: Record<string, unknown> = {
    formatMillis,
    formatCount,
    outcomes,
    chartWidth,
    chartLeft,
    chartRight,
    entities,
    escapeHtml,
    num,
    tickLabel,
    niceStep,
    counting,
    barDetails,
    timelineSvg,
    histogramSvg
  }
  const exported = [
    "timelineSvg",
    "histogramSvg",
    "barDetails",
    "escapeHtml",
    "formatMillis",
    "formatCount",
    "tickLabel",
    "outcomes"
  ]
  return [
    "var RunReportCharts = (function () {",
    "\"use strict\";",
    // Some TypeScript loaders (esbuild's keepNames, as tsx runs it) wrap functions in `__name(fn, "name")`.
    "var __name = function (fn) { return fn; };",
    ...Object.entries(bindings).map(([name, value]) =>
      `var ${name} = ${typeof value === "function" ? String(value) : JSON.stringify(value)};`
    ),
    `return { ${exported.map((name) => `${name}: ${name}`).join(", ")} };`,
    "})();"
  ].join("\n")
})()
