import * as Reactivity from "@effect/experimental/Reactivity"
import { NodeContext } from "@effect/platform-node"
import * as LibsqlClient from "@effect/sql-libsql/LibsqlClient"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Logger } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import * as Cli from "../../../services/cli/Cli.js"
import { runCli, withInput } from "./runCli.js"

/**
 * `parallel-agents run --journal / --resume / --retry-failed` and `parallel-agents runs`, in this process, over a
 * real SQLite journal file: a resumed run writes its results file again whole, replaying what the journal holds;
 * every misuse is a usage error (exit 2) that says what was wrong, before anything is written.
 */

const env = { AGENT_OFFLINE_LATENCY: "2 millis" }

const docs = (n: number, text: (i: number) => string = (i) => `Sample document number ${i}`) =>
  Array.from({ length: n }, (_, i) => JSON.stringify({ id: `doc-${i}`, text: text(i) }))

const readLines = (file: string) =>
  fs.readFileSync(file, "utf8").split("\n").filter((line) => line !== "").map((line) => JSON.parse(line))

const runIdOf = (stderr: string) => {
  const match = stderr.match(/^(?:Resuming run|Run) ([\w.-]+), journal /m)
  assert.isNotNull(match, stderr)
  return match![1]!
}

describe("RunCommand with a journal", () => {
  it.scopedLive("records a run, resumes it (every line replayed, the results file written again), lists it", () =>
    Effect.gen(function*() {
      const { directory, file } = yield* withInput(docs(30))
      const journal = path.join(directory, "journal.db")
      const output = path.join(directory, "results.jsonl")
      const first = yield* runCli(
        ["run", "-i", file, "-a", "classify", "-o", output, "--journal", journal, "-c", "4"],
        env
      )
      assert.strictEqual(first.code, 0, first.stderr)
      const runId = runIdOf(first.stderr)
      assert.match(first.stderr, new RegExp(`resume it with --resume ${runId} --journal ${journal}`))
      assert.strictEqual(readLines(output).length, 30)

      const second = yield* runCli(
        ["run", "-i", file, "-a", "classify", "-o", output, "--resume", runId, "--journal", journal, "--json"],
        env
      )
      assert.strictEqual(second.code, 0, second.stderr)
      assert.match(second.stderr, new RegExp(`^Resuming run ${runId}, journal `))
      const lines = readLines(output)
      assert.strictEqual(lines.length, 30)
      assert.deepStrictEqual(lines.map((line) => line.id).sort(), docs(30).map((d) => JSON.parse(d).id).sort())
      assert.isTrue(lines.every((line) => line.replayed === true && line.status === "Succeeded"))
      const summary = JSON.parse(second.stdout.trimEnd().split("\n").at(-1)!)
      assert.strictEqual(summary.replayed, 30)
      assert.strictEqual(summary.journal, journal)
      // Nothing ran: no tokens, no busy time.
      assert.strictEqual(summary.usage.requests, 0)

      const listed = yield* runCli(["runs", "--journal", journal])
      assert.strictEqual(listed.code, 0, listed.stderr)
      const [header, row] = listed.stdout.trimEnd().split("\n")
      assert.match(
        header!,
        /^RUN\s+AGENT\s+STARTED \(UTC\)\s+STARTS\s+STATE\s+RECORDED\s+SUCCEEDED\s+FAILED\s+TIMED OUT$/
      )
      assert.match(
        row!,
        new RegExp(
          `^${runId}\\s+classify\\s+\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d\\s+2\\s+finished\\s+30\\s+30\\s+0\\s+0$`
        )
      )
      const json = yield* runCli(["runs", "--journal", journal, "--json"])
      const run = JSON.parse(json.stdout)
      assert.strictEqual(run.runId, runId)
      assert.deepStrictEqual(run.recorded, { total: 30, succeeded: 30, failed: 0, timedOut: 0, interrupted: 0 })
      assert.strictEqual(run.options.input, file)
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scopedLive("a run deletes its lock file when it ends, whatever the end, and one a dead process left", () =>
    Effect.gen(function*() {
      const { directory, file } = yield* withInput(docs(3))
      const journal = path.join(directory, "journal.db")
      const locks = path.join(directory, ".journal.db.locks")
      const ok = yield* runCli(["run", "-i", file, "-a", "classify", "--journal", journal, "--run-id", "a"], env)
      assert.strictEqual(ok.code, 0, ok.stderr)
      assert.deepStrictEqual(fs.readdirSync(locks), [], "1")
      // A run that did not succeed (its deadline), and its resume.
      const cut = yield* runCli(
        ["run", "-i", file, "-a", "classify", "--journal", journal, "--run-id", "b", "--deadline", "100ms"],
        { AGENT_OFFLINE_LATENCY: "1 minute" }
      )
      assert.strictEqual(cut.code, Cli.ExitCode.TasksFailed, cut.stderr)
      assert.deepStrictEqual(fs.readdirSync(locks), [], "2")
      const resumed = yield* runCli(["run", "-i", file, "-a", "classify", "--journal", journal, "--resume", "b"], env)
      assert.strictEqual(resumed.code, 0, resumed.stderr)
      assert.deepStrictEqual(fs.readdirSync(locks), [], "3")
      // A usage error after the lock was taken (a new run under an id the journal holds).
      const refused = yield* runCli(["run", "-i", file, "-a", "classify", "--journal", journal, "--run-id", "a"], env)
      assert.strictEqual(refused.code, Cli.ExitCode.Usage, refused.stderr)
      assert.deepStrictEqual(fs.readdirSync(locks), [], "4")
      // The lock file of a process killed with kill -9 stays; the next process on the run takes it, and deletes it.
      fs.writeFileSync(path.join(locks, "a.lock"), "")
      const again = yield* runCli(["run", "-i", file, "-a", "classify", "--journal", journal, "--resume", "a"], env)
      assert.strictEqual(again.code, 0, again.stderr)
      assert.deepStrictEqual(fs.readdirSync(locks), [], "5")
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scopedLive("the resume command printed at the start runs as printed: a journal path with a space is quoted", () =>
    Effect.gen(function*() {
      const { directory, file } = yield* withInput(docs(2))
      const journal = path.join(directory, "my runs.db")
      const first = yield* runCli(["run", "-i", file, "-a", "classify", "--journal", journal, "--run-id", "q"], env)
      assert.strictEqual(first.code, 0, first.stderr)
      assert.include(first.stderr, `resume it with --resume q --journal '${journal}'`)
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scopedLive("a task the run's deadline stopped is not final: the resume runs it, as one Ctrl-C stopped", () =>
    Effect.gen(function*() {
      const { directory, file } = yield* withInput(docs(3))
      const journal = path.join(directory, "journal.db")
      const output = path.join(directory, "results.jsonl")
      const first = yield* runCli(
        ["run", "-i", file, "-a", "classify", "-c", "1", "-o", output, "--journal", journal, "--run-id", "d"].concat(
          ["--deadline", "300ms", "--timeout", "1m"]
        ),
        { AGENT_OFFLINE_LATENCY: "1 minute" }
      )
      assert.strictEqual(first.code, Cli.ExitCode.TasksFailed, first.stderr)
      // The deadline stopped the task under way (TimedOut), or, on a machine so loaded that it passed before the first
      // task started, every task (Interrupted): either way, with its reason.
      const stopped = readLines(output).find((line) => line.status === "TimedOut" || line.status === "Interrupted")
      assert.strictEqual(stopped?.reason, "RunDeadline", JSON.stringify(readLines(output)))
      // Listed as cut short by its deadline, not as finished.
      const listedCut = yield* runCli(["runs", "--journal", journal])
      assert.match(listedCut.stdout.trimEnd().split("\n")[1]!, /^d\s+classify\s+\S+ \S+\s+1\s+deadline\s/)
      const cut = JSON.parse((yield* runCli(["runs", "--journal", journal, "--json"])).stdout)
      assert.strictEqual(cut.state, "deadline")
      assert.isNotNull(cut.finishedAt)
      // Before, it was recorded as a final TimedOut and replayed as one: only --retry-failed ran it again.
      const resumed = yield* runCli(
        ["run", "-i", file, "-a", "classify", "-o", output, "--resume", "d", "--journal", journal],
        env
      )
      assert.strictEqual(resumed.code, 0, resumed.stderr)
      const lines = readLines(output)
      assert.strictEqual(lines.length, 3)
      assert.isTrue(lines.every((line) => line.status === "Succeeded" && line.replayed !== true))
      // Resumed to its end: finished.
      const done = JSON.parse((yield* runCli(["runs", "--journal", journal, "--json"])).stdout)
      assert.strictEqual(done.state, "finished")
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scopedLive("a line whose input changed since it was recorded fails with JournalInputChanged; the rest replay", () =>
    Effect.gen(function*() {
      const { directory, file } = yield* withInput(docs(5))
      const journal = path.join(directory, "journal.db")
      const output = path.join(directory, "results.jsonl")
      const first = yield* runCli(["run", "-i", file, "-a", "classify", "-o", output, "--journal", journal], env)
      assert.strictEqual(first.code, 0, first.stderr)
      fs.writeFileSync(file, docs(5, (i) => i === 3 ? "Edited document" : `Sample document number ${i}`).join("\n"))
      const second = yield* runCli(
        ["run", "-i", file, "-a", "classify", "-o", output, "--resume", runIdOf(first.stderr), "--journal", journal],
        env
      )
      assert.strictEqual(second.code, Cli.ExitCode.TasksFailed, second.stderr)
      const lines = readLines(output)
      assert.strictEqual(lines.length, 5)
      const changed = lines.find((line) => line.id === "doc-3")
      assert.strictEqual(changed.status, "Failed")
      assert.strictEqual(changed.errorTag, "JournalInputChanged")
      assert.match(changed.error, /journal holds a result for another input under this id/)
      assert.strictEqual(lines.filter((line) => line.replayed === true).length, 4)
      assert.match(second.stderr, /line 4: failed: .*journal holds a result for another input/)
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scopedLive("a new run under the id of a run the journal holds is refused: nothing replayed into it", () =>
    Effect.gen(function*() {
      const { directory, file } = yield* withInput(docs(4))
      const journal = path.join(directory, "journal.db")
      const output = path.join(directory, "results.jsonl")
      const first = yield* runCli(
        ["run", "-i", file, "-a", "classify", "-o", output, "--journal", journal, "--run-id", "nightly"],
        env
      )
      assert.strictEqual(first.code, 0, first.stderr)
      const before = fs.readFileSync(output, "utf8")
      // Another agent under the same id would get the classifier's labels as its summaries; the same agent would
      // get last night's results without asking for them. Either way: a usage error, and nothing touched.
      for (const agent of ["summarize", "classify"]) {
        const again = yield* runCli(
          ["run", "-i", file, "-a", agent, "-o", output, "--journal", journal, "--run-id", "nightly"],
          env
        )
        assert.strictEqual(again.code, Cli.ExitCode.Usage, again.stderr)
        assert.match(
          again.stderr,
          /the journal .*journal\.db already holds a run "nightly" \(agent classify\): resume it with --resume nightly, or give another --run-id/
        )
        assert.strictEqual(fs.readFileSync(output, "utf8"), before)
      }
      const listed = yield* runCli(["runs", "--journal", journal, "--json"])
      assert.strictEqual(JSON.parse(listed.stdout).starts, 1)
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scopedLive("entries the journal cannot read back run again, each named in a warning; the rest replay", () =>
    Effect.gen(function*() {
      const { directory, file } = yield* withInput(docs(5))
      const journal = path.join(directory, "journal.db")
      const output = path.join(directory, "results.jsonl")
      const args = ["run", "-i", file, "-a", "classify", "-o", output, "--journal", journal]
      const first = yield* runCli([...args, "--run-id", "r"], env)
      assert.strictEqual(first.code, 0, first.stderr)
      // Entries damaged outside the journal (a disk, an editor, another version): a result that is not JSON, one
      // that is JSON but not a result, an outcome the journal does not know.
      yield* Effect.scoped(Effect.gen(function*() {
        const sql = yield* LibsqlClient.make({ url: `file:${journal}` })
        yield* sql`UPDATE parallel_agents_journal_entries SET result = '{not json' WHERE task_id = 'doc-3'`
        yield* sql`UPDATE parallel_agents_journal_entries SET result = '{"_tag":"Nonsense"}' WHERE task_id = 'doc-1'`
        yield* sql`UPDATE parallel_agents_journal_entries SET outcome = 'Maybe' WHERE task_id = 'doc-0'`
      })).pipe(Effect.provide(Reactivity.layer))
      // Before, one such entry made the run impossible to resume: it failed before its first line. (Its log lines go
      // to stderr as the executable writes them, logfmt.)
      const logs: Array<string> = []
      const capture = Logger.replace(
        Logger.defaultLogger,
        Logger.map(Logger.logfmtLogger, (line) => {
          logs.push(line)
        })
      )
      const resumed = yield* runCli([...args, "--resume", "r"], env).pipe(Effect.provide(capture))
      assert.strictEqual(resumed.code, 0, resumed.stderr)
      const lines = readLines(output)
      assert.strictEqual(lines.length, 5)
      assert.isTrue(lines.every((line) => line.status === "Succeeded"))
      assert.deepStrictEqual(
        lines.filter((line) => line.replayed !== true).map((line) => line.id).sort(),
        ["doc-0", "doc-1", "doc-3"]
      )
      for (
        const [task, why] of [["doc-3", "its result is not JSON"], ["doc-0", `unknown outcome \\"Maybe\\"`], [
          "doc-1",
          "does not read back as a result (at [\\\"_tag\\\"]"
        ]] as const
      ) {
        const warning = logs.find((line) => line.includes(`taskId=${task}`))
        assert.isDefined(warning, logs.join("\n"))
        assert.include(warning, "level=WARN", warning)
        assert.include(warning, "runId=r", warning)
        assert.include(warning, why, warning)
        assert.include(warning, "it runs again", warning)
      }
      // Their new results were recorded: a resume now replays every line.
      logs.length = 0
      const again = yield* runCli([...args, "--resume", "r"], env).pipe(Effect.provide(capture))
      assert.strictEqual(again.code, 0, again.stderr)
      assert.isTrue(readLines(output).every((line) => line.replayed === true))
      assert.deepStrictEqual(logs, [])
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scopedLive("a resume that fails before its first line (a journal it cannot read) leaves the results file as it was", () =>
    Effect.gen(function*() {
      const { directory, file } = yield* withInput(docs(5))
      const journal = path.join(directory, "journal.db")
      const output = path.join(directory, "results.jsonl")
      const first = yield* runCli(
        ["run", "-i", file, "-a", "classify", "-o", output, "--journal", journal, "--run-id", "r"],
        env
      )
      assert.strictEqual(first.code, 0, first.stderr)
      const before = fs.readFileSync(output, "utf8")
      // The journal's entries cannot be read at all (a column gone: a journal of another version, say).
      yield* Effect.scoped(Effect.gen(function*() {
        const sql = yield* LibsqlClient.make({ url: `file:${journal}` })
        yield* sql`ALTER TABLE parallel_agents_journal_entries DROP COLUMN input_hash`
      })).pipe(Effect.provide(Reactivity.layer))
      const resumed = yield* runCli([
        "run",
        "-i",
        file,
        "-a",
        "classify",
        "-o",
        output,
        "--resume",
        "r",
        "--journal",
        journal
      ], env)
      assert.strictEqual(resumed.code, Cli.ExitCode.TasksFailed, resumed.stderr)
      assert.match(resumed.stderr, /input_hash/)
      // Before, the results file was replaced first: the run's 5 lines were lost with nothing in their place.
      assert.strictEqual(fs.readFileSync(output, "utf8"), before)
      assert.match(resumed.stderr, /Results: .*results\.jsonl, left as it was: the run wrote no line/)
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scopedLive("a run of no lines still replaces the results file, with an empty one", () =>
    Effect.gen(function*() {
      const { directory, file } = yield* withInput([])
      const output = path.join(directory, "results.jsonl")
      fs.writeFileSync(output, "previous\n")
      const { code, stderr } = yield* runCli(["run", "-i", file, "-a", "classify", "-o", output], env)
      assert.strictEqual(code, 0, stderr)
      assert.strictEqual(fs.readFileSync(output, "utf8"), "")
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scopedLive("misuse is a usage error that says what was wrong, before anything is written", () =>
    Effect.gen(function*() {
      const { directory, file } = yield* withInput(docs(3))
      const journal = path.join(directory, "journal.db")
      const output = path.join(directory, "results.jsonl")
      const usage = (args: ReadonlyArray<string>, message: RegExp) =>
        Effect.gen(function*() {
          const { code, stderr } = yield* runCli(args, env)
          assert.strictEqual(code, Cli.ExitCode.Usage, `${args.join(" ")}: ${stderr}`)
          assert.match(stderr, message)
        })
      yield* usage(
        ["run", "-i", file, "-a", "classify", "--resume", "abc", "--journal", journal],
        /^parallel-agents run: no journal at .*journal\.db: there is nothing to resume or list there/
      )
      assert.isFalse(fs.existsSync(journal))
      yield* usage(["runs", "--journal", journal], /^parallel-agents runs: no journal at /)
      // An empty file (a results file of no lines, say) is not a journal: listing it, or resuming from it, made it one.
      const empty = path.join(directory, "empty.jsonl")
      fs.writeFileSync(empty, "")
      yield* usage(["runs", "--journal", empty], /^parallel-agents runs: .*empty\.jsonl is empty: it is not a journal/)
      yield* usage(
        ["run", "-i", file, "-a", "classify", "--resume", "abc", "--journal", empty],
        /^parallel-agents run: .*empty\.jsonl is empty: it is not a journal/
      )
      assert.strictEqual(fs.statSync(empty).size, 0)
      // A folder: said so, rather than the driver's "ConnectionFailed(... 14)".
      yield* usage(
        ["runs", "--journal", directory],
        /^parallel-agents runs: .* is a folder, not a journal: give a file/
      )
      yield* usage(
        ["run", "-i", file, "-a", "classify", "--journal", directory],
        /^parallel-agents run: .* is a folder, not a journal: give a file/
      )
      yield* usage(
        ["run", "-i", file, "-a", "classify", "--retry-failed", "--journal", journal],
        /--retry-failed runs again the failures of a run that is resumed: give --resume <run-id>/
      )
      yield* usage(
        ["run", "-i", file, "-a", "classify", "-o", output, "--journal", output],
        /--output and --journal name the same file/
      )
      yield* usage(["run", "-i", file, "-a", "classify", "--journal", file], /--input and --journal name the same file/)
      // The journal's side files are the journal too: results written over its WAL lost the run it recorded.
      for (const side of ["-wal", "-shm", "-journal"]) {
        yield* usage(
          ["run", "-i", file, "-a", "classify", "-o", `${journal}${side}`, "--journal", journal],
          new RegExp(`--output and --journal name the same file \\(.*journal\\.db${side}, the journal's own\\)`)
        )
        yield* usage(
          ["run", "-i", file, "-a", "classify", "--report", `${journal}${side}`, "--journal", journal],
          /--report and --journal name the same file/
        )
      }
      yield* usage(
        ["run", "-i", file, "-a", "classify", "--journal", journal, "--cluster"],
        /--journal and --resume record a run of this process; on the cluster, its runners keep each task's result/
      )
      yield* usage(
        ["run", "-i", file, "-a", "classify", "--resume", "a", "--run-id", "b"],
        /--resume a and --run-id b name two runs: give one of them/
      )
      const first = yield* runCli(
        ["run", "-i", file, "-a", "classify", "-o", output, "--journal", journal, "--run-id", "named-run"],
        env
      )
      assert.strictEqual(first.code, 0, first.stderr)
      assert.strictEqual(runIdOf(first.stderr), "named-run")
      yield* usage(
        ["run", "-i", file, "-a", "classify", "--resume", "nosuch", "--journal", journal],
        new RegExp(`holds no run "nosuch"; its latest runs: ${runIdOf(first.stderr)} \\(parallel-agents runs\\)`)
      )
      yield* usage(
        ["run", "-i", file, "-a", "summarize", "--resume", runIdOf(first.stderr), "--journal", journal],
        /ran the agent "classify", not "summarize": resume it with the same --agent/
      )
      yield* usage(
        ["run", "-i", file, "-a", "classify", "--resume", runIdOf(first.stderr), "--resume", "x", "--journal", journal],
        /--resume is given twice/
      )
      assert.strictEqual(readLines(output).length, 3)
    }).pipe(Effect.provide(NodeContext.layer)))
})
