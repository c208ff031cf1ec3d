import { assert, describe, it } from "@effect/vitest"
import { Context, Duration, Effect, Fiber, Layer, TestClock } from "effect"
import * as Agent from "../src/Agent.js"
import * as AgentInstance from "../src/AgentInstance.js"
import * as Executor from "../src/Executor.js"
import * as Task from "../src/Task.js"
import * as TaskResult from "../src/TaskResult.js"
import { withClock } from "./utils.js"

class Probe extends Context.Tag("test/Agent/Probe")<Probe, Agent.Agent<number, string>>() {}
class Memory extends Context.Tag("test/Agent/Memory")<Memory, { readonly owner: string }>() {}
class Extra extends Context.Tag("test/Agent/Extra")<Extra, { readonly owner: string }>() {}

/**
 * An agent with per-instance state: it sleeps `input` milliseconds and answers `<owner>:<calls so far>`, so an
 * instance used by two tasks answers `:2` the second time.
 */
const probeAgent = (owner: string) => {
  let calls = 0
  return Agent.make({
    name: "probe",
    run: (millis: number) =>
      Effect.zipRight(
        Effect.sleep(Duration.millis(millis)),
        Effect.sync(() => `${owner}:${++calls}`)
      )
  })
}

/** What the layers under test saw: `build:<instance>` and `release:<instance>`, in order. */
type Events = Array<string>

const scopedProbe = (events: Events) =>
  Layer.scoped(
    Probe,
    Effect.gen(function*() {
      const instance = yield* AgentInstance.AgentInstance
      events.push(`build:${instance.name}`)
      yield* Effect.addFinalizer(() => Effect.sync(() => events.push(`release:${instance.name}`)))
      return probeAgent(instance.name)
    })
  )

interface Kind {
  readonly name: string
  readonly path: "effect" | "scoped" | "layer"
  /** Whether the layer reads `AgentInstance` and so names its instance after it. */
  readonly readsInstance: boolean
  /** Whether the layer builds a new agent every time (`Layer.succeed` cannot). */
  readonly fresh: boolean
  /** Whether the layer adds finalizers, logged as `release:<instance>`. */
  readonly finalizes: boolean
  readonly factory: (events: Events, name?: string) => Agent.Factory<number, string>
}

const fromLayer =
  (layer: (events: Events) => Layer.Layer<Probe, never, AgentInstance.AgentInstance>) =>
  (events: Events, name?: string) => Agent.factory(Probe, layer(events), { name })

const kinds: ReadonlyArray<Kind> = [
  {
    name: "Layer.succeed",
    path: "layer",
    readsInstance: false,
    fresh: false,
    finalizes: false,
    factory: fromLayer(() => Layer.succeed(Probe, probeAgent("succeed")))
  },
  {
    name: "Layer.sync",
    path: "layer",
    readsInstance: false,
    fresh: true,
    finalizes: false,
    factory: fromLayer((events) =>
      Layer.sync(Probe, () => {
        events.push("build:sync")
        return probeAgent("sync")
      })
    )
  },
  {
    name: "Layer.effect",
    path: "layer",
    readsInstance: true,
    fresh: true,
    finalizes: false,
    factory: fromLayer((events) =>
      Layer.effect(
        Probe,
        Effect.map(AgentInstance.AgentInstance, (instance) => {
          events.push(`build:${instance.name}`)
          return probeAgent(instance.name)
        })
      )
    )
  },
  {
    name: "Layer.scoped",
    path: "layer",
    readsInstance: true,
    fresh: true,
    finalizes: true,
    factory: fromLayer(scopedProbe)
  },
  {
    name: "Layer.provide",
    path: "layer",
    readsInstance: true,
    fresh: true,
    finalizes: true,
    factory: fromLayer((events) =>
      Layer.effect(Probe, Effect.map(Memory, (memory) => probeAgent(memory.owner))).pipe(
        Layer.provide(Layer.scoped(
          Memory,
          Effect.gen(function*() {
            const instance = yield* AgentInstance.AgentInstance
            events.push(`build:${instance.name}`)
            yield* Effect.addFinalizer(() => Effect.sync(() => events.push(`release:${instance.name}`)))
            return { owner: instance.name }
          })
        ))
      )
    )
  },
  {
    name: "Layer.merge",
    path: "layer",
    readsInstance: true,
    fresh: true,
    finalizes: true,
    factory: fromLayer((events) =>
      Layer.merge(
        scopedProbe(events),
        Layer.effect(Extra, Effect.map(AgentInstance.AgentInstance, (instance) => ({ owner: instance.name })))
      )
    )
  },
  {
    name: "Layer.suspend",
    path: "layer",
    readsInstance: true,
    fresh: true,
    finalizes: true,
    factory: fromLayer((events) => Layer.suspend(() => scopedProbe(events)))
  },
  {
    name: "Agent.effect",
    path: "effect",
    readsInstance: true,
    fresh: true,
    finalizes: false,
    factory: (events, name) =>
      Agent.effect(
        Probe,
        Effect.map(AgentInstance.AgentInstance, (instance) => {
          events.push(`build:${instance.name}`)
          return probeAgent(instance.name)
        }),
        { name }
      )
  },
  {
    name: "Agent.scoped",
    path: "scoped",
    readsInstance: true,
    fresh: true,
    finalizes: true,
    factory: (events, name) =>
      Agent.scoped(
        Probe,
        Effect.gen(function*() {
          const instance = yield* AgentInstance.AgentInstance
          events.push(`build:${instance.name}`)
          yield* Effect.addFinalizer(() => Effect.sync(() => events.push(`release:${instance.name}`)))
          return probeAgent(instance.name)
        }),
        { name }
      )
  }
]

const provide = <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.provide(effect, Executor.layer())

const values = <A, E>(results: ReadonlyArray<TaskResult.TaskResult<A, E>>): Array<A> =>
  results.map((result) => {
    assert(TaskResult.isSucceeded(result), `expected success, got ${result._tag}: ${TaskResult.message(result)}`)
    return result.value
  })

const count = (events: Events, prefix: string) => events.filter((event) => event.startsWith(prefix)).length

describe("Agent", () => {
  describe("make", () => {
    it.effect("keeps the name and run", () =>
      Effect.gen(function*() {
        const agent = Agent.make({ name: "double", run: (n: number) => Effect.succeed(n * 2) })
        assert.strictEqual(agent.name, "double")
        assert.strictEqual(yield* agent.run(21), 42)
      }))

    it("isAgent recognises agents and nothing else", () => {
      const run = (n: number) => Effect.succeed(n)
      assert.isTrue(Agent.isAgent(Agent.make({ name: "a", run })))
      assert.isFalse(Agent.isAgent({ name: "a", run }))
      assert.isFalse(Agent.isAgent(null))
      assert.isFalse(Agent.isAgent(Agent.factory(Probe, Layer.succeed(Probe, probeAgent("x")))))
    })

    it("is pipeable", () => {
      const agent = Agent.make({ name: "piped", run: (n: number) => Effect.succeed(n) })
      assert.strictEqual(agent.pipe((a) => a.name), "piped")
      assert.strictEqual(agent.pipe((a) => a.name, (name) => name.length), 5)
    })
  })

  describe("factory", () => {
    it("is named after the tag's key by default", () => {
      const factory = Agent.factory(Probe, Layer.succeed(Probe, probeAgent("x")))
      assert.strictEqual(factory.name, "test/Agent/Probe")
    })

    it("takes its name from the options when given", () => {
      const factory = Agent.factory(Probe, Layer.succeed(Probe, probeAgent("x")), { name: "summarizer" })
      assert.strictEqual(factory.name, "summarizer")
      const unnamed = Agent.factory(Probe, Layer.succeed(Probe, probeAgent("x")), { name: undefined })
      assert.strictEqual(unnamed.name, "test/Agent/Probe")
    })

    it("isFactory recognises factories and nothing else", () => {
      const layer = Layer.succeed(Probe, probeAgent("x"))
      assert.isTrue(Agent.isFactory(Agent.factory(Probe, layer)))
      assert.isFalse(Agent.isFactory(layer))
      assert.isFalse(Agent.isFactory(Probe))
      assert.isFalse(Agent.isFactory(probeAgent("x")))
      assert.isFalse(Agent.isFactory({ name: "x" }))
      assert.isFalse(Agent.isFactory(undefined))
    })

    it("is pipeable", () => {
      const factory = Agent.factory(Probe, Layer.succeed(Probe, probeAgent("x")), { name: "f" })
      assert.strictEqual(factory.pipe((f) => f.name), "f")
    })

    it.effect("names every instance after the factory", () =>
      Effect.gen(function*() {
        const factory = Agent.factory(Probe, scopedProbe([]), { name: "custom" })
        const report = yield* Executor.run(Task.fromIterable([0, 0]), factory, { runId: "r" })
        assert.strictEqual(report.agent, "custom")
        assert.deepStrictEqual(values(report.results), ["custom#r/0/1:1", "custom#r/1/1:1"])
      }).pipe(provide))
  })

  describe("kinds", () => {
    it("a factory says how it builds an instance", () => {
      assert.strictEqual(Agent.factory(Probe, Layer.succeed(Probe, probeAgent("x"))).kind, "layer")
      assert.strictEqual(Agent.effect(Probe, Effect.succeed(probeAgent("x"))).kind, "effect")
      assert.strictEqual(Agent.scoped(Probe, Effect.succeed(probeAgent("x"))).kind, "scoped")
    })

    it.scoped("build makes one instance in the scope in context, with the identity in context", () =>
      Effect.gen(function*() {
        const events: Events = []
        const factory = kinds.find((kind) => kind.name === "Agent.scoped")!.factory(events)
        const instance = AgentInstance.make({ agent: "probe", runId: "r", taskId: "t", attempt: 1 })
        const agent = yield* Effect.scoped(
          Agent.build(factory).pipe(Effect.provideService(AgentInstance.AgentInstance, instance))
        )
        assert.strictEqual(yield* agent.run(0), "probe#r/t/1:1")
        assert.deepStrictEqual(events, ["build:probe#r/t/1", "release:probe#r/t/1"])
      }))

    it.effect("layer is the factory as a Layer of the agent's tag", () =>
      Effect.gen(function*() {
        const factory = Agent.effect(Probe, Effect.succeed(probeAgent("layered")))
        const layer = Agent.layer(factory).pipe(
          Layer.provide(Layer.succeed(
            AgentInstance.AgentInstance,
            AgentInstance.make({ agent: "a", runId: "r", taskId: "t", attempt: 1 })
          ))
        ) as Layer.Layer<Probe>
        const agent = yield* Effect.provide(Probe, layer)
        assert.strictEqual(yield* agent.run(0), "layered:1")
      }))

    for (const kind of kinds) {
      describe(`${kind.name} (${kind.path})`, () => {
        it(`is a factory of kind ${kind.path}`, () => {
          assert.strictEqual(kind.factory([]).kind, kind.path)
        })

        it.effect("runs every task, in input order", () =>
          Effect.gen(function*() {
            const report = yield* withClock(
              Executor.run(Task.fromIterable([30, 10, 20]), kind.factory([]), { concurrency: 3 })
            )
            assert.deepStrictEqual(report.results.map((r) => r._tag), ["Succeeded", "Succeeded", "Succeeded"])
            assert.deepStrictEqual(report.results.map((r) => r.durationMillis), [30, 10, 20])
          }).pipe(provide))

        if (kind.fresh) {
          it.effect("gives every task a fresh instance, also across runs", () =>
            Effect.gen(function*() {
              const events: Events = []
              const factory = kind.factory(events)
              const tasks = Task.fromIterable([40, 10, 30, 20, 10, 50])
              const first = yield* withClock(Executor.run(tasks, factory, { concurrency: 2, runId: "one" }))
              const second = yield* withClock(Executor.run(tasks, factory, { concurrency: 3, runId: "two" }))
              // Every instance answered its first call: no state leaked from another task or another run.
              for (const value of [...values(first.results), ...values(second.results)]) {
                assert.isTrue(value.endsWith(":1"), value)
              }
              assert.strictEqual(count(events, "build:"), 12)
            }).pipe(provide))
        }

        if (kind.readsInstance) {
          it.effect("can read AgentInstance while it is built", () =>
            Effect.gen(function*() {
              const report = yield* withClock(
                Executor.run(
                  Task.fromIterable([20, 10], { id: (_, i) => `doc-${i}` }),
                  kind.factory([], "reader"),
                  { runId: "run-9" }
                )
              )
              assert.deepStrictEqual(values(report.results), ["reader#run-9/doc-0/1:1", "reader#run-9/doc-1/1:1"])
              assert.deepStrictEqual(report.results.map((r) => r.agent), [
                "reader#run-9/doc-0/1",
                "reader#run-9/doc-1/1"
              ])
            }).pipe(provide))
        }

        if (kind.finalizes) {
          it.effect("runs its finalizers once per task, also when the task times out", () =>
            Effect.gen(function*() {
              const events: Events = []
              const factory = kind.factory(events, "fin")
              const fiber = yield* Effect.fork(
                Executor.run(Task.fromIterable([10, 60_000, 20, 60_000, 30]), factory, {
                  concurrency: 2,
                  timeout: "1 second",
                  runId: "r"
                })
              )
              yield* TestClock.adjust("1 hour")
              const report = yield* Fiber.join(fiber)
              assert.deepStrictEqual(report.results.map((r) => [r._tag, r.durationMillis]), [
                ["Succeeded", 10],
                ["TimedOut", 1000],
                ["Succeeded", 20],
                ["TimedOut", 1000],
                ["Succeeded", 30]
              ])
              const names = [0, 1, 2, 3, 4].map((i) => `fin#r/${i}/1`)
              assert.deepStrictEqual(
                events.filter((e) => e.startsWith("build:")).sort(),
                names.map((n) => `build:${n}`)
              )
              assert.deepStrictEqual(
                events.filter((e) => e.startsWith("release:")).sort(),
                names.map((n) => `release:${n}`)
              )
              // Each instance is released after it is built.
              for (const name of names) {
                assert.isBelow(events.indexOf(`build:${name}`), events.indexOf(`release:${name}`), name)
              }
              yield* TestClock.adjust("1 hour")
              assert.strictEqual(events.length, 10)
            }).pipe(provide))

          it.effect("runs its finalizers once per task when the run is interrupted", () =>
            Effect.gen(function*() {
              const events: Events = []
              const fiber = yield* Effect.fork(
                Executor.run(Task.fromIterable([60_000, 60_000, 60_000]), kind.factory(events), {
                  concurrency: 2
                })
              )
              yield* TestClock.adjust("1 second")
              assert.strictEqual(count(events, "build:"), 2)
              assert.strictEqual(count(events, "release:"), 0)
              yield* Fiber.interrupt(fiber)
              assert.strictEqual(count(events, "build:"), 2)
              assert.strictEqual(count(events, "release:"), 2)
            }).pipe(provide))
        } else {
          it.effect("times out like the other paths", () =>
            Effect.gen(function*() {
              const report = yield* withClock(
                Executor.run(Task.fromIterable([10, 60_000, 20]), kind.factory([]), {
                  concurrency: 2,
                  timeout: "1 second"
                })
              )
              assert.deepStrictEqual(report.results.map((r) => [r._tag, r.durationMillis]), [
                ["Succeeded", 10],
                ["TimedOut", 1000],
                ["Succeeded", 20]
              ])
            }).pipe(provide))
        }
      })
    }
  })
})
