/**
 * The fan-out engine. It runs one task per agent instance, many at once under a concurrency limit, keeps each
 * task's failure or timeout to itself, and returns a report with every task's result in input order.
 *
 * @since 0.1.0
 */
import type * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as FiberRef from "effect/FiberRef"
import * as Layer from "effect/Layer"
import * as LogLevel from "effect/LogLevel"
import * as Mailbox from "effect/Mailbox"
import * as MetricLabel from "effect/MetricLabel"
import * as Option from "effect/Option"
import * as Random from "effect/Random"
import * as Scheduler from "effect/Scheduler"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import type * as Tracer from "effect/Tracer"
import type * as Agent from "./Agent.js"
import * as AgentError from "./AgentError.js"
import type * as Aggregate from "./Aggregate.js"
import * as Budget from "./Budget.js"
import * as ExecutorConfig from "./ExecutorConfig.js"
import type { AdaptiveOptions as ResolvedAdaptive } from "./internal/adaptive.js"
import * as internalDuration from "./internal/duration.js"
import * as internal from "./internal/run.js"
import * as RateLimit from "./RateLimit.js"
import * as Retry from "./Retry.js"
import * as RunEvent from "./RunEvent.js"
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
   * Nothing by default: then a task fits the budget while anything is left.
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
 * The report of a run of agents that produce `A` and fail with `E`.
 *
 * @category models
 * @since 0.1.0
 */
export type Report<A, E, S> = RunReport.RunReport<A, E | AgentError.AgentError, S>

/**
 * The `run` signature, shared by the service and the accessor: without an output schema the results hold what the
 * agent returns; with one, what the schema decodes it to.
 *
 * @category models
 * @since 0.1.0
 */
export interface Run<Extra> {
  <In, Out, E, EL, R, S = undefined, TaskIn = In, InputEncoded = never, RS = never>(
    tasks: Iterable<Task.Task<TaskIn>>,
    agent: Agent.Factory<In, Out, E, EL, R>,
    ...options: [TaskIn] extends [In] ? [options?: RunOptionsWithoutOutput<In, Out, E, S, TaskIn, InputEncoded, RS>]
      : [options: RunOptionsWithoutOutput<In, Out, E, S, TaskIn, InputEncoded, RS>]
  ): Effect.Effect<Report<Out, E, NoInfer<S>>, AgentError.RunOptionsError, R | NoInfer<RS> | Extra>
  <In, Out, E, EL, R, A, OutputEncoded, S = undefined, TaskIn = In, InputEncoded = never, RS = never>(
    tasks: Iterable<Task.Task<TaskIn>>,
    agent: Agent.Factory<In, Out, E, EL, R>,
    options:
      & { readonly output: Schema.Schema<A, OutputEncoded, RS> }
      & RunOptions<NoInfer<A>, NoInfer<E | AgentError.AgentError>, S>
      & InputOption<In, TaskIn, InputEncoded, RS>
  ): Effect.Effect<Report<A, E, NoInfer<S>>, AgentError.RunOptionsError, R | NoInfer<RS> | Extra>
}

/**
 * The `stream` signature, shared by the service and the accessor. Tasks may be a list or a `Stream`; results come
 * in completion order.
 *
 * @category models
 * @since 0.1.0
 */
export interface RunStream<Extra> {
  <In, Out, E, EL, R, TaskIn = In, InputEncoded = never, RS = never, EIn = never, RIn = never>(
    tasks: Iterable<Task.Task<TaskIn>> | Stream.Stream<Task.Task<TaskIn>, EIn, RIn>,
    agent: Agent.Factory<In, Out, E, EL, R>,
    ...options: [TaskIn] extends [In] ? [options?: StreamOptionsWithoutOutput<In, E, TaskIn, InputEncoded, RS>]
      : [options: StreamOptionsWithoutOutput<In, E, TaskIn, InputEncoded, RS>]
  ): Stream.Stream<
    TaskResult.TaskResult<Out, E | AgentError.AgentError>,
    AgentError.RunOptionsError | EIn,
    R | NoInfer<RS> | RIn | Extra
  >
  <In, Out, E, EL, R, A, OutputEncoded, TaskIn = In, InputEncoded = never, RS = never, EIn = never, RIn = never>(
    tasks: Iterable<Task.Task<TaskIn>> | Stream.Stream<Task.Task<TaskIn>, EIn, RIn>,
    agent: Agent.Factory<In, Out, E, EL, R>,
    options:
      & { readonly output: Schema.Schema<A, OutputEncoded, RS> }
      & StreamOptions<NoInfer<E | AgentError.AgentError>>
      & InputOption<In, TaskIn, InputEncoded, RS>
  ): Stream.Stream<
    TaskResult.TaskResult<A, E | AgentError.AgentError>,
    AgentError.RunOptionsError | EIn,
    R | NoInfer<RS> | RIn | Extra
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
   * `RunOptionsError`, before any task starts, when an option is out of range. Interrupting the run interrupts
   * every running agent and releases every instance.
   */
  readonly run: Run<never>
  /**
   * Runs tasks from a list or a `Stream` and emits each task's result as it ends (completion order), with the
   * same options and guarantees as `run` (but `aggregate`). Memory is bounded by the concurrency, not by the
   * input: tasks are read as workers need them, and a slow consumer holds the workers back. Ending the stream
   * early interrupts the running agents and releases them. If the input stream fails, no task starts after that,
   * the tasks under way are reported, and then the stream fails with the input's error.
   */
  readonly stream: RunStream<never>
}

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

// Effect's built-in tracer exports nowhere: with it, a span per task would be pure cost, so the engine makes task
// spans only when the app has installed a tracer (OpenTelemetry, DevTools, its own). The run span is always made.
let builtIn: Tracer.Tracer | undefined
const builtInTracer = (): Tracer.Tracer => builtIn ??= Effect.runSync(Effect.tracer)

// Report every problem in a task's input or output, not only the first.
const allErrors = { errors: "all" } as const

const randomRunId = Effect.map(
  Random.nextIntBetween(0, 36 ** 6),
  (n) => n.toString(36).padStart(6, "0")
)

const toMillis = (option: string, input: Duration.DurationInput | undefined) =>
  input === undefined ? Either.right(Infinity) : Either.match(internalDuration.decode(input), {
    onLeft: (description) => Either.left(new AgentError.RunOptionsError({ option, description })),
    onRight: (duration) => Either.right(Duration.toMillis(duration))
  })

const optionError = (option: string, description: string) =>
  Either.left(new AgentError.RunOptionsError({ option, description }))

const validateAdaptive = (
  adaptive: boolean | AdaptiveOptions | undefined,
  max: number
): Either.Either<ResolvedAdaptive | undefined, AgentError.RunOptionsError> => {
  if (adaptive === undefined || adaptive === false) return Either.right(undefined)
  const options: AdaptiveOptions = adaptive === true ? {} : adaptive
  const initial = options.initial ?? Math.ceil(max / 10)
  const min = options.min ?? 1
  const decrease = options.decrease ?? 0.75
  const increase = options.increase ?? 0.4
  if (!(initial >= 1 && initial <= max)) {
    return optionError("adaptive.initial", `expected a number from 1 to the concurrency (${max}), got ${initial}`)
  }
  if (!(min >= 1 && min <= initial)) {
    return optionError("adaptive.min", `expected a number from 1 to the initial limit (${initial}), got ${min}`)
  }
  if (!(decrease > 0 && decrease < 1)) {
    return optionError("adaptive.decrease", `expected a number between 0 and 1 (exclusive), got ${decrease}`)
  }
  if (!(increase > 0 && increase < Infinity)) {
    return optionError("adaptive.increase", `expected a number above 0, got ${increase}`)
  }
  return Either.right({ initial, min, max, decrease, increase })
}

const validateFailurePolicy = (
  policy: FailurePolicy | undefined
): Either.Either<{ readonly maxFailures: number; readonly minSuccessRate: number }, AgentError.RunOptionsError> => {
  const maxFailures = policy?.maxFailures ?? Infinity
  const minSuccessRate = policy?.minSuccessRate ?? 0
  if (!(maxFailures === Infinity || (Number.isInteger(maxFailures) && maxFailures >= 1))) {
    return optionError("failurePolicy.maxFailures", `expected a whole number, 1 or more, got ${maxFailures}`)
  }
  if (!(minSuccessRate >= 0 && minSuccessRate <= 1)) {
    return optionError("failurePolicy.minSuccessRate", `expected a number from 0 to 1, got ${minSuccessRate}`)
  }
  return Either.right({ maxFailures, minSuccessRate })
}

const validateEstimate = (
  estimate: RunOptions<unknown, unknown, unknown>["estimate"]
): Either.Either<((task: Task.Task<unknown>) => Usage.Usage) | undefined, AgentError.RunOptionsError> => {
  if (estimate === undefined) return Either.right(undefined)
  if (typeof estimate === "function") return Either.right((task) => Usage.make(estimate(task)))
  for (const [key, value] of Object.entries(estimate)) {
    if (value !== undefined && !(typeof value === "number" && value >= 0 && value < Infinity)) {
      return optionError(`estimate.${key}`, `expected a number, 0 or more, got ${String(value)}`)
    }
  }
  const usage = Usage.make(estimate)
  return Either.right(() => usage)
}

type LooseOptions = RunOptions<unknown, unknown, unknown> & {
  readonly input?: Schema.Schema<unknown, unknown, unknown> | undefined
  readonly output?: Schema.Schema<unknown, unknown, unknown> | undefined
}

type LooseStream = (
  tasks: Iterable<Task.Task<unknown>> | Stream.Stream<Task.Task<unknown>, unknown, unknown>,
  agent: Agent.Factory<never, unknown, unknown, unknown, unknown>,
  options?: LooseOptions
) => Stream.Stream<TaskResult.TaskResult<unknown, unknown>, unknown, unknown>

type LooseRun = (
  tasks: Iterable<Task.Task<unknown>>,
  agent: Agent.Factory<never, unknown, unknown, unknown, unknown>,
  options?: LooseOptions
) => Effect.Effect<Report<unknown, unknown, unknown>, AgentError.RunOptionsError, unknown>

type LoosePlan = internal.Plan<unknown, unknown, unknown, unknown, unknown, unknown, unknown, unknown>

/** Validates a run's options and resolves them against the executor's settings and the context. */
const planOf = Effect.fnUntraced(function*(
  config: ExecutorConfig.Service,
  list: ReadonlyArray<Task.Task<unknown>> | undefined,
  agent: Agent.Factory<never, unknown, unknown, unknown, unknown>,
  options: LooseOptions | undefined
) {
  const concurrency = yield* Either.mapLeft(
    ExecutorConfig.validateConcurrency(options?.concurrency ?? config.concurrency),
    (description) => new AgentError.RunOptionsError({ option: "concurrency", description })
  )
  if (list === undefined && concurrency === "unbounded") {
    return yield* new AgentError.RunOptionsError({
      option: "concurrency",
      description: "a stream of tasks needs a number: \"unbounded\" would read the whole stream at once"
    })
  }
  if (list === undefined && options?.failurePolicy?.minSuccessRate !== undefined) {
    return yield* new AgentError.RunOptionsError({
      option: "failurePolicy.minSuccessRate",
      description: "a stream of tasks has no known total to reach a rate of; use maxFailures"
    })
  }
  const timeoutMillis = options?.timeout === undefined
    ? (config.timeout === undefined ? Infinity : Duration.toMillis(config.timeout))
    : yield* toMillis("timeout", options.timeout)
  const deadlineMillis = yield* toMillis("deadline", options?.deadline)
  const runId = options?.runId ?? (yield* randomRunId)
  const ambient = yield* FiberRef.get(FiberRef.currentMetricLabels)
  const clock = yield* Effect.clock
  const context = yield* Effect.context<unknown>()
  const spans = (yield* FiberRef.get(FiberRef.currentTracerEnabled)) && (yield* Effect.tracer) !== builtInTracer()
    ? {
      parent: yield* Effect.option(Effect.currentSpan),
      timing: yield* FiberRef.get(FiberRef.currentTracerTimingEnabled)
    }
    : undefined
  const logs = LogLevel.greaterThanEqual(LogLevel.Debug, yield* FiberRef.get(FiberRef.currentMinimumLogLevel))
  const slots = list === undefined
    ? concurrency as number
    : Math.max(1, concurrency === "unbounded" ? list.length : Math.min(concurrency, list.length))
  const retryError = options?.retry === undefined ? undefined : Retry.validate(options.retry)
  if (retryError !== undefined) {
    return yield* new AgentError.RunOptionsError({ option: "retry", description: retryError })
  }
  const retry = options?.retry === undefined
    ? undefined
    : Retry.resolve(options.retry, () => clock.unsafeCurrentTimeMillis())
  const adaptive = yield* validateAdaptive(options?.adaptive, slots)
  const { maxFailures, minSuccessRate } = yield* validateFailurePolicy(options?.failurePolicy)
  const estimate = yield* validateEstimate(options?.estimate)
  const budget = options?.budget === undefined
    ? Option.getOrUndefined(yield* Effect.serviceOption(Budget.Budget))
    : Budget.isBudget(options.budget)
    ? options.budget
    : Budget.unsafeMake(yield* Budget.validate(options.budget))
  const rateLimit = options?.rateLimit === undefined
    ? Option.getOrUndefined(yield* Effect.serviceOption(RateLimit.RateLimit))
    : RateLimit.isRateLimit(options.rateLimit)
    ? options.rateLimit
    : yield* RateLimit.make(options.rateLimit)
  const events = Option.getOrUndefined(yield* Effect.serviceOption(RunEvent.RunEvents))?.pubsub
  const plan: LoosePlan = {
    runId,
    tasks: list ?? [],
    input: undefined,
    output: undefined,
    events,
    factory: agent as unknown as Agent.FactoryImpl<unknown, unknown, unknown, unknown, unknown>,
    concurrency: slots,
    timeoutMillis,
    deadlineMillis,
    decodeInput: options?.input === undefined ? undefined : Schema.decodeUnknown(options.input, allErrors),
    decodeOutput: options?.output === undefined ? undefined : Schema.decodeUnknown(options.output, allErrors),
    aggregate: options?.aggregate,
    clock,
    context,
    spans,
    logs,
    metricLabels: [MetricLabel.make("agent", agent.name), ...ambient],
    retry: retry as LoosePlan["retry"],
    budget,
    estimate,
    rateLimit,
    adaptive,
    maxFailures,
    minSuccessRate
  }
  return plan
})

const runWith = (config: ExecutorConfig.Service): Run<never> => {
  const run: LooseRun = Effect.fn("Executor.run", { captureStackTrace: false })(function*(tasks, agent, options) {
    const list = Array.isArray(tasks) ? tasks as ReadonlyArray<Task.Task<unknown>> : Array.from(tasks)
    const report = yield* Effect.scoped(Effect.flatMap(planOf(config, list, agent, options), (plan) =>
      Effect.zipRight(
        Effect.annotateCurrentSpan({
          agent: agent.name,
          runId: plan.runId,
          tasks: list.length,
          concurrency: plan.concurrency
        }),
        internal.run(plan)
      )))
    yield* Effect.annotateCurrentSpan({ ...report.summary })
    return report
  })
  return run as unknown as Run<never>
}

// The output mailbox wakes the stream's consumer on the next turn of the event loop rather than in the same
// microtask batch. Tasks that end in the same turn (timers and I/O callbacks run one after another, with microtasks
// drained between them) then reach the consumer as one chunk instead of one chunk each, and each chunk costs the
// consumer's whole stream pipeline: at concurrency 1,000, 100,000 results came out in 100,000 chunks before and in
// about 100 after, and the run took a third less time. A result waits at most one turn.
const timers = globalThis as unknown as {
  readonly setImmediate?: (task: () => void) => unknown
  readonly setTimeout: (task: () => void, millis: number) => unknown
}
const nextTurn: Scheduler.Scheduler = Scheduler.make(
  timers.setImmediate !== undefined ? (task) => timers.setImmediate!(task) : (task) => timers.setTimeout(task, 0)
)

const streamWith = (config: ExecutorConfig.Service): RunStream<never> => {
  const stream: LooseStream = (tasks, agent, options) =>
    Stream.unwrapScoped(Effect.gen(function*() {
      const span = yield* Effect.makeSpanScoped("Executor.stream", { captureStackTrace: false })
      const plan = yield* Effect.withParentSpan(planOf(config, undefined, agent, options), span)
      span.attribute("agent", agent.name)
      span.attribute("runId", plan.runId)
      span.attribute("concurrency", plan.concurrency)
      const source = Stream.StreamTypeId in tasks
        ? tasks as Stream.Stream<Task.Task<unknown>, unknown>
        : Stream.fromIterable(tasks as Iterable<Task.Task<unknown>>)
      // Memory stays bounded by the concurrency: a worker's worth of tasks read ahead, and results wait for the
      // consumer (a slow consumer holds the workers back rather than piling results up).
      const input = yield* Mailbox.fromStream(source, { capacity: plan.concurrency })
      const output = yield* Effect.withScheduler(
        Mailbox.make<TaskResult.TaskResult<unknown, unknown>, unknown>({ capacity: plan.concurrency }),
        nextTurn
      )
      yield* Effect.forkScoped(
        internal.run({ ...plan, input, output }).pipe(
          Effect.withParentSpan(span),
          Effect.onExit((exit) => exit._tag === "Failure" ? output.failCause(exit.cause) : Effect.void)
        )
      )
      return Mailbox.toStream(output)
    }))
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
  (config) => Executor.of({ config, run: runWith(config), stream: streamWith(config) })
)

/**
 * An executor with the given settings, merged over `ExecutorConfig.defaults`.
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
export const layer = (options?: ExecutorConfig.Options): Layer.Layer<Executor> =>
  Layer.effect(Executor, make).pipe(Layer.provide(ExecutorConfig.layer(options)))

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
