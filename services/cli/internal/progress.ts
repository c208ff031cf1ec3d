/**
 * The command line's bookkeeping: a tally of a run's results and events, the progress line (a bar redrawn in place
 * on a terminal, a plain line every few seconds elsewhere) and the counts people read.
 *
 * @internal
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Schedule from "effect/Schedule"
import type * as RunEvent from "../../../src/RunEvent.js"
import { formatMillis } from "../../../src/RunReport.js"
import * as RunTally from "../../../src/RunTally.js"
import type * as TaskResult from "../../../src/TaskResult.js"
import type * as Usage from "../../../src/Usage.js"

// =============================================================================
// tally
// =============================================================================

/** @internal */
export class Tally {
  /** The run's results, counted as the engine counts them (`RunTally`): what reached the output. */
  readonly results: RunTally.RunTally
  constructor(agent = "") {
    this.results = RunTally.make({ agent })
  }
  /** Non-blank lines read from the input so far. */
  read = 0
  /** Non-blank lines in the input, once counted. */
  total: number | undefined = undefined
  /** Whether the whole input was read. */
  inputDone = false
  /** Failed tasks whose line was not JSON or did not fit the agent's input schema. */
  badInput = 0
  /**
   * Agents running now (never more than the run's concurrency), and the most there were at once. On the cluster,
   * whose agents run elsewhere, tasks started and not ended, from the run's events.
   */
  inFlight = 0
  peakInFlight = 0
  /** Tasks whose first attempt started and whose result is not written yet (one waiting to retry, say). */
  underWay = 0

  get succeeded(): number {
    return this.results.summary.succeeded
  }
  get failed(): number {
    return this.results.summary.failed
  }
  get timedOut(): number {
    return this.results.summary.timedOut
  }
  get interrupted(): number {
    return this.results.summary.interrupted
  }
  get done(): number {
    return this.results.summary.total
  }
  /** Attempts that failed and were retried (a result replayed from the journal took none in this run). */
  get retries(): number {
    return this.results.retries
  }
  /** The sum of the durations of the tasks this run ran. */
  get busyMillis(): number {
    return this.results.busyMillis
  }
  get usage(): Usage.Usage {
    return this.results.usage
  }

  /** Counts a result, as the run emits it. Returns whether it is bad input. */
  add(result: TaskResult.TaskResult<unknown, unknown>): boolean {
    this.results.add(result)
    const bad = result._tag === "Failed" && isInputError(result.error)
    if (bad) this.badInput++
    return bad
  }

  /** An agent started (an attempt of a task): it is in flight until it stops. A first attempt starts its task. */
  started(firstAttempt: boolean): void {
    this.inFlight++
    if (this.inFlight > this.peakInFlight) this.peakInFlight = this.inFlight
    if (firstAttempt) this.underWay++
  }

  /** An agent stopped (its attempt ended, whatever its outcome). */
  stopped(): void {
    if (this.inFlight > 0) this.inFlight--
  }

  /**
   * A task's result was written: a task counted by `started` is no longer under way. A task whose input did not
   * decode never ran its agent, so it was not counted.
   */
  ended(result: TaskResult.TaskResult<unknown, unknown>): void {
    if (result.started && !(result._tag === "Failed" && isInputError(result.error)) && this.underWay > 0) {
      this.underWay--
    }
  }

  /** Follows a run's events (a run on the cluster, whose agents run elsewhere): how many tasks are in flight. */
  event(event: RunEvent.RunEvent): void {
    switch (event._tag) {
      case "TaskStarted":
        if (event.attempt === 1) this.started(true)
        break
      case "TaskSucceeded":
      case "TaskFailed":
      case "TaskTimedOut":
      case "TaskInterrupted":
        if (event.result.started) {
          this.stopped()
          if (this.underWay > 0) this.underWay--
        }
        break
    }
  }
}

/** @internal */
export const isInputError = (error: unknown): boolean =>
  typeof error === "object" && error !== null && "_tag" in error && error._tag === "AgentInputError"

// =============================================================================
// rate
// =============================================================================

/** Tasks per second over the last `windowMillis`, from samples of the done count. @internal */
export class RateMeter {
  private readonly samples: Array<readonly [at: number, done: number]> = []
  constructor(readonly windowMillis = 10_000) {}
  sample(at: number, done: number): void {
    this.samples.push([at, done])
    while (this.samples.length > 2 && at - this.samples[1]![0] >= this.windowMillis) this.samples.shift()
  }
  /** `undefined` until two samples are at least 100 ms apart. */
  get perSecond(): number | undefined {
    const first = this.samples[0]
    const last = this.samples.at(-1)
    if (first === undefined || last === undefined || last[0] - first[0] < 100) return undefined
    return ((last[1] - first[1]) * 1000) / (last[0] - first[0])
  }
}

// =============================================================================
// rendering
// =============================================================================

/** What a progress line shows. @internal */
export interface Snapshot {
  readonly elapsedMillis: number
  readonly done: number
  /** `undefined` while the input is being counted. */
  readonly total: number | undefined
  readonly succeeded: number
  readonly failed: number
  readonly timedOut: number
  readonly interrupted: number
  readonly inFlight: number
  /** Tasks per second, `undefined` until known. */
  readonly rate: number | undefined
}

/** @internal */
export const snapshot = (tally: Tally, elapsedMillis: number, rate: number | undefined): Snapshot => ({
  elapsedMillis,
  done: tally.done,
  total: tally.total ?? (tally.inputDone ? tally.read : undefined),
  succeeded: tally.succeeded,
  failed: tally.failed,
  timedOut: tally.timedOut,
  interrupted: tally.interrupted,
  inFlight: tally.inFlight,
  rate
})

/** A count for people: `1,500`. @internal */
export const count = (n: number): string => n.toLocaleString("en-US")

const formatRate = (rate: number | undefined) =>
  rate === undefined ? "-/s" : `${rate < 10 ? rate.toFixed(1) : count(Math.round(rate))}/s`

/** The time left at the current rate, `undefined` when unknown. @internal */
export const etaMillis = (s: Snapshot): number | undefined => {
  if (s.total === undefined) return undefined
  const left = Math.max(0, s.total - s.done)
  if (left === 0) return 0
  return s.rate === undefined || s.rate <= 0 ? undefined : (left / s.rate) * 1000
}

const done = (s: Snapshot) => {
  if (s.total === undefined) return `${count(s.done)}/?`
  const share = s.total === 0 ? 100 : Math.floor((s.done / s.total) * 100)
  return `${count(s.done)}/${count(s.total)} ${share}%`
}

const eta = (s: Snapshot) => {
  const millis = etaMillis(s)
  return millis === undefined ? "ETA -" : `ETA ${formatMillis(millis)}`
}

/**
 * The progress bar a terminal redraws in place: a bar (when the total is known), done/total, the outcomes, in
 * flight, the rate and the ETA, cut to the terminal's width.
 *
 * @internal
 */
export const renderBar = (s: Snapshot, columns: number): string => {
  const parts = [
    done(s),
    `${count(s.succeeded)} ok`,
    `${count(s.failed)} failed`,
    `${count(s.timedOut)} timed out`,
    ...(s.interrupted > 0 ? [`${count(s.interrupted)} interrupted`] : []),
    `${count(s.inFlight)} in flight`,
    formatRate(s.rate),
    eta(s)
  ].join(" | ")
  const width = columns > 0 ? columns - 1 : 119
  // The bar keeps its width, and is left out when the line would not fit.
  const line = s.total !== undefined && parts.length + barWidth + 3 <= width
    ? `[${bar(s.total === 0 ? 1 : s.done / s.total, barWidth)}] ${parts}`
    : parts
  return line.length > width ? line.slice(0, width) : line
}

const barWidth = 20

const bar = (fraction: number, width: number) => {
  const filled = Math.max(0, Math.min(width, Math.floor(fraction * width)))
  return "#".repeat(filled) + "-".repeat(width - filled)
}

/**
 * The plain progress line printed every few seconds when the output is not a terminal.
 *
 * @internal
 */
export const renderLine = (s: Snapshot): string =>
  `progress ${formatMillis(s.elapsedMillis)}: ${
    s.total === undefined ?
      `${count(s.done)} done` :
      `${count(s.done)}/${count(s.total)} done (${s.total === 0 ? 100 : Math.floor((s.done / s.total) * 100)}%)`
  }, ${count(s.succeeded)} succeeded, ${count(s.failed)} failed, ${count(s.timedOut)} timed out, ${
    count(s.interrupted)
  } interrupted, ${count(s.inFlight)} in flight, ${formatRate(s.rate)}, ${eta(s)}`

/** Erases the line the cursor is on (a terminal's progress bar). @internal */
export const clearLine = "\r\x1b[2K"

// =============================================================================
// the ticker
// =============================================================================

/** Where progress goes. @internal */
export interface Sink {
  /** Writes text as it is (no newline added). */
  readonly write: (text: string) => Effect.Effect<void>
  /** Whether it is a terminal: a bar redrawn in place, or plain lines. */
  readonly interactive: boolean
  /** The terminal's width in columns (0 when unknown). */
  readonly columns: () => number
}

/**
 * Draws progress until interrupted: on a terminal, the bar every `redraw` (100 ms by default); elsewhere, a plain
 * line every `interval`, the first after one interval. `draw` returns the bar it drew, so that a caller printing
 * another line can erase it and draw it again.
 *
 * @internal
 */
export const ticker = (options: {
  readonly tally: Tally
  readonly sink: Sink
  readonly startedAt: number
  readonly interval: Duration.DurationInput
  readonly redraw?: Duration.DurationInput | undefined
}): { readonly draw: Effect.Effect<void>; readonly run: Effect.Effect<never> } => {
  const rate = new RateMeter()
  rate.sample(0, 0)
  const { sink, tally } = options
  const current = Effect.map(Effect.clockWith((clock) => clock.currentTimeMillis), (now) => {
    const elapsed = now - options.startedAt
    rate.sample(elapsed, tally.done)
    return snapshot(tally, elapsed, rate.perSecond)
  })
  const draw = Effect.flatMap(
    current,
    (s) => sink.interactive ? sink.write(clearLine + renderBar(s, sink.columns())) : sink.write(renderLine(s) + "\n")
  )
  const every = sink.interactive ? options.redraw ?? Duration.millis(100) : options.interval
  return {
    draw,
    run: Effect.zipRight(
      Effect.schedule(draw, Schedule.spaced(every)),
      Effect.never
    )
  }
}
