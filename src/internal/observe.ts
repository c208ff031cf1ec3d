import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FiberRef from "effect/FiberRef"
import * as LogLevel from "effect/LogLevel"
import * as MetricLabel from "effect/MetricLabel"
import * as Option from "effect/Option"
import type * as Tracer from "effect/Tracer"
import type * as AgentInstance from "../AgentInstance.js"
import * as ExecutorMetrics from "../ExecutorMetrics.js"
import * as RunEvent from "../RunEvent.js"
import type * as Task from "../Task.js"
import * as TaskResult from "../TaskResult.js"
import * as Usage from "../Usage.js"
import { Outbox, Output } from "./outbox.js"

/**
 * What a run shows of itself while it goes: metrics (by agent, with the app's ambient labels), run events (when the
 * app follows them), Debug log lines at each task's start and end (when the log level lets them through), and an
 * `Executor.task` span per task (when the app installed a tracer). Each part costs nothing when it is off.
 *
 * @internal
 */
export interface Observer {
  readonly runId: string
  readonly agent: string
  /** The run's metric labels: `agent`, then the app's ambient labels. */
  readonly labels: ReadonlyArray<MetricLabel.MetricLabel>
  /** Whether run events are followed: then attempts get a `TaskOutput`. */
  readonly events: boolean
  /** Whether tasks log Debug lines at their start and end (the log level lets them through). */
  readonly logs: boolean
  /** Publishes an event now, after the run's events that wait for their turn: for a run's start and its end. */
  readonly publish: (event: RunEvent.RunEvent) => Effect.Effect<void>
  readonly queued: (task: Task.Task<unknown>, index: number, at: number) => Effect.Effect<void>
  /** Tasks wait for their turn (`n` more), or leave the queue (`n` negative). */
  readonly queue: (n: number) => void
  /** A task is admitted: counted as started and in flight. */
  readonly admitted: (waitMillis: number) => void
  /** What to do when an attempt starts; `undefined` when there is nothing to do (no events, no Debug lines). */
  readonly attemptStarted: (
    task: Task.Task<unknown>,
    index: number,
    instance: AgentInstance.Service,
    attempt: number,
    at: number
  ) => Effect.Effect<void> | undefined
  readonly retrying: (options: {
    readonly task: Task.Task<unknown>
    readonly index: number
    readonly agent: string
    readonly attempt: number
    readonly outcome: "Failed" | "TimedOut"
    readonly message: string
    readonly delayMillis: number
    readonly at: number
  }) => Effect.Effect<void>
  /** Counts a task's end; the effect that publishes it, or `undefined` when there is nothing to publish. */
  readonly ended: (
    result: TaskResult.TaskResult<unknown, unknown>,
    at: number,
    started: boolean
  ) => Effect.Effect<void> | undefined
  /** Makes a task's span; `undefined` when spans are off. */
  readonly span: Effect.Effect<Tracer.Span> | undefined
  readonly endSpan: (span: Tracer.Span, result: TaskResult.TaskResult<unknown, unknown>, nanos: bigint) => void
  /** A usage meter for one task: it records on the task and on the model metrics. */
  readonly meter: () => Meter
  /** The output of one attempt, published as `TaskOutput` events, coalesced. */
  readonly output: (
    task: Task.Task<unknown>,
    index: number,
    attempt: number,
    now: () => number
  ) => Output
}

// Effect's built-in tracer exports nowhere: with it, a span per task would be pure cost, so the engine makes task
// spans only when the app has installed a tracer (OpenTelemetry, DevTools, its own). The run span is always made.
let builtIn: Tracer.Tracer | undefined
const builtInTracer = (): Tracer.Tracer => builtIn ??= Effect.runSync(Effect.tracer)

const outcomeWords = {
  Succeeded: "succeeded",
  Failed: "failed",
  TimedOut: "timed out",
  Interrupted: "interrupted"
} as const

const outcomeCounters = [
  ExecutorMetrics.tasksStarted,
  ExecutorMetrics.tasksSucceeded,
  ExecutorMetrics.tasksFailed,
  ExecutorMetrics.tasksTimedOut,
  ExecutorMetrics.tasksInterrupted,
  ExecutorMetrics.tasksRetried
]

const noModels: ReadonlyArray<string> = Object.freeze([])

/**
 * What one task's agents used: the meter the engine provides to every attempt of a task.
 *
 * @internal
 */
export class Meter implements Usage.Meter {
  requests = 0
  inputTokens = 0
  outputTokens = 0
  cost = 0
  /** Shared and empty until a model answers: most tasks of a big run record nothing. */
  models: ReadonlyArray<string> = noModels
  constructor(private readonly labelsFor: (model: string) => ReadonlyArray<MetricLabel.MetricLabel>) {}
  record(recorded: Usage.Record): void {
    // Whoever records (`Usage.record`, a model's answer read by its agent): a figure that is not a count is left out.
    const usage = Usage.countsOf(recorded).usage
    const model = usage.model ?? "unknown"
    const requests = usage.requests ?? 1
    const inputTokens = usage.inputTokens ?? 0
    const outputTokens = usage.outputTokens ?? 0
    this.requests += requests
    this.inputTokens += inputTokens
    this.outputTokens += outputTokens
    this.cost += usage.cost ?? 0
    if (!this.models.includes(model)) this.models = this.models === noModels ? [model] : [...this.models, model]
    const labels = this.labelsFor(model)
    if (requests !== 0) ExecutorMetrics.modelRequests.unsafeUpdate(requests, labels)
    if (inputTokens !== 0) ExecutorMetrics.modelInputTokens.unsafeUpdate(inputTokens, labels)
    if (outputTokens !== 0) ExecutorMetrics.modelOutputTokens.unsafeUpdate(outputTokens, labels)
  }
  get current(): Usage.Usage {
    return this.requests === 0 && this.inputTokens === 0 && this.outputTokens === 0 && this.cost === 0
      ? Usage.empty
      : { requests: this.requests, inputTokens: this.inputTokens, outputTokens: this.outputTokens, cost: this.cost }
  }
}

interface Labels {
  readonly labels: ReadonlyArray<MetricLabel.MetricLabel>
  readonly durationLabels: ReadonlyArray<MetricLabel.MetricLabel>
}

// The metric labels of the runs of an agent (with the same ambient labels) are one array: a metric finds its series
// for an array it has seen at once, and looks up its registry for a new one (a run of one would pay that for each of
// its metrics). Bounded: a program whose ambient labels are per request starts over past the bound.
const labelsCache = new Map<string, Labels>()
const labelsCacheSize = 1_024

const labelsOf = (agent: string, ambient: ReadonlyArray<MetricLabel.MetricLabel>): Labels => {
  // JSON: no agent name or label can make two different sets read the same.
  const key = JSON.stringify([agent, ...ambient.map((label) => [label.key, label.value])])
  let found = labelsCache.get(key)
  if (found === undefined) {
    const labels = [MetricLabel.make("agent", agent), ...ambient]
    found = { labels, durationLabels: [ExecutorMetrics.timeUnitLabel, ...labels] }
    // Every outcome counter has a series from the first run, so that rates over them read 0 rather than nothing.
    for (const counter of outcomeCounters) counter.unsafeUpdate(0, labels)
    if (labelsCache.size >= labelsCacheSize) labelsCache.clear()
    labelsCache.set(key, found)
  }
  return found
}

/**
 * An observer for one run, reading the app's settings from the calling fiber once.
 *
 * @internal
 */
export const make = (options: { readonly runId: string; readonly agent: string }) =>
  Effect.gen(function*() {
    const { agent, runId } = options
    const hub = Option.getOrUndefined(yield* Effect.serviceOption(RunEvent.Hub))
    const pubsub = hub === undefined ? undefined : RunEvent.pubsubOf(hub)
    const { durationLabels, labels } = labelsOf(agent, yield* FiberRef.get(FiberRef.currentMetricLabels))
    const logs = LogLevel.greaterThanEqual(LogLevel.Debug, yield* FiberRef.get(FiberRef.currentMinimumLogLevel))
    const spans = (yield* FiberRef.get(FiberRef.currentTracerEnabled)) && (yield* Effect.tracer) !== builtInTracer()
      ? {
        parent: yield* Effect.option(Effect.currentSpan),
        timing: yield* FiberRef.get(FiberRef.currentTracerTimingEnabled)
      }
      : undefined
    const modelLabels = new Map<string, ReadonlyArray<MetricLabel.MetricLabel>>()
    const labelsFor = (model: string) => {
      let found = modelLabels.get(model)
      if (found === undefined) {
        found = [labels[0]!, MetricLabel.make("model", model), ...labels.slice(1)]
        modelLabels.set(model, found)
      }
      return found
    }

    const outbox = pubsub === undefined ? undefined : new Outbox(pubsub)
    // A task's events wait for the turn's end; the run's start and end go at once (its end after every task event).
    const add = (event: RunEvent.RunEvent): Effect.Effect<void> =>
      outbox === undefined ? Effect.void : outbox.add(event)
    const publish = (event: RunEvent.RunEvent): Effect.Effect<void> =>
      outbox === undefined ? Effect.void : outbox.flush(event)

    const annotations = (task: Task.Task<unknown>, instance: string | undefined, attempt: number) => ({
      package: "effect-parallel-agents",
      module: "Executor",
      runId,
      taskId: task.id,
      agent,
      agentInstance: instance,
      attempt
    })

    const ended = (result: TaskResult.TaskResult<unknown, unknown>, at: number, started: boolean) => {
      switch (result._tag) {
        case "Succeeded":
          ExecutorMetrics.tasksSucceeded.unsafeUpdate(1, labels)
          break
        case "Failed":
          ExecutorMetrics.tasksFailed.unsafeUpdate(1, labels)
          break
        case "TimedOut":
          ExecutorMetrics.tasksTimedOut.unsafeUpdate(1, labels)
          break
        case "Interrupted":
          ExecutorMetrics.tasksInterrupted.unsafeUpdate(1, labels)
          break
      }
      if (started) {
        ExecutorMetrics.tasksInFlight.unsafeModify(-1, labels)
        if (!result.replayed) ExecutorMetrics.taskDurationMillis.unsafeUpdate(result.durationMillis, durationLabels)
      }
      const event = outbox === undefined ? undefined : add(RunEvent.ended(runId, at, result))
      if (!logs || !started) return event
      return Effect.zipRight(
        event ?? Effect.void,
        Effect.annotateLogs(
          Effect.logDebug(`Task ${outcomeWords[result._tag]}`),
          result._tag === "Succeeded"
            ? {
              ...annotations(result.task, result.agent, result.attempt),
              status: result._tag,
              durationMillis: result.durationMillis
            }
            : {
              ...annotations(result.task, result.agent, result.attempt),
              status: result._tag,
              durationMillis: result.durationMillis,
              error: TaskResult.message(result)
            }
        )
      )
    }

    const observer: Observer = {
      runId,
      agent,
      labels,
      events: pubsub !== undefined,
      logs,
      publish,
      queued: (task, index, at) =>
        pubsub === undefined
          ? Effect.void
          : add(RunEvent.RunEvent.TaskQueued({ runId, at, taskId: task.id, index })),
      queue: (n) => ExecutorMetrics.queueDepth.unsafeModify(n, labels),
      admitted: (waitMillis) => {
        ExecutorMetrics.tasksStarted.unsafeUpdate(1, labels)
        ExecutorMetrics.tasksInFlight.unsafeModify(1, labels)
        ExecutorMetrics.queueWaitMillis.unsafeUpdate(waitMillis, durationLabels)
      },
      attemptStarted: (task, index, instance, attempt, at) => {
        outbox?.push(
          RunEvent.RunEvent.TaskStarted({ runId, at, taskId: task.id, index, agent: instance.name, attempt })
        )
        return logs
          ? Effect.annotateLogs(Effect.logDebug("Task started"), annotations(task, instance.name, attempt))
          : undefined
      },
      retrying: (options) => {
        ExecutorMetrics.tasksRetried.unsafeUpdate(1, labels)
        const event = outbox === undefined ? Effect.void : add(RunEvent.RunEvent.TaskRetrying({
          runId,
          at: options.at,
          taskId: options.task.id,
          index: options.index,
          attempt: options.attempt,
          outcome: options.outcome,
          message: options.message,
          delayMillis: options.delayMillis
        }))
        return logs
          ? Effect.zipRight(
            event,
            Effect.annotateLogs(Effect.logDebug("Task attempt failed, retrying"), {
              ...annotations(options.task, options.agent, options.attempt),
              status: options.outcome,
              error: options.message,
              delayMillis: options.delayMillis
            })
          )
          : event
      },
      ended,
      span: spans === undefined ? undefined : Effect.makeSpan("Executor.task", {
        parent: Option.getOrUndefined(spans.parent),
        root: Option.isNone(spans.parent),
        kind: "internal",
        captureStackTrace: false
      }),
      endSpan: (span, result, nanos) => {
        span.attribute("agent", agent)
        if (result.agent !== undefined) span.attribute("agentInstance", result.agent)
        span.attribute("taskId", result.taskId)
        span.attribute("attempt", result.attempt)
        span.attribute("outcome", result._tag)
        span.end(
          spans!.timing ? nanos : BigInt(0),
          result._tag === "Succeeded"
            ? Exit.void
            : result._tag === "TimedOut"
            ? Exit.fail(result.error)
            : Exit.failCause(result.cause)
        )
      },
      meter: () => new Meter(labelsFor),
      output: (task, index, attempt, now) => new Output(outbox!, runId, task.id, index, attempt, now)
    }
    return observer
  })
