/**
 * The command line, `parallel-agents`, on `@effect/cli`: the root command and its subcommands `run` (`RunCommand`),
 * `serve` (`ServeCommand`) and `runner` (`RunnerCommand`), `run` to run it on `argv` and get its exit code, and the
 * `teardown` that exits the process with that code. `parallel-agents run --input tasks.jsonl --agent classify` runs a
 * built-in agent over a JSONL file of tasks; `parallel-agents serve` serves the HTTP API and the dashboard;
 * `parallel-agents runner` joins a cluster as a runner.
 *
 * @since 0.1.0
 */
import * as CliConfig from "@effect/cli/CliConfig"
import * as CliCommand from "@effect/cli/Command"
import * as CommandDescriptor from "@effect/cli/CommandDescriptor"
import * as HelpDoc from "@effect/cli/HelpDoc"
import * as Span from "@effect/cli/HelpDoc/Span"
import * as Usage from "@effect/cli/Usage"
import * as ValidationError from "@effect/cli/ValidationError"
import type * as FileSystem from "@effect/platform/FileSystem"
import type * as HttpClient from "@effect/platform/HttpClient"
import type * as Path from "@effect/platform/Path"
import type * as Runtime from "@effect/platform/Runtime"
import * as Terminal from "@effect/platform/Terminal"
import * as Cause from "effect/Cause"
import type * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as HashMap from "effect/HashMap"
import * as Option from "effect/Option"
import * as Flags from "./Flags.js"
import * as internal from "./internal/exit.js"
import * as Progress from "./internal/progress.js"
import * as Text from "./internal/text.js"
import * as Output from "./Output.js"
import * as RunCommand from "./RunCommand.js"
import * as RunnerCommand from "./RunnerCommand.js"
import * as RunsCommand from "./RunsCommand.js"
import * as ServeCommand from "./ServeCommand.js"

/**
 * The exit codes: `0` every task succeeded; `1` a task did not succeed (failed, bad input, timed out) or the run
 * ended on an error (a results file that failed to take a write, say); `2` a usage or setup error (a bad flag, an
 * unknown agent, an input that cannot be read, files that are one, an output that cannot be written, a malformed
 * configuration), before anything was written; `130` the run was interrupted (Ctrl-C).
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
  CliCommand.withSubcommands([RunCommand.command, RunsCommand.command, ServeCommand.command, RunnerCommand.command])
)

const name = "parallel-agents"
const version = "0.1.0"

/**
 * Runs the command line on `argv` (as `process.argv`: the runtime and the script first) and returns the exit code
 * (see `ExitCode`); it fails only with interruption. Everything it prints goes through `Output`, control characters
 * escaped (only the progress bar's own reach a terminal); `@effect/cli`'s help and messages too, without colours
 * when they do not go to a terminal (`Terminal.isTTY` for stdout, `Output`'s `interactive` for stderr).
 *
 * @category constructors
 * @since 0.1.0
 */
export const run = (
  argv: ReadonlyArray<string>
): Effect.Effect<
  number,
  never,
  | Output.Output
  | ServeCommand.ServerFactory
  | HttpClient.HttpClient
  | FileSystem.FileSystem
  | Path.Path
  | Terminal.Terminal
> =>
  Effect.gen(function*() {
    const output = yield* Output.Output
    const stdoutIsTerminal = yield* Effect.flatMap(Terminal.Terminal, (terminal) => terminal.isTTY)
    const console = cliConsole(output, stdoutIsTerminal, yield* Effect.console)
    const guarded = guard(output)
    const args = argv.slice(2)
    const at = args.findIndex((arg) => HashMap.has(subcommands, arg))
    if (at >= 0) {
      const subcommand = args[at]!
      const rest = args.slice(at + 1)
      // @effect/cli shows a subcommand's help without the command's name (`$ run ...`): it is shown here in full.
      if (rest.includes("--help") || rest.includes("-h")) {
        yield* console.log(HelpDoc.toAnsiText(subcommandHelp(subcommand, CliConfig.defaultConfig)))
        return ExitCode.Success as number
      }
      const problem = subcommand === "run"
        ? Flags.check(rest)
        : subcommand === "serve"
        ? Flags.checkWholeNumbers(rest, { "--port": "--port", "-p": "--port" })
        : subcommand === "runner"
        ? Flags.checkWholeNumbers(rest, { "--port": "--port", "--concurrency": "--concurrency", "-c": "--concurrency" })
        : Option.none()
      if (Option.isSome(problem)) {
        yield* guarded.stderr(`${name} ${subcommand}: ${Text.escape(problem.value)}\n`)
        return ExitCode.Usage as number
      }
    }
    return yield* CliCommand.run(command, { name, version })(argv).pipe(
      Effect.as(ExitCode.Success as number),
      Effect.catchAll((error) =>
        error instanceof internal.CliExit
          ? Effect.succeed(error.code)
          : ValidationError.isValidationError(error)
          ? Effect.succeed(ExitCode.Usage as number)
          : Effect.as(guarded.stderr(`${name}: ${Text.escape(String(error))}\n`), ExitCode.TasksFailed as number)
      ),
      Effect.catchAllDefect((defect) =>
        Effect.as(
          guarded.stderr(`${name}: unexpected error: ${Text.escape(String(defect))}\n`),
          ExitCode.TasksFailed as number
        )
      ),
      Effect.provideService(Output.Output, guarded),
      Effect.withConsole(console)
    )
  })

/**
 * The output streams with every control character escaped but the line break and the progress bar's own (the code
 * that erases its line), whatever a caller forgot to escape.
 */
const guard = (output: Output.Service): Output.Service =>
  Output.Output.of({
    ...output,
    stdout: (text) => output.stdout(Text.escapeLines(text)),
    stderr: (text) => output.stderr(text.split(Progress.clearLine).map(Text.escapeLines).join(Progress.clearLine))
  })

/**
 * The `Console` `@effect/cli` prints its help (`log`, to stdout) and its messages (`error`, to stderr) with, through
 * the output streams: control characters escaped, colours kept only for help on a terminal (messages quote the
 * arguments they reject, so they never keep any).
 */
const cliConsole = (output: Output.Service, stdoutIsTerminal: boolean, base: Console.Console): Console.Console => {
  const text = (args: ReadonlyArray<unknown>) => args.map(String).join(" ") + "\n"
  const help = (...args: ReadonlyArray<unknown>) =>
    output.stdout(
      stdoutIsTerminal ? Text.escapeKeepingStyles(text(args)) : Text.escapeLines(Text.stripStyles(text(args)))
    )
  const message = (...args: ReadonlyArray<unknown>) => output.stderr(Text.escapeLines(Text.stripStyles(text(args))))
  return { ...base, log: help, info: help, error: message, warn: message, debug: message }
}

const subcommands = CliCommand.getSubcommands(command)

/** The help of a subcommand, as `@effect/cli` shows a command's, with the command's name in its usage. */
const subcommandHelp = (subcommand: string, config: CliConfig.CliConfig): HelpDoc.HelpDoc => {
  const descriptor = HashMap.unsafeGet(subcommands, subcommand)
  const usage = Usage.enumerate(
    Usage.concat(Usage.named([name], Option.none()), CommandDescriptor.getUsage(descriptor)),
    config
  )
  return [
    HelpDoc.h1(Span.code(name)),
    HelpDoc.p(`${name} ${version}`),
    HelpDoc.h1("USAGE"),
    ...usage.map((span) => HelpDoc.p(Span.concat(Span.text("$ "), span))),
    withoutTextHint(CommandDescriptor.getHelp(descriptor, config))
  ].reduce(HelpDoc.sequence)
}

// `@effect/cli` describes every text flag as "A user-defined piece of text.": the flags' own descriptions say more.
const textHint = "A user-defined piece of text."

const withoutTextHint = (doc: HelpDoc.HelpDoc): HelpDoc.HelpDoc => {
  switch (doc._tag) {
    case "Sequence":
      return HelpDoc.sequence(withoutTextHint(doc.left), withoutTextHint(doc.right))
    case "DescriptionList": {
      const [first, ...rest] = doc.definitions.map(([span, block]): [Span.Span, HelpDoc.HelpDoc] => [
        span,
        withoutTextHint(block)
      ])
      return HelpDoc.descriptionList([first!, ...rest])
    }
    case "Paragraph":
      return Span.isText(doc.value) && doc.value.value === textHint ? HelpDoc.empty : doc
    default:
      return doc
  }
}

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
