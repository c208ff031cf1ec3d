/**
 * An `Executor` whose tasks run on the cluster: a program written against `Executor.run` / `Executor.stream`
 * changes only in the layer it provides. Each task goes to the `AgentTask` entity under the registered name of the
 * run's agent and comes back as the `TaskResult` its runner's engine produced; the run itself (its concurrency,
 * now the cluster-wide limit, deadline, failure policy, budget, rate limit, events, stream, aggregate and report)
 * is kept here, exactly as in a local run.
 *
 * @since 0.1.0
 */
import type * as MessageStorage from "@effect/cluster/MessageStorage"
import type * as Runners from "@effect/cluster/Runners"
import type * as Sharding from "@effect/cluster/Sharding"
import type * as SqlError from "@effect/sql/SqlError"
import * as Cause from "effect/Cause"
import type * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import * as AgentError from "../../src/AgentError.js"
import * as AgentInstance from "../../src/AgentInstance.js"
import * as Executor from "../../src/Executor.js"
import * as ExecutorConfig from "../../src/ExecutorConfig.js"
import type * as Task from "../../src/Task.js"
import * as TaskResult from "../../src/TaskResult.js"
import type * as AgentRunner from "./AgentRunner.js"
import * as AgentTask from "./AgentTask.js"
import type * as ClusterConfig from "./ClusterConfig.js"
import * as Coordinator from "./Coordinator.js"

// =============================================================================
// models
// =============================================================================

/**
 * Options of a cluster executor.
 *
 * @category models
 * @since 0.1.0
 */
export interface Options {
  /**
   * The agents as the runners register them (`AgentRunner.agent`; the command line's are
   * `AgentRegistry.builtIn.map(AgentRunner.agent)`). A run's agent goes to the registration named like its factory
   * or, failing that, the one whose factory has its factory's name; results' values are decoded with that
   * registration's output schema. Without registrations, a run's agent is sent under its factory's name and values
   * come back as plain JSON.
   */
  readonly agents?: Iterable<AgentRunner.Registration<unknown>> | undefined
  /** The executor's settings (the run's defaults: concurrency, timeout), merged over `ExecutorConfig.defaults`. */
  readonly executor?: ExecutorConfig.Options | undefined
}

// =============================================================================
// constructors
// =============================================================================

/** A run's retry option as a number of retries on the runners: only `{ times }` can travel. */
const retriesOf = (retry: unknown): number | AgentError.RunOptionsError | undefined => {
  if (retry === undefined) return undefined
  if (
    typeof retry === "object" && retry !== null && !Schedule.isSchedule(retry) &&
    Object.keys(retry).every((key) => key === "times" || (retry as Record<string, unknown>)[key] === undefined)
  ) {
    const times = (retry as { readonly times?: unknown }).times
    if (times === undefined) return undefined
    if (typeof times === "number" && Number.isSafeInteger(times) && times >= 0) return times
  }
  return new AgentError.RunOptionsError({
    option: "retry",
    description: "a run on the cluster retries on its runners, with their schedule and their rule for what is " +
      "retryable: give { times: n } only"
  })
}

/**
 * The `Executor.Remote` of the cluster: each run resolves its agent's registered name once, then sends every task
 * to the `AgentTask` entity (see `Coordinator`).
 *
 * @category constructors
 * @since 0.1.0
 */
export const remote = (options?: Options): Executor.Remote<Sharding.Sharding> => {
  const registrations = [...(options?.agents ?? [])]
  return Effect.fnUntraced(function*(run: Executor.RemoteRun) {
    const factory = run.agent.name
    const registration = registrations.find((r) => r.name === factory) ??
      registrations.find((r) => r.agent === factory)
    if (registrations.length > 0 && registration === undefined) {
      return yield* new AgentError.RunOptionsError({
        option: "agent",
        description: `no registered agent for "${factory}": the cluster's agents are ${
          registrations.map((r) => `"${r.name}" (${r.agent})`).join(", ")
        }`
      })
    }
    const retries = retriesOf(run.options.retry)
    if (retries instanceof AgentError.RunOptionsError) return yield* retries
    const invalid = Coordinator.validate({ runId: run.runId })
    if (invalid !== undefined) return yield* invalid
    const agent = registration?.name ?? factory
    const send = yield* Coordinator.sender({
      agent,
      runId: run.runId,
      timeout: run.timeout,
      retries,
      deadlineAt: run.deadlineAt,
      decode: registration?.decode ??
        ((encoded, index, queuedAt) => AgentTask.decode(encoded, { agent, index, queuedAt }))
    })
    // The run's own output schema applies to what the agent answered, as in a local run.
    const output = run.options.output === undefined
      ? undefined
      : Schema.decodeUnknown(run.options.output as Schema.Schema<unknown, unknown, never>, { errors: "all" })
    // A task whose input does not decode with the run's input schema fails here, as its first attempt would locally
    // (its agent is never built), and is not sent.
    const input = run.options.input === undefined
      ? undefined
      : Schema.decodeUnknown(run.options.input as Schema.Schema<unknown, unknown, never>, { errors: "all" })
    const clock = yield* Effect.clock
    const checked = (task: Task.Task<unknown>, index: number, queuedAt: number) =>
      input === undefined ? sent(task, index, queuedAt) : Effect.matchEffect(input(task.input), {
        onSuccess: () => sent(task, index, queuedAt),
        onFailure: (error) => {
          const instance = AgentInstance.make({ agent: run.agent.name, runId: run.runId, taskId: task.id, attempt: 1 })
          return Effect.succeed(TaskResult.failed(
            { task, index, instance, startedAt: clock.unsafeCurrentTimeMillis(), queuedAt, durationMillis: 0 },
            Cause.fail(AgentError.AgentInputError.fromParseError({ agent: instance.name, taskId: task.id, error }))
          ))
        }
      })
    const sent = (task: Task.Task<unknown>, index: number, queuedAt: number) =>
      Effect.flatMap(send(task, index, queuedAt), ({ result }) =>
        output === undefined || result._tag !== "Succeeded"
          ? Effect.succeed(result)
          : output(result.value).pipe(
            Effect.map((value): TaskResult.TaskResult<unknown, unknown> =>
              TaskResult.succeeded(AgentTask.metaOf(result), value)
            ),
            Effect.catchTag("ParseError", (error) => Effect.succeed(AgentTask.outputFailed(result, agent, error)))
          ))
    const execute: Executor.RemoteExecute = checked
    return execute
  })
}

// =============================================================================
// layers
// =============================================================================

/**
 * An `Executor` that runs every task on the cluster of the `Sharding` in context. Runs keep their options: the
 * `concurrency` is how many of the run's tasks are under way at once across the cluster (the global limit; each
 * runner also runs at most its own `RUNNER_CONCURRENCY`), `timeout`, `deadline` and `retry: { times }` travel
 * with each task to its runner, and the budget, rate limit and failure policy are applied here, before a task is
 * sent. A run's id is the key of its results: a run started again with the same `runId` gets the stored results
 * back without calling any agent again.
 *
 * **Gotchas**
 *
 * A run's task ids must be unique, in a stream too (a repeated id ends `Failed`, `TaskOptionsError`: it would get
 * the first one's result), so agent instance names are `<agent>#<runId>/<taskId>/<attempt>` without the position a
 * local stream adds to them.
 *
 * **Example** (The same program, on the cluster)
 *
 * ```ts
 * import { Executor, Task } from "effect-parallel-agents"
 * import { AgentRunner, ClusterExecutor } from "effect-parallel-agents/cluster"
 * import { AgentRegistry } from "effect-parallel-agents/models"
 * import { Effect } from "effect"
 *
 * const program = Executor.run(
 *   Task.fromIterable([{ text: "A fine day" }, { text: "A bad day" }]),
 *   AgentRegistry.classify.factory,
 *   { runId: "docs-2024-06-01", concurrency: 200 }
 * )
 *
 * // Locally: program.pipe(Effect.provide(Executor.layer()), ...)
 * const onCluster = program.pipe(
 *   Effect.provide(ClusterExecutor.layerConfig({ agents: AgentRegistry.builtIn.map(AgentRunner.agent) }))
 * )
 * ```
 *
 * @category layers
 * @since 0.1.0
 */
export const layer = (
  options?: Options
): Layer.Layer<Executor.Executor, AgentError.RunOptionsError, Sharding.Sharding> =>
  Executor.layerRemote(remote(options), options?.executor)

/**
 * `layer` on a coordinator's `Sharding` (`Coordinator.layer`: settings from configuration, PostgreSQL at
 * `DATABASE_URL`), with the executor's settings from configuration (`AGENT_CONCURRENCY`, `AGENT_TIMEOUT`;
 * `options.executor` takes precedence).
 *
 * @category layers
 * @since 0.1.0
 */
export const layerConfig = (options?: {
  readonly agents?: Iterable<AgentRunner.Registration<unknown>> | undefined
  /** Settings that take precedence over what the configuration says. */
  readonly executor?: Config.Config.Wrap<ExecutorConfig.Options> | undefined
}): Layer.Layer<
  Executor.Executor | Sharding.Sharding | Runners.Runners | MessageStorage.MessageStorage,
  ClusterConfig.SettingsMismatch | SqlError.SqlError | ConfigError.ConfigError
> =>
  Layer.effect(Executor.Executor, Executor.makeRemote(remote({ agents: options?.agents }))).pipe(
    Layer.provide(ExecutorConfig.layerConfig(options?.executor)),
    Layer.provideMerge(Coordinator.layer)
  )
