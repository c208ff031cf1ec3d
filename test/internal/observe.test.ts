import { assert, describe, it } from "@effect/vitest"
import { Chunk, Effect, PubSub, Queue } from "effect"
import { Outbox } from "../../src/internal/outbox.js"
import * as RunEvent from "../../src/RunEvent.js"

const queued = (index: number) => RunEvent.RunEvent.TaskQueued({ runId: "r", at: 0, taskId: `t${index}`, index })
const indexes = (events: Chunk.Chunk<RunEvent.RunEvent>) =>
  Chunk.toArray(events).map((event) => event._tag === "TaskQueued" ? event.index : -1)

describe("Outbox", () => {
  it.scoped("events wait for the turn's end, then go out together, in order", () =>
    Effect.gen(function*() {
      const pubsub = yield* PubSub.sliding<RunEvent.RunEvent>(4096)
      const subscription = yield* PubSub.subscribe(pubsub)
      const outbox = new Outbox(pubsub)
      for (let i = 0; i < 10; i++) yield* outbox.add(queued(i))
      // Nothing has gone out yet: the turn is not over.
      assert.strictEqual(yield* Queue.size(subscription), 0)
      const first = yield* Queue.take(subscription)
      assert.strictEqual(first._tag === "TaskQueued" && first.index, 0)
      assert.deepStrictEqual(indexes(yield* Queue.takeAll(subscription)), [1, 2, 3, 4, 5, 6, 7, 8, 9])
    }))

  it.scoped("flush publishes the events waiting, then its own, at once", () =>
    Effect.gen(function*() {
      const pubsub = yield* PubSub.sliding<RunEvent.RunEvent>(4096)
      const subscription = yield* PubSub.subscribe(pubsub)
      const outbox = new Outbox(pubsub)
      yield* outbox.add(queued(0))
      yield* outbox.add(queued(1))
      yield* outbox.flush(queued(2), queued(3))
      assert.deepStrictEqual(indexes(yield* Queue.takeAll(subscription)), [0, 1, 2, 3])
      yield* outbox.flush()
      yield* outbox.add(queued(4))
      // The turn that was asked for finds nothing left from before, and publishes the new event.
      const next = yield* Queue.take(subscription)
      assert.strictEqual(next._tag === "TaskQueued" && next.index, 4)
      assert.strictEqual(yield* Queue.size(subscription), 0)
    }))

  it.scoped("a turn with many events publishes them a thousand at a time, in order", () =>
    Effect.gen(function*() {
      const pubsub = yield* PubSub.sliding<RunEvent.RunEvent>(4096)
      const subscription = yield* PubSub.subscribe(pubsub)
      const outbox = new Outbox(pubsub)
      for (let i = 0; i < 2500; i++) yield* outbox.add(queued(i))
      // Two batches of 1,024 went out at once; the rest waits for the turn's end.
      assert.strictEqual(yield* Queue.size(subscription), 2048)
      const all = yield* Queue.takeN(subscription, 2500)
      assert.deepStrictEqual(indexes(all), Array.from({ length: 2500 }, (_, i) => i))
    }))
})
