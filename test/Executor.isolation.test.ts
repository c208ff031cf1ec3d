/**
 * A fiber per task attempt: nothing an agent does to its fiber (a FiberRef it sets and leaves set, log annotations,
 * a logger it installs, fibers it forks) reaches another task, another attempt of its own task, or the program that
 * runs the tasks, at concurrency 1 or more, in a list run or a stream.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, FiberRef, HashMap, HashSet, Logger, Schedule, Stream, TestClock } from "effect"
import * as TestAgent from "../services/testing/TestAgent.js"
import * as Executor from "../src/Executor.js"
import * as Task from "../src/Task.js"
import * as TaskResult from "../src/TaskResult.js"
import { withClock } from "./utils.js"

/** Who the request is for, as an Effect backend would carry it. */
const tenant = FiberRef.unsafeMake<string>("nobody")

/** An agent that reads the tenant first, then sets it to its own input and leaves it set. */
const claimer = TestAgent.make({
  name: "claimer",
  run: (input: string) =>
    Effect.gen(function*() {
      const seen = yield* FiberRef.get(tenant)
      yield* FiberRef.set(tenant, input)
      yield* Effect.sleep("10 millis")
      return seen
    })
})

const values = <A>(results: ReadonlyArray<TaskResult.TaskResult<A, unknown>>) =>
  results.map((result) => {
    assert(TaskResult.isSucceeded(result), TaskResult.message(result))
    return result.value
  })

describe("Executor isolation", () => {
  for (const concurrency of [1, 3]) {
    it.effect(`a FiberRef one task sets is never seen by another (concurrency ${concurrency})`, () =>
      Effect.gen(function*() {
        const agent = yield* claimer
        const report = yield* withClock(
          Executor.run(Task.fromIterable(["alice", "bob", "carol", "dave", "erin"]), agent.factory, { concurrency })
        )
        assert.deepStrictEqual(values(report.results), ["nobody", "nobody", "nobody", "nobody", "nobody"])
        // Nor by the program that ran them.
        assert.strictEqual(yield* FiberRef.get(tenant), "nobody")
      }).pipe(Effect.provide(Executor.layer())))

    it.effect(`the same holds in a stream (concurrency ${concurrency})`, () =>
      Effect.gen(function*() {
        const agent = yield* claimer
        const results = yield* withClock(
          Executor.stream(Task.fromIterable(["alice", "bob", "carol", "dave"]), agent.factory, { concurrency }).pipe(
            Stream.runCollect
          )
        )
        assert.deepStrictEqual(values(Array.from(results)), ["nobody", "nobody", "nobody", "nobody"])
        assert.strictEqual(yield* FiberRef.get(tenant), "nobody")
      }).pipe(Effect.provide(Executor.layer())))
  }

  it.effect("the program's own FiberRefs reach every task, and a retry starts from them again", () =>
    Effect.gen(function*() {
      let attempts = 0
      const agent = yield* TestAgent.make({
        name: "retrier",
        run: (input: string) =>
          Effect.gen(function*() {
            const seen = yield* FiberRef.get(tenant)
            yield* FiberRef.set(tenant, `${input}-changed`)
            if (++attempts === 1) return yield* Effect.fail({ status: 503 })
            return seen
          })
      })
      const report = yield* withClock(
        Executor.run(Task.fromIterable(["acme"]), agent.factory, {
          retry: { schedule: Schedule.spaced("1 second"), times: 2 }
        }).pipe(Effect.locally(tenant, "acme-tenant"))
      )
      // The second attempt sees the program's value, not what the first attempt left.
      assert.deepStrictEqual(values(report.results), ["acme-tenant"])
      assert.strictEqual(report.results[0]!.attempt, 2)
    }).pipe(Effect.provide(Executor.layer())))

  it.effect("log annotations and a logger one task installs do not reach another task", () =>
    Effect.gen(function*() {
      const lines: Array<string> = []
      const capture = Logger.make(({ annotations, message }) => {
        const owner = HashMap.get(annotations, "owner")
        lines.push(`${String(message)} owner=${owner._tag === "Some" ? String(owner.value) : "-"}`)
      })
      const silent = Logger.make(() => {})
      const agent = yield* TestAgent.make({
        name: "annotator",
        run: (input: string) =>
          Effect.gen(function*() {
            yield* Effect.logInfo(`start ${input}`)
            // Left set on purpose: an annotation and a logger that replaces the app's.
            yield* FiberRef.update(FiberRef.currentLogAnnotations, HashMap.set("owner", input as unknown))
            yield* FiberRef.set(FiberRef.currentLoggers, HashSet.make(silent) as never)
            yield* Effect.sleep("10 millis")
            return input
          })
      })
      yield* withClock(
        Executor.run(Task.fromIterable(["a", "b", "c"]), agent.factory, { concurrency: 1 })
      ).pipe(Effect.provide(Logger.replace(Logger.defaultLogger, capture)))
      assert.deepStrictEqual(lines, ["start a owner=-", "start b owner=-", "start c owner=-"])
    }).pipe(Effect.provide(Executor.layer())))

  it.effect("a fiber an agent forks and leaves running ends with its attempt, before the next attempt starts", () =>
    Effect.gen(function*() {
      const alive = new Set<string>()
      const seenAtStart: Array<string> = []
      let attempts = 0
      const agent = yield* TestAgent.make({
        name: "forker",
        run: (input: string) =>
          Effect.gen(function*() {
            const attempt = ++attempts
            seenAtStart.push(`${attempt}: ${[...alive].join(" ")}`)
            yield* Effect.fork(
              Effect.onInterrupt(
                Effect.zipRight(Effect.sync(() => alive.add(`${input}/${attempt}`)), Effect.never),
                () => Effect.sync(() => alive.delete(`${input}/${attempt}`))
              )
            )
            yield* Effect.sleep("10 millis")
            if (attempt === 1) return yield* Effect.fail({ status: 503 })
            return input
          })
      })
      const fiber = yield* Effect.fork(
        Executor.run(Task.fromIterable(["x"]), agent.factory, {
          concurrency: 1,
          retry: { schedule: Schedule.spaced("1 second"), times: 1 }
        })
      )
      yield* TestClock.adjust("5 millis")
      assert.deepStrictEqual([...alive], ["x/1"])
      yield* TestClock.adjust("1 hour")
      const report = yield* Fiber.join(fiber)
      assert.strictEqual(report.summary.succeeded, 1)
      assert.deepStrictEqual(seenAtStart, ["1: ", "2: "])
      assert.deepStrictEqual([...alive], [])
    }).pipe(Effect.provide(Executor.layer())))
})
