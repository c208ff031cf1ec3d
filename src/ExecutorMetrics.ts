/**
 * The engine's metrics. Every one is tagged with `agent` (the agent's name) where it is updated; task ids are never
 * tags. Ambient labels set with `Effect.tagMetrics` around a run are added too.
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
