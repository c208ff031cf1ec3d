import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import type * as Agent from "../Agent.js"
import type * as AgentInstance from "../AgentInstance.js"

/**
 * How the engine builds one fresh agent instance from a factory layer.
 *
 * `Layer.build` goes through a new `MemoMap` every time (a synchronized map, a deferred, two refs, an inner scope
 * and a FiberRefs diff): about 45 µs per build on the reference machine, seven times the whole per-task cost of
 * `p-limit`. Agent layers are nearly always one leaf (`Layer.effect`, `Layer.scoped`, `Layer.succeed`), and a
 * fresh build of a leaf is its effect run in the task's scope: that is what `Layer.build` itself does for a leaf
 * once it has decided to build it (`makeBuilder(layer, scope, true)` in effect's `internal/layer.ts`), minus the
 * memoisation the engine never wants. Any other layer takes the general path, `Layer.buildWithScope`, with the
 * same semantics at the higher cost. `test/Agent.test.ts` checks which path each kind of layer takes and that
 * both behave alike.
 *
 * @internal
 */
export interface Builder<In, Out, E, EL, R> {
  readonly path: "effect" | "scoped" | "layer"
  /** Whether the build may add finalizers, so the engine must give it a scope. */
  readonly scoped: boolean
  readonly build: (scope: Scope.Scope) => Effect.Effect<Agent.Agent<In, Out, E>, EL, R | AgentInstance.AgentInstance>
}

interface Leaf {
  readonly _op_layer?: unknown
  readonly effect?: unknown
}

/** @internal */
export const compile = <I, In, Out, E, EL, R>(
  tag: Context.Tag<I, Agent.Agent<In, Out, E>>,
  layer: Layer.Layer<I, EL, R>
): Builder<In, Out, E, EL, R> => {
  const get = (context: Context.Context<I>) => Context.get(context, tag)
  const leaf = layer as Leaf
  if (Effect.isEffect(leaf.effect)) {
    if (leaf._op_layer === "FromEffect") {
      const build = Effect.map(leaf.effect as Effect.Effect<Context.Context<I>, EL, R>, get)
      return { path: "effect", scoped: false, build: () => build }
    }
    if (leaf._op_layer === "Scoped") {
      const effect = leaf.effect as Effect.Effect<Context.Context<I>, EL, R | Scope.Scope>
      // The engine puts the task's scope in the context of a scoped build, which is what `Scope.extend` would do.
      const build = Effect.map(effect, get) as Effect.Effect<Agent.Agent<In, Out, E>, EL, R>
      return { path: "scoped", scoped: true, build: () => build }
    }
  }
  return { path: "layer", scoped: true, build: (scope) => Effect.map(Layer.buildWithScope(layer, scope), get) }
}
