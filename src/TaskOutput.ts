/**
 * Partial output of a running task, for people watching a run live: an agent that writes its answer bit by bit (a
 * model that streams its text, a long report) emits each bit with `emit`, and the engine publishes it as
 * `TaskOutput` run events tagged with the task and the attempt. Bits are coalesced per attempt and published at
 * most every `interval` or every `maxChars` characters, so a fast writer never floods the events; what is left is
 * published when the attempt ends, before the event that ends the task. The task's result is not affected.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"

/**
 * Where the task under way writes its partial output.
 *
 * @category models
 * @since 0.1.0
 */
export interface Service {
  /** Adds text to the task's output. */
  readonly emit: (delta: string) => Effect.Effect<void>
}

/**
 * The partial output of the task under way, provided by the engine to each attempt when the app follows run events
 * (`RunEvent.layer`).
 *
 * @category services
 * @since 0.1.0
 */
export class TaskOutput extends Context.Tag("effect-parallel-agents/TaskOutput")<TaskOutput, Service>() {}

/**
 * How often an attempt's output is published at most, in milliseconds of the run's `Clock`.
 *
 * @category constructors
 * @since 0.1.0
 */
export const interval = 100

/**
 * How many characters an attempt's output may gather before it is published whatever the time.
 *
 * @category constructors
 * @since 0.1.0
 */
export const maxChars = 4096

/**
 * Emits partial output of the task under way: published as `TaskOutput` run events while the task runs. Outside a
 * task, or when no one follows run events, it does nothing.
 *
 * **Example** (An agent that writes its answer as it goes)
 *
 * ```ts
 * import { Agent, TaskOutput } from "effect-parallel-agents"
 * import { Effect } from "effect"
 *
 * const writer = Agent.make({
 *   name: "writer",
 *   run: (topic: string) =>
 *     Effect.gen(function*() {
 *       let text = ""
 *       for (const word of ["Notes", "on", topic]) {
 *         text += (text === "" ? "" : " ") + word
 *         yield* TaskOutput.emit(text === word ? word : ` ${word}`)
 *       }
 *       return text
 *     })
 * })
 * ```
 *
 * @category combinators
 * @since 0.1.0
 */
export const emit = (delta: string): Effect.Effect<void> =>
  Effect.flatMap(
    Effect.serviceOption(TaskOutput),
    (output) => output._tag === "Some" && delta !== "" ? output.value.emit(delta) : Effect.void
  )
