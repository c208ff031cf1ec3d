import { assert, describe, it } from "@effect/vitest"
import { Cause, Chunk, Effect, Exit, Fiber, Layer, Option, Queue, Stream, TestClock } from "effect"
import * as TestAgent from "../services/testing/TestAgent.js"
import * as Executor from "../src/Executor.js"
import * as RunEvent from "../src/RunEvent.js"
import * as Task from "../src/Task.js"
import { withClock } from "./utils.js"

const withEvents = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.provide(effect, Layer.mergeAll(Executor.layer(), RunEvent.layer({ capacity: 16_384 })))

const isEnd = (event: RunEvent.RunEvent) =>
  event._tag === "TaskSucceeded" || event._tag === "TaskFailed" || event._tag === "TaskTimedOut" ||
  event._tag === "TaskInterrupted"

/** Checks one run's events: its start first, its end last, each task queued, started, ended, once each. */
const assertRun = (events: ReadonlyArray<RunEvent.RunEvent>, runId: string, tasks: number) => {
  const own = events.filter((event) => event.runId === runId)
  assert.strictEqual(own[0]?._tag, "RunStarted")
  assert.strictEqual(own.at(-1)?._tag, "RunFinished")
  assert.strictEqual(own.filter(RunEvent.RunEvent.$is("RunFinished")).length, 1)
  const byTask = new Map<string, Array<string>>()
  for (const event of own) {
    if (!("taskId" in event)) continue
    const seen = byTask.get(event.taskId) ?? []
    seen.push(isEnd(event) ? "ended" : event._tag)
    byTask.set(event.taskId, seen)
  }
  assert.strictEqual(byTask.size, tasks)
  for (const seen of byTask.values()) assert.deepStrictEqual(seen, ["TaskQueued", "TaskStarted", "ended"])
}

const tasksOf = (n: number) => Stream.range(0, n - 1).pipe(Stream.map((i) => Task.make({ id: `t${i}`, input: i })))

describe("RunEvent", () => {
  // Real time: the point is the event loop's turns. Tasks that sleep on real timers end each in a timer callback of
  // its own, between which a subscriber woken for each event would run; their events wait for the turn's end.
  it.live("the events of tasks that end in the same turn reach a subscriber together", () =>
    Effect.gen(function*() {
      const agent = yield* TestAgent.sleep("together", "20 millis", (n: number) => n)
      const subscription = yield* (yield* RunEvent.Hub).subscribe
      // What each wake-up of a subscriber that drains the hub gets.
      const takes: Array<number> = []
      const reader = yield* Effect.fork(Effect.iterate(false, {
        while: (done) => !done,
        body: () =>
          Effect.map(Queue.takeBetween(subscription, 1, 100_000), (chunk) => {
            takes.push(chunk.length)
            return Chunk.some(chunk, RunEvent.RunEvent.$is("RunFinished"))
          })
      }))
      yield* Executor.run(Task.fromIterable(Array.from({ length: 50 }, (_, i) => i)), agent.factory, {
        concurrency: 50
      })
      yield* Fiber.join(reader)
      // 152 events: the run's start and its 50 tasks queued, their 50 starts, their 50 ends and the run's end. Woken
      // for each event, the reader would take about 50 times; the timers of 50 sleeps started together may fall due
      // over a few turns.
      assert.strictEqual(takes.reduce((a, b) => a + b, 0), 152)
      assert.isAtMost(takes.length, 12, `takes: ${takes.join(", ")}`)
    }).pipe(withEvents, Effect.scoped))

  it.scoped("every event of a run is published by the time its report is returned, RunFinished last", () =>
    Effect.gen(function*() {
      const agent = yield* TestAgent.make({
        name: "published",
        run: (n: number) => n % 3 === 0 ? Effect.fail("no") : Effect.succeed(n)
      })
      const subscription = yield* (yield* RunEvent.Hub).subscribe
      const report = yield* Executor.run(Task.fromIterable(Array.from({ length: 30 }, (_, i) => i)), agent.factory, {
        runId: "listed",
        concurrency: 4
      })
      assert.strictEqual(report.summary.failed, 10)
      // Read without waiting: nothing may still be on its way.
      const events = Chunk.toArray(yield* Queue.takeAll(subscription))
      assert.strictEqual(events.length, 92)
      assertRun(events, "listed", 30)
    }).pipe(withEvents))

  it.scoped("every event of a stream run is published by the time its stream ends, RunFinished last", () =>
    Effect.gen(function*() {
      const agent = yield* TestAgent.sleep("streamed", (n: number) => `${n % 7} millis`, (n: number) => n)
      const subscription = yield* (yield* RunEvent.Hub).subscribe
      const results = yield* withClock(
        Stream.runCollect(Executor.stream(tasksOf(40), agent.factory, { runId: "streamed", concurrency: 8 }))
      )
      assert.strictEqual(results.length, 40)
      const events = Chunk.toArray(yield* Queue.takeAll(subscription))
      assert.strictEqual(events.length, 122)
      assertRun(events, "streamed", 40)
    }).pipe(withEvents))

  it.scoped("a run interrupted, or a stream of results ended early, still ends its events with RunFinished", () =>
    Effect.gen(function*() {
      // A subscriber that follows a run until its RunFinished (as the README does) would otherwise wait for ever.
      const agent = yield* TestAgent.sleep("cut", (n: number) => `${n} seconds`, (n: number) => n)
      const subscription = yield* (yield* RunEvent.Hub).subscribe
      const inputs = [1, 2, 60, 60, 60, 60]
      // Interrupted once two tasks ended: the four others are running.
      const run = yield* Effect.fork(
        Executor.run(Task.fromIterable(inputs), agent.factory, { runId: "run", concurrency: 4 })
      )
      yield* TestClock.adjust("10 seconds")
      yield* Fiber.interrupt(run)
      // Interrupted from outside: an enclosing timeout.
      yield* Effect.timeout(
        Executor.run(Task.fromIterable(inputs), agent.factory, { runId: "timed", concurrency: 4 }),
        "10 seconds"
      )
        .pipe(withClock, Effect.ignore)
      // A stream of results of which only the first two are taken.
      yield* Executor.stream(Task.fromIterable(inputs), agent.factory, { runId: "taken", concurrency: 4 }).pipe(
        Stream.take(2),
        Stream.runDrain,
        withClock
      )
      // One task, interrupted.
      const one = yield* Effect.fork(
        Executor.runOne(Task.make({ id: "one", input: 60 }), agent.factory, { runId: "one" })
      )
      yield* TestClock.adjust("1 second")
      yield* Fiber.interrupt(one)
      const events = Chunk.toArray(yield* Queue.takeAll(subscription))
      for (const runId of ["run", "timed", "taken", "one"]) {
        const own = events.filter((event) => event.runId === runId)
        assert.strictEqual(own[0]?._tag, "RunStarted", runId)
        assert.strictEqual(own.at(-1)?._tag, "RunFinished", runId)
        assert.strictEqual(own.filter(RunEvent.RunEvent.$is("RunFinished")).length, 1, runId)
      }
      // Its summary counts what ended: the two that succeeded and the four interrupted while they ran.
      const finished = events.find((event) => event.runId === "run" && event._tag === "RunFinished")
      assert.deepStrictEqual((finished as Extract<RunEvent.RunEvent, { _tag: "RunFinished" }>).summary, {
        total: 6,
        succeeded: 2,
        failed: 0,
        timedOut: 0,
        interrupted: 4
      })
    }).pipe(withEvents))

  it.effect("a hub's capacity that is not a whole number from 1 to 1,000,000 is a RunOptionsError naming it", () =>
    Effect.gen(function*() {
      // PubSub died on these (InvalidPubSubCapacityException, "Index out of bounds", "Invalid array length").
      for (const capacity of [0, -1, Number.NaN, 1.5, Infinity, 1e12]) {
        const error = yield* Effect.flip(RunEvent.make({ capacity }))
        assert.strictEqual(error._tag, "RunOptionsError")
        assert.strictEqual(error.option, "capacity")
        assert.include(error.description, `expected a whole number from 1 to 1,000,000, got ${capacity}`)
        const exit = yield* Effect.exit(Layer.build(RunEvent.layer({ capacity })).pipe(Effect.scoped))
        assert.isTrue(
          Exit.isFailure(exit) && Cause.isFailType(exit.cause) && exit.cause.error._tag === "RunOptionsError"
        )
      }
      const hub = yield* RunEvent.make({ capacity: 1 })
      assert.isDefined(RunEvent.pubsubOf(hub))
    }))

  it.scoped("runs at once on one hub: each run's events in order", () =>
    Effect.gen(function*() {
      const agent = yield* TestAgent.sleep("both", (n: number) => `${n % 5} millis`, (n: number) => n)
      const subscription = yield* (yield* RunEvent.Hub).subscribe
      yield* withClock(Effect.all([
        Stream.runDrain(Executor.stream(tasksOf(25), agent.factory, { runId: "a", concurrency: 5 })),
        Executor.run(Task.fromIterable(Array.from({ length: 25 }, (_, i) => i)), agent.factory, {
          runId: "b",
          concurrency: 3
        }),
        Executor.runOne(Task.make({ id: "one", input: 1 }), agent.factory, { runId: "c" })
      ], { concurrency: "unbounded" }))
      const events = Chunk.toArray(yield* Queue.takeAll(subscription))
      assertRun(events, "a", 25)
      assertRun(events, "b", 25)
      assertRun(events, "c", 1)
    }).pipe(withEvents))

  it.scoped("an event waits at most a turn: a running task's start is seen before the task ends", () =>
    Effect.gen(function*() {
      const agent = yield* TestAgent.sleep("long", "1 hour", (n: number) => n)
      const subscription = yield* (yield* RunEvent.Hub).subscribe
      const run = yield* Effect.fork(Executor.run(Task.fromIterable([1]), agent.factory))
      // The clock does not move: the task runs until the test moves it.
      let event = yield* Queue.take(subscription)
      while (event._tag !== "TaskStarted") event = yield* Queue.take(subscription)
      assert.isTrue(Option.isNone(yield* Fiber.poll(run)))
      yield* TestClock.adjust("1 hour")
      const report = yield* Fiber.join(run)
      assert.strictEqual(report.summary.succeeded, 1)
    }).pipe(withEvents))
})
