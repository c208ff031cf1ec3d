/**
 * What a run returns: every task's result in input order, a summary by outcome, the aggregate, and stats people
 * read at a glance (wall time against the sequential sum, speedup, parallel efficiency, duration percentiles, queue
 * wait, success rate), with a terminal table to print them.
 *
 * @since 0.1.0
 */
import * as Cause from "effect/Cause"
import * as Duration from "effect/Duration"
import { NodeInspectSymbol } from "effect/Inspectable"
import { type Pipeable, pipeArguments } from "effect/Pipeable"
import type * as Budget from "./Budget.js"
import * as text from "./internal/text.js"
import * as RunTally from "./RunTally.js"
import type * as TaskResult from "./TaskResult.js"
import * as Usage from "./Usage.js"

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
  /** `succeeded / total`, `0` for a run of no tasks. */
  readonly successRate: number
  /** How long the tasks that started took (nearest-rank percentiles); zero when none started. */
  readonly durations: Percentiles
  /** How long the tasks that started waited for their turn: from when they entered the run (read from a stream of
   * tasks, or the run's start for a list) to when they started. */
  readonly queueWait: {
    readonly mean: Duration.Duration
    readonly max: Duration.Duration
  }
  /** Attempts that failed and were retried, over all tasks. */
  readonly retries: number
  /** Results read back from a run journal instead of being run again (a resumed run). */
  readonly replayed: number
  /** What the tasks' agents recorded using, over every attempt. */
  readonly usage: Usage.Usage
  /** The models that answered the run's agents, in the order they first did (`"offline"` for the offline model). */
  readonly models: ReadonlyArray<string>
  /** The budget's figures when the run ended, when the run had one. */
  readonly budget: Budget.Snapshot | undefined
  /** How adaptive concurrency moved, when the run had it. */
  readonly adaptiveConcurrency: AdaptiveConcurrency | undefined
}

/**
 * How a run's adaptive concurrency moved: where it started, how low rate limiting took it, where it ended.
 *
 * @category models
 * @since 0.1.0
 */
export interface AdaptiveConcurrency {
  readonly initial: number
  readonly lowest: number
  readonly final: number
  /** How many times a rate-limited attempt cut it. */
  readonly decreases: number
}

/**
 * Percentiles of a set of durations, by nearest rank.
 *
 * @category models
 * @since 0.1.0
 */
export interface Percentiles {
  readonly p50: Duration.Duration
  readonly p95: Duration.Duration
  readonly p99: Duration.Duration
  readonly max: Duration.Duration
  readonly mean: Duration.Duration
}

/**
 * One agent's share of a run: a run of one agent has one, a run that mixes agents (teams) one per agent.
 *
 * @category models
 * @since 0.1.0
 */
export interface AgentStats extends Summary {
  readonly agent: string
  /** The sum of this agent's task durations. */
  readonly busyTime: Duration.Duration
  /** `succeeded / total`. */
  readonly successRate: number
  readonly durations: Percentiles
}

/**
 * The report of one run.
 *
 * @category models
 * @since 0.1.0
 */
export interface RunReport<A, E, S> extends Pipeable {
  readonly runId: string
  /** The agent's name. */
  readonly agent: string
  /** One result per task, in input order. */
  readonly results: ReadonlyArray<TaskResult.TaskResult<A, E>>
  readonly summary: Summary
  /** The value of the run's aggregate, `undefined` when it had none or when it failed. */
  readonly aggregate: S
  /**
   * Why the run's aggregate has no value: it threw or failed while folding the results (the whole cause). The
   * results and every other figure are there all the same.
   */
  readonly aggregateFailure: Cause.Cause<unknown> | undefined
  readonly stats: Stats
  /** The summary and durations of each agent, in order of first appearance. */
  readonly byAgent: ReadonlyArray<AgentStats>
}

class RunReportImpl<A, E, S> implements RunReport<A, E, S> {
  constructor(
    readonly runId: string,
    readonly agent: string,
    readonly results: ReadonlyArray<TaskResult.TaskResult<A, E>>,
    readonly summary: Summary,
    readonly aggregate: S,
    readonly aggregateFailure: Cause.Cause<unknown> | undefined,
    readonly stats: Stats,
    readonly byAgent: ReadonlyArray<AgentStats>
  ) {}
  toJSON() {
    return {
      runId: this.runId,
      agent: this.agent,
      summary: this.summary,
      aggregate: this.aggregate,
      ...(this.aggregateFailure === undefined ? {} : { aggregateFailure: Cause.pretty(this.aggregateFailure) }),
      stats: {
        ...this.stats,
        wallTime: Duration.toMillis(this.stats.wallTime),
        busyTime: Duration.toMillis(this.stats.busyTime),
        durations: percentilesToJSON(this.stats.durations),
        queueWait: {
          mean: Duration.toMillis(this.stats.queueWait.mean),
          max: Duration.toMillis(this.stats.queueWait.max)
        }
      },
      byAgent: this.byAgent.map((agent) => ({
        ...agent,
        busyTime: Duration.toMillis(agent.busyTime),
        durations: percentilesToJSON(agent.durations)
      })),
      results: this.results.map((result) => result.toJSON())
    }
  }
  toString() {
    return format(this)
  }
  pipe() {
    return pipeArguments(this, arguments)
  }
  [NodeInspectSymbol]() {
    return this.toJSON()
  }
}

const percentilesToJSON = (p: Percentiles) => ({
  p50: Duration.toMillis(p.p50),
  p95: Duration.toMillis(p.p95),
  p99: Duration.toMillis(p.p99),
  max: Duration.toMillis(p.max),
  mean: Duration.toMillis(p.mean)
})

/**
 * Percentiles of durations in milliseconds, by nearest rank: the p-th percentile is the smallest value at least p %
 * of the values do not exceed. Zero for no values.
 *
 * @category constructors
 * @since 0.1.0
 */
export const percentiles = (millis: ArrayLike<number>): Percentiles => RunTally.percentiles(Array.from(millis))

/**
 * What a report is made of besides its results: the run, its timing, and what only the engine knows.
 *
 * @category models
 * @since 0.1.0
 */
export interface Options<A, E, S> {
  readonly runId: string
  readonly agent: string
  /** One result per task, in input order; empty for a report of a stream of results. */
  readonly results: ReadonlyArray<TaskResult.TaskResult<A, E>>
  readonly aggregate: S
  readonly aggregateFailure?: Cause.Cause<unknown> | undefined
  readonly startedAt: number
  readonly endedAt: number
  readonly concurrency: number
  /** The most tasks that ran at once; by default, what the results' lanes tell. */
  readonly peakInFlight?: number | undefined
  readonly models?: ReadonlyArray<string> | undefined
  readonly budget?: Budget.Snapshot | undefined
  readonly adaptive?: AdaptiveConcurrency | undefined
}

/**
 * Builds a report from a run's results: it tallies them (see `RunTally`).
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = <A, E, S>(options: Options<A, E, S>): RunReport<A, E, S> => {
  const tally = RunTally.make({ agent: options.agent, startedAt: options.startedAt })
  for (const result of options.results) tally.add(result)
  return fromTally(tally, options)
}

/**
 * Builds a report from a tally that has seen every result: the engine's way, and the way to report a stream of
 * results without holding them (`results` then empty).
 *
 * @category constructors
 * @since 0.1.0
 */
export const fromTally = <A, E, S>(tally: RunTally.RunTally, options: Options<A, E, S>): RunReport<A, E, S> => {
  const summary = tally.summary
  const durations = tally.durations()
  const wall = Math.max(0, options.endedAt - options.startedAt)
  const speedup = wall > 0 ? tally.busyMillis / wall : 1
  const concurrency = Math.max(1, options.concurrency)
  const agents = tally.byAgent()
  return new RunReportImpl(
    options.runId,
    options.agent,
    options.results,
    summary,
    options.aggregate,
    options.aggregateFailure,
    {
      startedAt: options.startedAt,
      wallTime: Duration.millis(wall),
      busyTime: Duration.millis(tally.busyMillis),
      speedup,
      efficiency: speedup / concurrency,
      concurrency,
      peakInFlight: options.peakInFlight ?? tally.peakLanes,
      successRate: summary.total === 0 ? 0 : summary.succeeded / summary.total,
      durations,
      queueWait: {
        mean: Duration.millis(tally.queueWait.meanMillis),
        max: Duration.millis(tally.queueWait.maxMillis)
      },
      retries: tally.retries,
      replayed: tally.replayed,
      usage: tally.usage,
      models: options.models ?? [],
      budget: options.budget,
      adaptiveConcurrency: options.adaptive
    },
    agents.map((counts) => ({
      agent: counts.agent,
      ...counts.summary,
      busyTime: Duration.millis(counts.busyMillis),
      successRate: counts.summary.total === 0 ? 0 : counts.summary.succeeded / counts.summary.total,
      durations: counts.durations
    }))
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
 * A table for the terminal: outcomes with their shares, then the timing stats (wall time against the sequential
 * sum, speedup, efficiency, peak in flight, duration percentiles, queue wait), then one row per agent when the run
 * mixed agents.
 *
 * @category getters
 * @since 0.1.0
 */
export const format = <A, E, S>(self: RunReport<A, E, S>): string => {
  const { stats, summary } = self
  const ms = (d: Duration.Duration) => formatMillis(Duration.toMillis(d))
  const share = (n: number) => summary.total === 0 ? "-" : `${((n / summary.total) * 100).toFixed(1)}%`
  const lines = [
    `Run ${self.runId}: ${self.agent}, ${summary.total} ${
      summary.total === 1 ? "task" : "tasks"
    } at concurrency ${stats.concurrency}`,
    "",
    table(["outcome", "tasks", "share"], [
      ["succeeded", String(summary.succeeded), share(summary.succeeded)],
      ["failed", String(summary.failed), share(summary.failed)],
      ["timed out", String(summary.timedOut), share(summary.timedOut)],
      ["interrupted", String(summary.interrupted), share(summary.interrupted)]
    ]),
    "",
    table(["stat", "value"], [
      ["wall time", ms(stats.wallTime)],
      ["busy time (one after another)", ms(stats.busyTime)],
      ["speedup", `${stats.speedup.toFixed(2)}x`],
      ["parallel efficiency", `${(stats.efficiency * 100).toFixed(0)}%`],
      ["peak in flight", String(stats.peakInFlight)],
      ["success rate", `${(stats.successRate * 100).toFixed(1)}%`],
      [
        "duration p50 / p95 / p99 / max",
        [stats.durations.p50, stats.durations.p95, stats.durations.p99, stats.durations.max].map(ms).join(" / ")
      ],
      ["queue wait mean / max", `${ms(stats.queueWait.mean)} / ${ms(stats.queueWait.max)}`],
      ...extraStats(stats)
    ])
  ]
  if (self.byAgent.length > 1) {
    lines.push(
      "",
      table(
        ["agent", "tasks", "succeeded", "failed", "timed out", "interrupted", "busy", "p50", "p95"],
        self.byAgent.map((agent) => [
          agent.agent,
          String(agent.total),
          String(agent.succeeded),
          String(agent.failed),
          String(agent.timedOut),
          String(agent.interrupted),
          ms(agent.busyTime),
          ms(agent.durations.p50),
          ms(agent.durations.p95)
        ])
      )
    )
  }
  if (self.aggregateFailure !== undefined) {
    const error = Cause.squash(self.aggregateFailure)
    lines.push("", `  the aggregate failed: ${error instanceof Error ? error.message : String(error)}`)
  }
  return lines.join("\n")
}

const count = text.formatCount

/** The rows only some runs have: retries, model usage, budget, adaptive concurrency. */
const extraStats = (stats: Stats): Array<[string, string]> => {
  const rows: Array<[string, string]> = []
  if (stats.retries > 0) rows.push(["retries", String(stats.retries)])
  if (stats.replayed > 0) rows.push(["replayed from the journal", String(stats.replayed)])
  if (stats.models.length > 0) rows.push(["models", stats.models.join(", ")])
  if (!Usage.isEmpty(stats.usage)) {
    rows.push(["model requests", count(stats.usage.requests)])
    rows.push(["tokens in / out", `${count(stats.usage.inputTokens)} / ${count(stats.usage.outputTokens)}`])
    if (stats.usage.cost > 0) rows.push(["cost", count(stats.usage.cost)])
  }
  const budget = stats.budget
  if (budget !== undefined) {
    const used = (resource: Budget.Resource) =>
      resource === "tokens"
        ? Usage.totalTokens(budget.used)
        : resource === "cost"
        ? budget.used.cost
        : budget.used.requests
    for (const resource of ["tokens", "cost", "requests"] as const) {
      const limit = budget.limits[resource]
      if (limit !== undefined) {
        rows.push([`budget ${resource} used / limit`, `${count(used(resource))} / ${count(limit)}`])
      }
    }
  }
  const adaptive = stats.adaptiveConcurrency
  if (adaptive !== undefined) {
    rows.push([
      "adaptive concurrency start / lowest / end",
      `${adaptive.initial} / ${adaptive.lowest} / ${adaptive.final} (${adaptive.decreases} cuts)`
    ])
  }
  return rows
}

/** Columns padded to their widest cell; numbers and durations right-aligned. */
const table = (header: ReadonlyArray<string>, rows: ReadonlyArray<ReadonlyArray<string>>): string => {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)))
  const right = header.map((_, i) => i > 0)
  const line = (cells: ReadonlyArray<string>) =>
    cells.map((cell, i) => right[i] ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!)).join("  ").trimEnd()
  return [line(header), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(line)].map((l) => `  ${l}`)
    .join("\n")
}

/**
 * Formats milliseconds for people: `850 ms`, `4.20 s`, `2 min 05 s`.
 *
 * @category getters
 * @since 0.1.0
 */
export const formatMillis: (millis: number) => string = text.formatMillis
