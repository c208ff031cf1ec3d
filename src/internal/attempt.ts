/**
 * One attempt of a task: what a started task's attempts share (`Started`), and the record the run's watchdog keeps of
 * an attempt under way (`Attempt`): its deadline, its timeout error, what it leaves on its task when it fails.
 *
 * @internal
 */
import * as Cause from "effect/Cause"
import * as Duration from "effect/Duration"
import * as Exit from "effect/Exit"
import type * as Runtime from "effect/Runtime"
import type * as Tracer from "effect/Tracer"
import * as AgentError from "../AgentError.js"
import type * as AgentInstance from "../AgentInstance.js"
import * as Retry from "../Retry.js"
import type * as Task from "../Task.js"
import * as TaskResult from "../TaskResult.js"
import type * as Usage from "../Usage.js"
import type * as Observe from "./observe.js"
import type * as Outbox from "./outbox.js"
import * as Watchdog from "./watchdog.js"

/**
 * One started task: what its attempts share, and what they leave behind.
 *
 * @internal
 */
export interface Started {
  readonly task: Task.Task<unknown>
  readonly index: number
  readonly queuedAt: number
  readonly startedAt: number
  readonly estimate: Usage.Usage
  readonly timeoutMillis: number
  readonly meter: Observe.Meter
  readonly span: Tracer.Span | undefined
  /** Its timeline lane (see `RunState.Lanes`). */
  readonly lane: number
  attempt: number
  instance: AgentInstance.Service | undefined
  /** The attempts that failed and were retried, oldest first. */
  failed: Array<TaskResult.FailedAttempt> | undefined
  /** The last attempt that failed, until the next one starts (then it is one that was retried). */
  last: (Omit<TaskResult.FailedAttempt, "delayMillis"> & { readonly endedAt: number }) | undefined
  /** The adaptive limit's epoch when the attempt under way started. */
  epoch: number
}

/** @internal */
export const describe = (cause: Cause.Cause<unknown>): string => {
  const error = Cause.squash(cause)
  return typeof error === "object" && error !== null && "message" in error && typeof error.message === "string"
    ? error.message
    : String(error)
}

/** @internal */
export const rateLimited = (cause: Cause.Cause<unknown>): boolean => {
  const error = Cause.failureOption(cause)
  return error._tag === "Some" && Retry.isRateLimited(error.value)
}

/**
 * What the attempts of one run share.
 *
 * @internal
 */
export interface Shared {
  readonly runId: string
  readonly deadlineAt: number
  readonly deadlineMillis: number
  /** The run's task timeout and deadline as `Duration`s, one each for every timeout error (and result) of the run. */
  readonly timeoutMillis: number
  readonly timeout: Duration.Duration
  readonly deadline: Duration.Duration
  /** The run retries failed attempts: an attempt that fails records itself on its task (`Started.last`). */
  readonly retries: boolean
  readonly now: () => number
  /**
   * Settles a task where its attempt ends, when the run settles its tasks so (see `make`): its result, which the
   * task's fiber then gets instead of the attempt's outcome.
   */
  readonly settle: ((task: Started, exit: Exit.Exit<unknown, unknown>) => unknown) | undefined
}

/**
 * One attempt, and the watchdog's record of it (its base class). What the watchdog calls back lives on the prototype,
 * and reads the attempt's own fields and the run's `Shared`: an attempt is one object, not an object and a closure
 * per callback, each of which would live as long as the attempt (long enough to be promoted to the old generation).
 * Its effect is not kept: the fiber holds what it still has to run.
 *
 * @internal
 */
export class Attempt<A> extends Watchdog.Attempt<A, unknown, AgentError.AgentTimeout> {
  constructor(
    readonly shared: Shared,
    readonly task: Started,
    readonly instance: AgentInstance.Service,
    readonly startedAt: number,
    /** The task's timeout ends the attempt, not the run's deadline. */
    readonly byTask: boolean,
    runtime: Runtime.Runtime<never>,
    /** What its agent emits, when the run has events. */
    readonly output: Outbox.Output | undefined
  ) {
    super(byTask ? startedAt + task.timeoutMillis : shared.deadlineAt, runtime)
  }
  onTimeout(): AgentError.AgentTimeout {
    return new AgentError.AgentTimeout({
      agent: this.instance.name,
      taskId: this.task.task.id,
      reason: this.byTask ? "TaskTimeout" : "RunDeadline",
      timeout: !this.byTask
        ? this.shared.deadline
        : this.task.timeoutMillis === this.shared.timeoutMillis
        ? this.shared.timeout
        : Duration.millis(this.task.timeoutMillis)
    })
  }
  override onEnd(exit: Exit.Exit<A, unknown>): void {
    // What its agent emitted and was not published yet goes before the task's next event.
    this.output?.end()
    if (!this.shared.retries || exit._tag === "Success" || TaskResult.isInterruption(exit.cause)) return
    const endedAt = this.shared.now()
    TaskResult.detachStacks(exit.cause)
    const error = Cause.failureOption(exit.cause)
    this.task.last = {
      attempt: this.instance.attempt,
      agent: this.instance.name,
      startedAt: this.startedAt,
      durationMillis: endedAt - this.startedAt,
      outcome: error._tag === "Some" && error.value instanceof AgentError.AgentTimeout ? "TimedOut" : "Failed",
      cause: exit.cause,
      endedAt
    }
  }
  override deliver(exit: Exit.Exit<A, unknown>): Exit.Exit<unknown, unknown> {
    const settle = this.shared.settle
    return settle === undefined ? exit : Exit.succeed(settle(this.task, exit))
  }
  annotations(): Record<string, unknown> {
    return { runId: this.shared.runId, taskId: this.task.task.id, agentInstance: this.instance.name }
  }
}
