/**
 * The agent contract. An agent is a service: a `Context.Tag` whose service is an `Agent<In, Out, E>`, and its
 * factory is a `Layer` that builds one instance. The engine builds that layer afresh for every task attempt.
 *
 * @since 0.1.0
 */
import type * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import { type Pipeable, pipeArguments } from "effect/Pipeable"
import { hasProperty } from "effect/Predicate"
import type * as Types from "effect/Types"
import type * as AgentInstance from "./AgentInstance.js"
import * as agentBuild from "./internal/agentBuild.js"

/**
 * @category symbols
 * @since 0.1.0
 */
export const TypeId: unique symbol = Symbol.for("effect-parallel-agents/Agent")

/**
 * @category symbols
 * @since 0.1.0
 */
export type TypeId = typeof TypeId

/**
 * An agent: a name and a `run` that turns one input into one output or a typed error.
 *
 * @category models
 * @since 0.1.0
 */
export interface Agent<in In, out Out, out E = never> extends Pipeable {
  readonly [TypeId]: TypeId
  readonly name: string
  readonly run: (input: In) => Effect.Effect<Out, E>
}

const AgentProto = {
  [TypeId]: TypeId,
  pipe() {
    return pipeArguments(this, arguments)
  }
}

/**
 * Creates an agent. State the agent keeps between calls belongs in the factory that builds it, so that every
 * instance starts fresh.
 *
 * **Example** (An agent with per-instance state)
 *
 * ```ts
 * import { Agent } from "effect-parallel-agents"
 * import { Context, Effect, Layer } from "effect"
 *
 * class Counter extends Context.Tag("Counter")<Counter, Agent.Agent<string, number>>() {}
 *
 * const CounterLive = Layer.sync(Counter, () => {
 *   let calls = 0
 *   return Agent.make({ name: "counter", run: (_: string) => Effect.sync(() => ++calls) })
 * })
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = <In, Out, E = never>(options: {
  readonly name: string
  readonly run: (input: In) => Effect.Effect<Out, E>
}): Agent<In, Out, E> => {
  const self = Object.create(AgentProto)
  self.name = options.name
  self.run = options.run
  return self
}

/**
 * @category guards
 * @since 0.1.0
 */
export const isAgent = (u: unknown): u is Agent<unknown, unknown, unknown> => hasProperty(u, TypeId)

// =============================================================================
// Factory
// =============================================================================

/**
 * @category symbols
 * @since 0.1.0
 */
export const FactoryTypeId: unique symbol = Symbol.for("effect-parallel-agents/Agent/Factory")

/**
 * @category symbols
 * @since 0.1.0
 */
export type FactoryTypeId = typeof FactoryTypeId

/**
 * What the engine needs to build a fresh agent for every task attempt: the agent's tag and its factory layer.
 * `EL` is the layer's error, `R` what the layer needs from the app (shared clients, built once by the app).
 *
 * @category models
 * @since 0.1.0
 */
export interface Factory<in In, out Out, out E = never, out EL = never, out R = never> extends Pipeable {
  readonly [FactoryTypeId]: {
    readonly _In: Types.Contravariant<In>
    readonly _Out: Types.Covariant<Out>
    readonly _E: Types.Covariant<E>
    readonly _EL: Types.Covariant<EL>
    readonly _R: Types.Covariant<R>
  }
  /** The agent's name, used in instance names, metrics and logs. Defaults to the tag's key. */
  readonly name: string
}

/**
 * Any factory, whatever its types.
 *
 * @category models
 * @since 0.1.0
 */
export interface AnyFactory extends Factory<never, unknown, unknown, unknown, unknown> {}

/** @internal */
export interface FactoryImpl<In, Out, E, EL, R> extends Factory<In, Out, E, EL, R> {
  readonly builder: agentBuild.Builder<In, Out, E, EL, R>
}

const FactoryProto = {
  [FactoryTypeId]: {
    _In: (_: never) => _,
    _Out: (_: never) => _,
    _E: (_: never) => _,
    _EL: (_: never) => _,
    _R: (_: never) => _
  },
  pipe() {
    return pipeArguments(this, arguments)
  }
}

/**
 * Pairs an agent tag with the layer that builds it. The engine builds the layer afresh, in the task's own scope,
 * for every task attempt, and provides the `AgentInstance` identity to it. Keep shared clients (a language model,
 * an HTTP client) out of the layer, as requirements the app provides once: only agent state should be per task.
 *
 * **Example** (Declaring an agent and its factory)
 *
 * ```ts
 * import { Agent } from "effect-parallel-agents"
 * import { Context, Effect, Layer } from "effect"
 *
 * class Classifier extends Context.Tag("classifier")<Classifier, Agent.Agent<string, "positive" | "negative">>() {}
 *
 * const ClassifierLive = Layer.succeed(
 *   Classifier,
 *   Agent.make({
 *     name: "classifier",
 *     run: (text: string) => Effect.succeed(text.length % 2 ? "positive" as const : "negative" as const)
 *   })
 * )
 *
 * const classifier = Agent.factory(Classifier, ClassifierLive)
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const factory = <I, In, Out, E, EL, R>(
  tag: Context.Tag<I, Agent<In, Out, E>>,
  layer: Layer.Layer<I, EL, R>,
  options?: { readonly name?: string | undefined }
): Factory<In, Out, E, EL, Exclude<R, AgentInstance.AgentInstance>> => {
  const self = Object.create(FactoryProto)
  self.name = options?.name ?? tag.key
  self.builder = agentBuild.compile(tag, layer)
  return self
}

/**
 * @category guards
 * @since 0.1.0
 */
export const isFactory = (u: unknown): u is AnyFactory => hasProperty(u, FactoryTypeId)
