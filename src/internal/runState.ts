/**
 * What the tasks of one run share (`Run`: its options resolved, its watchdog, observer, tally and lanes), and how a
 * task's result becomes final (`outcomes`): kept by the ledger of a durable run, counted, checked against the failure
 * policy, published. `runOne` (a task run here) and `remote` (a task run elsewhere) both end there.
 *
 * @internal
 */
import * as Cause from "effect/Cause"
import type * as Clock from "effect/Clock"
import type * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import type * as Either from "effect/Either"
import type * as FiberRefs from "effect/FiberRefs"
import type * as ParseResult from "effect/ParseResult"
import type * as RuntimeFlags from "effect/RuntimeFlags"
import type * as Schedule from "effect/Schedule"
import type * as Agent from "../Agent.js"
import type * as AgentError from "../AgentError.js"
import type * as Budget from "../Budget.js"
import type * as RateLimit from "../RateLimit.js"
import type * as RunJournal from "../RunJournal.js"
import type * as RunTally from "../RunTally.js"
import type * as Task from "../Task.js"
import * as TaskResult from "../TaskResult.js"
import type * as Usage from "../Usage.js"
import type { Adaptive } from "./adaptive.js"
import type * as Gate from "./gate.js"
import type * as Observe from "./observe.js"
import type * as Watchdog from "./watchdog.js"

/**
 * Everything the tasks of one run share, resolved from its options before any task starts.
 *
 * @internal
 */
export interface Run<In, Out, E, EL, R, A> {
  readonly runId: string
  readonly factory: Agent.Factory<In, Out, E, EL, R>
  readonly clock: Clock.Clock
  /** The run's own services (what the factory needs from the app), and the fiber state attempts start from. */
  readonly context: Context.Context<R>
  readonly fiberRefs: FiberRefs.FiberRefs
  readonly runtimeFlags: RuntimeFlags.RuntimeFlags
  /** The default per-task timeout, in milliseconds (`Infinity` for none). */
  readonly timeoutMillis: number
  /** The run's deadline: when (in the clock's milliseconds) and how long after the start (`Infinity` for none). */
  readonly deadlineAt: number
  readonly deadlineMillis: number
  readonly retry:
    | { readonly schedule: Schedule.Schedule<unknown, unknown>; readonly while: (error: unknown) => boolean }
    | undefined
  readonly budget: Budget.Service | undefined
  /** A task's estimate, or why the run's `estimate` function gave none that can be reserved. */
  readonly estimate: ((task: Task.Task<unknown>) => Either.Either<Usage.Usage, string>) | undefined
  readonly rateLimit: RateLimit.Service | undefined
  readonly adaptive: Adaptive | undefined
  readonly decodeInput: ((input: unknown) => Effect.Effect<In, ParseResult.ParseError, R>) | undefined
  readonly decodeOutput: ((output: Out) => Effect.Effect<A, ParseResult.ParseError, R>) | undefined
  readonly gate: Gate.Gate
  readonly watchdog: Watchdog.Watchdog
  readonly observe: Observe.Observer
  readonly tally: RunTally.RunTally
  /**
   * A run over a list keeps its results here, at their tasks' positions, as they are counted: every result is
   * counted once, so the run needs no step of its own per task to gather them (`Effect.forEach` without `discard`
   * maps each task's effect to store its value).
   */
  readonly collect?: Array<TaskResult.TaskResult<unknown, unknown>> | undefined
  readonly lanes: Lanes
  /** The models that answered the run's agents, in the order they first did. */
  readonly models: Array<string>
  /** The run is a stream: its task ids may repeat, so instance names carry the task's position. */
  readonly inStream: boolean
  /** Where final results are kept, when the run is durable (see `Ledger`). */
  readonly ledger: Ledger | undefined
  /**
   * Runs a task somewhere else (another process, a cluster) instead of building its agent here: the run keeps its
   * admission, its tally, its events and its report, and the task's result comes from `execute`.
   */
  readonly execute:
    | ((
      task: Task.Task<unknown>,
      index: number,
      queuedAt: number
    ) => Effect.Effect<TaskResult.TaskResult<unknown, unknown>>)
    | undefined
}

/**
 * Where a durable run keeps its final results: a task that has one is not run again, and a result is kept before it
 * is published. A failure to keep one fails the run (`RunJournalError`): the run never reports a result it did not
 * keep.
 *
 * @internal
 */
export interface Ledger {
  /** The result kept for a task, to report instead of running it (`replayed`), if there is one. */
  readonly replay: (
    task: Task.Task<unknown>,
    index: number,
    queuedAt: number
  ) => Effect.Effect<TaskResult.TaskResult<unknown, unknown> | undefined, RunJournal.RunJournalError>
  /** Keeps a final result (the ledger decides which are final); it completes once the result is kept. */
  readonly record: (result: TaskResult.TaskResult<unknown, unknown>) => Effect.Effect<void, RunJournal.RunJournalError>
}

/**
 * The timeline lanes of a run: a task takes a free lane when it starts and gives it back when it ends, so the lanes
 * in use are the tasks running, and the most lanes ever in use is the peak.
 *
 * @internal
 */
export class Lanes {
  private readonly free: Array<number> = []
  private next = 0
  inUse = 0
  peak = 0
  take(): number {
    if (++this.inUse > this.peak) this.peak = this.inUse
    return this.free.pop() ?? this.next++
  }
  release(lane: number): void {
    this.inUse--
    this.free.push(lane)
  }
}

/** @internal */
export type Result<A, E> = TaskResult.TaskResult<A, E | AgentError.AgentError>

/**
 * How a result becomes final: `publish` counts it, checks the failure policy and publishes its event; `finish` has a
 * durable run's ledger keep it first (a result it could not keep is not published); `notStarted` and `neverStarted`
 * are the results of tasks that never reached an agent.
 *
 * @internal
 */
export const outcomes = <In, Out, E, EL, R, A>(run: Run<In, Out, E, EL, R, A>) => {
  const { clock, collect, gate, observe, tally } = run
  const now = () => clock.unsafeCurrentTimeMillis()
  // A result is final here: counted, checked against the failure policy, published (at `at`, when the caller has
  // just read the clock). `count` does all but the publishing, which it returns (`undefined`: nothing to publish).
  const count = (result: Result<A, E>, started: boolean, at?: number): Effect.Effect<void> | undefined => {
    tally.add(result)
    if (collect !== undefined) collect[result.index] = result
    if (result._tag === "Failed" || result._tag === "TimedOut") gate.failurePolicy.failed(tally.summary)
    return observe.ended(result, at ?? now(), started)
  }
  const publish = (result: Result<A, E>, started: boolean, at?: number): Effect.Effect<Result<A, E>> => {
    const ended = count(result, started, at)
    return ended === undefined ? Effect.succeed(result) : Effect.as(ended, result)
  }
  // A durable run keeps each result before it publishes it (later than `at`); a result it could not keep is not
  // published.
  const ledger = run.ledger
  const finish: (
    result: Result<A, E>,
    started: boolean,
    at?: number
  ) => Effect.Effect<Result<A, E>, RunJournal.RunJournalError> = ledger === undefined
    ? publish
    : (result, started) => Effect.zipRight(ledger.record(result), publish(result, started))

  const notStarted = (task: Task.Task<unknown>, index: number, queuedAt: number, error: AgentError.AgentError) =>
    finish(
      TaskResult.failed(
        { task, index, instance: undefined, startedAt: undefined, queuedAt, durationMillis: 0 },
        Cause.fail(error)
      ),
      false
    )

  const neverStarted = (
    task: Task.Task<unknown>,
    index: number,
    queuedAt: number,
    reason: TaskResult.InterruptionReason
  ) =>
    finish(
      TaskResult.interrupted(
        { task, index, instance: undefined, startedAt: undefined, queuedAt, durationMillis: 0 },
        { reason }
      ),
      false
    )
  return { count, publish, finish, notStarted, neverStarted }
}

/** @internal */
export type Outcomes<A, E> = Pick<
  ReturnType<typeof outcomes<unknown, unknown, E, unknown, unknown, A>>,
  "finish" | "notStarted" | "neverStarted"
>
