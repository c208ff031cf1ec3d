/**
 * What happens in runs, as it happens: a run starts, tasks are queued, start, are retried, end (succeeded,
 * failed, timed out, interrupted), and the run finishes. Provide `RunEvent.layer()` and every run of the app
 * publishes its events; any number of subscribers follow them with `RunEvent.stream` (a progress bar, a log, a
 * dashboard, a test). Each subscriber has a bounded buffer: one that falls behind loses its oldest events and
 * never slows a run.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as PubSub from "effect/PubSub"
import type * as Queue from "effect/Queue"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import type { RunOptionsError } from "./AgentError.js"
import * as internalOptions from "./internal/options.js"
import type * as RunReport from "./RunReport.js"
import type * as TaskResult from "./TaskResult.js"

/**
 * One event of one run. Every event has the run's id and `at`, the time in milliseconds since the epoch as the
 * run's `Clock` tells it.
 *
 * - `RunStarted`: with the agent, the number of tasks (`undefined` for a stream of tasks) and the concurrency.
 * - `TaskQueued`: a task entered the run (all at once for a list of tasks; as they are read for a stream).
 * - `TaskStarted`: an attempt started, with its agent instance's unique name.
 * - `TaskRetrying`: an attempt failed and will be retried after `delayMillis`.
 * - `TaskOutput`: what a running attempt has written so far since its last `TaskOutput` (see `TaskOutput.emit`).
 * - `TaskSucceeded`, `TaskFailed`, `TaskTimedOut`, `TaskInterrupted`: a task ended, with its result.
 * - `RunFinished`: with the summary and the wall time.
 *
 * @category models
 * @since 0.1.0
 */
export type RunEvent = Data.TaggedEnum<{
  RunStarted: {
    readonly runId: string
    readonly at: number
    readonly agent: string
    readonly total: number | undefined
    readonly concurrency: number
  }
  TaskQueued: { readonly runId: string; readonly at: number; readonly taskId: string; readonly index: number }
  TaskStarted: {
    readonly runId: string
    readonly at: number
    readonly taskId: string
    readonly index: number
    readonly agent: string
    readonly attempt: number
  }
  TaskRetrying: {
    readonly runId: string
    readonly at: number
    readonly taskId: string
    readonly index: number
    readonly attempt: number
    readonly outcome: "Failed" | "TimedOut"
    readonly message: string
    /** How long the engine waits before the next attempt, in milliseconds. */
    readonly delayMillis: number
  }
  TaskOutput: {
    readonly runId: string
    readonly at: number
    readonly taskId: string
    readonly index: number
    readonly attempt: number
    /** The text written since the previous `TaskOutput` of this attempt. */
    readonly delta: string
  }
  TaskSucceeded: TaskEnded<TaskResult.Succeeded<unknown>>
  TaskFailed: TaskEnded<TaskResult.Failed<unknown>>
  TaskTimedOut: TaskEnded<TaskResult.TimedOut>
  TaskInterrupted: TaskEnded<TaskResult.Interrupted>
  RunFinished: {
    readonly runId: string
    readonly at: number
    readonly summary: RunReport.Summary
    readonly wallMillis: number
  }
}>

/**
 * The fields of the events that end a task.
 *
 * @category models
 * @since 0.1.0
 */
export interface TaskEnded<R extends TaskResult.TaskResult<unknown, unknown>> {
  readonly runId: string
  readonly at: number
  readonly taskId: string
  readonly index: number
  readonly result: R
}

/**
 * Constructors and `$is` / `$match` for events.
 *
 * @category constructors
 * @since 0.1.0
 */
export const RunEvent = Data.taggedEnum<RunEvent>()

/**
 * The event that ends a task with this result.
 *
 * @category constructors
 * @since 0.1.0
 */
export const ended = (runId: string, at: number, result: TaskResult.TaskResult<unknown, unknown>): RunEvent => {
  const fields = { runId, at, taskId: result.taskId, index: result.index }
  switch (result._tag) {
    case "Succeeded":
      return RunEvent.TaskSucceeded({ ...fields, result })
    case "Failed":
      return RunEvent.TaskFailed({ ...fields, result })
    case "TimedOut":
      return RunEvent.TaskTimedOut({ ...fields, result })
    case "Interrupted":
      return RunEvent.TaskInterrupted({ ...fields, result })
  }
}

// =============================================================================
// the hub
// =============================================================================

/**
 * @category models
 * @since 0.1.0
 */
export interface Service {
  /**
   * Subscribes: the queue gets every event published from now on, until the scope closes. It can only be read
   * (`Queue.take`, `Queue.takeAll`, `Stream.fromQueue`): only the engine publishes.
   */
  readonly subscribe: Effect.Effect<Queue.Dequeue<RunEvent>, never, Scope.Scope>
}

class HubImpl implements Service {
  readonly subscribe: Effect.Effect<Queue.Dequeue<RunEvent>, never, Scope.Scope>
  constructor(readonly pubsub: PubSub.PubSub<RunEvent>) {
    this.subscribe = PubSub.subscribe(pubsub)
  }
}

/**
 * Where runs publish their events; runs publish nothing when it is absent. Only the engine publishes.
 *
 * @category services
 * @since 0.1.0
 */
export class Hub extends Context.Tag("effect-parallel-agents/RunEvent/Hub")<Hub, Service>() {}

/**
 * Where the engine publishes: the hub's `PubSub`, for a hub made here.
 *
 * @internal
 */
export const pubsubOf = (hub: Service): PubSub.PubSub<RunEvent> | undefined =>
  hub instanceof HubImpl ? hub.pubsub : undefined

/**
 * The default number of events a subscriber may fall behind by before it loses the oldest.
 *
 * @category constructors
 * @since 0.1.0
 */
export const defaultCapacity = 4096

/**
 * A hub of events, of `capacity` events per subscriber (see `layer`).
 *
 * @category constructors
 * @since 0.1.0
 */
export const make: {
  (): Effect.Effect<Service>
  (options: { readonly capacity?: number | undefined }): Effect.Effect<Service, RunOptionsError>
} =
  ((options?: { readonly capacity?: number | undefined }): Effect.Effect<Service, RunOptionsError> =>
    Either.match(decodeOptions(options), {
      onLeft: Effect.fail,
      onRight: ({ capacity = defaultCapacity }) =>
        Effect.map(PubSub.sliding<RunEvent>(capacity), (pubsub) => new HubImpl(pubsub))
    })) as never

// A hub's ring of events is allocated whole: past a million, a mistake (a count of bytes, say) rather than a capacity.
const decodeOptions = internalOptions.decoderOf(Schema.Struct({
  capacity: Schema.optional(Schema.Number.pipe(
    Schema.filter((n) =>
      Number.isInteger(n) && n >= 1 && n <= 1_000_000 || `expected a whole number from 1 to 1,000,000, got ${n}`
    )
  ))
}))

/**
 * Every run of the app publishes its events to one hub. `capacity` (4,096 by default) is how many events a
 * subscriber may fall behind by: past it, that subscriber loses its oldest events, and the run never waits. A
 * capacity that is not a whole number from 1 to 1,000,000 fails the layer with a `RunOptionsError` naming it.
 *
 * **Details**
 *
 * A run's task events reach the hub a turn of the event loop at a time, in the order they happened, so that a
 * subscriber is woken once for the tasks that start or end together rather than once for each event. A run's
 * `RunStarted` goes out at once, its `RunFinished` after all its other events and before its report is returned
 * (or its stream of results ends); a run that is interrupted, or whose stream of results is ended early, publishes
 * its `RunFinished` too, with the summary of what ended by then.
 *
 * **Example** (Following runs live)
 *
 * ```ts
 * import { Executor, RunEvent, Task } from "effect-parallel-agents"
 * import { Console, Effect, Layer, Stream } from "effect"
 * import { TestAgent } from "effect-parallel-agents/testing"
 *
 * const program = Effect.gen(function*() {
 *   const agent = yield* TestAgent.succeed("upper", (s: string) => s.toUpperCase())
 *   // Subscribe first: a subscriber sees what is published after it subscribed.
 *   const events = yield* RunEvent.subscribe
 *   yield* events.pipe(Stream.takeUntil(RunEvent.RunEvent.$is("RunFinished")), Stream.runForEach(Console.log), Effect.fork)
 *   yield* Executor.run(Task.fromIterable(["a", "b"]), agent.factory)
 * }).pipe(Effect.scoped, Effect.provide(Layer.mergeAll(Executor.layer(), RunEvent.layer())))
 * ```
 *
 * @category layers
 * @since 0.1.0
 */
export const layer: {
  (): Layer.Layer<Hub>
  (options: { readonly capacity?: number | undefined }): Layer.Layer<Hub, RunOptionsError>
} =
  ((options?: { readonly capacity?: number | undefined }): Layer.Layer<Hub, RunOptionsError> =>
    Layer.effect(Hub, make(options ?? {}))) as never

/**
 * Subscribes to the hub in context: the stream has every event published from now on, until the scope closes.
 *
 * @category services
 * @since 0.1.0
 */
export const subscribe: Effect.Effect<Stream.Stream<RunEvent>, never, Hub | Scope.Scope> = Effect.flatMap(
  Hub,
  (hub) => Effect.map(hub.subscribe, (queue) => Stream.fromQueue(queue))
)

/**
 * The events of the hub in context, from when the stream starts.
 *
 * @category services
 * @since 0.1.0
 */
export const stream: Stream.Stream<RunEvent, never, Hub> = Stream.unwrapScoped(subscribe)
