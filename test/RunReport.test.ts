import { assert, describe, it } from "@effect/vitest"
import { Cause, Duration } from "effect"
import * as AgentInstance from "../src/AgentInstance.js"
import * as RunReport from "../src/RunReport.js"
import * as Task from "../src/Task.js"
import * as TaskResult from "../src/TaskResult.js"

const meta = (index: number, durationMillis: number, started = true): TaskResult.Meta => ({
  task: Task.make({ id: `t${index}`, input: index }),
  index,
  instance: started ? AgentInstance.make({ agent: "a", runId: "r", taskId: `t${index}`, attempt: 1 }) : undefined,
  startedAt: started ? 0 : undefined,
  durationMillis
})

// Two successes, two failures, one timeout, one interruption; 1200 ms of work in all.
const mixed: ReadonlyArray<TaskResult.TaskResult<string, string>> = [
  TaskResult.succeeded(meta(0, 100), "zero"),
  TaskResult.failed(meta(1, 200), Cause.fail("bad")),
  TaskResult.timedOut(meta(2, 400), { reason: "TaskTimeout", timeout: 400 }),
  TaskResult.succeeded(meta(3, 300), "three"),
  TaskResult.interrupted(meta(4, 0, false), { reason: "RunDeadline" }),
  TaskResult.failed(meta(5, 200), Cause.die(new Error("boom")))
]

const report = (options?: {
  readonly results?: ReadonlyArray<TaskResult.TaskResult<string, string>>
  readonly startedAt?: number
  readonly endedAt?: number
  readonly concurrency?: number
  readonly peakInFlight?: number
}) =>
  RunReport.make({
    runId: "run-1",
    agent: "summarizer",
    results: options?.results ?? mixed,
    aggregate: { extra: true },
    startedAt: options?.startedAt ?? 10_000,
    endedAt: options?.endedAt ?? 10_600,
    concurrency: options?.concurrency ?? 4,
    peakInFlight: options?.peakInFlight ?? 3
  })

describe("RunReport", () => {
  describe("make", () => {
    it("keeps the run's identity, results and aggregate", () => {
      const r = report()
      assert.strictEqual(r.runId, "run-1")
      assert.strictEqual(r.agent, "summarizer")
      assert.strictEqual(r.results, mixed)
      assert.deepStrictEqual(r.aggregate, { extra: true })
    })

    it("counts the results by outcome, the four counts adding up to the total", () => {
      const { summary } = report()
      assert.deepStrictEqual(summary, { total: 6, succeeded: 2, failed: 2, timedOut: 1, interrupted: 1 })
      assert.strictEqual(summary.succeeded + summary.failed + summary.timedOut + summary.interrupted, summary.total)
    })

    it("an empty run has an all-zero summary", () => {
      const r = report({ results: [], endedAt: 10_000 })
      assert.deepStrictEqual(r.summary, { total: 0, succeeded: 0, failed: 0, timedOut: 0, interrupted: 0 })
      assert.strictEqual(Duration.toMillis(r.stats.busyTime), 0)
    })

    it("busy time is the sum of the task durations, wall time the span of the run", () => {
      const { stats } = report()
      assert.strictEqual(stats.startedAt, 10_000)
      assert(Duration.isDuration(stats.busyTime) && Duration.isDuration(stats.wallTime))
      assert.strictEqual(Duration.toMillis(stats.busyTime), 1200)
      assert.strictEqual(Duration.toMillis(stats.wallTime), 600)
    })

    it("speedup is busy over wall time, efficiency the speedup per unit of concurrency", () => {
      const { stats } = report({ concurrency: 4 })
      assert.strictEqual(stats.speedup, 2)
      assert.strictEqual(stats.efficiency, 0.5)
      assert.strictEqual(stats.concurrency, 4)
      assert.strictEqual(stats.peakInFlight, 3)
    })

    it("a run that took no time has speedup 1", () => {
      const { stats } = report({ startedAt: 5000, endedAt: 5000, concurrency: 2 })
      assert.strictEqual(Duration.toMillis(stats.wallTime), 0)
      assert.strictEqual(stats.speedup, 1)
      assert.strictEqual(stats.efficiency, 0.5)
    })

    it("a clock that went backwards gives zero wall time, not a negative one", () => {
      const { stats } = report({ startedAt: 5000, endedAt: 4000 })
      assert.strictEqual(Duration.toMillis(stats.wallTime), 0)
      assert.strictEqual(stats.speedup, 1)
    })

    it("a sequential run has speedup and efficiency 1", () => {
      const results = [TaskResult.succeeded(meta(0, 250), "a"), TaskResult.succeeded(meta(1, 750), "b")]
      const { stats } = report({ results, startedAt: 0, endedAt: 1000, concurrency: 1, peakInFlight: 1 })
      assert.strictEqual(stats.speedup, 1)
      assert.strictEqual(stats.efficiency, 1)
    })

    it("a concurrency below 1 counts as 1", () => {
      const { stats } = report({ results: [], startedAt: 0, endedAt: 0, concurrency: 0, peakInFlight: 0 })
      assert.strictEqual(stats.concurrency, 1)
      assert.strictEqual(stats.efficiency, 1)
    })
  })

  describe("getters", () => {
    it("successes are the values of the successful tasks, in input order", () => {
      assert.deepStrictEqual(RunReport.successes(report()), ["zero", "three"])
    })

    it("failures are the results that did not succeed, in input order", () => {
      const failures = RunReport.failures(report())
      assert.deepStrictEqual(failures.map((r) => [r.taskId, r._tag]), [
        ["t1", "Failed"],
        ["t2", "TimedOut"],
        ["t4", "Interrupted"],
        ["t5", "Failed"]
      ])
      assert.strictEqual(failures[0], mixed[1])
    })
  })

  describe("format", () => {
    it("is a table of outcomes and timing stats", () => {
      const text = RunReport.format(report())
      const lines = text.split("\n")
      assert.strictEqual(lines[0], "Run run-1: summarizer, 6 tasks at concurrency 4")
      assert.match(
        RunReport.format(report({ results: [mixed[0]!] })),
        /^Run run-1: summarizer, 1 task at concurrency 4$/m
      )
      assert.match(text, /succeeded\s+2\s+33\.3%/)
      assert.match(text, /timed out\s+1\s+16\.7%/)
      assert.match(text, /wall time\s+600 ms/)
      assert.match(text, /busy time \(one after another\)\s+1\.20 s/)
      assert.match(text, /speedup\s+2\.00x/)
      assert.match(text, /parallel efficiency\s+50%/)
      assert.match(text, /peak in flight\s+3/)
      assert.match(text, /success rate\s+33\.3%/)
      assert.strictEqual(String(report()), text)
    })
  })

  describe("formatMillis", () => {
    it("formats milliseconds, seconds and minutes", () => {
      assert.strictEqual(RunReport.formatMillis(850), "850 ms")
      assert.strictEqual(RunReport.formatMillis(0), "0 ms")
      assert.strictEqual(RunReport.formatMillis(4200), "4.20 s")
      assert.strictEqual(RunReport.formatMillis(1000), "1.00 s")
      assert.strictEqual(RunReport.formatMillis(125_000), "2 min 05 s")
      assert.strictEqual(RunReport.formatMillis(60_000), "1 min 00 s")
      assert.strictEqual(RunReport.formatMillis(3_600_000), "60 min 00 s")
    })

    it("never shows 60 seconds when rounding up to the next minute", () => {
      assert.strictEqual(RunReport.formatMillis(119_500), "2 min 00 s")
      assert.strictEqual(RunReport.formatMillis(179_800), "3 min 00 s")
      assert.strictEqual(RunReport.formatMillis(59_999), "1 min 00 s")
      assert.strictEqual(RunReport.formatMillis(999.6), "1.00 s")
      assert.strictEqual(RunReport.formatMillis(999.4), "999 ms")
    })
  })

  describe("toJSON", () => {
    it("gives a plain object with durations in milliseconds and every result", () => {
      const json = JSON.parse(JSON.stringify(report()))
      assert.strictEqual(json.runId, "run-1")
      assert.strictEqual(json.agent, "summarizer")
      assert.deepStrictEqual(json.summary, { total: 6, succeeded: 2, failed: 2, timedOut: 1, interrupted: 1 })
      assert.deepStrictEqual(json.aggregate, { extra: true })
      assert.deepStrictEqual(json.stats, {
        startedAt: 10_000,
        wallTime: 600,
        busyTime: 1200,
        speedup: 2,
        efficiency: 0.5,
        concurrency: 4,
        peakInFlight: 3,
        successRate: 2 / 6,
        durations: { p50: 200, p95: 400, p99: 400, max: 400, mean: 240 },
        queueWait: { mean: 0, max: 0 },
        retries: 0,
        replayed: 0,
        usage: { requests: 0, inputTokens: 0, outputTokens: 0, cost: 0 },
        models: []
      })
      assert.deepStrictEqual(json.results.map((r: { readonly taskId: string }) => r.taskId), [
        "t0",
        "t1",
        "t2",
        "t3",
        "t4",
        "t5"
      ])
    })
  })
})

describe("RunReport stats", () => {
  const at = (
    agent: string,
    index: number,
    startedAt: number,
    durationMillis: number
  ): TaskResult.Meta => ({
    task: Task.make({ id: `t${index}`, input: index }),
    index,
    instance: AgentInstance.make({ agent, runId: "r", taskId: `t${index}`, attempt: 1 }),
    startedAt,
    durationMillis
  })

  it("percentiles are nearest-rank, zero for no values", () => {
    const p = RunReport.percentiles(Array.from({ length: 100 }, (_, i) => 100 - i))
    assert.deepStrictEqual(
      [p.p50, p.p95, p.p99, p.max, p.mean].map(Duration.toMillis),
      [50, 95, 99, 100, 50.5]
    )
    const one = RunReport.percentiles([7])
    assert.deepStrictEqual([one.p50, one.p99, one.max].map(Duration.toMillis), [7, 7, 7])
    const none = RunReport.percentiles([])
    assert.deepStrictEqual([none.p50, none.max, none.mean].map(Duration.toMillis), [0, 0, 0])
  })

  it("durations, queue wait and success rate cover the tasks that started", () => {
    const results = [
      TaskResult.succeeded(at("a", 0, 1000, 100), "x"),
      TaskResult.succeeded(at("a", 1, 1000, 300), "y"),
      TaskResult.failed(at("a", 2, 1100, 200), Cause.fail("no")),
      TaskResult.interrupted(meta(3, 0, false), { reason: "RunDeadline" })
    ]
    const { stats } = RunReport.make({
      runId: "r",
      agent: "a",
      results,
      aggregate: undefined,
      startedAt: 1000,
      endedAt: 1400,
      concurrency: 2,
      peakInFlight: 2
    })
    assert.deepStrictEqual(
      [stats.durations.p50, stats.durations.max, stats.durations.mean].map(Duration.toMillis),
      [200, 300, 200]
    )
    assert.closeTo(Duration.toMillis(stats.queueWait.mean), 100 / 3, 1e-3)
    assert.strictEqual(Duration.toMillis(stats.queueWait.max), 100)
    assert.strictEqual(stats.successRate, 0.5)
    assert.strictEqual(
      RunReport.make({
        ...{ runId: "e", agent: "a", aggregate: 0, startedAt: 0, endedAt: 0 },
        results: [],
        concurrency: 1,
        peakInFlight: 0
      }).stats.successRate,
      0
    )
  })

  it("splits the summary by agent when a run mixes agents, and the table shows it", () => {
    const results = [
      TaskResult.succeeded(at("planner", 0, 0, 100), "p"),
      TaskResult.succeeded(at("critic", 1, 0, 50), "c"),
      TaskResult.failed(at("critic", 2, 50, 70), Cause.fail("no")),
      TaskResult.interrupted(meta(3, 0, false), { reason: "RunDeadline" })
    ]
    const mixedAgents = RunReport.make({
      runId: "r",
      agent: "team",
      results,
      aggregate: undefined,
      startedAt: 0,
      endedAt: 200,
      concurrency: 2,
      peakInFlight: 2
    })
    assert.deepStrictEqual(
      mixedAgents.byAgent.map((
        a
      ) => [a.agent, a.total, a.succeeded, a.failed, a.interrupted, Duration.toMillis(a.busyTime)]),
      [["planner", 1, 1, 0, 0, 100], ["critic", 2, 1, 1, 0, 120], ["team", 1, 0, 0, 1, 0]]
    )
    const text = RunReport.format(mixedAgents)
    assert.match(text, /critic\s+2\s+1\s+1\s+0\s+0\s+120 ms/)
    const single = RunReport.format(RunReport.make({
      runId: "run-1",
      agent: "a",
      results: mixed,
      aggregate: undefined,
      startedAt: 10_000,
      endedAt: 10_600,
      concurrency: 4,
      peakInFlight: 3
    }))
    assert.notInclude(single, "agent  ")
    assert.match(single, /duration p50 \/ p95 \/ p99 \/ max\s+200 ms \/ 400 ms \/ 400 ms \/ 400 ms/)
  })
})

describe("RunReport pipe", () => {
  it("a report pipes like any Effect data type", () => {
    const text = RunReport.make({
      runId: "p",
      agent: "a",
      results: [],
      aggregate: undefined,
      startedAt: 0,
      endedAt: 0,
      concurrency: 1,
      peakInFlight: 0
    }).pipe(RunReport.format)
    assert.include(text, "Run p: a, 0 tasks")
  })
})
