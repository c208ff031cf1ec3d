/**
 * The command line, `parallel-agents`, on `@effect/cli`: the root command and its subcommands `run`
 * (`RunCommand`) and `runner` (`RunnerCommand`), `run` to run it on `argv` and get its exit code, and the `teardown`
 * that exits the process with that code. `parallel-agents run --input tasks.jsonl --agent classify` runs a built-in
 * agent over a JSONL file of tasks; `parallel-agents runner` joins a cluster as a runner.
 *
 * @since 0.1.0
 */
import * as CliCommand from "@effect/cli/Command"
import * as ValidationError from "@effect/cli/ValidationError"
import type * as FileSystem from "@effect/platform/FileSystem"
import type * as HttpClient from "@effect/platform/HttpClient"
import type * as Path from "@effect/platform/Path"
import type * as Runtime from "@effect/platform/Runtime"
import type * as Terminal from "@effect/platform/Terminal"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as internal from "./internal/exit.js"
import * as Output from "./Output.js"
import * as RunCommand from "./RunCommand.js"
import * as RunnerCommand from "./RunnerCommand.js"

/**
 * The exit codes: `0` every task succeeded; `1` a task did not succeed (failed, bad input, timed out) or the run
 * ended on an error; `2` a usage or setup error (a bad flag, an unknown agent, a missing input file, a malformed
 * configuration), before any task ran; `130` the run was interrupted (Ctrl-C).
 *
 * @category models
 * @since 0.1.0
 */
export const ExitCode: {
  readonly Success: 0
  readonly TasksFailed: 1
  readonly Usage: 2
  readonly Interrupted: 130
} = internal.ExitCode

/**
 * The `parallel-agents` command and its subcommands.
 *
 * @category constructors
 * @since 0.1.0
 */
export const command = CliCommand.make("parallel-agents").pipe(
  CliCommand.withDescription("Run many LLM agents in parallel."),
  CliCommand.withSubcommands([RunCommand.command, RunnerCommand.command])
)

/**
 * Runs the command line on `argv` (as `process.argv`: the runtime and the script first) and returns the exit code
 * (see `ExitCode`); it fails only with interruption.
 *
 * @category constructors
 * @since 0.1.0
 */
export const run = (
  argv: ReadonlyArray<string>
): Effect.Effect<
  number,
  never,
  Output.Output | HttpClient.HttpClient | FileSystem.FileSystem | Path.Path | Terminal.Terminal
> =>
  CliCommand.run(command, { name: "parallel-agents", version: "0.1.0" })(argv).pipe(
    Effect.as(ExitCode.Success as number),
    Effect.catchAll((error) =>
      error instanceof internal.CliExit
        ? Effect.succeed(error.code)
        : ValidationError.isValidationError(error)
        ? Effect.succeed(ExitCode.Usage as number)
        : Effect.zipRight(
          Effect.flatMap(Output.Output, (output) => output.stderr(`parallel-agents: ${String(error)}\n`)),
          Effect.succeed(ExitCode.TasksFailed as number)
        )
    ),
    Effect.catchAllDefect((defect) =>
      Effect.zipRight(
        Effect.flatMap(
          Output.Output,
          (output) => output.stderr(`parallel-agents: unexpected error: ${String(defect)}\n`)
        ),
        Effect.succeed(ExitCode.TasksFailed as number)
      )
    )
  )

/**
 * The teardown for `NodeRuntime.runMain`: the exit code `run` returned, 130 when interrupted (Ctrl-C), 1 on any
 * other failure.
 *
 * @category constructors
 * @since 0.1.0
 */
export const teardown: Runtime.Teardown = (exit, onExit) =>
  onExit(
    Exit.isSuccess(exit)
      ? (typeof exit.value === "number" ? exit.value : ExitCode.Success)
      : Cause.isInterruptedOnly(exit.cause)
      ? ExitCode.Interrupted
      : ExitCode.TasksFailed
  )
