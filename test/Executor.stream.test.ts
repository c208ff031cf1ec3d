import { assert, describe, it } from "@effect/vitest"
import type { Duration } from "effect"
import { Cause, Chunk, Effect, Exit, Fiber, Layer, Ref, Schedule, Schema, Stream, TestClock } from "effect"
import * as TestAgent from "../services/testing/TestAgent.js"
import type * as AgentError from "../src/AgentError.js"
import * as Executor from "../src/Executor.js"
import * as RunEvent from "../src/RunEvent.js"
import * as Task from "../src/Task.js"
import * as TaskResult from "../src/TaskResult.js"
import * as Usage from "../src/Usage.js"
import { withClock } from "./utils.js"

const provide = <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.provide(effect, Executor.layer())

/** An input that never ends, counting what is read from it. */
const endlessTasks = (read: { count: number }) =>
  Stream.iterate(0, (n) => n + 1).pipe(
    Stream.tap(() => Effect.sync(() => read.count++)),
    Stream.map((n) => Task.make({ id: `e${n}`, input: n }))
  )

const tasksOf = (n: number) => Stream.range(0, n - 1).pipe(Stream.map((i) => Task.make({ id: `t${i}`, input: i })))

describe("Executor.stream", () => {
  it.effect("emits every result in completion order, from a stream of tasks", () =>
    Effect.gen(function*() {
      // Task i sleeps (5 - i) * 10 ms: with everything at once, they end in reverse order.
      const agent = yield* TestAgent.sleep("reverse", (n: number) => `${(5 - n) * 10} millis`, (n) => n * 10)
      const results = yield* withClock(
        Stream.runCollect(Executor.stream(tasksOf(5), agent.factory, { concurrency: 5, runId: "s" }))
      )
      assert.deepStrictEqual(Chunk.toArray(results).map((r) => r.taskId), ["t4", "t3", "t2", "t1", "t0"])
      assert.deepStrictEqual(Chunk.toArray(results).map((r) => r.index), [4, 3, 2, 1, 0])
      assert.deepStrictEqual(
        Chunk.toArray(results).map((r) => TaskResult.isSucceeded(r) && r.value),
        [40, 30, 20, 10, 0]
      )
      // In a stream, an instance's name carries the task's position after its id (ids may repeat in a stream).
      assert.strictEqual(Chunk.toArray(results)[0]!.agent, "reverse#s/t4@4/1")
      const stats = yield* agent.stats
      assert.deepStrictEqual([stats.builds, stats.releases], [5, 5])
    }).pipe(provide))

  it.effect("instance names are unique in a stream whose task ids repeat; ids that are positions stay as they are", () =>
    Effect.gen(function*() {
      const agent = yield* TestAgent.make({ name: "named", run: (n: number) => Effect.succeed(n) })
      // Hostile ids: a repeated one, one that looks like a suffixed name, one that is another task's position.
      const tasks = Stream.fromIterable(["dup", "dup", "dup@0", "3", "1"]).pipe(
        Stream.zipWithIndex,
        Stream.map(([id, n]) => Task.make({ id, input: n }))
      )
      const results = Chunk.toArray(
        yield* Stream.runCollect(Executor.stream(tasks, agent.factory, { concurrency: 1, runId: "s" }))
      )
      const names = results.map((result) => result.agent)
      assert.deepStrictEqual(names, [
        "named#s/dup@0/1",
        "named#s/dup@1/1",
        "named#s/dup@0@2/1",
        "named#s/3/1",
        "named#s/1@4/1"
      ])
      assert.strictEqual(new Set((yield* agent.stats).instances).size, 5)
      // Task.fromIterable's ids are positions: names as in a list run.
      const plain = yield* Stream.runCollect(Executor.stream(Task.fromIterable([7, 8]), agent.factory, { runId: "p" }))
      assert.deepStrictEqual(Chunk.toArray(plain).map((result) => result.agent).sort(), ["named#p/0/1", "named#p/1/1"])
    }).pipe(provide))

  it.effect("takes a list of tasks too, and keeps failures, timeouts and bad input to their task", () =>
    Effect.gen(function*() {
      const agent = yield* TestAgent.make({
        name: "mixed",
        run: (n: number) => n === 1 ? Effect.fail("boom") : n === 2 ? Effect.never : Effect.succeed(n)
      })
      const results = yield* withClock(
        Stream.runCollect(
          Executor.stream(Task.fromIterable<unknown>([0, 1, 2, "x"]), agent.factory, {
            input: Schema.Number,
            timeout: "1 second"
          })
        )
      )
      const byId = new Map(Chunk.toArray(results).map((r) => [r.taskId, r._tag]))
      assert.deepStrictEqual(Object.fromEntries(byId), { 0: "Succeeded", 1: "Failed", 2: "TimedOut", 3: "Failed" })
    }).pipe(provide))

  // Real time: the point is how results that end in one turn of the event loop reach the consumer.
  it.live("results that end in the same turn of the event loop reach the consumer as one chunk", () =>
    Effect.gen(function*() {
      // Each agent has its own 20 ms timer; Node runs due timers one by one, draining microtasks between them.
      const agent = yield* TestAgent.sleep("turn", "20 millis", (n: number) => n)
      const sizes: Array<number> = []
      yield* Executor.stream(tasksOf(100), agent.factory, { concurrency: 100 }).pipe(
        Stream.runForEachChunk((chunk) => Effect.sync(() => sizes.push(chunk.length)))
      )
      assert.strictEqual(sizes.reduce((a, b) => a + b, 0), 100)
      // One chunk per result before the output waited for the next turn.
      assert.isAtMost(sizes.length, 10, `chunk sizes ${sizes.join(", ")}`)
    }).pipe(provide))

  it.effect("reads the input only as workers need it: memory bounded by the concurrency", () =>
    Effect.gen(function*() {
      const read = yield* Ref.make(0)
      const input = Stream.range(0, 999).pipe(
        Stream.tap(() => Ref.update(read, (n) => n + 1)),
        Stream.map((i) => Task.make({ id: String(i), input: i }))
      )
      const agent = yield* TestAgent.sleep("slow", "1 second", (n: number) => n)
      const fiber = yield* Effect.fork(Stream.runDrain(Executor.stream(input, agent.factory, { concurrency: 4 })))
      yield* TestClock.adjust("10 millis")
      // Four running, at most a buffer of four read ahead (plus the chunk the stream is emitting).
      assert.isAtMost(yield* Ref.get(read), 12)
      yield* TestClock.adjust("3 seconds")
      assert.isAtMost(yield* Ref.get(read), 12 + 12)
      yield* Fiber.interrupt(fiber)
      const stats = yield* agent.stats
      assert.strictEqual(stats.builds, stats.releases)
    }).pipe(provide))

  it.effect("ending the stream early interrupts the running agents and releases them", () =>
    Effect.gen(function*() {
      const agent = yield* TestAgent.sleep("early", (n: number) => `${n + 1} seconds`, (n: number) => n)
      const first = yield* withClock(
        Stream.runCollect(Stream.take(Executor.stream(tasksOf(100), agent.factory, { concurrency: 10 }), 3))
      )
      assert.deepStrictEqual(Chunk.toArray(first).map((r) => r.taskId), ["t0", "t1", "t2"])
      const stats = yield* agent.stats
      assert.strictEqual(stats.builds, stats.releases)
      assert.strictEqual(stats.running, 0)
      assert.isAtMost(stats.builds, 20)
    }).pipe(provide))

  it.effect("when the input fails, the tasks under way are reported, then the stream fails with its error", () =>
    Effect.gen(function*() {
      const agent = yield* TestAgent.sleep("until-failure", "1 second", (n: number) => n)
      const input = Stream.concat(
        Stream.make(Task.make({ id: "a", input: 1 }), Task.make({ id: "b", input: 2 })),
        Stream.fail("disk error")
      )
      const seen: Array<string> = []
      const exit = yield* withClock(
        Effect.exit(
          Stream.runForEach(Executor.stream(input, agent.factory), (r) => Effect.sync(() => seen.push(r.taskId)))
        )
      )
      assert.deepStrictEqual(seen.sort(), ["a", "b"])
      assert(Exit.isFailure(exit))
      assert.strictEqual(Cause.squash(exit.cause), "disk error")
    }).pipe(provide))

  it.effect("a task whose own timeout is invalid comes out failed, once, without an agent", () =>
    Effect.gen(function*() {
      const agent = yield* TestAgent.make({ name: "quick", run: (n: number) => Effect.succeed(n) })
      const tasks = Stream.make(
        Task.make({ id: "ok", input: 1 }),
        Task.make({ id: "bad", input: 2, timeout: "whenever" as Duration.DurationInput }),
        Task.make({ id: "ok2", input: 3 })
      )
      const results = Chunk.toArray(yield* Stream.runCollect(Executor.stream(tasks, agent.factory)))
      assert.deepStrictEqual(results.map((r) => [r.taskId, r._tag]).sort(), [
        ["bad", "Failed"],
        ["ok", "Succeeded"],
        ["ok2", "Succeeded"]
      ])
      const bad = results.find((r) => r.taskId === "bad")!
      assert(TaskResult.isFailed(bad))
      assert.strictEqual((bad.error as AgentError.TaskOptionsError)._tag, "TaskOptionsError")
      assert.isFalse(bad.started)
      assert.strictEqual((yield* agent.stats).builds, 2)
    }).pipe(provide))

  it.effect("tasks that do not fit the budget come out as BudgetExceeded, once each, without an agent", () =>
    Effect.gen(function*() {
      const agent = yield* TestAgent.make({
        name: "spender",
        run: (n: number) => Effect.as(Usage.record({ model: "m", inputTokens: 100 }), n)
      })
      const results = Chunk.toArray(
        yield* Stream.runCollect(
          Executor.stream(tasksOf(10), agent.factory, {
            concurrency: 2,
            budget: { tokens: 400 },
            estimate: { inputTokens: 100 }
          })
        )
      )
      assert.strictEqual(new Set(results.map((r) => r.taskId)).size, 10)
      const exceeded = results.filter((r) => TaskResult.isFailed(r))
      assert.strictEqual(exceeded.length, 6)
      assert.isTrue(
        exceeded.every((r) => !r.started && (r.error as AgentError.BudgetExceeded)._tag === "BudgetExceeded")
      )
      assert.strictEqual((yield* agent.stats).builds, 4)
    }).pipe(provide))

  it.effect("retries and deadlines work as in run; read tasks stopped by the deadline are reported", () =>
    Effect.gen(function*() {
      const agent = yield* TestAgent.make({
        name: "flaky",
        run: (n: number, instance) =>
          instance.attempt === 1 && n === 0
            ? Effect.fail({ status: 503 })
            : Effect.as(Effect.sleep("1 second"), n)
      })
      const results = yield* withClock(
        Stream.runCollect(
          Executor.stream(tasksOf(20), agent.factory, {
            concurrency: 2,
            deadline: "3500 millis",
            retry: Schedule.spaced("100 millis")
          })
        )
      )
      const all = Chunk.toArray(results)
      const t0 = all.find((r) => r.taskId === "t0")!
      assert.strictEqual(t0._tag, "Succeeded")
      assert.strictEqual(t0.attempt, 2)
      assert.isTrue(all.some((r) => TaskResult.isTimedOut(r) && r.reason === "RunDeadline"))
      // Whatever was read is reported once; the rest of the input was never read.
      assert.strictEqual(new Set(all.map((r) => r.taskId)).size, all.length)
      assert.isTrue(
        all.filter((r) => !r.started).every((r) => TaskResult.isInterrupted(r) && r.reason === "RunDeadline")
      )
    }).pipe(provide))

  it.effect("the deadline stops the reading of an endless input; every task read is reported once", () =>
    Effect.gen(function*() {
      const read = { count: 0 }
      const endless = endlessTasks(read)
      const agent = yield* TestAgent.sleep("endless", "100 millis", (n: number) => n)
      const results = Chunk.toArray(
        yield* withClock(
          Stream.runCollect(Executor.stream(endless, agent.factory, { concurrency: 4, deadline: "1050 millis" }))
        )
      )
      // Ten rounds of four tasks fit before the deadline, the eleventh is stopped by it; then the reading stops,
      // and what was read is reported.
      assert.strictEqual(results.filter(TaskResult.isSucceeded).length, 40)
      assert.strictEqual(results.filter((r) => TaskResult.isTimedOut(r) && r.reason === "RunDeadline").length, 4)
      assert.strictEqual(new Set(results.map((r) => r.taskId)).size, results.length)
      assert.deepStrictEqual(
        results.map((r) => r.index).sort((a, b) => a - b),
        Array.from({ length: results.length }, (_, n) => n)
      )
      const rest = results.filter((r) => !r.started)
      assert.strictEqual(rest.length, results.length - 44)
      assert.isTrue(rest.every((r) => TaskResult.isInterrupted(r) && r.reason === "RunDeadline"))
      // Read and never started, at most: the input mailbox (four), taken by the workers the deadline freed, the
      // input mailbox again, filled in the same instant before the reader is stopped, and the chunk being offered.
      assert.isAtMost(read.count - 44, 4 + 4 + 2)
      assert.isAtMost(results.length, read.count)
      const stats = yield* agent.stats
      assert.deepStrictEqual([stats.builds, stats.releases], [44, 44])
    }).pipe(provide))

  it.effect("a failure policy stops the reading of an endless input; running tasks finish", () =>
    Effect.gen(function*() {
      const read = { count: 0 }
      const endless = endlessTasks(read)
      const agent = yield* TestAgent.make({
        name: "failing",
        run: (n: number) =>
          Effect.zipRight(Effect.sleep("10 millis"), n === 10 ? Effect.fail("boom") : Effect.succeed(n))
      })
      const results = Chunk.toArray(
        yield* withClock(
          Stream.runCollect(
            Executor.stream(endless, agent.factory, { concurrency: 3, failurePolicy: { maxFailures: 1 } })
          )
        )
      )
      assert.strictEqual(results.filter(TaskResult.isFailed).length, 1)
      assert.strictEqual(new Set(results.map((r) => r.taskId)).size, results.length)
      // Twelve tasks taken when task 10 fails (at 40 ms), three more taken in the same instant, the input mailbox
      // (three) and the chunk being offered.
      assert.isAtMost(read.count, 12 + 3 + 3 + 2)
      assert.isAtMost(results.length, read.count)
      assert.isTrue(
        results.filter((r) => !r.started).every((r) => TaskResult.isInterrupted(r) && r.reason === "FailurePolicy")
      )
    }).pipe(provide))

  it.effect("rejects options a stream cannot have", () =>
    Effect.gen(function*() {
      const agent = yield* TestAgent.succeed("never", (n: number) => n)
      const option = (options: Executor.StreamOptions<AgentError.AgentError>) =>
        Effect.flip(Stream.runDrain(Executor.stream(tasksOf(3), agent.factory, options))).pipe(
          Effect.map((error) => (error as AgentError.RunOptionsError).option)
        )
      assert.strictEqual(yield* option({ concurrency: "unbounded" }), "concurrency")
      assert.strictEqual(yield* option({ failurePolicy: { minSuccessRate: 0.5 } }), "failurePolicy.minSuccessRate")
      assert.strictEqual((yield* agent.stats).builds, 0)
    }).pipe(provide))
})

describe("RunEvent", () => {
  const withEvents = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
    Effect.provide(effect, Layer.mergeAll(Executor.layer(), RunEvent.layer({ capacity: 64 })))

  it.scoped("a run publishes queued, started, retrying, ended and finished events, in order per task", () =>
    Effect.gen(function*() {
      const agent = yield* TestAgent.make({
        name: "evented",
        run: (n: number, instance) =>
          n === 1 && instance.attempt === 1 ? Effect.fail({ status: 429 }) : Effect.succeed(n)
      })
      const events = yield* RunEvent.subscribe
      const collected = yield* events.pipe(
        Stream.takeUntil(RunEvent.RunEvent.$is("RunFinished")),
        Stream.runCollect,
        Effect.fork
      )
      yield* withClock(
        Executor.run(Task.fromIterable([0, 1]), agent.factory, { runId: "ev", retry: Schedule.spaced("1 second") })
      )
      const tags = Chunk.toArray(yield* Fiber.join(collected)).map((event) =>
        "taskId" in event ? `${event._tag} ${event.taskId}` : event._tag
      )
      assert.strictEqual(tags[0], "RunStarted")
      assert.deepStrictEqual(tags.slice(1, 3), ["TaskQueued 0", "TaskQueued 1"])
      assert.deepStrictEqual(tags.filter((tag) => tag.endsWith(" 1")), [
        "TaskQueued 1",
        "TaskStarted 1",
        "TaskRetrying 1",
        "TaskStarted 1",
        "TaskSucceeded 1"
      ])
      assert.strictEqual(tags.at(-1), "RunFinished")
    }).pipe(withEvents))

  it.scoped("RunFinished carries the summary; ended events carry the result", () =>
    Effect.gen(function*() {
      const agent = yield* TestAgent.make({
        name: "summary",
        run: (n: number) => n === 2 ? Effect.fail("no") : Effect.succeed(n)
      })
      const events = yield* RunEvent.subscribe
      const collected = yield* Effect.fork(
        Stream.runCollect(Stream.takeUntil(events, RunEvent.RunEvent.$is("RunFinished")))
      )
      yield* Executor.run(Task.fromIterable([1, 2, 3]), agent.factory)
      const all = Chunk.toArray(yield* Fiber.join(collected))
      const finished = all.at(-1)!
      assert(finished._tag === "RunFinished")
      assert.deepStrictEqual(finished.summary, { total: 3, succeeded: 2, failed: 1, timedOut: 0, interrupted: 0 })
      const failed = all.find(RunEvent.RunEvent.$is("TaskFailed"))!
      assert.strictEqual(failed.result.taskId, "1")
    }).pipe(withEvents))

  it.scoped("tasks the budget keeps from starting are published as failed, with no start", () =>
    Effect.gen(function*() {
      // Each call records one model request, which the budget of one request settles with.
      const agent = yield* TestAgent.make({
        name: "budgeted",
        run: (n: number) => Effect.as(Usage.record({ model: "m" }), n)
      })
      const events = yield* RunEvent.subscribe
      const collected = yield* Effect.fork(
        Stream.runCollect(Stream.takeUntil(events, RunEvent.RunEvent.$is("RunFinished")))
      )
      yield* Executor.run(Task.fromIterable([1, 2, 3]), agent.factory, {
        budget: { requests: 1 },
        estimate: { requests: 1 },
        concurrency: 1
      })
      const all = Chunk.toArray(yield* Fiber.join(collected))
      assert.strictEqual(all.filter(RunEvent.RunEvent.$is("TaskStarted")).length, 1)
      assert.deepStrictEqual(all.filter(RunEvent.RunEvent.$is("TaskFailed")).map((event) => event.taskId), ["1", "2"])
    }).pipe(withEvents))

  it.scoped("a slow subscriber loses its oldest events and never slows the run", () =>
    Effect.gen(function*() {
      const agent = yield* TestAgent.succeed("fast", (n: number) => n)
      // Subscribed but never read: its buffer of 64 slides.
      yield* RunEvent.subscribe
      const events = yield* RunEvent.subscribe
      const report = yield* Executor.run(Task.fromIterable(Array.from({ length: 500 }, (_, i) => i)), agent.factory, {
        concurrency: 8
      })
      assert.strictEqual(report.summary.succeeded, 500)
      // The other subscriber, read only now, has the 64 latest events, the last being RunFinished.
      const kept = Chunk.toArray(yield* Stream.runCollect(Stream.take(events, 64)))
      assert.strictEqual(kept.length, 64)
      assert.strictEqual(kept.at(-1)!._tag, "RunFinished")
    }).pipe(withEvents))

  it.scoped("a stream run publishes its tasks as they are read", () =>
    Effect.gen(function*() {
      const agent = yield* TestAgent.succeed("streamed", (n: number) => n)
      const events = yield* RunEvent.subscribe
      const collected = yield* Effect.fork(
        Stream.runCollect(Stream.takeUntil(events, RunEvent.RunEvent.$is("RunFinished")))
      )
      yield* Stream.runDrain(Executor.stream(tasksOf(3), agent.factory, { concurrency: 2 }))
      const all = Chunk.toArray(yield* Fiber.join(collected))
      const started = all[0]!
      assert(started._tag === "RunStarted")
      assert.strictEqual(started.total, undefined)
      assert.strictEqual(all.filter(RunEvent.RunEvent.$is("TaskQueued")).length, 3)
      assert.strictEqual(all.filter(RunEvent.RunEvent.$is("TaskSucceeded")).length, 3)
    }).pipe(withEvents))
})
