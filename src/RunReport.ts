/**
 * What a run returns: every task's result in input order, a summary by outcome, the aggregate, and timing stats
 * (wall time, busy time, speedup, parallel efficiency).
 *
 * @since 0.1.0
 */
import * as Duration from "effect/Duration"
import { NodeInspectSymbol } from "effect/Inspectable"
import type * as TaskResult from "./TaskResult.js"

/**
 * Tasks by outcome. `total` is the number of tasks in the run; the other four always add up to it.
 *
 * @category models
 * @since 0.1.0
 */
export interface Summary {
  readonly total: number
  readonly succeeded: number
  readonly failed: number
  readonly timedOut: number
  readonly interrupted: number
}

/**
 * Timing of a run.
 *
 * @category models
 * @since 0.1.0
 */
export interface Stats {
  /** When the run started, in milliseconds since the epoch (the run's `Clock`). */
  readonly startedAt: number
  /** From the start of the run to its end. */
  readonly wallTime: Duration.Duration
  /** The sum of task durations: what the same tasks would take one after another. */
  readonly busyTime: Duration.Duration
  /** `busyTime / wallTime` (1 when no time passed). */
  readonly speedup: number
  /** `speedup / concurrency`: how much of the available parallelism the run used (1 is all of it). */
  readonly efficiency: number
  /** The concurrency the run had: its limit, capped by the number of tasks. */
  readonly concurrency: number
  /** The most tasks that ran at once. */
  readonly peakInFlight: number
}

/**
 * The report of one run.
 *
 * @category models
 * @since 0.1.0
 */
export interface RunReport<A, E, S> {
  readonly runId: string
  /** The agent's name. */
  readonly agent: string
  /** One result per task, in input order. */
  readonly results: ReadonlyArray<TaskResult.TaskResult<A, E>>
  readonly summary: Summary
  /** The value of the run's aggregate, `undefined` when it had none. */
  readonly aggregate: S
  readonly stats: Stats
}

class RunReportImpl<A, E, S> implements RunReport<A, E, S> {
  constructor(
    readonly runId: string,
    readonly agent: string,
    readonly results: ReadonlyArray<TaskResult.TaskResult<A, E>>,
    readonly summary: Summary,
    readonly aggregate: S,
    readonly stats: Stats
  ) {}
  toJSON() {
    return {
      runId: this.runId,
      agent: this.agent,
      summary: this.summary,
      aggregate: this.aggregate,
      stats: {
        ...this.stats,
        wallTime: Duration.format(this.stats.wallTime),
        busyTime: Duration.format(this.stats.busyTime)
      },
      results: this.results.map((result) => result.toJSON())
    }
  }
  toString() {
    return format(this)
  }
  [NodeInspectSymbol]() {
    return this.toJSON()
  }
}

/**
 * Builds a report from a run's results; the engine calls it when a run ends.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = <A, E, S>(options: {
  readonly runId: string
  readonly agent: string
  readonly results: ReadonlyArray<TaskResult.TaskResult<A, E>>
  readonly aggregate: S
  readonly startedAt: number
  readonly endedAt: number
  readonly concurrency: number
  readonly peakInFlight: number
}): RunReport<A, E, S> => {
  let succeeded = 0
  let failed = 0
  let timedOut = 0
  let interrupted = 0
  let busy = 0
  for (const result of options.results) {
    busy += result.durationMillis
    switch (result._tag) {
      case "Succeeded":
        succeeded++
        break
      case "Failed":
        failed++
        break
      case "TimedOut":
        timedOut++
        break
      case "Interrupted":
        interrupted++
        break
    }
  }
  const wall = Math.max(0, options.endedAt - options.startedAt)
  const speedup = wall > 0 ? busy / wall : 1
  const concurrency = Math.max(1, options.concurrency)
  return new RunReportImpl(
    options.runId,
    options.agent,
    options.results,
    { total: options.results.length, succeeded, failed, timedOut, interrupted },
    options.aggregate,
    {
      startedAt: options.startedAt,
      wallTime: Duration.millis(wall),
      busyTime: Duration.millis(busy),
      speedup,
      efficiency: speedup / concurrency,
      concurrency,
      peakInFlight: options.peakInFlight
    }
  )
}

/**
 * The values of the tasks that succeeded, in input order.
 *
 * @category getters
 * @since 0.1.0
 */
export const successes = <A, E, S>(self: RunReport<A, E, S>): Array<A> => {
  const out: Array<A> = []
  for (const result of self.results) {
    if (result._tag === "Succeeded") out.push(result.value)
  }
  return out
}

/**
 * The results of the tasks that did not succeed, in input order.
 *
 * @category getters
 * @since 0.1.0
 */
export const failures = <A, E, S>(
  self: RunReport<A, E, S>
): Array<Exclude<TaskResult.TaskResult<A, E>, TaskResult.Succeeded<A>>> => {
  const out: Array<Exclude<TaskResult.TaskResult<A, E>, TaskResult.Succeeded<A>>> = []
  for (const result of self.results) {
    if (result._tag !== "Succeeded") out.push(result)
  }
  return out
}

/**
 * A short plain-text summary: counts by outcome and the timing stats.
 *
 * @category getters
 * @since 0.1.0
 */
export const format = <A, E, S>(self: RunReport<A, E, S>): string => {
  const { stats, summary } = self
  return [
    `Run ${self.runId} (${self.agent}): ${summary.total} tasks, ${summary.succeeded} succeeded, ${summary.failed} failed, ` +
    `${summary.timedOut} timed out, ${summary.interrupted} interrupted`,
    `Wall ${formatMillis(Duration.toMillis(stats.wallTime))}, busy ${
      formatMillis(Duration.toMillis(stats.busyTime))
    }, speedup ${stats.speedup.toFixed(2)}x, efficiency ${(stats.efficiency * 100).toFixed(0)}% ` +
    `at concurrency ${stats.concurrency} (peak ${stats.peakInFlight} in flight)`
  ].join("\n")
}

/**
 * Formats milliseconds for people: `850 ms`, `4.20 s`, `2 min 05 s`.
 *
 * @category getters
 * @since 0.1.0
 */
export const formatMillis = (millis: number): string => {
  const ms = Math.round(millis)
  if (ms < 1000) return `${ms} ms`
  const centiseconds = Math.round(millis / 10)
  if (centiseconds < 6000) return `${(centiseconds / 100).toFixed(2)} s`
  const seconds = Math.round(millis / 1000)
  return `${Math.floor(seconds / 60)} min ${String(seconds % 60).padStart(2, "0")} s`
}
