import { FileSystem } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Console, Effect, Layer } from "effect"
import { Executor } from "effect-parallel-agents"
import { OfflineLanguageModel } from "effect-parallel-agents/models"
import * as fs from "node:fs"
import * as net from "node:net"
import * as path from "node:path"
import * as MedicalDiagnosis from "../examples/medical/diagnosis.js"
import * as ModelServer from "./services/modelServer.js"
import { runExample, withClock } from "./utils.js"

/** A port free now: the one the system picks when a server binds port 0, released at once. */
const freePort = Effect.async<number>((resume) => {
  const server = net.createServer()
  server.once("error", (error) => resume(Effect.die(error)))
  server.listen(0, "127.0.0.1", () => {
    const { port } = server.address() as net.AddressInfo
    server.close(() => resume(Effect.succeed(port)))
  })
})

/** A line of the duration histogram of prometheus-metrics' agent, as the Prometheus exporter writes it. */
const durationBucket = (le: string, count: number) =>
  `effect_parallel_agents_task_duration_bucket{time_unit="milliseconds",agent="summarizer",` +
  `otel_scope_name="@effect/opentelemetry/Metrics",le="${le}"} ${count}`

/** The figures medical-diagnosis prints after its team lines, in seconds, and the reduction in percent. */
const medicalFigures = (lines: ReadonlyArray<string>) => {
  const figure = (label: string, unit: string) => {
    const line = lines.find((line) => line.startsWith(`${label}: `))
    assert(line !== undefined, `no "${label}" line in:\n${lines.join("\n")}`)
    const match = line.match(new RegExp(`^${label}: ([\\d.]+)${unit}$`))
    assert(match !== null, line)
    return Number(match[1])
  }
  return {
    sequential: figure("Sequential", " s"),
    parallel: figure("Parallel", " s"),
    reduction: figure("Reduction", "%"),
    longest: figure("Longest team", " s")
  }
}

const medicalTeamLine = (id: string, seconds: string, rounds: number) =>
  new RegExp(`^${id} +${seconds} s  ${rounds} rounds? +approved by supervisor  \\(\\d+ tokens\\)$`)

describe("examples", () => {
  it.live("classify-and-summarize prints the fan-out's check (total, successes, failures, labels), then the speedup", () =>
    Effect.gen(function*() {
      // The offline model, whatever the environment of the test says.
      const { exitCode, lines, stderr } = yield* runExample("classify-and-summarize", {
        env: { AGENT_MODEL: "offline", OPENAI_API_KEY: "", OPENAI_BASE_URL: "" }
      })
      assert.strictEqual(exitCode, 0, stderr)
      assert.deepStrictEqual(lines.slice(0, 5), [
        "Total: 20",
        "Success: 20",
        "Failed: 0",
        "Labels: ['positive', 'negative', 'positive', 'negative', 'positive']",
        "Summaries: 20 of 20"
      ])
      const timing = lines[5]!.match(
        /^Wall time: [\d.]+ m?s for 40 agent calls \(sequential: ([\d.]+) s, ([\d.]+)x faster\)$/
      )
      assert.isNotNull(timing, lines[5])
      // 40 calls of 100 ms take 4 s one after another; two runs of 5 at once take about 400 ms (10x). The bound
      // is loose because the machine may be busy with other tests.
      assert.isAtLeast(Number(timing![1]), 4)
      assert.isAtLeast(Number(timing![2]), 2)
      assert.strictEqual(
        lines[6],
        "Model: offline (generated answers: no key, no network; set AGENT_MODEL for a real one)"
      )
      assert.match(lines[7]!, /^Tokens: [\d,]+ in, [\d,]+ out, over 40 requests$/)
    }))

  it.scopedLive("classify-and-summarize asks a real endpoint when AGENT_MODEL says so, with the same output", () =>
    Effect.gen(function*() {
      // A server on 127.0.0.1 that speaks OpenAI's Responses API and answers every structured request with JSON
      // that fits its schema (the first label, "A fine answer." for a summary), 21 tokens in and 5 out.
      const server = yield* ModelServer.make
      const { exitCode, lines, stderr } = yield* runExample("classify-and-summarize", {
        env: { AGENT_MODEL: "openai:gpt-4o-mini", OPENAI_API_KEY: "sk-example", OPENAI_BASE_URL: server.baseUrl }
      })
      assert.strictEqual(exitCode, 0, stderr)
      assert.deepStrictEqual(lines.slice(0, 5), [
        "Total: 20",
        "Success: 20",
        "Failed: 0",
        "Labels: ['positive', 'positive', 'positive', 'positive', 'positive']",
        "Summaries: 20 of 20"
      ])
      assert.match(lines[5]!, /^Wall time: [\d.]+ m?s for 40 agent calls \(sequential: [\d.]+ m?s, [\d.]+x faster\)$/)
      assert.deepStrictEqual(lines.slice(6), ["Model: openai:gpt-4o-mini", "Tokens: 840 in, 200 out, over 40 requests"])
      const received = yield* server.received
      assert.lengthOf(received, 40)
      assert.isTrue(received.every((request) => request.authorization === "Bearer sk-example"))
    }))

  it.live("partial-failure reports the failed task and aggregates the successes", () =>
    Effect.gen(function*() {
      const { exitCode, lines, stderr } = yield* runExample("partial-failure")
      assert.strictEqual(exitCode, 0, stderr)
      assert.deepStrictEqual(lines.slice(0, 3), ["Total: 20", "Success: 19", "Failed: 1"])
      assert.match(
        lines[3]!,
        /^Failed task: doc-7 \(classifier#\w+\/doc-7\/1\): ModelRefused: the model refused: document 7 is not/
      )
      assert.strictEqual(lines[4], "Labels over the 19 successes: positive 10, negative 9 (1 missing)")
    }))

  it.live("graceful-stop reports every task of a run stopped before its end", () =>
    Effect.gen(function*() {
      const { exitCode, lines, stderr } = yield* runExample("graceful-stop")
      assert.strictEqual(exitCode, 0, stderr)
      assert.deepStrictEqual(lines, ["Total: 30", "Succeeded: 10", "Stopped under way: 5", "Never started: 15"])
    }))

  it.live("resilience retries, adapts, stays within its budget and reports every task", () =>
    Effect.gen(function*() {
      const { exitCode, lines, stderr } = yield* runExample("resilience")
      assert.strictEqual(exitCode, 0, stderr)
      const number = (label: string) => {
        const line = lines.find((line) => line.startsWith(`${label}: `))
        assert(line !== undefined, `no "${label}" line`)
        return Number(line.slice(label.length + 2).split(" ")[0])
      }
      assert.strictEqual(number("Total"), 200)
      assert.isAtLeast(number("Success"), 150)
      assert.isAbove(number("Retried attempts"), 0)
      assert.isAbove(number("Succeeded after a retry"), 0)
      assert.isAtMost(number("Tokens used"), 12_000)
      const output = lines.join("\n")
      assert.match(output, /Adaptive concurrency: started at 10, lowest \d+, ended at \d+ \(\d+ cuts\)/)
      assert.match(output, /not started: classifier: task \d+ was not started: the tokens budget \(12000\) is spent/)
      assert.match(output, /Failed after 1 attempt\(s\): classifier#\w+\/\d+\/1: injected defect/)
      assert.match(output, /budget tokens used \/ limit\s+[\d,]+ \/ 12,000/)
    }))

  it.live("agent-factory keeps every instance's state to itself and releases every session", () =>
    Effect.gen(function*() {
      const { exitCode, lines, stderr } = yield* runExample("agent-factory")
      assert.strictEqual(exitCode, 0, stderr)
      const output = lines.join("\n")
      assert.strictEqual(lines.filter((line) => line.includes("3 notes, all its own")).length, 5)
      assert.match(output, /researcher#demo\/t4\/1 {2}deep-dive {2}timed out after \d+ ms, its session released/)
      assert.include(output, "Sessions opened: 6, closed: 6, open now: 0")
      assert.include(output, "Session pool built: 1 time, shared by every instance")
      assert.include(output, "Scratchpad notes seen by another instance: 0")
    }))

  it.live("http-server mounts the runs API next to its own endpoint, runs a batch through it, and exits", () =>
    Effect.gen(function*() {
      const port = yield* freePort
      const { exitCode, lines, stderr } = yield* runExample("http-server", {
        env: { HTTP_PORT: String(port), AGENT_MODEL: "offline", OPENAI_API_KEY: "", AGENT_HTTP_TOKEN: "" }
      })
      assert.strictEqual(exitCode, 0, stderr)
      assert.strictEqual(lines.length, 5, lines.join("\n"))
      assert.strictEqual(
        lines[0],
        `Serving on http://127.0.0.1:${port}: GET /health, and the runs API and dashboard under /agents`
      )
      assert.strictEqual(lines[1], "GET /health: ok, 0 runs")
      const id = lines[2]!.match(/^POST \/agents\/runs: run (\w+) started, 10 tasks$/)![1]!
      // The offline answers of the built-in classifier: even document numbers are positive.
      assert.strictEqual(lines[3], `GET /agents/runs/${id}/results: 10 lines, 5 positive`)
      assert.strictEqual(lines[4], `GET /agents/runs/${id}: finished, 10 of 10 succeeded`)
    }))

  it.live("prometheus-metrics serves the engine's metrics for Prometheus, prints its own scrape and exits", () =>
    Effect.gen(function*() {
      const port = yield* freePort
      const { exitCode, lines, stderr } = yield* runExample("prometheus-metrics", {
        env: { METRICS_PORT: String(port) }
      })
      assert.strictEqual(exitCode, 0, stderr)
      assert.deepStrictEqual(lines.slice(0, 2), [
        "Ran 12 tasks: 10 succeeded, 2 failed",
        `Scraped http://127.0.0.1:${port}/metrics:`
      ])
      const scraped = lines.slice(2)
      assert.isTrue(scraped.every((line) => line.startsWith("effect_parallel_agents_")), scraped.join("\n"))
      // One series per metric and label set; `otel_scope_name` is the label OpenTelemetry adds.
      const value = (name: string) => {
        const series = scraped.filter((line) => line.startsWith(`${name}{`))
        assert.strictEqual(series.length, 1, name)
        assert.include(series[0]!, `agent="summarizer"`)
        return Number(series[0]!.split(" ").at(-1))
      }
      assert.strictEqual(value("effect_parallel_agents_tasks_started_total"), 12)
      assert.strictEqual(value("effect_parallel_agents_tasks_succeeded_total"), 10)
      assert.strictEqual(value("effect_parallel_agents_tasks_failed_total"), 2)
      assert.strictEqual(value("effect_parallel_agents_tasks_in_flight"), 0)
      assert.strictEqual(value("effect_parallel_agents_task_duration_count"), 12)
      // Every task sleeps at least 20 ms: none is in the buckets up to 10 ms, all twelve are in +Inf.
      assert.include(scraped, durationBucket("10", 0))
      assert.include(scraped, durationBucket("+Inf", 12))
    }))

  it.live("sequential-vs-parallel prints both wall times, the speedup, the efficiency and writes the HTML report", () =>
    Effect.gen(function*() {
      // In a temporary directory: the example writes sequential-vs-parallel.html into its working directory.
      const directory = yield* (yield* FileSystem.FileSystem).makeTempDirectoryScoped()
      const { exitCode, lines, stderr } = yield* runExample("sequential-vs-parallel", { directory })
      assert.strictEqual(exitCode, 0, stderr)
      const millis = (value: string, unit: string) => Number(value) * (unit === "s" ? 1000 : 1)
      const sequential = lines[0]!.match(/^Sequential \(concurrency 1\): wall time ([\d.]+) (m?s)$/)
      const parallel = lines[1]!.match(/^Parallel \(concurrency 5\): wall time ([\d.]+) (m?s)$/)
      assert.isNotNull(sequential, lines[0])
      assert.isNotNull(parallel, lines[1])
      // The 20 calls sleep 2.96 s in all, one after another (a timer may fire a millisecond early); five at a time
      // take about a fifth of that.
      assert.isAtLeast(millis(sequential![1]!, sequential![2]!), 2900)
      const speedup = lines[2]!.match(/^Speedup: ([\d.]+)x \(sequential wall \/ parallel wall\)$/)
      assert.isNotNull(speedup, lines[2])
      assert.isAbove(Number(speedup![1]), 2)
      assert.closeTo(
        Number(speedup![1]),
        millis(sequential![1]!, sequential![2]!) / millis(parallel![1]!, parallel![2]!),
        0.1
      )
      assert.match(
        lines[3]!,
        /^Parallel efficiency: \d+% \(busy [\d.]+ m?s \/ wall [\d.]+ m?s = [\d.]+x, over 5 slots\)$/
      )
      const output = lines.join("\n")
      assert.match(output, /^Run \w+: answerer, 20 tasks at concurrency 5$/m)
      assert.match(output, /^ {2}failed +1 +5\.0%$/m)
      const file = path.join(fs.realpathSync(directory), "sequential-vs-parallel.html")
      assert.strictEqual(lines.at(-1), `HTML report: ${file}`)
      assert.include(fs.readFileSync(file, "utf8"), "<title>20 questions at concurrency 5</title>")
      // Its own file and nothing else: the report `npm start` wrote (run-report.html) is left alone.
      assert.deepStrictEqual(fs.readdirSync(directory), ["sequential-vs-parallel.html"])
    }).pipe(Effect.scoped, Effect.provide(NodeContext.layer)))

  it.live("task-logs prints one JSON line when each task starts and one when it ends", () =>
    Effect.gen(function*() {
      const { exitCode, lines, stderr } = yield* runExample("task-logs")
      assert.strictEqual(exitCode, 0, stderr)
      const entries = lines.map((line) =>
        JSON.parse(line) as {
          readonly message: string
          readonly logLevel: string
          readonly annotations: Record<string, unknown>
        }
      )
      assert.strictEqual(entries.length, 8)
      assert.isTrue(entries.every((entry) => entry.logLevel === "DEBUG" && entry.annotations.runId === "logs-demo"))
      const end = (taskId: string) =>
        entries.find((entry) => entry.annotations.taskId === taskId && entry.message !== "Task started")!
      assert.deepStrictEqual(
        ["line-0", "line-1", "line-2", "line-3"].map((id) => [end(id).message, end(id).annotations.status]),
        [
          ["Task succeeded", "Succeeded"],
          ["Task failed", "Failed"],
          ["Task timed out", "TimedOut"],
          ["Task succeeded", "Succeeded"]
        ]
      )
      assert.strictEqual(end("line-1").annotations.error, "quota of 60 requests per minute exceeded")
      assert.include(String(end("line-2").annotations.error), "stopped by its timeout (1s)")
      const started = entries.filter((entry) => entry.message === "Task started")
      assert.deepStrictEqual(started.map((entry) => [entry.annotations.agent, entry.annotations.agentInstance]), [
        ["translator", "translator#logs-demo/line-0/1"],
        ["translator", "translator#logs-demo/line-1/1"],
        ["translator", "translator#logs-demo/line-2/1"],
        ["translator", "translator#logs-demo/line-3/1"]
      ])
    }))

  describe("medical-diagnosis", () => {
    // The case: sequential 40-58 minutes, parallel 10-15 minutes, a 70-75% reduction, bounded by the longest team.
    it.effect("under TestClock: five teams at once take exactly the longest team, a 74.5% reduction", () =>
      Effect.gen(function*() {
        const lines: Array<string> = []
        const console = yield* Console.consoleWith(Effect.succeed)
        const summary = yield* withClock(MedicalDiagnosis.program).pipe(
          Effect.provide(Layer.mergeAll(Executor.layer(), OfflineLanguageModel.layer(MedicalDiagnosis.offline))),
          Effect.withConsole({
            ...console,
            log: (...args: ReadonlyArray<unknown>) => Effect.sync(() => void lines.push(args.join(" ")))
          })
        )
        // The middle of each of the case's ranges, one minute scaled to 100 ms.
        assert.deepStrictEqual(summary.teams.map((team) => [team.id, team.durationMillis, team.rounds]), [
          ["symptom-patterns", 1000, 2],
          ["literature-review", 1250, 2],
          ["drug-interactions", 750, 1],
          ["imaging", 850, 1],
          ["treatment-planning", 1050, 2]
        ])
        assert.strictEqual(summary.sequentialMillis, 4900)
        assert.strictEqual(summary.parallelMillis, 1250)
        assert.strictEqual(summary.longestMillis, 1250)
        assert.closeTo(summary.reduction, 1 - 1250 / 4900, 1e-9)
        assert.deepStrictEqual(lines.slice(5, 9), [
          "Sequential: 4.90 s",
          "Parallel: 1.25 s",
          "Reduction: 74.5%",
          "Longest team: 1.25 s"
        ])
        assert.match(lines[0]!, medicalTeamLine("symptom-patterns", "1.00", 2))
        assert.match(lines[2]!, medicalTeamLine("drug-interactions", "0.75", 1))
        const synthesis = lines.slice(9).join("\n")
        assert.include(synthesis, "Synthesis: assessment from 5 of 5 teams")
        assert.include(synthesis, "imaging: right lower lobe consolidation")
        assert.include(synthesis, "missing: none")
      }))

    it.effect("under TestClock: a team that outlives its timeout is named missing, and the others still synthesise", () =>
      Effect.gen(function*() {
        const lines: Array<string> = []
        const console = yield* Console.consoleWith(Effect.succeed)
        // The imaging team's model hangs for an hour: the team is stopped at its 5-minute timeout.
        const { latency } = MedicalDiagnosis.offline
        assert(typeof latency === "function")
        const slowImaging: OfflineLanguageModel.Options = {
          ...MedicalDiagnosis.offline,
          latency: (request) => request.text.includes("Team: imaging") ? "1 hour" : latency(request)
        }
        const summary = yield* withClock(MedicalDiagnosis.program, "3 hours").pipe(
          Effect.provide(Layer.mergeAll(Executor.layer(), OfflineLanguageModel.layer(slowImaging))),
          Effect.withConsole({
            ...console,
            log: (...args: ReadonlyArray<unknown>) => Effect.sync(() => void lines.push(args.join(" ")))
          })
        )
        assert.deepStrictEqual(summary.teams.map((team) => team.id), [
          "symptom-patterns",
          "literature-review",
          "drug-interactions",
          "treatment-planning"
        ])
        assert.match(lines[3]!, /^imaging +TimedOut: .*stopped by its timeout \(5m\)/)
        assert.include(summary.synthesis, "assessment from 4 of 5 teams")
        assert.include(summary.synthesis, "missing: imaging (TimedOut)")
      }))

    it.live("as a process: one line per team, then the times; parallel within 5% of the longest team", () =>
      Effect.gen(function*() {
        const { exitCode, lines, stderr } = yield* runExample("medical-diagnosis")
        assert.strictEqual(exitCode, 0, stderr)
        const teams = [
          ["symptom-patterns", 2],
          ["literature-review", 2],
          ["drug-interactions", 1],
          ["imaging", 1],
          ["treatment-planning", 2]
        ] as const
        teams.forEach(([id, rounds], i) => assert.match(lines[i]!, medicalTeamLine(id, "[\\d.]+", rounds)))
        const { longest, parallel, reduction, sequential } = medicalFigures(lines)
        // Timers fire a little late under the real clock, never early.
        assert.isAtLeast(sequential, 4.9)
        assert.isAtLeast(longest, 1.25)
        assert.isAtMost(Math.abs(parallel - longest) / longest, 0.05, `parallel ${parallel} s, longest ${longest} s`)
        assert.isAtLeast(reduction, 70)
        assert.isAtMost(reduction, 75)
        assert.include(lines.join("\n"), "missing: none")
      }))
  })
})
