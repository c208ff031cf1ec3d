import { assert, describe, it } from "@effect/vitest"
import { Chunk, Effect, Fiber, Layer, Stream, TestClock } from "effect"
import * as TestAgent from "../services/testing/TestAgent.js"
import * as Executor from "../src/Executor.js"
import * as RunEvent from "../src/RunEvent.js"
import * as Task from "../src/Task.js"
import * as TaskOutput from "../src/TaskOutput.js"
import { withClock } from "./utils.js"

describe("TaskOutput", () => {
  it.scoped("an agent's pieces of output are published as TaskOutput events of its task and attempt", () =>
    Effect.gen(function*() {
      const agent = yield* TestAgent.make({
        name: "writer",
        run: (words: ReadonlyArray<string>) =>
          Effect.as(Effect.forEach(words, (word) => TaskOutput.emit(word), { discard: true }), words.join(""))
      })
      const events = yield* RunEvent.subscribe
      const collected = yield* events.pipe(
        Stream.takeUntil(RunEvent.RunEvent.$is("RunFinished")),
        Stream.filter(RunEvent.RunEvent.$is("TaskOutput")),
        Stream.runCollect,
        Effect.fork
      )
      const report = yield* Executor.run(
        Task.fromIterable([["Hello", ", ", "world"], ["Bye"]]),
        agent.factory,
        { runId: "out", concurrency: 1 }
      )
      assert.deepStrictEqual(report.results.map((r) => r._tag === "Succeeded" ? r.value : r._tag), [
        "Hello, world",
        "Bye"
      ])
      const outputs = Chunk.toReadonlyArray(yield* Fiber.join(collected))
      // Pieces written within one interval are published together, when the attempt ends at the latest.
      assert.deepStrictEqual(outputs.map((e) => [e.runId, e.taskId, e.attempt, e.delta]), [
        ["out", "0", 1, "Hello, world"],
        ["out", "1", 1, "Bye"]
      ])
    }).pipe(Effect.provide(Layer.mergeAll(Executor.layer(), RunEvent.layer()))))

  it.scoped("an attempt's output comes before what follows it: its retry, the next attempt, its timeout", () =>
    Effect.gen(function*() {
      let calls = 0
      const agent = yield* TestAgent.make({
        name: "retried-writer",
        run: (mode: string) =>
          Effect.gen(function*() {
            const call = ++calls
            yield* TaskOutput.emit(`${mode} ${call}`)
            if (mode === "flaky" && call === 1) return yield* Effect.fail("first attempt fails")
            if (mode === "hangs") return yield* Effect.never
            return mode
          })
      })
      const events = yield* RunEvent.subscribe
      const collected = yield* events.pipe(
        Stream.takeUntil(RunEvent.RunEvent.$is("RunFinished")),
        Stream.filter((e) => e._tag !== "RunStarted" && e._tag !== "RunFinished" && e._tag !== "TaskQueued"),
        Stream.runCollect,
        Effect.fork
      )
      const run = yield* Effect.fork(Executor.run(Task.fromIterable(["flaky", "hangs"]), agent.factory, {
        runId: "order",
        concurrency: 1,
        timeout: "1 second",
        retry: { times: 1, while: (error) => error === "first attempt fails" }
      }))
      yield* TestClock.adjust("1 minute")
      const report = yield* Fiber.join(run)
      assert.deepStrictEqual(report.results.map((r) => r._tag), ["Succeeded", "TimedOut"])
      const seen = Chunk.toReadonlyArray(yield* Fiber.join(collected)).map((e) =>
        e._tag === "TaskOutput" ? `${e.taskId} output ${e.attempt}: ${e.delta}` : `${e.taskId} ${e._tag}`
      )
      assert.deepStrictEqual(seen, [
        "0 TaskStarted",
        "0 output 1: flaky 1",
        "0 TaskRetrying",
        "0 TaskStarted",
        "0 output 2: flaky 2",
        "0 TaskSucceeded",
        "1 TaskStarted",
        "1 output 1: hangs 3",
        "1 TaskTimedOut"
      ])
    }).pipe(Effect.provide(Layer.mergeAll(Executor.layer(), RunEvent.layer()))))

  it.scoped("output is published while the task runs, at most every interval or every maxChars characters", () =>
    Effect.gen(function*() {
      const agent = yield* TestAgent.make({
        name: "slow-writer",
        run: (pieces: ReadonlyArray<string>) =>
          Effect.as(
            Effect.forEach(pieces, (piece) => Effect.zipRight(TaskOutput.emit(piece), Effect.sleep("60 millis")), {
              discard: true
            }),
            pieces.join("")
          )
      })
      const events = yield* RunEvent.subscribe
      const collected = yield* events.pipe(
        Stream.takeUntil(RunEvent.RunEvent.$is("RunFinished")),
        Stream.runCollect,
        Effect.fork
      )
      const big = "x".repeat(TaskOutput.maxChars)
      yield* withClock(
        Executor.run(Task.fromIterable([["a", "b", "c", "d", "e"], [big, "y"]]), agent.factory, {
          runId: "timed",
          concurrency: 1
        })
      )
      const all = Chunk.toReadonlyArray(yield* Fiber.join(collected))
      const deltas = (taskId: string) =>
        all.flatMap((e) => e._tag === "TaskOutput" && e.taskId === taskId ? [[e.at, e.delta] as const] : [])
      // Written 60 ms apart: published at most every 100 ms, each event holding what was written since the last.
      const first = deltas("0")
      assert.strictEqual(first.map(([, delta]) => delta).join(""), "abcde")
      assert.isAtLeast(first.length, 2)
      assert.isBelow(first.length, 5)
      for (let i = 1; i < first.length - 1; i++) assert.isAtLeast(first[i]![0] - first[i - 1]![0], TaskOutput.interval)
      // A piece of maxChars characters goes out at once.
      assert.deepStrictEqual(deltas("1").map(([, delta]) => delta), [big, "y"])
      // Every piece of a task is published before the event that ends it.
      let lastOutput = -1
      all.forEach((e, i) => {
        if (e._tag === "TaskOutput" && e.taskId === "0") lastOutput = i
      })
      const ended = all.findIndex((e) => e._tag === "TaskSucceeded" && e.taskId === "0")
      assert.isBelow(lastOutput, ended)
    }).pipe(Effect.provide(Layer.mergeAll(Executor.layer(), RunEvent.layer()))))

  it.effect("is a no-op outside a task, and in a run without an event hub", () =>
    Effect.gen(function*() {
      yield* TaskOutput.emit("nobody listens")
      const agent = yield* TestAgent.make({
        name: "quiet",
        run: (s: string) => Effect.as(TaskOutput.emit(s), s)
      })
      const report = yield* Executor.run(Task.fromIterable(["a"]), agent.factory)
      assert.strictEqual(report.summary.succeeded, 1)
    }).pipe(Effect.provide(Executor.layer())))
})
