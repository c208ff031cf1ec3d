/**
 * A run's plan (its options resolved: what the executor hands the fan-out) and how a run starts from it (`start`):
 * its deadline, its stop, its watchdog, its observer and tally, the `RunStarted` event, and the `runOne` of its tasks.
 *
 * @internal
 */
import * as Cause from "effect/Cause"
import type * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import type * as FiberId from "effect/FiberId"
import * as FiberRef from "effect/FiberRef"
import * as FiberRefs from "effect/FiberRefs"
import * as Option from "effect/Option"
import * as Scope from "effect/Scope"
import type * as AgentError from "../AgentError.js"
import type * as Aggregate from "../Aggregate.js"
import * as RunEvent from "../RunEvent.js"
import * as RunReport from "../RunReport.js"
import * as RunTally from "../RunTally.js"
import type * as TaskResult from "../TaskResult.js"
import { Adaptive } from "./adaptive.js"
import { Gate } from "./gate.js"
import * as Observe from "./observe.js"
import type * as Options from "./options.js"
import * as RunOne from "./runOne.js"
import * as Watchdog from "./watchdog.js"

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

/**
 * Starts one run: its deadline, its stop, its watchdog, its observer and tally, and the `runOne` of its tasks; then
 * its `RunStarted` event. `scope` is the run's: its timers and finalizers live there.
 *
 * @internal
 */
export const start = Effect.fnUntraced(function*<In, Out, E, EL, R, A, S>(
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
