import { NodeContext } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect, Either, Option } from "effect"
import * as Cli from "../../../services/cli/Cli.js"
import * as Flags from "../../../services/cli/Flags.js"
import * as ExecutorConfig from "../../../src/ExecutorConfig.js"
import { runCli, withInput } from "./runCli.js"

describe("Flags", () => {
  it("reads durations as every duration is read: 30s, 500ms, 1.5m, 1h or Effect's own; never zero or less", () => {
    const millis = (text: string) => Either.map(ExecutorConfig.decodeTimeout(text), Duration.toMillis)
    assert.deepStrictEqual(millis("30s"), Either.right(30_000))
    assert.deepStrictEqual(millis("500ms"), Either.right(500))
    assert.deepStrictEqual(millis("1.5m"), Either.right(90_000))
    assert.deepStrictEqual(millis("1h"), Either.right(3_600_000))
    assert.deepStrictEqual(millis("2 seconds"), Either.right(2_000))
    for (const bad of ["soon", "0s", "-5 seconds", ""]) assert.isTrue(Either.isLeft(millis(bad)), bad)
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
      assert.include(
        timeout.stderr,
        `--timeout: expected a duration longer than zero, such as "30 seconds", "30s", "500ms", "2m", or a number of milliseconds, got "soon"`
      )
      const zero = yield* runCli(["run", "--input", file, "--agent", "classify", "--progress-interval", "0s"])
      assert.strictEqual(zero.code, Cli.ExitCode.Usage)
      assert.include(zero.stderr, `--progress-interval: expected a duration longer than zero`)
      const deadline = yield* runCli(["run", "--input", file, "--agent", "classify", "--deadline", "-5s"])
      assert.strictEqual(deadline.code, Cli.ExitCode.Usage)
      assert.include(deadline.stderr, `--deadline: expected a duration longer than zero`)
      // The engine's limit: more is a usage error, not an attempt to allocate it.
      const huge = yield* runCli(["run", "--input", file, "--agent", "classify", "-c", "10000000"])
      assert.strictEqual(huge.code, Cli.ExitCode.Usage)
      assert.include(huge.stderr, "--concurrency: expected at most 1,000,000, got 10,000,000")
      assert.strictEqual(huge.stdout, "")
      // A whole number written otherwise: `@effect/cli` said "'abc' is not a integer", naming no flag, and took
      // 0x10 for 16 and 1e9 for a billion retries.
      for (
        const [flag, value] of [["-c", "abc"], ["--concurrency", "0x10"], ["--retries", "1e9"], ["--retries", "2.5"]]
      ) {
        const bad = yield* runCli(["run", "--input", file, "--agent", "classify", flag!, value!])
        assert.strictEqual(bad.code, Cli.ExitCode.Usage)
        assert.match(
          bad.stderr,
          new RegExp(`--(concurrency|retries): expected a whole number, such as ${flag} \\d+, got "${value}"`)
        )
      }
      const equals = yield* runCli(["run", "--input", file, "--agent", "classify", "--retries=x"])
      assert.include(equals.stderr, `--retries: expected a whole number, such as --retries 2, got "x"`)
    }).pipe(Effect.provide(NodeContext.layer)))

  it("check: a flag given twice, or a flag with no value, says so; other mistakes are left to the parser", () => {
    const check = (...args: ReadonlyArray<string>) => Option.getOrUndefined(Flags.check(args))
    assert.strictEqual(
      check("-i", "tasks.jsonl", "-c", "2", "-a", "classify", "-c", "3"),
      "--concurrency is given twice (-c 2, then -c 3): give it once"
    )
    assert.strictEqual(
      check("--json", "-i", "x", "--json"),
      "--json is given twice (--json, then --json): give it once"
    )
    assert.strictEqual(check("-i", "x", "--concurrency"), "--concurrency needs a value, such as --concurrency 8")
    assert.strictEqual(check("-c", "--json", "-i", "x"), "-c (--concurrency) needs a value, such as -c 8")
    assert.strictEqual(check("--timeout=", "-i", "x"), "--timeout needs a value, such as --timeout 30s")
    assert.strictEqual(check("--deadline", "-h"), "--deadline needs a value, such as --deadline 10m")
    assert.isUndefined(check("-i", "x", "-a", "classify", "-c", "8", "--timeout=30s", "--retries", "-1", "--unknown"))
    // A value that looks like a flag of `run` is a flag; after `--`, nothing is.
    assert.isUndefined(check("-o", "results.jsonl", "--", "-c", "-c"))
  })

  it.scopedLive("a flag given twice or given no value: exit 2, saying which, before anything is touched", () =>
    Effect.gen(function*() {
      const { file } = yield* withInput([`{"text": "a"}`])
      const twice = yield* runCli(["run", "-i", file, "-a", "classify", "-c", "2", "-c", "3"])
      assert.strictEqual(twice.code, Cli.ExitCode.Usage)
      assert.strictEqual(
        twice.stderr,
        "parallel-agents run: --concurrency is given twice (-c 2, then -c 3): give it once\n"
      )
      const bare = yield* runCli(["run", "-i", file, "-a", "classify", "--concurrency"])
      assert.strictEqual(bare.code, Cli.ExitCode.Usage)
      assert.strictEqual(bare.stderr, "parallel-agents run: --concurrency needs a value, such as --concurrency 8\n")
      assert.notInclude(twice.stderr + bare.stderr, "Received unknown argument")
    }).pipe(Effect.provide(NodeContext.layer)))
})
