/**
 * The three shapes of a run, each started from its plan (`Plan.start`): over a list (`runList`, results in input
 * order, then the report), of one task (`runSingle`), and over a stream of tasks (`runStream`, results in completion
 * order).
 *
 * @internal
 */
import type * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Mailbox from "effect/Mailbox"
import * as Option from "effect/Option"
import * as PubSub from "effect/PubSub"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import type * as AgentError from "../AgentError.js"
import * as RunEvent from "../RunEvent.js"
import type * as RunJournal from "../RunJournal.js"
import type * as RunReport from "../RunReport.js"
import type * as Task from "../Task.js"
import type * as TaskResult from "../TaskResult.js"
import * as Plan from "./plan.js"
import * as Unordered from "./unordered.js"
import * as Workers from "./workers.js"

/**
 * A run over a list: its tasks in input order with the run's concurrency (`Workers.forEach`), each task's result
 * kept at its position, then the report.
 *
 * @internal
 */
export const runList = <In, Out, E, EL, R, A, S>(
  plan: Plan.Plan<In, Out, E, EL, R, A, S>,
  tasks: ReadonlyArray<Task.Task<unknown>>
): Effect.Effect<RunReport.RunReport<A, E | AgentError.AgentError, S>, RunJournal.RunJournalError, R> =>
  Effect.scoped(Effect.gen(function*() {
    // Each result is kept at its task's position as it is counted (`RunState.Run.collect`), unless the tasks run
    // elsewhere: a remote's result comes back whole, and its position is the one the run gives (`forEach`'s).
    const collected = plan.execute === undefined
      ? new Array<TaskResult.TaskResult<A, E | AgentError.AgentError>>(tasks.length)
      : undefined
    const run = yield* Plan.start(plan, tasks.length, yield* Effect.scope, {
      collect: collected as Array<TaskResult.TaskResult<unknown, unknown>> | undefined
    })
    const hub = Option.getOrUndefined(yield* Effect.serviceOption(RunEvent.Hub))
    const pubsub = hub === undefined ? undefined : RunEvent.pubsubOf(hub)
    if (pubsub !== undefined) {
      yield* PubSub.publishAll(
        pubsub,
        tasks.map((task, index) =>
          RunEvent.RunEvent.TaskQueued({ runId: plan.runId, at: run.startedAt, taskId: task.id, index })
        )
      )
    }
    // The tasks wait in the queue until their turn; those that never get one leave it when the run ends.
    let dequeued = 0
    run.observe.queue(tasks.length)
    // A defect in the watchdog (a bug in the engine) fails the run rather than leaving its timeouts unenforced.
    const each = (task: Task.Task<unknown>, index: number) => {
      dequeued++
      run.observe.queue(-1)
      return run.runOne(task, index, run.startedAt)
    }
    // Once the fan-out has ended (interrupted, say), its workers take no more tasks: an interrupted race does not wait
    // for its fibers to stop, and the attempts the run's scope then stops give their waiting workers their results,
    // which reach them before their own interruption does.
    let ended = false
    const results = yield* Effect.raceFirst(
      collected === undefined
        ? Effect.forEach(tasks, each, { concurrency: plan.concurrency })
        : Effect.as(
          Workers.forEach(tasks, each, {
            concurrency: plan.concurrency,
            stopped: () => ended,
            // Tasks that wait for a permit, the budget or the rate limit take their turns in order.
            yielding: plan.adaptive !== undefined || plan.budget !== undefined || plan.rateLimit !== undefined ||
              plan.ledger !== undefined
          }),
          collected
        ),
      run.watchdog.died
    ).pipe(Effect.ensuring(Effect.sync(() => {
      ended = true
      run.observe.queue(dequeued - tasks.length)
    })))
    // Every task has its result once every task's effect has ended: a gap would be a bug in the engine.
    for (let i = 0; i < results.length; i++) {
      if (results[i] === undefined) return yield* Effect.dieMessage(`Executor: task ${i} of the run has no result`)
    }
    yield* run.finished
    return yield* run.report(results)
  }))

/**
 * One task, as a run of one: its result, without a report. The run lives in `scope`, which the caller closes (a
 * scope passed rather than provided: providing one copies the context, a large part of a run of one's cost).
 *
 * @internal
 */
export const runSingle = <In, Out, E, EL, R, A, S>(
  plan: Plan.Plan<In, Out, E, EL, R, A, S>,
  task: Task.Task<unknown>,
  scope: Scope.Scope
): Effect.Effect<TaskResult.TaskResult<A, E | AgentError.AgentError>, RunJournal.RunJournalError, R> =>
  // A watchdog of one: no timer fiber (the attempt under way has its own sleeper), so no race against one either.
  Effect.flatMap(Plan.start(plan, 1, scope, { single: true }), (run) => {
    const result = Effect.flatMap(run.runOne(task, 0, run.startedAt), (result) => Effect.as(run.finished, result))
    return run.observe.events ? Effect.zipRight(run.observe.queued(task, 0, run.startedAt), result) : result
  })

/**
 * A run over a stream of tasks: `concurrency` workers take the tasks as they are read, each runs its task (on the
 * task's own fiber, `runOne`), results in completion order. Tasks are read as the run has room for them: the reader
 * is at most `concurrency` tasks (and the chunk it holds) ahead of the workers; a task is queued (its position
 * given, its `TaskQueued` published) when a worker takes it. Once the run stops starting tasks (its deadline, its
 * failure policy, its stop), it stops reading; the tasks already read are reported, as never started. An input that
 * is a list (`list`) is read whole even then: its every task is reported. If the input fails, the tasks under way
 * are reported and then the stream fails with the input's error.
 *
 * @internal
 */
export const runStream = <In, Out, E, EL, R, A, S, EIn, RIn>(
  plan: Plan.Plan<In, Out, E, EL, R, A, S>,
  tasks: Stream.Stream<Task.Task<unknown>, EIn, RIn>,
  list = false
): Stream.Stream<TaskResult.TaskResult<A, E | AgentError.AgentError>, EIn | RunJournal.RunJournalError, R | RIn> =>
  Stream.unwrapScoped(Effect.gen(function*() {
    const run = yield* Plan.start(plan, undefined, yield* Effect.scope)
    let index = 0
    let failure: Cause.Cause<EIn> | undefined
    // Each chunk read is stamped with the time it was read: a task's queue wait starts then.
    const source = Stream.mapChunks(
      Stream.catchAllCause(tasks, (cause) => {
        failure = cause
        return Stream.empty
      }),
      (chunk) => {
        const at = run.clock.unsafeCurrentTimeMillis()
        return Chunk.map(chunk, (task) => new Read(task, at))
      }
    )
    const events = run.observe.events
    const concurrency = plan.concurrency as number // A stream run's is a number (the plan rejects "unbounded").
    const mailbox = yield* Unordered.makeMailbox<
      TaskResult.TaskResult<A, E | AgentError.AgentError>,
      EIn | RunJournal.RunJournalError
    >(
      concurrency
    )
    // A durable run's journal that could not record a result fails the run: nothing is emitted after it.
    const feed = yield* Unordered.feed(
      mailbox,
      source,
      concurrency,
      (read) => {
        const position = index++
        const task = run.runOne(read.task, position, read.at)
        return events ? Effect.zipRight(run.observe.queued(read.task, position, read.at), task) : task
      },
      { stop: list ? undefined : run.gate.closed.await }
    )
    yield* Effect.forkScoped(
      // A defect in the watchdog (a bug in the engine) fails the run rather than leaving its timeouts unenforced.
      Effect.raceFirst(feed, run.watchdog.died).pipe(
        Effect.zipRight(run.finished),
        Effect.onExit((exit) =>
          exit._tag === "Failure"
            ? mailbox.failCause(exit.cause)
            : failure === undefined
            ? mailbox.end
            : mailbox.failCause(failure)
        )
      )
    )
    return Mailbox.toStream(mailbox)
  }))

/** A task as it was read from a run's input, and when. */
class Read {
  constructor(readonly task: Task.Task<unknown>, readonly at: number) {}
}
