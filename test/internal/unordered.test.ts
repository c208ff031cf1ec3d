import { assert, describe, it } from "@effect/vitest"
import { Cause, Chunk, Deferred, Effect, Exit, Fiber, Mailbox, Stream, TestClock } from "effect"
import * as Unordered from "../../src/internal/unordered.js"

/**
 * `Unordered.feed`, the fan-out under `Executor.stream` and the cluster's coordinator: workers taking the elements
 * of a stream as it is read, results in completion order. Time is the TestClock's.
 */

/** Counts what is read from an endless input. */
const endless = (read: { count: number }) =>
  Stream.iterate(0, (n) => n + 1).pipe(Stream.tap(() => Effect.sync(() => read.count++)))

/** Forks the feed as its callers do: the results end (or fail) with it. */
const start = <B, E>(mailbox: Mailbox.Mailbox<B, E>, feed: Effect.Effect<void>) =>
  Effect.forkScoped(
    Effect.onExit(feed, (exit) => Exit.isFailure(exit) ? mailbox.failCause(exit.cause) : mailbox.end)
  )

describe("Unordered.feed", () => {
  it.scoped("results in completion order, each element once, never more than the concurrency at once", () =>
    Effect.gen(function*() {
      let running = 0
      let peak = 0
      const mailbox = yield* Unordered.makeMailbox<number, never>(3)
      // Element n takes (10 - n % 10) ms: later elements of a group end first.
      const feed = yield* Unordered.feed(mailbox, Stream.range(0, 29), 3, (n) =>
        Effect.gen(function*() {
          running++
          peak = Math.max(peak, running)
          yield* Effect.sleep(`${10 - (n % 10)} millis`)
          running--
          return n
        }))
      yield* start(mailbox, feed)
      const results = yield* Effect.fork(Stream.runCollect(Mailbox.toStream(mailbox)))
      yield* TestClock.adjust("1 second")
      const all = Chunk.toArray(yield* Fiber.join(results))
      assert.deepStrictEqual([...all].sort((a, b) => a - b), Array.from({ length: 30 }, (_, n) => n))
      // 0, 1 and 2 start together, for 10, 9 and 8 ms: 2 ends first, then 1 (and 3, taken at 8 ms for 7 ms, after).
      assert.deepStrictEqual(all.slice(0, 2), [2, 1])
      assert.strictEqual(peak, 3)
    }))

  it.scoped("a failure of f fails the results once; nothing is taken after it, and the reading stops", () =>
    Effect.gen(function*() {
      const read = { count: 0 }
      const taken: Array<number> = []
      let failedAt: number | undefined
      const mailbox = yield* Unordered.makeMailbox<number, string>(4)
      const feed = yield* Unordered.feed(mailbox, endless(read), 4, (n) => {
        taken.push(n)
        if (n === 5) {
          failedAt = taken.length
          return Effect.fail("boom")
        }
        return Effect.as(Effect.sleep(`${1 + (n % 3)} millis`), n)
      })
      const feeding = yield* start(mailbox, feed)
      const seen: Array<number> = []
      const results = yield* Effect.fork(
        Effect.exit(Stream.runForEach(Mailbox.toStream(mailbox), (n) => Effect.sync(() => seen.push(n))))
      )
      yield* TestClock.adjust("1 second")
      const exit = yield* Fiber.join(results)
      assert(Exit.isFailure(exit))
      assert.deepStrictEqual(Chunk.toArray(Cause.failures(exit.cause)), ["boom"])
      // The feed ended by itself, although its input never does.
      assert.isTrue(Exit.isSuccess(yield* Fiber.await(feeding)))
      assert.strictEqual(taken.length, failedAt)
      assert.isFalse(seen.includes(5))
      // What was read: the workers' elements, a full input mailbox, and the chunk being offered.
      const afterFailure = read.count
      assert.isAtMost(afterFailure, 4 + 4 + 4 + 2)
      yield* TestClock.adjust("1 second")
      assert.strictEqual(read.count, afterFailure)
    }))

  it.scoped("stop ends the reading of an endless input; every element read still runs, once", () =>
    Effect.gen(function*() {
      const read = { count: 0 }
      const stop = yield* Deferred.make<void>()
      const mailbox = yield* Unordered.makeMailbox<number, never>(2)
      const feed = yield* Unordered.feed(
        mailbox,
        endless(read),
        2,
        (n) => Effect.as(Effect.sleep("10 millis"), n),
        { stop: Deferred.await(stop) }
      )
      yield* start(mailbox, feed)
      const results = yield* Effect.fork(Stream.runCollect(Mailbox.toStream(mailbox)))
      yield* TestClock.adjust("35 millis")
      yield* Deferred.succeed(stop, undefined)
      const stoppedAt = read.count
      yield* TestClock.adjust("1 second")
      const all = Chunk.toArray(yield* Fiber.join(results))
      assert.strictEqual(read.count, stoppedAt)
      // Elements read but not yet taken when the reading stopped (at most the input mailbox, and the one offered)
      // run too; an element pulled and not offered was never read by the feed.
      assert.deepStrictEqual([...all].sort((a, b) => a - b), Array.from({ length: all.length }, (_, n) => n))
      assert.isAtLeast(all.length, read.count - 1)
      assert.isAtMost(all.length, read.count)
    }))

  it.scoped("a reader of the results that stops early interrupts the elements under way", () =>
    Effect.gen(function*() {
      const read = { count: 0 }
      let running = 0
      let interrupted = 0
      const firstThree = yield* Effect.scoped(Effect.gen(function*() {
        const mailbox = yield* Unordered.makeMailbox<number, never>(5)
        const feed = yield* Unordered.feed(mailbox, endless(read), 5, (n) =>
          Effect.sync(() => running++).pipe(
            Effect.zipRight(Effect.sleep(`${n + 1} millis`)),
            Effect.onInterrupt(() => Effect.sync(() => interrupted++)),
            Effect.ensuring(Effect.sync(() => running--)),
            Effect.as(n)
          ))
        yield* start(mailbox, feed)
        const results = yield* Effect.fork(Stream.runCollect(Stream.take(Mailbox.toStream(mailbox), 3)))
        yield* TestClock.adjust("3 millis")
        return Chunk.toArray(yield* Fiber.join(results))
      }))
      assert.deepStrictEqual(firstThree, [0, 1, 2])
      assert.strictEqual(running, 0)
      assert.isAtLeast(interrupted, 1)
      const readThen = read.count
      yield* TestClock.adjust("1 second")
      assert.strictEqual(read.count, readThen)
    }))

  it.scoped("a concurrency of a million over three elements starts three workers", () =>
    Effect.gen(function*() {
      const mailbox = yield* Unordered.makeMailbox<number, never>(1_000_000)
      const feed = yield* Unordered.feed(mailbox, Stream.make(1, 2, 3), 1_000_000, (n) => Effect.succeed(n * 2))
      const before = process.memoryUsage().heapUsed
      yield* start(mailbox, feed)
      const all = Chunk.toArray(yield* Stream.runCollect(Mailbox.toStream(mailbox)))
      assert.deepStrictEqual([...all].sort(), [2, 4, 6])
      // A worker (a fiber) per unit of concurrency would be hundreds of megabytes.
      assert.isBelow(process.memoryUsage().heapUsed - before, 32 * 1024 * 1024)
    }))
})
