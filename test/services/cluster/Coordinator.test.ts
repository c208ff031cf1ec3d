import { assert } from "@effect/vitest"
import type { Duration } from "effect"
import { Chunk, Effect, Exit, Layer, Schema, Stream } from "effect"
import * as AgentRunner from "../../../services/cluster/AgentRunner.js"
import * as ClusterConfig from "../../../services/cluster/ClusterConfig.js"
import * as Coordinator from "../../../services/cluster/Coordinator.js"
import * as TestAgent from "../../../services/testing/TestAgent.js"
import * as AgentError from "../../../src/AgentError.js"
import * as Task from "../../../src/Task.js"
import * as TaskResult from "../../../src/TaskResult.js"
import * as Cluster from "./cluster.js"

/** An agent that doubles a number after `millis(n)` milliseconds. */
const doubler = (name: string, millis: (n: number) => number) =>
  Effect.map(
    TestAgent.sleep(name, (n: number) => `${millis(n)} millis`, (n: number) => n * 2),
    (agent) => ({ agent, registration: AgentRunner.agent({ name, input: Schema.Number, factory: agent.factory }) })
  )

Cluster.withPostgres("Coordinator", (it) => {
  it.scoped("runs every task on the cluster and returns the results in input order", () =>
    Effect.gen(function*() {
      const url = yield* Cluster.database
      const { agent, registration } = yield* doubler("double", (n) => 5 + (n % 3) * 10)
      const context = yield* Cluster.build(yield* Cluster.runner({ url, agents: [registration], concurrency: 4 }))
      const results = yield* Coordinator.run(Task.fromIterable(Array.from({ length: 40 }, (_, i) => i)), {
        agent: "double",
        runId: "ordered",
        concurrency: 10
      }).pipe(Effect.provide(context))
      assert.deepStrictEqual(results.map((r) => r.index), Array.from({ length: 40 }, (_, i) => i))
      assert.deepStrictEqual(results.map((r) => r.task.id), Array.from({ length: 40 }, (_, i) => String(i)))
      assert.deepStrictEqual(results.map((r) => Cluster.value(r.result)), Array.from({ length: 40 }, (_, i) => i * 2))
      for (const { result, runner } of results) {
        assert.strictEqual(result._tag, "Succeeded")
        assert.strictEqual(result.attempt, 1)
        assert.match(runner ?? "", /^127\.0\.0\.1:\d+$/)
      }
      const stats = yield* agent.stats
      assert.strictEqual(stats.runs, 40)
      assert.strictEqual(stats.releases, 40)
      assert.isAtMost(stats.peakRunning, 4)
    }))

  it.scoped("stream emits every task's result once, as tasks end", () =>
    Effect.gen(function*() {
      const url = yield* Cluster.database
      // Later tasks end sooner: completion order is not input order.
      const { registration } = yield* doubler("countdown", (n) => (12 - n) * 40)
      const context = yield* Cluster.build(yield* Cluster.runner({ url, agents: [registration], concurrency: 12 }))
      const results = yield* Coordinator.stream(Task.fromIterable(Array.from({ length: 12 }, (_, i) => i)), {
        agent: "countdown",
        runId: "streamed",
        concurrency: 12
      }).pipe(Stream.runCollect, Effect.map(Chunk.toReadonlyArray), Effect.provide(context))
      const ids = results.map((r) => r.task.id)
      assert.deepStrictEqual([...ids].sort((a, b) => Number(a) - Number(b)), ids.map((_, i) => String(i)))
      assert.notDeepEqual(ids, ids.map((_, i) => String(i)))
      assert.isBelow(ids.indexOf("11"), ids.indexOf("0"))
    }))

  it.scoped("stream: at most `concurrency` tasks under way; an input that fails is reported after the tasks under way", () =>
    Effect.gen(function*() {
      const url = yield* Cluster.database
      const { agent, registration } = yield* doubler("streamFails", () => 50)
      const context = yield* Cluster.build(yield* Cluster.runner({ url, agents: [registration], concurrency: 20 }))
      const emitted: Array<string> = []
      const input = Stream.concat(
        Stream.fromIterable(Task.fromIterable(Array.from({ length: 10 }, (_, i) => i))),
        Stream.fail("the input broke" as const)
      )
      const exit = yield* Coordinator.stream(input, { agent: "streamFails", runId: "fails", concurrency: 4 }).pipe(
        Stream.runForEach((completed) => Effect.sync(() => emitted.push(completed.task.id))),
        Effect.exit,
        Effect.provide(context)
      )
      assert.deepStrictEqual(exit, Exit.fail("the input broke"))
      // Every task read before the failure was sent and reported, none twice.
      assert.deepStrictEqual([...emitted].sort((a, b) => Number(a) - Number(b)), emitted.map((_, i) => String(i)))
      assert.strictEqual(emitted.length, 10)
      const stats = yield* agent.stats
      assert.strictEqual(stats.runs, 10)
      assert.isAtMost(stats.peakRunning, 4)
      assert.isAtLeast(stats.peakRunning, 2)
    }))

  it.scoped("a run sent again with the same run id gets the stored results without calling the agent again", () =>
    Effect.gen(function*() {
      const url = yield* Cluster.database
      const { agent, registration } = yield* doubler("once", () => 10)
      const context = yield* Cluster.build(yield* Cluster.runner({ url, agents: [registration], concurrency: 8 }))
      const tasks = Task.fromIterable(Array.from({ length: 30 }, (_, i) => i))
      const options = { agent: "once", runId: "again", concurrency: 8 }
      const first = yield* Coordinator.run(tasks, options).pipe(Effect.provide(context))
      assert.strictEqual((yield* agent.stats).runs, 30)
      const second = yield* Coordinator.run(tasks, options).pipe(Effect.provide(context))
      assert.strictEqual((yield* agent.stats).runs, 30)
      // The same results, but for when they were queued (now).
      const stored = (results: typeof first) => results.map((r) => ({ ...r.result.toJSON() as object, queuedAt: 0 }))
      assert.deepStrictEqual(stored(second), stored(first))
      // Another run id is another run.
      yield* Coordinator.run(tasks.slice(0, 5), { ...options, runId: "other" }).pipe(Effect.provide(context))
      assert.strictEqual((yield* agent.stats).runs, 35)
      // The same run id with other inputs, or another agent, does not pass the stored results off as its own.
      const changed = yield* Coordinator.run(Task.fromIterable([100, 1]), options).pipe(Effect.provide(context))
      assert.deepStrictEqual(changed.map((r) => r.result._tag), ["Failed", "Succeeded"])
      assert.strictEqual(
        TaskResult.message(changed[0]!.result),
        "once: task 0 was not started: invalid option \"runId\": run again already has a result for task 0 with " +
          "another input: use another run id"
      )
      const triple = yield* doubler("triple", () => 1)
      const elsewhere = yield* Cluster.build(
        yield* Cluster.runner({ url, agents: [triple.registration], concurrency: 1 })
      )
      const [other] = yield* Coordinator.run(tasks.slice(0, 1), { ...options, agent: "triple" }).pipe(
        Effect.provide(elsewhere)
      )
      assert.strictEqual(
        TaskResult.message(other!.result),
        "triple: task 0 was not started: invalid option \"runId\": run again already has a result for task 0 " +
          "from agent \"once\", not \"triple\": use another run id"
      )
      assert.strictEqual((yield* agent.stats).runs, 35)
      assert.strictEqual((yield* triple.agent.stats).runs, 0)
    }))

  it.scoped("the cluster-wide concurrency bounds the tasks under way, below the runner's own limit", () =>
    Effect.gen(function*() {
      const url = yield* Cluster.database
      const { agent, registration } = yield* doubler("bounded", () => 30)
      const context = yield* Cluster.build(yield* Cluster.runner({ url, agents: [registration], concurrency: 20 }))
      const results = yield* Coordinator.run(Task.fromIterable(Array.from({ length: 24 }, (_, i) => i)), {
        agent: "bounded",
        runId: "global",
        concurrency: 3
      }).pipe(Effect.provide(context))
      assert.isTrue(results.every((r) => r.result._tag === "Succeeded"))
      const stats = yield* agent.stats
      assert.isAtMost(stats.peakRunning, 3)
      assert.isAtLeast(stats.peakRunning, 2)
    }))

  it.scoped("a task id seen twice, or an input that is not JSON, ends Failed without reaching a runner", () =>
    Effect.gen(function*() {
      const url = yield* Cluster.database
      const { agent, registration } = yield* doubler("checked", () => 1)
      const context = yield* Cluster.build(yield* Cluster.runner({ url, agents: [registration], concurrency: 4 }))
      const tasks = [
        Task.make({ id: "a", input: 1 }),
        Task.make({ id: "a", input: 2 }),
        Task.make({ id: "big", input: BigInt(3) }),
        Task.make({ id: "b", input: 4, labels: { kind: "even" } }),
        Task.make({ id: "x".repeat(250), input: 5 })
      ]
      const results = yield* Coordinator.run(tasks, { agent: "checked", runId: "checked", concurrency: 1 }).pipe(
        Effect.provide(context)
      )
      assert.deepStrictEqual(results.map((r) => r.result._tag), [
        "Succeeded",
        "Failed",
        "Failed",
        "Succeeded",
        "Failed"
      ])
      assert.strictEqual(
        TaskResult.message(results[4]!.result),
        `checked: task ${"x".repeat(250)} was not started: invalid option "id": run id and task id together must ` +
          "fit in 255 characters, not 258"
      )
      assert.strictEqual(
        TaskResult.message(results[1]!.result),
        "checked: task a was not started: invalid option \"id\": task id a appears twice in run checked"
      )
      assert.match(TaskResult.message(results[2]!.result), /invalid option "input": the input is not JSON: /)
      assert.strictEqual(results[1]!.runner, undefined)
      assert.deepStrictEqual(results.map((r) => Cluster.value(r.result)), [2, undefined, undefined, 8, undefined])
      assert.strictEqual((yield* agent.stats).runs, 2)
    }))

  it.scoped("runners and coordinators that start together on an empty database all start", () =>
    Effect.gen(function*() {
      const url = yield* Cluster.database
      const { agent, registration } = yield* doubler("together", () => 1)
      // Each with its own database client, as separate processes have.
      const coordinators = Array.from(
        { length: 4 },
        () => Coordinator.layerSharding.pipe(Layer.provide(ClusterConfig.layer()), Layer.provide(Cluster.client(url)))
      )
      const runners = yield* Effect.all(
        Array.from({ length: 2 }, () => Cluster.runner({ url, agents: [registration], concurrency: 2 }))
      )
      const [context] = yield* Effect.all([...coordinators, ...runners].map(Cluster.build), {
        concurrency: "unbounded"
      })
      const results = yield* Coordinator.run(Task.fromIterable([1, 2, 3]), {
        agent: "together",
        runId: "together",
        concurrency: 3
      }).pipe(Effect.provide(context!))
      assert.deepStrictEqual(results.map((r) => Cluster.value(r.result)), [2, 4, 6])
      assert.strictEqual((yield* agent.stats).runs, 3)
    }))

  it.scoped("options out of range fail the run with RunOptionsError before anything is sent", () =>
    Effect.gen(function*() {
      const url = yield* Cluster.database
      const { agent, registration } = yield* doubler("unused", () => 1)
      const context = yield* Cluster.build(yield* Cluster.runner({ url, agents: [registration], concurrency: 1 }))
      const tasks = Task.fromIterable([1])
      const cases: ReadonlyArray<readonly [Partial<Coordinator.Options>, string, string]> = [
        [{ concurrency: 0 }, "concurrency", "expected a whole number from 1, got 0"],
        [{ runId: "a/b" }, "runId", "expected a non-empty id without \"/\", got \"a/b\""],
        [{ retries: -1 }, "retries", "expected a whole number from 0, got -1"],
        [{ timeout: "soon" as Duration.DurationInput }, "timeout", "expected a duration, got soon"]
      ]
      for (const [overrides, option, description] of cases) {
        const options = { agent: "unused", runId: "r", concurrency: 1, ...overrides }
        const error = yield* Coordinator.run(tasks, options).pipe(
          Effect.provide(context),
          Effect.flip
        )
        const expected = new AgentError.RunOptionsError({ option, description })
        assert.instanceOf(error, AgentError.RunOptionsError)
        assert.strictEqual(error.message, expected.message)
        const streamed = yield* Coordinator.stream(tasks, options)
          .pipe(
            Stream.runDrain,
            Effect.provide(context),
            Effect.flip
          )
        assert.instanceOf(streamed, AgentError.RunOptionsError)
        assert.strictEqual(streamed.message, expected.message)
      }
      assert.strictEqual((yield* agent.stats).runs, 0)
    }))
})
