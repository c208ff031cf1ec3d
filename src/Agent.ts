/**
 * The agent contract. An agent is a service: a `Context.Tag` whose service is an `Agent<In, Out, E>`, and its
 * factory builds one instance (from a `Layer`, or from an `Effect`). The engine builds an instance afresh for every
 * task attempt.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { type Pipeable, pipeArguments } from "effect/Pipeable"
import { hasProperty } from "effect/Predicate"
import type * as Scope from "effect/Scope"
import type * as Types from "effect/Types"
import type * as AgentInstance from "./AgentInstance.js"

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
 * What the engine needs to build a fresh agent for every task attempt. `EL` is the error of building one, `R` what
 * building one needs from the app (shared clients, built once by the app).
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
  /**
   * How the factory builds one instance: from an `Effect` with no scope (`effect`), from an `Effect` in the task's
   * scope (`scoped`), or from a `Layer` (`layer`, built with `Layer.buildWithScope` in the task's scope).
   */
  readonly kind: "effect" | "scoped" | "layer"
}

/**
 * Any factory, whatever its types.
 *
 * @category models
 * @since 0.1.0
 */
export interface AnyFactory extends Factory<never, unknown, unknown, unknown, unknown> {}

interface FactoryImpl<In, Out, E, EL, R> extends Factory<In, Out, E, EL, R> {
  /** Builds one instance; a scoped or layer factory adds its finalizers to `Scope` in context. */
  readonly make: Effect.Effect<Agent<In, Out, E>, EL, R | AgentInstance.AgentInstance | Scope.Scope>
  readonly layerOf: () => Layer.Layer<unknown, EL, R | AgentInstance.AgentInstance>
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

const makeFactory = <In, Out, E, EL, R>(
  name: string,
  kind: Factory<In, Out, E, EL, R>["kind"],
  make: Effect.Effect<Agent<In, Out, E>, EL, R | AgentInstance.AgentInstance | Scope.Scope>,
  layerOf: () => Layer.Layer<unknown, EL, R | AgentInstance.AgentInstance>
): Factory<In, Out, E, EL, R> => {
  const self: FactoryImpl<In, Out, E, EL, R> = Object.create(FactoryProto)
  Object.assign(self, { name, kind, make, layerOf })
  return self
}

/**
 * Pairs an agent tag with the layer that builds it. The engine builds the layer afresh, in the task's own scope,
 * for every task attempt (with `Layer.buildWithScope`), and provides the `AgentInstance` identity to it. Keep
 * shared clients (a language model, an HTTP client) out of the layer, as requirements the app provides once: only
 * agent state should be per task.
 *
 * **When to use**
 *
 * When the agent already comes as a `Layer`. A factory made with `effect` or `scoped` builds its instances with
 * less work per task (no layer graph): prefer them for many small tasks.
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
): Factory<In, Out, E, EL, Exclude<R, AgentInstance.AgentInstance>> =>
  makeFactory(
    options?.name ?? tag.key,
    "layer",
    Effect.flatMap(
      Effect.flatMap(Effect.scope, (scope) => Layer.buildWithScope(layer, scope)),
      (context) => Effect.succeed(Context.get(context, tag))
    ) as Effect.Effect<Agent<In, Out, E>, EL, Exclude<R, AgentInstance.AgentInstance> | Scope.Scope>,
    () => layer as Layer.Layer<unknown, EL, R>
  ) as Factory<In, Out, E, EL, Exclude<R, AgentInstance.AgentInstance>>

/**
 * A factory whose instances are built by an `Effect` that needs no scope: `make` runs once per task attempt, with
 * the `AgentInstance` identity in context. Its `Layer` is `Layer.effect(tag, make)` (see `layer`).
 *
 * **Example** (An agent with per-instance state)
 *
 * ```ts
 * import { Agent, AgentInstance } from "effect-parallel-agents"
 * import { Context, Effect } from "effect"
 *
 * class Counter extends Context.Tag("Counter")<Counter, Agent.Agent<string, string>>() {}
 *
 * const counter = Agent.effect(
 *   Counter,
 *   Effect.gen(function*() {
 *     const instance = yield* AgentInstance.AgentInstance
 *     let calls = 0
 *     return Agent.make({ name: instance.name, run: (input: string) => Effect.sync(() => `${input} #${++calls}`) })
 *   })
 * )
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const effect = <I, In, Out, E, EL, R>(
  tag: Context.Tag<I, Agent<In, Out, E>>,
  make:
    & Effect.Effect<Agent<In, Out, E>, EL, R>
    & ([Extract<R, Scope.Scope>] extends [never] ? unknown
      : "Agent.effect: this effect needs a Scope: use Agent.scoped"),
  options?: { readonly name?: string | undefined }
): Factory<In, Out, E, EL, Exclude<R, AgentInstance.AgentInstance>> =>
  makeFactory(
    options?.name ?? tag.key,
    "effect",
    make as Effect.Effect<Agent<In, Out, E>, EL, Exclude<R, AgentInstance.AgentInstance>>,
    () => Layer.effect(tag, make as Effect.Effect<Agent<In, Out, E>, EL, R>) as Layer.Layer<unknown, EL, R>
  ) as Factory<In, Out, E, EL, Exclude<R, AgentInstance.AgentInstance>>

/**
 * A factory whose instances are built by an `Effect` in the task's own scope: `make` runs once per task attempt,
 * with the `AgentInstance` identity and the attempt's `Scope` in context, and its finalizers run when the attempt
 * ends, fails, times out or is interrupted. Its `Layer` is `Layer.scoped(tag, make)` (see `layer`).
 *
 * **Example** (An agent that holds a resource for one task)
 *
 * ```ts
 * import { Agent } from "effect-parallel-agents"
 * import { Console, Context, Effect } from "effect"
 *
 * class Session extends Context.Tag("Session")<Session, Agent.Agent<string, string>>() {}
 *
 * const session = Agent.scoped(
 *   Session,
 *   Effect.gen(function*() {
 *     yield* Effect.addFinalizer(() => Console.log("session closed"))
 *     return Agent.make({ name: "session", run: (input: string) => Effect.succeed(input) })
 *   })
 * )
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const scoped = <I, In, Out, E, EL, R>(
  tag: Context.Tag<I, Agent<In, Out, E>>,
  make: Effect.Effect<Agent<In, Out, E>, EL, R>,
  options?: { readonly name?: string | undefined }
): Factory<In, Out, E, EL, Exclude<R, AgentInstance.AgentInstance | Scope.Scope>> =>
  makeFactory(
    options?.name ?? tag.key,
    "scoped",
    make as Effect.Effect<Agent<In, Out, E>, EL, Exclude<R, AgentInstance.AgentInstance | Scope.Scope> | Scope.Scope>,
    () =>
      Layer.scoped(tag, make as Effect.Effect<Agent<In, Out, E>, EL, R>) as unknown as Layer.Layer<
        unknown,
        EL,
        Exclude<R, AgentInstance.AgentInstance | Scope.Scope> | AgentInstance.AgentInstance
      >
  ) as Factory<In, Out, E, EL, Exclude<R, AgentInstance.AgentInstance | Scope.Scope>>

/**
 * Builds one instance of a factory's agent: what the engine does for every task attempt. The instance's finalizers
 * go to the `Scope` in context, and its identity is the `AgentInstance` in context. Use it to build agents inside
 * an agent of your own, as `Team` builds its members.
 *
 * @category constructors
 * @since 0.1.0
 */
export const build = <In, Out, E, EL, R>(
  factory: Factory<In, Out, E, EL, R>
): Effect.Effect<Agent<In, Out, E>, EL, R | AgentInstance.AgentInstance | Scope.Scope> =>
  (factory as FactoryImpl<In, Out, E, EL, R>).make

/**
 * The factory as a `Layer` that builds one instance of the agent under its tag, for apps that want the agent as a
 * service of their own. Providing it memoizes one instance for every use: the engine never does that.
 *
 * @category getters
 * @since 0.1.0
 */
export const layer = <In, Out, E, EL, R>(
  factory: Factory<In, Out, E, EL, R>
): Layer.Layer<unknown, EL, R | AgentInstance.AgentInstance> => (factory as FactoryImpl<In, Out, E, EL, R>).layerOf()

/**
 * @category guards
 * @since 0.1.0
 */
export const isFactory = (u: unknown): u is AnyFactory => hasProperty(u, FactoryTypeId)
