import { NodeContext } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Cli from "../../../services/cli/Cli.js"
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
    }).pipe(Effect.provide(NodeContext.layer)))
})
