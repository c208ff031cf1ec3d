/**
 * The fan-out engine. It runs one task per agent instance, many at once under a concurrency limit, keeps each
 * task's failure or timeout to itself, and returns a report with every task's result in input order.
 *
 * @since 0.1.0
 */
import * as Channel from "effect/Channel"
import * as Chunk from "effect/Chunk"
import type * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Random from "effect/Random"
import type * as Schema from "effect/Schema"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import type * as Agent from "./Agent.js"
import * as AgentError from "./AgentError.js"
import type * as Aggregate from "./Aggregate.js"
import * as Budget from "./Budget.js"
import * as ExecutorConfig from "./ExecutorConfig.js"
import * as fanOut from "./internal/fanOut.js"
import * as Ledger from "./internal/ledger.js"
import * as internalOptions from "./internal/options.js"
import type * as Plan from "./internal/plan.js"
import * as InternalSchema from "./internal/schema.js"
import * as RateLimit from "./RateLimit.js"
import * as Retry from "./Retry.js"
import * as RunJournal from "./RunJournal.js"
import type * as RunReport from "./RunReport.js"
import type * as Task from "./Task.js"
import type * as TaskResult from "./TaskResult.js"
import * as Usage from "./Usage.js"

// =============================================================================
// models
// =============================================================================

/**
 * Options of one run. Anything left out comes from the executor's settings (`ExecutorConfig`).
 *
 * @category models
 * @since 0.1.0
 */
export interface RunOptions<A, E, S> {
  /** How many agents run at once: a positive integer or `"unbounded"`. */
  readonly concurrency?: ExecutorConfig.Concurrency | undefined
  /**
   * How long one task may run. On expiry its agent is interrupted, its finalizers run, and the task is reported
   * `TimedOut` with how long it ran. A task's own `timeout` overrides this.
   */
  readonly timeout?: Duration.DurationInput | undefined
  /**
   * How long the whole run may take. At the deadline running tasks are stopped and reported `TimedOut`, and tasks
   * not yet started are reported `Interrupted` with reason `RunDeadline`.
   */
  readonly deadline?: Duration.DurationInput | undefined
  /** A fold over the results, whose value becomes the report's `aggregate`. */
  readonly aggregate?: Aggregate.Aggregate<A, E, S> | undefined
  /** The run's id, used in agent instance names; a random one by default. */
  readonly runId?: string | undefined
  /**
   * Retries failed attempts, each with a fresh agent instance: a `Schedule` fed with each attempt's error, or
   * `{ schedule, times, while }`. Only retryable errors are retried by default (`Retry.isRetryable`: rate limited,
   * timed out, 5xx, connection errors); a provider's Retry-After is honoured. A task's `timeout` applies to each
   * attempt; the run's `deadline` bounds them all.
   */
  readonly retry?: Retry.Policy<E> | undefined
  /**
   * A budget the run's tasks reserve their `estimate` from before they start and settle with what they used. Tasks
   * that do not fit end as `Failed` with `BudgetExceeded` without calling their agent. Limits give the run its own
   * budget; a `Budget` (from `Budget.make`) can be shared. By default, the `Budget` in context, if any.
   */
  readonly budget?: Budget.Service | Budget.Limits | undefined
  /**
   * What one task is expected to use: what it reserves from the budget, and its cost in tokens under a rate limit.
   * Nothing by default: then a task fits the budget while anything is left. A task whose function gives no usage (a
   * field that is NaN, negative or infinite, nothing at all) or throws ends `Failed` with a `TaskOptionsError`
   * (option `estimate`) without calling its agent.
   */
  readonly estimate?: Partial<Usage.Usage> | ((task: Task.Task<unknown>) => Partial<Usage.Usage>) | undefined
  /**
   * Requests and tokens per interval for the run's task attempts: options give the run its own limit; a
   * `RateLimit` (from `RateLimit.make`) can be shared. By default, the `RateLimit` in context, if any.
   */
  readonly rateLimit?: RateLimit.Service | RateLimit.Options | undefined
  /**
   * Adaptive concurrency: rate-limited attempts cut how many tasks run at once, successes raise it again, never
   * above `concurrency`. `true` for the defaults.
   */
  readonly adaptive?: boolean | AdaptiveOptions | undefined
  /**
   * Stop starting tasks after `maxFailures` tasks failed or timed out, or once `minSuccessRate` (a share of all
   * tasks, 0 to 1) can no longer be reached. Tasks never started are reported `Interrupted` with reason
   * `FailurePolicy`; running tasks finish.
   */
  readonly failurePolicy?: FailurePolicy | undefined
  /**
   * Stops the run gracefully when this effect completes (or fails): a `Deferred` (`Deferred.await`), a latch's
   * `await`, a signal. No task starts after it; the tasks not started are reported `Interrupted` with reason
   * `Stopped` (`started: false`); the attempts under way are interrupted (their agents released, their finalizers
   * run) and reported `Interrupted` with reason `Stopped`, and so is a task waiting to retry; a task waiting for its
   * turn under the rate limit or for an adaptive permit ends at once, never started. The run then returns its whole
   * report (a stream ends after the last result) and publishes `RunFinished`: interrupting the run instead loses
   * the tasks that had not ended. The effect runs on a fiber of the run's own from the run's start, so one complete
   * already stops the run before any task starts; one that completes after the run ended does nothing. An attempt
   * that does not stop within 5 seconds is left running, as at a timeout.
   */
  readonly stop?: Effect.Effect<unknown, unknown> | undefined
}

/**
 * A durable run (the `durable` option of `run`, `stream` and `runOne`). When it starts, the run reads what the journal holds for `runId`: a task
 * with a final result there is not run again, and its recorded result is reported instead, marked `replayed` (in
 * the result, its event and the report's `stats.replayed`). Final are `Succeeded` results, and `Failed` and
 * `TimedOut` after their retries unless `retryFailed` is set; `Interrupted` never is, nor a task the run's deadline
 * stopped (`TimedOut` with reason `RunDeadline`), nor a task that never started (the budget had no room, an invalid
 * option). A task whose input changed under the same id (its hash differs) is
 * not run: it fails with `JournalInputChanged`, and its recorded result stays. Every other final result is recorded,
 * with a hash of its input, before the run emits it (to the report, the stream, the events); when the journal
 * cannot record, the run fails with `RunJournalError` and emits nothing it did not record.
 *
 * **Gotchas**
 *
 * - Values are stored as JSON: with an `output` schema, as it encodes them; without one, as `JSON.stringify`
 *   writes them (a `Date` comes back as a string). A value JSON cannot hold fails the run with `RunJournalError`
 *   (`Encode`). Typed errors of failed tasks come back as plain objects (`name`, `message`, `_tag`); the engine's
 *   own errors (`AgentTimeout`, `AgentInputError`...) as their classes.
 * - Task ids are the journal's keys: in a durable run they must be stable across restarts and unique. A stream
 *   that repeats an id runs the first task with it; the others fail with `TaskOptionsError` (option `id`).
 * - The run holds what its journal holds for it in memory (read once, at the start), and the ids of its tasks.
 * - `runOne` reads the run's whole journal on each call, and leaves the run's start and finish markers to whatever
 *   drives the run: it suits a task resumed on its own, not a worker that takes a run's tasks one by one.
 *
 * @category models
 * @since 0.1.0
 */
export interface Durable {
  /** The run's id in the journal (and the run's `runId`): start the run again with it to resume. */
  readonly runId: string
  /** Runs again the tasks whose recorded result is `Failed` or `TimedOut` (their new results replace them). */
  readonly retryFailed?: boolean | undefined
  /** A JSON summary of the run kept with its start marker, for listings (`RunJournal.RunInfo.options`). */
  readonly metadata?: unknown
}

/**
 * The error a run adds when it is durable (`D` is the type of its `durable` option).
 *
 * @category utility types
 * @since 0.1.0
 */
export type DurableError<D> = [D] extends [undefined] ? never : RunJournal.RunJournalError

/**
 * The requirement a run adds when it is durable (`D` is the type of its `durable` option).
 *
 * @category utility types
 * @since 0.1.0
 */
export type DurableContext<D> = [D] extends [undefined] ? never : RunJournal.RunJournal

/**
 * The `durable` option of `run`, `stream` and `runOne`, typed so that only a durable run requires `RunJournal` and
 * may fail with `RunJournalError`.
 *
 * @category models
 * @since 0.1.0
 */
export interface DurableOption<D extends Durable | undefined> {
  /**
   * Makes the run durable: its final results are recorded in the `RunJournal` in context (which the app provides:
   * `RunJournal.layerMemory`, or `effect-parallel-agents/store`'s SQLite or PostgreSQL journal) under `runId`, each
   * before it is emitted, and a run started again with the same id replays them instead of calling their agents.
   * See `Durable`.
   */
  readonly durable?: D
}

/**
 * Settings of adaptive concurrency (additive increase, multiplicative decrease). The defaults start low and move
 * gently, because providers hide their limits behind a burst allowance: a limit that grew fast would overshoot by
 * the time the burst is spent (see the 429 storm in bench/README.md). To start at full speed, set `initial`.
 *
 * @category models
 * @since 0.1.0
 */
export interface AdaptiveOptions {
  /** Where the limit starts; a tenth of the run's `concurrency` (rounded up) by default. */
  readonly initial?: number | undefined
  /** The lowest it may go; 1 by default. */
  readonly min?: number | undefined
  /** What a rate-limited attempt multiplies it by, between 0 and 1 (exclusive); 0.75 by default. */
  readonly decrease?: number | undefined
  /** How much it grows for every `limit` successes (each adds `increase / limit`); 0.4 by default. */
  readonly increase?: number | undefined
}

/**
 * When a run stops starting tasks.
 *
 * @category models
 * @since 0.1.0
 */
export interface FailurePolicy {
  /** Stop after this many tasks failed or timed out (a whole number, 1 or more). */
  readonly maxFailures?: number | undefined
  /** Stop once this share of successes over all tasks can no longer be reached (0 to 1). */
  readonly minSuccessRate?: number | undefined
}

/**
 * The input schema option: optional when tasks already hold the agent's input type, required otherwise. A task
 * whose input does not decode ends as `Failed` with an `AgentInputError` naming the path; its agent is not built.
 *
 * @category models
 * @since 0.1.0
 */
export type InputOption<In, TaskIn, InputEncoded, RS> = [TaskIn] extends [In] ?
  { readonly input?: Schema.Schema<In, InputEncoded, RS> | undefined }
  : { readonly input: Schema.Schema<In, InputEncoded, RS> }

/**
 * The `run` signature, shared by the service and the accessor: without an output schema the results hold what the
 * agent returns; with one, what the schema decodes it to.
 *
 * @category models
 * @since 0.1.0
 */
export interface Run<Extra> {
  <
    In,
    Out,
    E,
    EL,
    R,
    S = undefined,
    TaskIn = In,
    InputEncoded = never,
    RS = never,
    D extends Durable | undefined = undefined
  >(
    tasks: Iterable<Task.Task<TaskIn>>,
    agent: Agent.Factory<In, Out, E, EL, R>,
    ...options: [TaskIn] extends [In] ?
      [options?: RunOptionsWithoutOutput<In, Out, E, S, TaskIn, InputEncoded, RS> & DurableOption<D>]
      : [options: RunOptionsWithoutOutput<In, Out, E, S, TaskIn, InputEncoded, RS> & DurableOption<D>]
  ): Effect.Effect<
    RunReport.RunReport<Out, E | AgentError.AgentError, NoInfer<S>>,
    AgentError.RunOptionsError | DurableError<D>,
    R | NoInfer<RS> | Extra | DurableContext<D>
  >
  <
    In,
    Out,
    E,
    EL,
    R,
    A,
    OutputEncoded,
    S = undefined,
    TaskIn = In,
    InputEncoded = never,
    RS = never,
    D extends Durable | undefined = undefined
  >(
    tasks: Iterable<Task.Task<TaskIn>>,
    agent: Agent.Factory<In, Out, E, EL, R>,
    options:
      & { readonly output: Schema.Schema<A, OutputEncoded, RS> }
      & RunOptions<NoInfer<A>, NoInfer<E | AgentError.AgentError>, S>
      & InputOption<In, TaskIn, InputEncoded, RS>
      & DurableOption<D>
  ): Effect.Effect<
    RunReport.RunReport<A, E | AgentError.AgentError, NoInfer<S>>,
    AgentError.RunOptionsError | DurableError<D>,
    R | NoInfer<RS> | Extra | DurableContext<D>
  >
}

/**
 * The `stream` signature, shared by the service and the accessor. Tasks may be a list or a `Stream`; results come
 * in completion order.
 *
 * @category models
 * @since 0.1.0
 */
export interface RunStream<Extra> {
  <
    In,
    Out,
    E,
    EL,
    R,
    TaskIn = In,
    InputEncoded = never,
    RS = never,
    EIn = never,
    RIn = never,
    D extends Durable | undefined = undefined
  >(
    tasks: Iterable<Task.Task<TaskIn>> | Stream.Stream<Task.Task<TaskIn>, EIn, RIn>,
    agent: Agent.Factory<In, Out, E, EL, R>,
    ...options: [TaskIn] extends [In] ?
      [options?: StreamOptionsWithoutOutput<In, E, TaskIn, InputEncoded, RS> & DurableOption<D>]
      : [options: StreamOptionsWithoutOutput<In, E, TaskIn, InputEncoded, RS> & DurableOption<D>]
  ): Stream.Stream<
    TaskResult.TaskResult<Out, E | AgentError.AgentError>,
    AgentError.RunOptionsError | EIn | DurableError<D>,
    R | NoInfer<RS> | RIn | Extra | DurableContext<D>
  >
  <
    In,
    Out,
    E,
    EL,
    R,
    A,
    OutputEncoded,
    TaskIn = In,
    InputEncoded = never,
    RS = never,
    EIn = never,
    RIn = never,
    D extends Durable | undefined = undefined
  >(
    tasks: Iterable<Task.Task<TaskIn>> | Stream.Stream<Task.Task<TaskIn>, EIn, RIn>,
    agent: Agent.Factory<In, Out, E, EL, R>,
    options:
      & { readonly output: Schema.Schema<A, OutputEncoded, RS> }
      & StreamOptions<NoInfer<E | AgentError.AgentError>>
      & InputOption<In, TaskIn, InputEncoded, RS>
      & DurableOption<D>
  ): Stream.Stream<
    TaskResult.TaskResult<A, E | AgentError.AgentError>,
    AgentError.RunOptionsError | EIn | DurableError<D>,
    R | NoInfer<RS> | RIn | Extra | DurableContext<D>
  >
}

/**
 * The `runOne` signature, shared by the service and the accessor: one task, its result.
 *
 * @category models
 * @since 0.1.0
 */
export interface RunOne<Extra> {
  <In, Out, E, EL, R, TaskIn = In, InputEncoded = never, RS = never, D extends Durable | undefined = undefined>(
    task: Task.Task<TaskIn>,
    agent: Agent.Factory<In, Out, E, EL, R>,
    ...options: [TaskIn] extends [In] ?
      [options?: StreamOptionsWithoutOutput<In, E, TaskIn, InputEncoded, RS> & DurableOption<D>]
      : [options: StreamOptionsWithoutOutput<In, E, TaskIn, InputEncoded, RS> & DurableOption<D>]
  ): Effect.Effect<
    TaskResult.TaskResult<Out, E | AgentError.AgentError>,
    AgentError.RunOptionsError | DurableError<D>,
    R | NoInfer<RS> | Extra | DurableContext<D>
  >
  <
    In,
    Out,
    E,
    EL,
    R,
    A,
    OutputEncoded,
    TaskIn = In,
    InputEncoded = never,
    RS = never,
    D extends Durable | undefined = undefined
  >(
    task: Task.Task<TaskIn>,
    agent: Agent.Factory<In, Out, E, EL, R>,
    options:
      & { readonly output: Schema.Schema<A, OutputEncoded, RS> }
      & StreamOptions<NoInfer<E | AgentError.AgentError>>
      & InputOption<In, TaskIn, InputEncoded, RS>
      & DurableOption<D>
  ): Effect.Effect<
    TaskResult.TaskResult<A, E | AgentError.AgentError>,
    AgentError.RunOptionsError | DurableError<D>,
    R | NoInfer<RS> | Extra | DurableContext<D>
  >
}

/**
 * Options of a streaming run: those of `run` but `aggregate` (the results go out one by one).
 *
 * @category models
 * @since 0.1.0
 */
export type StreamOptions<E> = Omit<RunOptions<unknown, E, undefined>, "aggregate">

/**
 * Stream options when the agent's output is taken as it is.
 *
 * @category models
 * @since 0.1.0
 */
export type StreamOptionsWithoutOutput<In, E, TaskIn, InputEncoded, RS> =
  & StreamOptions<NoInfer<E | AgentError.AgentError>>
  & InputOption<In, TaskIn, InputEncoded, RS>
  & { readonly output?: undefined }

/**
 * Run options when the agent's output is taken as it is.
 *
 * @category models
 * @since 0.1.0
 */
export type RunOptionsWithoutOutput<In, Out, E, S, TaskIn, InputEncoded, RS> =
  & RunOptions<Out, NoInfer<E | AgentError.AgentError>, S>
  & InputOption<In, TaskIn, InputEncoded, RS>
  & { readonly output?: undefined }

/**
 * @category models
 * @since 0.1.0
 */
export interface Service {
  /** The settings runs fall back to. */
  readonly config: ExecutorConfig.Service
  /**
   * Runs every task with a fresh agent instance, at most `concurrency` at once, and reports every task's result in
   * input order. A task's failure, defect or timeout never fails the run; the run fails only with
   * `RunOptionsError`, before any task starts, when an option is out of range or the list holds something that is
   * not a task (named by its position), and, when it is durable
   * (`durable`), with `RunJournalError` when its journal cannot read or record. Interrupting the run interrupts
   * every running agent and releases every instance, and its report is lost; its `stop` option stops it and keeps
   * the whole report.
   */
  readonly run: Run<never>
  /**
   * Runs tasks from a list or a `Stream` and emits each task's result as it ends (completion order), with the
   * same options and guarantees as `run` (but `aggregate`). Memory is bounded by the concurrency, not by the
   * input: tasks are read as workers need them, and a slow consumer holds the workers back. Ending the stream
   * early interrupts the running agents and releases them. If the input stream fails, no task starts after that,
   * the tasks under way are reported, and then the stream fails with the input's error; so it does with a
   * `RunOptionsError` (option `tasks`, naming the position) when the input holds something that is not a task. Once
   * the run stops starting tasks (its `deadline`, `failurePolicy` or `stop`), a `Stream` of tasks is read no further:
   * the tasks read are reported, as never started, and the rest never read; a list is read whole, so that every task
   * of it is reported.
   */
  readonly stream: RunStream<never>
  /**
   * Runs one task, with the same options and guarantees as `run` (a fresh agent instance per attempt, its timeout,
   * retries, budget, rate limit, input and output schemas, events, `durable`), and returns its result. It fails only
   * with `RunOptionsError` (and `RunJournalError` when durable). What a worker that takes tasks one by one from elsewhere (a queue, a cluster) calls; the
   * result's `index` is 0.
   */
  readonly runOne: RunOne<never>
}

/**
 * A run whose tasks run elsewhere, as the executor resolved it: what `Remote` prepares the run's `execute` from.
 *
 * @category models
 * @since 0.1.0
 */
export interface RemoteRun {
  readonly runId: string
  /** The agent's factory, as the program gave it. */
  readonly agent: Agent.Factory<unknown, unknown, unknown, unknown, unknown>
  /** The run's options, as the program gave them (`input`, `output`, `retry`, ...). */
  readonly options: RunOptions<unknown, unknown, unknown> & {
    readonly input?: Schema.Schema<unknown, unknown, unknown> | undefined
    readonly output?: Schema.Schema<unknown, unknown, unknown> | undefined
  }
  /** The run's per-task timeout (its option or the executor's setting); `undefined` for none. */
  readonly timeout: Duration.Duration | undefined
  /** When the run's deadline falls, in the milliseconds of the run's `Clock`; `Infinity` for none. */
  readonly deadlineAt: number
}

/**
 * Runs one task of a remote run and gives its result (never failing): the task, its position in the run's input,
 * and when it entered the run (the run's `Clock`).
 *
 * @category models
 * @since 0.1.0
 */
export type RemoteExecute = (
  task: Task.Task<unknown>,
  index: number,
  queuedAt: number
) => Effect.Effect<TaskResult.TaskResult<unknown, unknown>>

/**
 * How an executor runs tasks elsewhere: called once per run, before any task starts, it gives the run's `execute`
 * or refuses the run's options with `RunOptionsError`.
 *
 * @category models
 * @since 0.1.0
 */
export type Remote<R> = (run: RemoteRun) => Effect.Effect<RemoteExecute, AgentError.RunOptionsError, R>

/**
 * The engine.
 *
 * @category services
 * @since 0.1.0
 */
export class Executor extends Context.Tag("effect-parallel-agents/Executor")<Executor, Service>() {}

// =============================================================================
// constructors
// =============================================================================

const randomRunId = Effect.map(
  Random.nextIntBetween(0, 36 ** 6),
  (n) => n.toString(36).padStart(6, "0")
)

// Report every problem in a task's input or output, not only the first.
const allErrors = { errors: "all" } as const

type LooseOptions = RunOptions<unknown, unknown, unknown> & DurableOption<Durable | undefined> & {
  readonly input?: Schema.Schema<unknown, unknown, unknown> | undefined
  readonly output?: Schema.Schema<unknown, unknown, unknown> | undefined
}

type LooseFactory = Agent.Factory<unknown, unknown, unknown, unknown, unknown>

type LoosePlan = Plan.Plan<unknown, unknown, unknown, unknown, unknown, unknown, unknown> & {
  /** Marks a durable run finished in its journal. */
  readonly finish: Effect.Effect<void, RunJournal.RunJournalError>
}

type LooseStream = (
  tasks: Iterable<Task.Task<unknown>> | Stream.Stream<Task.Task<unknown>, unknown, unknown>,
  agent: LooseFactory,
  options?: LooseOptions
) => Stream.Stream<TaskResult.TaskResult<unknown, unknown>, unknown, unknown>

type LooseRunOne = (
  task: Task.Task<unknown>,
  agent: LooseFactory,
  options?: LooseOptions
) => Effect.Effect<
  TaskResult.TaskResult<unknown, unknown>,
  AgentError.RunOptionsError | RunJournal.RunJournalError,
  unknown
>

type LooseRun = (
  tasks: Iterable<Task.Task<unknown>>,
  agent: LooseFactory,
  options?: LooseOptions
) => Effect.Effect<
  RunReport.RunReport<unknown, unknown, unknown>,
  AgentError.RunOptionsError | RunJournal.RunJournalError,
  unknown
>

// A task list from JavaScript (or `as any`) may hold something that is not a task: it is named by its position
// rather than read as one.
const notATask = (task: unknown, index: number): string | undefined =>
  typeof task === "object" && task !== null && (typeof (task as Task.Task<unknown>).id === "string" ||
      typeof (task as Task.Task<unknown>).id === "number")
    ? undefined
    : `expected a task at position ${index} (an object with an id), got ${
      typeof task === "object" && task !== null ? "an object without an id" : String(task)
    }`

const malformed = (tasks: ReadonlyArray<unknown>): string | undefined => {
  for (let index = 0; index < tasks.length; index++) {
    const problem = notATask(tasks[index], index)
    if (problem !== undefined) return problem
  }
  return undefined
}

const checkTasks = (
  source: Stream.Stream<Task.Task<unknown>, unknown>
): Stream.Stream<Task.Task<unknown>, unknown> =>
  Stream.suspend(() => {
    let position = 0
    const loop: Channel.Channel<
      Chunk.Chunk<Task.Task<unknown>>,
      Chunk.Chunk<Task.Task<unknown>>,
      unknown,
      unknown,
      unknown,
      unknown
    > = Channel.readWithCause({
      onInput: (chunk: Chunk.Chunk<Task.Task<unknown>>) => {
        let index = 0
        for (const task of chunk) {
          const problem = notATask(task, position + index)
          if (problem !== undefined) {
            return Channel.zipRight(
              Channel.write(Chunk.take(chunk, index)),
              Channel.fail(new AgentError.RunOptionsError({ option: "tasks", description: problem }))
            )
          }
          index++
        }
        position += index
        return Channel.zipRight(Channel.write(chunk), loop)
      },
      onFailure: Channel.failCause,
      onDone: Channel.succeed
    })
    return Stream.pipeThroughChannel(source, loop)
  })

/** Task ids that appear more than once in a list of tasks, with their positions. */
const duplicates = (tasks: ReadonlyArray<Task.Task<unknown>>): string | undefined => {
  // Ids that are the tasks' positions (`Task.fromIterable`'s default) are unique: no need to index them.
  let index = 0
  while (index < tasks.length && tasks[index]!.id === String(index)) index++
  if (index === tasks.length) return undefined
  const ids = new Set<string>()
  for (const task of tasks) ids.add(task.id)
  if (ids.size === tasks.length) return undefined
  const seen = new Map<string, number>()
  const repeated: Array<string> = []
  for (index = 0; index < tasks.length; index++) {
    const id = tasks[index]!.id
    const first = seen.get(id)
    if (first === undefined) seen.set(id, index)
    else if (repeated.length < 5) repeated.push(`${JSON.stringify(id)} (tasks ${first} and ${index})`)
    else break
  }
  return repeated.join(", ")
}

/**
 * Resolves a run's options against the executor's settings and the context, through the one options schema. Every
 * problem is a `RunOptionsError` naming the option, raised before any task starts.
 */
const planOf = Effect.fnUntraced(function*(
  config: ExecutorConfig.Service,
  list: ReadonlyArray<Task.Task<unknown>> | undefined,
  agent: LooseFactory,
  raw: LooseOptions | undefined,
  remote: Remote<never> | undefined,
  scope: Scope.Scope,
  markers = true
) {
  const options = yield* internalOptions.decodeOptions(raw)
  const concurrency = options.concurrency ?? config.concurrency
  if (list === undefined && concurrency === "unbounded") {
    return yield* internalOptions.fail(
      "concurrency",
      "a stream of tasks needs a number: \"unbounded\" would read the whole stream at once"
    )
  }
  if (list === undefined && options.failurePolicy?.minSuccessRate !== undefined) {
    return yield* internalOptions.fail(
      "failurePolicy.minSuccessRate",
      "a stream of tasks has no known total to reach a rate of; use maxFailures"
    )
  }
  if (list !== undefined) {
    const problem = malformed(list)
    if (problem !== undefined) return yield* internalOptions.fail("tasks", problem)
    const repeated = duplicates(list)
    if (repeated !== undefined) {
      return yield* internalOptions.fail("tasks", `task ids must be unique within a run: ${repeated}`)
    }
  }
  if (remote !== undefined && options.adaptive !== undefined) {
    return yield* internalOptions.fail(
      "adaptive",
      "a run whose tasks run elsewhere has no adaptive concurrency: its concurrency is how many tasks are sent at once"
    )
  }
  const clock = yield* Effect.clock
  const timeout = options.timeout ?? config.timeout
  const adaptive = yield* internalOptions.resolveAdaptive(
    options.adaptive,
    concurrency === "unbounded" ? Math.max(1, list?.length ?? 1) : concurrency
  )
  const estimate = options.estimate
  const budget = options.budget === undefined
    ? Option.getOrUndefined(yield* Effect.serviceOption(Budget.Budget))
    : Budget.isBudget(options.budget)
    ? options.budget
    : yield* Budget.make(options.budget)
  const rateLimit = options.rateLimit === undefined
    ? Option.getOrUndefined(yield* Effect.serviceOption(RateLimit.RateLimit))
    : RateLimit.isRateLimit(options.rateLimit)
    ? options.rateLimit
    : yield* Scope.extend(RateLimit.make(options.rateLimit), scope)
  const durable = options.durable
  if (durable !== undefined && options.runId !== undefined && options.runId !== durable.runId) {
    return yield* internalOptions.fail(
      "runId",
      `a durable run's id is durable.runId ("${durable.runId}"); runId ("${options.runId}") differs from it`
    )
  }
  const journal = durable === undefined ? undefined : yield* Effect.serviceOption(RunJournal.RunJournal)
  if (journal !== undefined && journal._tag === "None") {
    return yield* internalOptions.fail(
      "durable",
      "a durable run records its results in the RunJournal in context, and there is none: provide one " +
        "(RunJournal.layerMemory, or effect-parallel-agents/store's SqlRunJournal)"
    )
  }
  const runId = durable?.runId ?? options.runId ?? (yield* randomRunId)
  // A durable run that was stopped is not finished: its journal leaves it to be resumed.
  let stopped = false
  const stop = options.stop === undefined ? undefined : Effect.zipRight(
    Effect.exit(options.stop as Effect.Effect<unknown, unknown>),
    Effect.sync(() => {
      stopped = true
    })
  )
  const plan: LoosePlan = {
    runId,
    factory: agent,
    concurrency,
    timeoutMillis: timeout === undefined ? Infinity : Duration.toMillis(timeout),
    deadlineMillis: options.deadline === undefined ? Infinity : Duration.toMillis(options.deadline),
    retry: options.retry === undefined
      ? undefined
      : Retry.resolve(options.retry as Retry.Policy<unknown>, () => clock.unsafeCurrentTimeMillis()),
    budget,
    estimate: estimate === undefined
      ? undefined
      : typeof estimate === "function"
      ? (task) => internalOptions.estimateOf(estimate as (task: Task.Task<unknown>) => unknown, task)
      : (() => {
        const usage = Either.right(Usage.make(estimate))
        return () => usage
      })(),
    rateLimit,
    adaptive,
    maxFailures: options.failurePolicy?.maxFailures ?? Infinity,
    minSuccessRate: options.failurePolicy?.minSuccessRate ?? 0,
    decodeInput: raw?.input === undefined ? undefined : InternalSchema.decodeUnknown(raw.input, allErrors),
    decodeOutput: raw?.output === undefined ? undefined : InternalSchema.decodeUnknown(raw.output, allErrors),
    aggregate: raw?.aggregate as LoosePlan["aggregate"],
    stop,
    finish: journal?._tag === "Some" && markers
      ? (stop === undefined
        ? journal.value.finish(runId)
        : Effect.suspend(() => stopped ? Effect.void : journal.value.finish(runId)))
      : Effect.void
  }
  let durablePlan: LoosePlan = plan
  if (durable !== undefined && journal?._tag === "Some") {
    // The start marker goes in first, then the run reads what its journal holds.
    if (markers) {
      yield* journal.value.start({
        runId,
        agent: agent.name,
        options: durable.metadata ?? {
          concurrency,
          ...(list === undefined ? {} : { tasks: list.length }),
          ...(durable.retryFailed === true ? { retryFailed: true } : {})
        }
      })
    }
    const ledger = yield* Ledger.make({
      runId,
      agent: agent.name,
      journal: journal.value,
      retryFailed: durable.retryFailed === true,
      output: raw?.output as Schema.Schema<unknown, unknown, never> | undefined
    })
    durablePlan = { ...plan, ledger }
  }
  if (remote === undefined) return durablePlan
  const execute = yield* remote({
    runId: plan.runId,
    agent,
    options: raw ?? {},
    timeout,
    deadlineAt: plan.deadlineMillis === Infinity ? Infinity : clock.unsafeCurrentTimeMillis() + plan.deadlineMillis
  })
  return { ...durablePlan, execute } satisfies LoosePlan
})

const runWith = (config: ExecutorConfig.Service, remote: Remote<never> | undefined): Run<never> => {
  const run: LooseRun = Effect.fn("Executor.run", { captureStackTrace: false })(function*(tasks, agent, options) {
    const list = Array.isArray(tasks) ? tasks as ReadonlyArray<Task.Task<unknown>> : Array.from(tasks)
    const report = yield* Effect.scoped(
      Effect.flatMap(
        Effect.flatMap(Effect.scope, (scope) => planOf(config, list, agent, options, remote, scope)),
        (plan) =>
          Effect.zipRight(
            Effect.annotateCurrentSpan({
              agent: agent.name,
              runId: plan.runId,
              tasks: list.length,
              concurrency: plan.concurrency
            }),
            Effect.tap(fanOut.runList(plan, list), () => plan.finish)
          )
      )
    )
    yield* Effect.annotateCurrentSpan({ ...report.summary })
    return report
  })
  return run as unknown as Run<never>
}

const runOneWith = (config: ExecutorConfig.Service, remote: Remote<never> | undefined): RunOne<never> => {
  // The span `Effect.fn` would make, without the `Error` it makes per call for a stack trace it is told not to
  // capture: a run of one is what a backend calls per request. Its scope is passed to what needs it rather than
  // provided (`Effect.scoped`), which would copy the context for each call.
  const runOne: LooseRunOne = (task, agent, options) =>
    Effect.acquireUseRelease(
      Scope.make(),
      (scope) =>
        Effect.flatMap(
          // One task of a run driven elsewhere: the run's markers (start, finish) are its driver's to set.
          planOf(config, [task], agent, options, remote, scope, false),
          (plan) =>
            Effect.zipRight(
              Effect.annotateCurrentSpan({ agent: agent.name, runId: plan.runId, taskId: task.id }),
              fanOut.runSingle(plan, task, scope)
            )
        ),
      (scope, exit) => Scope.close(scope, exit)
    ).pipe(Effect.withSpan("Executor.runOne", { captureStackTrace: false }))
  return runOne as unknown as RunOne<never>
}

const streamWith = (config: ExecutorConfig.Service, remote: Remote<never> | undefined): RunStream<never> => {
  const stream: LooseStream = (tasks, agent, options) =>
    Stream.unwrapScoped(Effect.gen(function*() {
      const plan = yield* planOf(config, undefined, agent, options, remote, yield* Effect.scope)
      yield* Effect.annotateCurrentSpan({ agent: agent.name, runId: plan.runId, concurrency: plan.concurrency })
      const list = !(Stream.StreamTypeId in tasks)
      const source = checkTasks(
        list
          ? Stream.fromIterable(tasks as Iterable<Task.Task<unknown>>)
          : tasks as Stream.Stream<Task.Task<unknown>, unknown>
      )
      // A durable run is marked finished once its last result is out. A list is read whole, so that every task of
      // it has its result even when the run stops starting tasks.
      return Stream.concat(fanOut.runStream(plan, source, list), Stream.execute(plan.finish))
    })).pipe(Stream.withSpan("Executor.stream", { captureStackTrace: false }))
  return stream as unknown as RunStream<never>
}

/**
 * Creates an executor from its settings.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make: Effect.Effect<Service, never, ExecutorConfig.ExecutorConfig> = Effect.map(
  ExecutorConfig.ExecutorConfig,
  (config) =>
    Executor.of({
      config,
      run: runWith(config, undefined),
      stream: streamWith(config, undefined),
      runOne: runOneWith(config, undefined)
    })
)

/**
 * Creates an executor whose tasks run elsewhere (other processes, a cluster): `remote` is called once per run and
 * gives how to run each of its tasks. The run keeps everything else of a local run: its admission (concurrency,
 * deadline, failure policy, budget, rate limit), its tally, events, stream, aggregate and report; each task's
 * result is what `execute` returns. The context of `remote` is the one the executor was made in.
 *
 * **Details**
 *
 * With a budget, a task reserves its `estimate` before it is sent and settles with the `usage` of the result that
 * comes back. The `adaptive` option is refused (`RunOptionsError`): the tasks do not run here.
 *
 * @category constructors
 * @since 0.1.0
 */
export const makeRemote = <R>(
  remote: Remote<R>
): Effect.Effect<Service, never, ExecutorConfig.ExecutorConfig | R> =>
  Effect.gen(function*() {
    const config = yield* ExecutorConfig.ExecutorConfig
    const context = yield* Effect.context<R>()
    const inContext: Remote<never> = (run) => Effect.provide(remote(run), context)
    return Executor.of({
      config,
      run: runWith(config, inContext),
      stream: streamWith(config, inContext),
      runOne: runOneWith(config, inContext)
    })
  })

/**
 * An executor with the given settings, merged over `ExecutorConfig.defaults`; a setting out of range (a
 * concurrency that is not a whole number, a timeout that is not a duration longer than zero) fails the layer with
 * `RunOptionsError`.
 *
 * **Example** (Running a batch)
 *
 * ```ts
 * import { Agent, Executor, Task } from "effect-parallel-agents"
 * import { Context, Effect, Layer } from "effect"
 *
 * class Upper extends Context.Tag("upper")<Upper, Agent.Agent<string, string>>() {}
 * const UpperLive = Layer.succeed(Upper, Agent.make({ name: "upper", run: (s: string) => Effect.succeed(s.toUpperCase()) }))
 *
 * const program = Effect.gen(function*() {
 *   const report = yield* Executor.run(Task.fromIterable(["a", "b", "c"]), Agent.factory(Upper, UpperLive), {
 *     concurrency: 2,
 *     timeout: "10 seconds"
 *   })
 *   console.log(report.summary) // { total: 3, succeeded: 3, failed: 0, timedOut: 0, interrupted: 0 }
 * }).pipe(Effect.provide(Executor.layer()))
 * ```
 *
 * @category layers
 * @since 0.1.0
 */
export const layer = (options?: ExecutorConfig.Options): Layer.Layer<Executor, AgentError.RunOptionsError> =>
  Layer.effect(Executor, make).pipe(Layer.provide(ExecutorConfig.layer(options)))

/**
 * An executor whose tasks run elsewhere (see `makeRemote`), with the given settings merged over
 * `ExecutorConfig.defaults`. A program written against `Executor` runs unchanged on it.
 *
 * @category layers
 * @since 0.1.0
 */
export const layerRemote = <R>(
  remote: Remote<R>,
  options?: ExecutorConfig.Options
): Layer.Layer<Executor, AgentError.RunOptionsError, R> =>
  Layer.effect(Executor, makeRemote(remote)).pipe(Layer.provide(ExecutorConfig.layer(options)))

/**
 * An executor whose settings come from configuration (`AGENT_CONCURRENCY`, `AGENT_TIMEOUT`; see
 * `ExecutorConfig.config`), with the given values taking precedence.
 *
 * @category layers
 * @since 0.1.0
 */
export const layerConfig = (
  options?: Config.Config.Wrap<ExecutorConfig.Options>
): Layer.Layer<Executor, ConfigError.ConfigError> =>
  Layer.effect(Executor, make).pipe(Layer.provide(ExecutorConfig.layerConfig(options)))

// =============================================================================
// accessors
// =============================================================================

/**
 * Runs tasks with the `Executor` in context. See `Service.run`.
 *
 * **Example** (Fan-out with partial failure)
 *
 * ```ts
 * import { Agent, Executor, Task, TaskResult } from "effect-parallel-agents"
 * import { Context, Effect, Layer } from "effect"
 *
 * class Parse extends Context.Tag("parse")<Parse, Agent.Agent<string, number, string>>() {}
 * const ParseLive = Layer.succeed(Parse, Agent.make({
 *   name: "parse",
 *   run: (s: string) => Number.isNaN(Number(s)) ? Effect.fail(`not a number: ${s}`) : Effect.succeed(Number(s))
 * }))
 *
 * const program = Effect.gen(function*() {
 *   const report = yield* Executor.run(Task.fromIterable(["1", "x", "3"]), Agent.factory(Parse, ParseLive))
 *   for (const result of report.results) {
 *     console.log(result.taskId, result._tag, TaskResult.isSucceeded(result) ? result.value : TaskResult.message(result))
 *   }
 * }).pipe(Effect.provide(Executor.layer({ concurrency: 2 })))
 * ```
 *
 * @category services
 * @since 0.1.0
 */
export const run: Run<Executor> = ((tasks, agent, options) =>
  Effect.flatMap(
    Executor,
    (executor) => (executor.run as unknown as LooseRun)(tasks, agent, options)
  )) as LooseRun as never

/**
 * Runs tasks with the `Executor` in context and emits results as they end. See `Service.stream`.
 *
 * **Example** (Streaming a large input)
 *
 * ```ts
 * import { Agent, Executor, Task } from "effect-parallel-agents"
 * import { Console, Context, Effect, Layer, Stream } from "effect"
 *
 * class Upper extends Context.Tag("upper")<Upper, Agent.Agent<string, string>>() {}
 * const UpperLive = Layer.succeed(Upper, Agent.make({ name: "upper", run: (s: string) => Effect.succeed(s.toUpperCase()) }))
 *
 * const lines = Stream.range(1, 1_000_000).pipe(Stream.map((i) => Task.make({ id: `line-${i}`, input: `line ${i}` })))
 * const program = Executor.stream(lines, Agent.factory(Upper, UpperLive), { concurrency: 100 }).pipe(
 *   Stream.runForEach((result) => Console.log(result.taskId, result._tag))
 * )
 * ```
 *
 * @category services
 * @since 0.1.0
 */
export const stream: RunStream<Executor> = ((tasks, agent, options) =>
  Stream.unwrap(
    Effect.map(Executor, (executor) => (executor.stream as unknown as LooseStream)(tasks, agent, options))
  )) as LooseStream as never

/**
 * Runs one task with the `Executor` in context and returns its result. See `Service.runOne`.
 *
 * @category services
 * @since 0.1.0
 */
export const runOne: RunOne<Executor> = ((task, agent, options) =>
  Effect.flatMap(
    Executor,
    (executor) => (executor.runOne as unknown as LooseRunOne)(task, agent, options)
  )) as LooseRunOne as never
