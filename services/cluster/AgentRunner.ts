/**
 * The runner side of a cluster: a process that hosts the `AgentTask` entity for the agents it registers by name
 * and runs each task it receives with the local engine, at most `concurrency` at once. `launch` is a whole runner
 * process (the `parallel-agents runner` command): it joins the cluster at `DATABASE_URL`, listens at
 * `RUNNER_HOST:RUNNER_PORT`, and runs until it is stopped.
 *
 * @since 0.1.0
 */
import * as Entity from "@effect/cluster/Entity"
import type * as MessageStorage from "@effect/cluster/MessageStorage"
import * as RunnerHealth from "@effect/cluster/RunnerHealth"
import * as Runners from "@effect/cluster/Runners"
import type * as Sharding from "@effect/cluster/Sharding"
import * as SocketRunner from "@effect/cluster/SocketRunner"
import * as NodeClusterSocket from "@effect/platform-node/NodeClusterSocket"
import type * as SocketServer from "@effect/platform/SocketServer"
import * as RpcSerialization from "@effect/rpc/RpcSerialization"
import type * as PgClient from "@effect/sql-pg/PgClient"
import type * as SqlClient from "@effect/sql/SqlClient"
import type * as SqlError from "@effect/sql/SqlError"
import * as Cause from "effect/Cause"
import type * as ConfigError from "effect/ConfigError"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type * as Schema from "effect/Schema"
import type * as Agent from "../../src/Agent.js"
import * as AgentError from "../../src/AgentError.js"
import * as Executor from "../../src/Executor.js"
import * as Task from "../../src/Task.js"
import * as TaskResult from "../../src/TaskResult.js"
import * as AgentTask from "./AgentTask.js"
import * as ClusterConfig from "./ClusterConfig.js"
import * as ClusterLimit from "./ClusterLimit.js"
import * as storage from "./internal/storage.js"

// =============================================================================
// registrations
// =============================================================================

/**
 * An agent a runner can run, under its registered name: what coordinators name in their messages.
 *
 * @category models
 * @since 0.1.0
 */
export interface Registration<out R> {
  /** The registered name, which coordinators send tasks to. */
  readonly name: string
  /** The name of the agent's factory (`Agent.Factory.name`): a cluster executor finds the registration by it. */
  readonly agent: string
  /** Runs one task with the local engine (`Executor.runOne`) and encodes its result (`AgentTask.encode`). */
  readonly run: (payload: Payload) => Effect.Effect<TaskResult.Encoded, never, R | Executor.Executor>
  /** Decodes a result this agent's runner sent back (`AgentTask.decode`, with its output schema). */
  readonly decode: (
    encoded: TaskResult.Encoded,
    index: number,
    queuedAt: number
  ) => Effect.Effect<TaskResult.TaskResult<unknown, unknown>>
}

/**
 * What a `Run` message carries, decoded.
 *
 * @category models
 * @since 0.1.0
 */
export interface Payload {
  readonly runId: string
  readonly agent: string
  readonly task: AgentTask.Task
  readonly timeout?: Duration.Duration | undefined
  readonly retries?: number | undefined
  readonly deadline?: Duration.Duration | undefined
}

/**
 * A task that ends before it reaches its agent (an option out of range, an agent the runner does not have).
 *
 * @category constructors
 * @since 0.1.0
 */
export const notStarted = (
  payload: Payload,
  error: AgentError.TaskOptionsError | AgentError.RunOptionsError
): TaskResult.TaskResult<unknown, unknown> =>
  TaskResult.failed({
    task: toTask(payload),
    index: 0,
    instance: undefined,
    startedAt: undefined,
    durationMillis: 0
  }, Cause.fail(error))

const toTask = (payload: Payload) =>
  Task.make({
    id: payload.task.id,
    input: payload.task.input,
    labels: payload.task.labels,
    timeout: payload.task.timeout
  })

/**
 * Registers an agent under a name: its factory, the schema its inputs (JSON) decode with, and optionally the
 * schema its answers encode with before they are sent back (they must then be JSON). The runner runs each task
 * with `Executor.runOne` (a fresh instance per attempt, the run's timeout, retries and deadline); a task whose
 * input does not decode ends `Failed` with an `AgentInputError` naming the path, without building the agent. The
 * entries of `AgentRegistry` (the command line's agents) have this shape.
 *
 * **Example** (A runner's own agent)
 *
 * ```ts
 * import { Agent } from "effect-parallel-agents"
 * import { AgentRunner } from "effect-parallel-agents/cluster"
 * import { Context, Effect, Layer, Schema } from "effect"
 *
 * class Double extends Context.Tag("Double")<Double, Agent.Agent<number, number>>() {}
 *
 * const double = AgentRunner.agent({
 *   name: "double",
 *   input: Schema.Number,
 *   factory: Agent.factory(Double, Layer.succeed(Double, Agent.make({ name: "double", run: (n: number) => Effect.succeed(n * 2) })))
 * })
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const agent = <In, IE, Out, E, EL, R, OE = Out>(options: {
  readonly name: string
  readonly input: Schema.Schema<In, IE, never>
  readonly output?: Schema.Schema<Out, OE, never> | undefined
  readonly factory: Agent.Factory<In, Out, E, EL, R>
}): Registration<R> => {
  const { factory, input, name, output } = options
  return {
    name,
    agent: factory.name,
    run: (payload) =>
      Executor.runOne(toTask(payload), factory, {
        input,
        runId: payload.runId,
        timeout: payload.timeout,
        deadline: payload.deadline,
        retry: payload.retries === undefined ? undefined : { times: payload.retries }
      }).pipe(
        Effect.map((result): TaskResult.TaskResult<unknown, unknown> => result),
        Effect.catchTag("RunOptionsError", (error) => Effect.succeed(notStarted(payload, error))),
        Effect.flatMap((result) => AgentTask.encode(result, { agent: factory.name, output }))
      ),
    decode: (encoded, index, queuedAt) => AgentTask.decode(encoded, { agent: factory.name, index, queuedAt, output })
  }
}

// =============================================================================
// layers
// =============================================================================

/**
 * Options of a runner.
 *
 * @category models
 * @since 0.1.0
 */
export interface Options {
  /** The most tasks this runner runs at once; `ClusterConfig.defaults.runner.concurrency` (100) by default. */
  readonly concurrency?: number | undefined
  /** How long an `AgentTask` entity (one per task) stays in memory after its task ended; 10 seconds by default. */
  readonly maxIdleTime?: Duration.DurationInput | undefined
}

/**
 * Hosts the `AgentTask` entity for these agents on the `Sharding` in context. A task for an agent this runner does
 * not have ends `Failed`, with a message naming the agent and the agents it has. At most `concurrency` tasks run at
 * once: a runner-wide semaphore, since each task is its own entity; tasks beyond it wait on the runner that holds
 * their shard. With a `ClusterLimit` in context, a task also holds one of its leases while it runs (the cluster-wide
 * limit); `launch` provides the one the settings give.
 *
 * @category layers
 * @since 0.1.0
 */
export const layer = <R>(
  agents: Iterable<Registration<R>>,
  options?: Options
): Layer.Layer<never, never, Sharding.Sharding | Executor.Executor | R> =>
  Layer.unwrapEffect(Effect.gen(function*() {
    const registry = new Map<string, Registration<R>>()
    for (const registration of agents) {
      if (registry.has(registration.name)) {
        return yield* Effect.dieMessage(`AgentRunner.layer: two agents are registered as "${registration.name}"`)
      }
      registry.set(registration.name, registration)
    }
    const names = [...registry.keys()]
    const concurrency = options?.concurrency ?? ClusterConfig.defaults.runner.concurrency
    if (!(Number.isSafeInteger(concurrency) && concurrency >= 1)) {
      return yield* Effect.dieMessage(
        `AgentRunner.layer: concurrency must be a whole number from 1, got ${concurrency}`
      )
    }
    const semaphore = yield* Effect.makeSemaphore(concurrency)
    const limit = Option.getOrElse(yield* Effect.serviceOption(ClusterLimit.ClusterLimit), () => ClusterLimit.unlimited)

    const run = Effect.fn("AgentRunner.run")(function*(runner: string, payload: Payload) {
      yield* Effect.annotateCurrentSpan({ agent: payload.agent, runId: payload.runId, taskId: payload.task.id })
      const registration = registry.get(payload.agent)
      if (registration === undefined) {
        return yield* AgentTask.encode(
          notStarted(
            payload,
            new AgentError.TaskOptionsError({
              agent: payload.agent,
              taskId: payload.task.id,
              option: "agent",
              description: `no agent named "${payload.agent}" on runner ${runner}; it runs ${
                names.map((n) => `"${n}"`).join(", ")
              }`
            })
          ),
          { agent: payload.agent }
        )
      }
      // The runner's own permit first, then a lease of the cluster's limit: a runner never holds more leases than
      // it runs tasks.
      const result = yield* semaphore.withPermits(1)(limit.withLease(registration.run(payload)))
      yield* Effect.logDebug(`task ${payload.task.id}: ${result._tag}`).pipe(
        Effect.annotateLogs({
          package: "effect-parallel-agents",
          module: "AgentRunner",
          agent: payload.agent,
          runId: payload.runId,
          taskId: payload.task.id
        })
      )
      return result
    })

    return AgentTask.AgentTask.toLayer(
      Effect.gen(function*() {
        const address = yield* Entity.CurrentRunnerAddress
        const runner = `${address.host}:${address.port}`
        return AgentTask.AgentTask.of({
          Run: ({ payload }) =>
            Effect.map(run(runner, payload), (result) => ({
              runner,
              agent: payload.agent,
              input: AgentTask.fingerprint(payload.task.input),
              result
            }))
        })
      }),
      { maxIdleTime: options?.maxIdleTime ?? Duration.seconds(10) }
    )
  }))

/**
 * `Sharding` for a runner process on Node.js: it listens at its address for messages from the other processes
 * (`@effect/cluster`'s socket runner, msgpack), keeps messages, replies, runners and shard locks in the SQL database
 * in context (PostgreSQL), pings the other runners, and first checks its shared settings against the cluster's
 * (`ClusterConfig.verify`).
 *
 * @category layers
 * @since 0.1.0
 */
export const layerSharding: Layer.Layer<
  Sharding.Sharding | Runners.Runners | MessageStorage.MessageStorage,
  ClusterConfig.SettingsMismatch | SqlError.SqlError | SocketServer.SocketServerError,
  ClusterConfig.ClusterConfig | SqlClient.SqlClient
> = SocketRunner.layer.pipe(
  Layer.provide([NodeClusterSocket.layerSocketServer, NodeClusterSocket.layerClientProtocol]),
  Layer.provide(
    RunnerHealth.layerPing.pipe(
      Layer.provide(Runners.layerRpc),
      Layer.provide(NodeClusterSocket.layerClientProtocol)
    )
  ),
  Layer.provide(RpcSerialization.layerMsgPack),
  Layer.provideMerge(storage.layer("runner"))
)

/**
 * A whole runner process: hosts these agents (`layer`) on a Node.js runner (`layerSharding`) with settings from
 * configuration (`ClusterConfig.layerConfig`, `DATABASE_URL`; `options` take precedence), under the cluster-wide
 * limit they give (`CLUSTER_GLOBAL_CONCURRENCY`, `ClusterLimit.layerFromConfig`), until it is interrupted;
 * then it lets its running tasks finish (up to `CLUSTER_TERMINATION_TIMEOUT`) and hands its shards over. The app
 * provides the `Executor` and what the agents need (a language model).
 *
 * @category constructors
 * @since 0.1.0
 */
export const launch = <R>(
  agents: Iterable<Registration<R>>,
  options?: ClusterConfig.Options
): Effect.Effect<
  never,
  ConfigError.ConfigError | ClusterConfig.SettingsMismatch | SqlError.SqlError | SocketServer.SocketServerError,
  | Executor.Executor
  | Exclude<
    Exclude<R, Sharding.Sharding | Runners.Runners | MessageStorage.MessageStorage>,
    SqlClient.SqlClient | PgClient.PgClient | ClusterConfig.ClusterConfig
  >
> =>
  Effect.gen(function*() {
    const config = yield* ClusterConfig.ClusterConfig
    return yield* Layer.launch(
      layer(agents, { concurrency: config.runner.concurrency }).pipe(
        Layer.provide(layerSharding),
        Layer.provide(ClusterLimit.layerFromConfig)
      )
    )
  }).pipe(
    Effect.provide(Layer.merge(ClusterConfig.layerConfig(options), ClusterConfig.layerDatabase))
  )
