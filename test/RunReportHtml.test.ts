import { NodeFileSystem } from "@effect/platform-node"
import * as FileSystem from "@effect/platform/FileSystem"
import { assert, describe, it } from "@effect/vitest"
import { Cause, Duration, Effect, pipe, Schedule } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import * as vm from "node:vm"
import * as TestAgent from "../services/testing/TestAgent.js"
import * as AgentInstance from "../src/AgentInstance.js"
import * as Executor from "../src/Executor.js"
import * as charts from "../src/internal/charts.js"
import * as RunReport from "../src/RunReport.js"
import * as RunReportHtml from "../src/RunReportHtml.js"
import * as Task from "../src/Task.js"
import * as TaskResult from "../src/TaskResult.js"
import * as Usage from "../src/Usage.js"
import { withClock } from "./utils.js"

type Behaviour =
  | { readonly _tag: "ok"; readonly millis: number }
  | { readonly _tag: "fail"; readonly millis: number }
  | { readonly _tag: "hang" }
  | { readonly _tag: "interrupt"; readonly millis: number }

const ok = (millis: number): Behaviour => ({ _tag: "ok", millis })

const script = "<script>alert(1)</script>"
const injection = "<img src=x onerror=alert(1)>"

/**
 * Two slots, a 200 ms task timeout and a 500 ms deadline. Slot 0 runs 0 (ok), 3 (interrupts itself), 4 (times
 * out), 6 (ok) and 8 (stopped by the deadline); slot 1 runs 1 (fails), 2 (hangs, times out), 5 and 7 (ok) and 9
 * (stopped by the deadline); 10 never starts. Task 0's id and task 1's error are markup.
 */
const mixedRun = Effect.gen(function*() {
  const agent = yield* TestAgent.make({
    name: "mixed",
    run: (behaviour: Behaviour) =>
      behaviour._tag === "hang"
        ? Effect.never
        : Effect.zipRight(
          Effect.sleep(Duration.millis(behaviour.millis)),
          behaviour._tag === "fail"
            ? Effect.fail(new Error(`${injection} refused`))
            : behaviour._tag === "interrupt"
            ? Effect.interrupt
            : Effect.succeed(behaviour.millis)
        )
  })
  const behaviours: ReadonlyArray<Behaviour> = [
    ok(100),
    { _tag: "fail", millis: 50 },
    { _tag: "hang" },
    { _tag: "interrupt", millis: 30 },
    ok(300),
    ok(100),
    ok(100),
    ok(100),
    ok(100),
    ok(100),
    ok(100)
  ]
  const tasks = Task.fromIterable(behaviours, { id: (_, i) => i === 0 ? script : `t${i}` })
  return yield* withClock(
    Executor.run(tasks, agent.factory, { concurrency: 2, timeout: "200 millis", deadline: "500 millis", runId: "r" })
  )
}).pipe(Effect.provide(Executor.layer()))

/** The opening tag of every element with `class="bar ..."`. */
const barsOf = (html: string): Array<string> => html.match(/<rect class="bar [^>]*>/g) ?? []

/** The `<g class="lane">` groups of the timeline: lane number and the task ids of its bars, in order. */
const lanesOf = (html: string): Array<{ readonly lane: number; readonly taskIds: Array<string> }> =>
  html.split("<g class=\"lane\" ").slice(1).map((chunk) => {
    const group = chunk.slice(0, chunk.indexOf("</g>"))
    return {
      lane: Number(group.match(/^data-lane="(\d+)"/)![1]),
      taskIds: Array.from(group.matchAll(/<rect class="bar [^>]*data-task-id="([^"]*)"/g), (m) => m[1]!)
    }
  })

const escapeHtml = (text: string) =>
  text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;").replace(
    /'/g,
    "&#39;"
  )

const barClass = {
  Succeeded: "bar-succeeded",
  Failed: "bar-failed",
  TimedOut: "bar-timed-out",
  Interrupted: "bar-interrupted"
} as const

const section = (html: string, id: string) => {
  const start = html.indexOf(`<section id="${id}">`)
  assert.isAtLeast(start, 0, `no section ${id}`)
  return html.slice(start, html.indexOf("</section>", start))
}

describe("RunReportHtml.toHtml", () => {
  it.effect("draws one bar per started task, in its slot's lane, coloured by outcome", () =>
    Effect.gen(function*() {
      const report = yield* mixedRun
      assert.deepStrictEqual(
        report.results.map((r) => [r._tag, r.slot]),
        [
          ["Succeeded", 0],
          ["Failed", 1],
          ["TimedOut", 1],
          ["Interrupted", 0],
          ["TimedOut", 0],
          ["Succeeded", 1],
          ["Succeeded", 0],
          ["Succeeded", 1],
          ["TimedOut", 0],
          ["TimedOut", 1],
          ["Interrupted", -1]
        ]
      )
      const html = RunReportHtml.toHtml(report)
      const started = report.results.filter((r) => r.started)
      const bars = barsOf(html)
      assert.strictEqual(bars.length, started.length)
      assert.strictEqual(html.split("class=\"bar ").length - 1, started.length)

      // One lane per slot, each holding the bars of the tasks its slot ran, in the order they ran.
      const lanes = lanesOf(html)
      assert.strictEqual(report.stats.concurrency, 2)
      assert.deepStrictEqual(lanes.map((l) => l.lane), [0, 1])
      for (const { lane, taskIds } of lanes) {
        assert.deepStrictEqual(
          taskIds,
          started.filter((r) => r.slot === lane).map((r) => escapeHtml(r.taskId)),
          `lane ${lane}`
        )
      }

      // Each bar has its outcome's class; every outcome's class is used, since every outcome started somewhere.
      for (const result of started) {
        const bar = bars.find((b) => b.includes(`data-task-id="${escapeHtml(result.taskId)}"`))
        assert.isDefined(bar, result.taskId)
        assert.include(bar, `class="bar ${barClass[result._tag]}"`, result.taskId)
      }
      for (const name of Object.values(barClass)) {
        assert.include(html, `class="bar ${name}"`)
      }

      // Bars are placed by start offset and sized by duration against the wall time (500 ms over 996 units).
      const t5 = bars.find((b) => b.includes("data-task-id=\"t5\""))!
      const x = Number(t5.match(/ x="([\d.]+)"/)![1])
      const width = Number(t5.match(/ width="([\d.]+)"/)![1])
      assert.closeTo(x, 80 + (250 / 500) * 996, 0.1)
      assert.closeTo(width, (100 / 500) * 996 - 1, 0.2)
    }))

  it.effect("shows details on hover: task, instance, outcome, start, duration and the error", () =>
    Effect.gen(function*() {
      const report = yield* mixedRun
      const html = RunReportHtml.toHtml(report)
      const titleOf = (taskId: string) => {
        const start = html.indexOf(`data-task-id="${taskId}"`)
        return html.slice(html.indexOf("<title>", start) + 7, html.indexOf("</title>", start))
      }
      assert.strictEqual(
        titleOf("t5"),
        "t5\nagent: mixed#r/t5/1\noutcome: succeeded\nstart: +250 ms\nduration: 100 ms"
      )
      assert.strictEqual(
        titleOf("t2"),
        "t2\nagent: mixed#r/t2/1\noutcome: timed out\nstart: +50 ms\nduration: 200 ms\nerror: " +
          escapeHtml(TaskResult.message(report.results[2]!))
      )
      assert.include(titleOf("t1"), `outcome: failed\nstart: +0 ms\nduration: 50 ms\nerror: ${escapeHtml(injection)}`)
      assert.include(titleOf("t3"), "outcome: interrupted")
      // The hover script shows the same text in a tooltip.
      assert.include(html, "<div id=\"tip\" role=\"tooltip\" hidden></div>")
    }))

  it.effect("lists the tasks that never started, with their count", () =>
    Effect.gen(function*() {
      const report = yield* mixedRun
      const notStarted = section(RunReportHtml.toHtml(report), "not-started")
      assert.include(notStarted, "Not started <span class=\"count\">(1)</span>")
      assert.include(notStarted, "not started before the run&#39;s deadline <span class=\"count\">(1)</span>")
      assert.include(notStarted, "<li class=\"task-interrupted\" data-task-id=\"t10\">t10</li>")
      assert.notInclude(notStarted, "data-task-id=\"t9\"")
    }))

  it.effect("shows the summary, the stats and a histogram of durations", () =>
    Effect.gen(function*() {
      const report = yield* mixedRun
      const html = RunReportHtml.toHtml(report)
      const header = html.slice(html.indexOf("<header>"), html.indexOf("</header>"))
      assert.include(header, "run <code>r</code>")
      assert.include(header, "agent <b>mixed</b>")
      assert.include(header, "<b>11</b> tasks")
      assert.include(header, "concurrency <b>2</b>")
      const summary = section(html, "summary")
      assert.match(summary, /timed out<\/td>\s*<td>4<\/td><td>36\.4%<\/td>/)
      assert.include(summary, "wall time <b>500 ms</b>")
      assert.include(summary, "busy time <b>1.00 s</b>")
      assert.include(summary, "<dd>2.00x</dd>")
      assert.include(summary, "<dd>100%</dd>")
      assert.include(summary, "<dd>36.4%</dd>")
      assert.include(summary, "<dd><span>200 ms</span> / <span>200 ms</span></dd>")
      const histogram = section(html, "durations")
      const buckets = histogram.match(/<g class="bucket">/g)!.length
      assert.isAtLeast(buckets, 1)
      const counted = Array.from(histogram.matchAll(/<title>[^<]*: (\d+) tasks?/g), (m) => Number(m[1]))
      assert.strictEqual(counted.reduce((a, b) => a + b, 0), 10)
      for (const name of ["hist-succeeded", "hist-failed", "hist-timed-out", "hist-interrupted"]) {
        assert.include(histogram, `class="hist ${name}"`)
      }
      const bounds = histogram.match(/in (\d+) buckets/)!
      assert.isAtLeast(Number(bounds[1]), 10)
      assert.isAtMost(Number(bounds[1]), 20)
    }))

  it.effect("shows the models, their usage, retries, the budget and adaptive concurrency when a run had them", () =>
    Effect.gen(function*() {
      const agent = yield* TestAgent.make({
        name: "metered",
        run: (n: number, instance) =>
          Effect.zipRight(
            Usage.record({ model: "offline", inputTokens: 1200, outputTokens: 30 }),
            n === 0 && instance.attempt === 1 ? Effect.fail({ status: 429 }) : Effect.succeed(n)
          )
      })
      const report = yield* withClock(
        Executor.run(Task.fromIterable([0, 1, 2]), agent.factory, {
          retry: Schedule.spaced("1 second"),
          budget: { tokens: 10_000 },
          adaptive: { initial: 2 },
          concurrency: 3
        })
      )
      const summary = section(RunReportHtml.toHtml(report), "summary")
      assert.match(summary, /<dt>model<\/dt><dd>offline<\/dd>/)
      assert.match(summary, /<dt>tokens in \/ out<\/dt><dd>4,800 \/ 120<\/dd>/)
      assert.match(summary, /<dt>model requests<\/dt><dd>4<\/dd>/)
      assert.match(summary, /<dt>retries<\/dt><dd>1<\/dd>/)
      assert.match(summary, /<dt>budget tokens<\/dt><dd>4,920 \/ 10,000<\/dd>/)
      assert.match(summary, /<dt>adaptive concurrency<\/dt><dd>2 → \d<\/dd><p>lowest 1, 1 cut<\/p>/)
      // A run without them shows none of these.
      const plain = section(RunReportHtml.toHtml(yield* mixedRun), "summary")
      assert.notInclude(plain, "<dt>model")
      assert.notInclude(plain, "<dt>retries")
    }).pipe(Effect.provide(Executor.layer())))

  it.effect("is self-contained: nothing is loaded from anywhere", () =>
    Effect.gen(function*() {
      const html = RunReportHtml.toHtml(yield* mixedRun)
      assert.notInclude(html, "http://")
      assert.notInclude(html, "https://")
      assert.notInclude(html, "//cdn")
      assert.notMatch(html, /<(link|img|iframe|object|embed)\b/i)
      assert.notMatch(html, /<[a-z][^>]*\s(src|href|xlink:href)\s*=/i)
      assert.notMatch(html, /@import|url\(/i)
      assert.include(html, "default-src 'none'")
    }))

  it.effect("escapes every text from the report: task ids, errors, agent names, the title", () =>
    Effect.gen(function*() {
      const html = RunReportHtml.toHtml(yield* mixedRun, { title: "<b>run</b> & \"more\"" })
      assert.notInclude(html, script)
      assert.notInclude(html, injection)
      assert.include(html, `data-task-id="${escapeHtml(script)}"`)
      assert.include(html, `<title>${escapeHtml(script)}\nagent: mixed#r/${escapeHtml(script)}/1`)
      assert.include(html, escapeHtml(injection))
      // The only script element is the page's own, and the title is text.
      assert.strictEqual(html.match(/<script/gi)!.length, 1)
      assert.include(html, "<title>&lt;b&gt;run&lt;/b&gt; &amp; &quot;more&quot;</title>")
      assert.include(html, "<h1>&lt;b&gt;run&lt;/b&gt; &amp; &quot;more&quot;</h1>")

      const agent = yield* TestAgent.succeed("<i>agent</i>", (n: number) => n)
      const named = RunReportHtml.toHtml(yield* Executor.run(Task.fromIterable([1]), agent.factory, { runId: "<u>" }))
      assert.notInclude(named, "<i>agent</i>")
      assert.notInclude(named, "<u>")
      assert.include(named, "agent <b>&lt;i&gt;agent&lt;/i&gt;</b>")
      assert.include(named, "run <code>&lt;u&gt;</code>")
    }).pipe(Effect.provide(Executor.layer())))

  it.effect("a run of one task has one lane and one bar", () =>
    Effect.gen(function*() {
      const agent = yield* TestAgent.sleep("solo", "120 millis", (n: number) => n)
      const report = yield* withClock(Executor.run(Task.fromIterable([1]), agent.factory, { concurrency: 4 }))
      const html = RunReportHtml.toHtml(report)
      assert.strictEqual(barsOf(html).length, 1)
      assert.deepStrictEqual(lanesOf(html), [{ lane: 0, taskIds: ["0"] }])
      assert.include(section(html, "not-started"), "(0)")
      assert.strictEqual(section(html, "durations").match(/<g class="bucket">/g)!.length, 1)
    }).pipe(Effect.provide(Executor.layer())))

  it.effect("an empty run says so instead of drawing", () =>
    Effect.gen(function*() {
      const agent = yield* TestAgent.succeed("none", (n: number) => n)
      const html = RunReportHtml.toHtml(yield* Executor.run([], agent.factory))
      assert.strictEqual(barsOf(html).length, 0)
      assert.include(section(html, "timeline"), "No task started.")
      assert.include(section(html, "durations"), "No task started.")
    }).pipe(Effect.provide(Executor.layer())))

  it("stays compact for 10,000 tasks, and places results without a slot in free lanes", () => {
    const n = 10_000
    const results = Array.from({ length: n }, (_, index) => {
      const task = Task.make({ id: `task-${index}`, input: index })
      // Built by hand, without slots: 32 lanes of back-to-back 100 ms tasks.
      return TaskResult.succeeded({
        task,
        index,
        instance: AgentInstance.make({ agent: "bulk", runId: "big", taskId: task.id, attempt: 1 }),
        startedAt: Math.floor(index / 32) * 100,
        durationMillis: 100
      }, index)
    })
    const report = RunReport.make({
      runId: "big",
      agent: "bulk",
      results,
      aggregate: undefined,
      startedAt: 0,
      endedAt: Math.ceil(n / 32) * 100,
      concurrency: 32,
      peakInFlight: 32
    })
    const html = RunReportHtml.toHtml(report)
    assert.strictEqual(barsOf(html).length, n)
    const lanes = lanesOf(html)
    assert.strictEqual(lanes.length, 32)
    for (const lane of lanes) assert.strictEqual(lane.taskIds.length, Math.ceil(n / 32) - (lane.lane < n % 32 ? 0 : 1))
    // About 200 bytes per task: the bar, its ids and its details.
    assert.isBelow(html.length / n, 300)
  })
})

describe("RunReportHtml.write", () => {
  it.scoped("writes the same page to a file, data-first and data-last", () =>
    Effect.gen(function*() {
      const report = yield* mixedRun
      const fs = yield* FileSystem.FileSystem
      const directory = yield* fs.makeTempDirectoryScoped()
      const first = `${directory}/first.html`
      const last = `${directory}/last.html`
      yield* RunReportHtml.write(report, first)
      yield* pipe(report, RunReportHtml.write(last, { title: "Nightly" }))
      assert.strictEqual(yield* fs.readFileString(first), RunReportHtml.toHtml(report))
      assert.strictEqual(yield* fs.readFileString(last), RunReportHtml.toHtml(report, { title: "Nightly" }))
      // It replaces a file that exists.
      yield* RunReportHtml.write(report, last)
      assert.strictEqual(yield* fs.readFileString(last), RunReportHtml.toHtml(report))
    }).pipe(Effect.provide(NodeFileSystem.layer)))

  it.effect("fails with the file system's error when the file cannot be written", () =>
    Effect.gen(function*() {
      const report = yield* mixedRun
      const error = yield* Effect.flip(RunReportHtml.write(report, "/nonexistent-directory/report.html"))
      assert.strictEqual(error._tag, "SystemError")
    }).pipe(Effect.provide(NodeFileSystem.layer)))
})

/** A report assembled by hand: `n` back-to-back 100 ms tasks on `lanes` slots, one in 7 failed. */
const bulkReport = (n: number, lanes: number) => {
  const results = Array.from({ length: n }, (_, index) => {
    const task = Task.make({ id: `task-${index}`, input: index })
    const common = {
      task,
      index,
      instance: AgentInstance.make({ agent: "bulk", runId: "big", taskId: task.id, attempt: 1 }),
      startedAt: Math.floor(index / lanes) * 100,
      durationMillis: 100 - (index % 5)
    }
    return index % 7 === 3
      ? TaskResult.failed(common, Cause.fail(new Error(`no ${index}`)))
      : TaskResult.succeeded(common, index)
  })
  return RunReport.make({
    runId: "big",
    agent: "bulk",
    results,
    aggregate: undefined,
    startedAt: 0,
    endedAt: Math.ceil(n / lanes) * 100,
    concurrency: lanes,
    peakInFlight: lanes
  })
}

describe("RunReportHtml, beyond the page", () => {
  it("separates thousands in every count", () => {
    const html = RunReportHtml.toHtml(bulkReport(12_345, 40))
    const header = html.slice(html.indexOf("<header>"), html.indexOf("</header>"))
    assert.include(header, "<b>12,345</b> tasks")
    const summary = section(html, "summary")
    assert.match(summary, /succeeded<\/td><td>10,581<\/td>/)
    assert.match(summary, /total<\/td><td>12,345<\/td>/)
    assert.include(section(html, "timeline"), "12,345 tasks on 40 slots")
    assert.include(section(html, "durations"), "12,345 tasks that started")
  })

  it("says when a run was cut short, why, and how much input it never read", () => {
    const report = bulkReport(20, 4)
    const html = RunReportHtml.toHtml(report, { stopped: { reason: "Ctrl-C", notRead: 2_500 } })
    assert.include(html, "<b>This run was cut short</b> (Ctrl-C).")
    assert.include(html, "2,500 input lines were never read")
    const tasks = RunReportHtml.toHtml(report, { stopped: { reason: "<cancelled>", notRead: 3, unit: "tasks" } })
    assert.include(tasks, "(&lt;cancelled&gt;)")
    assert.include(tasks, "3 tasks were never read")
    assert.notInclude(RunReportHtml.toHtml(report), "cut short")
  })

  it("its browser script draws exactly what the server draws", () => {
    const context = vm.createContext({})
    const browser = vm.runInContext(`${RunReportHtml.script}\nRunReportCharts`, context) as {
      readonly timelineSvg: typeof charts.timelineSvg
      readonly histogramSvg: typeof charts.histogramSvg
      readonly barDetails: typeof charts.barDetails
      readonly formatMillis: (millis: number) => string
    }
    const bars = (n: number, lanes: number): Array<charts.Bar> =>
      Array.from({ length: n }, (_, i) => ({
        taskId: `<t${i}>`,
        lane: i % lanes,
        start: Math.floor(i / lanes) * 120,
        duration: 100 + (i % 9) * 7,
        outcome: (["succeeded", "failed", "timed-out", "interrupted", "running"] as const)[i % 5]!,
        details: browser.barDetails({
          taskId: `<t${i}>`,
          agent: "a#r/t/1",
          outcome: "failed",
          start: i * 3,
          duration: 1234,
          error: i % 2 === 0 ? "boom & <b>" : undefined
        })
      }))
    // Short and tall charts (the tall one labels every k-th lane and has a time axis on top).
    for (const [n, lanes, span] of [[7, 3, 500], [2_000, 300, 90_000], [1, 1, 0.5]] as const) {
      const input = bars(n, lanes)
      assert.strictEqual(browser.timelineSvg(lanes, span, input), charts.timelineSvg(lanes, span, input))
      const items = input.map((bar) => ({ duration: bar.duration, outcome: bar.outcome }))
      assert.deepStrictEqual(browser.histogramSvg(items), charts.histogramSvg(items))
    }
    assert.strictEqual(browser.formatMillis(125_000), "2 min 05 s")
  })

  it("is never loaded by the engine, nor is FileSystem", () => {
    const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..")
    const seen = new Set<string>()
    const external = new Set<string>()
    const visit = (file: string) => {
      if (seen.has(file)) return
      seen.add(file)
      const source = fs.readFileSync(file, "utf8")
      // Imports that load code: not `import type`, nor type-only re-exports.
      for (const match of source.matchAll(/^(?:import|export) (?!type )[^;]*?from "([^"]+)"/gm)) {
        const specifier = match[1]!
        if (specifier.startsWith(".")) visit(path.resolve(path.dirname(file), specifier.replace(/\.js$/, ".ts")))
        else external.add(specifier)
      }
    }
    visit(path.join(root, "src/Executor.ts"))
    for (const file of fs.readdirSync(path.join(root, "src/internal"))) {
      if (file !== "charts.ts") visit(path.join(root, "src/internal", file))
    }
    const loaded = Array.from(seen, (file) => path.relative(root, file))
    assert.include(loaded, "src/internal/runOne.ts")
    assert.include(loaded, "src/RunReport.ts")
    assert.notInclude(loaded, "src/RunReportHtml.ts")
    assert.notInclude(loaded, "src/internal/charts.ts")
    assert.notInclude(Array.from(external), "@effect/platform/FileSystem")
  })
})
