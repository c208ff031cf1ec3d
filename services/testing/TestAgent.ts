/**
 * Scripted agents for tests and examples. Each `TestAgent` has a real factory layer that acquires and releases
 * its instance, and it counts what happened: builds, releases, runs, and the most runs at once. Use it to check
 * that every task got a fresh instance and that every instance was released.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Ref from "effect/Ref"
import * as Agent from "../../src/Agent.js"
import * as AgentInstance from "../../src/AgentInstance.js"

/**
 * What a test agent saw.
 *
 * @category models
 * @since 0.1.0
 */
export interface Stats {
  /** Instances built. */
  readonly builds: number
  /** Instances released. */
  readonly releases: number
  /** Calls to `run` that started. */
  readonly runs: number
  /** Calls to `run` under way now. */
  readonly running: number
  /** The most calls to `run` under way at once. */
  readonly peakRunning: number
  /** The names of the instances built, in build order. */
  readonly instances: ReadonlyArray<string>
}

/**
 * A scripted agent with its factory and counters.
 *
 * @category models
 * @since 0.1.0
 */
export interface TestAgent<In, Out, E = never> {
  readonly factory: Agent.Factory<In, Out, E, E>
  /** The agent's tag and factory layer, to wrap them (with `FaultInjection.factory`, for example). */
  readonly tag: Context.Tag<Agent.Agent<In, Out, E>, Agent.Agent<In, Out, E>>
  readonly layer: Layer.Layer<Agent.Agent<In, Out, E>, E, AgentInstance.AgentInstance>
  readonly stats: Effect.Effect<Stats>
}

/**
 * The script of a test agent. `run` gets the input and the instance identity; `build`, when given, runs while the
 * instance is built (to make a build fail or take time).
 *
 * @category models
 * @since 0.1.0
 */
export interface Options<In, Out, E> {
  readonly name: string
  readonly run: (input: In, instance: AgentInstance.Service) => Effect.Effect<Out, E>
  readonly build?: ((instance: AgentInstance.Service) => Effect.Effect<void, E>) | undefined
}

const emptyStats: Stats = { builds: 0, releases: 0, runs: 0, running: 0, peakRunning: 0, instances: [] }

/**
 * Creates a test agent. Its factory is `Agent.scoped` (and its `layer` the same as `Layer.scoped`): an instance is
 * counted as built when acquired and as released by its finalizer, whatever ends the task (success, failure,
 * timeout, interruption).
 *
 * **Example** (Counting builds and releases)
 *
 * ```ts
 * import { Executor, Task } from "effect-parallel-agents"
 * import { TestAgent } from "effect-parallel-agents/testing"
 * import { Effect } from "effect"
 *
 * const program = Effect.gen(function*() {
 *   const agent = yield* TestAgent.make({ name: "double", run: (n: number) => Effect.succeed(n * 2) })
 *   yield* Executor.run(Task.fromIterable([1, 2, 3]), agent.factory, { concurrency: 2 })
 *   const stats = yield* agent.stats // { builds: 3, releases: 3, runs: 3, ... }
 * }).pipe(Effect.provide(Executor.layer()))
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = <In, Out, E = never>(options: Options<In, Out, E>): Effect.Effect<TestAgent<In, Out, E>> =>
  Effect.map(Ref.make(emptyStats), (ref) => {
    const tag = Context.GenericTag<Agent.Agent<In, Out, E>>(`effect-parallel-agents/TestAgent/${options.name}`)
    const prepare = options.build
    const update = (f: (stats: Stats) => Stats) => Ref.update(ref, f)
    const build = Effect.gen(function*() {
      const instance = yield* AgentInstance.AgentInstance
      if (prepare !== undefined) yield* prepare(instance)
      yield* Effect.acquireRelease(
        update((s) => ({ ...s, builds: s.builds + 1, instances: [...s.instances, instance.name] })),
        () => update((s) => ({ ...s, releases: s.releases + 1 }))
      )
      return Agent.make({
        name: options.name,
        run: (input: In) =>
          Effect.acquireUseRelease(
            update((s) => ({
              ...s,
              runs: s.runs + 1,
              running: s.running + 1,
              peakRunning: Math.max(s.peakRunning, s.running + 1)
            })),
            () => options.run(input, instance),
            () => update((s) => ({ ...s, running: s.running - 1 }))
          )
      })
    })
    const layer = Layer.scoped(tag, build)
    return { factory: Agent.scoped(tag, build, { name: options.name }), tag, layer, stats: Ref.get(ref) }
  })

/**
 * A test agent that answers `f(input)` at once.
 *
 * @category constructors
 * @since 0.1.0
 */
export const succeed = <In, Out>(name: string, f: (input: In) => Out): Effect.Effect<TestAgent<In, Out>> =>
  make({ name, run: (input: In) => Effect.sync(() => f(input)) })

/**
 * A test agent that fails every task with `f(input)`.
 *
 * @category constructors
 * @since 0.1.0
 */
export const fail = <In, E>(name: string, f: (input: In) => E): Effect.Effect<TestAgent<In, never, E>> =>
  make({ name, run: (input: In) => Effect.suspend(() => Effect.fail(f(input))) })

/**
 * A test agent that waits `duration` (on the `Clock`, so `TestClock` drives it) and then answers `f(input)`: a
 * stand-in for a model call with a known latency.
 *
 * @category constructors
 * @since 0.1.0
 */
export const sleep = <In, Out>(
  name: string,
  duration: Duration.DurationInput | ((input: In) => Duration.DurationInput),
  f: (input: In) => Out
): Effect.Effect<TestAgent<In, Out>> =>
  make({
    name,
    run: (input: In) =>
      Effect.zipRight(
        Effect.sleep(typeof duration === "function" ? duration(input) : duration),
        Effect.sync(() => f(input))
      )
  })
