/**
 * Renders a run report as one self-contained HTML page: a header, the summary and stats, a timeline with one lane
 * per concurrency slot and one bar per task that started, the tasks that never started, and a histogram of task
 * durations. Styles and the tooltip script are inline and a Content-Security-Policy forbids loading anything, so
 * the file opens offline and never reaches the network. Every text taken from the report is escaped.
 *
 * @internal
 */
import * as Duration from "effect/Duration"
import * as RunReport from "../RunReport.js"
import * as TaskResult from "../TaskResult.js"
import * as Usage from "../Usage.js"

/** @internal */
export interface Options {
  readonly title?: string | undefined
}

type Result = TaskResult.TaskResult<unknown, unknown>
type Tag = Result["_tag"]

interface Outcome {
  readonly tag: Tag
  /** The CSS class suffix: `bar-<key>`. */
  readonly key: string
  readonly label: string
  readonly color: string
}

const outcomes: ReadonlyArray<Outcome> = [
  { tag: "Succeeded", key: "succeeded", label: "succeeded", color: "#2f9e5b" },
  { tag: "Failed", key: "failed", label: "failed", color: "#d64545" },
  { tag: "TimedOut", key: "timed-out", label: "timed out", color: "#e39b12" },
  { tag: "Interrupted", key: "interrupted", label: "interrupted", color: "#7c67c9" }
]

const outcomeOf: Record<Tag, Outcome> = {
  Succeeded: outcomes[0]!,
  Failed: outcomes[1]!,
  TimedOut: outcomes[2]!,
  Interrupted: outcomes[3]!
}

/** The width of every chart, in SVG user units; the page scales it to its column. */
const chartWidth = 1100

// =============================================================================
// text
// =============================================================================

const entities: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", "\"": "&quot;", "'": "&#39;" }

/** Escapes text for HTML content and for quoted attribute values. */
const escape = (text: string): string => text.replace(/[&<>"']/g, (c) => entities[c]!)

/** A coordinate with at most one decimal. */
const num = (x: number): string => String(Math.round(x * 10) / 10)

const percent = (x: number, digits = 1): string => `${(x * 100).toFixed(digits)}%`

const ms = (d: Duration.Duration): string => RunReport.formatMillis(Duration.toMillis(d))

/** An axis label: `0`, `250 ms`, `1.5 s`, `2 min 30 s`. */
const tickLabel = (millis: number): string => {
  if (millis === 0) return "0"
  if (millis < 1000) return `${Number(millis.toFixed(2))} ms`
  if (millis < 120_000) return `${Number((millis / 1000).toFixed(3))} s`
  const seconds = Math.round(millis / 1000)
  return seconds % 60 === 0 ? `${seconds / 60} min` : `${Math.floor(seconds / 60)} min ${seconds % 60} s`
}

/** The smallest of 1, 2, 2.5, 5 (or 1, 2, 5 for counts) times a power of ten that is at least `x`. */
const niceStep = (x: number, multiples: ReadonlyArray<number> = [1, 2, 2.5, 5, 10]): number => {
  if (!(x > 0) || !Number.isFinite(x)) return 1
  const power = Math.pow(10, Math.floor(Math.log10(x)))
  for (const m of multiples) {
    if (m * power >= x * (1 - 1e-9)) return m * power
  }
  return 10 * power
}

const counting = [1, 2, 5, 10]

// =============================================================================
// document
// =============================================================================

/** @internal */
export const render = <A, E, S>(report: RunReport.RunReport<A, E, S>, options?: Options): string => {
  const results = report.results as ReadonlyArray<Result>
  const title = options?.title ?? `Run report: ${report.agent} (${report.runId})`
  const started: Array<Result> = []
  const notStarted: Array<Result> = []
  for (const result of results) {
    if (result.started && result.startedAt !== undefined) started.push(result)
    else notStarted.push(result)
  }
  return [
    "<!DOCTYPE html>",
    "<html lang=\"en\">",
    "<head>",
    "<meta charset=\"utf-8\">",
    "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; " +
    "script-src 'unsafe-inline'\">",
    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">",
    `<title>${escape(title)}</title>`,
    `<style>${css}</style>`,
    "</head>",
    "<body>",
    "<main>",
    header(report, title),
    summarySection(report),
    timeline(report, started),
    notStartedSection(notStarted),
    histogram(started),
    byAgent(report),
    "<footer>Written by effect-parallel-agents from the run's report. Times are from the run's clock.</footer>",
    "</main>",
    "<div id=\"tip\" role=\"tooltip\" hidden></div>",
    `<script>${script}</script>`,
    "</body>",
    "</html>",
    ""
  ].join("\n")
}

const header = <A, E, S>(report: RunReport.RunReport<A, E, S>, title: string): string => {
  const { stats, summary } = report
  const startedAt = new Date(stats.startedAt)
  const items = [
    `run <code>${escape(report.runId)}</code>`,
    `agent <b>${escape(report.agent)}</b>`,
    `<b>${summary.total}</b> ${summary.total === 1 ? "task" : "tasks"}`,
    `concurrency <b>${stats.concurrency}</b>`
  ]
  if (!Number.isNaN(startedAt.getTime())) items.push(`started ${startedAt.toISOString()}`)
  return `<header>
<h1>${escape(title)}</h1>
<p class="meta">${items.map((item) => `<span>${item}</span>`).join("")}</p>
</header>`
}

// =============================================================================
// summary
// =============================================================================

const counts = (summary: RunReport.Summary): Record<Tag, number> => ({
  Succeeded: summary.succeeded,
  Failed: summary.failed,
  TimedOut: summary.timedOut,
  Interrupted: summary.interrupted
})

const summarySection = <A, E, S>(report: RunReport.RunReport<A, E, S>): string => {
  const { stats, summary } = report
  const count = counts(summary)
  const share = (n: number) => summary.total === 0 ? "-" : percent(n / summary.total)
  const rows = outcomes.map((o) =>
    `<tr class="${count[o.tag] === 0 ? "zero" : ""}"><td><i class="swatch swatch-${o.key}"></i>${o.label}</td>` +
    `<td>${count[o.tag]}</td><td>${share(count[o.tag])}</td></tr>`
  ).join("\n")
  const shares = summary.total === 0
    ? ""
    : `<div class="shares" aria-hidden="true">${
      outcomes.filter((o) => count[o.tag] > 0).map((o) =>
        `<i class="swatch-${o.key}" style="width:${num((count[o.tag] / summary.total) * 100)}%"></i>`
      ).join("")
    }</div>`
  const wall = Duration.toMillis(stats.wallTime)
  const busy = Duration.toMillis(stats.busyTime)
  const longest = Math.max(wall, busy, 1e-9)
  const meter = (value: number, label: string) =>
    `<div class="meter"><span>${label}</span><i style="width:${num((value / longest) * 100)}%"></i></div>`
  const { durations, queueWait } = stats
  const slots = `${stats.concurrency} ${stats.concurrency === 1 ? "slot" : "slots"}`
  const pair = (a: Duration.Duration, b: Duration.Duration) => `<span>${ms(a)}</span> / <span>${ms(b)}</span>`
  const stat = (name: string, value: string, note = "") =>
    `<div class="stat"><dt>${name}</dt><dd>${value}</dd>${note === "" ? "" : `<p>${note}</p>`}</div>`
  return `<section id="summary">
<h2>Summary</h2>
<div class="summary">
<div class="card outcomes">
<table>
<thead><tr><th>outcome</th><th>tasks</th><th>share</th></tr></thead>
<tbody>
${rows}
</tbody>
<tfoot><tr><td>total</td><td>${summary.total}</td><td>${summary.total === 0 ? "-" : "100%"}</td></tr></tfoot>
</table>
${shares}
</div>
<div class="card">
<div class="vs">
${meter(wall, `wall time <b>${ms(stats.wallTime)}</b>`)}
${meter(busy, `busy time <b>${ms(stats.busyTime)}</b> (the same tasks one after another)`)}
</div>
<dl class="stats">
${stat("speedup", `${stats.speedup.toFixed(2)}x`, "busy time / wall time")}
${stat("efficiency", percent(stats.efficiency, 0), `speedup / concurrency ${stats.concurrency}`)}
${stat("peak in flight", `${stats.peakInFlight}`, `of ${slots}`)}
${stat("success rate", percent(stats.successRate))}
${stat("duration p50", ms(durations.p50))}
${stat("p95 / p99", pair(durations.p95, durations.p99))}
${stat("max / mean", pair(durations.max, durations.mean))}
${stat("queue wait", pair(queueWait.mean, queueWait.max), "mean / max")}
${extraStats(stats, stat)}
</dl>
</div>
</div>
</section>`
}

const count = (n: number) => n.toLocaleString("en-US", { maximumFractionDigits: 4 })

/** The stats only some runs have: models and their usage, retries, budget, adaptive concurrency. */
const extraStats = (stats: RunReport.Stats, stat: (name: string, value: string, note?: string) => string): string => {
  const items: Array<string> = []
  if (stats.models.length > 0) {
    items.push(stat(stats.models.length === 1 ? "model" : "models", escape(stats.models.join(", ")), "that answered"))
  }
  if (!Usage.isEmpty(stats.usage)) {
    items.push(stat("tokens in / out", `${count(stats.usage.inputTokens)} / ${count(stats.usage.outputTokens)}`))
    items.push(stat("model requests", count(stats.usage.requests)))
    if (stats.usage.cost > 0) items.push(stat("cost", count(stats.usage.cost)))
  }
  if (stats.retries > 0) items.push(stat("retries", count(stats.retries), "attempts retried"))
  const budget = stats.budget
  if (budget !== undefined) {
    const used = { tokens: Usage.totalTokens(budget.used), cost: budget.used.cost, requests: budget.used.requests }
    for (const resource of ["tokens", "cost", "requests"] as const) {
      const limit = budget.limits[resource]
      if (limit !== undefined) {
        items.push(stat(`budget ${resource}`, `${count(used[resource])} / ${count(limit)}`, "used / limit"))
      }
    }
  }
  const adaptive = stats.adaptiveConcurrency
  if (adaptive !== undefined) {
    items.push(
      stat(
        "adaptive concurrency",
        `${adaptive.initial} → ${adaptive.final}`,
        `lowest ${adaptive.lowest}, ${adaptive.decreases} ${adaptive.decreases === 1 ? "cut" : "cuts"}`
      )
    )
  }
  return items.join("\n")
}

const legend = (counted: Record<Tag, number>): string =>
  `<ul class="legend">${
    outcomes.map((o) => `<li><i class="swatch swatch-${o.key}"></i>${o.label} <span>${counted[o.tag]}</span></li>`)
      .join("")
  }</ul>`

// =============================================================================
// timeline
// =============================================================================

/**
 * The lane of each started result: its slot when the engine recorded one; otherwise (a report assembled by hand)
 * the lane that frees up first, as a slot would have.
 */
const lanesOf = (started: ReadonlyArray<Result>, lanes: number): Array<number> => {
  const out = started.map((result) => result.slot)
  if (out.every((slot) => slot >= 0)) return out
  const free = new Array<number>(lanes).fill(-Infinity)
  const order = started.map((_, i) => i).sort((a, b) => started[a]!.startedAt! - started[b]!.startedAt!)
  for (const i of order) {
    let lane = out[i]!
    if (lane < 0) {
      lane = 0
      for (let l = 1; l < lanes; l++) {
        if (free[l]! < free[lane]!) lane = l
      }
      out[i] = lane
    }
    free[lane] = Math.max(free[lane]!, started[i]!.startedAt! + started[i]!.durationMillis)
  }
  return out
}

const details = (result: Result, offset: number): string => {
  const lines = [
    result.taskId,
    `agent: ${result.agent ?? "-"}`,
    `outcome: ${outcomeOf[result._tag].label}`,
    `start: +${RunReport.formatMillis(offset)}`,
    `duration: ${RunReport.formatMillis(result.durationMillis)}`
  ]
  if (result._tag !== "Succeeded") lines.push(`error: ${TaskResult.message(result)}`)
  return escape(lines.join("\n"))
}

const timeline = <A, E, S>(report: RunReport.RunReport<A, E, S>, started: ReadonlyArray<Result>): string => {
  const { stats } = report
  const origin = stats.startedAt
  let lanes = Math.max(1, stats.concurrency)
  for (const result of started) {
    if (result.slot >= lanes) lanes = result.slot + 1
  }
  const laneOf = lanesOf(started, lanes)
  let span = Duration.toMillis(stats.wallTime)
  for (const result of started) {
    span = Math.max(span, result.startedAt! - origin + result.durationMillis)
  }
  if (!(span > 0)) span = 1

  const laneHeight = Math.min(22, Math.max(1, 560 / lanes))
  const left = 64
  const right = 32
  // A tall chart gets its time axis above the lanes too.
  const top = lanes * laneHeight > 600 ? 24 : 4
  const plot = chartWidth - left - right
  const barHeight = laneHeight >= 8 ? laneHeight - 4 : laneHeight >= 3 ? laneHeight - 1 : laneHeight
  const barY = (laneHeight - barHeight) / 2
  const plotHeight = lanes * laneHeight
  const height = top + plotHeight + 30
  const x = (millis: number) => left + (Math.min(Math.max(millis, 0), span) / span) * plot

  const byLane: Array<Array<number>> = Array.from({ length: lanes }, () => [])
  started.forEach((_, i) => byLane[laneOf[i]!]!.push(i))

  const out: Array<string> = []
  const step = niceStep(span / 8)
  for (let i = 0; i * step <= span * (1 + 1e-9); i++) {
    const t = i * step
    out.push(
      `<line class="grid" x1="${num(x(t))}" x2="${num(x(t))}" y1="${top}" y2="${num(top + plotHeight)}"/>` +
        `<text class="tick" x="${num(x(t))}" y="${num(top + plotHeight + 16)}">${tickLabel(t)}</text>` +
        (top > 4 ? `<text class="tick" x="${num(x(t))}" y="14">${tickLabel(t)}</text>` : "")
    )
  }
  // Label every lane when there is room, else every k-th.
  const every = laneHeight >= 12 ? 1 : Math.max(1, niceStep(14 / laneHeight, counting))
  const drawn: Record<Tag, number> = { Succeeded: 0, Failed: 0, TimedOut: 0, Interrupted: 0 }
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
    for (const i of byLane[lane]!) {
      const result = started[i]!
      const offset = result.startedAt! - origin
      const x0 = x(offset)
      const full = x(offset + result.durationMillis) - x0
      // A hairline between back-to-back bars, when they are wide enough to spare it.
      const width = full >= 4 ? full - 1 : Math.max(full, 1)
      const outcome = outcomeOf[result._tag]
      drawn[result._tag]++
      out.push(
        `<rect class="bar bar-${outcome.key}" data-task-id="${escape(result.taskId)}" x="${num(x0)}" ` +
          `y="${num(barY)}" width="${num(width)}" height="${num(barHeight)}"><title>${
            details(result, offset)
          }</title></rect>`
      )
    }
    out.push("</g>")
  }
  const svgAttributes = `viewBox="0 0 ${chartWidth} ${num(height)}" role="img" ` +
    `aria-label="Timeline of the run's tasks by slot"${laneHeight < 3 ? " shape-rendering=\"crispEdges\"" : ""}`
  const caption = started.length === 0
    ? "<p class=\"empty\">No task started.</p>"
    : `<p class="note">${started.length} ${started.length === 1 ? "task" : "tasks"} on ${lanes} ` +
      `${lanes === 1 ? "slot" : "slots"}, time from the start of the run. Hover a bar for its details.</p>`
  return `<section id="timeline">
<h2>Timeline</h2>
${legend(drawn)}
${caption}
<svg class="chart timeline" ${svgAttributes}>
${out.join("\n")}
</svg>
</section>`
}

const notStartedSection = (notStarted: ReadonlyArray<Result>): string => {
  if (notStarted.length === 0) {
    return `<section id="not-started"><h2>Not started <span class="count">(0)</span></h2>
<p class="note">Every task started.</p></section>`
  }
  const groups = new Map<string, Array<Result>>()
  for (const result of notStarted) {
    const reason = TaskResult.message(result)
    const group = groups.get(reason)
    if (group === undefined) groups.set(reason, [result])
    else group.push(result)
  }
  const item = (result: Result) => {
    const id = escape(result.taskId)
    return `<li class="task-${outcomeOf[result._tag].key}" data-task-id="${id}">${id}</li>`
  }
  const blocks = Array.from(groups, ([reason, group]) => {
    const swatch = `<i class="swatch swatch-${outcomeOf[group[0]!._tag].key}"></i>`
    return `<h3>${swatch}${escape(reason)} <span class="count">(${group.length})</span></h3>\n` +
      `<ul class="ids">${group.map(item).join("")}</ul>`
  })
  const one = notStarted.length === 1
  return `<section id="not-started">
<h2>Not started <span class="count">(${notStarted.length})</span></h2>
<p class="note">${notStarted.length} ${one ? "task was" : "tasks were"} never given to an agent, so ` +
    `${one ? "it has" : "they have"} no bar.</p>
${blocks.join("\n")}
</section>`
}

// =============================================================================
// histogram
// =============================================================================

const histogram = (started: ReadonlyArray<Result>): string => {
  if (started.length === 0) {
    return `<section id="durations"><h2>Task durations</h2><p class="empty">No task started.</p></section>`
  }
  let min = Infinity
  let max = -Infinity
  for (const result of started) {
    min = Math.min(min, result.durationMillis)
    max = Math.max(max, result.durationMillis)
  }
  // 10 to 20 buckets of a round width (at least 1 ms), widened around a narrow range.
  const step = Math.max(1, niceStep((max - min) / 19))
  let lo = Math.floor(min / step) * step
  let count = Math.max(1, Math.ceil((max - lo) / step + 1e-9))
  if (count < 10) {
    lo = Math.max(0, lo - Math.floor((10 - count) / 2) * step)
    count = 10
  }
  const buckets = Array.from({ length: count }, () => ({ Succeeded: 0, Failed: 0, TimedOut: 0, Interrupted: 0 }))
  for (const result of started) {
    const i = Math.min(count - 1, Math.max(0, Math.floor((result.durationMillis - lo) / step)))
    buckets[i]![result._tag]++
  }
  let highest = 0
  for (const bucket of buckets) {
    highest = Math.max(highest, bucket.Succeeded + bucket.Failed + bucket.TimedOut + bucket.Interrupted)
  }
  const yStep = Math.max(1, niceStep(highest / 4, counting))
  const yMax = Math.ceil(highest / yStep) * yStep

  const left = 64
  const right = 32
  const top = 8
  const plotHeight = 180
  const plot = chartWidth - left - right
  const height = top + plotHeight + 30
  const bucketWidth = plot / count
  const gap = Math.min(4, bucketWidth * 0.15)
  const y = (n: number) => top + plotHeight - (n / yMax) * plotHeight

  const out: Array<string> = []
  for (let n = 0; n <= yMax; n += yStep) {
    out.push(
      `<line class="grid" x1="${left}" x2="${left + plot}" y1="${num(y(n))}" y2="${num(y(n))}"/>` +
        `<text class="lane-label" x="${left - 8}" y="${num(y(n))}">${n}</text>`
    )
  }
  const labelEvery = count <= 12 ? 1 : 2
  for (let i = 0; i <= count; i++) {
    if (i % labelEvery === 0) {
      out.push(
        `<text class="tick" x="${num(left + i * bucketWidth)}" y="${top + plotHeight + 16}">${
          tickLabel(lo + i * step)
        }</text>`
      )
    }
  }
  buckets.forEach((bucket, i) => {
    const total = bucket.Succeeded + bucket.Failed + bucket.TimedOut + bucket.Interrupted
    if (total === 0) return
    const x0 = left + i * bucketWidth + gap / 2
    const parts = outcomes.filter((o) => bucket[o.tag] > 0).map((o) => `${bucket[o.tag]} ${o.label}`)
    out.push(
      `<g class="bucket"><title>${tickLabel(lo + i * step)} to ${tickLabel(lo + (i + 1) * step)}: ${total} ${
        total === 1 ? "task" : "tasks"
      } (${parts.join(", ")})</title>`
    )
    let below = 0
    for (const o of outcomes) {
      const n = bucket[o.tag]
      if (n === 0) continue
      out.push(
        `<rect class="hist hist-${o.key}" x="${num(x0)}" y="${num(y(below + n))}" width="${
          num(bucketWidth - gap)
        }" height="${num(y(below) - y(below + n))}"/>`
      )
      below += n
    }
    out.push("</g>")
  })
  return `<section id="durations">
<h2>Task durations</h2>
<p class="note">${started.length} ${started.length === 1 ? "task" : "tasks"} that started, in ${count} buckets of ${
    tickLabel(step)
  }; release of the agent included.</p>
<svg class="chart histogram" viewBox="0 0 ${chartWidth} ${height}" role="img" aria-label="Histogram of task durations">
${out.join("\n")}
</svg>
</section>`
}

// =============================================================================
// agents
// =============================================================================

const byAgent = <A, E, S>(report: RunReport.RunReport<A, E, S>): string => {
  if (report.byAgent.length <= 1) return ""
  const rows = report.byAgent.map((agent) =>
    `<tr><td>${escape(agent.agent)}</td><td>${agent.total}</td><td>${agent.succeeded}</td><td>${agent.failed}</td>` +
    `<td>${agent.timedOut}</td><td>${agent.interrupted}</td><td>${percent(agent.successRate)}</td>` +
    `<td>${ms(agent.busyTime)}</td><td>${ms(agent.durations.p50)}</td><td>${ms(agent.durations.p95)}</td></tr>`
  ).join("\n")
  return `<section id="agents">
<h2>By agent</h2>
<div class="card"><table>
<thead><tr><th>agent</th><th>tasks</th><th>succeeded</th><th>failed</th><th>timed out</th><th>interrupted</th>` +
    `<th>success</th><th>busy</th><th>p50</th><th>p95</th></tr></thead>
<tbody>
${rows}
</tbody>
</table></div>
</section>`
}

// =============================================================================
// style and script
// =============================================================================

const css = `
:root{--fg:#1d2330;--muted:#5d6678;--line:#e3e6ec;--bg:#f6f7f9;--card:#fff;--lane:#f3f5f8;--lane-odd:#eceff4;
${outcomes.map((o) => `--${o.key}:${o.color};`).join("")}
font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;
color:var(--fg);background:var(--bg)}
*{box-sizing:border-box}
body{margin:0}
main{max-width:1180px;margin:0 auto;padding:24px 20px 40px}
h1{font-size:22px;margin:0 0 6px;overflow-wrap:anywhere}
h2{font-size:17px;margin:32px 0 10px}
h3{font-size:14px;margin:14px 0 6px;font-weight:600;overflow-wrap:anywhere}
code{font:12.5px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
.meta{display:flex;flex-wrap:wrap;gap:6px 18px;margin:0;color:var(--muted)}
.meta b,.meta code{color:var(--fg)}
.summary{display:grid;grid-template-columns:minmax(260px,1fr) 2.2fr;gap:16px}
.card{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:14px 16px;overflow-x:auto}
table{border-collapse:collapse;width:100%;font-variant-numeric:tabular-nums}
th,td{text-align:right;padding:4px 8px;border-bottom:1px solid var(--line);white-space:nowrap}
th:first-child,td:first-child{text-align:left;white-space:normal;overflow-wrap:anywhere}
th{font-weight:600;color:var(--muted);font-size:12px}
tfoot td{border-bottom:0;font-weight:600}
tr.zero td{color:#9aa1ae}
.swatch{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:7px;vertical-align:-1px}
.swatch-succeeded{background:var(--succeeded)}.swatch-failed{background:var(--failed)}
.swatch-timed-out{background:var(--timed-out)}.swatch-interrupted{background:var(--interrupted)}
.shares{display:flex;height:10px;border-radius:5px;overflow:hidden;margin-top:12px;background:var(--line)}
.shares i{display:block;height:100%;min-width:2px}
.vs{display:grid;gap:6px;margin-bottom:12px}
.meter{position:relative;background:var(--lane);border-radius:4px;height:26px;overflow:hidden}
.meter i{position:absolute;left:0;top:0;bottom:0;background:#c9d6ef}
.meter span{position:relative;z-index:1;line-height:26px;padding-left:8px;white-space:nowrap}
.stats{display:grid;grid-template-columns:repeat(4,minmax(0,1fr));gap:10px;margin:0}
.stat{background:var(--lane);border-radius:6px;padding:8px 10px}
.stat dt{color:var(--muted);font-size:12px}
.stat dd{margin:0;font-size:17px;font-weight:600;font-variant-numeric:tabular-nums}.stat dd span{white-space:nowrap}
.stat p{margin:0;color:var(--muted);font-size:11.5px}
.legend{display:flex;flex-wrap:wrap;gap:4px 18px;list-style:none;padding:0;margin:0 0 6px}
.legend span{color:var(--muted)}
.note,.empty{color:var(--muted);margin:4px 0 8px}
.chart{display:block;width:100%;height:auto;background:var(--card);border:1px solid var(--line);border-radius:8px}
.chart text{font-size:11px;fill:var(--muted)}
.tick{text-anchor:middle}
.lane-label{text-anchor:end;dominant-baseline:middle}
.grid{stroke:var(--line);stroke-width:1}
.lane-bg{fill:var(--lane)}.lane-bg.odd{fill:var(--lane-odd)}
.bar-succeeded,.hist-succeeded{fill:var(--succeeded)}.bar-failed,.hist-failed{fill:var(--failed)}
.bar-timed-out,.hist-timed-out{fill:var(--timed-out)}.bar-interrupted,.hist-interrupted{fill:var(--interrupted)}
.bar:hover,.bar.active{stroke:var(--fg);stroke-width:1.5;paint-order:stroke}
.bucket:hover rect{opacity:.8}
.ids{list-style:none;padding:0;margin:0;display:flex;flex-wrap:wrap;gap:4px}
.ids li{font:12px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;background:var(--card);
border:1px solid var(--line);border-radius:4px;padding:1px 6px;overflow-wrap:anywhere}
.count{color:var(--muted);font-weight:400}
#tip{position:fixed;z-index:10;max-width:440px;padding:8px 10px;border-radius:6px;background:#1d2330;color:#fff;
font:12px/1.5 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;white-space:pre-wrap;overflow-wrap:anywhere;
pointer-events:none;box-shadow:0 4px 14px rgba(0,0,0,.25)}
#tip[hidden]{display:none}
footer{margin-top:36px;color:var(--muted);font-size:12px}
@media (max-width:800px){.summary{grid-template-columns:1fr}.stats{grid-template-columns:repeat(2,minmax(0,1fr))}}
`

// The tooltip: the details are in each bar's <title>, which also works without script; on the first hover the
// script moves them to a data attribute so that the browser's own tooltip does not show twice.
const script = `
(function () {
  var tip = document.getElementById("tip"), active = null;
  function place(e) {
    var w = tip.offsetWidth, h = tip.offsetHeight, x = e.clientX + 14, y = e.clientY + 14;
    if (x + w > innerWidth - 8) x = Math.max(8, e.clientX - w - 14);
    if (y + h > innerHeight - 8) y = Math.max(8, e.clientY - h - 14);
    tip.style.left = x + "px"; tip.style.top = y + "px";
  }
  function hide() { tip.hidden = true; if (active) active.classList.remove("active"); active = null; }
  document.addEventListener("mouseover", function (e) {
    var bar = e.target && e.target.closest ? e.target.closest(".bar") : null;
    if (!bar) { hide(); return; }
    var title = bar.querySelector("title");
    if (title) {
      bar.setAttribute("data-details", title.textContent);
      bar.setAttribute("aria-label", title.textContent);
      title.remove();
    }
    if (active) active.classList.remove("active");
    active = bar; bar.classList.add("active");
    tip.textContent = bar.getAttribute("data-details");
    tip.hidden = false; place(e);
  });
  document.addEventListener("mousemove", function (e) { if (active) place(e); });
  document.addEventListener("mouseleave", hide);
})();
`
