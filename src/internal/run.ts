import * as Cause from "effect/Cause"
import type * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as FiberId from "effect/FiberId"
import * as FiberRef from "effect/FiberRef"
import * as FiberSet from "effect/FiberSet"
import type * as Mailbox from "effect/Mailbox"
import * as MetricLabel from "effect/MetricLabel"
import * as Option from "effect/Option"
import type * as ParseResult from "effect/ParseResult"
import * as PubSub from "effect/PubSub"
import * as Schedule from "effect/Schedule"
import * as Scope from "effect/Scope"
import * as Tracer from "effect/Tracer"
import type * as Agent from "../Agent.js"
import * as AgentError from "../AgentError.js"
import * as AgentInstance from "../AgentInstance.js"
import type * as Aggregate from "../Aggregate.js"
import type * as Budget from "../Budget.js"
import * as ExecutorMetrics from "../ExecutorMetrics.js"
import type * as RateLimit from "../RateLimit.js"
import * as Retry from "../Retry.js"
import * as RunEvent from "../RunEvent.js"
import * as RunReport from "../RunReport.js"
import * as Task from "../Task.js"
import * as TaskResult from "../TaskResult.js"
import * as Usage from "../Usage.js"
import { Adaptive, type AdaptiveOptions } from "./adaptive.js"
import { DeadlineHeap, type Entry } from "./deadlines.js"

/**
 * Everything one run needs, resolved and validated by `Executor.run`.
 *
 * @internal
 */
export interface Plan<In, Out, E, EL, R, TOut, RS, S> {
  readonly runId: string
  /** The tasks of a run over a list; empty for a stream. */
  readonly tasks: ReadonlyArray<Task.Task<unknown>>
  /** The tasks of a stream run, read as workers need them. */
  readonly input: Mailbox.ReadonlyMailbox<Task.Task<unknown>, unknown> | undefined
  /** Where a stream run sends each result as it ends; the run ends it (or fails it with the input's error). */
  readonly output: Mailbox.Mailbox<TaskResult.TaskResult<unknown, unknown>, unknown> | undefined
  /** The hub the run publishes its events to. */
  readonly events: PubSub.PubSub<RunEvent.RunEvent> | undefined
  readonly factory: Agent.FactoryImpl<In, Out, E, EL, R>
  /** At least 1, at most the number of tasks. */
  readonly concurrency: number
  /** The per-task timeout in milliseconds, `Infinity` for none. */
  readonly timeoutMillis: number
  /** The run's deadline in milliseconds from its start, `Infinity` for none. */
  readonly deadlineMillis: number
  readonly decodeInput: ((input: unknown) => Effect.Effect<In, ParseResult.ParseError, RS>) | undefined
  readonly decodeOutput: ((output: unknown) => Effect.Effect<TOut, ParseResult.ParseError, RS>) | undefined
  readonly aggregate: Aggregate.Aggregate<TOut, E | AgentError.AgentError, S> | undefined
  readonly clock: Clock.Clock
  /** The run's context: what the agent layers need from the app. */
  readonly context: Context.Context<R | RS>
  /** `agent` then the ambient labels, as `Metric.update(metric.pipe(Metric.tagged("agent", name)))` tags them. */
  readonly metricLabels: ReadonlyArray<MetricLabel.MetricLabel>
  /** One `Executor.task` span per task, children of the run span, when tracing is on and the app installed a tracer. */
  readonly spans: { readonly parent: Option.Option<Tracer.AnySpan>; readonly timing: boolean } | undefined
  /** Whether the minimum log level lets the per-task Debug lines through (read once per run). */
  readonly logs: boolean
  /** How failed attempts are retried; `undefined` for no retries. */
  readonly retry:
    | { readonly schedule: Schedule.Schedule<unknown, unknown>; readonly while: (error: unknown) => boolean }
    | undefined
  /** The budget tasks reserve from before they start. */
  readonly budget: Budget.Service | undefined
  /** What one task is expected to use: its budget reservation and its rate-limit cost in tokens. */
  readonly estimate: ((task: Task.Task<unknown>) => Usage.Usage) | undefined
  readonly rateLimit: RateLimit.Service | undefined
  /** Adaptive concurrency between 1 and `concurrency`. */
  readonly adaptive: AdaptiveOptions | undefined
  /** Stop starting tasks after this many failures (`Failed` or `TimedOut`). */
  readonly maxFailures: number
  /** Stop starting tasks once this share of successes can no longer be reached. */
  readonly minSuccessRate: number
}

/**
 * What one task's agents used: the meter the engine provides to every task, over all its attempts.
 */
class TaskMeter implements Usage.Meter {
  constructor(readonly labelsFor: (model: string) => ReadonlyArray<MetricLabel.MetricLabel>) {}
  requests = 0
  inputTokens = 0
  outputTokens = 0
  cost = 0
  models: Array<string> = []
  record(usage: Usage.Record): void {
    const model = usage.model ?? "unknown"
    const requests = usage.requests ?? 1
    const inputTokens = usage.inputTokens ?? 0
    const outputTokens = usage.outputTokens ?? 0
    this.requests += requests
    this.inputTokens += inputTokens
    this.outputTokens += outputTokens
    this.cost += usage.cost ?? 0
    if (!this.models.includes(model)) this.models.push(model)
    const labels = this.labelsFor(model)
    if (requests !== 0) ExecutorMetrics.modelRequests.unsafeUpdate(requests, labels)
    if (inputTokens !== 0) ExecutorMetrics.modelInputTokens.unsafeUpdate(inputTokens, labels)
    if (outputTokens !== 0) ExecutorMetrics.modelOutputTokens.unsafeUpdate(outputTokens, labels)
  }
  get current(): Usage.Usage {
    return this.requests === 0 && this.inputTokens === 0 && this.outputTokens === 0 && this.cost === 0
      ? Usage.empty
      : {
        requests: this.requests,
        inputTokens: this.inputTokens,
        outputTokens: this.outputTokens,
        cost: this.cost
      }
  }
}

/** A failed attempt waiting for its retry. */
interface Pending {
  readonly result: TaskResult.TimedOut | TaskResult.Failed<unknown>
  readonly error: unknown
  readonly startOffset: number
  readonly durationMillis: number
}

/**
 * One concurrency slot. A slot runs its tasks one after another on a worker fiber, and holds the task under way.
 * A timeout interrupts the worker fiber while it is inside the task's agent region; the worker then records the
 * task as timed out and retires (the interruption stays on that fiber), and the slot starts a fresh worker for
 * its next task. A fiber per task would cost about 9 µs a task; a fresh fiber per timeout costs nothing when
 * nothing times out.
 */
class Slot implements Entry {
  constructor(
    /** The slot's number, from 0: its lane in the run's timeline. */
    readonly lane: number
  ) {}
  deadline = Infinity
  heapIndex = -1
  fiber: Fiber.RuntimeFiber<unknown, unknown> | undefined = undefined
  /** Set by the watchdog when it interrupts this slot's worker. */
  expired: "TaskTimeout" | "RunDeadline" | undefined = undefined
  /** The limit that expired, in milliseconds. */
  limitMillis = 0
  busy = false
  // The task under way.
  task: Task.Task<unknown> = undefined as never
  index = -1
  instance: AgentInstance.Service = undefined as never
  context: Context.Context<never> = undefined as never
  input: unknown = undefined
  /** What the attempt is doing: a typed failure while building is the factory's. */
  phase: "input" | "build" | "run" = "build"
  /** When the task started, in milliseconds from the start of the run. */
  startOffset = 0
  /** The attempt under way, from 1, and when it started. */
  attemptNo = 1
  attemptOffset = 0
  /** Earlier attempts that were retried. */
  failedAttempts: Array<TaskResult.FailedAttempt> | undefined = undefined
  /** The retry schedule of the task under way, made at its first retry. */
  driver: Schedule.ScheduleDriver<unknown, unknown> | undefined = undefined
  /** A failed attempt to retry: set when the attempt failed, cleared when the retry starts or the task ends. */
  pending: Pending | undefined = undefined
  meter: TaskMeter = undefined as never
  /** What the task reserved from the budget. */
  estimate: Usage.Usage = Usage.empty
  timeoutMillis = Infinity
  /** The task's `Executor.task` span, when spans are on. */
  span: Tracer.Span | undefined = undefined
  /** One attempt of the task under way, built once per slot: it reads the task from the slot. */
  attempt: Effect.Effect<void, never, never> = undefined as never
  /** A stream run's next task: taken from the input, then started. Built once per slot. */
  pull: Effect.Effect<void, never, never> | undefined = undefined
  /** Waits for the retry of `pending`, then makes the attempt: the successor of a timed-out worker starts here. */
  retry: () => Effect.Effect<void, never, never> = undefined as never
}

/**
 * Ends the fibers an agent forked with `Effect.fork` and left running. They are children of the worker fiber,
 * which outlives the task, so nothing else would end them before the run does: with a fiber per task they would
 * end with it, as they do with `Effect.forEach`. `undefined` when there are none. The runtime fiber's own set of
 * children is read when it has one (Effect 3's `FiberRuntime.getChildren`), so that an attempt without forks
 * pays nothing; otherwise the public `Fiber.children`, which asks the fiber.
 *
 * @internal
 */
export const endForks = (fiber: Fiber.RuntimeFiber<unknown, unknown>): Effect.Effect<void> | undefined => {
  const getChildren = (fiber as { readonly getChildren?: () => ReadonlySet<Fiber.RuntimeFiber<unknown, unknown>> })
    .getChildren
  if (getChildren === undefined) return Effect.flatMap(Fiber.children(fiber), Fiber.interruptAll)
  const children = getChildren.call(fiber)
  return children.size === 0 ? undefined : Fiber.interruptAll(Array.from(children))
}

/** @internal */
export const run = <In, Out, E, EL, R, TOut, RS, S>(
  plan: Plan<In, Out, E, EL, R, TOut, RS, S>
): Effect.Effect<RunReport.RunReport<TOut, E | AgentError.AgentError, S>, never, R | RS> =>
  Effect.suspend(() => {
    type Err = E | AgentError.AgentError
    type Result = TaskResult.TaskResult<TOut, Err>
    const {
      budget,
      clock,
      decodeInput,
      decodeOutput,
      estimate,
      events,
      factory,
      input,
      logs,
      metricLabels: labels,
      output,
      rateLimit,
      retry,
      runId,
      spans,
      tasks
    } = plan
    const builder = factory.builder
    const agentName = factory.name
    const streaming = input !== undefined
    const n = tasks.length
    const results: Array<Result> = new Array(n)
    // A stream run's input: whether it has ended, and how it failed if it did.
    let inputDone = false
    let inputFailure: Cause.Cause<unknown> | undefined
    const hasMore = () => streaming ? !inputDone : cursor < n
    const summary = { total: 0, succeeded: 0, failed: 0, timedOut: 0, interrupted: 0 }
    const publish = (event: RunEvent.RunEvent): Effect.Effect<void> =>
      events === undefined ? Effect.void : Effect.asVoid(PubSub.publish(events, event))
    // What happens once a result is recorded: a stream run sends it out, and the end of the task is published.
    const emit = (result: Result): Effect.Effect<void> => {
      const event = events === undefined
        ? Effect.void
        : publish(RunEvent.ended(runId, clock.unsafeCurrentTimeMillis(), result))
      return output === undefined ? event : Effect.zipRight(output.offer(result), event)
    }
    const durationLabels = [ExecutorMetrics.timeUnitLabel, ...labels]
    const startedAt = clock.unsafeCurrentTimeMillis()
    const runDeadlineAt = startedAt + plan.deadlineMillis
    const origin: TaskResult.Origin = { agent: agentName, runId, startedAt }
    const heap = new DeadlineHeap<Slot>()
    const latch = Effect.unsafeMakeLatch(false)
    const adaptive = plan.adaptive === undefined ? undefined : new Adaptive(plan.adaptive, labels)
    let cursor = 0
    // No task starts once dispatch is closed: the run's deadline passed, or its failure policy stopped it.
    let closed = false
    let stoppedBy: "RunDeadline" | "FailurePolicy" = "RunDeadline"
    let deadlinePassed = false
    let failures = 0
    const models: Array<string> = []
    let inFlight = 0
    let peakInFlight = 0
    // When the watchdog will look next; a deadline armed before it wakes the watchdog early.
    let wakeAt = Infinity
    let watchdogId: FiberId.FiberId | undefined

    const modelLabels = new Map<string, ReadonlyArray<MetricLabel.MetricLabel>>()
    const labelsFor = (model: string) => {
      let found = modelLabels.get(model)
      if (found === undefined) {
        found = [labels[0]!, MetricLabel.make("model", model), ...labels.slice(1)]
        modelLabels.set(model, found)
      }
      return found
    }

    // =========================================================================
    // bookkeeping
    // =========================================================================

    const record = (result: Result) => {
      if (!streaming) results[result.index] = result
      summary.total++
      switch (result._tag) {
        case "Succeeded":
          ExecutorMetrics.tasksSucceeded.unsafeUpdate(1, labels)
          summary.succeeded++
          break
        case "Failed":
          ExecutorMetrics.tasksFailed.unsafeUpdate(1, labels)
          summary.failed++
          failures++
          break
        case "TimedOut":
          ExecutorMetrics.tasksTimedOut.unsafeUpdate(1, labels)
          summary.timedOut++
          failures++
          break
        case "Interrupted":
          ExecutorMetrics.tasksInterrupted.unsafeUpdate(1, labels)
          summary.interrupted++
          break
      }
      if (result.started) {
        ExecutorMetrics.taskDurationMillis.unsafeUpdate(result.durationMillis, durationLabels)
      }
      if (
        !closed && result._tag !== "Succeeded" && result._tag !== "Interrupted" &&
        (failures >= plan.maxFailures || (!streaming && (n - failures) / n < plan.minSuccessRate))
      ) {
        closed = true
        stoppedBy = "FailurePolicy"
      }
    }

    const arm = (slot: Slot, at: number) => {
      heap.insert(slot, at)
      if (at < wakeAt) latch.unsafeOpen()
    }

    const expire = (slot: Slot, reason: "TaskTimeout" | "RunDeadline", limitMillis: number) => {
      heap.remove(slot)
      slot.expired = reason
      slot.limitMillis = limitMillis
      slot.fiber!.unsafeInterruptAsFork(watchdogId!)
    }

    // =========================================================================
    // the watchdog: one fiber per run, asleep until the earliest deadline
    // =========================================================================

    const watchdog: Effect.Effect<never> = Effect.suspend(() => {
      latch.unsafeClose()
      const now = clock.unsafeCurrentTimeMillis()
      if (!deadlinePassed && now >= runDeadlineAt) {
        deadlinePassed = true
        if (!closed) {
          closed = true
          stoppedBy = "RunDeadline"
        }
        for (const slot of slots) {
          if (slot.busy && slot.expired === undefined) expire(slot, "RunDeadline", plan.deadlineMillis)
        }
      }
      let slot: Slot | undefined
      while ((slot = heap.popExpired(now)) !== undefined) {
        expire(slot, "TaskTimeout", slot.timeoutMillis)
      }
      wakeAt = Math.min(heap.peek()?.deadline ?? Infinity, deadlinePassed ? Infinity : runDeadlineAt)
      return wakeAt === Infinity
        ? Effect.zipRight(latch.await, watchdog)
        : Effect.zipRight(Effect.raceFirst(clock.sleep(Duration.millis(wakeAt - now)), latch.await), watchdog)
    })

    // =========================================================================
    // slots: one attempt is decode the input, build a fresh agent, run it, decode the output
    // =========================================================================

    // Whether this fiber has been interrupted from outside: only then does an interruptible region fail at once.
    const probeInterrupted = Effect.map(
      Effect.exit(Effect.interruptible(Effect.void)),
      (exit) => exit._tag === "Failure"
    )

    // A worker runs one task at a time on its own fiber, so it gives each attempt its context (the run's, plus the
    // instance identity, the usage meter and, for scoped builds, the task's scope) by setting its own
    // `currentContext`: no restore is needed, and it costs a fifth of `Effect.provideService`. Each context is a
    // copy of a template whose first entries are the per-task ones, so that the runtime's equality check against
    // the previous task's context stops at the first entry.
    const template = new Map<string, unknown>([[AgentInstance.AgentInstance.key, undefined]])
    template.set(Usage.UsageMeter.key, undefined)
    if (builder.scoped) template.set(Scope.Scope.key, undefined)
    if (spans !== undefined) template.set(Tracer.ParentSpan.key, undefined)
    for (const [key, service] of plan.context.unsafeMap) {
      if (!template.has(key)) template.set(key, service)
    }

    const endSpan = (span: Tracer.Span, result: Result) => {
      span.attribute("outcome", result._tag)
      span.end(
        spans!.timing ? clock.unsafeCurrentTimeNanos() : BigInt(0),
        result._tag === "Succeeded"
          ? Exit.void
          : result._tag === "TimedOut"
          ? Exit.fail(result.error)
          : Exit.failCause(result.cause)
      )
    }

    const annotations = (slot: Slot) => ({
      package: "effect-parallel-agents",
      module: "Executor",
      runId,
      taskId: slot.task.id,
      agent: agentName,
      agentInstance: slot.instance.name,
      attempt: slot.attemptNo
    })
    const logStart = (slot: Slot) => Effect.annotateLogs(Effect.logDebug("Task started"), annotations(slot))
    const logEnd = (slot: Slot, result: Result) =>
      Effect.annotateLogs(
        Effect.logDebug(`Task ${outcomeWords[result._tag]}`),
        result._tag === "Succeeded"
          ? { ...annotations(slot), status: result._tag, durationMillis: result.durationMillis }
          : {
            ...annotations(slot),
            status: result._tag,
            durationMillis: result.durationMillis,
            error: TaskResult.message(result)
          }
      )
    const logRetry = (slot: Slot, pending: Pending) =>
      Effect.annotateLogs(Effect.logDebug("Task attempt failed, retrying"), {
        ...annotations(slot),
        status: pending.result._tag,
        durationMillis: pending.durationMillis,
        error: TaskResult.message(pending.result)
      })

    const makeSlot = (_: unknown, lane: number): Slot => {
      const slot = new Slot(lane)
      const useContext = FiberRef.update(FiberRef.currentContext, () => slot.context)
      const runAgent = (agent: Agent.Agent<In, Out, E>) => {
        slot.phase = "run"
        return agent.run(slot.input as In)
      }
      // Typed failures of the build become `AgentBuildError`s in `onFailure`, which knows the phase.
      const build = (scope: Scope.Scope) => builder.build(scope) as Effect.Effect<Agent.Agent<In, Out, E>, EL, R>
      const buildAndRun: Effect.Effect<Out, E | EL, R> = builder.scoped
        ? Effect.scopedWith((scope) => {
          // The task's context is not published yet: `useContext` sets it next.
          slot.context.unsafeMap.set(Scope.Scope.key, scope)
          return Effect.zipRight(useContext, Effect.flatMap(build(scope), runAgent))
        })
        : Effect.zipRight(useContext, Effect.flatMap(build(undefined as never), runAgent))
      const inputError = (error: ParseResult.ParseError) =>
        AgentError.AgentInputError.fromParseError({ agent: slot.instance.name, taskId: slot.task.id, error })
      const outputError = (error: ParseResult.ParseError) =>
        AgentError.AgentOutputError.fromParseError({ agent: slot.instance.name, taskId: slot.task.id, error })
      const withInput: Effect.Effect<Out, E | EL | AgentError.AgentError, R | RS> = decodeInput === undefined
        ? buildAndRun
        : Effect.flatMap(
          Effect.mapError(Effect.suspend(() => decodeInput(slot.task.input)), inputError),
          (input) => {
            slot.input = input
            slot.phase = "build"
            return buildAndRun
          }
        )
      const withOutput: Effect.Effect<TOut, E | EL | AgentError.AgentError, R | RS> = decodeOutput === undefined
        ? withInput as unknown as Effect.Effect<TOut, E | EL | AgentError.AgentError, R | RS>
        : Effect.flatMap(withInput, (output) => Effect.mapError(decodeOutput(output), outputError))
      // With a rate limit, the attempt first waits for its turn; its timeout starts when it gets it.
      const attempt = rateLimit === undefined ? withOutput : Effect.zipRight(
        Effect.suspend(() => rateLimit.take(slot.estimate.inputTokens + slot.estimate.outputTokens)),
        Effect.suspend(() => {
          const now = clock.unsafeCurrentTimeMillis()
          slot.attemptOffset = now - startedAt
          if (slot.timeoutMillis !== Infinity) arm(slot, now + slot.timeoutMillis)
          return withOutput
        })
      )

      const next = (result: Result): Effect.Effect<void, never, R | RS> => {
        if (slot.expired !== undefined) return Effect.void
        return result._tag === "Interrupted"
          ? Effect.flatMap(probeInterrupted, (interrupted) => interrupted ? Effect.void : step(slot))
          : step(slot)
      }
      // Ends the task under way: its final result, with every attempt's usage and the attempts before.
      const complete = (result: Result): Effect.Effect<void, never, R | RS> => {
        heap.remove(slot)
        slot.busy = false
        inFlight--
        ExecutorMetrics.tasksInFlight.unsafeModify(-1, labels)
        const used = slot.meter.current
        if (used !== Usage.empty) {
          TaskResult.unsafeSetUsage(result, used)
          for (const model of slot.meter.models) if (!models.includes(model)) models.push(model)
        }
        if (budget !== undefined) budget.unsafeSettle(slot.estimate, used)
        if (slot.failedAttempts !== undefined) {
          TaskResult.unsafeSetFailedAttempts(result, slot.failedAttempts)
          slot.failedAttempts = undefined
        }
        slot.driver = undefined
        slot.pending = undefined
        record(result)
        if (slot.span !== undefined) endSpan(slot.span, result)
        let after = logs ? Effect.zipRight(logEnd(slot, result), Effect.suspend(() => next(result))) : next(result)
        if (output !== undefined || events !== undefined) after = Effect.zipRight(emit(result), after)
        if (adaptive !== undefined) {
          after = Effect.zipRight(adaptive.semaphore.release(1), after)
          if (result._tag === "Succeeded") after = Effect.zipRight(adaptive.onSuccess(), after)
        }
        return after
      }
      const elapsed = () => clock.unsafeCurrentTimeMillis() - startedAt - slot.startOffset

      // A failed attempt that the retry policy accepts waits for the schedule's delay, then runs again with a fresh
      // agent instance. When the schedule is done, the last attempt's failure is the task's result. Retries hold
      // the task's slot: a retry is not a new task, so a closed dispatch does not stop it, but the run's deadline
      // does. The engine steps the schedule itself (`Schedule.driver`) because a timed-out attempt retires its
      // worker fiber: the retry then continues on the successor.
      const keepAttempt = (pending: Pending, waitFrom: number) => {
        ;(slot.failedAttempts ??= []).push({
          attempt: slot.attemptNo,
          agent: slot.instance.name,
          startedAt: startedAt + pending.startOffset,
          durationMillis: pending.durationMillis,
          outcome: pending.result._tag,
          cause: causeOf(pending.result),
          delayMillis: clock.unsafeCurrentTimeMillis() - waitFrom
        })
      }
      const retryPending = (): Effect.Effect<void, never, R | RS> => {
        const pending = slot.pending!
        const waitFrom = clock.unsafeCurrentTimeMillis()
        const wait = slot.driver === undefined
          ? Effect.flatMap(Schedule.driver(retry!.schedule), (driver) => {
            slot.driver = driver
            return driver.next(pending.error)
          })
          : slot.driver.next(pending.error)
        return Effect.matchCauseEffect(Effect.interruptible(wait), {
          onSuccess: () => {
            slot.pending = undefined
            keepAttempt(pending, waitFrom)
            ExecutorMetrics.tasksRetried.unsafeUpdate(1, labels)
            return beginAttempt(slot, slot.attemptNo + 1)
          },
          onFailure: (cause) => {
            if (!Cause.isInterrupted(cause)) {
              // The schedule is done: the last attempt's outcome stands. A schedule that died adds its defect.
              return complete(
                Cause.isDie(cause)
                  ? TaskResult.unsafeFailed(
                    slot.task,
                    slot.index,
                    origin,
                    slot.attemptNo,
                    slot.startOffset,
                    elapsed(),
                    slot.lane,
                    Cause.sequential(causeOf(pending.result), cause) as Cause.Cause<Err>
                  )
                  : pending.result as Result
              )
            }
            // The run's deadline or the run's interruption stopped the wait: the last attempt counts as failed.
            const duration = elapsed()
            keepAttempt(pending, waitFrom)
            return complete(
              slot.expired === "RunDeadline"
                ? TaskResult.unsafeTimedOut(
                  slot.task,
                  slot.index,
                  origin,
                  slot.attemptNo,
                  slot.startOffset,
                  duration,
                  slot.lane,
                  "RunDeadline",
                  Duration.millis(slot.limitMillis)
                )
                : TaskResult.unsafeInterrupted(
                  slot.task,
                  slot.index,
                  origin,
                  slot.attemptNo,
                  slot.startOffset,
                  duration,
                  slot.lane,
                  "Interrupted",
                  cause as Cause.Cause<never>
                )
            )
          }
        })
      }
      slot.retry = retryPending as () => Effect.Effect<void, never, never>

      // The outcome of a failed attempt: retried, or the task's result.
      const failedAttempt = (cause: Cause.Cause<unknown>): Effect.Effect<void, never, R | RS> => {
        const now = clock.unsafeCurrentTimeMillis()
        const duration = now - startedAt - slot.startOffset
        const { index, startOffset, task } = slot
        const attemptNo = slot.attemptNo
        // The watchdog interrupted this fiber; if the agent failed first, its failure stands.
        const result: Result = slot.expired !== undefined && Cause.isInterrupted(cause)
          ? TaskResult.unsafeTimedOut(
            task,
            index,
            origin,
            attemptNo,
            startOffset,
            duration,
            slot.lane,
            slot.expired,
            Duration.millis(slot.limitMillis)
          )
          : TaskResult.isInterruption(cause)
          ? TaskResult.unsafeInterrupted(
            task,
            index,
            origin,
            attemptNo,
            startOffset,
            duration,
            slot.lane,
            "Interrupted",
            cause as Cause.Cause<never>
          )
          : TaskResult.unsafeFailed(
            task,
            index,
            origin,
            attemptNo,
            startOffset,
            duration,
            slot.lane,
            slot.phase === "build"
              ? Cause.map(cause as Cause.Cause<EL>, (error): Err =>
                new AgentError.AgentBuildError({ agent: slot.instance.name, taskId: task.id, cause: error }))
              : cause as Cause.Cause<Err>
          )
        if (result._tag === "Interrupted") {
          return complete(result)
        }
        const error = result._tag === "TimedOut"
          ? (result.reason === "TaskTimeout" ? result.error : undefined)
          : Option.getOrUndefined(Cause.failureOption(result.cause))
        let effect: Effect.Effect<void> = Effect.void
        if (adaptive !== undefined && error !== undefined && Retry.isRateLimited(error)) {
          effect = adaptive.onRateLimited(slot.attemptOffset, now - startedAt)
        }
        if (retry === undefined || error === undefined || !retry.while(error)) {
          return adaptive === undefined ? complete(result) : Effect.zipRight(effect, complete(result))
        }
        heap.remove(slot)
        if (slot.span !== undefined) {
          endSpan(slot.span, result)
        }
        slot.pending = {
          result,
          error,
          startOffset: slot.attemptOffset,
          durationMillis: now - startedAt - slot.attemptOffset
        }
        if (events !== undefined) {
          effect = Effect.zipRight(
            effect,
            publish(RunEvent.RunEvent.TaskRetrying({
              runId,
              at: now,
              taskId: task.id,
              index,
              attempt: attemptNo,
              outcome: result._tag,
              message: TaskResult.message(result)
            }))
          )
        }
        // A timed-out attempt's worker retires: its successor carries on with the retry.
        const then = slot.expired !== undefined ? Effect.void : retryPending()
        if (logs) {
          effect = Effect.zipRight(effect, logRetry(slot, slot.pending))
        }
        return Effect.zipRight(effect, then)
      }

      // An attempt ends once the fibers its agent forked and left running have ended too (below).
      const settled = <A>(then: () => Effect.Effect<A, never, R | RS>) => {
        const forks = endForks(slot.fiber!)
        return forks === undefined ? then() : Effect.zipRight(forks, Effect.suspend(then))
      }
      slot.attempt = Effect.matchCauseEffect(Effect.interruptible(attempt), {
        onSuccess: (value) =>
          settled(() =>
            complete(
              TaskResult.unsafeSucceeded(
                slot.task,
                slot.index,
                origin,
                slot.attemptNo,
                slot.startOffset,
                elapsed(),
                slot.lane,
                value
              )
            )
          ),
        // A worker the watchdog interrupted retires, and its forks end with it.
        onFailure: (cause) =>
          slot.expired !== undefined ? failedAttempt(cause) : settled(() =>
            failedAttempt(cause)
          )
      }) as Effect.Effect<void, never, never>
      if (spans !== undefined) {
        const run = slot.attempt
        const makeSpan = Effect.makeSpan("Executor.task", {
          parent: Option.getOrUndefined(spans.parent),
          root: Option.isNone(spans.parent),
          kind: "internal",
          captureStackTrace: false
        })
        slot.attempt = Effect.flatMap(
          makeSpan,
          (span) => {
            span.attribute("agent", agentName)
            span.attribute("agentInstance", slot.instance.name)
            span.attribute("taskId", slot.task.id)
            span.attribute("attempt", slot.attemptNo)
            // The task's context is not published yet: the attempt sets it, and the agent's spans nest under this one.
            slot.span = span
            slot.context.unsafeMap.set(Tracer.ParentSpan.key, span)
            return run
          }
        )
      }
      if (logs) {
        slot.attempt = Effect.zipRight(
          Effect.suspend(() => logStart(slot)),
          slot.attempt
        )
      }
      return slot
    }

    const slots = Array.from({ length: plan.concurrency }, makeSlot)

    // One attempt of the task under way, with a fresh agent instance and context.
    const beginAttempt = (slot: Slot, attemptNo: number): Effect.Effect<void, never, R | RS> => {
      const task = slot.task
      const instance = AgentInstance.unsafeMake(agentName, runId, task.id, attemptNo)
      const map = new Map(template)
      map.set(AgentInstance.AgentInstance.key, instance)
      map.set(Usage.UsageMeter.key, slot.meter)
      slot.attemptNo = attemptNo
      slot.instance = instance
      slot.input = task.input
      slot.context = Context.unsafeMake(map)
      slot.phase = decodeInput === undefined ? "build" : "input"
      slot.span = undefined
      const now = clock.unsafeCurrentTimeMillis()
      slot.attemptOffset = now - startedAt
      if (rateLimit === undefined && slot.timeoutMillis !== Infinity) {
        arm(slot, now + slot.timeoutMillis)
      }
      return events === undefined ? slot.attempt : Effect.zipRight(
        publish(RunEvent.RunEvent.TaskStarted({
          runId,
          at: now,
          taskId: task.id,
          index: slot.index,
          agent: instance.name,
          attempt: attemptNo
        })),
        slot.attempt
      )
    }

    // A task that never starts: recorded as failed with `error`, and returned for the caller to emit.
    const notStarted = (task: Task.Task<unknown>, index: number, error: AgentError.AgentError): Result => {
      const result = TaskResult.unsafeFailed(task, index, undefined, 0, 0, 0, -1, Cause.fail(error))
      record(result)
      return result
    }

    // Starts a task on the slot. A task with an invalid option of its own, or that does not fit the budget, is
    // recorded as failed without calling its agent, and its result is returned for the caller to emit.
    const tryStart = (
      slot: Slot,
      task: Task.Task<unknown>,
      index: number,
      now: number
    ): Effect.Effect<void, never, R | RS> | Result => {
      const timeoutError = Task.timeoutError(task)
      if (timeoutError !== undefined) {
        return notStarted(
          task,
          index,
          new AgentError.TaskOptionsError({
            agent: agentName,
            taskId: task.id,
            option: "timeout",
            description: timeoutError
          })
        )
      }
      if (budget !== undefined) {
        const wanted = estimate === undefined ? Usage.empty : estimate(task)
        const exhausted = budget.unsafeReserve(wanted)
        if (exhausted !== undefined) {
          const snapshot = budget.unsafeSnapshot()
          const amount = (usage: Usage.Usage) =>
            exhausted === "tokens" ? Usage.totalTokens(usage) : exhausted === "cost" ? usage.cost : usage.requests
          return notStarted(
            task,
            index,
            new AgentError.BudgetExceeded({
              agent: agentName,
              taskId: task.id,
              resource: exhausted,
              limit: snapshot.limits[exhausted]!,
              used: amount(snapshot.used),
              reserved: amount(snapshot.reserved)
            })
          )
        }
        slot.estimate = wanted
      } else if (estimate !== undefined) {
        slot.estimate = estimate(task)
      }
      slot.task = task
      slot.index = index
      slot.meter = new TaskMeter(labelsFor)
      slot.busy = true
      slot.startOffset = now - startedAt
      slot.timeoutMillis = task.timeout === undefined ? plan.timeoutMillis : Duration.toMillis(task.timeout)
      if (++inFlight > peakInFlight) {
        peakInFlight = inFlight
      }
      ExecutorMetrics.tasksStarted.unsafeUpdate(1, labels)
      ExecutorMetrics.tasksInFlight.unsafeModify(1, labels)
      ExecutorMetrics.queueWaitMillis.unsafeUpdate(slot.startOffset, durationLabels)
      return beginAttempt(slot, 1)
    }

    // Whether dispatch is still open now: no task starts at or after the deadline, whether or not the watchdog
    // has woken yet.
    const open = (now: number) => {
      if (closed) return false
      if (now >= runDeadlineAt) {
        closed = true
        stoppedBy = "RunDeadline"
        return false
      }
      return true
    }

    // Takes the next task that fits the budget, from the list or from the stream.
    const begin = (slot: Slot): Effect.Effect<void, never, R | RS> => {
      if (streaming) return open(clock.unsafeCurrentTimeMillis()) && !inputDone ? pull(slot) : Effect.void
      let emitted: Effect.Effect<void> | undefined
      while (cursor < n) {
        const now = clock.unsafeCurrentTimeMillis()
        if (!open(now)) break
        const index = cursor++
        ExecutorMetrics.queueDepth.unsafeModify(-1, labels)
        const started = tryStart(slot, tasks[index]!, index, now)
        if (Effect.isEffect(started)) return emitted === undefined ? started : Effect.zipRight(emitted, started)
        if (events !== undefined) {
          emitted = emitted === undefined
            ? emit(started)
            : Effect.zipRight(emitted, emit(started))
        }
      }
      return emitted ?? Effect.void
    }

    // A stream run's worker waits for the next task; the run's interruption stops the wait.
    const pull = (slot: Slot): Effect.Effect<void, never, R | RS> =>
      slot.pull ??= Effect.matchCauseEffect(Effect.interruptible(input!.take), {
        onFailure: (cause) => {
          if (Cause.isInterruptedOnly(cause)) return Effect.void
          inputDone = true
          // The input ended (`NoSuchElementException`), or failed: then no task starts any more, and the run's
          // stream fails once the tasks under way are reported.
          if (!(Cause.isFailType(cause) && Cause.isNoSuchElementException(cause.error))) {
            inputFailure = cause
            closed = true
          }
          return Effect.void
        },
        onSuccess: (task) => {
          const now = clock.unsafeCurrentTimeMillis()
          const index = cursor++
          const queued = events === undefined
            ? Effect.void
            : publish(RunEvent.RunEvent.TaskQueued({ runId, at: now, taskId: task.id, index }))
          if (!open(now)) {
            // Read, but the run stopped: reported as never started.
            const result: Result = TaskResult.unsafeInterrupted(
              task,
              index,
              undefined,
              0,
              0,
              0,
              -1,
              stoppedBy,
              Cause.interrupt(FiberId.none)
            )
            record(result)
            return Effect.zipRight(queued, emit(result))
          }
          const started = tryStart(slot, task, index, now)
          return Effect.zipRight(
            queued,
            Effect.isEffect(started) ? started : Effect.zipRight(emit(started), Effect.suspend(() => begin(slot)))
          )
        }
      }) as Effect.Effect<void, never, never>

    // With adaptive concurrency a worker holds a permit while its task runs, and waits for one before the next.
    const step: (slot: Slot) => Effect.Effect<void, never, R | RS> = adaptive === undefined
      ? begin
      : (slot) =>
        closed || !hasMore() ?
          Effect.void :
          Effect.matchCauseEffect(Effect.interruptible(adaptive.semaphore.take(1)), {
            onFailure: () => Effect.void,
            onSuccess: () => {
              const effect = begin(slot)
              return slot.busy ? effect : Effect.zipRight(adaptive.semaphore.release(1), effect)
            }
          })

    // Workers are forked uninterruptible, so that only their agent regions can be interrupted and a worker that
    // caught a timeout can still finish recording. A worker that caught one retires and forks its successor first,
    // so the set of workers is empty only when the work is done. Closing the set (the run ends or is interrupted)
    // interrupts the workers through their agent regions and waits for them.
    const worker = (slot: Slot): Effect.Effect<void, never, R | RS> =>
      Effect.withFiberRuntime((fiber) => {
        slot.fiber = fiber
        slot.expired = undefined
        return Effect.flatMap(
          slot.pending !== undefined ? slot.retry() : step(slot),
          () =>
            slot.expired !== undefined && (slot.pending !== undefined || (!closed && hasMore()))
              ? start(slot)
              : Effect.void
        )
      })
    let workers: FiberSet.FiberSet<void, never>
    const start = (slot: Slot): Effect.Effect<void, never, R | RS> =>
      Effect.asVoid(Effect.uninterruptible(FiberSet.run(workers, worker(slot))))

    // The report of a run over a list. A stream run's results have gone out one by one: its report holds none.
    const report = () => {
      let aggregate: S = undefined as S
      if (plan.aggregate !== undefined) {
        const fold = plan.aggregate.start()
        for (const result of results) {
          fold.step(result)
        }
        aggregate = fold.done()
      }
      return RunReport.make({
        runId,
        agent: agentName,
        results,
        aggregate,
        startedAt,
        endedAt: clock.unsafeCurrentTimeMillis(),
        concurrency: plan.concurrency,
        peakInFlight,
        models,
        budget: budget?.unsafeSnapshot(),
        adaptive: adaptive === undefined
          ? undefined
          : {
            initial: Math.floor(adaptive.options.initial),
            lowest: adaptive.lowest,
            final: adaptive.permits,
            decreases: adaptive.decreases
          }
      })
    }

    const neverStarted = (task: Task.Task<unknown>, index: number): Result =>
      TaskResult.unsafeInterrupted(task, index, undefined, 0, 0, 0, -1, stoppedBy, Cause.interrupt(FiberId.none))

    // Reports the tasks the run's deadline or its failure policy kept from starting: the rest of the list, or the
    // tasks a stream run had read and not started. Then the run is over.
    const finish: Effect.Effect<RunReport.RunReport<TOut, Err, S>> = Effect.suspend(() => {
      let emitted: Effect.Effect<void> = Effect.void
      for (let index = cursor; index < n; index++) {
        const result = neverStarted(tasks[index]!, index)
        record(result)
        if (events !== undefined) emitted = Effect.zipRight(emitted, emit(result))
      }
      const ended = Effect.zipRight(
        emitted,
        publish(RunEvent.RunEvent.RunFinished({
          runId,
          at: clock.unsafeCurrentTimeMillis(),
          summary: { ...summary },
          wallMillis: clock.unsafeCurrentTimeMillis() - startedAt
        }))
      )
      if (!streaming) return Effect.as(ended, report())
      return Effect.gen(function*() {
        // What a stream run read and did not start (its input is closed with the run's scope).
        for (const task of yield* Effect.orElseSucceed(input.clear, () => [])) {
          const result = neverStarted(task, cursor++)
          record(result)
          yield* emit(result)
        }
        yield* ended
        yield* inputFailure === undefined ? output!.end : output!.failCause(inputFailure)
        return report()
      })
    })

    const started = publish(RunEvent.RunEvent.RunStarted({
      runId,
      at: startedAt,
      agent: agentName,
      total: streaming ? undefined : n,
      concurrency: plan.concurrency
    }))
    const queued = events === undefined || streaming ? started : Effect.zipRight(
      started,
      PubSub.publishAll(
        events,
        tasks.map((task, index) => RunEvent.RunEvent.TaskQueued({ runId, at: startedAt, taskId: task.id, index }))
      )
    )

    if (n === 0 && !streaming) {
      return Effect.zipRight(queued, finish)
    }

    if (!streaming) ExecutorMetrics.queueDepth.unsafeModify(n, labels)
    // Every outcome counter has a series from the first run, so that rates over them read 0 rather than nothing.
    for (const counter of outcomeCounters) counter.unsafeUpdate(0, labels)
    return Effect.scoped(
      Effect.gen(function*() {
        yield* queued
        yield* Effect.forkScoped(
          Effect.flatMap(Effect.fiberId, (id) => {
            watchdogId = id
            return watchdog
          })
        )
        workers = yield* FiberSet.make<void, never>()
        for (const slot of slots) {
          yield* start(slot)
        }
        // Every worker ends when there is nothing left to do; a defect in one (a bug in the engine) fails the run.
        yield* Effect.raceFirst(FiberSet.awaitEmpty(workers), FiberSet.join(workers))
      })
    ).pipe(
      // Tasks that never started leave the queue when the run ends, however it ends.
      Effect.ensuring(Effect.sync(() => {
        if (!streaming) ExecutorMetrics.queueDepth.unsafeModify(cursor - n, labels)
      })),
      Effect.zipRight(finish)
    )
  })

const causeOf = (result: TaskResult.TimedOut | TaskResult.Failed<unknown>): Cause.Cause<unknown> =>
  result._tag === "TimedOut" ? Cause.fail(result.error) : result.cause

const outcomeCounters = [
  ExecutorMetrics.tasksStarted,
  ExecutorMetrics.tasksSucceeded,
  ExecutorMetrics.tasksFailed,
  ExecutorMetrics.tasksTimedOut,
  ExecutorMetrics.tasksInterrupted,
  ExecutorMetrics.tasksRetried
]

const outcomeWords = {
  Succeeded: "succeeded",
  Failed: "failed",
  TimedOut: "timed out",
  Interrupted: "interrupted"
} as const
