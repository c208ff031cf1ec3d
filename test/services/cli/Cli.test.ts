import { FetchHttpClient } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Cause, ConfigProvider, Effect, Exit, FiberId, Layer } from "effect"
import * as Cli from "../../../services/cli/Cli.js"
import * as Text from "../../../services/cli/internal/text.js"
import * as Output from "../../../services/cli/Output.js"
import { runCli, serverFactory, withInput } from "./runCli.js"

describe("Cli", () => {
  it.effect("an unknown subcommand is a usage error: exit code 2", () =>
    Effect.gen(function*() {
      const { code } = yield* runCli(["translate"])
      assert.strictEqual(code, Cli.ExitCode.Usage)
    }).pipe(Effect.provide(NodeContext.layer)))

  it.effect("run --help: the usage names the command, the flags are described, no colours off a terminal", () =>
    Effect.gen(function*() {
      const { code, stderr, stdout } = yield* runCli(["run", "--help"])
      assert.strictEqual(code, Cli.ExitCode.Success, stderr)
      assert.include(
        stdout,
        "$ parallel-agents run (-i, --input file) (-a, --agent name) [(-c, --concurrency integer)]"
      )
      assert.notInclude(stdout, "$ run")
      assert.include(stdout, "The agent to run: classify (")
      assert.include(stdout, "--deadline duration")
      assert.notInclude(stdout, "A user-defined piece of text")
      assert.notInclude(stdout, "\u001b")
      const root = yield* runCli(["--help"])
      assert.strictEqual(root.code, Cli.ExitCode.Success)
      assert.include(root.stdout, "$ parallel-agents")
      assert.notInclude(root.stdout, "\u001b")
    }).pipe(Effect.provide(NodeContext.layer)))

  it.effect("@effect/cli's messages go to stderr, with the arguments they quote escaped", () =>
    Effect.gen(function*() {
      const { code, stderr, stdout } = yield* runCli(["run", "-i", "\u001b]0;title\u0007", "-a", "x\u001b[2J"])
      assert.strictEqual(code, Cli.ExitCode.Usage)
      assert.strictEqual(stdout, "")
      assert.include(stderr, "\\x1b]0;title\\x07")
      assert.isFalse(Text.hasControl(stderr))
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scopedLive("on a terminal, the progress bar's own codes are the only ones that reach it", () =>
    Effect.gen(function*() {
      const { file } = yield* withInput([
        "\u001b]0;pwned\u0007 not JSON",
        JSON.stringify({ text: "Sample document number 0" })
      ])
      let stderr = ""
      const terminal = Output.Output.of({
        stdout: () => Effect.void,
        stderr: (text) =>
          Effect.sync(() => {
            stderr += text
          }),
        interactive: true,
        columns: () => 100
      })
      const code = yield* Cli.run(["node", "parallel-agents", "run", "-i", file, "-a", "classify"]).pipe(
        Effect.provideService(Output.Output, terminal),
        Effect.withConfigProvider(
          ConfigProvider.fromMap(new Map([["AGENT_MODEL", "offline"], ["AGENT_OFFLINE_LATENCY", "300 millis"]]))
        ),
        Effect.provide(Layer.merge(FetchHttpClient.layer, serverFactory))
      )
      assert.strictEqual(code, Cli.ExitCode.TasksFailed)
      assert.include(stderr, "\r\u001b[2K[")
      assert.include(stderr, "\\x1b]0;pwned\\x07")
      assert.isFalse(Text.hasControl(stderr.split("\r\u001b[2K").join("")))
    }).pipe(Effect.provide(NodeContext.layer)))

  it("the teardown exits with the code run returned, 130 when interrupted, 1 on any other failure", () => {
    const codes: Array<number> = []
    const onExit = (code: number) => {
      codes.push(code)
    }
    Cli.teardown(Exit.succeed(Cli.ExitCode.Usage), onExit)
    Cli.teardown(Exit.succeed(undefined), onExit)
    Cli.teardown(Exit.interrupt(FiberId.none), onExit)
    Cli.teardown(Exit.failCause(Cause.die("boom")), onExit)
    assert.deepStrictEqual(codes, [2, 0, 130, 1])
  })
})
