/**
 * One task run here, from its admission to its result, never failing: admission (the run still starts tasks, the
 * task's own options are valid, the adaptive limit and the budget have room) ▸ its attempts (`attempts.ts`: a fresh
 * agent on a fiber of its own for each, stopped at its deadline, retried by the run's `Schedule`) ▸ `Effect.exit` ▸
 * `TaskResult.fromExit` ▸ settled (`settle.ts`): its lane, permit and budget given back, its result counted and
 * published.
 *
 * @internal
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type * as Tracer from "effect/Tracer"
import * as AgentError from "../AgentError.js"
import type * as RunJournal from "../RunJournal.js"
import * as Task from "../Task.js"
import * as Usage from "../Usage.js"
import type { Started } from "./attempt.js"
import * as Attempts from "./attempts.js"
import * as Remote from "./remote.js"
import * as RunState from "./runState.js"
import type { Result } from "./runState.js"
import * as Settle from "./settle.js"

/** @internal */
export type Run<In, Out, E, EL, R, A> = RunState.Run<In, Out, E, EL, R, A>
/** @internal */
export type Ledger = RunState.Ledger
/** @internal */
export const Lanes = RunState.Lanes

/**
 * The `runOne` of a run: one task from its admission to its result, never failing. The result is counted in the
 * run's tally and published before it is returned.
 *
 * @internal
 */
export const make = <In, Out, E, EL, R, A>(run: RunState.Run<In, Out, E, EL, R, A>) => {
  const { clock, factory, gate, observe } = run
  const now = () => clock.unsafeCurrentTimeMillis()

  const outcomes = RunState.outcomes(run)
  const { finish, neverStarted, notStarted, publish } = outcomes
  const ledger = run.ledger

  // A run whose tasks have one attempt each and nothing to settle but the run's own counts (no retry, rate limit,
  // budget, adaptive limit or journal; no events or Debug lines to publish) settles a task where its attempt ends,
  // synchronously: the task's fiber then waits for its result and needs no mask, since an attempt is settled even
  // when the fiber that waited for it was interrupted (by the run's `interruptAll`, at the latest).
  const direct = run.retry === undefined && run.rateLimit === undefined && run.budget === undefined &&
    run.adaptive === undefined && ledger === undefined && !observe.events && !observe.logs
  const { complete, settleNow } = Settle.make(run, outcomes)
  const attempts = Attempts.make(run, direct ? settleNow : undefined)

  const started = (
    task: Task.Task<unknown>,
    index: number,
    queuedAt: number,
    estimate: Usage.Usage,
    span: Tracer.Span | undefined
  ): Started => {
    const startedAt = now()
    const lane = run.lanes.take()
    observe.admitted(startedAt - queuedAt)
    return {
      task,
      index,
      queuedAt,
      startedAt,
      estimate,
      timeoutMillis: task.timeout === undefined ? run.timeoutMillis : Duration.toMillis(task.timeout),
      meter: observe.meter(),
      span,
      lane,
      attempt: 0,
      instance: undefined,
      failed: undefined,
      last: undefined,
      epoch: 0
    }
  }

  const start = (
    task: Task.Task<unknown>,
    index: number,
    queuedAt: number,
    estimate: Usage.Usage,
    span: Tracer.Span | undefined
  ): Effect.Effect<Result<A, E>, RunJournal.RunJournalError> =>
    direct
      ? Effect.suspend(() => {
        const state = started(task, index, queuedAt, estimate, span)
        const outcome = attempts(state)
        // An attempt that ended as it started is settled here; one that waits settles the task where it ends, and
        // gives the task its result.
        return Exit.isExit(outcome)
          ? Exit.succeed(settleNow(state, outcome as Exit.Exit<A, unknown>))
          : outcome as unknown as Effect.Effect<Result<A, E>>
      })
      : Effect.uninterruptibleMask((restore) => {
        const state = started(task, index, queuedAt, estimate, span)
        const outcome = attempts(state)
        // An attempt that ended as it started (an agent that never waited) needs no waiting, nor unmasking.
        // Otherwise one step settles the task, whatever the outcome (`Effect.exit` then `flatMap` would be two, each
        // a frame and closures the task's fiber holds while it waits).
        return Exit.isExit(outcome)
          ? complete(state, outcome as Exit.Exit<A, unknown>)
          : Effect.matchCauseEffect(restore(outcome), {
            onFailure: (cause) => complete(state, Exit.failCause(cause)),
            onSuccess: (value) => complete(state, Exit.succeed(value))
          })
      })

  // ===========================================================================
  // admission
  // ===========================================================================

  const spanned = (task: Task.Task<unknown>, index: number, queuedAt: number, estimate: Usage.Usage) =>
    observe.span === undefined
      ? start(task, index, queuedAt, estimate, undefined)
      : Effect.flatMap(observe.span, (span) => start(task, index, queuedAt, estimate, span))

  const budgeted = (task: Task.Task<unknown>, index: number, queuedAt: number, estimate: Usage.Usage) =>
    run.budget === undefined ? spanned(task, index, queuedAt, estimate) : Effect.flatMap(
      run.budget.reserve(estimate),
      (exhausted) =>
        exhausted === undefined
          ? spanned(task, index, queuedAt, estimate)
          : notStarted(
            task,
            index,
            queuedAt,
            new AgentError.BudgetExceeded({ agent: factory.name, taskId: task.id, ...exhausted })
          )
    )

  const remote = run.execute === undefined ? undefined : Remote.make(run, { finish, notStarted, neverStarted })

  // A task one of whose own options is invalid ends without reaching its agent.
  const invalid = (task: Task.Task<unknown>, index: number, queuedAt: number, option: string, description: string) =>
    notStarted(
      task,
      index,
      queuedAt,
      new AgentError.TaskOptionsError({ agent: factory.name, taskId: task.id, option, description })
    )

  const admit = (
    task: Task.Task<unknown>,
    index: number,
    queuedAt: number
  ): Effect.Effect<Result<A, E>, RunJournal.RunJournalError> => {
    if (!gate.open(now)) return neverStarted(task, index, queuedAt, gate.reason!)
    const timeoutError = Task.timeoutError(task)
    if (timeoutError !== undefined) return invalid(task, index, queuedAt, "timeout", timeoutError)
    const estimated = run.estimate === undefined ? undefined : run.estimate(task)
    if (estimated !== undefined && estimated._tag === "Left") {
      return invalid(task, index, queuedAt, "estimate", estimated.left)
    }
    const estimate = estimated === undefined ? Usage.empty : estimated.right
    if (remote !== undefined) return remote(task, index, queuedAt, estimate)
    const adaptive = run.adaptive
    if (adaptive === undefined) return budgeted(task, index, queuedAt, estimate)
    // With adaptive concurrency a task holds a permit while it runs; one still waiting for a permit when the run
    // stops starting tasks never starts.
    return Effect.flatMap(
      Effect.raceFirst(Effect.as(adaptive.semaphore.take(1), true), Effect.as(gate.closed.await, false)),
      (permitted) => {
        if (permitted && gate.open(now)) {
          return Effect.onExit(
            budgeted(task, index, queuedAt, estimate),
            (exit) => exit._tag === "Success" && exit.value.started ? Effect.void : adaptive.semaphore.release(1)
          )
        }
        return Effect.zipRight(
          permitted ? adaptive.semaphore.release(1) : Effect.void,
          neverStarted(task, index, queuedAt, gate.reason ?? "RunDeadline")
        )
      }
    )
  }

  // A durable run reports the result it kept for a task instead of running it again; a result it cannot use (the
  // task's input changed) is published as it is, without being kept.
  return ledger === undefined ? admit : (task: Task.Task<unknown>, index: number, queuedAt: number) =>
    Effect.flatMap(
      ledger.replay(task, index, queuedAt),
      (kept) => kept === undefined ? admit(task, index, queuedAt) : publish(kept as Result<A, E>, false)
    )
}
