/**
 * How a started task's outcome becomes its result (`resultOf`: its lane given back, its usage and span closed) and
 * how the result is settled: `complete` gives back the adaptive permit and the budget it held, then counts and
 * publishes it (through the ledger of a durable run); `settleNow` only counts it, for a run with nothing else to do.
 *
 * @internal
 */
import type * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import type * as Exit from "effect/Exit"
import * as AgentError from "../AgentError.js"
import type * as RunJournal from "../RunJournal.js"
import * as TaskResult from "../TaskResult.js"
import type * as Usage from "../Usage.js"
import * as Attempt from "./attempt.js"
import type { Started } from "./attempt.js"
import type * as RunState from "./runState.js"
import type { Result } from "./runState.js"

/**
 * The settling of a run's tasks, from `RunState.outcomes(run)`.
 *
 * @internal
 */
export const make = <In, Out, E, EL, R, A>(
  run: RunState.Run<In, Out, E, EL, R, A>,
  outcomes: ReturnType<typeof RunState.outcomes<In, Out, E, EL, R, A>>
) => {
  const { clock, gate, observe } = run
  const { count, finish } = outcomes
  const now = () => clock.unsafeCurrentTimeMillis()

  // What a result tells of its task: all of it, or what a task that never started has.
  const metaOf = (task: Started, endedAt: number, usage: Usage.Usage): TaskResult.Meta => ({
    task: task.task,
    index: task.index,
    instance: task.instance,
    startedAt: task.startedAt,
    queuedAt: task.queuedAt,
    durationMillis: endedAt - task.startedAt,
    slot: task.lane,
    usage,
    failedAttempts: task.failed
  })
  const notRun = (task: Started): TaskResult.Meta => ({
    task: task.task,
    index: task.index,
    instance: undefined,
    startedAt: undefined,
    queuedAt: task.queuedAt,
    durationMillis: 0
  })

  // A task's result from its attempts' outcome, with its lane given back and its span ended.
  const resultOf = (task: Started, exit: Exit.Exit<A, unknown>, endedAt: number): Result<A, E> => {
    run.lanes.release(task.lane)
    const usage = task.meter.current
    for (const model of task.meter.models) if (!run.models.includes(model)) run.models.push(model)
    let result: Result<A, E>
    if (
      exit._tag === "Failure" && task.instance === undefined && exit.cause._tag === "Fail" &&
      exit.cause.error instanceof AgentError.AgentTimeout
    ) {
      // The run's deadline passed before the task's first attempt could start (while it waited for the rate limit):
      // it never started.
      result = TaskResult.interrupted(notRun(task), { reason: "RunDeadline" }) as Result<A, E>
    } else if (exit._tag === "Failure" && gate.stopped && TaskResult.isInterruption(exit.cause)) {
      // The run was stopped: the attempt under way was interrupted, or the task waited to retry, or (never started)
      // for its turn under the rate limit.
      result = TaskResult.interrupted(
        task.instance === undefined ? notRun(task) : metaOf(task, endedAt, usage),
        { reason: "Stopped", cause: exit.cause as Cause.Cause<never> }
      ) as Result<A, E>
    } else {
      result = TaskResult.fromExit(metaOf(task, endedAt, usage), exit) as Result<A, E>
    }
    if (task.span !== undefined) observe.endSpan(task.span, result, clock.unsafeCurrentTimeNanos())
    return result
  }

  const complete = (
    task: Started,
    exit: Exit.Exit<A, unknown>
  ): Effect.Effect<Result<A, E>, RunJournal.RunJournalError> => {
    const endedAt = now()
    const result = resultOf(task, exit, endedAt)
    const adaptive = run.adaptive
    // Its end is published at `endedAt` unless the permit or the budget it gives back first lets another task start.
    let settle = finish(result, true, adaptive === undefined && run.budget === undefined ? endedAt : undefined)
    if (adaptive !== undefined) {
      const after = result._tag === "Succeeded"
        ? adaptive.onSuccess()
        : exit._tag === "Failure" && Attempt.rateLimited(exit.cause)
        ? adaptive.onRateLimited(task.epoch)
        : Effect.void
      settle = Effect.zipRight(Effect.zipRight(after, adaptive.semaphore.release(1)), settle)
    }
    return run.budget === undefined
      ? settle
      : Effect.zipRight(run.budget.settle(task.estimate, task.meter.current), settle)
  }

  const settleNow = (task: Started, exit: Exit.Exit<A, unknown>): Result<A, E> => {
    const endedAt = now()
    const result = resultOf(task, exit, endedAt)
    count(result, true, endedAt) // Nothing to publish: no events, no Debug lines.
    return result
  }

  return { complete, settleNow }
}
