import { FetchHttpClient, FileSystem } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import type { Console } from "effect"
import { Cause, ConfigProvider, Duration, Effect, Fiber, Option, TestClock } from "effect"
import * as Cli from "../../../services/cli/Cli.js"
import * as Progress from "../../../services/cli/internal/progress.js"
import { AgentInputError } from "../../../src/AgentError.js"
import * as AgentInstance from "../../../src/AgentInstance.js"
import * as RunEvent from "../../../src/RunEvent.js"
import * as Task from "../../../src/Task.js"
import * as TaskResult from "../../../src/TaskResult.js"
import * as Usage from "../../../src/Usage.js"

// =============================================================================
// fixtures
// =============================================================================

const task = (line: number, id = String(line)) => Task.make({ id, input: {}, labels: { line: String(line) } })

const meta = (line: number, durationMillis = 100, attempt = 1) => ({
  task: task(line),
  index: line - 1,
  instance: AgentInstance.make({ agent: "classifier", runId: "r1", taskId: String(line), attempt }),
  startedAt: 1_000,
  durationMillis
})

const succeeded = (line: number) =>
  TaskResult.succeeded(
    { ...meta(line), usage: Usage.make({ requests: 1, inputTokens: 30, outputTokens: 5 }) },
    { label: "positive" }
  )

const badInput = (line: number) =>
  TaskResult.failed(
    meta(line, 0),
    Cause.fail(
      new AgentInputError({
        agent: "classifier",
        taskId: String(line),
        path: ["text"],
        issues: [{ path: ["text"], message: "is missing" }]
      })
    )
  )

const timedOut = (line: number) =>
  TaskResult.timedOut(meta(line, 30_000), { reason: "TaskTimeout", timeout: "30 seconds" })

const snapshot = (fields: Partial<Progress.Snapshot>): Progress.Snapshot => ({
  elapsedMillis: 5_000,
  done: 0,
  total: undefined,
  succeeded: 0,
  failed: 0,
  timedOut: 0,
  interrupted: 0,
  inFlight: 0,
  rate: undefined,
  ...fields
})

/** A sink that keeps what is written. */
const capture = (interactive: boolean) => {
  const written: Array<string> = []
  const sink: Progress.Sink = {
    write: (text) => Effect.sync(() => written.push(text)),
    interactive,
    columns: () => 100
  }
  return { sink, written }
}

// =============================================================================
// in-process runs of the command line
// =============================================================================

/** Runs the command line in this process, with its output and the `Console` captured and the given settings. */
const runCli = (args: ReadonlyArray<string>, env: Record<string, string> = {}) =>
  Effect.gen(function*() {
    const stdout: Array<string> = []
    const stderr: Array<string> = []
    const output = Cli.Output.of({
      stdout: (text) => Effect.sync(() => stdout.push(text)),
      stderr: (text) => Effect.sync(() => stderr.push(text)),
      interactive: false,
      columns: () => 0
    })
    // @effect/cli prints usage errors with the Console.
    const console = yield* Effect.console
    const captured: Console.Console = {
      ...console,
      log: (...lines) => Effect.sync(() => stderr.push(lines.join(" "))),
      error: (...lines) => Effect.sync(() => stderr.push(lines.join(" ")))
    }
    const code = yield* Cli.run(["node", "parallel-agents", ...args]).pipe(
      Effect.provideService(Cli.Output, output),
      Effect.withConsole(captured),
      Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries({ AGENT_MODEL: "offline", ...env }))))
    )
    return { code, stdout: stdout.join(""), stderr: stderr.join("") }
  }).pipe(Effect.provide(FetchHttpClient.layer))

/** A JSONL file of tasks in a temporary directory. */
const withInput = (lines: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const directory = yield* fs.makeTempDirectoryScoped()
    const file = `${directory}/tasks.jsonl`
    yield* fs.writeFileString(file, lines.join("\n") + "\n")
    return { directory, file }
  })

// =============================================================================
// tests
// =============================================================================

describe("Cli", () => {
  describe("progress", () => {
    it("a plain line: done of total, outcomes, in flight, rate and ETA", () => {
      assert.strictEqual(
        Progress.renderLine(
          snapshot({ done: 50, total: 200, succeeded: 47, failed: 2, timedOut: 1, inFlight: 8, rate: 10 })
        ),
        "progress 5.00 s: 50/200 done (25%), 47 succeeded, 2 failed, 1 timed out, 0 interrupted, 8 in flight, 10/s, " +
          "ETA 15.00 s"
      )
      // The total is not counted yet, and no rate is known: no ETA.
      assert.strictEqual(
        Progress.renderLine(snapshot({ done: 3, succeeded: 3, inFlight: 2 })),
        "progress 5.00 s: 3 done, 3 succeeded, 0 failed, 0 timed out, 0 interrupted, 2 in flight, -/s, ETA -"
      )
    })

    it("the bar a terminal redraws fits the terminal, and leaves the bar out when it would not", () => {
      const s = snapshot({ done: 1_500, total: 3_000, succeeded: 1_499, failed: 1, inFlight: 32, rate: 120.4 })
      const wide = Progress.renderBar(s, 120)
      assert.strictEqual(
        wide,
        "[##########----------] 1,500/3,000 50% | 1,499 ok | 1 failed | 0 timed out | 32 in flight | 120/s | " +
          "ETA 12.46 s"
      )
      const narrow = Progress.renderBar(s, 80)
      assert.isFalse(narrow.startsWith("["))
      assert.isAtMost(narrow.length, 79)
      assert.isAtMost(Progress.renderBar(s, 30).length, 29)
      // Interrupted tasks are shown once there are any.
      assert.include(Progress.renderBar({ ...s, interrupted: 3 }, 200), "| 3 interrupted |")
    })

    it("the ETA is the time left at the current rate, zero when all is done, unknown without a total or a rate", () => {
      assert.strictEqual(Progress.etaMillis(snapshot({ done: 10, total: 30, rate: 4 })), 5_000)
      assert.strictEqual(Progress.etaMillis(snapshot({ done: 30, total: 30 })), 0)
      assert.isUndefined(Progress.etaMillis(snapshot({ done: 10, rate: 4 })))
      assert.isUndefined(Progress.etaMillis(snapshot({ done: 10, total: 30, rate: 0 })))
    })

    it("the rate is over the last ten seconds", () => {
      const meter = new Progress.RateMeter()
      meter.sample(0, 0)
      assert.isUndefined(meter.perSecond)
      meter.sample(1_000, 100)
      assert.strictEqual(meter.perSecond, 100)
      // Fast at first, then slower: the window forgets the start.
      for (let at = 2_000; at <= 20_000; at += 1_000) meter.sample(at, 100 + (at - 1_000) / 100)
      assert.closeTo(meter.perSecond!, 10, 0.01)
    })

    it("the tally counts outcomes, bad input, usage, and what is in flight from the run's events", () => {
      const tally = new Progress.Tally()
      assert.isFalse(tally.add(succeeded(1)))
      assert.isTrue(tally.add(badInput(2)))
      assert.isFalse(tally.add(timedOut(3)))
      assert.deepStrictEqual(
        [tally.done, tally.succeeded, tally.failed, tally.badInput, tally.timedOut, tally.busyMillis],
        [3, 1, 1, 1, 1, 30_100]
      )
      assert.strictEqual(tally.usage.inputTokens, 30)
      const started = (taskId: string, attempt: number) =>
        RunEvent.RunEvent.TaskStarted({ runId: "r1", at: 0, taskId, index: 0, agent: "classifier", attempt })
      tally.event(started("a", 1))
      tally.event(started("b", 1))
      // A retry's attempt is the same task in flight.
      tally.event(started("b", 2))
      assert.deepStrictEqual([tally.inFlight, tally.peakInFlight], [2, 2])
      tally.event(RunEvent.ended("r1", 0, succeeded(1)))
      assert.deepStrictEqual([tally.inFlight, tally.peakInFlight], [1, 2])
    })

    it.effect("not on a terminal: a plain line every interval, the first after one interval", () =>
      Effect.gen(function*() {
        const tally = new Progress.Tally()
        tally.total = 10
        const { sink, written } = capture(false)
        const fiber = yield* Effect.fork(
          Progress.ticker({ tally, sink, startedAt: 0, interval: "5 seconds" }).run
        )
        yield* TestClock.adjust("4999 millis")
        assert.deepStrictEqual(written, [])
        tally.add(succeeded(1))
        tally.add(succeeded(2))
        yield* TestClock.adjust("1 millis")
        assert.deepStrictEqual(written, [
          "progress 5.00 s: 2/10 done (20%), 2 succeeded, 0 failed, 0 timed out, 0 interrupted, 0 in flight, 0.4/s, " +
          "ETA 20.00 s\n"
        ])
        yield* TestClock.adjust("10 seconds")
        assert.strictEqual(written.length, 3)
        assert.match(written[2]!, /^progress 15.00 s: 2\/10 done/)
        yield* Fiber.interrupt(fiber)
      }))

    it.effect("on a terminal: the bar, redrawn in place every 100 ms", () =>
      Effect.gen(function*() {
        const tally = new Progress.Tally()
        const { sink, written } = capture(true)
        const fiber = yield* Effect.fork(Progress.ticker({ tally, sink, startedAt: 0, interval: "5 seconds" }).run)
        yield* TestClock.adjust("1 second")
        assert.strictEqual(written.length, 10)
        assert.isTrue(written.every((line) => line.startsWith(Progress.clearLine) && !line.includes("\n")))
        assert.strictEqual(
          written[9],
          `${Progress.clearLine}0/? | 0 ok | 0 failed | 0 timed out | 0 in flight | 0.0/s | ETA -`
        )
        yield* Fiber.interrupt(fiber)
      }))
  })

  describe("results and summary", () => {
    it("reads durations as 30s, 500ms, 2m, 1h or Effect's own", () => {
      const millis = (text: string) => Option.map(Cli.parseDuration(text), Duration.toMillis)
      assert.deepStrictEqual(millis("30s"), Option.some(30_000))
      assert.deepStrictEqual(millis("500ms"), Option.some(500))
      assert.deepStrictEqual(millis("1.5m"), Option.some(90_000))
      assert.deepStrictEqual(millis("1h"), Option.some(3_600_000))
      assert.deepStrictEqual(millis("2 seconds"), Option.some(2_000))
      assert.isTrue(Option.isNone(Cli.parseDuration("soon")))
    })

    it("one JSON line per result, with its line number", () => {
      assert.deepStrictEqual(Cli.resultLine(succeeded(3)), {
        line: 3,
        id: "3",
        status: "Succeeded",
        value: { label: "positive" },
        attempts: 1,
        durationMillis: 100,
        agent: "classifier#r1/3/1",
        usage: { requests: 1, inputTokens: 30, outputTokens: 5 }
      })
      assert.deepStrictEqual(Cli.resultLine(badInput(4)), {
        line: 4,
        id: "4",
        status: "Failed",
        error: "classifier: the input of task 4 does not match the schema: at [\"text\"]: is missing",
        errorTag: "AgentInputError",
        issues: [{ path: ["text"], message: "is missing" }],
        attempts: 1,
        durationMillis: 0,
        agent: "classifier#r1/4/1"
      })
      const line = Cli.resultLine(timedOut(5))
      assert.deepStrictEqual([line.status, line.reason, line.durationMillis], ["TimedOut", "TaskTimeout", 30_000])
      assert.match(String(line.error), /stopped by its timeout/)
    })

    it("the summary: outcomes, wall time against one after another, model, tokens, where the results went", () => {
      const summary: Cli.Summary = {
        agent: "classify",
        model: "offline",
        runId: "r1",
        concurrency: 8,
        input: "/work/tasks.jsonl",
        output: "/work/results.jsonl",
        report: "/work/report.html",
        interrupted: false,
        exitCode: 1,
        summary: { total: 40, succeeded: 38, failed: 2, timedOut: 0, interrupted: 0 },
        badInput: 2,
        linesDone: 40,
        linesTotal: 40,
        wallMillis: 600,
        busyMillis: 4_500,
        retries: 0,
        usage: Usage.make({ requests: 38, inputTokens: 1_292, outputTokens: 342 })
      }
      assert.strictEqual(
        Cli.formatSummary(summary, { path: (file) => file.replace("/work/", "") }),
        [
          "classify: 40 tasks from tasks.jsonl at concurrency 8",
          "  succeeded   38  95.0%",
          "  failed       2  5.0%  (bad input: 2)",
          "  timed out    0",
          "  interrupted  0",
          "Wall time: 600 ms (one after another: 4.50 s, 7.5x faster)",
          "Model: offline (generated answers: no key, no network; set AGENT_MODEL for a real one)",
          "Tokens: 1,292 in, 342 out, over 38 requests",
          "Results: results.jsonl",
          "Report: report.html"
        ].join("\n")
      )
      const interrupted = Cli.formatSummary({
        ...summary,
        interrupted: true,
        output: null,
        report: null,
        linesDone: 12,
        summary: { total: 12, succeeded: 9, failed: 0, timedOut: 0, interrupted: 3 }
      })
      assert.match(
        interrupted,
        /^Interrupted: classify: 12 tasks from \/work\/tasks.jsonl at concurrency 8 \(12 of 40 lines\)/
      )
      assert.match(interrupted, /\nResults: stdout$/)
    })
  })

  describe("run", () => {
    it.scopedLive("runs an agent over a file: a result line per task on stdout, the summary, exit code 0", () =>
      Effect.gen(function*() {
        const { file } = yield* withInput([
          `{"text": "Sample document number 0"}`,
          "",
          `{"id": "doc-1", "text": "Sample document number 1"}`
        ])
        const { code, stderr, stdout } = yield* runCli(
          ["run", "--input", file, "--agent", "classify", "--concurrency", "2"],
          { AGENT_OFFLINE_LATENCY: "5 millis" }
        )
        assert.strictEqual(code, 0, stderr)
        const lines = stdout.trimEnd().split("\n").map((line) => JSON.parse(line))
        assert.deepStrictEqual(
          lines.map((line) => [line.line, line.id, line.status, line.value]).sort(),
          [[1, "1", "Succeeded", { label: "positive" }], [3, "doc-1", "Succeeded", { label: "negative" }]]
        )
        assert.include(stderr, "classify: 2 tasks from")
        assert.include(stderr, "Results: stdout")
      }).pipe(Effect.provide(NodeContext.layer)))

    it.scopedLive("--json prints the summary as the last line on stdout", () =>
      Effect.gen(function*() {
        const { file } = yield* withInput([`{"text": "a"}`, "not json"])
        const { code, stderr, stdout } = yield* runCli(
          ["run", "--input", file, "--agent", "summarize", "--json"],
          { AGENT_OFFLINE_LATENCY: "5 millis" }
        )
        assert.strictEqual(code, Cli.ExitCode.TasksFailed)
        const lines = stdout.trimEnd().split("\n")
        assert.strictEqual(lines.length, 3)
        const summary = JSON.parse(lines[2]!) as Cli.Summary
        assert.deepStrictEqual(summary.summary, { total: 2, succeeded: 1, failed: 1, timedOut: 0, interrupted: 0 })
        assert.deepStrictEqual([summary.badInput, summary.linesDone, summary.linesTotal], [1, 2, 2])
        assert.deepStrictEqual([summary.agent, summary.model, summary.output, summary.exitCode], [
          "summarize",
          "offline",
          null,
          1
        ])
        // Without --json, the bad line is reported on stderr as it happens; with it too (stderr is for people).
        assert.include(stderr, "line 2: bad input: not JSON")
      }).pipe(Effect.provide(NodeContext.layer)))

    it.scopedLive("usage errors exit with 2 and say what is wrong: an unknown agent lists the known ones", () =>
      Effect.gen(function*() {
        const { directory, file } = yield* withInput([`{"text": "a"}`])
        const unknown = yield* runCli(["run", "--input", file, "--agent", "translate"])
        assert.strictEqual(unknown.code, Cli.ExitCode.Usage)
        assert.include(unknown.stderr, `Unknown agent "translate". The known agents are: classify, summarize.`)
        const missing = yield* runCli(["run", "--input", `${file}.missing`, "--agent", "classify"])
        assert.strictEqual(missing.code, Cli.ExitCode.Usage)
        const concurrency = yield* runCli(["run", "--input", file, "--agent", "classify", "--concurrency", "0"])
        assert.strictEqual(concurrency.code, Cli.ExitCode.Usage)
        assert.include(concurrency.stderr, "--concurrency: expected 1 or more, got 0")
        const timeout = yield* runCli(["run", "--input", file, "--agent", "classify", "--timeout", "soon"])
        assert.strictEqual(timeout.code, Cli.ExitCode.Usage)
        assert.include(timeout.stderr, `--timeout: expected a duration above 0 such as 30s, 500ms or 2m, got "soon"`)
        const model = yield* runCli(["run", "--input", file, "--agent", "classify"], { AGENT_MODEL: "gpt-4o" })
        assert.strictEqual(model.code, Cli.ExitCode.Usage)
        assert.include(model.stderr, "parallel-agents: configuration:")
        assert.include(model.stderr, "AGENT_MODEL")
        const output = yield* runCli([
          "run",
          "--input",
          file,
          "--agent",
          "classify",
          "--output",
          `${directory}/x/y.jsonl`
        ])
        assert.strictEqual(output.code, Cli.ExitCode.Usage, output.stderr)
        assert.include(output.stderr, "cannot write the results to")
      }).pipe(Effect.provide(NodeContext.layer)))
  })
})
