import { assert, describe, it } from "@effect/vitest"
import { Cause, Duration, Effect, Fiber, TestClock } from "effect"
import * as TestAgent from "../../../services/testing/TestAgent.js"
import * as AgentError from "../../../src/AgentError.js"
import * as Executor from "../../../src/Executor.js"
import * as Task from "../../../src/Task.js"
import * as TaskResult from "../../../src/TaskResult.js"
import { withClock } from "../../utils.js"

const provide = <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.provide(effect, Executor.layer())

const values = <A, E>(results: ReadonlyArray<TaskResult.TaskResult<A, E>>): Array<A> =>
  results.map((result) => {
    assert(TaskResult.isSucceeded(result), `expected success, got ${result._tag}: ${TaskResult.message(result)}`)
    return result.value
  })

describe("TestAgent", () => {
  it.effect("starts with empty stats and is named after its options", () =>
    Effect.gen(function*() {
      const agent = yield* TestAgent.succeed("fresh", (n: number) => n)
      assert.deepStrictEqual(yield* agent.stats, {
        builds: 0,
        releases: 0,
        runs: 0,
        running: 0,
        peakRunning: 0,
        instances: []
      })
      assert.strictEqual(agent.factory.name, "fresh")
    }))

  describe("succeed", () => {
    it.effect("answers f(input) and counts one build, release and run per task", () =>
      Effect.gen(function*() {
        const agent = yield* TestAgent.succeed("double", (n: number) => n * 2)
        const report = yield* Executor.run(Task.fromIterable([1, 2, 3]), agent.factory, {
          concurrency: 1,
          runId: "r"
        })
        assert.deepStrictEqual(values(report.results), [2, 4, 6])
        assert.deepStrictEqual(yield* agent.stats, {
          builds: 3,
          releases: 3,
          runs: 3,
          running: 0,
          peakRunning: 1,
          instances: ["double#r/0/1", "double#r/1/1", "double#r/2/1"]
        })
      }).pipe(provide))

    it.effect("keeps counting across runs", () =>
      Effect.gen(function*() {
        const agent = yield* TestAgent.succeed("twice", (s: string) => s.length)
        yield* Executor.run(Task.fromIterable(["a", "bb"]), agent.factory, { runId: "one" })
        yield* Executor.run(Task.fromIterable(["ccc"]), agent.factory, { runId: "two" })
        const stats = yield* agent.stats
        assert.strictEqual(stats.builds, 3)
        assert.strictEqual(stats.releases, 3)
        assert.strictEqual(stats.runs, 3)
        assert.deepStrictEqual([...stats.instances].sort(), ["twice#one/0/1", "twice#one/1/1", "twice#two/0/1"])
      }).pipe(provide))

    it.effect("agents with the same name keep their own stats", () =>
      Effect.gen(function*() {
        const first = yield* TestAgent.succeed("same", (n: number) => n)
        const second = yield* TestAgent.succeed("same", (n: number) => n + 100)
        const report = yield* Executor.run(Task.fromIterable([1, 2]), second.factory)
        assert.deepStrictEqual(values(report.results), [101, 102])
        assert.strictEqual((yield* first.stats).builds, 0)
        assert.strictEqual((yield* second.stats).builds, 2)
      }).pipe(provide))
  })

  describe("fail", () => {
    it.effect("fails every task with f(input), still building and releasing an instance for each", () =>
      Effect.gen(function*() {
        const agent = yield* TestAgent.fail("refuse", (n: number) => ({ _tag: "Refused" as const, n }))
        const report = yield* Executor.run(Task.fromIterable([1, 2]), agent.factory)
        assert.deepStrictEqual(
          report.results.map((result) => {
            assert(TaskResult.isFailed(result))
            return Cause.squash(result.cause)
          }),
          [{ _tag: "Refused", n: 1 }, { _tag: "Refused", n: 2 }]
        )
        const stats = yield* agent.stats
        assert.strictEqual(stats.builds, 2)
        assert.strictEqual(stats.releases, 2)
        assert.strictEqual(stats.runs, 2)
        assert.strictEqual(stats.running, 0)
      }).pipe(provide))

    it.effect("computes the error only when the task runs", () =>
      Effect.gen(function*() {
        let calls = 0
        const agent = yield* TestAgent.fail("lazy", (n: number) => {
          calls++
          return `error ${n}`
        })
        assert.strictEqual(calls, 0)
        yield* Executor.run(Task.fromIterable([1, 2, 3]), agent.factory)
        assert.strictEqual(calls, 3)
      }).pipe(provide))
  })

  describe("sleep", () => {
    it.effect("waits on the clock, then answers", () =>
      Effect.gen(function*() {
        const agent = yield* TestAgent.sleep("slow", "2 seconds", (s: string) => s.toUpperCase())
        const fiber = yield* Effect.fork(Executor.run(Task.fromIterable(["a", "b"]), agent.factory))
        yield* TestClock.adjust("1999 millis")
        const during = yield* agent.stats
        assert.strictEqual(during.running, 2)
        assert.strictEqual(during.releases, 0)
        yield* TestClock.adjust("1 millis")
        const report = yield* Fiber.join(fiber)
        assert.deepStrictEqual(values(report.results), ["A", "B"])
        assert.deepStrictEqual(report.results.map((r) => r.durationMillis), [2000, 2000])
        assert.strictEqual((yield* agent.stats).running, 0)
      }).pipe(provide))

    it.effect("takes a duration per input", () =>
      Effect.gen(function*() {
        const agent = yield* TestAgent.sleep("varied", (ms: number) => Duration.millis(ms), (ms) => ms / 10)
        const report = yield* withClock(Executor.run(Task.fromIterable([300, 100, 200]), agent.factory))
        assert.deepStrictEqual(values(report.results), [30, 10, 20])
        assert.deepStrictEqual(report.results.map((r) => r.durationMillis), [300, 100, 200])
      }).pipe(provide))

    it.effect("peakRunning is the most runs at once", () =>
      Effect.gen(function*() {
        const agent = yield* TestAgent.sleep("wave", "100 millis", (n: number) => n)
        yield* withClock(
          Executor.run(Task.fromIterable(Array.from({ length: 7 }, (_, i) => i)), agent.factory, { concurrency: 3 })
        )
        const stats = yield* agent.stats
        assert.strictEqual(stats.peakRunning, 3)
        assert.strictEqual(stats.runs, 7)
        assert.strictEqual(stats.running, 0)
        assert.strictEqual(stats.builds, 7)
        assert.strictEqual(stats.releases, 7)
      }).pipe(provide))
  })

  describe("make", () => {
    it.effect("gives run the input and the instance identity", () =>
      Effect.gen(function*() {
        const agent = yield* TestAgent.make({
          name: "whoami",
          run: (input: string, instance) => Effect.succeed(`${instance.name} got ${input}`)
        })
        const report = yield* Executor.run(Task.fromIterable(["x", "y"], { id: (s) => `t-${s}` }), agent.factory, {
          runId: "r"
        })
        assert.deepStrictEqual(values(report.results), ["whoami#r/t-x/1 got x", "whoami#r/t-y/1 got y"])
      }).pipe(provide))

    it.effect("a failing build fails its task with AgentBuildError and is not counted as built or run", () =>
      Effect.gen(function*() {
        const agent = yield* TestAgent.make({
          name: "picky",
          build: (instance) => instance.taskId === "1" ? Effect.fail("no credentials") : Effect.void,
          run: (n: number) => Effect.succeed(n)
        })
        const report = yield* Executor.run(Task.fromIterable([0, 1, 2]), agent.factory, { runId: "r" })
        assert.deepStrictEqual(report.results.map((r) => r._tag), ["Succeeded", "Failed", "Succeeded"])
        const failed = report.results[1]!
        assert(TaskResult.isFailed(failed))
        const error = Cause.squash(failed.cause)
        assert(error instanceof AgentError.AgentBuildError)
        assert.strictEqual(error.cause, "no credentials")
        assert.strictEqual(error.agent, "picky#r/1/1")
        assert.deepStrictEqual(yield* agent.stats, {
          builds: 2,
          releases: 2,
          runs: 2,
          running: 0,
          peakRunning: 1,
          instances: ["picky#r/0/1", "picky#r/2/1"]
        })
      }).pipe(provide))

    it.effect("a slow build counts in the task's duration and its timeout", () =>
      Effect.gen(function*() {
        const agent = yield* TestAgent.make({
          name: "warmup",
          build: (instance) => Effect.sleep(instance.taskId === "0" ? "100 millis" : "5 seconds"),
          run: (n: number) => Effect.as(Effect.sleep("50 millis"), n)
        })
        const report = yield* withClock(
          Executor.run(Task.fromIterable([0, 1]), agent.factory, { timeout: "1 second" })
        )
        assert.deepStrictEqual(report.results.map((r) => [r._tag, r.durationMillis]), [
          ["Succeeded", 150],
          ["TimedOut", 1000]
        ])
        const stats = yield* agent.stats
        assert.strictEqual(stats.builds, 1)
        assert.strictEqual(stats.releases, 1)
        assert.strictEqual(stats.runs, 1)
      }).pipe(provide))

    it.effect("a timed-out run is released and no longer running", () =>
      Effect.gen(function*() {
        const agent = yield* TestAgent.make({
          name: "hang",
          run: (n: number) => n % 2 === 0 ? Effect.as(Effect.sleep("10 millis"), n) : Effect.never
        })
        const fiber = yield* Effect.fork(
          Executor.run(Task.fromIterable([0, 1, 2, 3]), agent.factory, { concurrency: 4, timeout: "1 second" })
        )
        yield* TestClock.adjust("500 millis")
        const during = yield* agent.stats
        assert.strictEqual(during.builds, 4)
        assert.strictEqual(during.releases, 2)
        assert.strictEqual(during.running, 2)
        yield* TestClock.adjust("500 millis")
        const report = yield* Fiber.join(fiber)
        assert.deepStrictEqual(report.results.map((r) => r._tag), ["Succeeded", "TimedOut", "Succeeded", "TimedOut"])
        assert.deepStrictEqual(yield* agent.stats, {
          builds: 4,
          releases: 4,
          runs: 4,
          running: 0,
          peakRunning: 4,
          instances: ["hang", "hang", "hang", "hang"].map((name, i) => `${name}#${report.runId}/${i}/1`)
        })
      }).pipe(provide))

    it.effect("an interrupted run releases every instance", () =>
      Effect.gen(function*() {
        const agent = yield* TestAgent.make({ name: "stuck", run: (_: number) => Effect.never })
        const fiber = yield* Effect.fork(Executor.run(Task.fromIterable([0, 1, 2, 3, 4]), agent.factory, {
          concurrency: 3
        }))
        yield* TestClock.adjust("1 second")
        assert.strictEqual((yield* agent.stats).running, 3)
        yield* Fiber.interrupt(fiber)
        const stats = yield* agent.stats
        assert.strictEqual(stats.builds, 3)
        assert.strictEqual(stats.releases, 3)
        assert.strictEqual(stats.running, 0)
      }).pipe(provide))
  })
})
