/**
 * The runs service behind the HTTP API: it starts runs of registered agents, each on a fiber of its own in the
 * service's scope (never in the fiber of the request that started it, so a client that disconnects stops
 * nothing), records each run's events for any number of readers, and keeps its record and results in the
 * `RunStore`. Cancelling a run stops it gracefully (the run's `stop` option): its running agents are interrupted
 * and released, and every task gets its result (those stopped are `Interrupted` with reason `Stopped`). Closing the
 * service's scope (a server shutting down) cancels the runs still going, the same way.
 *
 * @since 0.1.0
 */
import * as HttpApiSchema from "@effect/platform/HttpApiSchema"
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as FiberMap from "effect/FiberMap"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as PubSub from "effect/PubSub"
import * as Queue from "effect/Queue"
import * as Random from "effect/Random"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import type * as Agent from "../../src/Agent.js"
import type { RunOptionsError } from "../../src/AgentError.js"
import * as Executor from "../../src/Executor.js"
import * as internalOptions from "../../src/internal/options.js"
import * as RunEvent from "../../src/RunEvent.js"
import * as RunReport from "../../src/RunReport.js"
import type * as Task from "../../src/Task.js"
import * as TaskFile from "../../src/TaskFile.js"
import type * as TaskResult from "../../src/TaskResult.js"
import * as Usage from "../../src/Usage.js"
import * as EventLog from "./internal/eventLog.js"
import * as events from "./internal/events.js"
import * as RunStore from "./RunStore.js"

// =============================================================================
// models
// =============================================================================

/**
 * Where a run is: `running`, `finished` (every task ended), `cancelled` (stopped by a cancel or a shutdown; every
 * task has its result, those stopped `Interrupted` with reason `Stopped`), `failed` (the run itself failed, before
 * or while it ran its tasks) or `interrupted`
 * (with a durable store: the run was going when its server stopped, a crash or a `kill -9`, before it could be
 * cancelled; the results it had recorded are kept, its `summary` counts them, its `endedAt` is when the last of them
 * was recorded, and its events replay them).
 *
 * @category models
 * @since 0.1.0
 */
export const RunState = Schema.Literal("running", "finished", "cancelled", "failed", "interrupted")

/**
 * @category models
 * @since 0.1.0
 */
export type RunState = typeof RunState.Type

/**
 * Tasks by outcome, as in `RunReport.Summary`: `total` is the number of tasks that ended.
 *
 * @category models
 * @since 0.1.0
 */
export const Summary = Schema.Struct({
  total: Schema.Number,
  succeeded: Schema.Number,
  failed: Schema.Number,
  timedOut: Schema.Number,
  interrupted: Schema.Number
}).annotations({ identifier: "Summary" })

/**
 * A run's record: what it runs, with which options, where it is, its tasks by outcome so far and its stats.
 * Durations are in milliseconds, times in milliseconds since the epoch.
 *
 * @category models
 * @since 0.1.0
 */
export const RunInfo = Schema.Struct({
  id: Schema.String,
  agent: Schema.String,
  state: RunState,
  /** When the run was asked for. */
  createdAt: Schema.Number,
  /** When the engine started it, `null` before. */
  startedAt: Schema.NullOr(Schema.Number),
  endedAt: Schema.NullOr(Schema.Number),
  options: Schema.Struct({
    concurrency: Schema.Number,
    timeoutMillis: Schema.NullOr(Schema.Number),
    retries: Schema.Number,
    deadlineMillis: Schema.NullOr(Schema.Number)
  }),
  /** How many tasks the run was given. */
  tasks: Schema.Number,
  summary: Summary,
  /** Tasks running now. */
  inFlight: Schema.Number,
  stats: Schema.Struct({
    wallMillis: Schema.Number,
    /** The sum of task durations: what the tasks would take one after another. */
    busyMillis: Schema.Number,
    peakInFlight: Schema.Number,
    /** Attempts that failed and were retried. */
    retries: Schema.Number,
    requests: Schema.Number,
    inputTokens: Schema.Number,
    outputTokens: Schema.Number
  }),
  /** The number of the run's last event so far (the SSE `id`). */
  lastEventId: Schema.Number,
  /** How many clients follow the run's events now. */
  eventStreams: Schema.Number,
  /** Why a `failed` run failed. */
  error: Schema.NullOr(Schema.String)
}).annotations({ identifier: "RunInfo" })

/**
 * @category models
 * @since 0.1.0
 */
export interface RunInfo extends Schema.Schema.Type<typeof RunInfo> {}

/**
 * An agent the API can run, as it lists them.
 *
 * @category models
 * @since 0.1.0
 */
export const AgentInfo = Schema.Struct({ name: Schema.String, description: Schema.String }).annotations({
  identifier: "AgentInfo"
})

/**
 * @category models
 * @since 0.1.0
 */
export interface AgentInfo extends Schema.Schema.Type<typeof AgentInfo> {}

/**
 * No agent of that name is registered.
 *
 * @category errors
 * @since 0.1.0
 */
export class AgentNotFound extends Schema.TaggedError<AgentNotFound>("effect-parallel-agents/Runs/AgentNotFound")(
  "AgentNotFound",
  { agent: Schema.String, known: Schema.Array(Schema.String) },
  HttpApiSchema.annotations({ status: 404 })
) {
  get message(): string {
    return `no agent "${this.agent}": the known agents are ${this.known.join(", ")}`
  }
}

/**
 * A run asked for a concurrency above the service's `maxConcurrency`: it is refused, not lowered, so that the
 * client knows the limit. HTTP: 400.
 *
 * @category errors
 * @since 0.1.0
 */
export class ConcurrencyTooHigh
  extends Schema.TaggedError<ConcurrencyTooHigh>("effect-parallel-agents/Runs/ConcurrencyTooHigh")(
    "ConcurrencyTooHigh",
    { concurrency: Schema.Number, maximum: Schema.Number },
    HttpApiSchema.annotations({ status: 400 })
  )
{
  get message(): string {
    return `a concurrency of ${this.concurrency} is above this server's maximum, ${this.maximum}`
  }
}

/**
 * No run has that id (or it was forgotten).
 *
 * @category errors
 * @since 0.1.0
 */
export class RunNotFound extends Schema.TaggedError<RunNotFound>("effect-parallel-agents/Runs/RunNotFound")(
  "RunNotFound",
  { runId: Schema.String },
  HttpApiSchema.annotations({ status: 404 })
) {
  get message(): string {
    return `no run "${this.runId}"`
  }
}

/**
 * An agent the service runs by name: its input schema, with which each task's JSON object is decoded (a task that
 * does not fit fails on its own, naming the path), and its factory.
 *
 * @category models
 * @since 0.1.0
 */
export interface RegisteredAgent<R> {
  readonly name: string
  readonly description: string
  readonly input: Schema.Schema<unknown, unknown>
  readonly factory: Agent.Factory<unknown, unknown, unknown, unknown, R>
}

/**
 * Registers an agent: an `AgentRegistry` entry, or any name, description, input schema and factory.
 *
 * @category constructors
 * @since 0.1.0
 */
export const agent = <In, IE, Out, E, EL, R>(options: {
  readonly name: string
  readonly description: string
  readonly input: Schema.Schema<In, IE>
  readonly factory: Agent.Factory<In, Out, E, EL, R>
}): RegisteredAgent<R> => ({
  name: options.name,
  description: options.description,
  input: options.input as unknown as Schema.Schema<unknown, unknown>,
  factory: options.factory as unknown as Agent.Factory<unknown, unknown, unknown, unknown, R>
})

/**
 * What to run: the agent's name, the tasks (from a task file, or built with `TaskFile.taskOf`) and the run's
 * options. Options left out come from the service's (the concurrency) or are off.
 *
 * @category models
 * @since 0.1.0
 */
export interface StartOptions {
  readonly agent: string
  readonly tasks: ReadonlyArray<Task.Task<TaskFile.Input>>
  readonly concurrency?: number | undefined
  readonly timeout?: Duration.Duration | undefined
  readonly retries?: number | undefined
  readonly deadline?: Duration.Duration | undefined
}

/**
 * One event of a run as readers get it: its number in the run (from 1), its kind (the `RunEvent`'s `_tag`) and its
 * JSON (the event's fields; a task's result as its `TaskFile.resultLine` with `started`, `startedAt` and `slot`). A
 * task's events leave out `_tag` and `runId`, which the kind and the run's stream say.
 *
 * @category models
 * @since 0.1.0
 */
export interface Event {
  readonly id: number
  readonly type: string
  readonly data: string
}

/**
 * Options of the service.
 *
 * @category models
 * @since 0.1.0
 */
export interface Options<R> {
  /** The agents it runs, by name. */
  readonly agents: ReadonlyArray<RegisteredAgent<R>>
  /**
   * The highest concurrency a run may ask for: a whole number, 1 or more. A run that asks for more is refused
   * (`ConcurrencyTooHigh`). @default 1000
   */
  readonly maxConcurrency?: number | undefined
  /**
   * How many finished runs keep their event log in memory (older ones replay theirs from their results): a whole
   * number, 0 or more. @default 20
   */
  readonly keepEventLogs?: number | undefined
  /** The models the agents use, for reports (`report.stats.models`). */
  readonly models?: ReadonlyArray<string> | undefined
}

/**
 * @category models
 * @since 0.1.0
 */
export interface Service {
  /** The agents it runs. */
  readonly agents: ReadonlyArray<AgentInfo>
  /** Starts a run on a fiber of the service and returns its record at once. */
  readonly start: (
    options: StartOptions
  ) => Effect.Effect<RunInfo, AgentNotFound | ConcurrencyTooHigh | RunStore.RunStoreError>
  /** Every run kept, the most recent first. */
  readonly list: Effect.Effect<ReadonlyArray<RunInfo>, RunStore.RunStoreError>
  readonly get: (id: string) => Effect.Effect<RunInfo, RunNotFound | RunStore.RunStoreError>
  /**
   * Cancels a run, gracefully: its running agents are interrupted and released, tasks not started never start, and
   * every task gets its result (those stopped are `Interrupted` with reason `Stopped`). Returns the record once the
   * run has stopped; a run that ended is left as it is.
   */
  readonly cancel: (id: string) => Effect.Effect<RunInfo, RunNotFound | RunStore.RunStoreError>
  /** The run's results so far, then each one as it ends, until the run ends. */
  readonly results: (
    id: string
  ) => Effect.Effect<
    Stream.Stream<TaskResult.TaskResult<unknown, unknown>, RunStore.RunStoreError>,
    RunNotFound | RunStore.RunStoreError
  >
  /** The run's events after the one numbered `after` (0 for all), then each one as it comes, until the run ends. */
  readonly events: (
    id: string,
    after: number
  ) => Effect.Effect<Stream.Stream<Event, RunStore.RunStoreError>, RunNotFound | RunStore.RunStoreError>
  /**
   * The same events in the `text/event-stream` format (`id`, `event` and `data` lines per event), as bytes. Readers
   * that follow a run live share each batch's encoding. With `keepAlive`, a comment (`: keep-alive`) goes out
   * every that long when the reader has nothing else to send, while the run goes.
   */
  readonly sse: (
    id: string,
    after: number,
    options?: { readonly keepAlive?: Duration.DurationInput | undefined }
  ) => Effect.Effect<Stream.Stream<Uint8Array, RunStore.RunStoreError>, RunNotFound | RunStore.RunStoreError>
  /** The run's report, of the tasks that ended so far. */
  readonly report: (
    id: string
  ) => Effect.Effect<
    { readonly info: RunInfo; readonly report: RunReport.RunReport<unknown, unknown, undefined> },
    RunNotFound | RunStore.RunStoreError
  >
}

/**
 * The runs service.
 *
 * @category services
 * @since 0.1.0
 */
export class Runs extends Context.Tag("effect-parallel-agents/Runs")<Runs, Service>() {}

// =============================================================================
// a live run
// =============================================================================

/** The capacity of a run's own event hub: the recorder reads it at once, so it only ever holds a burst. */
const hubCapacity = 16_384
/** How long the recorder of a run's events lets them gather before it writes them to the run's log. */
const recordLinger = Duration.millis(10)

class Live {
  state: RunState = "running"
  startedAt: number | null = null
  endedAt: number | null = null
  error: string | null = null
  cancelled = false
  /** Tasks that ended, by outcome. */
  readonly outcomes: Record<TaskResult.TaskResult<unknown, unknown>["_tag"], number> = {
    Succeeded: 0,
    Failed: 0,
    TimedOut: 0,
    Interrupted: 0
  }
  busyMillis = 0
  retries = 0
  usage = Usage.empty
  peakInFlight = 0
  /** Tasks whose first attempt started and that have not ended. */
  readonly running = new Set<string>()
  sawFinished = false
  constructor(
    readonly id: string,
    readonly agent: string,
    readonly createdAt: number,
    readonly options: RunInfo["options"],
    readonly tasks: number,
    readonly log: EventLog.EventLog,
    readonly results: PubSub.PubSub<void>,
    readonly done: Deferred.Deferred<void>,
    /** Completed to stop the run (its `stop` option). */
    readonly stop: Deferred.Deferred<void>
  ) {}

  info(now: number): RunInfo {
    const end = this.endedAt ?? now
    const { Failed, Interrupted, Succeeded, TimedOut } = this.outcomes
    return {
      id: this.id,
      agent: this.agent,
      state: this.state,
      createdAt: this.createdAt,
      startedAt: this.startedAt,
      endedAt: this.endedAt,
      options: this.options,
      tasks: this.tasks,
      summary: {
        total: Succeeded + Failed + TimedOut + Interrupted,
        succeeded: Succeeded,
        failed: Failed,
        timedOut: TimedOut,
        interrupted: Interrupted
      },
      inFlight: this.running.size,
      stats: {
        wallMillis: this.startedAt === null ? 0 : Math.max(0, end - this.startedAt),
        busyMillis: this.busyMillis,
        peakInFlight: this.peakInFlight,
        retries: this.retries,
        requests: this.usage.requests,
        inputTokens: this.usage.inputTokens,
        outputTokens: this.usage.outputTokens
      },
      lastEventId: this.log.lastId,
      eventStreams: this.log.readers,
      error: this.error
    }
  }

  addResults(results: Chunk.Chunk<TaskResult.TaskResult<unknown, unknown>>) {
    for (const result of results) {
      this.outcomes[result._tag]++
      this.busyMillis += result.durationMillis
      this.retries += result.failedAttempts.length
      if (!Usage.isEmpty(result.usage)) this.usage = Usage.add(this.usage, result.usage)
    }
  }

  addEvent(event: RunEvent.RunEvent) {
    switch (event._tag) {
      case "RunStarted":
        this.startedAt = event.at
        break
      case "TaskStarted":
        this.running.add(event.taskId)
        if (this.running.size > this.peakInFlight) this.peakInFlight = this.running.size
        break
      case "TaskSucceeded":
      case "TaskFailed":
      case "TaskTimedOut":
      case "TaskInterrupted":
        this.running.delete(event.taskId)
        break
      case "RunFinished":
        this.sawFinished = true
        break
    }
  }
}

/**
 * The events of a run whose log is gone, from its record and results: its start, its tasks' ends, its end. They are
 * numbered after `after`, the live log's last event, so that a number the client has from the live log is never
 * taken for one of the replay's.
 */
const replay = (
  info: RunInfo,
  results: ReadonlyArray<TaskResult.TaskResult<unknown, unknown>>,
  after: number
): Array<Event> => {
  const at = info.startedAt ?? info.createdAt
  const out: Array<{ readonly type: string; readonly data: string }> = [
    events.encode(
      RunEvent.RunEvent.RunStarted({
        runId: info.id,
        at,
        agent: info.agent,
        total: info.tasks,
        concurrency: info.options.concurrency
      }),
      info.tasks
    )
  ]
  for (const result of results) {
    out.push(events.encode(RunEvent.ended(info.id, (result.startedAt ?? at) + result.durationMillis, result), 0, true))
  }
  out.push(events.encode(
    RunEvent.RunEvent.RunFinished({
      runId: info.id,
      at: info.endedAt ?? at,
      summary: info.summary,
      wallMillis: info.stats.wallMillis
    }),
    0
  ))
  return out.map((event, i) => ({ id: after + i + 1, ...event }))
}

/** Where the replay of a run whose live log's length is not known starts its numbers: 2^40. */
const unknownLiveLog = 2 ** 40

/**
 * A stored run that is not live here, though its record says it is running: it was going when the process that ran
 * it stopped (a durable store keeps its record from before), so it is interrupted. A running run always is live.
 */
const orphaned = (info: RunInfo): RunInfo =>
  info.state === "running"
    ? {
      ...info,
      state: "interrupted",
      inFlight: 0,
      eventStreams: 0,
      error: "the run was going when its server stopped; the results it had recorded are kept"
    }
    : info

// =============================================================================
// constructors
// =============================================================================

const newId = Effect.map(Random.nextIntBetween(0, 36 ** 8), (n) => n.toString(36).padStart(8, "0"))

// NaN here made every run's concurrency NaN (its record could not be sent: 500s), or kept every log for ever.
const decodeOptions = internalOptions.decoderOf(Schema.Struct({
  maxConcurrency: Schema.optional(internalOptions.WholeFromOne),
  keepEventLogs: Schema.optional(internalOptions.WholeFromZero)
}))

/**
 * Creates the runs service in the current scope: its runs live in that scope, and closing it cancels the runs
 * still going.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = <R>(
  options: Options<R>
): Effect.Effect<Service, RunOptionsError, Executor.Executor | RunStore.RunStore | Scope.Scope | R> =>
  Effect.gen(function*() {
    const { keepEventLogs = 20, maxConcurrency = 1000 } = yield* decodeOptions(options)
    const executor = yield* Executor.Executor
    const store = yield* RunStore.RunStore
    const agents = new Map(options.agents.map((agent) => [agent.name, agent]))
    const defaultConcurrency = Math.min(
      maxConcurrency,
      typeof executor.config.concurrency === "number" ? executor.config.concurrency : 32
    )
    const live = new Map<string, Live>()
    // Finished runs that keep their event log, oldest first.
    const kept: Array<string> = []
    const fibers = yield* FiberMap.make<string>()
    // Runs are forked with the service's own runtime (its context and fiber refs), not the requester's: a run is no
    // part of the request that started it, nor of its span.
    const runFork = yield* FiberMap.runtime(fibers)<R>()
    // Runs before the fiber map's own finalizer: the runs still going are stopped, and each has its every task's
    // result recorded before the fiber map interrupts what is left (a run that does not stop).
    yield* Effect.addFinalizer(() =>
      Effect.forEach(live.values(), (run) => {
        if (run.state !== "running") return Effect.void
        run.cancelled = true
        return Effect.zipRight(Deferred.succeed(run.stop, undefined), Deferred.await(run.done))
      }, { concurrency: "unbounded", discard: true })
    )

    const now = Clock.currentTimeMillis

    const lookup = (id: string) =>
      Effect.flatMap(
        store.get(id),
        Option.match({
          onNone: () => Effect.fail(new RunNotFound({ runId: id })),
          onSome: (info) => Effect.succeed(orphaned(info))
        })
      )

    /**
     * Follows the run's own hub: every event goes to the run's log, in batches. Told of an event, the recorder waits
     * `recordLinger` before it takes what has come, so that a busy run's events are recorded a batch at a time: woken
     * for each event, the recorder cost the run about 20 µs of CPU an event (three a task), more than the rest of a
     * task's bookkeeping. An event taken is written even if the recorder is stopped during the wait.
     */
    const record = (run: Live, subscription: Queue.Dequeue<RunEvent.RunEvent>) =>
      Effect.uninterruptibleMask((restore) =>
        Effect.forever(Effect.flatMap(restore(Queue.take(subscription)), (first) =>
          Effect.zipRight(
            Effect.exit(restore(Effect.sleep(recordLinger))),
            Effect.flatMap(Queue.takeAll(subscription), (rest) => write(run, [first, ...rest]))
          )))
      )

    const write = (run: Live, batch: Iterable<RunEvent.RunEvent>) =>
      Effect.suspend(() => {
        const encoded: Array<{ readonly type: string; readonly data: string }> = []
        for (const event of batch) {
          run.addEvent(event)
          encoded.push(events.encode(event, run.tasks))
        }
        return run.log.append(encoded)
      })

    /** When a run ends however it ends: the last events, its state, its record, and the readers told. */
    const finish = (
      run: Live,
      exit: Exit.Exit<unknown, unknown>,
      recorder: Fiber.RuntimeFiber<unknown>,
      subscription: Queue.Dequeue<RunEvent.RunEvent>
    ) =>
      Effect.gen(function*() {
        yield* Fiber.interrupt(recorder)
        yield* write(run, yield* Queue.takeAll(subscription))
        const at = yield* now
        run.state = run.cancelled || (Exit.isFailure(exit) && Cause.isInterruptedOnly(exit.cause))
          ? "cancelled"
          : Exit.isSuccess(exit)
          ? "finished"
          : "failed"
        if (Exit.isFailure(exit) && run.state === "failed") {
          const error = Cause.squash(exit.cause)
          run.error = error instanceof Error ? error.message : String(error)
        }
        run.running.clear()
        run.endedAt = at
        if (!run.sawFinished) {
          // Stopped before the engine could say so (cancelled, or failed before it started).
          const info = run.info(at)
          yield* write(run, [
            RunEvent.RunEvent.RunFinished({
              runId: run.id,
              at,
              summary: info.summary,
              wallMillis: info.stats.wallMillis
            })
          ])
        }
        yield* Effect.catchAll(
          store.save(run.info(at)),
          (error) => Effect.logWarning("could not save a finished run", error)
        )
        yield* PubSub.publish(run.results, undefined)
        // A finished run's readers replay its events, not the text its agents wrote while it ran.
        yield* run.log.close((entry) => entry.type !== "TaskOutput")
        kept.push(run.id)
        while (kept.length > keepEventLogs) live.delete(kept.shift()!)
        yield* Deferred.succeed(run.done, undefined)
      })

    const runOf = (run: Live, agent: RegisteredAgent<R>, request: StartOptions) =>
      Effect.gen(function*() {
        const hub = yield* Effect.orDie(RunEvent.make({ capacity: hubCapacity })) // A capacity in range.
        const subscription = yield* hub.subscribe
        const recorder = yield* Effect.forkScoped(record(run, subscription))
        yield* Effect.addFinalizer((exit) => finish(run, exit, recorder, subscription))
        // A list, not a `Stream`: stopped, the run reports every task of it.
        const results = executor.stream(request.tasks, agent.factory, {
          input: TaskFile.input(agent.input),
          runId: run.id,
          concurrency: run.options.concurrency,
          timeout: request.timeout,
          deadline: request.deadline,
          retry: run.options.retries > 0 ? { times: run.options.retries } : undefined,
          stop: Deferred.await(run.stop)
        })
        yield* results.pipe(
          // A result is counted in the run's summary once the store has kept it: what the record shows is what a
          // durable store still has after a crash.
          Stream.runForEachChunk((chunk) =>
            store.append(run.id, Chunk.toReadonlyArray(chunk)).pipe(
              Effect.zipRight(Effect.sync(() => run.addResults(chunk))),
              Effect.zipRight(PubSub.publish(run.results, undefined))
            )
          ),
          Effect.provideService(RunEvent.Hub, hub)
        )
      }).pipe(
        Effect.scoped,
        Effect.annotateLogs({ package: "effect-parallel-agents", module: "Runs", runId: run.id, agent: run.agent })
      )

    const start = Effect.fn("Runs.start")(function*(request: StartOptions) {
      const agent = agents.get(request.agent)
      if (agent === undefined) {
        return yield* new AgentNotFound({ agent: request.agent, known: Array.from(agents.keys()) })
      }
      if (request.concurrency !== undefined && request.concurrency > maxConcurrency) {
        return yield* new ConcurrencyTooHigh({ concurrency: request.concurrency, maximum: maxConcurrency })
      }
      let id = yield* newId
      while (live.has(id) || Option.isSome(yield* store.get(id))) id = yield* newId
      const run = new Live(
        id,
        agent.name,
        yield* now,
        {
          concurrency: request.concurrency ?? defaultConcurrency,
          timeoutMillis: request.timeout === undefined ? null : Duration.toMillis(request.timeout),
          retries: request.retries ?? 0,
          deadlineMillis: request.deadline === undefined ? null : Duration.toMillis(request.deadline)
        },
        request.tasks.length,
        yield* EventLog.EventLog.make,
        yield* PubSub.sliding<void>(1),
        yield* Deferred.make<void>(),
        yield* Deferred.make<void>()
      )
      const info = run.info(yield* now)
      yield* store.save(info)
      live.set(id, run)
      runFork(id, runOf(run, agent, request))
      return info
    })

    const get = Effect.fn("Runs.get")(function*(id: string) {
      const run = live.get(id)
      return run === undefined ? yield* lookup(id) : run.info(yield* now)
    })

    const list = Effect.flatMap(
      store.list,
      (infos) => Effect.map(now, (at) => infos.map((info) => live.get(info.id)?.info(at) ?? orphaned(info)))
    ).pipe(
      Effect.withSpan("Runs.list")
    )

    const cancel = Effect.fn("Runs.cancel")(function*(id: string) {
      const run = live.get(id)
      if (run === undefined) return yield* lookup(id)
      if (run.state === "running") {
        run.cancelled = true
        yield* Deferred.succeed(run.stop, undefined)
      }
      yield* Deferred.await(run.done)
      return run.info(yield* now)
    })

    const results = Effect.fn("Runs.results")(function*(id: string) {
      const run = live.get(id)
      if (run === undefined) {
        yield* lookup(id)
        return Stream.flatMap(Stream.fromEffect(store.results(id, 0)), Stream.fromIterable)
      }
      return Stream.unwrapScoped(Effect.gen(function*() {
        const signal = yield* PubSub.subscribe(run.results)
        let from = 0
        const next: Effect.Effect<
          Chunk.Chunk<TaskResult.TaskResult<unknown, unknown>>,
          Option.Option<RunStore.RunStoreError>
        > = Effect.suspend(() => {
          // Whether the run had ended before the store was read: then what was read is all there is.
          const ended = run.state !== "running" && run.endedAt !== null
          return Effect.flatMap(Effect.mapError(store.results(id, from), Option.some), (found) => {
            from += found.length
            if (found.length > 0) return Effect.succeed(Chunk.unsafeFromArray(found.slice()))
            if (ended) return Effect.fail(Option.none())
            // As for events: results that end within 100 ms go out together.
            return Effect.zipRight(Queue.take(signal), Effect.zipRight(Effect.sleep(Duration.millis(100)), next))
          })
        })
        return Stream.repeatEffectChunkOption(next)
      }))
    })

    const eventsOf = Effect.fn("Runs.events")(function*(id: string, after: number) {
      const run = live.get(id)
      if (run !== undefined) return run.log.read(after)
      const record = yield* store.get(id)
      if (Option.isNone(record)) return yield* new RunNotFound({ runId: id })
      const info = orphaned(record.value)
      // The record of a run that ended here has the live log's last number. One cut short by its server's stop has
      // the number it had when it started: its live log went further, how far is not known, so the replay's
      // numbers start far above any a live log reaches.
      const liveLast = record.value.state === "running" ? unknownLiveLog : info.lastEventId
      const stored = yield* store.results(id, 0)
      const replayed = replay(info, stored, liveLast)
      const first = replayed[0]!
      const last = replayed[replayed.length - 1]!
      // A number of the replay resumes right after it. A number past its end (a later log's), or the live log's
      // last one (its RunFinished), gets the run's end again, so that the client learns how the run ended. A number
      // of the live log before its end cannot be placed among the replay's events (which of them the client saw is
      // not known): it gets them all, from the RunStarted, rather than lose one.
      return Stream.fromIterable(
        after > last.id || (after === liveLast && after > 0)
          ? [last]
          : after >= first.id
          ? replayed.filter((event) => event.id > after)
          : replayed
      )
    })

    const sse = Effect.fn("Runs.sse")(function*(
      id: string,
      after: number,
      options?: { readonly keepAlive?: Duration.DurationInput | undefined }
    ) {
      const run = live.get(id)
      if (run !== undefined) return run.log.readSse(after, { keepAlive: options?.keepAlive })
      // A chunk of events at a time: one encoding and one write each, not one an event.
      return Stream.mapChunks(
        yield* eventsOf(id, after),
        (events) => events.length === 0 ? Chunk.empty() : Chunk.of(EventLog.sseBytes(events))
      )
    })

    const report = Effect.fn("Runs.report")(function*(id: string) {
      const info = yield* get(id)
      const results = (yield* store.results(id, 0)).slice().sort((a, b) => a.index - b.index)
      const at = yield* now
      const startedAt = info.startedAt ?? info.createdAt
      return {
        info,
        report: RunReport.make({
          runId: info.id,
          agent: info.agent,
          results,
          aggregate: undefined,
          startedAt,
          endedAt: info.endedAt ?? at,
          concurrency: info.options.concurrency,
          peakInFlight: info.stats.peakInFlight,
          models: info.stats.requests > 0 ? options.models : undefined
        })
      }
    })

    return Runs.of({
      agents: options.agents.map((agent) => ({ name: agent.name, description: agent.description })),
      start,
      list,
      get,
      cancel,
      results,
      events: eventsOf,
      sse,
      report
    })
  })

/**
 * The runs service as a layer: it needs the `Executor`, a `RunStore` (`RunStore.layerMemory()`) and what the
 * agents need (a `LanguageModel`, say), which the app provides once.
 *
 * @category layers
 * @since 0.1.0
 */
export const layer = <R>(
  options: Options<R>
): Layer.Layer<Runs, RunOptionsError, Executor.Executor | RunStore.RunStore | R> => Layer.scoped(Runs, make(options))
