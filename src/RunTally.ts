/**
 * A running tally of a run's results: tasks by outcome, busy time, duration percentiles, queue wait, retries and
 * usage, for the run and for each agent. Results are added one at a time as they end, in any order, and the tally
 * keeps counts, not results: it costs the same for ten tasks or ten million. The engine keeps one per run for its
 * report and its events; the command line's progress line and summary, and reports built from a stream of
 * results, read one too, so every figure is counted in one place.
 *
 * @since 0.1.0
 */
import * as Duration from "effect/Duration"
import type * as RunReport from "./RunReport.js"
import * as TaskResult from "./TaskResult.js"
import * as Usage from "./Usage.js"

/**
 * The counts of one agent, or of the whole run.
 *
 * @category models
 * @since 0.1.0
 */
export interface Counts {
  readonly agent: string
  readonly summary: RunReport.Summary
  /** The sum of task durations: what the same tasks would take one after another, in milliseconds. */
  readonly busyMillis: number
  /** The durations of the tasks that started (nearest-rank percentiles). */
  readonly durations: RunReport.Percentiles
}

/**
 * A running tally.
 *
 * @category models
 * @since 0.1.0
 */
export interface RunTally {
  /** Adds one task's result. */
  readonly add: (result: TaskResult.TaskResult<unknown, unknown>) => void
  /** Tasks by outcome so far. */
  readonly summary: RunReport.Summary
  /** The sum of the durations of the tasks this run ran so far, in milliseconds (replayed results took none). */
  readonly busyMillis: number
  /** Tasks that started in this run (an agent instance ran for them; replayed results are not counted). */
  readonly started: number
  /** Attempts that failed and were retried, over the tasks this run ran. */
  readonly retries: number
  /** What the agents of the tasks this run ran used, over every attempt. */
  readonly usage: Usage.Usage
  /** Results that were read back from a run journal rather than run. */
  readonly replayed: number
  /** The most tasks that ran at once, as their timeline lanes tell it (the highest `slot` plus one). */
  readonly peakLanes: number
  /** How long the tasks that started waited to start, from when they entered the run, in milliseconds. */
  readonly queueWait: { readonly meanMillis: number; readonly maxMillis: number }
  /** The durations of the tasks that started in this run so far. */
  readonly durations: () => RunReport.Percentiles
  /** The counts of each agent, in order of first appearance (a run of one agent has one; teams may mix agents). */
  readonly byAgent: () => ReadonlyArray<Counts>
}

/**
 * Percentiles of durations in milliseconds, by nearest rank: the p-th percentile is the smallest value at least p %
 * of the values do not exceed. Zero for no values.
 *
 * @category constructors
 * @since 0.1.0
 */
export const percentiles = (millis: Iterable<number>): RunReport.Percentiles => {
  const histogram = new Histogram()
  for (const value of millis) histogram.add(value)
  return histogram.percentiles()
}

/** Durations by value: exact, and bounded by the number of distinct durations (whole milliseconds, in practice). */
class Histogram {
  private counts = new Map<number, number>()
  count = 0
  private sum = 0
  copy(): Histogram {
    const copy = new Histogram()
    copy.counts = new Map(this.counts)
    copy.count = this.count
    copy.sum = this.sum
    return copy
  }
  add(millis: number): void {
    this.counts.set(millis, (this.counts.get(millis) ?? 0) + 1)
    this.count++
    this.sum += millis
  }
  percentiles(): RunReport.Percentiles {
    const n = this.count
    if (n === 0) {
      return { p50: Duration.zero, p95: Duration.zero, p99: Duration.zero, max: Duration.zero, mean: Duration.zero }
    }
    const values = Float64Array.from(this.counts.keys()).sort()
    const ranks = [0.5, 0.95, 0.99, 1].map((p) => Math.max(1, Math.ceil(p * n)))
    const found: Array<number> = []
    let seen = 0
    for (const value of values) {
      seen += this.counts.get(value)!
      while (found.length < ranks.length && ranks[found.length]! <= seen) found.push(value)
      if (found.length === ranks.length) break
    }
    return {
      p50: Duration.millis(found[0]!),
      p95: Duration.millis(found[1]!),
      p99: Duration.millis(found[2]!),
      max: Duration.millis(found[3]!),
      mean: Duration.millis(this.sum / n)
    }
  }
}

class AgentCounts {
  succeeded = 0
  failed = 0
  timedOut = 0
  interrupted = 0
  busyMillis = 0
  durations = new Histogram()
  constructor(readonly agent: string) {}
  copy(): AgentCounts {
    const copy = new AgentCounts(this.agent)
    copy.succeeded = this.succeeded
    copy.failed = this.failed
    copy.timedOut = this.timedOut
    copy.interrupted = this.interrupted
    copy.busyMillis = this.busyMillis
    copy.durations = this.durations.copy()
    return copy
  }
  add(result: TaskResult.TaskResult<unknown, unknown>): void {
    // A result replayed from a run journal counts, but took no time in this run.
    if (!result.replayed) {
      this.busyMillis += result.durationMillis
      if (result.started) this.durations.add(result.durationMillis)
    }
    switch (result._tag) {
      case "Succeeded":
        this.succeeded++
        break
      case "Failed":
        this.failed++
        break
      case "TimedOut":
        this.timedOut++
        break
      case "Interrupted":
        this.interrupted++
        break
    }
  }
  get total(): number {
    return this.succeeded + this.failed + this.timedOut + this.interrupted
  }
  get summary(): RunReport.Summary {
    return {
      total: this.total,
      succeeded: this.succeeded,
      failed: this.failed,
      timedOut: this.timedOut,
      interrupted: this.interrupted
    }
  }
  counts(): Counts {
    return {
      agent: this.agent,
      summary: this.summary,
      busyMillis: this.busyMillis,
      durations: this.durations.percentiles()
    }
  }
}

class TallyImpl implements RunTally {
  private readonly all: AgentCounts
  /**
   * The counts of each agent, once a result of an agent other than the run's has come. Until then every result is
   * the run's agent's, whose counts are the run's (`all`): one count per result instead of two.
   */
  private agents: Map<string, AgentCounts> | undefined = undefined
  retries = 0
  usage: Usage.Usage = Usage.empty
  replayed = 0
  peakLanes = 0
  private waitSum = 0
  private waitMax = 0
  constructor(readonly agent: string, private readonly runStartedAt: number | undefined) {
    this.all = new AgentCounts(agent)
  }
  readonly add = (result: TaskResult.TaskResult<unknown, unknown>): void => {
    const name = TaskResult.agentNameOf(result) ?? this.agent
    let agents = this.agents
    if (agents === undefined && name !== this.agent) {
      // A second agent: the run's own agent's counts so far are the run's.
      agents = this.agents = new Map()
      if (this.all.total > 0) agents.set(this.agent, this.all.copy())
    }
    this.all.add(result)
    if (agents !== undefined) {
      let counts = agents.get(name)
      if (counts === undefined) {
        counts = new AgentCounts(name)
        agents.set(name, counts)
      }
      counts.add(result)
    }
    if (result.replayed) {
      // Its retries and its usage were this run's before it was resumed, not this run's.
      this.replayed++
      return
    }
    this.retries += result.failedAttempts.length
    if (!Usage.isEmpty(result.usage)) this.usage = Usage.add(this.usage, result.usage)
    if (result.slot + 1 > this.peakLanes) this.peakLanes = result.slot + 1
    if (result.startedAt !== undefined && !result.replayed) {
      const from = result.queuedAt ?? this.runStartedAt ?? result.startedAt
      const wait = Math.max(0, result.startedAt - from)
      this.waitSum += wait
      if (wait > this.waitMax) this.waitMax = wait
    }
  }
  get summary(): RunReport.Summary {
    return this.all.summary
  }
  get busyMillis(): number {
    return this.all.busyMillis
  }
  get started(): number {
    return this.all.durations.count
  }
  get queueWait() {
    const started = this.all.durations.count
    return { meanMillis: started <= 0 ? 0 : this.waitSum / started, maxMillis: this.waitMax }
  }
  readonly durations = (): RunReport.Percentiles => this.all.durations.percentiles()
  readonly byAgent = (): ReadonlyArray<Counts> =>
    this.agents !== undefined
      ? Array.from(this.agents.values(), (counts) => counts.counts())
      : this.all.total > 0
      ? [this.all.counts()]
      : []
}

/**
 * An empty tally. `agent` names the run's agent, for results of tasks that never started; `startedAt` is when the
 * run started (the queue wait of a result that does not say when it entered the run counts from there).
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = (options: { readonly agent: string; readonly startedAt?: number | undefined }): RunTally =>
  new TallyImpl(options.agent, options.startedAt)
