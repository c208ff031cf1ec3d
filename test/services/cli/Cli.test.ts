import { NodeContext } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Cause, Effect, Exit, FiberId } from "effect"
import * as Cli from "../../../services/cli/Cli.js"
import { runCli } from "./runCli.js"

describe("Cli", () => {
  it.effect("an unknown subcommand is a usage error: exit code 2", () =>
    Effect.gen(function*() {
      const { code } = yield* runCli(["translate"])
      assert.strictEqual(code, Cli.ExitCode.Usage)
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
