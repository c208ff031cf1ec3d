/**
 * `parallel-agents run`: streams a JSONL task file (`TaskFile`) through a built-in agent (`AgentRegistry`) with
 * `Executor.stream`, writes one JSON line per task as it ends, shows progress, and prints a summary. A line that is
 * not JSON or does not fit the agent's input schema fails on its own, with its line number. Ctrl-C stops the run:
 * running agents are interrupted and released, every finished result is written, and the summary is printed.
 *
 * @since 0.1.0
 */
import type * as AiError from "@effect/ai/AiError"
import * as CliCommand from "@effect/cli/Command"
import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import * as Cause from "effect/Cause"
import type * as Chunk from "effect/Chunk"
import * as Config from "effect/Config"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Predicate from "effect/Predicate"
import * as Random from "effect/Random"
import * as Stream from "effect/Stream"
import * as Agent from "../../src/Agent.js"
import * as AgentInstance from "../../src/AgentInstance.js"
import * as Executor from "../../src/Executor.js"
import * as Retry from "../../src/Retry.js"
import * as RunEvent from "../../src/RunEvent.js"
import * as RunReport from "../../src/RunReport.js"
import * as TaskFile from "../../src/TaskFile.js"
import type * as TaskResult from "../../src/TaskResult.js"
import * as AgentModel from "../models/AgentModel.js"
import * as AgentRegistry from "../models/AgentRegistry.js"
import * as LanguageModelAgent from "../models/LanguageModelAgent.js"
import * as Flags from "./Flags.js"
import * as internal from "./internal/exit.js"
import * as Progress from "./internal/progress.js"
import * as Output from "./Output.js"
import * as Summary from "./Summary.js"

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

/** How many failed lines are printed as they happen; the rest are only in the results. */
const liveReports = 20

/** How long, after Ctrl-C, the run has to report the tasks under way (a task waiting to retry, say). */
const stopGrace = Duration.seconds(3)

/** One line on a task that did not succeed, for people: `bad input: at ["text"]: is missing`. */
const describe = (line: TaskFile.ResultLine): string => {
  if (line.issues !== undefined) {
    return `bad input: ${
      line.issues.map((issue) =>
        issue.path.length === 0
          ? issue.message
          : `at ${issue.path.map((key) => `[${JSON.stringify(key)}]`).join("")}: ${issue.message}`
      ).join("; ")
    }`
  }
  const outcome = line.status === "TimedOut" ? "timed out" : line.status.toLowerCase()
  return `${outcome}: ${line.error}`
}

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
    Stream.runFold(0, (n, text) => TaskFile.isBlank(text) ? n : n + 1)
  )

const usage = (message: string) =>
  Effect.flatMap(Output.Output, (output) => output.stderr(`parallel-agents: ${message}\n`)).pipe(
    Effect.zipRight(Effect.fail(new internal.CliExit({ code: internal.ExitCode.Usage })))
  )

const runTasks = Effect.fnUntraced(function*(options: Flags.RunFlags) {
  const output = yield* Output.Output
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

  const tasks = TaskFile.fromText(Stream.decodeText(fs.stream(input))).pipe(
    Stream.map((task) => {
      tally.read++
      return task
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
    input: TaskFile.input(entry.input),
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
        const line = TaskFile.resultLine(result)
        text += JSON.stringify(line) + "\n"
        if (result._tag !== "Succeeded" && !(stopping && result._tag === "Interrupted")) {
          reported++
          if (reported <= liveReports) {
            live += `line ${line.line}: ${describe(line)}\n`
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
        failure = Predicate.isTagged(error, "RunOptionsError") ? "usage" : String(error)
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
        yield* RunReport.writeHtml(report, reportFile.value, {
          title: `parallel-agents run: ${entry.name} over ${path.basename(input)}`
        }).pipe(
          Effect.catchAll((error) => output.stderr(`parallel-agents: cannot write the report: ${error.message}\n`))
        )
      }
      const code = failure === "usage"
        ? internal.ExitCode.Usage
        : interrupted
        ? internal.ExitCode.Interrupted
        : failure !== undefined || tally.done !== tally.succeeded
        ? internal.ExitCode.TasksFailed
        : internal.ExitCode.Success
      const summary: Summary.Summary = {
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
          : output.stderr(Summary.format(summary, { path: relative }) + "\n")
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
      `Interrupted: stopping ${Progress.count(tally.inFlight)} running agents and writing their results ` +
        `(Ctrl-C again to exit at once)\n`
    )
    const drained = yield* Effect.timeout(Fiber.await(consumer), stopGrace).pipe(Effect.option)
    if (Option.isSome(drained)) return yield* finish(drained.value, true)
    // A task waiting to retry (after a 429, say) would only be reported when its wait ends: give up on it.
    const left = tally.inFlight
    const exit = yield* Fiber.interrupt(consumer)
    yield* output.stderr(
      `Gave up after ${Duration.format(stopGrace)}: ${Progress.count(left)} tasks still under way ` +
        `(waiting to retry, say) have no result line\n`
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
  if (code !== internal.ExitCode.Success) return yield* new internal.CliExit({ code })
}, Effect.scoped)

/**
 * `parallel-agents run`: runs a built-in agent over a JSONL file of tasks.
 *
 * @category constructors
 * @since 0.1.0
 */
export const command = CliCommand.make("run", Flags.run, runTasks).pipe(
  CliCommand.withDescription(
    "Run an agent over a JSONL file of tasks: one result line per task as it ends, progress, and a summary. " +
      "Exit codes: 0 every task succeeded, 1 a task did not succeed, 2 usage error, 130 interrupted."
  )
)
