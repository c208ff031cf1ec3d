/**
 * The agent contract: an `Agent` service, built afresh by its factory `Layer` for every task attempt.
 *
 * @since 0.1.0
 */
export * as Agent from "./Agent.js"

/**
 * The errors the engine reports for one task, and the one that fails a run before it starts.
 *
 * @since 0.1.0
 */
export * as AgentError from "./AgentError.js"

/**
 * The identity of one agent instance (agent, run, task, attempt), provided to its factory.
 *
 * @since 0.1.0
 */
export * as AgentInstance from "./AgentInstance.js"

/**
 * Folds over a run's results: successes, counts by key, partition, majority vote, quorum.
 *
 * @since 0.1.0
 */
export * as Aggregate from "./Aggregate.js"

/**
 * The fan-out engine: fresh agents, bounded concurrency, per-task failures and timeouts.
 *
 * @since 0.1.0
 */
export * as Executor from "./Executor.js"

/**
 * Settings of the executor: concurrency and per-task timeout, from code or configuration.
 *
 * @since 0.1.0
 */
export * as ExecutorConfig from "./ExecutorConfig.js"

/**
 * The engine's metrics, tagged by agent.
 *
 * @since 0.1.0
 */
export * as ExecutorMetrics from "./ExecutorMetrics.js"

/**
 * What a run returns: results in input order, summary, aggregate and timing stats.
 *
 * @since 0.1.0
 */
export * as RunReport from "./RunReport.js"

/**
 * A unit of work: id, input, optional timeout and labels.
 *
 * @since 0.1.0
 */
export * as Task from "./Task.js"

/**
 * The outcome of one task: Succeeded, Failed, TimedOut or Interrupted.
 *
 * @since 0.1.0
 */
export * as TaskResult from "./TaskResult.js"
