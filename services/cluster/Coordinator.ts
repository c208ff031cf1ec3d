/**
 * The coordinator side of a cluster: sends a run's tasks to the `AgentTask` entity, at most `concurrency` at once
 * across the whole cluster, and collects every task's result, in input order (`run`) or as they end (`stream`).
 * Tasks go to the runner that holds their shard; a runner that dies has its tasks taken over by the others, and a
 * coordinator restarted with the same run id gets the stored results back without calling any agent again.
 *
 * @since 0.1.0
 */
import type * as MessageStorage from "@effect/cluster/MessageStorage"
import type * as Runners from "@effect/cluster/Runners"
import type * as Sharding from "@effect/cluster/Sharding"
import * as SocketRunner from "@effect/cluster/SocketRunner"
import * as NodeClusterSocket from "@effect/platform-node/NodeClusterSocket"
import * as RpcSerialization from "@effect/rpc/RpcSerialization"
import type * as SqlClient from "@effect/sql/SqlClient"
import type * as SqlError from "@effect/sql/SqlError"
import * as Cause from "effect/Cause"
import type * as ConfigError from "effect/ConfigError"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Mailbox from "effect/Mailbox"
import * as Option from "effect/Option"
import { hasProperty } from "effect/Predicate"
import * as Schedule from "effect/Schedule"
import type * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as AgentError from "../../src/AgentError.js"
import * as Unordered from "../../src/internal/unordered.js"
import type * as Task from "../../src/Task.js"
import * as TaskResult from "../../src/TaskResult.js"
import * as AgentTask from "./AgentTask.js"
import * as ClusterConfig from "./ClusterConfig.js"
import * as storage from "./internal/storage.js"

// =============================================================================
// models
// =============================================================================

/**
 * Options of a run on the cluster.
 *
 * @category models
 * @since 0.1.0
 */
export interface Options<A = unknown, I = unknown> {
  /** The registered name of the agent every task runs with (see `AgentRunner.agent`). */
  readonly agent: string
  /**
   * The run's id: with a task's id, the key its result is stored under. A run started again with the same id gets
   * the results already stored instead of running those tasks again.
   */
  readonly runId: string
  /**
   * How many tasks are under way at once across the whole cluster: the global limit (a provider's quota). A
   * positive integer. Each runner also runs at most its own `RUNNER_CONCURRENCY`.
   *
   * **Details**
   *
   * The limit is the coordinator's: a task holds a slot from the moment it is sent until its result is back, so
   * agents never run more than `concurrency` at once for this run, wherever they run, and a runner that dies does
   * not free the slots of its tasks until they have run again elsewhere.
   *
   * **Gotchas**
   *
   * It bounds one coordinator, not the cluster: two runs at once, or two coordinators, each have their own limit
   * (give each its share of the quota). A coordinator stopped and started again with the same run id does not stop
   * the tasks its predecessor had sent: for as long as they take, up to twice `concurrency` tasks may run. Tasks
   * go to the runner that holds their shard, not to an idle one: with `concurrency` well above the runners' total,
   * tasks wait on busy runners while others have room.
   */
  readonly concurrency: number
  /** How long one task may run (a task's own timeout overrides it); the runners' `AGENT_TIMEOUT` by default. */
  readonly timeout?: Duration.DurationInput | undefined
  /** How many times a failed attempt is retried (retryable errors only); no retries by default. */
  readonly retries?: number | undefined
  /**
   * The agent's output schema, as its runners registered it: results' values are decoded with it. Plain JSON by
   * default.
   */
  readonly output?: Schema.Schema<A, I, never> | undefined
}

/**
 * A task's result as the cluster reported it.
 *
 * @category models
 * @since 0.1.0
 */
export interface Completed {
  readonly task: Task.Task<unknown>
  /** The task's position in the run's input. */
  readonly index: number
  /** The runner that ran it (`host:port`); `undefined` if it never reached one. */
  readonly runner: string | undefined
  /** The task's result, as a local run would report it (its `index` is the task's position in this run). */
  readonly result: TaskResult.TaskResult<unknown, unknown>
}

// =============================================================================
// sending
// =============================================================================

/** Errors of the cluster's storage or an entity's mailbox: the send is retried (the primary key dedupes it). */
const transient = (error: { readonly _tag: string }) =>
  error._tag === "PersistenceError" || error._tag === "MailboxFull" || error._tag === "AlreadyProcessingMessage"

const retrySend = Schedule.exponential(Duration.millis(100)).pipe(
  Schedule.either(Schedule.spaced(Duration.seconds(5))),
  Schedule.upTo(Duration.minutes(2))
)

const finiteMillis = (duration: Duration.Duration | undefined) =>
  duration !== undefined && Duration.isFinite(duration) ? duration : undefined

/**
 * Checks a run's options, returning the first problem.
 *
 * @internal
 */
export const validate = (options: {
  readonly runId: string
  readonly concurrency?: number | undefined
  readonly retries?: number | undefined
  readonly timeout?: Duration.DurationInput | undefined
}): AgentError.RunOptionsError | undefined => {
  const error = (option: string, description: string) => new AgentError.RunOptionsError({ option, description })
  if (
    options.concurrency !== undefined && !(Number.isSafeInteger(options.concurrency) && options.concurrency >= 1)
  ) {
    return error("concurrency", `expected a whole number from 1, got ${options.concurrency}`)
  }
  if (options.retries !== undefined && !(Number.isSafeInteger(options.retries) && options.retries >= 0)) {
    return error("retries", `expected a whole number from 0, got ${options.retries}`)
  }
  if (options.runId === "" || options.runId.includes("/")) {
    return error("runId", `expected a non-empty id without "/", got ${JSON.stringify(options.runId)}`)
  }
  if (options.timeout !== undefined && Option.isNone(Duration.decodeUnknown(options.timeout))) {
    return error("timeout", `expected a duration, got ${String(options.timeout)}`)
  }
}

/**
 * What `sender` sends each task with.
 *
 * @internal
 */
export interface Sending {
  readonly agent: string
  readonly runId: string
  readonly timeout: Duration.Duration | undefined
  readonly retries: number | undefined
  /** When the run's deadline falls (the clock's milliseconds); `Infinity` for none. */
  readonly deadlineAt: number
  /** Decodes a reply's result as the task's result in this run. */
  readonly decode: (
    encoded: TaskResult.Encoded,
    index: number,
    queuedAt: number
  ) => Effect.Effect<TaskResult.TaskResult<unknown, unknown>>
}

/**
 * Sends one task and waits for its result; never fails. A task whose input is not JSON, whose id was already sent
 * in this run, or whose id is too long, ends `Failed` (`TaskOptionsError`) without being sent; an error of the
 * cluster itself ends it `Failed` with that error's cause.
 *
 * @internal
 */
export const sender = Effect.fnUntraced(function*(sending: Sending) {
  const client = yield* AgentTask.AgentTask.client
  const clock = yield* Effect.clock
  const seen = new Set<string>()
  const timeout = finiteMillis(sending.timeout)
  const { agent, runId } = sending
  return (task: Task.Task<unknown>, index: number, queuedAt: number): Effect.Effect<Completed> => {
    const meta: TaskResult.Meta = {
      task,
      index,
      instance: undefined,
      startedAt: undefined,
      queuedAt,
      durationMillis: 0
    }
    const refused = (option: string, description: string): Effect.Effect<Completed> =>
      Effect.succeed({
        task,
        index,
        runner: undefined,
        result: TaskResult.failed(
          meta,
          Cause.fail(new AgentError.TaskOptionsError({ agent, taskId: task.id, option, description }))
        )
      })
    if (seen.has(task.id)) return refused("id", `task id ${task.id} appears twice in run ${runId}`)
    seen.add(task.id)
    const input = AgentTask.toJson(task.input)
    if (Either.isLeft(input)) return refused("input", `the input is not JSON: ${input.left}`)
    const key = AgentTask.primaryKey(runId, task.id)
    // The cluster's tables hold entity ids of up to 255 characters.
    if (key.length > 255) {
      return refused("id", `run id and task id together must fit in 255 characters, not ${key.length}`)
    }
    // A stored reply comes back for the same run id and task id whatever the rest: it must be from this agent and
    // this input.
    const checked = (reply: AgentTask.Reply): Effect.Effect<Completed> =>
      reply.agent !== agent
        ? refused(
          "runId",
          `run ${runId} already has a result for task ${task.id} from agent "${reply.agent}", not "${agent}": ` +
            `use another run id`
        )
        : reply.input !== AgentTask.fingerprint(input.right)
        ? refused(
          "runId",
          `run ${runId} already has a result for task ${task.id} with another input: use another run id`
        )
        : Effect.map(sending.decode(reply.result, index, queuedAt), (result) => ({
          task,
          index,
          runner: reply.runner,
          result
        }))
    return Effect.suspend(() => {
      const left = sending.deadlineAt - clock.unsafeCurrentTimeMillis()
      return client(key).Run({
        runId,
        agent,
        task: { id: task.id, input: input.right, labels: task.labels, timeout: finiteMillis(task.timeout) },
        timeout,
        retries: sending.retries,
        deadline: sending.deadlineAt === Infinity ? undefined : Duration.millis(Math.max(1, left))
      })
    }).pipe(
      Effect.retry({ while: transient, schedule: retrySend }),
      Effect.exit,
      Effect.flatMap((exit): Effect.Effect<Completed> =>
        Exit.isSuccess(exit)
          ? checked(exit.value)
          : Cause.isInterruptedOnly(exit.cause)
          ? Effect.interrupt
          : Effect.succeed({ task, index, runner: undefined, result: TaskResult.failed(meta, exit.cause) })
      ),
      Effect.withSpan("Coordinator.task", {
        captureStackTrace: false,
        attributes: { agent, runId, taskId: task.id }
      })
    )
  }
})

const sendingOf = <A, I>(options: Options<A, I>): Sending => ({
  agent: options.agent,
  runId: options.runId,
  timeout: options.timeout === undefined ? undefined : Duration.decode(options.timeout),
  retries: options.retries,
  deadlineAt: Infinity,
  decode: (encoded, index, queuedAt) =>
    AgentTask.decode(encoded, { agent: options.agent, index, queuedAt, output: options.output })
})

/**
 * Sends tasks to the cluster and emits each task's result as it ends (completion order), with at most
 * `concurrency` tasks under way; tasks are read as slots free up, so a `Stream` of tasks is never read ahead by
 * more than that. Every task is reported exactly once. Options out of range fail the stream with `RunOptionsError`
 * before any task is sent; an input stream that fails stops being read, and the stream fails with its error once
 * the tasks under way are reported.
 *
 * **Gotchas**
 *
 * The run keeps every task id it has sent, to report a second task with the same id as `Failed` (it would get the
 * first one's result): memory grows with the number of tasks, by one id each.
 *
 * @category constructors
 * @since 0.1.0
 */
export const stream = <E = never, R = never, A = unknown, I = unknown>(
  tasks: Iterable<Task.Task<unknown>> | Stream.Stream<Task.Task<unknown>, E, R>,
  options: Options<A, I>
): Stream.Stream<Completed, E | AgentError.RunOptionsError, R | Sharding.Sharding> =>
  Stream.unwrapScoped(Effect.gen(function*() {
    const invalid = validate(options)
    if (invalid !== undefined) return yield* invalid
    const send = yield* sender(sendingOf(options))
    const clock = yield* Effect.clock
    // An input that fails stops the reading; the tasks under way are reported, then the stream fails with it.
    let failure: Cause.Cause<E> | undefined
    const input = Stream.zipWithIndex(
      hasProperty(tasks, Stream.StreamTypeId)
        ? tasks as Stream.Stream<Task.Task<unknown>, E, R>
        : Stream.fromIterable(tasks as Iterable<Task.Task<unknown>>)
    ).pipe(Stream.catchAllCause((cause) => {
      failure = cause
      return Stream.empty
    }))
    // Workers taking the tasks as they are read, results through a mailbox, as `Executor.stream` does: what
    // `Stream.mapEffect(send, { concurrency, unordered: true })` means, at a thirtieth of its cost per element.
    const mailbox = yield* Unordered.makeMailbox<Completed, E>(options.concurrency)
    const feed = yield* Unordered.feed(
      mailbox,
      input,
      options.concurrency,
      ([task, index]) => send(task, index, clock.unsafeCurrentTimeMillis())
    )
    yield* Effect.forkScoped(Effect.onExit(feed, (exit) =>
      Exit.isFailure(exit)
        ? mailbox.failCause(exit.cause)
        : failure === undefined
        ? mailbox.end
        : mailbox.failCause(failure)))
    return Mailbox.toStream(mailbox)
  }))

/**
 * Sends every task to the cluster, at most `concurrency` at once, and returns every task's result in input order.
 * A task's failure never fails the run; options out of range fail it with `RunOptionsError` before any task is sent.
 *
 * **Example** (A run on the cluster)
 *
 * ```ts
 * import { Task } from "effect-parallel-agents"
 * import { Coordinator } from "effect-parallel-agents/cluster"
 * import { Effect } from "effect"
 *
 * const program = Coordinator.run(
 *   Task.fromIterable([{ text: "A fine day 2" }, { text: "A bad day 3" }]),
 *   { agent: "classify", runId: "docs-2024-06-01", concurrency: 200 }
 * ).pipe(Effect.provide(Coordinator.layer))
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const run = Effect.fn("Coordinator.run")(function*<A = unknown, I = unknown>(
  tasks: Iterable<Task.Task<unknown>>,
  options: Options<A, I>
) {
  const invalid = validate(options)
  if (invalid !== undefined) return yield* invalid
  yield* Effect.annotateCurrentSpan({ agent: options.agent, runId: options.runId, concurrency: options.concurrency })
  const send = yield* sender(sendingOf(options))
  const queuedAt = (yield* Effect.clock).unsafeCurrentTimeMillis()
  return yield* Effect.forEach(tasks, (task, index) => send(task, index, queuedAt), {
    concurrency: options.concurrency
  })
})

// =============================================================================
// layers
// =============================================================================

/**
 * `Sharding` for a process that only sends tasks (a coordinator): it joins no shard assignment and listens on no
 * port, reads the runners and shard assignments from the SQL database in context (PostgreSQL), connects to the
 * runners over sockets, and first checks its shared settings against the cluster's (`ClusterConfig.verify`).
 *
 * @category layers
 * @since 0.1.0
 */
export const layerSharding: Layer.Layer<
  Sharding.Sharding | Runners.Runners | MessageStorage.MessageStorage,
  ClusterConfig.SettingsMismatch | SqlError.SqlError,
  ClusterConfig.ClusterConfig | SqlClient.SqlClient
> = SocketRunner.layerClientOnly.pipe(
  Layer.provide(NodeClusterSocket.layerClientProtocol),
  Layer.provide(RpcSerialization.layerMsgPack),
  Layer.provideMerge(storage.layer("client"))
)

/**
 * `layerSharding` with its settings from configuration (`ClusterConfig.layerConfig`) and PostgreSQL at
 * `DATABASE_URL`.
 *
 * @category layers
 * @since 0.1.0
 */
export const layer: Layer.Layer<
  Sharding.Sharding | Runners.Runners | MessageStorage.MessageStorage,
  ClusterConfig.SettingsMismatch | SqlError.SqlError | ConfigError.ConfigError
> = layerSharding.pipe(Layer.provide(Layer.merge(ClusterConfig.layerConfig(), ClusterConfig.layerDatabase)))
