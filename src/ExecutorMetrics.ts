/**
 * The engine's metrics. Every one is tagged with `agent` (the agent's name) where it is updated, and the model
 * counters with `model` too; task ids are never tags. Ambient labels set with `Effect.tagMetrics` around a run are
 * added as well.
 *
 * @since 0.1.0
 */
import * as Duration from "effect/Duration"
import * as Metric from "effect/Metric"
import * as MetricBoundaries from "effect/MetricBoundaries"
import type * as MetricKeyType from "effect/MetricKeyType"
import * as MetricLabel from "effect/MetricLabel"
import type * as MetricState from "effect/MetricState"

/**
 * Tasks whose agent started.
 *
 * @category metrics
 * @since 0.1.0
 */
export const tasksStarted = Metric.counter("effect_parallel_agents_tasks_started", {
  description: "Tasks whose agent started",
  incremental: true
})

/**
 * Tasks that succeeded.
 *
 * @category metrics
 * @since 0.1.0
 */
export const tasksSucceeded = Metric.counter("effect_parallel_agents_tasks_succeeded", {
  description: "Tasks that succeeded",
  incremental: true
})

/**
 * Tasks that failed (typed errors and defects).
 *
 * @category metrics
 * @since 0.1.0
 */
export const tasksFailed = Metric.counter("effect_parallel_agents_tasks_failed", {
  description: "Tasks that failed with a typed error or a defect",
  incremental: true
})

/**
 * Tasks stopped by their timeout or the run's deadline.
 *
 * @category metrics
 * @since 0.1.0
 */
export const tasksTimedOut = Metric.counter("effect_parallel_agents_tasks_timed_out", {
  description: "Tasks stopped by their timeout or the run's deadline",
  incremental: true
})

/**
 * Tasks interrupted, or never started before the run's deadline.
 *
 * @category metrics
 * @since 0.1.0
 */
export const tasksInterrupted = Metric.counter("effect_parallel_agents_tasks_interrupted", {
  description: "Tasks interrupted, or not started before the run's deadline",
  incremental: true
})

/**
 * Task attempts that failed with a retryable error and were tried again. Counted by the retry policy.
 *
 * @category metrics
 * @since 0.1.0
 */
export const tasksRetried = Metric.counter("effect_parallel_agents_tasks_retried", {
  description: "Task attempts that failed with a retryable error and were tried again",
  incremental: true
})

const durationName = "effect_parallel_agents_task_duration"
const durationBoundaries = [5, 10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 30_000, 60_000, 120_000, 300_000]
const durationDescription = "How long tasks took, in milliseconds"

/**
 * The histogram under `taskDuration`, in milliseconds. The engine updates it directly with the `time_unit` tag
 * first, as `taskDuration` itself would, because the timer re-tags on every update and that costs more than the
 * rest of a task's bookkeeping. Both share one metric key: boundaries compare by identity, so a second
 * `Metric.histogram` with equal boundaries would be a second metric.
 *
 * @internal
 */
export const taskDurationMillis = Metric.histogram(
  durationName,
  MetricBoundaries.fromIterable(durationBoundaries),
  durationDescription
)

/** @internal */
export const timeUnitLabel = MetricLabel.make("time_unit", "milliseconds")

/**
 * How long tasks took, release of the agent included: a timer (a histogram in milliseconds tagged
 * `time_unit: milliseconds`, as `Metric.timerWithBoundaries` builds it).
 *
 * @category metrics
 * @since 0.1.0
 */
export const taskDuration: Metric.Metric<
  MetricKeyType.MetricKeyType.Histogram,
  Duration.Duration,
  MetricState.MetricState.Histogram
> = taskDurationMillis.pipe(
  Metric.taggedWithLabels([timeUnitLabel]),
  Metric.mapInput(Duration.toMillis)
)

/**
 * Tasks running now.
 *
 * @category metrics
 * @since 0.1.0
 */
export const tasksInFlight = Metric.gauge("effect_parallel_agents_tasks_in_flight", {
  description: "Tasks running now"
})

/**
 * How many tasks a run with adaptive concurrency lets run at once now: it falls when the provider answers "too
 * many requests" and rises with successes, never above the run's `concurrency`.
 *
 * @category metrics
 * @since 0.1.0
 */
export const effectiveConcurrency = Metric.gauge("effect_parallel_agents_effective_concurrency", {
  description: "How many tasks a run with adaptive concurrency lets run at once now"
})

/**
 * Tasks waiting for a slot: queued in a run and not started yet.
 *
 * @category metrics
 * @since 0.1.0
 */
export const queueDepth = Metric.gauge("effect_parallel_agents_queue_depth", {
  description: "Tasks waiting for a slot"
})

const queueWaitName = "effect_parallel_agents_queue_wait"
const queueWaitDescription = "How long tasks waited for a slot, in milliseconds"

/**
 * The histogram under `queueWait`, in milliseconds, updated by the engine with the `time_unit` tag first.
 *
 * @internal
 */
export const queueWaitMillis = Metric.histogram(
  queueWaitName,
  MetricBoundaries.fromIterable([
    1,
    5,
    10,
    25,
    50,
    100,
    250,
    500,
    1_000,
    2_500,
    5_000,
    10_000,
    30_000,
    60_000,
    300_000
  ]),
  queueWaitDescription
)

/**
 * How long tasks waited for a slot, from the start of their run to their own start: a timer (a histogram in
 * milliseconds tagged `time_unit: milliseconds`).
 *
 * @category metrics
 * @since 0.1.0
 */
export const queueWait: Metric.Metric<
  MetricKeyType.MetricKeyType.Histogram,
  Duration.Duration,
  MetricState.MetricState.Histogram
> = queueWaitMillis.pipe(
  Metric.taggedWithLabels([timeUnitLabel]),
  Metric.mapInput(Duration.toMillis)
)

/**
 * Requests agents made to language models, tagged with `agent` and `model`.
 *
 * @category metrics
 * @since 0.1.0
 */
export const modelRequests = Metric.counter("effect_parallel_agents_model_requests", {
  description: "Requests agents made to language models",
  incremental: true
})

/**
 * Input (prompt) tokens language models reported, tagged with `agent` and `model`.
 *
 * @category metrics
 * @since 0.1.0
 */
export const modelInputTokens = Metric.counter("effect_parallel_agents_model_input_tokens", {
  description: "Input tokens language models reported",
  incremental: true
})

/**
 * Output (completion) tokens language models reported, tagged with `agent` and `model`.
 *
 * @category metrics
 * @since 0.1.0
 */
export const modelOutputTokens = Metric.counter("effect_parallel_agents_model_output_tokens", {
  description: "Output tokens language models reported",
  incremental: true
})
