/**
 * The command line as people run it: `parallel-agents` in a process of its own (through tsx, on the sources), over
 * JSONL files in a temporary directory, with real signals for Ctrl-C.
 */
import { NodeContext } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Schedule } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import type * as Summary from "../../../services/cli/Summary.js"
import * as ModelServer from "../modelServer.js"
import type { ResultLine } from "./process.js"
import { documents, readLines, root, run, start, tempDirectory, untilLines, writeLines } from "./process.js"

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
      // A task counts as done once its result line is written, and leaves the in-flight count when it ends: between
      // the two, the last line may show it in neither.
      assert.match(
        progress.at(-1)!,
        /^progress [\d.]+ m?s: \d\/6 done \(\d+%\), \d succeeded, 0 failed, 0 timed out, 0 interrupted, [01] in flight, [\d.-]+\/s, ETA /
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
        ["run", "-i", input, "-a", "classify", "-c", "3", "-o", output, "--json", "--report", "report.html"],
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
      // The report says the run was cut short, and how many lines have no result.
      const report = fs.readFileSync(path.join(directory, "report.html"), "utf8")
      assert.include(report, "<b>This run was cut short</b> (Ctrl-C).")
      assert.include(report, `${40 - lines.length} input lines were never read`)
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scopedLive("a terminal that closes (SIGHUP) stops the run as Ctrl-C does: its results and its report", () =>
    Effect.gen(function*() {
      const directory = yield* tempDirectory
      const input = path.join(directory, "tasks.jsonl")
      const output = path.join(directory, "results.jsonl")
      const report = path.join(directory, "report.html")
      yield* writeLines(input, documents(40))
      fs.writeFileSync(report, "previous report\n")
      // The command runs on a terminal of its own (`script`); killing `script` closes it, and the kernel sends SIGHUP
      // to the shell in between, then, as the shell dies of it, to the command.
      const { process } = yield* start(
        ["run", "-i", input, "-a", "classify", "-c", "3", "-o", output, "--report", "report.html"],
        {
          directory,
          env: { AGENT_OFFLINE_LATENCY: "400 millis" },
          wrap: ["bash", "-c", `exec script -qfec "$(printf "%q " "$@")" /dev/null`, "bash"]
        }
      )
      yield* untilLines(output, 4)
      yield* process.kill("SIGKILL")
      // Before, Node.js's default: the process died where it stood, with no report and no summary. (Its exit code
      // cannot be read here: see the next test.)
      yield* Effect.try(() => fs.readFileSync(report, "utf8")).pipe(
        Effect.filterOrFail((html) => html.includes("<b>This run was cut short</b>")),
        Effect.retry(Schedule.spaced("100 millis").pipe(Schedule.upTo("60 seconds")))
      )
      assert.isBelow(readLines(output).length, 40)
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scopedLive("a run whose terminal is gone exits with its own code, not Node.js's abort (134) in ResetStdio", () =>
    Effect.gen(function*() {
      const directory = yield* tempDirectory
      const input = path.join(directory, "tasks.jsonl")
      const output = path.join(directory, "results.jsonl")
      yield* writeLines(input, documents(40))
      // The command runs on a terminal of its own (`script`), under a shell that outlives the terminal and writes
      // down the command's pid and, once it has exited, its exit code.
      const shell = path.join(directory, "keep.sh")
      fs.writeFileSync(shell, `trap "" HUP\n"$@" &\necho $! > pid\nwait $!\necho $? > status\n`)
      const { process } = yield* start(["run", "-i", input, "-a", "classify", "-c", "3", "-o", output], {
        directory,
        env: { AGENT_OFFLINE_LATENCY: "400 millis" },
        wrap: ["bash", "-c", `exec script -qfec "$(printf "%q " "$@")" /dev/null`, "bash", "sh", shell]
      })
      yield* untilLines(output, 4)
      // The terminal goes (its `script` killed), then the command gets its SIGHUP and stops the run. A hangup may come
      // twice (from the kernel, then relayed by a shell): the second, once the run is stopping, used to meet Node.js's
      // default for the SIGTERM it was turned into, and the process died of it (143).
      yield* process.kill("SIGKILL")
      const pid = Number(fs.readFileSync(path.join(directory, "pid"), "utf8"))
      yield* Effect.sync(() => globalThis.process.kill(pid, "SIGHUP"))
      yield* Effect.sleep("10 millis")
      // (Unless it has already exited.)
      yield* Effect.ignore(Effect.try(() => globalThis.process.kill(pid, "SIGHUP")))
      const status = yield* Effect.try(() => fs.readFileSync(path.join(directory, "status"), "utf8")).pipe(
        Effect.retry(Schedule.spaced("100 millis").pipe(Schedule.upTo("60 seconds")))
      )
      // Before, Node.js 20 aborted at its very end (134): restoring the settings of a terminal that is gone failed.
      assert.strictEqual(status.trim(), "130")
      assert.isBelow(readLines(output).length, 40)
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scopedLive("with no terminal (nohup, a job with its output redirected), SIGHUP is ignored: the run goes on", () =>
    Effect.gen(function*() {
      const directory = yield* tempDirectory
      const input = path.join(directory, "tasks.jsonl")
      const output = path.join(directory, "results.jsonl")
      yield* writeLines(input, documents(40))
      const { done, process } = yield* start(["run", "-i", input, "-a", "classify", "-c", "4", "-o", output], {
        directory,
        env: { AGENT_OFFLINE_LATENCY: "100 millis" },
        wrap: ["nohup"]
      })
      yield* untilLines(output, 4)
      // Before, it died of it, nohup or not: Node.js resets an ignored SIGHUP when it starts.
      yield* process.kill("SIGHUP")
      const { exitCode, stderr } = yield* done
      assert.strictEqual(exitCode, 0, stderr)
      assert.strictEqual(readLines(output).length, 40)
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scopedLive("Ctrl-C in a file of many chunks: the chunk already read leaves no lines, the rest is not read", () =>
    Effect.gen(function*() {
      const directory = yield* tempDirectory
      const input = path.join(directory, "tasks.jsonl")
      const output = path.join(directory, "results.jsonl")
      // About 1.3 MB: the file is read in chunks of 64 KiB, each of about a thousand lines.
      const total = 20_000
      yield* writeLines(
        input,
        Array.from({ length: total }, (_, i) => JSON.stringify({ id: `doc-${i}`, text: `Document number ${i}.` }))
      )
      const { done, process } = yield* start(
        ["run", "-i", input, "-a", "classify", "-c", "10", "-o", output, "--json", "--report", "report.html"],
        { directory, env: { AGENT_OFFLINE_LATENCY: "50 millis" } }
      )
      yield* untilLines(output, 30)
      const interrupted = yield* Effect.fork(process.kill("SIGINT"))
      const { exitCode, stderr, stdout } = yield* done
      yield* Fiber.join(interrupted)
      assert.strictEqual(exitCode, 130, stderr)
      const summary = JSON.parse(stdout) as Summary.Summary
      assert.isTrue(summary.interrupted)
      const lines = readLines(output)
      const count = (status: string) => lines.filter((line) => line.status === status).length
      // One line per task that ended, none for the tasks read ahead that Ctrl-C kept from running.
      assert.strictEqual(summary.summary.total, lines.length)
      assert.strictEqual(summary.summary.succeeded, count("Succeeded"))
      assert.strictEqual(summary.summary.interrupted, count("Interrupted"))
      assert.strictEqual(count("Succeeded") + count("Interrupted"), lines.length)
      assert.isAtMost(count("Interrupted"), 10)
      assert.strictEqual(new Set(lines.map((line) => line.line)).size, lines.length)
      assert.isAtLeast(count("Succeeded"), 30)
      // Ctrl-C came well before the end: most of the file was never read, let alone run.
      assert.isBelow(lines.length, 2_000)
      assert.deepStrictEqual([summary.linesDone, summary.linesTotal], [lines.length, total])
      // Agents in flight are counted as they run, not until their result line is written: never above 10.
      const report = fs.readFileSync(path.join(directory, "report.html"), "utf8")
      const peak = /<dt>peak in flight<\/dt><dd>(\d+)<\/dd><p>of 10 slots<\/p>/.exec(report)
      assert.isNotNull(peak, "the report's peak in flight")
      assert.isAtMost(Number(peak![1]), 10)
      assert.isAtLeast(Number(peak![1]), 1)
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scopedLive(
    "Ctrl-C once every line is written (the report being written): exit 130, and the summary says 130",
    () =>
      Effect.gen(function*() {
        const directory = yield* tempDirectory
        const input = path.join(directory, "tasks.jsonl")
        const output = path.join(directory, "results.jsonl")
        // Enough results that writing their report takes a while after the last line (about 0.2 s for 20,000 on a
        // loaded machine, twice that here).
        const total = 40_000
        yield* writeLines(
          input,
          Array.from({ length: total }, (_, i) => JSON.stringify({ text: `Document number ${i}.` }))
        )
        const { done, process } = yield* start(
          ["run", "-i", input, "-a", "classify", "-c", "200", "-o", output, "--json", "--report", "report.html"],
          { directory, env: { AGENT_OFFLINE_LATENCY: "1 millis" } }
        )
        yield* Effect.sync(() => fs.existsSync(output) ? fs.readFileSync(output, "utf8").split("\n").length - 1 : 0)
          .pipe(
            Effect.repeat({ schedule: Schedule.spaced("20 millis"), until: (lines) => lines >= total }),
            Effect.timeout("60 seconds")
          )
        const interrupted = yield* Effect.fork(process.kill("SIGINT"))
        const { exitCode, stderr, stdout } = yield* done
        yield* Fiber.join(interrupted)
        assert.strictEqual(exitCode, 130, stderr)
        // Before, the run that had ended was summed up as a success (exit code 0) and the process exited 130.
        const summary = JSON.parse(stdout) as Summary.Summary
        assert.deepStrictEqual([summary.exitCode, summary.interrupted], [130, true])
        assert.strictEqual(summary.summary.succeeded, total)
      }).pipe(Effect.provide(NodeContext.layer)),
    { timeout: 120_000 }
  )

  it.scopedLive("Ctrl-C on a real endpoint aborts the requests under way and ends a task's wait to retry at once", () =>
    Effect.gen(function*() {
      // A server that speaks OpenAI's Responses API: `ok` answers, `hang` never does, `rate-limited` says 429 with
      // Retry-After: 2, so that Ctrl-C comes while that task waits to retry.
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
        ["run", "-i", input, "-a", "classify", "-c", "4", "-o", output, "--retries", "3", "--json"],
        {
          directory,
          env: { AGENT_MODEL: "openai:gpt-4o-mini", OPENAI_API_KEY: "sk-test", OPENAI_BASE_URL: server.baseUrl }
        }
      )
      yield* untilLines(output, 2)
      yield* server.hangArrived.pipe(Effect.flatMap(() => Effect.void))
      // The 429 was answered: the task now waits 2 seconds for its next attempt.
      const limitedRequests = Effect.map(
        server.received,
        (all) => all.filter((request) => JSON.stringify(request.body).includes("scenario=rate-limited"))
      )
      yield* limitedRequests.pipe(
        Effect.repeat({ schedule: Schedule.spaced("20 millis"), until: (requests) => requests.length > 0 })
      )
      const limitedAt = (yield* limitedRequests)[0]!.at
      yield* Effect.sleep("200 millis")
      const interruptedAt = Date.now()
      const interrupted = yield* Effect.fork(process.kill("SIGINT"))
      // The hung request is aborted: the server sees its connection closed.
      assert.isTrue(yield* server.hangClosed)
      const { exitCode, exitedAt, stderr, stdout } = yield* done
      yield* Fiber.join(interrupted)
      assert.strictEqual(exitCode, 130, stderr)
      // Well before the 429's Retry-After ran out: the wait ended with the stop, no second request was sent.
      assert.isBelow(exitedAt - interruptedAt, 1_500)
      assert.isBelow(exitedAt - limitedAt, 2_000)
      assert.lengthOf(yield* limitedRequests, 1)
      // Every task has its line: the answers as the real model gave them, the hung one and the one that waited to
      // retry (with its failed attempt) stopped.
      const lines = readLines(output).sort((a, b) => a.line - b.line)
      assert.deepStrictEqual(lines.map((line) => [line.line, line.status, line.reason ?? null]), [
        [1, "Succeeded", null],
        [2, "Succeeded", null],
        [3, "Interrupted", "Stopped"],
        [4, "Interrupted", "Stopped"]
      ])
      assert.deepStrictEqual([lines[0]!.value, lines[1]!.value], [{ label: "positive" }, { label: "positive" }])
      assert.deepStrictEqual([lines[3]!.attempts, lines[3]!.retries], [1, 1])
      const summary = JSON.parse(stdout) as Summary.Summary
      assert.deepStrictEqual([summary.exitCode, summary.interrupted], [130, true])
      assert.deepStrictEqual(summary.summary, { total: 4, succeeded: 2, failed: 0, timedOut: 0, interrupted: 2 })
    }).pipe(Effect.provide(NodeContext.layer)))
})

describe("parallel-agents (a process): files", () => {
  it.scopedLive(
    "an input that cannot be read: exit 2, and the results and the report are as they were",
    () =>
      Effect.gen(function*() {
        const directory = yield* tempDirectory
        const input = path.join(directory, "tasks.jsonl")
        yield* writeLines(input, documents(3))
        fs.writeFileSync(path.join(directory, "results.jsonl"), "previous results\n")
        fs.writeFileSync(path.join(directory, "report.html"), "<html>previous report</html>\n")
        fs.chmodSync(input, 0o000)
        fs.chmodSync(directory, 0o777)
        // Root reads anything: the command runs as nobody.
        const wrap = process.getuid?.() === 0
          ? ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
          : undefined
        const { exitCode, stderr, stdout } = yield* run(
          ["run", "-i", "tasks.jsonl", "-a", "classify", "-o", "results.jsonl", "--report", "report.html"],
          { directory, wrap }
        )
        assert.strictEqual(exitCode, 2, stderr)
        assert.strictEqual(stderr, "parallel-agents: cannot read the input tasks.jsonl: EACCES: permission denied\n")
        assert.strictEqual(stdout, "")
        assert.strictEqual(fs.readFileSync(path.join(directory, "results.jsonl"), "utf8"), "previous results\n")
        assert.strictEqual(
          fs.readFileSync(path.join(directory, "report.html"), "utf8"),
          "<html>previous report</html>\n"
        )
      }).pipe(Effect.provide(NodeContext.layer)),
    120_000
  )

  it.scopedLive(
    "a read-only results file or report is refused (exit 2), and both are as they were",
    () =>
      Effect.gen(function*() {
        const directory = yield* tempDirectory
        yield* writeLines(path.join(directory, "tasks.jsonl"), documents(3))
        for (const name of ["results.jsonl", "report.html"]) {
          fs.writeFileSync(path.join(directory, name), `previous ${name}\n`)
          fs.chmodSync(path.join(directory, name), 0o444)
        }
        fs.chmodSync(directory, 0o777)
        // Root writes anything: the command runs as nobody, in a folder it may write (so a rename could replace).
        const wrap = process.getuid?.() === 0
          ? ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
          : undefined
        const results = yield* run(["run", "-i", "tasks.jsonl", "-a", "classify", "-o", "results.jsonl"], {
          directory,
          wrap
        })
        assert.strictEqual(results.exitCode, 2, results.stderr)
        assert.include(results.stderr, "cannot write the results to results.jsonl: EACCES")
        // Before, the report was replaced by a rename, its mode and owner with it.
        const report = yield* run(
          ["run", "-i", "tasks.jsonl", "-a", "classify", "-o", "other.jsonl", "--report", "report.html"],
          { directory, wrap }
        )
        assert.strictEqual(report.exitCode, 2, report.stderr)
        assert.include(report.stderr, "cannot write the report to report.html: EACCES")
        for (const name of ["results.jsonl", "report.html"]) {
          assert.strictEqual(fs.readFileSync(path.join(directory, name), "utf8"), `previous ${name}\n`)
        }
      }).pipe(Effect.provide(NodeContext.layer)),
    120_000
  )

  it.scopedLive(
    "killed with SIGKILL mid-run: every line written parses, the report is the previous one, whole",
    () =>
      Effect.gen(function*() {
        const directory = yield* tempDirectory
        const input = path.join(directory, "tasks.jsonl")
        const output = path.join(directory, "results.jsonl")
        const report = path.join(directory, "report.html")
        yield* writeLines(input, documents(40))
        fs.writeFileSync(report, "<html>previous report</html>\n")
        const { done, process } = yield* start(
          ["run", "-i", input, "-a", "classify", "-c", "3", "-o", output, "--report", report],
          { directory, env: { AGENT_OFFLINE_LATENCY: "300 millis" } }
        )
        yield* untilLines(output, 4)
        yield* process.kill("SIGKILL")
        const killed = yield* Effect.flip(done)
        assert.include(killed.message, "SIGKILL")
        // readLines parses each line: a torn one would throw.
        const lines = readLines(output)
        assert.isAtLeast(lines.length, 4)
        assert.isBelow(lines.length, 40)
        assert.isTrue(lines.every((line) => line.status === "Succeeded"))
        assert.strictEqual(fs.readFileSync(report, "utf8"), "<html>previous report</html>\n")
        assert.deepStrictEqual(fs.readdirSync(directory).sort(), ["report.html", "results.jsonl", "tasks.jsonl"])
      }).pipe(Effect.provide(NodeContext.layer)),
    120_000
  )

  it.scopedLive(
    "stderr closed early (2>&1 | head): the run goes on to its end, every result written, exit 0",
    () =>
      Effect.gen(function*() {
        const directory = yield* tempDirectory
        const input = path.join(directory, "tasks.jsonl")
        yield* writeLines(input, documents(100))
        // stderr is a pipe whose reader goes after 10 bytes; the command's own exit code is kept in a file. Before,
        // the first write after that (a progress line) killed the process with an error nobody saw: exit 1, and a
        // results file replaced by an empty one.
        yield* run(
          ["run", "-i", input, "-a", "classify", "-c", "4", "-o", "results.jsonl", "--progress-interval", "10ms"],
          {
            directory,
            env: { AGENT_OFFLINE_LATENCY: "20 millis" },
            wrap: ["sh", "-c", `{ "$@"; echo $? > exit-code; } 2>&1 >/dev/null | head -c 10 >/dev/null`, "sh"]
          }
        )
        assert.strictEqual(fs.readFileSync(path.join(directory, "exit-code"), "utf8"), "0\n")
        assert.strictEqual(readLines(path.join(directory, "results.jsonl")).length, 100)
      }).pipe(Effect.provide(NodeContext.layer)),
    120_000
  )

  it.scopedLive(
    "a report whose writing fails half-way leaves the previous one whole, and the run says so: exit 1",
    () =>
      Effect.gen(function*() {
        const directory = yield* tempDirectory
        const input = path.join(directory, "tasks.jsonl")
        const report = path.join(directory, "report.html")
        yield* writeLines(input, documents(40))
        fs.writeFileSync(report, "<html>previous report</html>\n")
        // Files may not grow past 10 KiB (20 blocks of 512 bytes; 20 KiB where a block is 1 KiB): the 40 result
        // lines (under 8 KiB) fit, the report (over 20 KiB) does not. Node.js ignores SIGXFSZ: the write fails.
        const { exitCode, stderr } = yield* run(
          ["run", "-i", input, "-a", "classify", "-o", "results.jsonl", "--report", report],
          {
            directory,
            env: { AGENT_OFFLINE_LATENCY: "5 millis" },
            wrap: ["sh", "-c", `ulimit -f 20 && exec "$@"`, "sh"]
          }
        )
        assert.strictEqual(exitCode, 1, stderr)
        assert.include(stderr, "parallel-agents: cannot write the report to report.html: EFBIG: file too large")
        assert.notInclude(stderr, "Report: report.html")
        assert.strictEqual(fs.readFileSync(report, "utf8"), "<html>previous report</html>\n")
        assert.strictEqual(readLines(path.join(directory, "results.jsonl")).length, 40)
        assert.deepStrictEqual(fs.readdirSync(directory).sort(), ["report.html", "results.jsonl", "tasks.jsonl"])
      }).pipe(Effect.provide(NodeContext.layer)),
    120_000
  )
})
