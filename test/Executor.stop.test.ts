import { assert, describe, it } from "@effect/vitest"
import { Chunk, Deferred, Duration, Effect, Fiber, Option, Schedule, Stream, Supervisor, TestClock } from "effect"
import * as TestAgent from "../services/testing/TestAgent.js"
import * as Budget from "../src/Budget.js"
import * as Executor from "../src/Executor.js"
import * as RunEvent from "../src/RunEvent.js"
import * as RunJournal from "../src/RunJournal.js"
import * as Task from "../src/Task.js"
import * as TaskResult from "../src/TaskResult.js"
import * as Usage from "../src/Usage.js"
import { withClock } from "./utils.js"

const tasks = (n: number) => Task.fromIterable(Array.from({ length: n }, (_, i) => i))

/** A stop that completes `after` the run starts (on the TestClock). */
const stopAfter = (after: Duration.DurationInput) =>
  Effect.gen(function*() {
    const stop = yield* Deferred.make<void>()
    yield* Effect.forkScoped(Effect.zipRight(Effect.sleep(after), Deferred.succeed(stop, undefined)))
    return stop
  })

const shape = (results: ReadonlyArray<TaskResult.TaskResult<unknown, unknown>>) =>
  results.map((r) => r._tag === "Interrupted" ? `${r.reason}${r.started ? "" : "-"}` : r._tag)

/** Every task reported once, in input order, and the summary adds up. */
const wholeReport = (
  report: { readonly results: ReadonlyArray<TaskResult.TaskResult<unknown, unknown>>; readonly summary: any },
  total: number
) => {
  assert.strictEqual(report.results.length, total)
  report.results.forEach((r, i) => assert.strictEqual(r.index, i))
  const { failed, interrupted, succeeded, timedOut } = report.summary
  assert.strictEqual(succeeded + failed + timedOut + interrupted, total)
  assert.strictEqual(report.summary.total, total)
}

const modes = [
  ["settled where its attempt ends", false],
  ["with events", true]
] as const

describe("Executor stop", () => {
  for (const [mode, events] of modes) {
    it.scoped(`stops in the middle: running agents interrupted and released, the rest never started (${mode})`, () =>
      Effect.gen(function*() {
        const agent = yield* TestAgent.sleep("stoppable", "1 second", (n: number) => n)
        const stop = yield* stopAfter("1500 millis")
        const supervisor = yield* Supervisor.track
        const hub = yield* Effect.serviceOption(RunEvent.Hub)
        const seen = hub._tag === "None" ? undefined : Stream.fromQueue(yield* hub.value.subscribe)
        const collected = seen === undefined
          ? undefined
          : yield* Effect.fork(Stream.runCollect(Stream.takeUntil(seen, RunEvent.RunEvent.$is("RunFinished"))))
        const report = yield* withClock(
          Executor.run(tasks(10), agent.factory, { concurrency: 3, stop: Deferred.await(stop) }).pipe(
            Effect.supervised(supervisor)
          )
        )
        // 0-2 end at 1 s; 3-5 run until the stop at 1.5 s; 6-9 never start.
        assert.deepStrictEqual(shape(report.results), [
          "Succeeded",
          "Succeeded",
          "Succeeded",
          "Stopped",
          "Stopped",
          "Stopped",
          "Stopped-",
          "Stopped-",
          "Stopped-",
          "Stopped-"
        ])
        wholeReport(report, 10)
        assert.deepStrictEqual(report.summary, { total: 10, succeeded: 3, failed: 0, timedOut: 0, interrupted: 7 })
        const cut = report.results[3]!
        assert(TaskResult.isInterrupted(cut))
        assert.deepStrictEqual([cut.durationMillis, cut.attempt, TaskResult.message(cut)], [
          500,
          1,
          "stopped with the run"
        ])
        assert.strictEqual(TaskResult.message(report.results[9]!), "not started: the run was stopped")
        assert.strictEqual(report.stats.wallTime.pipe(Duration.toMillis), 1500)
        const stats = yield* agent.stats
        assert.deepStrictEqual([stats.builds, stats.releases, stats.running], [6, 6, 0])
        const live = yield* supervisor.value
        assert.strictEqual(live.filter((fiber) => fiber.unsafePoll() === null).length, 0)
        if (collected !== undefined) {
          const all = Chunk.toArray(yield* Fiber.join(collected))
          const finished = all.at(-1)!
          assert(finished._tag === "RunFinished")
          assert.deepStrictEqual(finished.summary, report.summary)
          assert.strictEqual(all.filter((e) => e._tag === "TaskInterrupted").length, 7)
        }
      }).pipe(Effect.provide(Executor.layer()), (effect) => events ? Effect.provide(effect, RunEvent.layer()) : effect))
  }

  it.effect("a stop complete when the run starts stops it before any task starts", () =>
    Effect.gen(function*() {
      const agent = yield* TestAgent.sleep("never", "1 second", (n: number) => n)
      const stop = yield* Deferred.make<void>()
      yield* Deferred.succeed(stop, undefined)
      const report = yield* withClock(Executor.run(tasks(5), agent.factory, { concurrency: 2, stop }))
      assert.deepStrictEqual(shape(report.results), Array(5).fill("Stopped-"))
      wholeReport(report, 5)
      assert.strictEqual((yield* agent.stats).builds, 0)
      // Any effect will do: one that ends at once.
      const again = yield* withClock(Executor.run(tasks(3), agent.factory, { stop: Effect.void }))
      assert.deepStrictEqual(shape(again.results), Array(3).fill("Stopped-"))
      assert.strictEqual((yield* agent.stats).builds, 0)
    }).pipe(Effect.provide(Executor.layer())))

  it.scoped("a task waiting to retry ends at once, with the attempt that failed", () =>
    Effect.gen(function*() {
      let calls = 0
      const agent = yield* TestAgent.make({
        name: "flaky",
        run: (n: number) =>
          n === 0 ? Effect.sync(() => calls++).pipe(Effect.zipRight(Effect.fail("busy"))) : Effect.succeed(n)
      })
      const stop = yield* stopAfter("2 seconds")
      const report = yield* withClock(
        Executor.run(tasks(2), agent.factory, {
          retry: { schedule: Schedule.spaced("1 minute"), while: () => true },
          stop: Deferred.await(stop)
        })
      )
      assert.deepStrictEqual(shape(report.results), ["Stopped", "Succeeded"])
      const waited = report.results[0]!
      assert(TaskResult.isInterrupted(waited))
      assert.deepStrictEqual([waited.attempt, waited.failedAttempts.length, waited.durationMillis], [1, 1, 2000])
      assert.strictEqual(waited.failedAttempts[0]!.delayMillis, 2000)
      assert.strictEqual(calls, 1)
      // Stopped at 2 s, not after the schedule's minute.
      assert.strictEqual(report.stats.wallTime.pipe(Duration.toMillis), 2000)
      const stats = yield* agent.stats
      assert.deepStrictEqual([stats.builds, stats.releases], [2, 2])
    }).pipe(Effect.provide(Executor.layer())))

  it.scoped("tasks waiting for the rate limit or an adaptive permit end at once, never started; the budget is settled", () =>
    Effect.gen(function*() {
      const agent = yield* TestAgent.sleep("limited", "10 seconds", (n: number) => n)
      const budget = yield* Budget.make({ tokens: 1_000 })
      const stop = yield* stopAfter("1 second")
      const limited = yield* withClock(
        Executor.run(tasks(4), agent.factory, {
          concurrency: 4,
          rateLimit: { requests: { limit: 1, interval: "1 minute" } },
          budget,
          estimate: { inputTokens: 10 },
          stop: Deferred.await(stop)
        })
      )
      assert.deepStrictEqual(shape(limited.results), ["Stopped", "Stopped-", "Stopped-", "Stopped-"])
      wholeReport(limited, 4)
      assert.strictEqual(limited.stats.wallTime.pipe(Duration.toMillis), 1000)
      assert.deepStrictEqual((yield* budget.snapshot).reserved, Usage.empty)

      const later = yield* stopAfter("1 second")
      const adaptive = yield* withClock(
        Executor.run(tasks(6), agent.factory, {
          concurrency: 6,
          adaptive: { initial: 2 },
          stop: Deferred.await(later)
        })
      )
      assert.deepStrictEqual(shape(adaptive.results), [
        "Stopped",
        "Stopped",
        "Stopped-",
        "Stopped-",
        "Stopped-",
        "Stopped-"
      ])
      const stats = yield* agent.stats
      assert.deepStrictEqual([stats.builds, stats.releases], [3, 3])
    }).pipe(Effect.provide(Executor.layer())))

  it.scoped("a stream run stops reading, reports every task it read and ends", () =>
    Effect.gen(function*() {
      const agent = yield* TestAgent.sleep("streamed", "1 second", (n: number) => n)
      const stop = yield* stopAfter("2500 millis")
      const results = yield* withClock(
        Stream.runCollect(
          Executor.stream(Stream.fromIterable(tasks(100)), agent.factory, {
            concurrency: 2,
            stop: Deferred.await(stop)
          })
        )
      )
      const all = Chunk.toArray(results)
      // 4 succeeded (two at 1 s, two at 2 s), 2 stopped under way; the reader was at most a few tasks ahead.
      assert.strictEqual(all.filter(TaskResult.isSucceeded).length, 4)
      assert.strictEqual(
        all.filter((r) => TaskResult.isInterrupted(r) && r.reason === "Stopped" && r.started).length,
        2
      )
      assert(all.every((r) => TaskResult.isSucceeded(r) || (TaskResult.isInterrupted(r) && r.reason === "Stopped")))
      assert.deepStrictEqual(all.map((r) => r.index).sort((a, b) => a - b), all.map((_, i) => i))
      assert(all.length < 20)
      const stats = yield* agent.stats
      assert.deepStrictEqual([stats.builds, stats.releases], [6, 6])
    }).pipe(Effect.provide(Executor.layer())))

  it.scoped("a stream run over a list reports every task of the list", () =>
    Effect.gen(function*() {
      const agent = yield* TestAgent.sleep("listed", "1 second", (n: number) => n)
      const stop = yield* stopAfter("1500 millis")
      const all = Chunk.toArray(
        yield* withClock(
          Stream.runCollect(Executor.stream(tasks(30), agent.factory, { concurrency: 3, stop: Deferred.await(stop) }))
        )
      )
      assert.deepStrictEqual(all.map((r) => r.index).sort((a, b) => a - b), Array.from({ length: 30 }, (_, i) => i))
      assert.strictEqual(all.filter(TaskResult.isSucceeded).length, 3)
      assert.strictEqual(all.filter((r) => TaskResult.isInterrupted(r) && r.reason === "Stopped").length, 27)
      assert.strictEqual(all.filter((r) => r.started).length, 6)
    }).pipe(Effect.provide(Executor.layer())))

  it.effect("a stop after the run ended does nothing; stopping twice is stopping once", () =>
    Effect.gen(function*() {
      const agent = yield* TestAgent.sleep("quick", "1 second", (n: number) => n)
      const stop = yield* Effect.makeLatch(false)
      const report = yield* withClock(Executor.run(tasks(3), agent.factory, { stop: stop.await }))
      assert.deepStrictEqual(shape(report.results), ["Succeeded", "Succeeded", "Succeeded"])
      yield* stop.open
      yield* stop.open
      assert.strictEqual((yield* agent.stats).releases, 3)

      // Twice, and a stop that fails stops the run as one that succeeds.
      const twice = yield* Effect.makeLatch(false)
      const fiber = yield* Effect.fork(
        Executor.run(tasks(4), agent.factory, {
          concurrency: 2,
          stop: Effect.zipRight(twice.await, Effect.fail("stopped"))
        })
      )
      yield* TestClock.adjust("500 millis")
      yield* twice.open
      yield* twice.open
      const stopped = yield* Fiber.join(fiber)
      assert.deepStrictEqual(shape(stopped.results), ["Stopped", "Stopped", "Stopped-", "Stopped-"])
      const stats = yield* agent.stats
      assert.deepStrictEqual([stats.builds, stats.releases], [5, 5])
    }).pipe(Effect.provide(Executor.layer())))

  it.scoped("a durable run that was stopped keeps what ended and is not finished: a resume runs the rest", () =>
    Effect.gen(function*() {
      const agent = yield* TestAgent.sleep("durable", "1 second", (n: number) => n)
      const journal = yield* RunJournal.makeMemory
      const stop = yield* stopAfter("1500 millis")
      const first = yield* withClock(
        Executor.run(tasks(6), agent.factory, { concurrency: 2, durable: { runId: "d1" }, stop: Deferred.await(stop) })
      ).pipe(Effect.provideService(RunJournal.RunJournal, journal))
      assert.deepStrictEqual(shape(first.results), [
        "Succeeded",
        "Succeeded",
        "Stopped",
        "Stopped",
        "Stopped-",
        "Stopped-"
      ])
      const info = yield* journal.run("d1")
      assert(Option.isSome(info))
      assert.isUndefined(info.value.finishedAt)
      assert.strictEqual(info.value.recorded.succeeded, 2)
      const resumed = yield* withClock(
        Executor.run(tasks(6), agent.factory, { concurrency: 2, durable: { runId: "d1" } })
      ).pipe(Effect.provideService(RunJournal.RunJournal, journal))
      assert.deepStrictEqual(resumed.results.map((r) => [r._tag, r.replayed]), [
        ["Succeeded", true],
        ["Succeeded", true],
        ["Succeeded", false],
        ["Succeeded", false],
        ["Succeeded", false],
        ["Succeeded", false]
      ])
      const again = yield* journal.run("d1")
      assert(Option.isSome(again))
      assert.isDefined(again.value.finishedAt)
    }).pipe(Effect.provide(Executor.layer())))

  it.effect("runOne stops its task; a stop that is not an effect is a RunOptionsError", () =>
    Effect.gen(function*() {
      const agent = yield* TestAgent.sleep("single", "1 minute", (n: number) => n)
      const stop = yield* Effect.makeLatch(false)
      const fiber = yield* Effect.fork(
        Executor.runOne(Task.make({ id: "a", input: 1 }), agent.factory, { stop: stop.await })
      )
      yield* TestClock.adjust("3 seconds")
      yield* stop.open
      const result = yield* Fiber.join(fiber)
      assert(TaskResult.isInterrupted(result))
      assert.deepStrictEqual([result.reason, result.started, result.durationMillis], ["Stopped", true, 3000])
      assert.strictEqual((yield* agent.stats).releases, 1)
      const error = yield* Effect.flip(
        Executor.run(tasks(1), agent.factory, { stop: "now" as unknown as Effect.Effect<void> })
      )
      assert.deepStrictEqual([error._tag, error.option], ["RunOptionsError", "stop"])
    }).pipe(Effect.provide(Executor.layer())))
})
