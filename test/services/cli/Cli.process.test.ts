/**
 * The command line as people run it: `parallel-agents` in a process of its own (through tsx, on the sources), over
 * JSONL files in a temporary directory, with real signals for Ctrl-C.
 */
import { Command, FileSystem } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Schedule, Stream } from "effect"
import * as fs from "node:fs"
import { createRequire } from "node:module"
import * as path from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"
import type * as Summary from "../../../services/cli/Summary.js"
import * as ModelServer from "../modelServer.js"

const root = fileURLToPath(new URL("../../..", import.meta.url))
const bin = path.join(root, "services", "bin", "parallel-agents.ts")
const tsx = pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href

interface ResultLine {
  readonly line: number
  readonly id: string
  readonly status: string
  readonly value?: unknown
  readonly error?: string
}

/**
 * Starts `parallel-agents <args>` in `directory`, with the offline model unless `env` says otherwise. `done` waits
 * for it to exit and returns its exit code and output.
 */
const start = (args: ReadonlyArray<string>, options: {
  readonly directory: string
  readonly env?: Record<string, string> | undefined
}) =>
  Effect.gen(function*() {
    const process = yield* Command.make("node", "--import", tsx, bin, ...args).pipe(
      Command.workingDirectory(options.directory),
      Command.env({
        TSX_TSCONFIG_PATH: path.join(root, "tsconfig.json"),
        AGENT_MODEL: "offline",
        OPENAI_API_KEY: "",
        OPENAI_BASE_URL: "",
        ...options.env
      }),
      Command.start
    )
    const stdout = yield* Effect.fork(Stream.mkString(Stream.decodeText(process.stdout)))
    const stderr = yield* Effect.fork(Stream.mkString(Stream.decodeText(process.stderr)))
    const done = Effect.all({
      exitCode: process.exitCode,
      stdout: Fiber.join(stdout),
      stderr: Fiber.join(stderr),
      exitedAt: Effect.sync(() => Date.now())
    })
    return { process, done }
  })

const run = (args: ReadonlyArray<string>, options: Parameters<typeof start>[1]) =>
  Effect.flatMap(start(args, options), ({ done }) => done)

const readLines = (file: string): Array<ResultLine> =>
  fs.existsSync(file)
    ? fs.readFileSync(file, "utf8").split("\n").filter((line) => line !== "").map((line) => JSON.parse(line))
    : []

/** Waits until the results file has at least `n` lines (polling: the process writes it). */
const untilLines = (file: string, n: number) =>
  Effect.sync(() => readLines(file).length).pipe(
    Effect.repeat({ schedule: Schedule.spaced("50 millis"), until: (count) => count >= n }),
    Effect.timeoutFail({ duration: "30 seconds", onTimeout: () => new Error(`${file} never had ${n} lines`) })
  )

const tempDirectory = Effect.flatMap(FileSystem.FileSystem, (fs) => fs.makeTempDirectoryScoped())

const writeLines = (file: string, lines: ReadonlyArray<string>) =>
  Effect.sync(() => fs.writeFileSync(file, lines.join("\n") + "\n"))

const documents = (n: number) =>
  Array.from({ length: n }, (_, i) => JSON.stringify({ text: `Sample document number ${i}` }))

describe("parallel-agents (a process)", () => {
  it.scopedLive("runs the bundled documents: a result line per task with its line number, the report, exit code 0", () =>
    Effect.gen(function*() {
      const directory = yield* tempDirectory
      const input = path.join(root, "examples", "data", "documents.jsonl")
      const { exitCode, stderr, stdout } = yield* run(
        ["run", "--input", input, "--agent", "classify", "--output", "results.jsonl", "--report", "report.html"],
        { directory }
      )
      assert.strictEqual(exitCode, 0, stderr)
      assert.strictEqual(stdout, "")
      const lines = readLines(path.join(directory, "results.jsonl"))
      assert.strictEqual(lines.length, 40)
      assert.deepStrictEqual(
        lines.map((line) => line.line).sort((a, b) => a - b),
        Array.from({ length: 40 }, (_, i) => i + 1)
      )
      for (const line of lines) {
        // Line n holds doc-(n-1), whose label the offline model gives as the seed did: even numbers are positive.
        assert.strictEqual(line.id, `doc-${line.line - 1}`)
        assert.strictEqual(line.status, "Succeeded")
        assert.deepStrictEqual(line.value, { label: (line.line - 1) % 2 === 0 ? "positive" : "negative" })
      }
      const summary = stderr.trimEnd().split("\n")
      assert.match(summary[0]!, /^classify: 40 tasks from .*documents\.jsonl at concurrency \d+$/)
      assert.include(summary, "  succeeded   40  100.0%")
      assert.include(summary, "Results: results.jsonl")
      assert.include(summary, "Report: report.html")
      assert.include(fs.readFileSync(path.join(directory, "report.html"), "utf8"), "classify over documents.jsonl")
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scopedLive("a line that is not JSON or does not fit the schema is reported with its number, counted, exit 1", () =>
    Effect.gen(function*() {
      const directory = yield* tempDirectory
      const input = path.join(directory, "tasks.jsonl")
      yield* writeLines(input, [
        `{"text": "Sample document number 2"}`,
        `this is not json`,
        ``,
        `{"txt": "a typo"}`,
        `{"text": "Sample document number 5"}`
      ])
      // Without --output, the results go to stdout.
      const { exitCode, stderr, stdout } = yield* run(["run", "-i", input, "-a", "classify"], { directory })
      assert.strictEqual(exitCode, 1, stderr)
      const lines = stdout.trimEnd().split("\n").map((line) => JSON.parse(line) as ResultLine)
        .sort((a, b) => a.line - b.line)
      assert.deepStrictEqual(lines.map((line) => [line.line, line.status]), [
        [1, "Succeeded"],
        [2, "Failed"],
        [4, "Failed"],
        [5, "Succeeded"]
      ])
      assert.include(lines[1]!.error, "not JSON")
      assert.include(stderr, "line 2: bad input: not JSON: Unexpected token")
      assert.include(stderr, `line 4: bad input: at ["text"]: is missing`)
      assert.include(stderr, "  failed      2  50.0%  (bad input: 2)")
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scopedLive("not on a terminal: a plain progress line every interval; --json: the summary on stdout", () =>
    Effect.gen(function*() {
      const directory = yield* tempDirectory
      const input = path.join(directory, "tasks.jsonl")
      yield* writeLines(input, documents(6))
      const { exitCode, stderr, stdout } = yield* run(
        ["run", "-i", input, "-a", "summarize", "-c", "1", "-o", "out.jsonl", "--json", "--progress-interval", "250ms"],
        { directory, env: { AGENT_OFFLINE_LATENCY: "250 millis" } }
      )
      assert.strictEqual(exitCode, 0, stderr)
      const progress = stderr.split("\n").filter((line) => line.startsWith("progress "))
      assert.isAtLeast(progress.length, 2, stderr)
      assert.match(
        progress.at(-1)!,
        /^progress [\d.]+ m?s: \d\/6 done \(\d+%\), \d succeeded, 0 failed, 0 timed out, 0 interrupted, 1 in flight, [\d.-]+\/s, ETA /
      )
      const summary = JSON.parse(stdout) as Summary.Summary
      assert.deepStrictEqual(summary.summary, { total: 6, succeeded: 6, failed: 0, timedOut: 0, interrupted: 0 })
      assert.deepStrictEqual([summary.exitCode, summary.interrupted, summary.concurrency], [0, false, 1])
      assert.strictEqual(summary.output, path.join(fs.realpathSync(directory), "out.jsonl"))
      assert.strictEqual(readLines(path.join(directory, "out.jsonl")).length, 6)
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scopedLive("Ctrl-C: running agents stop, every finished result is in the file, the summary is printed, exit 130", () =>
    Effect.gen(function*() {
      const directory = yield* tempDirectory
      const input = path.join(directory, "tasks.jsonl")
      const output = path.join(directory, "results.jsonl")
      yield* writeLines(input, documents(40))
      const { done, process } = yield* start(
        ["run", "-i", input, "-a", "classify", "-c", "3", "-o", output, "--json"],
        { directory, env: { AGENT_OFFLINE_LATENCY: "400 millis" } }
      )
      yield* untilLines(output, 4)
      const interrupted = yield* Effect.fork(process.kill("SIGINT"))
      const { exitCode, stderr, stdout } = yield* done
      yield* Fiber.join(interrupted)
      assert.strictEqual(exitCode, 130, stderr)
      assert.include(stderr, "Interrupted: stopping 3 running agents")
      const summary = JSON.parse(stdout) as Summary.Summary
      assert.isTrue(summary.interrupted)
      const lines = readLines(output)
      const count = (status: string) => lines.filter((line) => line.status === status).length
      // Every task that ended is in the file: those that finished, and those Ctrl-C stopped (reported Interrupted).
      assert.strictEqual(summary.summary.total, lines.length)
      assert.strictEqual(summary.summary.succeeded, count("Succeeded"))
      assert.strictEqual(summary.summary.interrupted, count("Interrupted"))
      assert.isAtLeast(count("Succeeded"), 4)
      assert.isAtMost(count("Interrupted"), 3)
      assert.strictEqual(new Set(lines.map((line) => line.line)).size, lines.length)
      // The rest of the file was not read.
      assert.isBelow(lines.length, 40)
      assert.deepStrictEqual([summary.linesDone, summary.linesTotal], [lines.length, 40])
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scopedLive("Ctrl-C on a real endpoint aborts the requests under way; a second Ctrl-C exits at once", () =>
    Effect.gen(function*() {
      // A server that speaks OpenAI's Responses API: `ok` answers, `hang` never does, `rate-limited` says 429 with
      // Retry-After: 2, so that the first Ctrl-C waits for a task in its retry wait, and the second cuts it short.
      const server = yield* ModelServer.make
      const directory = yield* tempDirectory
      const input = path.join(directory, "tasks.jsonl")
      const output = path.join(directory, "results.jsonl")
      yield* writeLines(input, [
        `{"text": "scenario=ok"}`,
        `{"text": "scenario=ok"}`,
        `{"text": "scenario=hang"}`,
        `{"text": "scenario=rate-limited"}`
      ])
      const { done, process } = yield* start(
        ["run", "-i", input, "-a", "classify", "-c", "4", "-o", output, "--retries", "3"],
        {
          directory,
          env: { AGENT_MODEL: "openai:gpt-4o-mini", OPENAI_API_KEY: "sk-test", OPENAI_BASE_URL: server.baseUrl }
        }
      )
      yield* untilLines(output, 2)
      yield* server.hangArrived.pipe(Effect.flatMap(() => Effect.void))
      const first = yield* Effect.fork(process.kill("SIGINT"))
      // The hung request is aborted: the server sees its connection closed.
      assert.isTrue(yield* server.hangClosed)
      yield* Effect.sleep("300 millis")
      const secondAt = Date.now()
      const second = yield* Effect.fork(process.kill("SIGINT"))
      const { exitCode, exitedAt, stderr } = yield* done
      yield* Fiber.join(first)
      yield* Fiber.join(second)
      assert.strictEqual(exitCode, 130, stderr)
      assert.isBelow(exitedAt - secondAt, 1_000)
      assert.include(stderr, "(Ctrl-C again to exit at once)")
      // It exited before the task waiting to retry was reported, so before the summary.
      assert.notInclude(stderr, "Interrupted: classify:")
      // The answers that came back are in the file, as the real model gave them.
      const lines = readLines(output)
      assert.deepStrictEqual(
        lines.filter((line) => line.status === "Succeeded").map((line) => [line.line, line.value]).sort(),
        [[1, { label: "positive" }], [2, { label: "positive" }]]
      )
    }).pipe(Effect.provide(NodeContext.layer)))
})
