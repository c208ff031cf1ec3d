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
import * as Schema from "effect/Schema"
import * as AgentError from "./AgentError.js"
import { AgentTimeout } from "./AgentError.js"
import * as AgentInstance from "./AgentInstance.js"
import * as Task from "./Task.js"
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
  /**
   * When the task entered the run: when it was read from a stream of tasks, or when the run started for a list. From
   * then to `startedAt` it waited for its turn (the queue wait).
   */
  readonly queuedAt: number | undefined
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
  /**
   * Whether this result was read back from a run journal instead of running the task again (a resumed run); `false`
   * for a result the run produced itself.
   */
  readonly replayed: boolean
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
 * failure policy stopped starting tasks (`FailurePolicy`); those have `started: false`. A run stopped by its `stop`
 * option reports the tasks it stopped with reason `Stopped`: those under way (`started: true`, their agents
 * interrupted and released, or waiting to retry) and those that never started (`started: false`).
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
export type InterruptionReason = "Interrupted" | "RunDeadline" | "FailurePolicy" | "Stopped"

/**
 * A whole number that fits in 31 bits as a number V8 keeps in the object itself: the difference of two times read
 * from the clock can come out as a boxed number of 16 bytes even when it is whole.
 */
const small = (n: number): number => (n | 0) === n ? n | 0 : n

abstract class Base {
  declare readonly [TypeId]: TypeId
  declare readonly usage: Usage.Usage
  declare readonly failedAttempts: ReadonlyArray<FailedAttempt>
  declare readonly replayed: boolean
  /** The task ran in a stream: its instance's name carries its position (`AgentInstance.formatInStream`). */
  declare readonly inStream: boolean
  abstract readonly _tag: string
  readonly task: Task.Task<unknown>
  readonly index: number
  readonly durationMillis: number
  readonly slot: number
  /**
   * The agent (the factory's name) and the run, shared by the results of a run: with the task and the attempt, the
   * parts of the instance identity, which is built when read. `undefined` when the task never started.
   */
  readonly origin: AgentInstance.Origin | undefined
  readonly attempt: number
  /**
   * `startedAt - origin.epoch` when both are whole milliseconds (a small integer, kept in the object itself); a time
   * since the epoch would be a number boxed on the heap. Otherwise `0`, with `startedAt` kept in `startedRaw`.
   */
  readonly startOffset: number
  declare readonly startedRaw: number | undefined
  /**
   * `startedAt - queuedAt` when both are whole milliseconds (a small integer), `-1` otherwise, with `queuedAt` kept
   * in `queued`.
   */
  readonly waitMillis: number
  declare readonly queued: number | undefined
  constructor(meta: Meta) {
    this.task = meta.task
    this.index = meta.index
    this.durationMillis = small(meta.durationMillis)
    this.slot = meta.slot ?? -1
    const startedAt = meta.startedAt
    const started = meta.instance !== undefined && startedAt !== undefined
    const origin = started ? AgentInstance.originOf(meta.instance!) : undefined
    this.origin = origin
    this.attempt = started ? meta.instance!.attempt : 0
    let offset = 0
    if (origin !== undefined) {
      if (origin.epoch === undefined && Number.isSafeInteger(startedAt)) origin.epoch = startedAt
      offset = origin.epoch === undefined ? NaN : startedAt! - origin.epoch
      if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(startedAt)) {
        offset = 0
        ;(this as { startedRaw: number | undefined }).startedRaw = startedAt
      }
    }
    this.startOffset = small(offset)
    const queuedAt = meta.queuedAt
    const wait = started && queuedAt !== undefined ? startedAt - queuedAt : -1
    if (wait >= 0 && Number.isSafeInteger(queuedAt) && Number.isSafeInteger(startedAt)) {
      this.waitMillis = small(wait)
    } else {
      this.waitMillis = -1
      if (queuedAt !== undefined) (this as { queued: number | undefined }).queued = queuedAt
    }
    // Most results used nothing, were not retried and were not replayed: they share the prototype's defaults.
    if (meta.usage !== undefined && !Usage.isEmpty(meta.usage)) (this as { usage: Usage.Usage }).usage = meta.usage
    if (meta.failedAttempts !== undefined && meta.failedAttempts.length > 0) {
      ;(this as { failedAttempts: ReadonlyArray<FailedAttempt> }).failedAttempts = meta.failedAttempts
    }
    if (meta.replayed === true) (this as { replayed: boolean }).replayed = true
    if (started && AgentInstance.positionOf(meta.instance!) !== undefined) {
      ;(this as { inStream: boolean }).inStream = true
    }
  }
  get taskId(): string {
    return this.task.id
  }
  get startedAt(): number | undefined {
    const origin = this.origin
    return origin === undefined ? undefined : this.startedRaw ?? origin.epoch! + this.startOffset
  }
  get queuedAt(): number | undefined {
    return this.waitMillis >= 0 ? this.startedAt! - this.waitMillis : this.queued
  }
  get agentName(): string | undefined {
    return this.origin?.agent
  }
  get instance(): AgentInstance.Service | undefined {
    const origin = this.origin
    return origin === undefined ? undefined : AgentInstance.make({
      agent: origin.agent,
      runId: origin.runId,
      taskId: this.task.id,
      attempt: this.attempt,
      position: this.inStream ? this.index : undefined
    })
  }
  get agent(): string | undefined {
    const origin = this.origin
    if (origin === undefined) return undefined
    const parts = { agent: origin.agent, runId: origin.runId, taskId: this.task.id, attempt: this.attempt }
    return this.inStream ? AgentInstance.formatInStream(parts, this.index) : AgentInstance.format(parts)
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
    if (this.replayed) common.replayed = true
    return common
  }
  abstract toJSON(): unknown
  [NodeInspectSymbol]() {
    return this.toJSON()
  }
}
Object.defineProperty(Base.prototype, TypeId, { value: TypeId })
Object.defineProperty(Base.prototype, "usage", { value: Usage.empty, writable: true })
Object.defineProperty(Base.prototype, "failedAttempts", { value: Object.freeze([]), writable: true })
Object.defineProperty(Base.prototype, "replayed", { value: false, writable: true })
Object.defineProperty(Base.prototype, "inStream", { value: false, writable: true })
Object.defineProperty(Base.prototype, "queued", { value: undefined, writable: true })
Object.defineProperty(Base.prototype, "startedRaw", { value: undefined, writable: true })

class SucceededImpl<A> extends Base implements Succeeded<A> {
  declare readonly _tag: "Succeeded"
  constructor(meta: Meta, readonly value: A) {
    super(meta)
  }
  toJSON() {
    return { ...this.common(), value: this.value }
  }
}
Object.defineProperty(SucceededImpl.prototype, "_tag", { value: "Succeeded", enumerable: true })

class FailedImpl<E> extends Base implements Failed<E> {
  declare readonly _tag: "Failed"
  constructor(meta: Meta, readonly cause: Cause.Cause<E>) {
    super(meta)
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
    meta: Meta,
    readonly reason: "TaskTimeout" | "RunDeadline",
    readonly timeout: Duration.Duration
  ) {
    super(meta)
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
    meta: Meta,
    readonly reason: InterruptionReason,
    readonly cause: Cause.Cause<never>
  ) {
    super(meta)
  }
  toJSON() {
    return { ...this.common(), reason: this.reason }
  }
}
Object.defineProperty(InterruptedImpl.prototype, "_tag", { value: "Interrupted", enumerable: true })

/**
 * Has V8 format the stack of each error in a cause (and of the errors they were caused by) now. Until an error's
 * `stack` is first read, V8 keeps the frames it captured when the error was made, with their receivers: the attempt's
 * fiber, and through it the attempt's context, its agent instance, its meter and whatever the agent's closures hold.
 * A result, or a failed attempt, keeps its cause for as long as the run's report lives: read, the stack is a string.
 *
 * @internal
 */
export const detachStacks = (cause: Cause.Cause<unknown>): void => {
  switch (cause._tag) {
    case "Fail":
      return detachStack(cause.error, 0)
    case "Die":
      return detachStack(cause.defect, 0)
    case "Sequential":
    case "Parallel":
      detachStacks(cause.left)
      return detachStacks(cause.right)
  }
}

const detachStack = (error: unknown, depth: number): void => {
  if (!(error instanceof Error) || depth > 8) return
  let cause: unknown
  try {
    // Reading it is what formats it. A `stack` or `cause` getter of the agent's own that throws changes nothing.
    if (error.stack === undefined) return
    cause = hasProperty(error, "cause") ? error.cause : undefined
  } catch {
    return
  }
  detachStack(cause, depth + 1)
}

const describe = (cause: Cause.Cause<unknown>): string => {
  const error = Cause.squash(cause)
  return hasProperty(error, "message") && typeof error.message === "string" ? error.message : String(error)
}

// =============================================================================
// constructors
// =============================================================================

/**
 * What the engine knows about a task when it records its outcome. A result started when it has both an `instance`
 * and a `startedAt`; the result keeps the instance's parts, not the object.
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
  /** When the task entered the run; unknown by default. */
  readonly queuedAt?: number | undefined
  /** The concurrency slot that ran the task, from 0; `-1` when it never started. */
  readonly slot?: number | undefined
  /** What the task used; nothing by default. */
  readonly usage?: Usage.Usage | undefined
  /** Earlier attempts that were retried; none by default. */
  readonly failedAttempts?: ReadonlyArray<FailedAttempt> | undefined
  /** Whether the result comes from a run journal rather than from running the task; `false` by default. */
  readonly replayed?: boolean | undefined
}

/**
 * @category constructors
 * @since 0.1.0
 */
export const succeeded = <A>(meta: Meta, value: A): Succeeded<A> => new SucceededImpl(meta, value)

/**
 * @category constructors
 * @since 0.1.0
 */
export const failed = <E>(meta: Meta, cause: Cause.Cause<E>): Failed<E> => {
  detachStacks(cause)
  return new FailedImpl(meta, cause)
}

/**
 * @category constructors
 * @since 0.1.0
 */
export const timedOut = (
  meta: Meta,
  options: { readonly reason: "TaskTimeout" | "RunDeadline"; readonly timeout: Duration.DurationInput }
): TimedOut => new TimedOutImpl(meta, options.reason, Duration.decode(options.timeout))

/**
 * @category constructors
 * @since 0.1.0
 */
export const interrupted = (
  meta: Meta,
  options: { readonly reason: InterruptionReason; readonly cause?: Cause.Cause<never> | undefined }
): Interrupted => {
  if (options.cause !== undefined) detachStacks(options.cause)
  return new InterruptedImpl(meta, options.reason, options.cause ?? Cause.interrupt(FiberId.none))
}

/**
 * The outcome of a task that ran to an `Exit`: `Succeeded`; `TimedOut` when the only error is an `AgentTimeout`
 * (the task's timeout or the run's deadline stopped it); `Interrupted` when the cause is interruption and nothing
 * else; `Failed` otherwise, with the whole cause.
 *
 * @category constructors
 * @since 0.1.0
 */
export const fromExit = <A, E>(meta: Meta, exit: Exit.Exit<A, E>): TaskResult<A, E> => {
  if (exit._tag === "Success") {
    return succeeded(meta, exit.value)
  }
  const cause = exit.cause
  if (cause._tag === "Fail" && cause.error instanceof AgentTimeout) {
    return timedOut(meta, { reason: cause.error.reason, timeout: cause.error.timeout })
  }
  return isInterruption(cause)
    ? interrupted(meta, { reason: "Interrupted", cause: cause as Cause.Cause<never> })
    : failed(meta, cause)
}

/**
 * The name of the agent (its factory) that ran a result's task, without building its instance identity;
 * `undefined` if the task never started.
 *
 * @internal
 */
export const agentNameOf = (result: TaskResult<unknown, unknown>): string | undefined =>
  (result as unknown as Base).agentName

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
        : self.reason === "Stopped"
        ? self.started ? "stopped with the run" : "not started: the run was stopped"
        : "interrupted"
  }
}

// =============================================================================
// schema
// =============================================================================

const UsageSchema = Schema.Struct({
  requests: Schema.Number,
  inputTokens: Schema.Number,
  outputTokens: Schema.Number,
  cost: Schema.Number
})

/**
 * An error of any shape as JSON: an `Error` as its name and message (and its `_tag` when it has one), a value that
 * JSON can hold as it is, anything else as its description. Decoding gives back the plain value.
 */
const AnyError = Schema.transform(Schema.Unknown, Schema.Unknown, {
  strict: true,
  decode: (encoded) => encoded,
  encode: (error) => {
    if (error instanceof Error) {
      const json: Record<string, unknown> = { name: error.name, message: error.message }
      if (hasProperty(error, "_tag") && typeof error._tag === "string") json._tag = error._tag
      return json
    }
    try {
      const json = JSON.stringify(error)
      return json === undefined ? String(error) : JSON.parse(json)
    } catch {
      return String(error)
    }
  }
}).annotations({ identifier: "AnyError" })

const agentErrors = Schema.Union(
  AgentError.AgentTimeout,
  AgentError.AgentBuildError,
  AgentError.AgentInputError,
  AgentError.AgentOutputError,
  AgentError.TaskOptionsError,
  AgentError.BudgetExceeded,
  AgentError.JournalInputChanged,
  AgentError.NoConsensus
)

/**
 * How a result is written by `schema`: plain JSON, every field of the result kept.
 *
 * @category models
 * @since 0.1.0
 */
export interface Encoded {
  readonly _tag: "Succeeded" | "Failed" | "TimedOut" | "Interrupted"
  readonly task: {
    readonly id: string
    readonly input: unknown
    readonly labels: { readonly [label: string]: string }
    readonly timeoutMillis?: number | undefined
  }
  readonly index: number
  /** The agent (its factory's name) and the run; absent when the task never started. */
  readonly agent?: string | undefined
  readonly runId?: string | undefined
  /** The task's position in a stream, which the agent instance's name carries (`AgentInstance.formatInStream`). */
  readonly position?: number | undefined
  readonly attempt: number
  readonly startedAt?: number | undefined
  readonly queuedAt?: number | undefined
  readonly durationMillis: number
  readonly slot: number
  readonly usage?: Usage.Usage | undefined
  readonly failedAttempts?: ReadonlyArray<unknown> | undefined
  readonly replayed?: boolean | undefined
  readonly value?: unknown
  readonly cause?: unknown
  readonly reason?: string | undefined
  readonly timeoutMillis?: number | undefined
}

/**
 * A schema for results, to store them or send them between processes: the encoded form is plain JSON and keeps
 * every field (the task with its input and labels, the instance, the attempt, timing, usage, the attempts before,
 * the whole cause). `value` encodes what the agent returned and `input` the task's input (plain JSON by default);
 * `error` the agent's typed errors (by default any error as JSON: an `Error` as its name and message). The
 * engine's own errors (`AgentTimeout`, `AgentBuildError`, ...) come back as their classes.
 *
 * **Example** (A result as a line of JSON)
 *
 * ```ts
 * import { TaskResult } from "effect-parallel-agents"
 * import { Schema } from "effect"
 *
 * const Result = TaskResult.schema({ value: Schema.Struct({ label: Schema.String }) })
 * const toLine = (result: TaskResult.TaskResult<{ readonly label: string }, unknown>) =>
 *   Schema.encode(Schema.parseJson(Result))(result)
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const schema = <
  A = unknown,
  AI = unknown,
  AR = never,
  E = unknown,
  EI = unknown,
  ER = never,
  In = unknown,
  InI = unknown,
  InR = never
>(options?: {
  readonly value?: Schema.Schema<A, AI, AR> | undefined
  readonly error?: Schema.Schema<E, EI, ER> | undefined
  readonly input?: Schema.Schema<In, InI, InR> | undefined
}): Schema.Schema<TaskResult<A, E | AgentError.AgentError>, Encoded, AR | ER | InR> => {
  const value = (options?.value ?? Schema.Unknown) as Schema.Schema<unknown, unknown>
  const error = Schema.Union(agentErrors, (options?.error ?? AnyError) as Schema.Schema<unknown, unknown>)
  const input = (options?.input ?? Schema.Unknown) as Schema.Schema<unknown, unknown>
  const cause = Schema.Cause({ error, defect: Schema.Defect })
  const interruption = Schema.Cause({ error: Schema.Never, defect: Schema.Defect })
  const TaskEncoded = Schema.Struct({
    id: Schema.String,
    input,
    labels: Schema.Record({ key: Schema.String, value: Schema.String }),
    timeoutMillis: Schema.optional(Schema.Number)
  })
  const FailedAttemptEncoded = Schema.Struct({
    attempt: Schema.Number,
    agent: Schema.String,
    startedAt: Schema.Number,
    durationMillis: Schema.Number,
    outcome: Schema.Literal("Failed", "TimedOut"),
    cause: Schema.Cause({ error: Schema.Union(agentErrors, AnyError), defect: Schema.Defect }),
    delayMillis: Schema.Number
  })
  const common = {
    task: TaskEncoded,
    index: Schema.Number,
    agent: Schema.optional(Schema.String),
    runId: Schema.optional(Schema.String),
    position: Schema.optional(Schema.Number),
    attempt: Schema.Number,
    startedAt: Schema.optional(Schema.Number),
    queuedAt: Schema.optional(Schema.Number),
    durationMillis: Schema.Number,
    slot: Schema.Number,
    usage: Schema.optional(UsageSchema),
    failedAttempts: Schema.optional(Schema.Array(FailedAttemptEncoded)),
    replayed: Schema.optional(Schema.Boolean)
  }
  const Fields = Schema.Union(
    Schema.Struct({ _tag: Schema.Literal("Succeeded"), ...common, value }),
    Schema.Struct({ _tag: Schema.Literal("Failed"), ...common, cause }),
    Schema.Struct({
      _tag: Schema.Literal("TimedOut"),
      ...common,
      reason: Schema.Literal("TaskTimeout", "RunDeadline"),
      timeoutMillis: Schema.Number
    }),
    Schema.Struct({
      _tag: Schema.Literal("Interrupted"),
      ...common,
      reason: Schema.Literal("Interrupted", "RunDeadline", "FailurePolicy", "Stopped"),
      cause: interruption
    })
  )
  type Fields = typeof Fields.Type
  const toResult = (fields: Fields): TaskResult<unknown, unknown> => {
    const meta: Meta = {
      task: Task.make({
        id: fields.task.id,
        input: fields.task.input,
        labels: fields.task.labels,
        timeout: fields.task.timeoutMillis
      }),
      index: fields.index,
      instance: fields.agent === undefined || fields.runId === undefined
        ? undefined
        : AgentInstance.make({
          agent: fields.agent,
          runId: fields.runId,
          taskId: fields.task.id,
          attempt: fields.attempt,
          position: fields.position
        }),
      startedAt: fields.startedAt,
      queuedAt: fields.queuedAt,
      durationMillis: fields.durationMillis,
      slot: fields.slot,
      usage: fields.usage,
      failedAttempts: fields.failedAttempts,
      replayed: fields.replayed
    }
    switch (fields._tag) {
      case "Succeeded":
        return succeeded(meta, fields.value)
      case "Failed":
        return failed(meta, fields.cause)
      case "TimedOut":
        return timedOut(meta, { reason: fields.reason, timeout: fields.timeoutMillis })
      case "Interrupted":
        return interrupted(meta, { reason: fields.reason, cause: fields.cause })
    }
  }
  const toFields = (result: TaskResult<unknown, unknown>): Fields => {
    const instance = result.instance
    const timeout = result.task.timeout
    const common = {
      task: {
        id: result.task.id,
        input: result.task.input,
        labels: result.task.labels,
        ...(timeout === undefined ? {} : { timeoutMillis: Duration.toMillis(timeout) })
      },
      index: result.index,
      ...(instance === undefined ? {} : { agent: instance.agent, runId: instance.runId }),
      ...(instance === undefined || AgentInstance.positionOf(instance) === undefined
        ? {}
        : { position: AgentInstance.positionOf(instance) }),
      attempt: result.attempt,
      ...(result.startedAt === undefined ? {} : { startedAt: result.startedAt }),
      ...(result.queuedAt === undefined ? {} : { queuedAt: result.queuedAt }),
      durationMillis: result.durationMillis,
      slot: result.slot,
      ...(Usage.isEmpty(result.usage) ? {} : { usage: result.usage }),
      ...(result.failedAttempts.length === 0 ? {} : { failedAttempts: result.failedAttempts }),
      ...(result.replayed ? { replayed: true } : {})
    }
    switch (result._tag) {
      case "Succeeded":
        return { _tag: "Succeeded", ...common, value: result.value }
      case "Failed":
        return { _tag: "Failed", ...common, cause: result.cause }
      case "TimedOut":
        return {
          _tag: "TimedOut",
          ...common,
          reason: result.reason,
          timeoutMillis: Duration.toMillis(result.timeout)
        }
      case "Interrupted":
        return { _tag: "Interrupted", ...common, reason: result.reason, cause: result.cause }
    }
  }
  return Schema.transform(
    Fields,
    Schema.declare(isTaskResult, { identifier: "TaskResult" }),
    { strict: false, decode: toResult, encode: toFields }
  ).annotations({ identifier: "TaskResult" }) as unknown as Schema.Schema<
    TaskResult<A, E | AgentError.AgentError>,
    Encoded,
    AR | ER | InR
  >
}
