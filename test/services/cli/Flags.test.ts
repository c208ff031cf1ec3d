import { NodeContext } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect, Option } from "effect"
import * as Cli from "../../../services/cli/Cli.js"
import * as Flags from "../../../services/cli/Flags.js"
import { runCli, withInput } from "./runCli.js"

describe("Flags", () => {
  it("reads durations as 30s, 500ms, 2m, 1h or Effect's own", () => {
    const millis = (text: string) => Option.map(Flags.parseDuration(text), Duration.toMillis)
    assert.deepStrictEqual(millis("30s"), Option.some(30_000))
    assert.deepStrictEqual(millis("500ms"), Option.some(500))
    assert.deepStrictEqual(millis("1.5m"), Option.some(90_000))
    assert.deepStrictEqual(millis("1h"), Option.some(3_600_000))
    assert.deepStrictEqual(millis("2 seconds"), Option.some(2_000))
    assert.isTrue(Option.isNone(Flags.parseDuration("soon")))
  })

  it.scopedLive("a bad flag exits with 2 and says what is wrong: an unknown agent lists the known ones", () =>
    Effect.gen(function*() {
      const { file } = yield* withInput([`{"text": "a"}`])
      const unknown = yield* runCli(["run", "--input", file, "--agent", "translate"])
      assert.strictEqual(unknown.code, Cli.ExitCode.Usage)
      assert.include(unknown.stderr, `Unknown agent "translate". The known agents are: classify, summarize.`)
      const missing = yield* runCli(["run", "--input", `${file}.missing`, "--agent", "classify"])
      assert.strictEqual(missing.code, Cli.ExitCode.Usage)
      const concurrency = yield* runCli(["run", "--input", file, "--agent", "classify", "--concurrency", "0"])
      assert.strictEqual(concurrency.code, Cli.ExitCode.Usage)
      assert.include(concurrency.stderr, "--concurrency: expected 1 or more, got 0")
      const retries = yield* runCli(["run", "--input", file, "--agent", "classify", "--retries", "-1"])
      assert.strictEqual(retries.code, Cli.ExitCode.Usage)
      assert.include(retries.stderr, "--retries: expected 0 or more, got -1")
      const timeout = yield* runCli(["run", "--input", file, "--agent", "classify", "--timeout", "soon"])
      assert.strictEqual(timeout.code, Cli.ExitCode.Usage)
      assert.include(timeout.stderr, `--timeout: expected a duration above 0 such as 30s, 500ms or 2m, got "soon"`)
      const zero = yield* runCli(["run", "--input", file, "--agent", "classify", "--progress-interval", "0s"])
      assert.strictEqual(zero.code, Cli.ExitCode.Usage)
      assert.include(zero.stderr, `--progress-interval: expected a duration above 0`)
    }).pipe(Effect.provide(NodeContext.layer)))
})
