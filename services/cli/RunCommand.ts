/**
 * `parallel-agents run`: streams a JSONL task file (`TaskFile`) through a built-in agent (`AgentRegistry`) with
 * `Executor.stream`, writes one JSON line per task as it ends, shows progress, and prints a summary. A line that is
 * not JSON or does not fit the agent's input schema fails on its own, with its line number. Ctrl-C stops the run
 * (the engine's `stop`): running agents are interrupted and released, a task waiting to retry ends at once, every
 * task under way is written as `Interrupted` (reason `Stopped`) beside every finished result, and the summary is
 * printed.
 *
 * @since 0.1.0
 */
import type * as AiError from "@effect/ai/AiError"
import * as CliCommand from "@effect/cli/Command"
import * as FileSystem from "@effect/platform/FileSystem"
import * as HttpClient from "@effect/platform/HttpClient"
import * as Path from "@effect/platform/Path"
import * as Cause from "effect/Cause"
import type * as Chunk from "effect/Chunk"
import * as Config from "effect/Config"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
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
import * as RunEvent from "../../src/RunEvent.js"
import * as RunJournal from "../../src/RunJournal.js"
import * as RunReport from "../../src/RunReport.js"
import * as RunReportHtml from "../../src/RunReportHtml.js"
import * as TaskFile from "../../src/TaskFile.js"
import type * as TaskResult from "../../src/TaskResult.js"
import * as AgentModel from "../models/AgentModel.js"
import * as AgentRegistry from "../models/AgentRegistry.js"
import * as LanguageModelAgent from "../models/LanguageModelAgent.js"
import * as Flags from "./Flags.js"
import * as internal from "./internal/exit.js"
import * as Files from "./internal/files.js"
import * as Journal from "./internal/journal.js"
import * as Progress from "./internal/progress.js"
import * as Text from "./internal/text.js"
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

/**
 * The HTTP client a run calls a model server through, made for the run once its concurrency is known. By default
 * the run uses the `HttpClient` the command line is given, as it is. The `parallel-agents` executable gives each
 * run a pool of as many kept-alive connections as the run has agents at once (`ModelHttpClient.layer`), so that
 * every agent reuses a connection and no call opens one of its own; an unbounded pool opens about twice as many.
 *
 * @category services
 * @since 0.1.0
 */
export class ModelClient extends Context.Reference<ModelClient>()("effect-parallel-agents/cli/RunCommand/ModelClient", {
  defaultValue: (): (
    options: { readonly connections: number }
  ) => Layer.Layer<HttpClient.HttpClient, never, HttpClient.HttpClient> =>
  () => Layer.service(HttpClient.HttpClient)
}) {}

/** How many failed lines are printed as they happen; the rest are only in the results. */
const liveReports = 20

/** How long, after the end of a run cut short, the count of its input's lines has to finish. */
const countGrace = Duration.seconds(3)

/**
 * How long, after Ctrl-C, the run has to report the tasks under way and write their lines: the engine stops them at
 * once (an agent that does not stop within its 5 seconds of grace is left running, its task reported), so this
 * only bounds a write that does not end (a blocked stdout).
 */
const stopGrace = Duration.seconds(10)

/**
 * One line on a task that did not succeed, for people: `bad input: at ["text"]: is missing`. What comes from the
 * input or a server (messages, keys) is escaped: it cannot start a line of its own or drive the terminal.
 */
const describe = (line: TaskFile.ResultLine): string => {
  if (line.issues !== undefined) {
    return `bad input: ${
      Text.escape(
        line.issues.map((issue) =>
          issue.path.length === 0
            ? issue.message
            : `at ${issue.path.map((key) => `[${JSON.stringify(key)}]`).join("")}: ${issue.message}`
        ).join("; ")
      )
    }`
  }
  const outcome = line.status === "TimedOut" ? "timed out" : line.status.toLowerCase()
  return `${outcome}: ${Text.escape(line.error ?? "")}`
}

const randomRunId = Effect.map(Random.nextIntBetween(0, 36 ** 6), (n) => n.toString(36).padStart(6, "0"))

/**
 * The agent of an entry, counted: an agent counts as in flight (`Progress.Tally.started`) from when it starts to when
 * it stops, so the count never exceeds the concurrency even while finished results wait to be written. Ctrl-C stops
 * the run through the engine (its `stop` option), which interrupts the running agents and starts none after it.
 */
const countedFactory = (entry: AgentRegistry.AnyEntry, tally: Progress.Tally) => {
  const tag = Context.GenericTag<Agent.Agent<unknown, unknown, AiError.AiError>>(
    `effect-parallel-agents/Cli/${entry.agent.name}`
  )
  // Built by an `Effect`, not a `Layer`: the engine builds an `Agent.effect` without a layer's scope and memo map.
  // The language-model agent's constructor is made once (its prompt's system message, its object name), and run per
  // task.
  const languageModelAgent = LanguageModelAgent.make(entry.agent)
  const make = Effect.flatMap(
    AgentInstance.AgentInstance,
    (instance) =>
      Effect.map(languageModelAgent, (agent) =>
        Agent.make({
          name: agent.name,
          run: (input: unknown) =>
            Effect.suspend(() => {
              tally.started(instance.attempt === 1)
              return Effect.onExit(agent.run(input), () => Effect.sync(() => tally.stopped()))
            })
        }))
  )
  return Agent.effect(tag, make, { name: entry.agent.name })
}

/** A task Ctrl-C kept from starting (one read ahead): like the lines not read, it has no result line. */
const keptFromStarting = (result: TaskResult.TaskResult<unknown, unknown>): boolean =>
  result._tag === "Interrupted" && result.reason === "Stopped" && !result.started

/** A usage or setup error: its message on stderr (escaped), and exit code 2. */
const usage = (message: string) =>
  Effect.flatMap(Output.Output, (output) => output.stderr(`parallel-agents: ${Text.escape(message)}\n`)).pipe(
    Effect.zipRight(Effect.fail(new internal.CliExit({ code: internal.ExitCode.Usage })))
  )

/**
 * The concurrency configuration gives (`AGENT_CONCURRENCY`): a file of tasks is a stream, so it must be a number,
 * and at most `Flags.maxConcurrency`.
 */
const configuredConcurrency = (concurrency: number | "unbounded") =>
  concurrency === "unbounded"
    ? usage(
      `AGENT_CONCURRENCY is "unbounded", which the engine allows for a list of tasks; a file of tasks is a stream, ` +
        `so the command line needs a number of agents at once: set --concurrency or AGENT_CONCURRENCY to a number ` +
        `from 1 to ${Progress.count(Flags.maxConcurrency)}`
    )
    : concurrency > Flags.maxConcurrency
    ? usage(
      `AGENT_CONCURRENCY: expected at most ${Progress.count(Flags.maxConcurrency)} agents at once, got ${
        Progress.count(concurrency)
      }`
    )
    : Effect.succeed(concurrency)

/** The optional peers the cluster's modules need, besides those of the command line. */
const clusterPeers = "@effect/cluster @effect/sql @effect/sql-pg @effect/rpc @effect/workflow @effect/experimental"

/**
 * The executor of `--cluster`: the cluster's modules are loaded only then, since they need optional peers that a
 * local run does not.
 */
const clusterExecutor = Effect.tryPromise({
  try: () => Promise.all([import("../cluster/ClusterExecutor.js"), import("../cluster/AgentRunner.js")]),
  catch: (error) => error
}).pipe(
  Effect.map(([ClusterExecutor, AgentRunner]) =>
    ClusterExecutor.layerConfig({ agents: AgentRegistry.builtIn.map(AgentRunner.agent) }).pipe(
      Layer.mapError((error) => error._tag === "ConfigError" ? `configuration: ${error}` : error.message)
    )
  ),
  Effect.catchAll((error) =>
    usage(
      `--cluster needs the optional peers of effect-parallel-agents/cluster (npm install ${clusterPeers}): ` +
        (error instanceof Error ? error.message : String(error))
    )
  )
)

const runTasks = Effect.fnUntraced(function*(options: Flags.RunFlags) {
  const output = yield* Output.Output
  const fs = yield* FileSystem.FileSystem
  const path = yield* Path.Path
  const entry = options.agent
  if ((Option.isSome(options.journal) || Option.isSome(options.resume)) && options.cluster) {
    return yield* usage(
      "--journal and --resume record a run of this process; on the cluster, its runners keep each task's result: " +
        "run it again with the same --run-id"
    )
  }
  const settings = yield* Effect.catchAll(config, (error) => usage(`configuration: ${error}`))
  const executorLayer = options.cluster
    ? yield* clusterExecutor
    // A setting a flag gives is not read from the environment (`AGENT_TIMEOUT=abc --timeout 5s` runs).
    : Layer.mapError(
      Executor.layerConfig(Config.succeed({
        concurrency: Option.getOrUndefined(options.concurrency),
        timeout: Option.getOrUndefined(options.timeout)
      })),
      (error) => `configuration: ${error}`
    )
  const executorContext = yield* Effect.catchAll(Layer.build(executorLayer), usage)
  const executor = Context.get(executorContext, Executor.Executor)
  const concurrency = yield* Option.match(options.concurrency, {
    onNone: () => configuredConcurrency(executor.config.concurrency),
    onSome: Effect.succeed
  })
  // The model is built once the run's concurrency is known, over a client made for it (`ModelClient`).
  const modelClient = yield* ModelClient
  const context = Context.merge(
    executorContext,
    yield* Layer.build(
      AgentModel.layerConfig({
        offline: {
          answer: AgentRegistry.offlineAnswers,
          latency: Option.getOrUndefined(settings.offlineLatency)
        }
      }).pipe(
        Layer.mapError((error) => `configuration: ${error}`),
        Layer.provide(modelClient({ connections: concurrency }))
      )
    ).pipe(Effect.catchAll(usage))
  )
  const model = Context.get(context, AgentModel.AgentModel)

  const input = path.resolve(options.input)
  const cwd = path.resolve(".")
  // Files in the working directory are shown relative to it (the directory itself, given where a file goes, by its
  // whole path, not as nothing).
  const relative = (file: string) => {
    const shown = path.relative(cwd, file)
    return shown === "" || shown.startsWith("..") || path.isAbsolute(shown) ? file : shown
  }
  // `-o -` is stdout, as for most tools, not a file named `-`.
  const outputFile = Option.map(Option.filter(options.output, (file) => file !== "-"), (file) => path.resolve(file))
  const reportFile = Option.map(options.report, (file) => path.resolve(file))
  const journaling = Option.isSome(options.journal) || Option.isSome(options.resume)
  if (options.retryFailed && Option.isNone(options.resume)) {
    return yield* usage("--retry-failed runs again the failures of a run that is resumed: give --resume <run-id>")
  }
  // Nothing is written before the input is known to be readable and no two files are one.
  const reportTarget = yield* Files.check({
    input,
    output: outputFile,
    report: reportFile,
    journal: journaling
      ? Option.some(path.resolve(Option.getOrElse(options.journal, () => Journal.defaultFile)))
      : Option.none(),
    show: relative
  }).pipe(
    Effect.catchTag("FileError", (error) => usage(error.message))
  )
  if (Option.isSome(options.resume) && Option.isSome(options.runId) && options.resume.value !== options.runId.value) {
    return yield* usage(
      `--resume ${options.resume.value} and --run-id ${options.runId.value} name two runs: give one of them`
    )
  }
  const runId = Option.isSome(options.resume)
    ? options.resume.value
    : Option.isSome(options.runId)
    ? options.runId.value
    : yield* randomRunId
  const opened = journaling
    ? Option.some(yield* Journal.open({ command: "run", file: options.journal, create: Option.isNone(options.resume) }))
    : Option.none()
  if (Option.isSome(opened)) {
    const journal = opened.value.journal
    // Held until the command ends, and taken before the run is looked up or the results file is touched: a second
    // process on the same run stops here, with the first one's results file as it is.
    yield* Journal.lockRun(opened.value, { command: "run", runId })
    const info = yield* journal.run(runId).pipe(
      Effect.catchAll((error) => usage(`cannot read the journal ${opened.value.shown}: ${error.message}`))
    )
    // A new run under the id of one the journal holds would replay that run's results into this one, whatever its
    // agent: only --resume continues a run.
    if (Option.isNone(options.resume) && Option.isSome(info)) {
      const agent = Predicate.hasProperty(info.value.options, "agent") && typeof info.value.options.agent === "string"
        ? info.value.options.agent
        : info.value.agent
      return yield* usage(
        `the journal ${opened.value.shown} already holds a run ${JSON.stringify(runId)}${
          agent === undefined ? "" : ` (agent ${agent})`
        }: resume it with --resume ${runId}, or give another --run-id`
      )
    }
    if (Option.isSome(options.resume) && Option.isNone(info)) {
      const runs = yield* Effect.orElseSucceed(journal.runs, () => [])
      return yield* usage(
        `the journal ${opened.value.shown} holds no run ${JSON.stringify(runId)}` + (runs.length === 0
          ? " (it holds no runs)"
          : `; its latest runs: ${runs.slice(0, 5).map((run) => run.runId).join(", ")} (parallel-agents runs)`)
      )
    }
    const recorded = Option.isSome(info) ? info.value.options : undefined
    const ranAgent = Predicate.hasProperty(recorded, "agent") && typeof recorded.agent === "string"
      ? recorded.agent
      : undefined
    const startedAgent = Option.isSome(info) ? info.value.agent : undefined
    if (
      (ranAgent !== undefined && ranAgent !== entry.name) ||
      (startedAgent !== undefined && startedAgent !== entry.agent.name)
    ) {
      return yield* usage(
        `run ${runId} ran the agent ${JSON.stringify(ranAgent ?? startedAgent)}, not ${
          JSON.stringify(entry.name)
        }: resume it with the same --agent`
      )
    }
  }
  const resultsFile = yield* Option.match(outputFile, {
    onNone: () => Effect.succeed(undefined),
    onSome: (file) =>
      Files.openResults(file, relative(file)).pipe(Effect.catchTag("FileError", (error) => usage(error.message)))
  })
  // Whether a write of result lines failed: the summary then says the results are incomplete.
  let outputFailed = false
  const writeTo: (text: string) => Effect.Effect<void, Files.FileError> = resultsFile?.write ?? output.stdout
  const writeResults = (text: string) => Effect.tapError(writeTo(text), () => Effect.sync(() => (outputFailed = true)))

  const timeout = Option.getOrElse(
    options.timeout,
    () => executor.config.timeout ?? Duration.seconds(60)
  )

  const clock = yield* Effect.clock
  const startedAt = clock.unsafeCurrentTimeMillis()
  if (Option.isSome(opened)) {
    yield* output.stderr(
      `${Option.isSome(options.resume) ? "Resuming run" : "Run"} ${runId}, journal ${
        Text.escape(relative(opened.value.file))
      }: after a crash or Ctrl-C, resume it with --resume ${runId}${
        Option.isSome(options.journal) ? ` --journal ${Text.escape(Text.shellWord(options.journal.value))}` : ""
      }\n`
    )
  }
  const tally = new Progress.Tally(entry.agent.name)
  const collected: Array<TaskResult.TaskResult<unknown, unknown>> | undefined = Option.isSome(reportFile)
    ? []
    : undefined
  const stop = yield* Deferred.make<void>()

  // The total, counted while the run goes; the run's events, for what is in flight; the progress line.
  const counter = yield* Effect.forkScoped(
    TaskFile.countTasks(fs.stream(input)).pipe(
      Effect.flatMap((total) =>
        Effect.sync(() => {
          tally.total = total
        })
      ),
      Effect.ignore
    )
  )
  let events = Option.none<RunEvent.Service>()
  if (options.cluster) {
    // On the cluster the agents run on the runners: what is in flight comes from the run's events. A local run
    // counts its agents as they start (`stoppableFactory`) and its results as they are written, and publishes no
    // events (nothing else listens to them).
    const hub = yield* RunEvent.make()
    events = Option.some(hub)
    const queue = yield* hub.subscribe
    yield* Effect.forkScoped(
      Stream.runForEach(Stream.fromQueue(queue), (event) => Effect.sync(() => tally.event(event)))
    )
  }
  const sink: Progress.Sink = { write: output.stderr, interactive: output.interactive, columns: output.columns }
  const progress = Progress.ticker({ tally, sink, startedAt, interval: options.progressInterval })
  const ticker = yield* Effect.forkScoped(progress.run)
  const clear = output.interactive ? output.stderr(Progress.clearLine) : Effect.void

  const tasks = TaskFile.fromBytes(fs.stream(input)).pipe(
    Stream.map((task) => {
      tally.read++
      return task
    }),
    Stream.onEnd(Effect.sync(() => {
      tally.inputDone = true
    }))
  )
  const durableMetadata = { input, agent: entry.name, concurrency }
  // Ctrl-C stops the run (`stop`): the engine reads no more of the input (it stops at the next chunk of lines, or
  // while it waits for the file), starts no task, interrupts the running agents and a task waiting to retry, reports
  // every task under way (`Interrupted`, reason `Stopped`) and ends; its journal does not mark it finished. The
  // tasks of a chunk already read that never started leave no line (`keptFromStarting`).
  const results = executor.stream(tasks, countedFactory(entry, tally), {
    input: TaskFile.input(entry.input),
    runId,
    concurrency,
    timeout,
    deadline: Option.getOrUndefined(options.deadline),
    // On the cluster, the runners retry with their own rule (retryable errors only).
    retry: options.retries === 0 ? undefined : { times: options.retries },
    durable: Option.isNone(opened) ? undefined : {
      runId,
      retryFailed: options.retryFailed,
      metadata: durableMetadata
    },
    stop: Deferred.await(stop)
  })

  // Each chunk of results is written before the next is taken, whole lines at a time; a result counts (in the
  // progress, the summary and the report) once its line is written.
  let reported = 0
  // Whether the run's deadline stopped a task (it timed out, or never started): the journal then says the run was
  // cut short, and `runs` lists it so.
  let deadlineStopped = false
  const write = (chunk: Chunk.Chunk<TaskResult.TaskResult<unknown, unknown>>) =>
    Effect.suspend(() => {
      // What is kept until the lines are written: the results (the tally counts them then) and the lines of those
      // that did not succeed (for the lines people read). The lines of the others are garbage at once, so they do
      // not outlive the write, which would have the garbage collector copy them into the old generation.
      const kept: Array<TaskResult.TaskResult<unknown, unknown>> = []
      let failures: Array<readonly [TaskResult.TaskResult<unknown, unknown>, TaskFile.ResultLine]> | undefined
      let text = ""
      for (const result of chunk) {
        // A task read ahead and never run, because Ctrl-C came first: like the lines not read, it has no result.
        if (keptFromStarting(result)) continue
        if ((result._tag === "TimedOut" || result._tag === "Interrupted") && result.reason === "RunDeadline") {
          deadlineStopped = true
        }
        const line = TaskFile.resultLine(result)
        kept.push(result)
        if (result._tag !== "Succeeded") (failures ??= []).push([result, line])
        text += Text.jsonLine(line) + "\n"
      }
      if (text === "") return Effect.void
      const written = Option.isNone(outputFile) && output.interactive
        // On a terminal, results on stdout go above the progress bar, which the next tick draws again.
        ? Effect.zipRight(output.stderr(Progress.clearLine), writeResults(text))
        : writeResults(text)
      return Effect.zipRight(
        written,
        Effect.suspend(() => {
          for (const result of kept) {
            tally.add(result)
            if (!options.cluster) tally.ended(result)
            collected?.push(result)
          }
          if (failures === undefined) return Effect.void
          let live = ""
          for (const [result, line] of failures) {
            if (!(result._tag === "Interrupted" && result.reason === "Stopped")) {
              reported++
              if (reported <= liveReports) {
                live += `line ${line.line}: ${describe(line)}\n`
              } else if (reported === liveReports + 1) {
                live += `more tasks did not succeed: see the results\n`
              }
            }
          }
          return live === "" ? Effect.void : Effect.zipRight(
            output.stderr(output.interactive ? Progress.clearLine + live : live),
            output.interactive ? progress.draw : Effect.void
          )
        })
      )
    }).pipe(Effect.uninterruptible)
  const withJournal = Context.add(
    context,
    RunJournal.RunJournal,
    Option.isSome(opened) ? opened.value.journal : yield* RunJournal.makeMemory
  )
  const journalContext = Option.isSome(events) ? Context.add(withJournal, RunEvent.Hub, events.value) : withJournal
  // The run gets only the services it and its agents use (the executor, the model, the journal, the event hub):
  // not the command line's own (its output, file system, terminal, HTTP client...). Every task's attempt starts from
  // a copy of the run's services, and every service an agent provides copies them again.
  const consumer = yield* Effect.forkScoped(
    Effect.mapInputContext(Stream.runForEachChunk(results, write), (_: Context.Context<never>) => journalContext)
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
          `parallel-agents: ${Text.escape(error instanceof Error ? error.message : String(error))}\n`
        )
      }
      // A run that wrote no line replaces the results file all the same (with an empty one), unless it failed: then
      // the previous results are left as they were.
      let outputKept = false
      if (resultsFile !== undefined && !resultsFile.replaced()) {
        if (failure === undefined) {
          const replaced = yield* Effect.either(resultsFile.replace)
          if (replaced._tag === "Left") {
            failure = "results"
            yield* output.stderr(`parallel-agents: ${Text.escape(replaced.left.message)}\n`)
          }
        } else {
          outputKept = true
        }
      }
      // A run cut short (a deadline, Ctrl-C) may end before the count of its lines does: it says how many have no
      // result, so the count gets a moment to finish.
      if (tally.total === undefined && !tally.inputDone) {
        yield* Effect.ignore(Effect.timeout(Fiber.await(counter), countGrace))
      }
      // The deadline ended the run before the whole file was read: lines have no result.
      const cutShort = !interrupted && Option.isSome(options.deadline) && !tally.inputDone
      if (Option.isSome(opened) && !interrupted && failure === undefined && (cutShort || deadlineStopped)) {
        // The engine marked the run finished; its options now say that the deadline cut it short (a resume that
        // starts it again writes them anew).
        yield* opened.value.journal.update({
          runId,
          agent: entry.agent.name,
          options: { ...durableMetadata, cutShort: "deadline" }
        }).pipe(
          Effect.catchAll((error) =>
            output.stderr(
              `parallel-agents: cannot mark run ${runId} as cut short by its deadline in the journal: ${
                Text.escape(error.message)
              }\n`
            )
          )
        )
      }
      let reportWritten = false
      if (collected !== undefined && Option.isSome(reportFile) && Option.isSome(reportTarget)) {
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
        const linesTotal = tally.total ?? (tally.inputDone ? tally.read : undefined)
        const notRead = linesTotal === undefined ? undefined : linesTotal - tally.done
        // The run was cut short by Ctrl-C, or by its deadline before it read the whole file.
        const stopped = interrupted
          ? { reason: "Ctrl-C", notRead }
          : cutShort
          ? { reason: "its deadline", notRead }
          : undefined
        const html = RunReportHtml.toHtml(report, {
          title: `parallel-agents run: ${entry.name} over ${path.basename(input)}`,
          stopped
        })
        // Written whole: a crash leaves the old report or the new one, never a part.
        reportWritten = yield* Files.writeWhole(reportTarget.value, html).pipe(
          Effect.as(true),
          Effect.catchAll((error) =>
            Effect.as(
              output.stderr(
                `parallel-agents: ${
                  Text.escape(`cannot write the report to ${relative(reportFile.value)}: ${Files.describe(error)}`)
                }\n`
              ),
              false
            )
          )
        )
        if (!reportWritten) failure ??= "report"
      }
      // Ctrl-C after the run ended (while its report was written, say) still makes the process exit 130: the summary
      // says so too, decided now, as late as it can be.
      const ctrlC = interrupted || (yield* Deferred.isDone(stop))
      const code = failure === "usage"
        ? internal.ExitCode.Usage
        : ctrlC
        ? internal.ExitCode.Interrupted
        : failure !== undefined || tally.done !== tally.succeeded || cutShort
        ? internal.ExitCode.TasksFailed
        : internal.ExitCode.Success
      const summary: Summary.Summary = {
        agent: entry.name,
        model: model.spec,
        runId,
        concurrency,
        input,
        output: Option.getOrNull(outputFile),
        ...(outputKept ? { outputKept } : {}),
        ...(outputFailed ? { outputFailed } : {}),
        report: reportWritten ? Option.getOrNull(reportFile) : null,
        interrupted: ctrlC,
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
        usage: tally.usage,
        ...(Option.isSome(opened) ? { journal: opened.value.file, replayed: tally.results.replayed } : {})
      }
      if (failure !== "usage") {
        yield* options.json
          ? output.stdout(Text.jsonLine(summary) + "\n")
          : output.stderr(Summary.format(summary, { path: relative }) + "\n")
      }
      return code
    })

  // How many agents were running when Ctrl-C came.
  let runningAtStop = 0
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
      `Interrupted: stopping ${Progress.count(runningAtStop)} running agents and writing their results ` +
        `(Ctrl-C again to exit at once)\n`
    )
    const drained = yield* Effect.timeout(Fiber.await(consumer), stopGrace).pipe(Effect.option)
    if (Option.isSome(drained)) return yield* finish(drained.value, true)
    // The engine reports every task under way at once: what is left is a write that does not end.
    const left = tally.underWay
    const exit = yield* Fiber.interrupt(consumer)
    yield* output.stderr(
      `Gave up after ${Duration.format(stopGrace)}: ${Progress.count(left)} tasks still under way have no ` +
        `result line\n`
    )
    return yield* finish(exit, true)
  }))
  const code = yield* Fiber.join(owner).pipe(
    Effect.onInterrupt(() =>
      Effect.suspend(() => {
        // Counted before the engine stops them.
        runningAtStop = tally.inFlight
        return Effect.zipRight(Deferred.succeed(stop, undefined), Fiber.await(owner))
      })
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
