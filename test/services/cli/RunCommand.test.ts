import { FileSystem } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as fs from "node:fs"
import * as Cli from "../../../services/cli/Cli.js"
import * as Text from "../../../services/cli/internal/text.js"
import type * as Summary from "../../../services/cli/Summary.js"
import { runCli, withInput } from "./runCli.js"

describe("RunCommand", () => {
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

  it.scopedLive("-o - is stdout, not a file named -", () =>
    Effect.gen(function*() {
      const { file } = yield* withInput([`{"text": "a"}`, `{"text": "b"}`])
      const { code, stderr, stdout } = yield* runCli(["run", "-i", file, "-a", "classify", "-o", "-"], {
        AGENT_OFFLINE_LATENCY: "1 millis"
      })
      const created = fs.existsSync("-")
      if (created) fs.rmSync("-")
      assert.isFalse(created, "a file named - was written in the working directory")
      assert.strictEqual(code, Cli.ExitCode.Success, stderr)
      assert.strictEqual(stdout.trimEnd().split("\n").length, 2)
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
      const summary = JSON.parse(lines[2]!) as Summary.Summary
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

  it.scopedLive("a line that is JSON but not an object, or does not fit the agent, is bad input with its line", () =>
    Effect.gen(function*() {
      const { file } = yield* withInput([`[1, 2]`, `{"id": "t", "txt": "a"}`, `{"text": "b"}`])
      const { code, stderr, stdout } = yield* runCli(
        ["run", "--input", file, "--agent", "classify"],
        { AGENT_OFFLINE_LATENCY: "5 millis" }
      )
      assert.strictEqual(code, Cli.ExitCode.TasksFailed)
      assert.include(stderr, "line 1: bad input: not a JSON object: got an array\n")
      assert.include(stderr, `line 2: bad input: at ["text"]: is missing\n`)
      const lines = stdout.trimEnd().split("\n").map((line) => JSON.parse(line))
      assert.deepStrictEqual(lines.map((line) => [line.line, line.id, line.status]).sort(), [
        [1, "1", "Failed"],
        [2, "t", "Failed"],
        [3, "3", "Succeeded"]
      ])
      assert.include(stderr, "(bad input: 2)")
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scopedLive("setup errors exit with 2 before any task runs: the model's configuration, the output file", () =>
    Effect.gen(function*() {
      const { directory, file } = yield* withInput([`{"text": "a"}`])
      const model = yield* runCli(["run", "--input", file, "--agent", "classify"], { AGENT_MODEL: "gpt-4o" })
      assert.strictEqual(model.code, Cli.ExitCode.Usage)
      assert.include(model.stderr, "parallel-agents: configuration:")
      assert.include(model.stderr, "AGENT_MODEL")
      assert.strictEqual(model.stdout, "")
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
      assert.strictEqual(output.stdout, "")
      // The working directory itself is named by its path (it was named by nothing: "cannot write the results to : ").
      const folder = yield* runCli(["run", "--input", file, "--agent", "classify", "--output", "."])
      assert.strictEqual(folder.code, Cli.ExitCode.Usage, folder.stderr)
      assert.include(folder.stderr, `cannot write the results to ${process.cwd()}: EISDIR`)
    }).pipe(Effect.provide(NodeContext.layer)))
})

describe("RunCommand: files", () => {
  const tasks = [`{"text": "Sample document number 0"}`, `{"text": "Sample document number 1"}`]
  const fast = { AGENT_OFFLINE_LATENCY: "5 millis" }

  it.scopedLive("input, results and report that name one file are refused before anything is touched", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const { directory, file } = yield* withInput(tasks)
      const before = yield* fs.readFileString(file)
      yield* fs.makeDirectory(`${directory}/real`)
      yield* fs.symlink(directory, `${directory}/link`)
      yield* fs.symlink(file, `${directory}/tasks-link.jsonl`)
      yield* fs.link(file, `${directory}/tasks-hard.jsonl`)
      const refused = (args: ReadonlyArray<string>, message: string) =>
        Effect.gen(function*() {
          const { code, stderr, stdout } = yield* runCli(["run", "-i", file, "-a", "classify", ...args], fast)
          assert.strictEqual(code, Cli.ExitCode.Usage, stderr)
          assert.include(stderr, message)
          assert.strictEqual(stdout, "")
        })
      yield* refused(["-o", file], "--input and --output name the same file")
      yield* refused(["--report", file], "--input and --report name the same file")
      // Through a link to the file, a link to its directory, a hard link.
      yield* refused(["-o", `${directory}/tasks-link.jsonl`], "--input and --output name the same file")
      yield* refused(["-o", `${directory}/link/tasks.jsonl`], "--input and --output name the same file")
      yield* refused(["--report", `${directory}/tasks-hard.jsonl`], "--input and --report name the same file")
      // Results and report that do not exist yet, one through a linked directory.
      yield* refused(
        ["-o", `${directory}/link/real/out.jsonl`, "--report", `${directory}/real/out.jsonl`],
        "--output and --report name the same file"
      )
      assert.strictEqual(yield* fs.readFileString(file), before)
      assert.deepStrictEqual(yield* fs.readDirectory(`${directory}/real`), [])
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scopedLive("a report that cannot be written is refused before any task runs, and the results file is untouched", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const { directory, file } = yield* withInput(tasks)
      const results = `${directory}/results.jsonl`
      yield* fs.writeFileString(results, "previous results\n")
      for (
        const [report, message] of [
          [`${directory}/missing/report.html`, "ENOENT: no such file or directory"],
          [directory, "it is a directory"],
          ["/dev/null", "it is not a regular file"]
        ] as const
      ) {
        const { code, stderr } = yield* runCli(["run", "-i", file, "-a", "classify", "-o", results, "--report", report])
        assert.strictEqual(code, Cli.ExitCode.Usage, stderr)
        assert.include(stderr, `cannot write the report to ${report}: ${message}`)
        assert.strictEqual(yield* fs.readFileString(results), "previous results\n")
      }
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scopedLive("the report is written whole: no temporary file is left, a link is followed to its target", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const { directory, file } = yield* withInput(tasks)
      yield* fs.makeDirectory(`${directory}/reports`)
      yield* fs.writeFileString(`${directory}/reports/target.html`, "old")
      yield* fs.symlink(`${directory}/reports/target.html`, `${directory}/report.html`)
      const { code, stderr } = yield* runCli(
        ["run", "-i", file, "-a", "classify", "-o", `${directory}/out.jsonl`, "--report", `${directory}/report.html`],
        fast
      )
      assert.strictEqual(code, Cli.ExitCode.Success, stderr)
      const html = yield* fs.readFileString(`${directory}/reports/target.html`)
      assert.match(html, /^<!doctype html>/i)
      assert.match(html, /<\/html>\n?$/)
      assert.strictEqual(yield* fs.readLink(`${directory}/report.html`), `${directory}/reports/target.html`)
      assert.deepStrictEqual((yield* fs.readDirectory(`${directory}/reports`)).sort(), ["target.html"])
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scopedLive("a results file that fails to take a write stops the run, naming it; the summary counts what it holds", () =>
    Effect.gen(function*() {
      const { file } = yield* withInput(tasks)
      const { code, stderr, stdout } = yield* runCli(
        ["run", "-i", file, "-a", "classify", "-o", "/dev/full", "--json"],
        fast
      )
      assert.strictEqual(code, Cli.ExitCode.TasksFailed, stderr)
      assert.include(stderr, "parallel-agents: cannot write the results to /dev/full: ENOSPC: no space left on device")
      assert.notMatch(stderr, /fd|descriptor/)
      const summary = JSON.parse(stdout) as Summary.Summary
      assert.deepStrictEqual(summary.summary, { total: 0, succeeded: 0, failed: 0, timedOut: 0, interrupted: 0 })
      assert.strictEqual(summary.exitCode, Cli.ExitCode.TasksFailed)
      assert.strictEqual(summary.outputFailed, true)
      // In words, the summary does not let the results file pass for complete.
      const text = yield* runCli(["run", "-i", file, "-a", "classify", "-o", "/dev/full"], fast)
      assert.match(text.stderr, /\nResults: \/dev\/full, incomplete: writing to it failed \(above\)\n/)
    }).pipe(Effect.provide(NodeContext.layer)))
})

describe("RunCommand: settings", () => {
  it.scopedLive("AGENT_CONCURRENCY past the limit, or unbounded, is a usage error that says why", () =>
    Effect.gen(function*() {
      const { directory, file } = yield* withInput([`{"text": "a"}`])
      const out = `${directory}/out.jsonl`
      const huge = yield* runCli(["run", "-i", file, "-a", "classify", "-o", out], { AGENT_CONCURRENCY: "10000000" })
      assert.strictEqual(huge.code, Cli.ExitCode.Usage)
      // The engine reads AGENT_CONCURRENCY (ExecutorConfig.layerConfig) and names the variable and the limit.
      assert.include(huge.stderr, "AGENT_CONCURRENCY")
      assert.include(huge.stderr, "from 1 to 1,000,000")
      const unbounded = yield* runCli(["run", "-i", file, "-a", "classify", "-o", out], {
        AGENT_CONCURRENCY: "unbounded"
      })
      assert.strictEqual(unbounded.code, Cli.ExitCode.Usage)
      assert.include(unbounded.stderr, `AGENT_CONCURRENCY is "unbounded"`)
      assert.include(unbounded.stderr, "a file of tasks is a stream")
      assert.isFalse(yield* Effect.flatMap(FileSystem.FileSystem, (fs) => fs.exists(out)))
      // --concurrency wins over AGENT_CONCURRENCY.
      const flag = yield* runCli(["run", "-i", file, "-a", "classify", "-c", "2"], {
        AGENT_CONCURRENCY: "unbounded",
        AGENT_OFFLINE_LATENCY: "5 millis"
      })
      assert.strictEqual(flag.code, Cli.ExitCode.Success, flag.stderr)
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scopedLive("a setting a flag gives is not read from the environment: a malformed one there is no error", () =>
    Effect.gen(function*() {
      const { file } = yield* withInput([`{"text": "a"}`])
      const env = { AGENT_TIMEOUT: "abc", AGENT_CONCURRENCY: "abc", AGENT_OFFLINE_LATENCY: "5 millis" }
      const flags = yield* runCli(["run", "-i", file, "-a", "classify", "--timeout", "5s", "-c", "2", "--json"], env)
      assert.strictEqual(flags.code, Cli.ExitCode.Success, flags.stderr)
      assert.strictEqual(JSON.parse(flags.stdout.trimEnd().split("\n").at(-1)!).concurrency, 2)
      // Without the flags, the environment is read, and its mistakes are usage errors that name it.
      const timeout = yield* runCli(["run", "-i", file, "-a", "classify", "-c", "2"], env)
      assert.strictEqual(timeout.code, Cli.ExitCode.Usage)
      assert.include(timeout.stderr, "AGENT_TIMEOUT")
      const concurrency = yield* runCli(["run", "-i", file, "-a", "classify", "--timeout", "5s"], env)
      assert.strictEqual(concurrency.code, Cli.ExitCode.Usage)
      assert.include(concurrency.stderr, "AGENT_CONCURRENCY")
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scopedLive("an API key with a line break or past Latin-1 is a configuration error naming the variable, not the key", () =>
    Effect.gen(function*() {
      const { file } = yield* withInput([`{"text": "a"}`])
      for (const key of ["sk-secret-key\n", "sk-secret-\u043a\u043b\u044e\u0447", "sk-secret\u0000key"]) {
        for (const model of ["openai:gpt-4o-mini", "compat:llama3"]) {
          const { code, stderr, stdout } = yield* runCli(["run", "-i", file, "-a", "classify"], {
            AGENT_MODEL: model,
            OPENAI_API_KEY: key,
            OPENAI_BASE_URL: "http://127.0.0.1:9/v1"
          })
          assert.strictEqual(code, Cli.ExitCode.Usage, stderr)
          assert.include(stderr, "parallel-agents: configuration:")
          assert.include(stderr, "OPENAI_API_KEY")
          assert.notInclude(stderr + stdout, "secret")
        }
      }
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scopedLive("a malformed OPENAI_BASE_URL is a configuration error naming it, not a failure of every task", () =>
    Effect.gen(function*() {
      const { directory, file } = yield* withInput([`{"text": "a"}`])
      const output = `${directory}/results.jsonl`
      const cases: ReadonlyArray<readonly [string, RegExp]> = [
        // The scheme left out: the most common slip, which sent every request nowhere (a transport error, retried).
        ["localhost:11434/v1", /an http:\/\/ or https:\/\/ URL.*starts with "localhost:"/],
        ["not a url", /OPENAI_BASE_URL.*is not a URL/],
        ["ftp://127.0.0.1/v1", /an http:\/\/ or https:\/\/ URL.*starts with "ftp:"/],
        // A query or fragment: the request's path went after it (`/v1?api-version=1/chat/completions`), and the
        // query, a key in it included, was quoted by every error.
        ["http://127.0.0.1:9/v1?api-key=secret-in-query", /OPENAI_BASE_URL.*query/],
        ["http://user:secret@127.0.0.1:9/v1#secret", /OPENAI_BASE_URL.*fragment/]
      ]
      for (const [url, message] of cases) {
        for (const model of ["openai:gpt-4o-mini", "compat:llama3"]) {
          const { code, stderr, stdout } = yield* runCli(["run", "-i", file, "-a", "classify", "-o", output], {
            AGENT_MODEL: model,
            OPENAI_API_KEY: "sk-key",
            OPENAI_BASE_URL: url
          })
          assert.strictEqual(code, Cli.ExitCode.Usage, `${model} ${url}: ${stderr}`)
          assert.include(stderr, "parallel-agents: configuration:")
          assert.match(stderr, message)
          assert.notInclude(stderr + stdout, "secret")
          assert.isFalse(fs.existsSync(output))
        }
      }
      // The offline model uses no URL: a stale OPENAI_BASE_URL does not stop it.
      const offline = yield* runCli(["run", "-i", file, "-a", "classify"], {
        AGENT_MODEL: "offline",
        OPENAI_BASE_URL: "localhost:11434/v1",
        AGENT_OFFLINE_LATENCY: "1 millis"
      })
      assert.strictEqual(offline.code, Cli.ExitCode.Success, offline.stderr)
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scopedLive("--cluster without a database it can reach says why: DATABASE_URL missing, or the connection's error", () =>
    Effect.gen(function*() {
      const { file } = yield* withInput([`{"text": "a"}`])
      // Before: `(Missing data at DATABASE_URL: "<redacted>")` and `PgClient: Failed to connect`, saying neither what
      // was missing nor why the connection failed.
      const missing = yield* runCli(["run", "-i", file, "-a", "classify", "--cluster"])
      assert.strictEqual(missing.code, Cli.ExitCode.Usage, missing.stderr)
      assert.include(missing.stderr, "DATABASE_URL")
      assert.notInclude(missing.stderr, "<redacted>")
      assert.match(missing.stderr, /Expected DATABASE_URL to exist/)
      const refused = yield* runCli(["run", "-i", file, "-a", "classify", "--cluster"], {
        DATABASE_URL: "postgres://agent:s3cret-pw@127.0.0.1:1/cluster"
      })
      assert.strictEqual(refused.code, Cli.ExitCode.Usage, refused.stderr)
      assert.include(refused.stderr, "ECONNREFUSED")
      assert.notInclude(refused.stderr, "s3cret")
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scopedLive("--deadline bounds the whole run: running tasks time out, those read ahead are interrupted", () =>
    Effect.gen(function*() {
      const { file } = yield* withInput([`{"text": "a"}`, `{"text": "b"}`, `{"text": "c"}`])
      const started = Date.now()
      const { code, stderr, stdout } = yield* runCli(
        ["run", "-i", file, "-a", "classify", "-c", "1", "--deadline", "300ms", "--timeout", "1m", "--json"],
        { AGENT_OFFLINE_LATENCY: "1 minute" }
      )
      assert.isBelow(Date.now() - started, 20_000)
      assert.strictEqual(code, Cli.ExitCode.TasksFailed, stderr)
      const lines = stdout.trimEnd().split("\n").map((line) => JSON.parse(line))
      const summary = lines.pop() as Summary.Summary
      // The running task is stopped; those read ahead never start; the rest of the file is never read.
      const [first, ...rest] = lines.sort((a, b) => a.line - b.line)
      assert.deepStrictEqual([first.line, first.status, first.reason], [1, "TimedOut", "RunDeadline"])
      for (const line of rest) assert.deepStrictEqual([line.status, line.reason], ["Interrupted", "RunDeadline"])
      assert.deepStrictEqual([summary.linesDone, summary.linesTotal], [lines.length, 3])
    }).pipe(Effect.provide(NodeContext.layer)))
})

describe("RunCommand: a deadline that ends the run early", () => {
  it.scopedLive("a deadline that passes before a line is read is a run that did not succeed, counted in lines", () =>
    Effect.gen(function*() {
      const { file } = yield* withInput(Array.from({ length: 2000 }, (_, i) => `{"text": "document ${i}"}`))
      // Before, a deadline that ended the run before its first task exited 0 (every task succeeded: there were
      // none) and the summary did not say how many lines had no result.
      for (let round = 0; round < 3; round++) {
        const { code, stderr, stdout } = yield* runCli(
          ["run", "-i", file, "-a", "classify", "--deadline", "1ms", "--json"],
          { AGENT_OFFLINE_LATENCY: "1 minute" }
        )
        const summary = JSON.parse(stdout.trimEnd().split("\n").at(-1)!) as Summary.Summary
        assert.strictEqual(code, Cli.ExitCode.TasksFailed, stderr)
        assert.strictEqual(summary.exitCode, Cli.ExitCode.TasksFailed)
        assert.strictEqual(summary.linesTotal, 2000)
        assert.isBelow(summary.linesDone, 2000)
      }
    }).pipe(Effect.provide(NodeContext.layer)))
})

describe("RunCommand: hostile input", () => {
  it.scopedLive("ids, bytes and messages are escaped on stderr and exact in the results; no forged `line N:`", () =>
    Effect.gen(function*() {
      const id = "\u001b[2J\u001b]0;pwned\u0007\r\nline 99: bad input: forged"
      const { file } = yield* withInput([
        JSON.stringify({ id, text: 5 }),
        `\u001b]0;title\u0007 not json\u009b2J`,
        JSON.stringify({ id, text: "Sample document number 0" })
      ])
      const { code, stderr, stdout } = yield* runCli(["run", "-i", file, "-a", "classify"], {
        AGENT_OFFLINE_LATENCY: "5 millis"
      })
      assert.strictEqual(code, Cli.ExitCode.TasksFailed)
      assert.isFalse(Text.hasControl(stderr))
      assert.isFalse(Text.hasControl(stdout))
      const reported = stderr.split("\n").filter((line) => /^line \d+:/.test(line))
      assert.deepStrictEqual(reported.map((line) => line.match(/^line (\d+):/)![1]).sort(), ["1", "2"])
      assert.include(stderr, `line 2: bad input: not JSON: Unexpected token '\\x1b'`)
      // The results keep the id and the message as they were.
      const lines = stdout.trimEnd().split("\n").map((line) => JSON.parse(line)).sort((a, b) => a.line - b.line)
      assert.deepStrictEqual(lines.map((line) => [line.line, line.id, line.status]), [
        [1, id, "Failed"],
        [2, "2", "Failed"],
        [3, id, "Succeeded"]
      ])
      assert.include(lines[1].error, "\u001b]0;title\u0007")
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scopedLive("deep nesting and bytes that are not UTF-8 are bad input lines, counted; repeated ids keep a line each", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const { file } = yield* withInput([])
      const encoder = new TextEncoder()
      yield* fs.writeFile(
        file,
        Uint8Array.from([
          ...encoder.encode(`{"text": ${"[".repeat(10_000)}${"]".repeat(10_000)}}\n`),
          ...encoder.encode(`{"id": "same", "text": "caf`),
          0xe9,
          ...encoder.encode(`"}\n{"id": "same", "text": "Sample document number 0"}\n`),
          ...encoder.encode(`{"id": "same", "text": "Sample document number 1"}\n`)
        ])
      )
      const { code, stderr, stdout } = yield* runCli(["run", "-i", file, "-a", "classify", "--json"], {
        AGENT_OFFLINE_LATENCY: "5 millis"
      })
      assert.strictEqual(code, Cli.ExitCode.TasksFailed, stderr)
      assert.include(stderr, "line 1: bad input: nested deeper than 256 levels of arrays and objects")
      assert.include(stderr, "line 2: bad input: not UTF-8: the line holds an invalid byte sequence")
      assert.notInclude(stderr, "Maximum call stack size exceeded")
      const lines = stdout.trimEnd().split("\n").map((line) => JSON.parse(line))
      const summary = lines.pop() as Summary.Summary
      assert.deepStrictEqual(
        lines.map((line) => [line.line, line.id, line.status]).sort(),
        [[1, "1", "Failed"], [2, "2", "Failed"], [3, "same", "Succeeded"], [4, "same", "Succeeded"]]
      )
      assert.deepStrictEqual([summary.badInput, summary.linesDone, summary.linesTotal], [2, 4, 4])
    }).pipe(Effect.provide(NodeContext.layer)))
})
