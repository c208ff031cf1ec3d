/**
 * The command line, `parallel-agents`, on `@effect/cli`. `parallel-agents run --input tasks.jsonl --agent classify`
 * streams a JSONL file of tasks through a built-in agent (`AgentRegistry`) with `Executor.stream`, writes one JSON
 * line per task as it ends, shows progress, and prints a summary. A line that is not JSON or does not fit the
 * agent's input schema fails on its own, with its line number. Ctrl-C stops the run: running agents are
 * interrupted and released, every finished result is written, and the summary is printed.
 *
 * @since 0.1.0
 */
import type * as AiError from "@effect/ai/AiError"
import * as CliCommand from "@effect/cli/Command"
import * as HelpDoc from "@effect/cli/HelpDoc"
import * as Options from "@effect/cli/Options"
import * as ValidationError from "@effect/cli/ValidationError"
import * as FileSystem from "@effect/platform/FileSystem"
import type * as HttpClient from "@effect/platform/HttpClient"
import * as Path from "@effect/platform/Path"
import type * as Runtime from "@effect/platform/Runtime"
import type * as Terminal from "@effect/platform/Terminal"
import * as Cause from "effect/Cause"
import type * as Chunk from "effect/Chunk"
import * as Config from "effect/Config"
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Random from "effect/Random"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as Agent from "../../src/Agent.js"
import * as AgentInstance from "../../src/AgentInstance.js"
import * as Executor from "../../src/Executor.js"
import * as Retry from "../../src/Retry.js"
import * as RunEvent from "../../src/RunEvent.js"
import * as RunReport from "../../src/RunReport.js"
import * as RunReportHtml from "../../src/RunReportHtml.js"
import * as Task from "../../src/Task.js"
import * as TaskResult from "../../src/TaskResult.js"
import * as Usage from "../../src/Usage.js"
import * as AgentModel from "../models/AgentModel.js"
import * as AgentRegistry from "../models/AgentRegistry.js"
import * as LanguageModelAgent from "../models/LanguageModelAgent.js"
import * as Progress from "./internal/progress.js"

// =============================================================================
// models
// =============================================================================

/**
 * The exit codes: `0` every task succeeded; `1` a task did not succeed (failed, bad input, timed out) or the run
 * ended on an error; `2` a usage or setup error (a bad flag, an unknown agent, a missing input file, a malformed
 * configuration), before any task ran; `130` the run was interrupted (Ctrl-C).
 *
 * @category models
 * @since 0.1.0
 */
export const ExitCode = {
  Success: 0,
  TasksFailed: 1,
  Usage: 2,
  Interrupted: 130
} as const

/**
 * Where the command line writes. `stdout` carries data only (result lines without `--output`, the `--json`
 * summary); `stderr` carries what people read (progress, failed lines, the summary).
 *
 * @category models
 * @since 0.1.0
 */
export interface Service {
  readonly stdout: (text: string) => Effect.Effect<void>
  readonly stderr: (text: string) => Effect.Effect<void>
  /** Whether stderr is a terminal: then progress is a bar redrawn in place, otherwise a plain line now and then. */
  readonly interactive: boolean
  /** The terminal's width in columns, 0 when unknown. */
  readonly columns: () => number
}

/**
 * The command line's output streams, provided by the program that runs it (`services/bin/parallel-agents.ts` on
 * Node.js, a capturing double in tests).
 *
 * @category services
 * @since 0.1.0
 */
export class Output extends Context.Tag("effect-parallel-agents/Cli/Output")<Output, Service>() {}

/**
 * The options of `parallel-agents run`, parsed.
 *
 * @category models
 * @since 0.1.0
 */
export interface RunOptions {
  readonly input: string
  readonly agent: AgentRegistry.AnyEntry
  readonly concurrency: Option.Option<number>
  readonly timeout: Option.Option<Duration.Duration>
  readonly retries: number
  readonly output: Option.Option<string>
  readonly report: Option.Option<string>
  readonly json: boolean
  readonly progressInterval: Duration.Duration
}

/**
 * The summary `--json` prints: one JSON object, the last line on stdout.
 *
 * @category models
 * @since 0.1.0
 */
export interface Summary {
  readonly agent: string
  readonly model: string
  readonly runId: string
  /** How many agents ran at once, at most. */
  readonly concurrency: number
  /** The input file, as an absolute path. */
  readonly input: string
  /** The results file, or `null` when the results went to stdout. */
  readonly output: string | null
  /** The HTML report, or `null` without `--report`. */
  readonly report: string | null
  /** Whether Ctrl-C stopped the run. */
  readonly interrupted: boolean
  readonly exitCode: number
  /** The tasks that ended, by outcome. */
  readonly summary: RunReport.Summary
  /** Failed tasks whose line was not JSON or did not fit the agent's input schema. */
  readonly badInput: number
  /** Non-blank lines with a result: every line read, unless Ctrl-C stopped the run. */
  readonly linesDone: number
  /** Non-blank lines in the input, `null` if the run ended before they were counted. */
  readonly linesTotal: number | null
  readonly wallMillis: number
  /** The sum of task durations: what the tasks would take one after another. */
  readonly busyMillis: number
  /** Attempts that failed and were retried. */
  readonly retries: number
  readonly usage: Usage.Usage
}

/**
 * Settings the command line reads from configuration, besides those of `Executor.layerConfig` (`AGENT_CONCURRENCY`,
 * `AGENT_TIMEOUT`) and `AgentModel.layerConfig` (`AGENT_MODEL`, `OPENAI_API_KEY`, `OPENAI_BASE_URL`):
 *
 * - `AGENT_OFFLINE_LATENCY`: how long the offline model takes to answer (a duration such as `2 seconds`), instead
 *   of its default 100 to 120 ms; for demonstrations and tests of long runs.
 *
 * @category config
 * @since 0.1.0
 */
export const config: Config.Config<{ readonly offlineLatency: Option.Option<Duration.Duration> }> = Config.all({
  offlineLatency: Config.duration("AGENT_OFFLINE_LATENCY").pipe(
    Config.withDescription("How long the offline model takes to answer"),
    Config.option
  )
})

/** The handler's way out with an exit code other than 0. */
class CliExit extends Data.TaggedError("CliExit")<{ readonly code: number }> {}

/** How many failed lines are printed as they happen; the rest are only in the results. */
const liveReports = 20

/** How long, after Ctrl-C, the run has to report the tasks under way (a task waiting to retry, say). */
const stopGrace = Duration.seconds(3)

// =============================================================================
// options
// =============================================================================

const invalid = (message: string) => ValidationError.invalidValue(HelpDoc.p(message))

/**
 * Reads a duration: `500ms`, `30s`, `2m`, `1h`, or Effect's `30 seconds`.
 *
 * @category config
 * @since 0.1.0
 */
export const parseDuration = (text: string): Option.Option<Duration.Duration> => {
  const short = text.trim().match(/^(\d+(?:\.\d+)?)\s*(ms|s|m|h)$/)
  if (short !== null) {
    const n = Number(short[1])
    switch (short[2]) {
      case "ms":
        return Option.some(Duration.millis(n))
      case "s":
        return Option.some(Duration.seconds(n))
      case "m":
        return Option.some(Duration.minutes(n))
      default:
        return Option.some(Duration.hours(n))
    }
  }
  return Duration.decodeUnknown(text.trim())
}

const durationOption = (name: string) =>
  Options.text(name).pipe(
    Options.withPseudoName("duration"),
    Options.mapEffect((text) =>
      Option.match(Option.filter(parseDuration(text), (d) => Duration.greaterThan(d, Duration.zero)), {
        onNone: () =>
          Effect.fail(invalid(`--${name}: expected a duration above 0 such as 30s, 500ms or 2m, got "${text}"`)),
        onSome: Effect.succeed
      })
    )
  )

const agentList = AgentRegistry.builtIn.map((entry) => `${entry.name} (${entry.description})`).join(", ")

const options = {
  input: Options.file("input", { exists: "yes" }).pipe(
    Options.withAlias("i"),
    Options.withDescription(
      "The JSONL file of tasks: one JSON object per line (its `id`, if any, is the task's id); blank lines are " +
        "skipped."
    )
  ),
  agent: Options.text("agent").pipe(
    Options.withAlias("a"),
    Options.withPseudoName("name"),
    Options.withDescription(`The agent to run: ${agentList}.`),
    Options.mapEffect((name) =>
      Option.match(AgentRegistry.find(name), {
        onNone: () =>
          Effect.fail(invalid(`Unknown agent "${name}". The known agents are: ${AgentRegistry.names.join(", ")}.`)),
        onSome: Effect.succeed
      })
    )
  ),
  concurrency: Options.integer("concurrency").pipe(
    Options.withAlias("c"),
    Options.withDescription("How many agents run at once (AGENT_CONCURRENCY, or min(32, cpus + 4), by default)."),
    Options.mapEffect((n) =>
      n >= 1 ? Effect.succeed(n) : Effect.fail(invalid(`--concurrency: expected 1 or more, got ${n}`))
    ),
    Options.optional
  ),
  timeout: durationOption("timeout").pipe(
    Options.withDescription("How long one task may run, such as 30s or 2m (AGENT_TIMEOUT, or 60s, by default)."),
    Options.optional
  ),
  retries: Options.integer("retries").pipe(
    Options.withDescription(
      "How many times a task is retried after a rate limit, a 5xx, a connection error or a timeout, with " +
        "exponential backoff (2 by default)."
    ),
    Options.mapEffect((n) =>
      n >= 0 ? Effect.succeed(n) : Effect.fail(invalid(`--retries: expected 0 or more, got ${n}`))
    ),
    Options.withDefault(2)
  ),
  output: Options.file("output").pipe(
    Options.withAlias("o"),
    Options.withDescription("Where to write the results, one JSON line per task as it ends (stdout by default)."),
    Options.optional
  ),
  report: Options.file("report").pipe(
    Options.withDescription("Write the run's HTML report there (keeps every result in memory until the end)."),
    Options.optional
  ),
  json: Options.boolean("json").pipe(
    Options.withDescription("Print the summary as one JSON object on stdout instead of text on stderr.")
  ),
  progressInterval: durationOption("progress-interval").pipe(
    Options.withDescription("How often the progress line is printed when stderr is not a terminal (5s by default)."),
    Options.withDefault(Duration.seconds(5))
  )
}

// =============================================================================
// lines and results
// =============================================================================

/** The input of a line that is not JSON: the input schema rejects it with the parser's message. */
class NotJson {
  constructor(readonly reason: string) {}
}

const JsonLine = Schema.Unknown.pipe(
  Schema.filter((input) => input instanceof NotJson ? `not JSON: ${input.reason}` : true)
)

const idOf = (value: unknown): string | undefined => {
  if (typeof value !== "object" || value === null || !("id" in value)) return undefined
  const id = value.id
  return (typeof id === "string" && id !== "") || (typeof id === "number" && Number.isFinite(id))
    ? String(id)
    : undefined
}

/** A task from a line: its id is the object's `id` (a string or a number) or else the line number. */
const taskOf = (text: string, line: number): Task.Task<unknown> => {
  const labels = { line: String(line) }
  const parsed = Either.try({
    try: () => JSON.parse(text) as unknown,
    catch: (error) => error instanceof Error ? error.message : String(error)
  })
  return Either.match(parsed, {
    onLeft: (reason) => {
      return Task.make<unknown>({
        id: String(line),
        input: new NotJson(reason.length > 200 ? `${reason.slice(0, 200)}…` : reason),
        labels
      })
    },
    onRight: (value) => Task.make({ id: idOf(value) ?? String(line), input: value, labels })
  })
}

const lineOf = (result: TaskResult.TaskResult<unknown, unknown>): number => Number(result.task.labels.line)

const errorTag = (error: unknown): string | undefined =>
  typeof error === "object" && error !== null && "_tag" in error && typeof error._tag === "string"
    ? error._tag
    : undefined

interface Issue {
  readonly path: ReadonlyArray<string | number>
  readonly message: string
}

/** The issues of an input that did not decode, `undefined` for any other error. */
const inputIssues = (result: TaskResult.TaskResult<unknown, unknown>): ReadonlyArray<Issue> | undefined => {
  if (result._tag !== "Failed" || !Progress.isInputError(result.error)) return undefined
  const error = result.error as { readonly issues?: ReadonlyArray<Issue> }
  return error.issues ?? []
}

/** One line on a task that did not succeed, for people: `bad input: at ["text"]: is missing`. */
const describe = (result: TaskResult.TaskResult<unknown, unknown>): string => {
  const issues = inputIssues(result)
  if (issues !== undefined) {
    return `bad input: ${
      issues.map((issue) =>
        issue.path.length === 0
          ? issue.message
          : `at ${issue.path.map((key) => `[${JSON.stringify(key)}]`).join("")}: ${issue.message}`
      ).join("; ")
    }`
  }
  const outcome = result._tag === "TimedOut" ? "timed out" : result._tag.toLowerCase()
  return `${outcome}: ${TaskResult.message(result)}`
}

/**
 * The JSON line of one result: `line` (its line in the input, from 1), `id`, `status`, then `value` or `error`
 * (with `errorTag`, and `issues` when the line was bad input, or `reason`), `attempts`, `durationMillis`, `agent` (the agent instance) and, when there was
 * any, `usage` and `retries`.
 *
 * @category getters
 * @since 0.1.0
 */
export const resultLine = (result: TaskResult.TaskResult<unknown, unknown>): Record<string, unknown> => {
  const out: Record<string, unknown> = { line: lineOf(result), id: result.taskId, status: result._tag }
  switch (result._tag) {
    case "Succeeded":
      out.value = result.value
      break
    case "Failed": {
      out.error = TaskResult.message(result)
      const tag = errorTag(result.error)
      if (tag !== undefined) out.errorTag = tag
      const issues = inputIssues(result)
      if (issues !== undefined) out.issues = issues
      break
    }
    case "TimedOut":
    case "Interrupted":
      out.error = TaskResult.message(result)
      out.reason = result.reason
      break
  }
  out.attempts = result.attempt
  out.durationMillis = result.durationMillis
  if (result.agent !== undefined) out.agent = result.agent
  if (!Usage.isEmpty(result.usage)) {
    const { cost, ...tokens } = result.usage
    out.usage = cost > 0 ? result.usage : tokens
  }
  if (result.failedAttempts.length > 0) out.retries = result.failedAttempts.length
  return out
}

// =============================================================================
// summary
// =============================================================================

const count = (n: number) => n.toLocaleString("en-US")

/**
 * The summary for people: the outcomes, the wall time against the time one after another, the model and its
 * tokens, and where the results and the report went. `path` shows a file's path (relative to the working
 * directory, say).
 *
 * @category getters
 * @since 0.1.0
 */
export const formatSummary = (
  summary: Summary,
  options?: { readonly path?: ((file: string) => string) | undefined }
): string => {
  const show = options?.path ?? ((file: string) => file)
  const s = summary.summary
  const share = (n: number) => n === 0 || s.total === 0 ? "" : `  ${((n / s.total) * 100).toFixed(1)}%`
  const lines = [
    `${summary.interrupted ? "Interrupted: " : ""}${summary.agent}: ${count(s.total)} tasks from ${
      show(summary.input)
    } at concurrency ${summary.concurrency}${
      summary.linesTotal === null || summary.linesTotal === summary.linesDone
        ? ""
        : ` (${count(summary.linesDone)} of ${count(summary.linesTotal)} lines)`
    }`
  ]
  const rows: Array<[string, number, string]> = [
    ["succeeded", s.succeeded, ""],
    ["failed", s.failed, summary.badInput > 0 ? `  (bad input: ${count(summary.badInput)})` : ""],
    ["timed out", s.timedOut, ""],
    ["interrupted", s.interrupted, ""]
  ]
  const width = Math.max(...rows.map(([, n]) => count(n).length))
  for (const [label, n, note] of rows) {
    lines.push(`  ${label.padEnd(12)}${count(n).padStart(width)}${share(n)}${note}`)
  }
  const wall = RunReport.formatMillis(summary.wallMillis)
  lines.push(
    summary.busyMillis > 0 && summary.wallMillis > 0
      ? `Wall time: ${wall} (one after another: ${RunReport.formatMillis(summary.busyMillis)}, ${
        (summary.busyMillis / summary.wallMillis).toFixed(1)
      }x faster)`
      : `Wall time: ${wall}`
  )
  if (summary.retries > 0) lines.push(`Retried attempts: ${count(summary.retries)}`)
  lines.push(
    `Model: ${summary.model}${
      summary.model === "offline" ? " (generated answers: no key, no network; set AGENT_MODEL for a real one)" : ""
    }`
  )
  if (!Usage.isEmpty(summary.usage)) {
    lines.push(
      `Tokens: ${count(summary.usage.inputTokens)} in, ${count(summary.usage.outputTokens)} out, over ${
        count(summary.usage.requests)
      } requests`
    )
  }
  lines.push(`Results: ${summary.output === null ? "stdout" : show(summary.output)}`)
  if (summary.report !== null) lines.push(`Report: ${show(summary.report)}`)
  return lines.join("\n")
}

// =============================================================================
// the run
// =============================================================================

// TextEncoder is a global of every runtime the command line runs on; the project's libraries do not declare it.
declare const TextEncoder: new() => { encode(text: string): Uint8Array }
const encoder = new TextEncoder()

const randomRunId = Effect.map(Random.nextIntBetween(0, 36 ** 6), (n) => n.toString(36).padStart(6, "0"))

/**
 * The agent of an entry, stoppable: once `stopped` is done, a running agent is interrupted, so the engine reports
 * its task `Interrupted` and releases it; an agent built after that does not call its model, and its task id goes
 * to `skipped` (a task the run had read ahead, which never ran).
 */
const stoppableFactory = (
  entry: AgentRegistry.AnyEntry,
  stopped: Deferred.Deferred<void>,
  skipped: Set<string>
) => {
  const tag = Context.GenericTag<Agent.Agent<unknown, unknown, AiError.AiError>>(
    `effect-parallel-agents/Cli/${entry.agent.name}`
  )
  const layer = Layer.effect(
    tag,
    Effect.gen(function*() {
      const agent = yield* LanguageModelAgent.make(entry.agent)
      const instance = yield* AgentInstance.AgentInstance
      return Agent.make({
        name: agent.name,
        run: (input: unknown) =>
          Effect.flatMap(Deferred.isDone(stopped), (done) => {
            if (!done) {
              return Effect.raceFirst(agent.run(input), Effect.zipRight(Deferred.await(stopped), Effect.interrupt))
            }
            skipped.add(instance.taskId)
            return Effect.interrupt
          })
      })
    })
  )
  return Agent.factory(tag, layer, { name: entry.agent.name })
}

/** Counts the non-blank lines of the input, as the run reads them. */
const countLines = (fs: FileSystem.FileSystem, input: string) =>
  fs.stream(input).pipe(
    Stream.decodeText(),
    Stream.splitLines,
    Stream.runFold(0, (n, text) => text.trim() === "" ? n : n + 1)
  )

const usage = (message: string) =>
  Effect.flatMap(Output, (output) => output.stderr(`parallel-agents: ${message}\n`)).pipe(
    Effect.zipRight(Effect.fail(new CliExit({ code: ExitCode.Usage })))
  )

const runTasks = Effect.fnUntraced(function*(options: RunOptions) {
  const output = yield* Output
  const fs = yield* FileSystem.FileSystem
  const path = yield* Path.Path
  const entry = options.agent
  const settings = yield* Effect.catchAll(config, (error) => usage(`configuration: ${error}`))
  const context = yield* Layer.build(Layer.mergeAll(
    Executor.layerConfig(),
    RunEvent.layer(),
    AgentModel.layerConfig({
      offline: {
        answer: AgentRegistry.offlineAnswers,
        latency: Option.getOrUndefined(settings.offlineLatency)
      }
    })
  )).pipe(Effect.catchAll((error) => usage(`configuration: ${error}`)))
  const executor = Context.get(context, Executor.Executor)
  const model = Context.get(context, AgentModel.AgentModel)

  const input = path.resolve(options.input)
  const cwd = path.resolve(".")
  // Files in the working directory are shown relative to it.
  const relative = (file: string) => {
    const shown = path.relative(cwd, file)
    return shown.startsWith("..") || path.isAbsolute(shown) ? file : shown
  }
  const outputFile = Option.map(options.output, (file) => path.resolve(file))
  const reportFile = Option.map(options.report, (file) => path.resolve(file))
  const writeResults = yield* Option.match(outputFile, {
    onNone: () => Effect.succeed(output.stdout),
    onSome: (file) =>
      Effect.map(
        fs.open(file, { flag: "w" }),
        (handle) => (text: string) => handle.writeAll(encoder.encode(text))
      ).pipe(Effect.catchAll((error) => usage(`cannot write the results to ${file}: ${error.message}`)))
  })

  const concurrency = Option.getOrElse(options.concurrency, () => executor.config.concurrency)
  if (concurrency === "unbounded") {
    return yield* usage("a file of tasks needs a number of agents at once: set --concurrency or AGENT_CONCURRENCY")
  }
  const timeout = Option.getOrElse(
    options.timeout,
    () => executor.config.timeout ?? Duration.seconds(60)
  )

  const clock = yield* Effect.clock
  const startedAt = clock.unsafeCurrentTimeMillis()
  const runId = yield* randomRunId
  const tally = new Progress.Tally()
  const collected: Array<TaskResult.TaskResult<unknown, unknown>> | undefined = Option.isSome(reportFile)
    ? []
    : undefined
  const stop = yield* Deferred.make<void>()
  let stopping = false
  const skipped = new Set<string>()

  // The total, counted while the run goes; the run's events, for what is in flight; the progress line.
  yield* Effect.forkScoped(
    Effect.flatMap(Effect.either(countLines(fs, input)), (counted) =>
      Effect.sync(() => {
        if (Either.isRight(counted)) tally.total = counted.right
      }))
  )
  const events = yield* RunEvent.subscribe.pipe(Effect.provide(context))
  yield* Effect.forkScoped(Stream.runForEach(events, (event) => Effect.sync(() => tally.event(event))))
  const sink: Progress.Sink = { write: output.stderr, interactive: output.interactive, columns: output.columns }
  const progress = Progress.ticker({ tally, sink, startedAt, interval: options.progressInterval })
  const ticker = yield* Effect.forkScoped(progress.run)
  const clear = output.interactive ? output.stderr(Progress.clearLine) : Effect.void

  const tasks = fs.stream(input).pipe(
    Stream.decodeText(),
    Stream.splitLines,
    Stream.zipWithIndex,
    Stream.filter(([text]) => text.trim() !== ""),
    Stream.map(([text, index]) => {
      tally.read++
      return taskOf(text, index + 1)
    }),
    Stream.onEnd(Effect.sync(() => {
      tally.inputDone = true
    })),
    // One task at a time, so that the run reads only as far ahead as its concurrency, and Ctrl-C stops the reading
    // (at the next task, or while it waits for the file).
    Stream.rechunk(1),
    Stream.takeWhile(() => !stopping),
    Stream.interruptWhenDeferred(stop)
  )
  const results = executor.stream(tasks, stoppableFactory(entry, stop, skipped), {
    input: Schema.compose(JsonLine, entry.input, { strict: false }),
    runId,
    concurrency,
    timeout,
    retry: options.retries === 0 ? undefined : {
      times: options.retries,
      while: (error: unknown) => !stopping && Retry.isRetryable(error)
    }
  })

  // Each chunk of results is written before the next is taken, and never cut in the middle.
  let reported = 0
  const write = (chunk: Chunk.Chunk<TaskResult.TaskResult<unknown, unknown>>) =>
    Effect.suspend(() => {
      let text = ""
      let live = ""
      for (const result of chunk) {
        // A task read ahead and never run, because Ctrl-C came first: like the lines not read, it has no result.
        if (result._tag === "Interrupted" && skipped.delete(result.taskId)) continue
        tally.add(result)
        collected?.push(result)
        text += JSON.stringify(resultLine(result)) + "\n"
        if (result._tag !== "Succeeded" && !(stopping && result._tag === "Interrupted")) {
          reported++
          if (reported <= liveReports) {
            live += `line ${lineOf(result)}: ${describe(result)}\n`
          } else if (reported === liveReports + 1) {
            live += `more tasks did not succeed: see the results\n`
          }
        }
      }
      const written = text === ""
        ? Effect.void
        // On a terminal, results on stdout go above the progress bar, which the next tick draws again.
        : Option.isNone(outputFile) && output.interactive
        ? Effect.zipRight(output.stderr(Progress.clearLine), writeResults(text))
        : writeResults(text)
      return Effect.zipRight(
        written,
        live === "" ? Effect.void : Effect.zipRight(
          output.stderr(output.interactive ? Progress.clearLine + live : live),
          output.interactive ? progress.draw : Effect.void
        )
      )
    }).pipe(Effect.uninterruptible)
  const consumer = yield* Effect.forkScoped(
    Stream.runForEachChunk(results.pipe(Stream.provideContext(context)), write)
  )

  const finish = (exit: Exit.Exit<void, unknown>, interrupted: boolean) =>
    Effect.gen(function*() {
      yield* Fiber.interrupt(ticker)
      yield* clear
      const endedAt = clock.unsafeCurrentTimeMillis()
      let failure: string | undefined
      if (Exit.isFailure(exit) && !Cause.isInterruptedOnly(exit.cause)) {
        const error = Cause.squash(exit.cause)
        failure = errorTag(error) === "RunOptionsError" ? "usage" : String(error)
        yield* output.stderr(
          `parallel-agents: ${error instanceof Error ? error.message : String(error)}\n`
        )
      }
      if (collected !== undefined && Option.isSome(reportFile)) {
        collected.sort((a, b) => a.index - b.index)
        const report = RunReport.make({
          runId,
          agent: entry.agent.name,
          results: collected,
          aggregate: undefined,
          startedAt,
          endedAt,
          concurrency,
          peakInFlight: tally.peakInFlight,
          models: tally.usage.requests > 0 ? [model.model] : []
        })
        yield* RunReportHtml.write(report, reportFile.value, {
          title: `parallel-agents run: ${entry.name} over ${path.basename(input)}`
        }).pipe(
          Effect.catchAll((error) => output.stderr(`parallel-agents: cannot write the report: ${error.message}\n`))
        )
      }
      const code = failure === "usage"
        ? ExitCode.Usage
        : interrupted
        ? ExitCode.Interrupted
        : failure !== undefined || tally.done !== tally.succeeded
        ? ExitCode.TasksFailed
        : ExitCode.Success
      const summary: Summary = {
        agent: entry.name,
        model: model.spec,
        runId,
        concurrency,
        input,
        output: Option.getOrNull(outputFile),
        report: Option.getOrNull(reportFile),
        interrupted,
        exitCode: code,
        summary: {
          total: tally.done,
          succeeded: tally.succeeded,
          failed: tally.failed,
          timedOut: tally.timedOut,
          interrupted: tally.interrupted
        },
        badInput: tally.badInput,
        linesDone: tally.done,
        linesTotal: tally.total ?? (tally.inputDone ? tally.read : null),
        wallMillis: endedAt - startedAt,
        busyMillis: tally.busyMillis,
        retries: tally.retries,
        usage: tally.usage
      }
      if (failure !== "usage") {
        yield* options.json
          ? output.stdout(JSON.stringify(summary) + "\n")
          : output.stderr(formatSummary(summary, { path: relative }) + "\n")
      }
      return code
    })

  // The run's end is decided in a fiber of its own, so that Ctrl-C (which interrupts this one) can still wait for
  // it: the running agents stop, the tasks under way are reported and written, then the summary is printed.
  const owner = yield* Effect.forkScoped(Effect.gen(function*() {
    const first = yield* Effect.raceFirst(
      Effect.map(Fiber.await(consumer), Option.some),
      Effect.as(Deferred.await(stop), Option.none())
    )
    if (Option.isSome(first)) return yield* finish(first.value, false)
    yield* clear
    yield* output.stderr(
      `Interrupted: stopping ${count(tally.inFlight)} running agents and writing their results ` +
        `(Ctrl-C again to exit at once)\n`
    )
    const drained = yield* Effect.timeout(Fiber.await(consumer), stopGrace).pipe(Effect.option)
    if (Option.isSome(drained)) return yield* finish(drained.value, true)
    // A task waiting to retry (after a 429, say) would only be reported when its wait ends: give up on it.
    const left = tally.inFlight
    const exit = yield* Fiber.interrupt(consumer)
    yield* output.stderr(
      `Gave up after ${Duration.format(stopGrace)}: ${count(left)} tasks still under way (waiting to retry, say) ` +
        `have no result line\n`
    )
    return yield* finish(exit, true)
  }))
  const code = yield* Fiber.join(owner).pipe(
    Effect.onInterrupt(() =>
      Effect.suspend(() => {
        stopping = true
        return Deferred.succeed(stop, undefined)
      }).pipe(Effect.zipRight(Fiber.await(owner)))
    )
  )
  if (code !== ExitCode.Success) return yield* new CliExit({ code })
}, Effect.scoped)

// =============================================================================
// commands
// =============================================================================

/**
 * `parallel-agents run`: runs a built-in agent over a JSONL file of tasks.
 *
 * @category constructors
 * @since 0.1.0
 */
export const runCommand = CliCommand.make("run", options, runTasks).pipe(
  CliCommand.withDescription(
    "Run an agent over a JSONL file of tasks: one result line per task as it ends, progress, and a summary. " +
      "Exit codes: 0 every task succeeded, 1 a task did not succeed, 2 usage error, 130 interrupted."
  )
)

/**
 * The `parallel-agents` command and its subcommands.
 *
 * @category constructors
 * @since 0.1.0
 */
export const command = CliCommand.make("parallel-agents").pipe(
  CliCommand.withDescription("Run many LLM agents in parallel."),
  CliCommand.withSubcommands([runCommand])
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
  Output | HttpClient.HttpClient | FileSystem.FileSystem | Path.Path | Terminal.Terminal
> =>
  CliCommand.run(command, { name: "parallel-agents", version: "0.1.0" })(argv).pipe(
    Effect.as(ExitCode.Success as number),
    Effect.catchAll((error) =>
      error instanceof CliExit
        ? Effect.succeed(error.code)
        : ValidationError.isValidationError(error)
        ? Effect.succeed(ExitCode.Usage as number)
        : Effect.zipRight(
          Effect.flatMap(Output, (output) => output.stderr(`parallel-agents: ${String(error)}\n`)),
          Effect.succeed(ExitCode.TasksFailed as number)
        )
    ),
    Effect.catchAllDefect((defect) =>
      Effect.zipRight(
        Effect.flatMap(Output, (output) => output.stderr(`parallel-agents: unexpected error: ${String(defect)}\n`)),
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
