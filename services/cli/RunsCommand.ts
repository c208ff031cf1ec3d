/**
 * `parallel-agents runs`: lists the runs a journal holds (`run --journal`), the most recently started first, with
 * their agent, when they started, how many times, their state (`finished`, `deadline` when its deadline cut it
 * short, `running`, `stopped`), and their recorded results by outcome.
 * `--json` prints one JSON object per run instead.
 *
 * @since 0.1.0
 */
import * as CliCommand from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import type * as FileSystem from "@effect/platform/FileSystem"
import type * as Path from "@effect/platform/Path"
import * as Effect from "effect/Effect"
import type * as Option from "effect/Option"
import * as Predicate from "effect/Predicate"
import type * as RunJournal from "../../src/RunJournal.js"
import * as internal from "./internal/exit.js"
import * as Journal from "./internal/journal.js"
import * as Progress from "./internal/progress.js"
import * as Text from "./internal/text.js"
import * as Output from "./Output.js"

/**
 * The flags of `parallel-agents runs`, parsed.
 *
 * @category models
 * @since 0.1.0
 */
export interface RunsFlags {
  readonly journal: Option.Option<string>
  readonly json: boolean
}

/**
 * The flags of `parallel-agents runs`, as `@effect/cli` options.
 *
 * @category constructors
 * @since 0.1.0
 */
export const flags: { readonly [K in keyof RunsFlags]: Options.Options<RunsFlags[K]> } = {
  journal: Options.text("journal").pipe(
    Options.withPseudoName("file"),
    Options.withDescription(`The journal to read (${Journal.defaultFile} by default).`),
    Options.optional
  ),
  json: Options.boolean("json").pipe(Options.withDescription("Print one JSON object per run on stdout."))
}

/** A time in milliseconds since the epoch as `2026-12-05 08:30:00` (UTC). */
const time = (millis: number | undefined) =>
  millis === undefined ? "-" : new Date(millis).toISOString().slice(0, 19).replace("T", " ")

/** The agent as the command line names it (`classify`), from the run's options; else the agent's own name. */
const agentOf = (run: RunJournal.RunInfo): string | undefined =>
  Predicate.hasProperty(run.options, "agent") && typeof run.options.agent === "string" ? run.options.agent : run.agent

/** A run as listed: its journal's record, and whether a process is running it now. */
interface Listed extends RunJournal.RunInfo {
  readonly running?: boolean | undefined
}

/** Whether the run's deadline cut it short: `run` says so in the run's options. */
const cutShort = (run: RunJournal.RunInfo): boolean =>
  Predicate.hasProperty(run.options, "cutShort") && run.options.cutShort === "deadline"

const state = (run: Listed) =>
  run.finishedAt !== undefined
    ? cutShort(run) ? "deadline" : "finished"
    : run.running === true
    ? "running"
    : "stopped"

/**
 * The runs as a table for people: one row per run.
 *
 * @category getters
 * @since 0.1.0
 */
export const format = (
  runs: ReadonlyArray<RunJournal.RunInfo & { readonly running?: boolean | undefined }>
): string => {
  const header = ["RUN", "AGENT", "STARTED (UTC)", "STARTS", "STATE", "RECORDED", "SUCCEEDED", "FAILED", "TIMED OUT"]
  const rows = runs.map((run) => [
    Text.escape(run.runId),
    Text.escape(agentOf(run) ?? "-"),
    time(run.startedAt),
    String(run.starts),
    state(run),
    Progress.count(run.recorded.total),
    Progress.count(run.recorded.succeeded),
    Progress.count(run.recorded.failed),
    Progress.count(run.recorded.timedOut)
  ])
  const widths = header.map((title, i) => Math.max(title.length, ...rows.map((row) => row[i]!.length)))
  // Text columns are left-aligned, counts right-aligned.
  const line = (cells: ReadonlyArray<string>) =>
    cells.map((cell, i) => i >= 3 && i !== 4 ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!)).join("  ")
      .trimEnd()
  return [line(header), ...rows.map(line)].join("\n")
}

const listRuns = Effect.fnUntraced(function*(options: RunsFlags) {
  const output = yield* Output.Output
  const opened = yield* Journal.open({ command: "runs", file: options.journal, create: false })
  const { journal, shown } = opened
  const recorded = yield* journal.runs.pipe(
    Effect.catchAll((error) =>
      Effect.zipRight(
        output.stderr(
          `parallel-agents runs: cannot read the journal ${Text.escape(shown)}: ${Text.escape(error.message)}\n`
        ),
        Effect.fail(new internal.CliExit({ code: internal.ExitCode.TasksFailed }))
      )
    )
  )
  // A run that has not finished is running, or stopped (Ctrl-C, a crash): its process holds its lock while it runs.
  const runs: Array<Listed> = yield* Effect.forEach(recorded, (run) =>
    run.finishedAt !== undefined
      ? Effect.succeed(run)
      : Effect.map(Journal.isRunning(opened, run.runId), (running) => ({ ...run, running })))
  if (options.json) {
    let text = ""
    for (const run of runs) {
      text += JSON.stringify({
        runId: run.runId,
        state: state(run),
        agent: run.agent ?? null,
        options: run.options ?? null,
        startedAt: run.startedAt ?? null,
        starts: run.starts,
        resumedAt: run.resumedAt ?? null,
        finishedAt: run.finishedAt ?? null,
        running: run.running === true,
        lastRecordedAt: run.lastRecordedAt ?? null,
        recorded: run.recorded
      }) + "\n"
    }
    return yield* output.stdout(text)
  }
  if (runs.length === 0) return yield* output.stdout(`The journal ${Text.escape(shown)} holds no runs.\n`)
  yield* output.stdout(format(runs) + "\n")
}, Effect.scoped)

/**
 * `parallel-agents runs`: lists the runs of a journal.
 *
 * @category constructors
 * @since 0.1.0
 */
export const command: CliCommand.Command<
  "runs",
  Output.Output | FileSystem.FileSystem | Path.Path,
  internal.CliExit,
  RunsFlags
> = CliCommand.make("runs", flags, listRuns).pipe(
  CliCommand.withDescription(
    `List the runs a journal holds (${Journal.defaultFile} by default), the latest first, with their recorded ` +
      "results: resume one with parallel-agents run --resume <run-id>. Exit codes: 0 listed, 2 no journal there."
  )
)
