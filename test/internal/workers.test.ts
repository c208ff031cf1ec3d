import { assert, describe, it } from "@effect/vitest"
import { Cause, Effect, Exit, Fiber, Option, TestClock } from "effect"
import * as Workers from "../../src/internal/workers.js"

/**
 * `Workers.forEach`, the fan-out under `Executor.run` over a list: workers taking the elements in input order, as
 * `Effect.forEach` with a concurrency does. Time is the TestClock's.
 */
describe("Workers.forEach", () => {
  it.effect("starts each element once, in input order, never more than the concurrency at once", () =>
    Effect.gen(function*() {
      const started: Array<number> = []
      let running = 0
      let peak = 0
      // Element n takes (5 - n % 5) ms: later elements of a group end first.
      const fiber = yield* Effect.fork(Workers.forEach(
        Array.from({ length: 23 }, (_, i) => i),
        (n, index) =>
          Effect.gen(function*() {
            assert.strictEqual(index, n)
            started.push(n)
            peak = Math.max(peak, ++running)
            yield* Effect.sleep(`${5 - n % 5} millis`)
            running--
          }),
        { concurrency: 3, stopped: () => false, yielding: false }
      ))
      yield* TestClock.adjust("1 second")
      yield* Fiber.join(fiber)
      assert.deepStrictEqual(started, Array.from({ length: 23 }, (_, i) => i))
      assert.strictEqual(peak, 3)
      assert.strictEqual(running, 0)
    }))

  it.effect("takes no element once stopped; the first failure fails the whole and interrupts the rest", () =>
    Effect.gen(function*() {
      let stopped = false
      const started: Array<number> = []
      const stopping = yield* Effect.fork(Workers.forEach(
        [0, 1, 2, 3, 4, 5],
        (n) =>
          Effect.sync(() => {
            started.push(n)
            if (n === 2) stopped = true
          }),
        { concurrency: 2, stopped: () => stopped, yielding: false }
      ))
      yield* Fiber.join(stopping)
      assert.deepStrictEqual(started, [0, 1, 2])

      const interrupted: Array<number> = []
      const failing = yield* Effect.fork(Workers.forEach(
        [0, 1, 2, 3],
        (n) =>
          n >= 2
            ? Effect.sync(() => assert.fail(`element ${n} was taken`))
            : n === 1
            ? Effect.zipRight(Effect.sleep("1 millis"), Effect.fail("boom"))
            : Effect.onInterrupt(Effect.sleep("1 minute"), () => Effect.sync(() => interrupted.push(n))),
        { concurrency: 2, stopped: () => false, yielding: true }
      ))
      yield* TestClock.adjust("2 millis")
      const exit = yield* Fiber.await(failing)
      assert(Exit.isFailure(exit))
      assert.deepStrictEqual(Cause.failureOption(exit.cause), Option.some("boom"))
      // Element 1's worker failed and element 0's was interrupted; elements 2 and 3 were never taken.
      assert.deepStrictEqual(interrupted, [0])
    }))
})
