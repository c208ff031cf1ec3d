/**
 * Live output of agents: an agent that writes its answer bit by bit (a language model's stream, say) calls `emit`
 * with each new piece, and the run publishes it as a `TaskOutput` run event for the task under way, so that a
 * progress view or a dashboard shows each running task's text as it is written. The final result is unchanged.
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as PubSub from "effect/PubSub"
import * as AgentInstance from "./AgentInstance.js"
import * as RunEvent from "./RunEvent.js"

/**
 * Publishes `delta`, the next piece of the answer of the task under way, as a `TaskOutput` event. A no-op outside a
 * task, or when the run has no event hub (`RunEvent.layer`).
 *
 * @category constructors
 * @since 0.1.0
 */
export const emit = (delta: string): Effect.Effect<void> =>
  Effect.contextWithEffect((context: Context.Context<never>) => {
    const instance = Context.getOption(context, AgentInstance.AgentInstance)
    const events = Context.getOption(context, RunEvent.RunEvents)
    if (instance._tag === "None" || events._tag === "None" || delta === "") return Effect.void
    return Effect.flatMap(Clock.currentTimeMillis, (at) =>
      PubSub.publish(
        events.value.pubsub,
        RunEvent.RunEvent.TaskOutput({
          runId: instance.value.runId,
          at,
          taskId: instance.value.taskId,
          // The task's position is not known to an agent: the engine's own version fills it in.
          index: -1,
          attempt: instance.value.attempt,
          delta
        })
      ))
  })
