import { assert, describe, it } from "@effect/vitest"
import { Chunk, Context, Duration, Effect, Fiber, Layer, Ref, Stream, TestClock } from "effect"
import * as Agent from "../src/Agent.js"
import * as AgentError from "../src/AgentError.js"
import * as Aggregate from "../src/Aggregate.js"
import * as Executor from "../src/Executor.js"
import * as Task from "../src/Task.js"
import * as TaskResult from "../src/TaskResult.js"
import * as Usage from "../src/Usage.js"

class Double extends Context.Tag("test/remote/Double")<Double, Agent.Agent<number, number>>() {}
const double = Agent.factory(
  Double,
  Layer.succeed(Double, Agent.make({ name: "double", run: (n: number) => Effect.succeed(n * 2) }))
)

interface Call {
  readonly runId: string
  readonly agent: string
  readonly taskId: string
  readonly index: number
  readonly queuedAt: number
  readonly deadlineAt: number
}

/**
 * A remote that "runs" a task elsewhere: `n` seconds later (the test's clock), a success with `n * 2` that used one
 * request; every call recorded.
 */
const elsewhere = Effect.map(Ref.make<ReadonlyArray<Call>>([]), (calls) => {
  const remote: Executor.Remote<never> = (run) =>
    Effect.succeed((task, index, queuedAt) =>
      Effect.gen(function*() {
        yield* Ref.update(calls, (all) => [...all, {
          runId: run.runId,
          agent: run.agent.name,
          taskId: task.id,
          index,
          queuedAt,
          deadlineAt: run.deadlineAt
        }])
        const startedAt = yield* Effect.clockWith((clock) => clock.currentTimeMillis)
        const n = task.input as number
        yield* Effect.sleep(`${n} seconds`)
        return TaskResult.succeeded({
          task,
          index,
          instance: undefined,
          startedAt,
          queuedAt,
          durationMillis: n * 1000,
          usage: Usage.make({ requests: 1 })
        }, n * 2)
      })
    )
  return { remote, calls: Ref.get(calls) }
})

describe("Executor.layerRemote", () => {
  it.effect("a run keeps its concurrency, events, aggregate and report; each result comes from execute", () =>
    Effect.gen(function*() {
      const { calls, remote } = yield* elsewhere
      const fiber = yield* Executor.run(Task.fromIterable([3, 1, 2, 1]), double, {
        runId: "remote",
        concurrency: 2,
        aggregate: Aggregate.successes<number>()
      }).pipe(Effect.provide(Executor.layerRemote(remote)), Effect.fork)
      yield* TestClock.adjust("10 seconds")
      const report = yield* Fiber.join(fiber)
      assert.deepStrictEqual(report.summary, { total: 4, succeeded: 4, failed: 0, timedOut: 0, interrupted: 0 })
      assert.deepStrictEqual(report.aggregate, [6, 2, 4, 2])
      assert.deepStrictEqual(report.results.map((r) => r.index), [0, 1, 2, 3])
      assert.strictEqual(report.stats.peakInFlight, 2)
      // Two at once: 3 s on one lane, 1 + 2 on the other, then the last 1 s.
      assert.strictEqual(Duration.toMillis(report.stats.wallTime), 4000)
      const sent = yield* calls
      assert.deepStrictEqual(sent.map((c) => [c.taskId, c.index, c.runId, c.agent]), [
        ["0", 0, "remote", "test/remote/Double"],
        ["1", 1, "remote", "test/remote/Double"],
        ["2", 2, "remote", "test/remote/Double"],
        ["3", 3, "remote", "test/remote/Double"]
      ])
      assert.isTrue(sent.every((c) => c.deadlineAt === Infinity))
    }))

  it.effect("a stopped run interrupts the tasks it sent and reports every task", () =>
    Effect.gen(function*() {
      const { calls, remote } = yield* elsewhere
      const stop = yield* Effect.makeLatch(false)
      const fiber = yield* Executor.run(Task.fromIterable([3, 1, 2, 1]), double, {
        concurrency: 2,
        stop: stop.await
      }).pipe(Effect.provide(Executor.layerRemote(remote)), Effect.fork)
      yield* TestClock.adjust("2500 millis")
      yield* stop.open
      const report = yield* Fiber.join(fiber)
      // 1 ended at 1 s; 0 and 2 were under way at the stop; 3 was never sent.
      assert.deepStrictEqual(
        report.results.map((r) => r._tag === "Interrupted" ? r.reason : r._tag),
        ["Stopped", "Succeeded", "Stopped", "Stopped"]
      )
      // Those under way were sent: they started.
      assert.deepStrictEqual([0, 2, 3].map((i) => [report.results[i]!.started, report.results[i]!.durationMillis]), [
        [true, 2500],
        [true, 1500],
        [false, 0]
      ])
      assert.deepStrictEqual(report.summary, { total: 4, succeeded: 1, failed: 0, timedOut: 0, interrupted: 3 })
      assert.strictEqual(Duration.toMillis(report.stats.wallTime), 2500)
      assert.deepStrictEqual((yield* calls).map((c) => c.taskId), ["0", "1", "2"])
    }))

  it.effect("the budget is reserved before a task is sent and settled with the usage that comes back", () =>
    Effect.gen(function*() {
      const { calls, remote } = yield* elsewhere
      const fiber = yield* Executor.run(Task.fromIterable([1, 1, 1, 1]), double, {
        concurrency: 1,
        budget: { requests: 2 },
        estimate: { requests: 1 }
      }).pipe(Effect.provide(Executor.layerRemote(remote)), Effect.fork)
      yield* TestClock.adjust("10 seconds")
      const report = yield* Fiber.join(fiber)
      assert.deepStrictEqual(report.results.map((r) => r._tag), ["Succeeded", "Succeeded", "Failed", "Failed"])
      const refused = report.results[2]!
      assert.isTrue(TaskResult.isFailed(refused) && refused.error instanceof AgentError.BudgetExceeded)
      assert.strictEqual(report.stats.budget?.used.requests, 2)
      assert.strictEqual((yield* calls).length, 2)
    }))

  it.effect("the deadline reaches execute, and tasks not sent by then are reported Interrupted", () =>
    Effect.gen(function*() {
      const { calls, remote } = yield* elsewhere
      const fiber = yield* Executor.run(Task.fromIterable([2, 2, 2, 2]), double, {
        concurrency: 1,
        deadline: "3 seconds"
      }).pipe(Effect.provide(Executor.layerRemote(remote)), Effect.fork)
      yield* TestClock.adjust("10 seconds")
      const report = yield* Fiber.join(fiber)
      assert.deepStrictEqual(report.results.map((r) => r._tag), [
        "Succeeded",
        "Succeeded",
        "Interrupted",
        "Interrupted"
      ])
      assert.isTrue(report.results.slice(2).every((r) => r._tag === "Interrupted" && r.reason === "RunDeadline"))
      assert.deepStrictEqual((yield* calls).map((c) => c.deadlineAt), [3000, 3000])
    }))

  it.effect("stream: every result once, as the remote ends them", () =>
    Effect.gen(function*() {
      const { remote } = yield* elsewhere
      const fiber = yield* Executor.stream(Task.fromIterable([3, 1, 2]), double, { concurrency: 3 }).pipe(
        Stream.runCollect,
        Effect.provide(Executor.layerRemote(remote)),
        Effect.fork
      )
      yield* TestClock.adjust("5 seconds")
      const results = Chunk.toReadonlyArray(yield* Fiber.join(fiber))
      assert.deepStrictEqual(results.map((r) => r.taskId), ["1", "2", "0"])
    }))

  it.effect("adaptive concurrency is refused, and so is whatever the remote refuses, before anything is sent", () =>
    Effect.gen(function*() {
      const { calls, remote } = yield* elsewhere
      const adaptive = yield* Executor.run(Task.fromIterable([1]), double, { adaptive: true }).pipe(
        Effect.provide(Executor.layerRemote(remote)),
        Effect.flip
      )
      assert.strictEqual(adaptive.option, "adaptive")
      const picky: Executor.Remote<never> = () =>
        Effect.fail(new AgentError.RunOptionsError({ option: "agent", description: "not here" }))
      const refused = yield* Executor.run(Task.fromIterable([1]), double).pipe(
        Effect.provide(Executor.layerRemote(picky)),
        Effect.flip
      )
      assert.strictEqual(
        refused.message,
        new AgentError.RunOptionsError({ option: "agent", description: "not here" }).message
      )
      assert.strictEqual((yield* calls).length, 0)
    }))
})
