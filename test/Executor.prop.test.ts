import { assert, describe, it } from "@effect/vitest"
import { Cause, Duration, Effect, Exit, FastCheck as fc, Fiber, TestClock } from "effect"
import * as TestAgent from "../services/testing/TestAgent.js"
import * as Executor from "../src/Executor.js"
import * as Task from "../src/Task.js"
import type * as TaskResult from "../src/TaskResult.js"
import { withClock } from "./utils.js"

/** What one task's agent does. */
type Behaviour =
  | { readonly _tag: "succeed" }
  | { readonly _tag: "slow"; readonly millis: number }
  | { readonly _tag: "fail" }
  | { readonly _tag: "die" }
  | { readonly _tag: "hang" }
  | { readonly _tag: "overrun"; readonly millis: number }

const TIMEOUT = 100

const behaviour: fc.Arbitrary<Behaviour> = fc.oneof(
  fc.constant({ _tag: "succeed" as const }),
  fc.integer({ min: 1, max: TIMEOUT - 1 }).map((millis) => ({ _tag: "slow" as const, millis })),
  fc.constant({ _tag: "fail" as const }),
  fc.constant({ _tag: "die" as const }),
  fc.constant({ _tag: "hang" as const }),
  fc.integer({ min: TIMEOUT + 1, max: 5 * TIMEOUT }).map((millis) => ({ _tag: "overrun" as const, millis }))
)

const script = (b: Behaviour): Effect.Effect<number, string> => {
  switch (b._tag) {
    case "succeed":
      return Effect.succeed(0)
    case "slow":
      return Effect.as(Effect.sleep(Duration.millis(b.millis)), b.millis)
    case "fail":
      return Effect.fail("typed failure")
    case "die":
      return Effect.die(new Error("defect"))
    case "hang":
      return Effect.never
    case "overrun":
      return Effect.as(Effect.sleep(Duration.millis(b.millis)), b.millis)
  }
}

/** How long a task runs before it ends or its timeout stops it. */
const expectedDuration = (b: Behaviour): number =>
  b._tag === "slow" ? b.millis : b._tag === "hang" || b._tag === "overrun" ? TIMEOUT : 0

/**
 * Greedy list scheduling, the engine's contract: tasks start in input order, each as soon as one of `concurrency`
 * slots is free. Returns each task's start time.
 */
const schedule = (durations: ReadonlyArray<number>, concurrency: number): Array<number> => {
  const free = Array.from({ length: Math.min(concurrency, Math.max(1, durations.length)) }, () => 0)
  return durations.map((duration) => {
    let slot = 0
    for (let i = 1; i < free.length; i++) if (free[i]! < free[slot]!) slot = i
    const start = free[slot]!
    free[slot] = start + duration
    return start
  })
}

const checkOutcome = (b: Behaviour, result: TaskResult.TaskResult<number, unknown>) => {
  switch (b._tag) {
    case "succeed":
    case "slow":
      assert.strictEqual(result._tag, "Succeeded")
      break
    case "fail":
      assert(result._tag === "Failed" && Cause.isFailType(result.cause) && result.cause.error === "typed failure")
      break
    case "die":
      assert(result._tag === "Failed" && Cause.isDie(result.cause))
      break
    case "hang":
    case "overrun":
      assert(result._tag === "TimedOut" && result.reason === "TaskTimeout")
      break
  }
}

describe("Executor properties", () => {
  it.effect.prop(
    "every task is reported once, at the right virtual time, within the concurrency, every instance released",
    {
      behaviours: fc.array(behaviour, { maxLength: 40 }),
      concurrency: fc.integer({ min: 1, max: 8 })
    },
    ({ behaviours, concurrency }) =>
      Effect.gen(function*() {
        const agent = yield* TestAgent.make({ name: "prop", run: (i: number) => script(behaviours[i]!) })
        const tasks = Task.fromIterable(behaviours.map((_, i) => i))
        const report = yield* withClock(
          Executor.run(tasks, agent.factory, { concurrency, timeout: Duration.millis(TIMEOUT) }),
          "1 hour"
        )

        // Every task reported exactly once, in input order.
        assert.strictEqual(report.results.length, behaviours.length)
        report.results.forEach((result, i) => {
          assert.strictEqual(result.index, i)
          assert.strictEqual(result.taskId, String(i))
          checkOutcome(behaviours[i]!, result)
        })
        const { summary } = report
        assert.strictEqual(summary.succeeded + summary.failed + summary.timedOut + summary.interrupted, summary.total)

        // Timeouts fire at the right virtual time, and slots pick up the next task at once.
        const durations = behaviours.map(expectedDuration)
        const starts = schedule(durations, concurrency)
        assert.deepStrictEqual(report.results.map((r) => r.durationMillis), durations)
        assert.deepStrictEqual(report.results.map((r) => r.startedAt), starts)
        const makespan = Math.max(0, ...starts.map((start, i) => start + durations[i]!))
        assert.strictEqual(Duration.toMillis(report.stats.wallTime), makespan)

        // Never more at once than the concurrency; one instance per attempt; all released.
        const stats = yield* agent.stats
        assert.isAtMost(stats.peakRunning, concurrency)
        assert.isAtMost(report.stats.peakInFlight, concurrency)
        assert.strictEqual(stats.builds, behaviours.length)
        assert.strictEqual(stats.releases, behaviours.length)
        assert.strictEqual(stats.runs, behaviours.length)
        assert.strictEqual(stats.running, 0)
        assert.strictEqual(new Set(stats.instances).size, behaviours.length)
      }).pipe(Effect.provide(Executor.layer())),
    { fastCheck: { numRuns: 300 } }
  )

  it.effect.prop(
    "at the run's deadline every task is still reported once and every started instance released",
    {
      behaviours: fc.array(behaviour, { maxLength: 30 }),
      concurrency: fc.integer({ min: 1, max: 6 }),
      deadline: fc.integer({ min: 1, max: 400 })
    },
    ({ behaviours, concurrency, deadline }) =>
      Effect.gen(function*() {
        const agent = yield* TestAgent.make({ name: "deadline", run: (i: number) => script(behaviours[i]!) })
        const report = yield* withClock(
          Executor.run(Task.fromIterable(behaviours.map((_, i) => i)), agent.factory, {
            concurrency,
            timeout: Duration.millis(TIMEOUT),
            deadline: Duration.millis(deadline)
          }),
          "1 hour"
        )
        assert.strictEqual(report.results.length, behaviours.length)
        const durations = behaviours.map(expectedDuration)
        const starts = schedule(durations, concurrency)
        let started = 0
        report.results.forEach((result, i) => {
          assert.strictEqual(result.index, i)
          const start = starts[i]!
          const end = start + durations[i]!
          if (start >= deadline) {
            // No task starts at or after the deadline.
            assert(result._tag === "Interrupted" && result.reason === "RunDeadline" && !result.started)
            return
          }
          started++
          const cut = result._tag === "TimedOut" && result.reason === "RunDeadline"
          if (end > deadline) {
            assert(cut)
            assert.strictEqual(result.durationMillis, deadline - start)
          } else if (end === deadline && cut) {
            // A task that ends exactly at the deadline races it; either outcome is right.
            assert.strictEqual(result.durationMillis, deadline - start)
          } else {
            checkOutcome(behaviours[i]!, result)
            assert.strictEqual(result.durationMillis, durations[i])
          }
        })
        assert.isAtMost(Duration.toMillis(report.stats.wallTime), deadline)
        const stats = yield* agent.stats
        assert.isAtMost(stats.peakRunning, concurrency)
        assert.strictEqual(stats.builds, started)
        assert.strictEqual(stats.releases, started)
        assert.strictEqual(stats.running, 0)
      }).pipe(Effect.provide(Executor.layer())),
    { fastCheck: { numRuns: 300 } }
  )

  it.effect.prop(
    "interrupting a run at any moment releases every instance it built",
    {
      behaviours: fc.array(behaviour, { minLength: 1, maxLength: 30 }),
      concurrency: fc.integer({ min: 1, max: 6 }),
      after: fc.integer({ min: 0, max: 500 })
    },
    ({ after, behaviours, concurrency }) =>
      Effect.gen(function*() {
        const agent = yield* TestAgent.make({ name: "interrupted", run: (i: number) => script(behaviours[i]!) })
        const fiber = yield* Effect.fork(
          Executor.run(Task.fromIterable(behaviours.map((_, i) => i)), agent.factory, {
            concurrency,
            timeout: Duration.millis(TIMEOUT)
          })
        )
        yield* TestClock.adjust(Duration.millis(after))
        const exit = yield* Fiber.interrupt(fiber)
        // The run either finished before the interruption or was interrupted; it never fails.
        assert(Exit.isSuccess(exit) || Exit.isInterrupted(exit))
        const stats = yield* agent.stats
        if (Exit.isSuccess(exit)) assert.strictEqual(stats.builds, behaviours.length)
        assert.strictEqual(stats.builds, stats.releases)
        assert.strictEqual(stats.running, 0)
        assert.isAtMost(stats.peakRunning, concurrency)
        // Nothing is left running that could build more.
        yield* TestClock.adjust("1 hour")
        assert.strictEqual((yield* agent.stats).builds, stats.builds)
      }).pipe(Effect.provide(Executor.layer())),
    { fastCheck: { numRuns: 200 } }
  )
})
