import { assert, describe, it } from "@effect/vitest"
import { Chunk, Effect, Fiber, Stream, TestClock } from "effect"
import * as EventLog from "../../../../services/http/internal/eventLog.js"

const event = (type: string) => ({ type, data: `{"_tag":"${type}"}` })

const decode = (bytes: Chunk.Chunk<Uint8Array>) =>
  Chunk.toReadonlyArray(bytes).map((chunk) => new TextDecoder().decode(chunk)).join("")

describe("EventLog", () => {
  it.live("a reader under way when the log closes gets every event; one that comes after gets what it keeps", () =>
    Effect.gen(function*() {
      const log = yield* EventLog.EventLog.make
      yield* log.append([event("Started")])
      const early = yield* log.readSse(0, { linger: "0 millis" }).pipe(Stream.runCollect, Effect.fork)
      yield* Effect.sleep("20 millis").pipe(Effect.repeat({ until: () => log.readers === 1 }))
      yield* log.append([event("Output"), event("Ended")])
      yield* log.close((entry) => entry.type !== "Output")
      const all = decode(yield* Fiber.join(early))
      assert.strictEqual(
        all,
        "id: 1\nevent: Started\ndata: {\"_tag\":\"Started\"}\n\n" +
          "id: 2\nevent: Output\ndata: {\"_tag\":\"Output\"}\n\n" +
          "id: 3\nevent: Ended\ndata: {\"_tag\":\"Ended\"}\n\n"
      )
      // Compacted once its last reader left: a new reader replays the kept events, numbered as they were.
      assert.strictEqual(log.readers, 0)
      const later = decode(yield* Stream.runCollect(log.readSse(0, { linger: "0 millis" })))
      assert.strictEqual(
        later,
        "id: 1\nevent: Started\ndata: {\"_tag\":\"Started\"}\n\n" +
          "id: 3\nevent: Ended\ndata: {\"_tag\":\"Ended\"}\n\n"
      )
      const resumed = yield* Stream.runCollect(log.read(1))
      assert.deepStrictEqual(Chunk.toReadonlyArray(resumed).map((entry) => entry.id), [3])
      assert.strictEqual(log.lastId, 3)
    }))

  it.live("a number past the end reads as the end: what comes next while the log is open, its last event once closed", () =>
    Effect.gen(function*() {
      const log = yield* EventLog.EventLog.make
      yield* log.append([event("Started"), event("Output")])
      const reader = yield* Effect.fork(Stream.runCollect(log.read(40, "0 millis")))
      yield* Effect.sleep("10 millis").pipe(Effect.repeat({ until: () => log.readers === 1 }))
      yield* log.append([event("Ended")])
      yield* log.close((entry) => entry.type !== "Output")
      assert.deepStrictEqual(Chunk.toReadonlyArray(yield* Fiber.join(reader)).map((entry) => entry.id), [3])
      const closed = yield* Stream.runCollect(log.read(40, "0 millis"))
      assert.deepStrictEqual(Chunk.toReadonlyArray(closed).map((entry) => [entry.id, entry.type]), [[3, "Ended"]])
      assert.strictEqual(Chunk.size(yield* Stream.runCollect(log.read(3, "0 millis"))), 0)
    }))

  it.live("readers of a live log wait for events and end when it closes; appends after the close are dropped", () =>
    Effect.gen(function*() {
      const log = yield* EventLog.EventLog.make
      const readers = yield* Effect.forEach([0, 1], () => Effect.fork(Stream.runCollect(log.read(0, "0 millis"))))
      yield* Effect.sleep("10 millis").pipe(Effect.repeat({ until: () => log.readers === 2 }))
      yield* log.append([event("A")])
      yield* log.append([event("B")])
      yield* log.close()
      yield* log.append([event("C")])
      for (const reader of readers) {
        assert.deepStrictEqual(Chunk.toReadonlyArray(yield* Fiber.join(reader)).map((entry) => entry.type), ["A", "B"])
      }
      assert.strictEqual(log.readers, 0)
    }))

  it.effect("live readers wake at the same ticks of the linger grid, read the same events and share their bytes", () =>
    Effect.gen(function*() {
      const log = yield* EventLog.EventLog.make
      yield* TestClock.adjust("40 millis")
      const readers = yield* Effect.forEach([0, 1], () =>
        log.readSse(0, { linger: "100 millis" }).pipe(
          Stream.runCollect,
          Effect.fork
        ))
      yield* Effect.yieldNow().pipe(Effect.repeat({ until: () => log.readers === 2 }))
      yield* log.append([event("A")])
      yield* TestClock.adjust("30 millis")
      yield* log.append([event("B")])
      // The grid's tick at 100 ms: both read A and B, one batch.
      yield* TestClock.adjust("30 millis")
      yield* log.append([event("C")])
      yield* TestClock.adjust("100 millis")
      yield* log.close()
      yield* TestClock.adjust("100 millis")
      const [first, second] = yield* Effect.forEach(readers, Fiber.join)
      assert.deepStrictEqual(
        Chunk.toReadonlyArray(first!).map((bytes) => new TextDecoder().decode(bytes).match(/event: \w+/g)),
        [["event: A", "event: B"], ["event: C"]]
      )
      // The same batches, encoded once: the same bytes.
      assert.strictEqual(Chunk.size(second!), 2)
      Chunk.toReadonlyArray(first!).forEach((bytes, i) => assert.strictEqual(Chunk.unsafeGet(second!, i), bytes))
    }))

  it.effect("a keep-alive comment goes out every while the reader waits, and none once the log is closed", () =>
    Effect.gen(function*() {
      const log = yield* EventLog.EventLog.make
      const reader = yield* log.readSse(0, { linger: "0 millis", keepAlive: "15 seconds" }).pipe(
        Stream.map((bytes) => new TextDecoder().decode(bytes)),
        Stream.runCollect,
        Effect.fork
      )
      yield* Effect.yieldNow().pipe(Effect.repeat({ until: () => log.readers === 1 }))
      yield* TestClock.adjust("10 seconds")
      yield* log.append([event("A")])
      // Every 15 s from the reader's start: the events sent meanwhile do not move the comment.
      yield* TestClock.adjust("5 seconds")
      yield* log.append([event("B")])
      yield* TestClock.adjust("15 seconds")
      yield* log.close()
      yield* TestClock.adjust("60 seconds")
      assert.deepStrictEqual(
        Chunk.toReadonlyArray(yield* Fiber.join(reader)).map((text) => text.match(/^(: keep-alive|event: \w+)/m)![0]),
        ["event: A", ": keep-alive", "event: B", ": keep-alive"]
      )
      assert.strictEqual(log.readers, 0)
    }))

  it.effect("a keep-alive of 0 sends no comment", () =>
    Effect.gen(function*() {
      const log = yield* EventLog.EventLog.make
      const reader = yield* log.readSse(0, { linger: "0 millis", keepAlive: "0 millis" }).pipe(
        Stream.map((bytes) => new TextDecoder().decode(bytes)),
        Stream.runCollect,
        Effect.fork
      )
      yield* Effect.yieldNow().pipe(Effect.repeat({ until: () => log.readers === 1 }))
      yield* TestClock.adjust("1 minute")
      yield* log.append([event("A")])
      yield* log.close()
      assert.deepStrictEqual(Chunk.toReadonlyArray(yield* Fiber.join(reader)), [
        "id: 1\nevent: A\ndata: {\"_tag\":\"A\"}\n\n"
      ])
    }))
})
