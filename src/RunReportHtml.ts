/**
 * A run report as one self-contained HTML page: the summary and stats, a timeline with one lane per concurrency slot
 * and one bar per task (coloured by outcome, with its details on hover), the tasks that never started, and a
 * histogram of task durations. Styles and script are inline and a Content-Security-Policy forbids loading anything,
 * so the page opens offline or as a CI artifact. The engine never loads this module: import it where a page is
 * wanted.
 *
 * @since 0.1.0
 */
import type { PlatformError } from "@effect/platform/Error"
import * as FileSystem from "@effect/platform/FileSystem"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import { dual } from "effect/Function"
import * as charts from "./internal/charts.js"
import { formatCount, formatMillis, formatPercent } from "./internal/text.js"
import type * as RunReport from "./RunReport.js"
import * as TaskResult from "./TaskResult.js"
import * as Usage from "./Usage.js"

/**
 * Options of the page.
 *
 * @category models
 * @since 0.1.0
 */
export interface Options {
  /** The page's title and heading; `Run report: <agent> (<run id>)` by default. */
  readonly title?: string | undefined
  /**
   * Set when the run was stopped before it read all its input (Ctrl-C, a cancelled run): the page says that the run
   * was cut short, why, and how much of its input was never read.
   */
  readonly stopped?: Stopped | undefined
}

/**
 * Why a run was cut short, and what it never read.
 *
 * @category models
 * @since 0.1.0
 */
export interface Stopped {
  /** What stopped it, as a phrase: `"Ctrl-C"`, `"cancelled from the dashboard"`. */
  readonly reason: string
  /** How much input was never read (the report has no result for it). */
  readonly notRead?: number | undefined
  /** What `notRead` counts, in the plural. @default "input lines" */
  readonly unit?: string | undefined
}

type Result = TaskResult.TaskResult<unknown, unknown>
type Tag = Result["_tag"]

const keyOf: Record<Tag, charts.OutcomeKey> = {
  Succeeded: "succeeded",
  Failed: "failed",
  TimedOut: "timed-out",
  Interrupted: "interrupted"
}

const labelOf = (tag: Tag): string => charts.outcomes.find((o) => o.key === keyOf[tag])!.label

const escape = charts.escapeHtml

const ms = (d: Duration.Duration): string => formatMillis(Duration.toMillis(d))

const plural = (n: number, one: string, many: string) => `${formatCount(n)} ${n === 1 ? one : many}`

// =============================================================================
// document
// =============================================================================

/**
 * The report as one self-contained HTML page. Every text taken from the report (task ids, errors, agent names, the
 * title) is escaped.
 *
 * **Example** (A page for a run)
 *
 * ```ts
 * import { Executor, RunReportHtml, Task } from "effect-parallel-agents"
 * import { TestAgent } from "effect-parallel-agents/testing"
 * import { Effect } from "effect"
 *
 * const program = Effect.gen(function*() {
 *   const agent = yield* TestAgent.succeed("upper", (s: string) => s.toUpperCase())
 *   const report = yield* Executor.run(Task.fromIterable(["a", "b"]), agent.factory)
 *   return RunReportHtml.toHtml(report, { title: "Upper-casing" })
 * }).pipe(Effect.provide(Executor.layer()))
 * ```
 *
 * @category getters
 * @since 0.1.0
 */
export const toHtml = <A, E, S>(report: RunReport.RunReport<A, E, S>, options?: Options): string => {
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
    stoppedBanner(options?.stopped),
    summarySection(report),
    timeline(report, started),
    notStartedSection(notStarted),
    histogram(started),
    byAgent(report),
    "<footer>Written by effect-parallel-agents from the run's report. Times are from the run's clock.</footer>",
    "</main>",
    "<div id=\"tip\" role=\"tooltip\" hidden></div>",
    `<script>${tooltipScript}</script>`,
    "</body>",
    "</html>",
    ""
  ].join("\n")
}

/**
 * Writes the report's page (`toHtml`) to a file with the `FileSystem` service, replacing the file if it exists.
 *
 * @category combinators
 * @since 0.1.0
 */
export const write: {
  (
    path: string,
    options?: Options
  ): <A, E, S>(self: RunReport.RunReport<A, E, S>) => Effect.Effect<void, PlatformError, FileSystem.FileSystem>
  <A, E, S>(
    self: RunReport.RunReport<A, E, S>,
    path: string,
    options?: Options
  ): Effect.Effect<void, PlatformError, FileSystem.FileSystem>
} = dual(
  (args) => typeof args[0] !== "string",
  <A, E, S>(
    self: RunReport.RunReport<A, E, S>,
    path: string,
    options?: Options
  ): Effect.Effect<void, PlatformError, FileSystem.FileSystem> =>
    Effect.flatMap(FileSystem.FileSystem, (fs) => fs.writeFileString(path, toHtml(self, options)))
)

/**
 * The report's drawing code as a script for the browser. It defines `RunReportCharts`, whose `timelineSvg(lanes,
 * span, bars)` and `histogramSvg(items)` return the same SVG markup the page has, for pages that draw a run as it
 * goes (the HTTP dashboard of `effect-parallel-agents/http` does). Each bar is `{ taskId, lane, start, duration,
 * outcome, details }`, with `outcome` one of `succeeded`, `failed`, `timed-out`, `interrupted` and `running`.
 *
 * @category getters
 * @since 0.1.0
 */
export const script: string = charts.script

/**
 * The styles of the report's charts, for pages that draw them with `script`: the frame, the labels and one colour
 * per outcome, read from custom properties set on `:root`.
 *
 * @category getters
 * @since 0.1.0
 */
export const styles: string = `:root{${charts.chartColors}}\n${charts.chartStyles}`

const header = <A, E, S>(report: RunReport.RunReport<A, E, S>, title: string): string => {
  const { stats, summary } = report
  const startedAt = new Date(stats.startedAt)
  const items = [
    `run <code>${escape(report.runId)}</code>`,
    `agent <b>${escape(report.agent)}</b>`,
    `<b>${formatCount(summary.total)}</b> ${summary.total === 1 ? "task" : "tasks"}`,
    `concurrency <b>${formatCount(stats.concurrency)}</b>`
  ]
  if (!Number.isNaN(startedAt.getTime())) items.push(`started ${startedAt.toISOString()}`)
  return `<header>
<h1>${escape(title)}</h1>
<p class="meta">${items.map((item) => `<span>${item}</span>`).join("")}</p>
</header>`
}

const stoppedBanner = (stopped: Stopped | undefined): string => {
  if (stopped === undefined) return ""
  const notRead = stopped.notRead === undefined
    ? ""
    : stopped.notRead === 0
    ? " Its whole input was read."
    : ` ${formatCount(stopped.notRead)} ${escape(stopped.unit ?? "input lines")} were never read, so they have no ` +
      "result here."
  return `<p class="banner" role="status"><b>This run was cut short</b> (${escape(stopped.reason)}). ` +
    `It reports the tasks that ended before it stopped.${notRead}</p>`
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

const tags: ReadonlyArray<Tag> = ["Succeeded", "Failed", "TimedOut", "Interrupted"]

const summarySection = <A, E, S>(report: RunReport.RunReport<A, E, S>): string => {
  const { stats, summary } = report
  const count = counts(summary)
  const share = (n: number) => summary.total === 0 ? "-" : formatPercent(n / summary.total)
  const rows = tags.map((tag) =>
    `<tr class="${count[tag] === 0 ? "zero" : ""}"><td><i class="swatch swatch-${keyOf[tag]}"></i>${
      labelOf(tag)
    }</td><td>${formatCount(count[tag])}</td><td>${share(count[tag])}</td></tr>`
  ).join("\n")
  const shares = summary.total === 0
    ? ""
    : `<div class="shares" aria-hidden="true">${
      tags.filter((tag) => count[tag] > 0).map((tag) =>
        `<i class="swatch-${keyOf[tag]}" style="width:${charts.num((count[tag] / summary.total) * 100)}%"></i>`
      ).join("")
    }</div>`
  const wall = Duration.toMillis(stats.wallTime)
  const busy = Duration.toMillis(stats.busyTime)
  const longest = Math.max(wall, busy, 1e-9)
  const meter = (value: number, label: string) =>
    `<div class="meter"><i style="width:${charts.num((value / longest) * 100)}%"></i><span>${label}</span></div>`
  const { durations, queueWait } = stats
  const slots = plural(stats.concurrency, "slot", "slots")
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
<tfoot><tr><td>total</td><td>${formatCount(summary.total)}</td><td>${
    summary.total === 0 ? "-" : "100%"
  }</td></tr></tfoot>
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
${stat("efficiency", formatPercent(stats.efficiency, 0), `speedup / concurrency ${formatCount(stats.concurrency)}`)}
${stat("peak in flight", formatCount(stats.peakInFlight), `of ${slots}`)}
${stat("success rate", formatPercent(stats.successRate))}
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

/** The stats only some runs have: models and their usage, retries, budget, adaptive concurrency. */
const extraStats = (stats: RunReport.Stats, stat: (name: string, value: string, note?: string) => string): string => {
  const items: Array<string> = []
  if (stats.models.length > 0) {
    items.push(stat(stats.models.length === 1 ? "model" : "models", escape(stats.models.join(", ")), "that answered"))
  }
  if (!Usage.isEmpty(stats.usage)) {
    items.push(
      stat("tokens in / out", `${formatCount(stats.usage.inputTokens)} / ${formatCount(stats.usage.outputTokens)}`)
    )
    items.push(stat("model requests", formatCount(stats.usage.requests)))
    if (stats.usage.cost > 0) items.push(stat("cost", formatCount(stats.usage.cost)))
  }
  if (stats.retries > 0) items.push(stat("retries", formatCount(stats.retries), "attempts retried"))
  const budget = stats.budget
  if (budget !== undefined) {
    const used = { tokens: Usage.totalTokens(budget.used), cost: budget.used.cost, requests: budget.used.requests }
    for (const resource of ["tokens", "cost", "requests"] as const) {
      const limit = budget.limits[resource]
      if (limit !== undefined) {
        items.push(stat(`budget ${resource}`, `${formatCount(used[resource])} / ${formatCount(limit)}`, "used / limit"))
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
    tags.map((tag) =>
      `<li><i class="swatch swatch-${keyOf[tag]}"></i>${labelOf(tag)} <span>${formatCount(counted[tag])}</span></li>`
    ).join("")
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
  const drawn: Record<Tag, number> = { Succeeded: 0, Failed: 0, TimedOut: 0, Interrupted: 0 }
  const bars = started.map((result, i): charts.Bar => {
    drawn[result._tag]++
    const start = result.startedAt! - origin
    return {
      taskId: result.taskId,
      lane: laneOf[i]!,
      start,
      duration: result.durationMillis,
      outcome: keyOf[result._tag],
      details: charts.barDetails({
        taskId: result.taskId,
        agent: result.agent,
        outcome: labelOf(result._tag),
        start,
        duration: result.durationMillis,
        error: result._tag === "Succeeded" ? undefined : TaskResult.message(result)
      })
    }
  })
  const caption = started.length === 0
    ? "<p class=\"empty\">No task started.</p>"
    : `<p class="note">${plural(started.length, "task", "tasks")} on ${plural(lanes, "slot", "slots")}, ` +
      "time from the start of the run. Hover a bar for its details.</p>"
  return `<section id="timeline">
<h2>Timeline</h2>
${legend(drawn)}
${caption}
<div class="chart-scroll">
${charts.timelineSvg(lanes, span, bars)}
</div>
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
    return `<li class="task-${keyOf[result._tag]}" data-task-id="${id}">${id}</li>`
  }
  const blocks = Array.from(groups, ([reason, group]) => {
    const swatch = `<i class="swatch swatch-${keyOf[group[0]!._tag]}"></i>`
    return `<h3>${swatch}${escape(reason)} <span class="count">(${formatCount(group.length)})</span></h3>\n` +
      `<ul class="ids">${group.map(item).join("")}</ul>`
  })
  const one = notStarted.length === 1
  return `<section id="not-started">
<h2>Not started <span class="count">(${formatCount(notStarted.length)})</span></h2>
<p class="note">${formatCount(notStarted.length)} ${one ? "task was" : "tasks were"} never given to an agent, so ` +
    `${one ? "it has" : "they have"} no bar.</p>
${blocks.join("\n")}
</section>`
}

// =============================================================================
// histogram
// =============================================================================

const histogram = (started: ReadonlyArray<Result>): string => {
  const drawn = charts.histogramSvg(
    started.map((result) => ({ duration: result.durationMillis, outcome: keyOf[result._tag] }))
  )
  if (drawn === undefined) {
    return `<section id="durations"><h2>Task durations</h2><p class="empty">No task started.</p></section>`
  }
  return `<section id="durations">
<h2>Task durations</h2>
<p class="note">${plural(started.length, "task", "tasks")} that started, in ${drawn.buckets} buckets of ${
    charts.tickLabel(drawn.step)
  }; release of the agent included.</p>
<div class="chart-scroll">
${drawn.svg}
</div>
</section>`
}

// =============================================================================
// agents
// =============================================================================

const byAgent = <A, E, S>(report: RunReport.RunReport<A, E, S>): string => {
  if (report.byAgent.length <= 1) return ""
  const rows = report.byAgent.map((agent) =>
    `<tr><td>${escape(agent.agent)}</td><td>${formatCount(agent.total)}</td><td>${formatCount(agent.succeeded)}</td>` +
    `<td>${formatCount(agent.failed)}</td><td>${formatCount(agent.timedOut)}</td>` +
    `<td>${formatCount(agent.interrupted)}</td><td>${formatPercent(agent.successRate)}</td>` +
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
:root{${charts.chartColors}
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
.banner{margin:16px 0 0;padding:10px 14px;border-radius:8px;background:#f1edfb;border:1px solid #cfc4f0}
.summary{display:grid;grid-template-columns:minmax(260px,1fr) 2.2fr;gap:16px}
.summary>*{min-width:0}
.card{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:14px 16px;overflow-x:auto}
table{border-collapse:collapse;width:100%;font-variant-numeric:tabular-nums}
th,td{text-align:right;padding:4px 8px;border-bottom:1px solid var(--line);white-space:nowrap}
th:first-child,td:first-child{text-align:left;white-space:normal;overflow-wrap:anywhere}
th{font-weight:600;color:var(--muted);font-size:12px}
tfoot td{border-bottom:0;font-weight:600}
tr.zero td{color:#9aa1ae}
.shares{display:flex;height:10px;border-radius:5px;overflow:hidden;margin-top:12px;background:var(--line)}
.shares i{display:block;height:100%;min-width:2px}
.vs{display:grid;gap:6px;margin-bottom:12px}
.meter{position:relative;background:var(--lane);border-radius:4px;min-height:26px;overflow:hidden}
.meter i{position:absolute;left:0;top:0;bottom:0;background:#c9d6ef}
.meter span{position:relative;display:block;padding:3px 8px;line-height:20px;overflow-wrap:anywhere}
.stats{display:grid;grid-template-columns:repeat(4,minmax(0,1fr));gap:10px;margin:0}
.stat{background:var(--lane);border-radius:6px;padding:8px 10px;min-width:0}
.stat dt{color:var(--muted);font-size:12px}
.stat dd{margin:0;font-size:17px;font-weight:600;font-variant-numeric:tabular-nums;overflow-wrap:anywhere}
.stat dd span{white-space:nowrap}
.stat p{margin:0;color:var(--muted);font-size:11.5px}
.legend{display:flex;flex-wrap:wrap;gap:4px 18px;list-style:none;padding:0;margin:0 0 6px}
.legend span{color:var(--muted)}
.note,.empty{color:var(--muted);margin:4px 0 8px}
.ids{list-style:none;padding:0;margin:0;display:flex;flex-wrap:wrap;gap:4px}
.ids li{font:12px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;background:var(--card);
border:1px solid var(--line);border-radius:4px;padding:1px 6px;overflow-wrap:anywhere}
.count{color:var(--muted);font-weight:400}
#tip{position:fixed;z-index:10;max-width:min(440px,calc(100vw - 16px));padding:8px 10px;border-radius:6px;
background:#1d2330;color:#fff;font:12px/1.5 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;white-space:pre-wrap;
overflow-wrap:anywhere;pointer-events:none;box-shadow:0 4px 14px rgba(0,0,0,.25)}
#tip[hidden]{display:none}
footer{margin-top:36px;color:var(--muted);font-size:12px}
${charts.chartStyles}
@media (max-width:800px){.summary{grid-template-columns:1fr}.stats{grid-template-columns:repeat(2,minmax(0,1fr))}}
@media (max-width:480px){main{padding:16px 12px 32px}.stat dd{font-size:15px}}
`

// The tooltip: the details are in each bar's <title>, which also works without script; on the first hover the
// script moves them to a data attribute so that the browser's own tooltip does not show twice.
const tooltipScript = `
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
