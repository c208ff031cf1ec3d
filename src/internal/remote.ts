/**
 * A task run elsewhere (another process, a cluster: `Run.execute`): admitted here, with its turn under the rate
 * limit and its share of the budget, counted as started and in flight; its result comes from `execute`, and what it
 * used settles the budget.
 *
 * @internal
 */
import type * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as AgentError from "../AgentError.js"
import * as AgentInstance from "../AgentInstance.js"
import type * as RunJournal from "../RunJournal.js"
import type * as Task from "../Task.js"
import * as TaskResult from "../TaskResult.js"
import * as Usage from "../Usage.js"
import type { Outcomes, Result, Run } from "./runState.js"

/** @internal */
export const make = <In, Out, E, EL, R, A>(
  run: Run<In, Out, E, EL, R, A>,
  { finish, neverStarted, notStarted }: Outcomes<A, E>
) => {
  const { clock, factory, gate, observe, runId } = run
  const now = () => clock.unsafeCurrentTimeMillis()

  // The task is sent: its lane, its first attempt's start, then `execute`.
  const sent = (
    task: Task.Task<unknown>,
    index: number,
    queuedAt: number,
    estimate: Usage.Usage
  ): Effect.Effect<Result<A, E>, RunJournal.RunJournalError> => {
    const lane = run.lanes.take()
    const at = now()
    observe.admitted(at - queuedAt)
    // Its first attempt starts as it is sent (attempts after it, if any, are the remote's).
    const instance = AgentInstance.make({ agent: factory.name, runId, taskId: task.id, attempt: 1 })
    const started = observe.attemptStarted(task, index, instance, 1, at)
    let execute = run.execute!(task, index, queuedAt)
    // A run stopped (its `stop` option) interrupts the tasks it sent and reports them stopped.
    const stopped = gate.stoppedLatch
    if (stopped !== undefined) execute = Effect.raceFirst(execute, Effect.zipRight(stopped.await, Effect.interrupt))
    return Effect.uninterruptibleMask((restore) =>
      Effect.flatMap(
        Effect.exit(restore(started === undefined ? execute : Effect.zipRight(started, execute))),
        (exit) => {
          run.lanes.release(lane)
          // A task the run's stop interrupted was sent: it started, with the instance its start was told of.
          const result = exit._tag === "Success" ? exit.value as Result<A, E> : TaskResult.interrupted(
            gate.stopped
              ? { task, index, instance, startedAt: at, queuedAt, durationMillis: now() - at, slot: lane }
              : { task, index, instance: undefined, startedAt: undefined, queuedAt, durationMillis: 0 },
            { reason: gate.stopped ? "Stopped" : "Interrupted", cause: exit.cause as Cause.Cause<never> }
          ) as Result<A, E>
          return run.budget === undefined
            ? finish(result, true)
            : Effect.zipRight(run.budget.settle(estimate, result.usage), finish(result, true))
        }
      )
    )
  }

  return (
    task: Task.Task<unknown>,
    index: number,
    queuedAt: number,
    estimate: Usage.Usage
  ): Effect.Effect<Result<A, E>, RunJournal.RunJournalError> => {
    const budget = run.budget
    // What a task that reserved its estimate and never went out gives back.
    const unreserve = budget === undefined ? Effect.void : budget.settle(estimate, Usage.empty)
    const rateLimit = run.rateLimit
    const turn = rateLimit === undefined ? sent(task, index, queuedAt, estimate) : Effect.flatMap(
      Effect.onInterrupt(
        Effect.raceFirst(
          Effect.as(rateLimit.take(estimate.inputTokens + estimate.outputTokens), true),
          Effect.as(gate.halted.await, false)
        ),
        () => unreserve
      ),
      (allowed) =>
        allowed && !gate.stopped && now() < run.deadlineAt
          ? sent(task, index, queuedAt, estimate)
          : Effect.zipRight(unreserve, neverStarted(task, index, queuedAt, gate.stopped ? "Stopped" : "RunDeadline"))
    )
    if (budget === undefined) return turn
    return Effect.flatMap(budget.reserve(estimate), (exhausted) =>
      exhausted === undefined ? turn : notStarted(
        task,
        index,
        queuedAt,
        new AgentError.BudgetExceeded({ agent: factory.name, taskId: task.id, ...exhausted })
      ))
  }
}
