import { assert, describe, it } from "@effect/vitest"
import { Chunk, Effect, Fiber, Layer, Stream } from "effect"
import * as TestAgent from "../services/testing/TestAgent.js"
import * as Executor from "../src/Executor.js"
import * as RunEvent from "../src/RunEvent.js"
import * as Task from "../src/Task.js"
import * as TaskOutput from "../src/TaskOutput.js"

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
      assert.deepStrictEqual(outputs.map((e) => [e.runId, e.taskId, e.attempt, e.delta]), [
        ["out", "0", 1, "Hello"],
        ["out", "0", 1, ", "],
        ["out", "0", 1, "world"],
        ["out", "1", 1, "Bye"]
      ])
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
