import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import type * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import type * as FiberId from "effect/FiberId"
import * as FiberRef from "effect/FiberRef"
import * as FiberRefs from "effect/FiberRefs"
import * as Mailbox from "effect/Mailbox"
import * as Option from "effect/Option"
import * as PubSub from "effect/PubSub"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import type * as AgentError from "../AgentError.js"
import type * as Aggregate from "../Aggregate.js"
import * as RunEvent from "../RunEvent.js"
import type * as RunJournal from "../RunJournal.js"
import * as RunReport from "../RunReport.js"
import * as RunTally from "../RunTally.js"
import type * as Task from "../Task.js"
import type * as TaskResult from "../TaskResult.js"
import { Adaptive } from "./adaptive.js"
import { Gate } from "./gate.js"
import * as Observe from "./observe.js"
import type * as Options from "./options.js"
import * as RunOne from "./runOne.js"
import * as Unordered from "./unordered.js"
import * as Watchdog from "./watchdog.js"
import * as Workers from "./workers.js"

/**
 * A run, resolved from its options: what `fanOut` needs to start.
 *
 * @internal
 */
export interface Plan<In, Out, E, EL, R, A, S> extends
  Pick<
    RunOne.Run<In, Out, E, EL, R, A>,
    | "runId"
    | "factory"
    | "timeoutMillis"
    | "deadlineMillis"
    | "retry"
    | "budget"
    | "estimate"
    | "rateLimit"
    | "decodeInput"
    | "decodeOutput"
  >
{
  readonly concurrency: number | "unbounded"
  /** The adaptive concurrency asked for; the run makes its limit from it. */
  readonly adaptive: Options.Adaptive | undefined
  readonly maxFailures: number
  readonly minSuccessRate: number
  readonly aggregate: Aggregate.Aggregate<A, E | AgentError.AgentError, S> | undefined
  /** Where a durable run keeps its final results. */
  readonly ledger?: RunOne.Ledger | undefined
  /** Runs each task elsewhere (see `RunOne.Run.execute`). */
  readonly execute?: RunOne.Run<In, Out, E, EL, R, A>["execute"]
  /** Stops the run gracefully when it completes (the run's `stop` option). */
  readonly stop?: Effect.Effect<unknown, unknown> | undefined
}

/**
 * How long an attempt that was told to stop may take to stop (its finalizers included) before it is left running
 * and its task reported without it.
 *
 * @internal
 */
export const graceMillis = 5_000

/** Sets up one run: its watchdog, its deadline, its observer and tally, and the `runOne` of its tasks. */
const setUp = Effect.fnUntraced(function*<In, Out, E, EL, R, A, S>(
  plan: Plan<In, Out, E, EL, R, A, S>,
  total: number | undefined,
  scope: Scope.Scope,
  options?: {
    /** A run of one task: its watchdog has no timer fiber (see `Watchdog.make`). */
    readonly single?: boolean | undefined
    /** Where a run over a list keeps its results, at their tasks' positions (see `RunState.Run.collect`). */
    readonly collect?: Array<TaskResult.TaskResult<unknown, unknown>> | undefined
  }
) {
  const clock: Clock.Clock = yield* Effect.clock
  const startedAt = clock.unsafeCurrentTimeMillis()
  const deadlineAt = startedAt + plan.deadlineMillis
  const gate = new Gate(startedAt, deadlineAt, {
    maxFailures: plan.maxFailures,
    minSuccessRate: plan.minSuccessRate,
    total,
    stoppable: plan.stop !== undefined
  })
  if (plan.deadlineMillis !== Infinity) {
    yield* Effect.forkIn(
      Effect.zipRight(clock.sleep(Duration.millis(plan.deadlineMillis)), Effect.sync(() => gate.close("RunDeadline"))),
      scope
    )
  }
  const watchdog = yield* Watchdog.make(clock, graceMillis, scope, { single: options?.single })
  if (plan.stop !== undefined) {
    // When `stop` ends (however it ends), the run stops: no task starts, and the attempts under way are interrupted.
    // Its fiber lives as long as the run; it runs before the first task starts, so that a stop complete already
    // stops the run before any task starts.
    yield* Effect.forkIn(
      Effect.zipRight(
        Effect.exit(plan.stop),
        Effect.suspend(() => {
          gate.close("Stopped")
          return watchdog.stopAll
        })
      ),
      scope
    )
    yield* Effect.yieldNow()
  }
  const observe = yield* Observe.make({ runId: plan.runId, agent: plan.factory.name })
  const tally = RunTally.make({ agent: plan.factory.name, startedAt })
  let ended = false
  const finished = Effect.suspend(() => {
    ended = true
    return observe.publish(RunEvent.RunEvent.RunFinished({
      runId: plan.runId,
      at: clock.unsafeCurrentTimeMillis(),
      summary: tally.summary,
      wallMillis: clock.unsafeCurrentTimeMillis() - startedAt
    }))
  })
  // A run interrupted (or a stream of results closed early) ends its events too, with what ended by then: after
  // the attempts under way have stopped (the finalizer below runs first) and their tasks' events, so that a
  // subscriber that follows the run to its RunFinished is not left waiting. A hub already shut down takes nothing.
  yield* Scope.addFinalizer(scope, Effect.suspend(() => ended ? Effect.void : Effect.asVoid(Effect.exit(finished))))
  // When the run is interrupted (or a stream of results closed early), the attempts under way stop with it.
  yield* Scope.addFinalizer(scope, watchdog.interruptAll)
  const lanes = new RunOne.Lanes()
  const models: Array<string> = []
  const concurrency = plan.concurrency === "unbounded" ? (total ?? 1) : plan.concurrency
  const adaptive = plan.adaptive === undefined
    ? undefined
    : new Adaptive(
      { ...plan.adaptive, max: Math.max(1, Math.min(plan.adaptive.max, total ?? Infinity)) },
      observe.labels
    )
  const runOne = RunOne.make<In, Out, E, EL, R, A>({
    runId: plan.runId,
    factory: plan.factory,
    clock,
    context: yield* Effect.context<R>(),
    // Attempts start from the run's fiber state; their failures are the task's to report, not unhandled errors.
    fiberRefs: FiberRefs.updateAs(yield* Effect.getFiberRefs, {
      fiberId: (yield* Effect.fiberId) as FiberId.Single, // A running fiber's own id is a single one.
      fiberRef: FiberRef.unhandledErrorLogLevel,
      value: Option.none()
    }),
    runtimeFlags: yield* Effect.getRuntimeFlags,
    timeoutMillis: plan.timeoutMillis,
    deadlineAt,
    deadlineMillis: plan.deadlineMillis,
    retry: plan.retry,
    budget: plan.budget,
    estimate: plan.estimate,
    rateLimit: plan.rateLimit,
    adaptive,
    decodeInput: plan.decodeInput,
    decodeOutput: plan.decodeOutput,
    gate,
    watchdog,
    observe,
    tally,
    collect: options?.collect,
    lanes,
    models,
    inStream: total === undefined,
    ledger: plan.ledger,
    execute: plan.execute
  })
  const report = (results: ReadonlyArray<TaskResult.TaskResult<A, E | AgentError.AgentError>>) =>
    Effect.gen(function*() {
      const aggregated = plan.aggregate === undefined ? Either.right(undefined as S) : Either.try({
        try: () => {
          const fold = plan.aggregate!.start()
          for (const result of results) fold.step(result)
          return fold.done()
        },
        catch: (error) => error
      })
      const endedAt = clock.unsafeCurrentTimeMillis()
      return RunReport.fromTally(tally, {
        runId: plan.runId,
        agent: plan.factory.name,
        results,
        aggregate: Either.getOrUndefined(aggregated) as S,
        aggregateFailure: Either.isLeft(aggregated) ? Cause.die(aggregated.left) : undefined,
        startedAt,
        endedAt,
        concurrency: Math.max(1, Math.min(concurrency, total ?? concurrency)),
        peakInFlight: lanes.peak,
        models,
        budget: plan.budget === undefined ? undefined : yield* plan.budget.snapshot,
        adaptive: adaptive === undefined ? undefined : {
          initial: Math.floor(adaptive.options.initial),
          lowest: adaptive.lowest,
          final: adaptive.permits,
          decreases: adaptive.decreases
        }
      })
    })
  yield* observe.publish(RunEvent.RunEvent.RunStarted({
    runId: plan.runId,
    at: startedAt,
    agent: plan.factory.name,
    total,
    concurrency: Math.max(1, Math.min(concurrency, total ?? concurrency))
  }))
  return { clock, startedAt, gate, observe, runOne, report, finished, watchdog }
})

/**
 * A run over a list: its tasks in input order with the run's concurrency (`Workers.forEach`), each task's result
 * kept at its position, then the report.
 *
 * @internal
 */
export const runList = <In, Out, E, EL, R, A, S>(
  plan: Plan<In, Out, E, EL, R, A, S>,
  tasks: ReadonlyArray<Task.Task<unknown>>
): Effect.Effect<RunReport.RunReport<A, E | AgentError.AgentError, S>, RunJournal.RunJournalError, R> =>
  Effect.scoped(Effect.gen(function*() {
    // Each result is kept at its task's position as it is counted (`RunState.Run.collect`), unless the tasks run
    // elsewhere: a remote's result comes back whole, and its position is the one the run gives (`forEach`'s).
    const collected = plan.execute === undefined
      ? new Array<TaskResult.TaskResult<A, E | AgentError.AgentError>>(tasks.length)
      : undefined
    const run = yield* setUp(plan, tasks.length, yield* Effect.scope, {
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
  plan: Plan<In, Out, E, EL, R, A, S>,
  task: Task.Task<unknown>,
  scope: Scope.Scope
): Effect.Effect<TaskResult.TaskResult<A, E | AgentError.AgentError>, RunJournal.RunJournalError, R> =>
  // A watchdog of one: no timer fiber (the attempt under way has its own sleeper), so no race against one either.
  Effect.flatMap(setUp(plan, 1, scope, { single: true }), (run) => {
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
  plan: Plan<In, Out, E, EL, R, A, S>,
  tasks: Stream.Stream<Task.Task<unknown>, EIn, RIn>,
  list = false
): Stream.Stream<TaskResult.TaskResult<A, E | AgentError.AgentError>, EIn | RunJournal.RunJournalError, R | RIn> =>
  Stream.unwrapScoped(Effect.gen(function*() {
    const run = yield* setUp(plan, undefined, yield* Effect.scope)
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
