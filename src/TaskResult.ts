/**
 * The outcome of one task: `Succeeded`, `Failed`, `TimedOut` or `Interrupted`, with the task, the agent instance
 * that ran it, the attempt, when it started and how long it took. `Failed` keeps the whole `Cause`.
 *
 * @since 0.1.0
 */
import * as Cause from "effect/Cause"
import * as Duration from "effect/Duration"
import type * as Exit from "effect/Exit"
import * as FiberId from "effect/FiberId"
import { dual } from "effect/Function"
import { NodeInspectSymbol } from "effect/Inspectable"
import { hasProperty } from "effect/Predicate"
import { AgentTimeout } from "./AgentError.js"
import * as AgentInstance from "./AgentInstance.js"
import type * as Task from "./Task.js"
import * as Usage from "./Usage.js"

/**
 * @category symbols
 * @since 0.1.0
 */
export const TypeId: unique symbol = Symbol.for("effect-parallel-agents/TaskResult")

/**
 * @category symbols
 * @since 0.1.0
 */
export type TypeId = typeof TypeId

/**
 * The outcome of one task.
 *
 * @category models
 * @since 0.1.0
 */
export type TaskResult<A, E = never> = Succeeded<A> | Failed<E> | TimedOut | Interrupted

/**
 * What every outcome records.
 *
 * @category models
 * @since 0.1.0
 */
export interface Common {
  readonly [TypeId]: TypeId
  /** The task, with its id, input and labels. */
  readonly task: Task.Task<unknown>
  /** The task's position in the run's input. */
  readonly index: number
  /** The identity of the agent instance that ran the task; `undefined` if the task never started. */
  readonly instance: AgentInstance.Service | undefined
  /** When the task started, in milliseconds since the epoch as the run's `Clock` tells it. */
  readonly startedAt: number | undefined
  /** How long the task took, release of its agent included, in milliseconds. */
  readonly durationMillis: number
  /** The concurrency slot that ran the task, from 0 (a lane of the run's timeline); `-1` if unknown or never started. */
  readonly slot: number
  /** `task.id`. */
  readonly taskId: string
  /** The agent instance's unique name, or `undefined` if the task never started. */
  readonly agent: string | undefined
  /** The attempt that produced this outcome, `0` if the task never started. */
  readonly attempt: number
  /** Whether an agent instance ran for this task. */
  readonly started: boolean
  /** `durationMillis` as a `Duration`. */
  readonly duration: Duration.Duration
  /** What the task's agents recorded using, over every attempt (see `Usage.record`). */
  readonly usage: Usage.Usage
  /**
   * The earlier attempts, each of which failed or timed out and was retried, oldest first; empty when the first
   * attempt decided the outcome.
   */
  readonly failedAttempts: ReadonlyArray<FailedAttempt>
  /** A plain object for logs and JSON output. */
  toJSON(): unknown
}

/**
 * One attempt of a task that failed or timed out and was retried with a fresh agent instance.
 *
 * @category models
 * @since 0.1.0
 */
export interface FailedAttempt {
  /** The attempt's number, from 1. */
  readonly attempt: number
  /** The unique name of the agent instance that made the attempt. */
  readonly agent: string
  /** When the attempt started, in milliseconds since the epoch as the run's `Clock` tells it. */
  readonly startedAt: number
  /** How long the attempt took, release of its agent included, in milliseconds. */
  readonly durationMillis: number
  /** `Failed` for an error or defect, `TimedOut` when the task's timeout stopped it. */
  readonly outcome: "Failed" | "TimedOut"
  /** The attempt's whole cause; an `AgentTimeout` failure for a timeout. */
  readonly cause: Cause.Cause<unknown>
  /** How long the engine waited before the next attempt, in milliseconds. */
  readonly delayMillis: number
}

/**
 * The agent returned a value.
 *
 * @category models
 * @since 0.1.0
 */
export interface Succeeded<out A> extends Common {
  readonly _tag: "Succeeded"
  readonly value: A
}

/**
 * The task failed: a typed error of the agent or of the engine (`AgentError`), a defect, or several. The whole
 * cause is kept.
 *
 * @category models
 * @since 0.1.0
 */
export interface Failed<out E> extends Common {
  readonly _tag: "Failed"
  readonly cause: Cause.Cause<E>
  /** The first typed error, or the first defect when there is none: `Cause.squash`. */
  readonly error: unknown
}

/**
 * The task ran out of time: its own timeout (`TaskTimeout`) or the run's deadline (`RunDeadline`). Its agent was
 * interrupted and released; `durationMillis` says how long it ran.
 *
 * @category models
 * @since 0.1.0
 */
export interface TimedOut extends Common {
  readonly _tag: "TimedOut"
  readonly reason: "TaskTimeout" | "RunDeadline"
  /** The limit that expired. */
  readonly timeout: Duration.Duration
  /** The same information as an `AgentTimeout` error. */
  readonly error: AgentTimeout
}

/**
 * The task did not finish because it was interrupted: its agent interrupted itself or was interrupted from
 * outside (`Interrupted`), or it never started because the run's deadline passed (`RunDeadline`) or the run's
 * failure policy stopped starting tasks (`FailurePolicy`); those have `started: false`.
 *
 * @category models
 * @since 0.1.0
 */
export interface Interrupted extends Common {
  readonly _tag: "Interrupted"
  readonly reason: InterruptionReason
  readonly cause: Cause.Cause<never>
}

/**
 * Why a task was interrupted.
 *
 * @category models
 * @since 0.1.0
 */
export type InterruptionReason = "Interrupted" | "RunDeadline" | "FailurePolicy"

/**
 * What a run shares with every result it records: its agent, its id and when it started. Results keep a reference
 * to it, an attempt number and a start offset instead of an instance object and an absolute time: a run of a million
 * tasks holds a million results.
 *
 * @internal
 */
export interface Origin {
  readonly agent: string
  readonly runId: string
  readonly startedAt: number
}

abstract class Base {
  declare readonly [TypeId]: TypeId
  declare usage: Usage.Usage
  declare failedAttempts: ReadonlyArray<FailedAttempt>
  abstract readonly _tag: string
  constructor(
    readonly task: Task.Task<unknown>,
    readonly index: number,
    /** @internal */
    readonly origin: Origin | undefined,
    readonly attempt: number,
    /** @internal */
    readonly startOffset: number,
    readonly durationMillis: number,
    readonly slot: number
  ) {}
  get taskId(): string {
    return this.task.id
  }
  get instance(): AgentInstance.Service | undefined {
    const origin = this.origin
    return origin === undefined
      ? undefined
      : AgentInstance.make({ agent: origin.agent, runId: origin.runId, taskId: this.task.id, attempt: this.attempt })
  }
  get agent(): string | undefined {
    const origin = this.origin
    return origin === undefined
      ? undefined
      : AgentInstance.format({ agent: origin.agent, runId: origin.runId, taskId: this.task.id, attempt: this.attempt })
  }
  get startedAt(): number | undefined {
    return this.origin === undefined ? undefined : this.origin.startedAt + this.startOffset
  }
  get started(): boolean {
    return this.origin !== undefined
  }
  get duration(): Duration.Duration {
    return Duration.millis(this.durationMillis)
  }
  protected common() {
    const common: Record<string, unknown> = {
      _tag: this._tag,
      taskId: this.task.id,
      index: this.index,
      agent: this.agent,
      attempt: this.attempt,
      startedAt: this.startedAt,
      durationMillis: this.durationMillis,
      slot: this.slot
    }
    if (!Usage.isEmpty(this.usage)) common.usage = this.usage
    if (this.failedAttempts.length > 0) {
      common.failedAttempts = this.failedAttempts.map((attempt) => ({
        attempt: attempt.attempt,
        agent: attempt.agent,
        startedAt: attempt.startedAt,
        durationMillis: attempt.durationMillis,
        outcome: attempt.outcome,
        message: describe(attempt.cause),
        delayMillis: attempt.delayMillis
      }))
    }
    return common
  }
  abstract toJSON(): unknown
  [NodeInspectSymbol]() {
    return this.toJSON()
  }
}
// Most results used nothing and were not retried: they share these defaults, and the engine sets its own fields
// only on the others.
Object.defineProperty(Base.prototype, TypeId, { value: TypeId })
Object.defineProperty(Base.prototype, "usage", { value: Usage.empty, writable: true })
Object.defineProperty(Base.prototype, "failedAttempts", { value: Object.freeze([]), writable: true })

class SucceededImpl<A> extends Base implements Succeeded<A> {
  declare readonly _tag: "Succeeded"
  constructor(
    task: Task.Task<unknown>,
    index: number,
    origin: Origin | undefined,
    attempt: number,
    startOffset: number,
    durationMillis: number,
    slot: number,
    readonly value: A
  ) {
    super(task, index, origin, attempt, startOffset, durationMillis, slot)
  }
  toJSON() {
    return { ...this.common(), value: this.value }
  }
}
Object.defineProperty(SucceededImpl.prototype, "_tag", { value: "Succeeded", enumerable: true })

class FailedImpl<E> extends Base implements Failed<E> {
  declare readonly _tag: "Failed"
  constructor(
    task: Task.Task<unknown>,
    index: number,
    origin: Origin | undefined,
    attempt: number,
    startOffset: number,
    durationMillis: number,
    slot: number,
    readonly cause: Cause.Cause<E>
  ) {
    super(task, index, origin, attempt, startOffset, durationMillis, slot)
  }
  get error(): unknown {
    return Cause.squash(this.cause)
  }
  toJSON() {
    return { ...this.common(), cause: this.cause.toJSON(), message: describe(this.cause) }
  }
}
Object.defineProperty(FailedImpl.prototype, "_tag", { value: "Failed", enumerable: true })

class TimedOutImpl extends Base implements TimedOut {
  declare readonly _tag: "TimedOut"
  constructor(
    task: Task.Task<unknown>,
    index: number,
    origin: Origin | undefined,
    attempt: number,
    startOffset: number,
    durationMillis: number,
    slot: number,
    readonly reason: "TaskTimeout" | "RunDeadline",
    readonly timeout: Duration.Duration
  ) {
    super(task, index, origin, attempt, startOffset, durationMillis, slot)
  }
  get error(): AgentTimeout {
    return new AgentTimeout({
      agent: this.agent ?? "",
      taskId: this.task.id,
      reason: this.reason,
      timeout: this.timeout
    })
  }
  toJSON() {
    return { ...this.common(), reason: this.reason, timeoutMillis: Duration.toMillis(this.timeout) }
  }
}
Object.defineProperty(TimedOutImpl.prototype, "_tag", { value: "TimedOut", enumerable: true })

class InterruptedImpl extends Base implements Interrupted {
  declare readonly _tag: "Interrupted"
  constructor(
    task: Task.Task<unknown>,
    index: number,
    origin: Origin | undefined,
    attempt: number,
    startOffset: number,
    durationMillis: number,
    slot: number,
    readonly reason: InterruptionReason,
    readonly cause: Cause.Cause<never>
  ) {
    super(task, index, origin, attempt, startOffset, durationMillis, slot)
  }
  toJSON() {
    return { ...this.common(), reason: this.reason }
  }
}
Object.defineProperty(InterruptedImpl.prototype, "_tag", { value: "Interrupted", enumerable: true })

const describe = (cause: Cause.Cause<unknown>): string => {
  const error = Cause.squash(cause)
  return hasProperty(error, "message") && typeof error.message === "string" ? error.message : String(error)
}

// =============================================================================
// constructors
// =============================================================================

/**
 * What the engine knows about a task when it records its outcome. A result started when it has both an `instance`
 * and a `startedAt`.
 *
 * @category models
 * @since 0.1.0
 */
export interface Meta {
  readonly task: Task.Task<unknown>
  readonly index: number
  readonly instance: AgentInstance.Service | undefined
  readonly startedAt: number | undefined
  readonly durationMillis: number
  /** The concurrency slot that ran the task, from 0; `-1` when it never started. */
  readonly slot?: number | undefined
  /** What the task used; nothing by default. */
  readonly usage?: Usage.Usage | undefined
  /** Earlier attempts that were retried; none by default. */
  readonly failedAttempts?: ReadonlyArray<FailedAttempt> | undefined
}

/**
 * The agent a result's task ran with, without building its instance identity; `undefined` if it never started.
 *
 * @internal
 */
export const agentOf = (result: TaskResult<unknown, unknown>): string | undefined =>
  (result as { readonly origin?: Origin | undefined }).origin?.agent

// A result counts as started when it has both an instance and a start time.
const originOf = (meta: Meta): Origin | undefined =>
  meta.instance === undefined || meta.startedAt === undefined
    ? undefined
    : { agent: meta.instance.agent, runId: meta.instance.runId, startedAt: meta.startedAt }

/** @internal */
export const unsafeSucceeded = <A>(
  task: Task.Task<unknown>,
  index: number,
  origin: Origin,
  attempt: number,
  startOffset: number,
  durationMillis: number,
  slot: number,
  value: A
): Succeeded<A> => new SucceededImpl(task, index, origin, attempt, startOffset, durationMillis, slot, value)

/** @internal */
export const unsafeFailed = <E>(
  task: Task.Task<unknown>,
  index: number,
  origin: Origin | undefined,
  attempt: number,
  startOffset: number,
  durationMillis: number,
  slot: number,
  cause: Cause.Cause<E>
): Failed<E> => new FailedImpl(task, index, origin, attempt, startOffset, durationMillis, slot, cause)

/** @internal */
export const unsafeTimedOut = (
  task: Task.Task<unknown>,
  index: number,
  origin: Origin,
  attempt: number,
  startOffset: number,
  durationMillis: number,
  slot: number,
  reason: "TaskTimeout" | "RunDeadline",
  timeout: Duration.Duration
): TimedOut => new TimedOutImpl(task, index, origin, attempt, startOffset, durationMillis, slot, reason, timeout)

/** @internal */
export const unsafeInterrupted = (
  task: Task.Task<unknown>,
  index: number,
  origin: Origin | undefined,
  attempt: number,
  startOffset: number,
  durationMillis: number,
  slot: number,
  reason: InterruptionReason,
  cause: Cause.Cause<never>
): Interrupted => new InterruptedImpl(task, index, origin, attempt, startOffset, durationMillis, slot, reason, cause)

/**
 * @category constructors
 * @since 0.1.0
 */
export const succeeded = <A>(meta: Meta, value: A): Succeeded<A> =>
  withMeta(
    new SucceededImpl(
      meta.task,
      meta.index,
      originOf(meta),
      attemptOf(meta),
      0,
      meta.durationMillis,
      slotOf(meta),
      value
    ),
    meta
  )

/**
 * @category constructors
 * @since 0.1.0
 */
export const failed = <E>(meta: Meta, cause: Cause.Cause<E>): Failed<E> =>
  withMeta(
    new FailedImpl(meta.task, meta.index, originOf(meta), attemptOf(meta), 0, meta.durationMillis, slotOf(meta), cause),
    meta
  )

/**
 * @category constructors
 * @since 0.1.0
 */
export const timedOut = (
  meta: Meta,
  options: { readonly reason: "TaskTimeout" | "RunDeadline"; readonly timeout: Duration.DurationInput }
): TimedOut =>
  withMeta(
    new TimedOutImpl(
      meta.task,
      meta.index,
      originOf(meta),
      attemptOf(meta),
      0,
      meta.durationMillis,
      slotOf(meta),
      options.reason,
      Duration.decode(options.timeout)
    ),
    meta
  )

/**
 * @category constructors
 * @since 0.1.0
 */
export const interrupted = (
  meta: Meta,
  options: { readonly reason: InterruptionReason; readonly cause?: Cause.Cause<never> | undefined }
): Interrupted =>
  withMeta(
    new InterruptedImpl(
      meta.task,
      meta.index,
      originOf(meta),
      attemptOf(meta),
      0,
      meta.durationMillis,
      slotOf(meta),
      options.reason,
      options.cause ?? Cause.interrupt(FiberId.none)
    ),
    meta
  )

/**
 * Sets what a result used and its earlier attempts: the engine's constructors leave them at their shared defaults.
 *
 * @internal
 */
export const unsafeSetUsage = (result: TaskResult<unknown, unknown>, usage: Usage.Usage): void => {
  ;(result as unknown as Base).usage = usage
}

/** @internal */
export const unsafeSetFailedAttempts = (
  result: TaskResult<unknown, unknown>,
  attempts: ReadonlyArray<FailedAttempt>
): void => {
  ;(result as unknown as Base).failedAttempts = attempts
}

const withMeta = <R extends TaskResult<unknown, unknown>>(result: R, meta: Meta): R => {
  if (meta.usage !== undefined) unsafeSetUsage(result, meta.usage)
  if (meta.failedAttempts !== undefined) unsafeSetFailedAttempts(result, meta.failedAttempts)
  return result
}

const attemptOf = (meta: Meta): number =>
  meta.instance === undefined || meta.startedAt === undefined ? 0 : meta.instance.attempt

const slotOf = (meta: Meta): number => meta.slot ?? -1

/**
 * The outcome of a task that ran to an `Exit`: `Succeeded`, `Interrupted` when the cause is interruption and
 * nothing else, `Failed` otherwise (with the whole cause).
 *
 * @category constructors
 * @since 0.1.0
 */
export const fromExit = <A, E>(meta: Meta, exit: Exit.Exit<A, E>): Succeeded<A> | Failed<E> | Interrupted => {
  if (exit._tag === "Success") {
    return succeeded(meta, exit.value)
  }
  return isInterruption(exit.cause)
    ? interrupted(meta, { reason: "Interrupted", cause: exit.cause as Cause.Cause<never> })
    : failed(meta, exit.cause)
}

/**
 * Whether a cause is interruption and nothing else (an empty cause is not).
 *
 * @internal
 */
export const isInterruption = (cause: Cause.Cause<unknown>): boolean =>
  Cause.isInterrupted(cause) && Cause.isInterruptedOnly(cause)

// =============================================================================
// guards
// =============================================================================

/**
 * @category guards
 * @since 0.1.0
 */
export const isTaskResult = (u: unknown): u is TaskResult<unknown, unknown> => hasProperty(u, TypeId)

/**
 * @category guards
 * @since 0.1.0
 */
export const isSucceeded = <A, E>(self: TaskResult<A, E>): self is Succeeded<A> => self._tag === "Succeeded"

/**
 * @category guards
 * @since 0.1.0
 */
export const isFailed = <A, E>(self: TaskResult<A, E>): self is Failed<E> => self._tag === "Failed"

/**
 * @category guards
 * @since 0.1.0
 */
export const isTimedOut = <A, E>(self: TaskResult<A, E>): self is TimedOut => self._tag === "TimedOut"

/**
 * @category guards
 * @since 0.1.0
 */
export const isInterrupted = <A, E>(self: TaskResult<A, E>): self is Interrupted => self._tag === "Interrupted"

// =============================================================================
// combinators
// =============================================================================

/**
 * Handles each outcome.
 *
 * @category combinators
 * @since 0.1.0
 */
export const match: {
  <A, E, B, C = B, D = B, F = B>(cases: {
    readonly onSucceeded: (result: Succeeded<A>) => B
    readonly onFailed: (result: Failed<E>) => C
    readonly onTimedOut: (result: TimedOut) => D
    readonly onInterrupted: (result: Interrupted) => F
  }): (self: TaskResult<A, E>) => B | C | D | F
  <A, E, B, C = B, D = B, F = B>(self: TaskResult<A, E>, cases: {
    readonly onSucceeded: (result: Succeeded<A>) => B
    readonly onFailed: (result: Failed<E>) => C
    readonly onTimedOut: (result: TimedOut) => D
    readonly onInterrupted: (result: Interrupted) => F
  }): B | C | D | F
} = dual(2, <A, E, B, C, D, F>(self: TaskResult<A, E>, cases: {
  readonly onSucceeded: (result: Succeeded<A>) => B
  readonly onFailed: (result: Failed<E>) => C
  readonly onTimedOut: (result: TimedOut) => D
  readonly onInterrupted: (result: Interrupted) => F
}): B | C | D | F => {
  switch (self._tag) {
    case "Succeeded":
      return cases.onSucceeded(self)
    case "Failed":
      return cases.onFailed(self)
    case "TimedOut":
      return cases.onTimedOut(self)
    case "Interrupted":
      return cases.onInterrupted(self)
  }
})

/**
 * Splits results by outcome, keeping input order within each group.
 *
 * @category combinators
 * @since 0.1.0
 */
export const partition = <A, E>(results: Iterable<TaskResult<A, E>>): {
  readonly succeeded: Array<Succeeded<A>>
  readonly failed: Array<Failed<E>>
  readonly timedOut: Array<TimedOut>
  readonly interrupted: Array<Interrupted>
} => {
  const out = {
    succeeded: [] as Array<Succeeded<A>>,
    failed: [] as Array<Failed<E>>,
    timedOut: [] as Array<TimedOut>,
    interrupted: [] as Array<Interrupted>
  }
  for (const result of results) {
    switch (result._tag) {
      case "Succeeded":
        out.succeeded.push(result)
        break
      case "Failed":
        out.failed.push(result)
        break
      case "TimedOut":
        out.timedOut.push(result)
        break
      case "Interrupted":
        out.interrupted.push(result)
        break
    }
  }
  return out
}

/**
 * A one-line description of a result: the error message of one that did not succeed, `"succeeded"` otherwise.
 *
 * @category getters
 * @since 0.1.0
 */
export const message = <A, E>(self: TaskResult<A, E>): string => {
  switch (self._tag) {
    case "Succeeded":
      return "succeeded"
    case "Failed":
      return describe(self.cause)
    case "TimedOut":
      return self.error.message
    case "Interrupted":
      return self.reason === "RunDeadline"
        ? "not started before the run's deadline"
        : self.reason === "FailurePolicy"
        ? "not started: the run's failure policy stopped it"
        : "interrupted"
  }
}
