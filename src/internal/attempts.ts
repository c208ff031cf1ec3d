/**
 * The attempts of one task run here: each on a fiber of its own with a fresh agent, stopped at its deadline by the
 * run's watchdog; with a rate limit, each first waits for its turn; with a retry policy, a failed attempt whose error
 * the policy accepts is followed by another, after the schedule's delay. `runOne` admits the task, runs its attempts
 * and settles its result.
 *
 * @internal
 */
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FiberId from "effect/FiberId"
import * as Runtime from "effect/Runtime"
import * as Schedule from "effect/Schedule"
import * as ScheduleIntervals from "effect/ScheduleIntervals"
import * as Scope from "effect/Scope"
import * as Tracer from "effect/Tracer"
import * as Agent from "../Agent.js"
import * as AgentError from "../AgentError.js"
import * as AgentInstance from "../AgentInstance.js"
import * as TaskOutput from "../TaskOutput.js"
import * as TaskResult from "../TaskResult.js"
import * as Usage from "../Usage.js"
import { Attempt, describe, rateLimited } from "./attempt.js"
import type { Shared, Started } from "./attempt.js"
import type { Run } from "./runState.js"

/** What an attempt that would start after its run was stopped gives instead: its task ends interrupted. */
const stoppedExit = Exit.interrupt(FiberId.none)

/**
 * The run's clock, whose sleeps end when the run is stopped (`stopped` opens): `Effect.retry` sleeps out a retry
 * schedule's delays on the `Clock` of its fiber, so a task that waits to retry stops waiting then.
 */
const stoppableClock = (clock: Clock.Clock, stopped: Effect.Latch): Clock.Clock => ({
  [Clock.ClockTypeId]: Clock.ClockTypeId,
  unsafeCurrentTimeMillis: () => clock.unsafeCurrentTimeMillis(),
  unsafeCurrentTimeNanos: () => clock.unsafeCurrentTimeNanos(),
  currentTimeMillis: clock.currentTimeMillis,
  currentTimeNanos: clock.currentTimeNanos,
  sleep: (duration) => Effect.raceFirst(clock.sleep(duration), stopped.await)
})

/**
 * The attempts of a started task, as one effect: its value, or the error of its last attempt. Called as the task
 * starts, it may start the first attempt at once, and return its outcome as an `Exit` when it ended as it started.
 *
 * With `settle` (a run whose tasks have one attempt and nothing to do around it: no retry, rate limit, budget,
 * adaptive limit or journal, no events or Debug lines; `runOne` decides), an attempt that waits settles its task
 * itself where it ends, and the effect returned gives the task's result (`settle`'s) instead of the attempt's
 * outcome: the task's fiber then needs no mask to settle its task if it is interrupted while it waits (the run's
 * `interruptAll` ends the attempt, which settles it). An attempt that ended as it started is not settled here: its
 * outcome is returned as before.
 *
 * @internal
 */
export const make = <In, Out, E, EL, R, A>(
  run: Run<In, Out, E, EL, R, A>,
  settle?: (task: Started, exit: Exit.Exit<A, unknown>) => unknown
) => {
  const { clock, factory, gate, observe, runId } = run
  const now = () => clock.unsafeCurrentTimeMillis()
  // The run's services, as entries: a `Map` is built from an array faster than from another `Map`. Not the run's own
  // `Scope`: it is not an attempt's (a factory that needs one gets the attempt's own), and without it the attempt's
  // context fits the smallest table a `Map` has (the run's `Executor` and span, the attempt's instance and meter).
  const runServices = Array.from(run.context.unsafeMap).filter(([key]) => key !== Scope.Scope.key)
  // The agent and the run, shared by the run's instances and results.
  const origin = new AgentInstance.Origin(factory.name, runId)
  const shared: Shared = {
    runId,
    deadlineAt: run.deadlineAt,
    deadlineMillis: run.deadlineMillis,
    timeoutMillis: run.timeoutMillis,
    timeout: Duration.millis(run.timeoutMillis),
    deadline: Duration.millis(run.deadlineMillis),
    retries: run.retry !== undefined,
    now,
    settle: settle as Shared["settle"]
  }

  const stoppable = gate.stoppedLatch === undefined ? undefined : stoppableClock(clock, gate.stoppedLatch)

  // ===========================================================================
  // one attempt, on a fiber of its own
  // ===========================================================================

  const buildError = (cause: Cause.Cause<unknown>) =>
    TaskResult.isInterruption(cause) ? Effect.failCause(cause) : Effect.flatMap(
      AgentInstance.AgentInstance,
      (instance) =>
        Effect.fail(
          new AgentError.AgentBuildError({
            agent: instance.name,
            taskId: instance.taskId,
            cause: Cause.squash(cause),
            ...(Cause.isFailure(cause) ? {} : { description: `the factory died: ${describe(cause)}` })
          })
        )
    )
  // Built once per run: the factory's effect, its build failures (typed or defects) as `AgentBuildError`s.
  const build = Effect.catchAllCause(Agent.build(factory), buildError)
  const scoped = factory.kind !== "effect"

  const runAgent = (input: In) => Effect.flatMap(build, (agent) => agent.run(input))
  const body = (input: unknown, instance: AgentInstance.Service): Effect.Effect<A, unknown, never> => {
    let work: Effect.Effect<unknown, unknown, unknown> = run.decodeInput === undefined
      ? runAgent(input as In)
      : Effect.flatMap(
        Effect.mapError(
          run.decodeInput(input),
          (error) => AgentError.AgentInputError.fromParseError({ agent: instance.name, taskId: instance.taskId, error })
        ),
        runAgent
      )
    if (scoped) work = Effect.scoped(work)
    if (run.decodeOutput !== undefined) {
      const decode = run.decodeOutput
      work = Effect.flatMap(work, (output) =>
        Effect.mapError(
          decode(output as Out),
          (error) =>
            AgentError.AgentOutputError.fromParseError({ agent: instance.name, taskId: instance.taskId, error })
        ))
    }
    return work as Effect.Effect<A, unknown, never>
  }

  // Starts an attempt when called (its fiber starts now, unless an event or a log line must come first): its
  // outcome as an `Exit` if it ended as it started, or else the effect that waits for it.
  const attemptNow = (task: Started): Effect.Effect<A, unknown> => {
    // The first attempt starts with its task, unless it waited for the rate limit.
    const startedAt = task.attempt === 0 && run.rateLimit === undefined ? task.startedAt : now()
    const last = task.last
    if (last !== undefined) {
      ;(task.failed ??= []).push({ ...last, delayMillis: startedAt - last.endedAt })
      task.last = undefined
    }
    // The run was stopped while the task waited for its next attempt (or for the rate limit): it ends interrupted.
    if (gate.stopped) return stoppedExit
    if (startedAt >= run.deadlineAt) {
      // The run's deadline passed while the task waited for its next attempt (or for the rate limit).
      return Effect.fail(
        new AgentError.AgentTimeout({
          agent: task.instance?.name ?? factory.name,
          taskId: task.task.id,
          reason: "RunDeadline",
          timeout: Duration.millis(run.deadlineMillis)
        })
      )
    }
    const attemptNo = ++task.attempt
    const instance = AgentInstance.makeIn(origin, task.task.id, attemptNo, run.inStream ? task.index : undefined)
    task.instance = instance
    if (run.adaptive !== undefined) task.epoch = run.adaptive.epoch
    // The attempt's context: the run's, and this attempt's identity, meter, output and span.
    const services = new Map(runServices)
    services.set(AgentInstance.AgentInstance.key, instance)
    services.set(Usage.UsageMeter.key, task.meter)
    const output = observe.events ? observe.output(task.task, task.index, attemptNo, now) : undefined
    if (output !== undefined) services.set(TaskOutput.TaskOutput.key, output)
    if (task.span !== undefined) services.set(Tracer.ParentSpan.key, task.span)
    const byTask = startedAt + task.timeoutMillis <= run.deadlineAt
    const started = observe.attemptStarted(task.task, task.index, instance, attemptNo, startedAt)
    const spec = new Attempt<A>(
      shared,
      task,
      instance,
      startedAt,
      byTask,
      Runtime.make({
        context: Context.unsafeMake(services),
        fiberRefs: run.fiberRefs,
        runtimeFlags: run.runtimeFlags
      }),
      output
    )
    const effect = body(task.task.input, instance)
    // Its start's event is in the run's outbox already; only a Debug line needs an effect first.
    return started === undefined
      ? run.watchdog.start(spec, effect)
      : Effect.zipRight(started, run.watchdog.run(spec, effect))
  }
  const attempt = (task: Started): Effect.Effect<A, unknown> => Effect.suspend(() => attemptNow(task))

  // ===========================================================================
  // the attempts of one task
  // ===========================================================================

  // With a rate limit an attempt first waits for its turn (its timeout starts when it gets it); the run's deadline
  // ends the wait.
  const turn = (task: Started) =>
    Effect.zipRight(
      Effect.raceFirst(
        run.rateLimit!.take(task.estimate.inputTokens + task.estimate.outputTokens),
        gate.halted.await
      ),
      attempt(task)
    )

  // Retries a failed attempt when the policy accepts its error, after the schedule's delay (cut short by the run's
  // deadline), with a fresh instance.
  const retried = (task: Started, attempts: Effect.Effect<A, unknown>): Effect.Effect<A, unknown> => {
    const retry = run.retry!
    // The policy's `while` is part of the schedule the retry event is told of: an error it does not retry is not
    // announced as retried (with `Effect.retry`'s own `while`, the schedule decided, and the event went out, first).
    let schedule = Schedule.whileInput(retry.schedule, retry.while)
    if (run.deadlineAt !== Infinity) {
      schedule = Schedule.modifyDelay(
        schedule,
        (_, delay) => Duration.min(delay, Duration.millis(Math.max(0, run.deadlineAt - now())))
      )
    }
    schedule = Schedule.onDecision(schedule, (_, decision) => {
      const last = task.last
      if (decision._tag === "Done" || last === undefined) return Effect.void
      const at = now()
      const cut = run.adaptive !== undefined && rateLimited(last.cause)
        ? run.adaptive.onRateLimited(task.epoch)
        : Effect.void
      return Effect.zipRight(
        cut,
        observe.retrying({
          task: task.task,
          index: task.index,
          agent: last.agent,
          attempt: last.attempt,
          outcome: last.outcome,
          message: describe(last.cause),
          delayMillis: Math.max(0, ScheduleIntervals.start(decision.intervals) - at),
          at
        })
      )
    })
    // A run that can be stopped sleeps between attempts on a clock whose sleeps end when it is stopped: the next
    // attempt then does not start (`attemptNow`), and the task ends at once.
    return stoppable === undefined
      ? Effect.retry(attempts, schedule)
      : Effect.withClock(Effect.retry(attempts, schedule), stoppable)
  }

  // Called as the task starts: a task with no turn to wait for starts its first attempt now (see `attemptNow`).
  // With a retry policy, the schedule is set up only once the first attempt has failed with an error the policy
  // retries (most tasks never do, and building it up front cost every task about 35 µs of CPU in the command line's
  // offline runs); it then sees that failure first, as `Effect.retry` over every attempt would, so its decisions,
  // delays and count are the same.
  return (task: Started): Effect.Effect<A, unknown> => {
    const first = run.rateLimit === undefined ? attemptNow(task) : turn(task)
    if (run.retry === undefined) return first
    return Effect.catchAll(first, (error) => {
      // An error the policy does not retry (bad input, a 401) ends the task here: the schedule would stop at its
      // first step, with no event and no delay, so it is not built.
      if (!run.retry!.while(error)) return Effect.fail(error)
      let replay = true
      const next = run.rateLimit === undefined ? attempt(task) : turn(task)
      return retried(
        task,
        Effect.suspend(() => {
          if (!replay) return next
          replay = false
          return Effect.fail(error)
        })
      )
    })
  }
}
