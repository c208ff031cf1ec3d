import { assert, describe, it } from "@effect/vitest"
import {
  Cause,
  Chunk,
  Data,
  Deferred,
  Duration,
  Effect,
  Exit,
  Fiber,
  Layer,
  Logger,
  Metric,
  Option,
  Ref,
  Schedule,
  Schema,
  Stream,
  TestClock,
  TestServices
} from "effect"
import * as TestAgent from "../services/testing/TestAgent.js"
import * as AgentError from "../src/AgentError.js"
import * as Budget from "../src/Budget.js"
import * as Executor from "../src/Executor.js"
import * as ExecutorMetrics from "../src/ExecutorMetrics.js"
import * as RateLimit from "../src/RateLimit.js"
import * as Retry from "../src/Retry.js"
import * as RunEvent from "../src/RunEvent.js"
import * as RunReport from "../src/RunReport.js"
import * as Task from "../src/Task.js"
import * as TaskResult from "../src/TaskResult.js"
import * as Usage from "../src/Usage.js"
import { uniqueName, withClock } from "./utils.js"

/** A provider error shaped like `@effect/ai`'s `HttpResponseError`. */
class ProviderError extends Data.TaggedError("ProviderError")<{
  readonly response: { readonly status: number; readonly headers: Record<string, string> }
}> {}

const status = (code: number, headers: Record<string, string> = {}) =>
  new ProviderError({ response: { status: code, headers } })

const provide = <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.provide(effect, Executor.layer())

/** An agent whose attempts follow a script per task: each entry is what attempt k does. */
const scripted = (
  name: string,
  script: (taskId: string, attempt: number) => Effect.Effect<string, ProviderError | string>
) =>
  TestAgent.make({
    name,
    run: (input: string, instance) => script(instance.taskId, instance.attempt).pipe(Effect.as(input))
  })

const ok = Effect.succeed("ok")

describe("Executor resilience", () => {
  describe("retry", () => {
    it.effect("retries retryable errors with a fresh instance per attempt and lists every attempt", () =>
      Effect.gen(function*() {
        const agent = yield* scripted("flaky", (_, attempt) => attempt < 3 ? Effect.fail(status(503)) : ok)
        const report = yield* withClock(
          Executor.run(Task.fromIterable(["a"]), agent.factory, {
            runId: "r",
            retry: { schedule: Schedule.spaced("1 second"), times: 5 }
          })
        )
        const result = report.results[0]!
        assert.strictEqual(result._tag, "Succeeded")
        assert.strictEqual(result.attempt, 3)
        assert.strictEqual(result.agent, "flaky#r/0/3")
        assert.deepStrictEqual(result.failedAttempts.map((a) => [a.attempt, a.agent, a.outcome, a.delayMillis]), [
          [1, "flaky#r/0/1", "Failed", 1000],
          [2, "flaky#r/0/2", "Failed", 1000]
        ])
        assert.deepStrictEqual(
          result.failedAttempts.map((a) => (Cause.squash(a.cause) as ProviderError).response.status),
          [503, 503]
        )
        assert.strictEqual(result.startedAt, 0)
        assert.strictEqual(result.durationMillis, 2000)
        assert.strictEqual(report.stats.retries, 2)
        const stats = yield* agent.stats
        assert.deepStrictEqual([stats.builds, stats.releases], [3, 3])
        assert.deepStrictEqual(stats.instances, ["flaky#r/0/1", "flaky#r/0/2", "flaky#r/0/3"])
      }).pipe(provide))

    it.effect("stops when the schedule is done: the last attempt's failure stands", () =>
      Effect.gen(function*() {
        const agent = yield* scripted("down", () => Effect.fail(status(500)))
        const report = yield* withClock(
          Executor.run(Task.fromIterable(["a"]), agent.factory, {
            retry: { schedule: Schedule.spaced("10 millis"), times: 2 }
          })
        )
        const result = report.results[0]!
        assert(TaskResult.isFailed(result))
        assert.strictEqual(result.attempt, 3)
        assert.strictEqual(result.failedAttempts.length, 2)
        assert.strictEqual((result.error as ProviderError).response.status, 500)
        assert.strictEqual(result.durationMillis, 20)
        const stats = yield* agent.stats
        assert.deepStrictEqual([stats.builds, stats.releases], [3, 3])
      }).pipe(provide))

    it.effect("never retries what is not retryable: plain errors, defects, bad input", () =>
      Effect.gen(function*() {
        const agent = yield* TestAgent.make({
          name: "broken",
          run: (input: string) =>
            input === "error"
              ? Effect.fail(status(400))
              : input === "defect"
              ? Effect.die("bug")
              : Effect.succeed(input)
        })
        const report = yield* withClock(
          Executor.run(Task.fromIterable<unknown>(["error", "defect", 42]), agent.factory, {
            input: Schema.String,
            retry: { schedule: Schedule.spaced("1 second") }
          })
        )
        assert.deepStrictEqual(report.results.map((r) => [r._tag, r.attempt, r.failedAttempts.length]), [
          ["Failed", 1, 0],
          ["Failed", 1, 0],
          ["Failed", 1, 0]
        ])
        assert.strictEqual((yield* agent.stats).builds, 2)
      }).pipe(provide))

    it.effect("retries a timed-out attempt; its agent was interrupted and released", () =>
      Effect.gen(function*() {
        const agent = yield* scripted("slow-once", (_, attempt) => attempt === 1 ? Effect.never : ok)
        const report = yield* withClock(
          Executor.run(Task.fromIterable(["a", "b"]), agent.factory, {
            concurrency: 1,
            timeout: "5 seconds",
            retry: { schedule: Schedule.spaced("1 second") }
          })
        )
        assert.deepStrictEqual(report.results.map((r) => [r._tag, r.attempt, r.startedAt, r.durationMillis]), [
          ["Succeeded", 2, 0, 6000],
          ["Succeeded", 2, 6000, 6000]
        ])
        const first = report.results[0]!.failedAttempts[0]!
        assert.strictEqual(first.outcome, "TimedOut")
        assert.strictEqual(first.durationMillis, 5000)
        assert.strictEqual((Cause.squash(first.cause) as AgentError.AgentTimeout)._tag, "AgentTimeout")
        const stats = yield* agent.stats
        assert.deepStrictEqual([stats.builds, stats.releases, stats.running], [4, 4, 0])
      }).pipe(provide))

    it.effect("honours Retry-After when it is longer than the schedule's delay", () =>
      Effect.gen(function*() {
        const agent = yield* scripted("limited", (_, attempt) =>
          attempt === 1 ? Effect.fail(status(429, { "retry-after": "7" })) : ok)
        const report = yield* withClock(
          Executor.run(Task.fromIterable(["a"]), agent.factory, { retry: { schedule: Schedule.spaced("1 second") } })
        )
        assert.strictEqual(report.results[0]!.failedAttempts[0]!.delayMillis, 7000)
        assert.strictEqual(report.results[0]!.durationMillis, 7000)
      }).pipe(provide))

    it.effect("retries what `while` accepts, for example output that did not fit the schema", () =>
      Effect.gen(function*() {
        const agent = yield* TestAgent.make({
          name: "sloppy",
          run: (_: string, instance) => Effect.succeed(instance.attempt === 1 ? "not a number" : "42")
        })
        const report = yield* withClock(
          Executor.run(Task.fromIterable(["a"]), agent.factory, {
            output: Schema.NumberFromString,
            retry: {
              schedule: Schedule.spaced("1 second"),
              while: (error) => Retry.isRetryable(error) || error._tag === "AgentOutputError"
            }
          })
        )
        const result = report.results[0]!
        assert(TaskResult.isSucceeded(result))
        assert.strictEqual(result.value, 42)
        assert.strictEqual(result.failedAttempts.length, 1)
      }).pipe(provide))

    it.effect("the run's deadline ends a task waiting for its retry", () =>
      Effect.gen(function*() {
        const agent = yield* scripted("never-ok", () => Effect.fail(status(503)))
        const report = yield* withClock(
          Executor.run(Task.fromIterable(["a"]), agent.factory, {
            deadline: "2500 millis",
            retry: { schedule: Schedule.spaced("1 second") }
          })
        )
        const result = report.results[0]!
        assert(TaskResult.isTimedOut(result))
        assert.strictEqual(result.reason, "RunDeadline")
        assert.strictEqual(result.durationMillis, 2500)
        assert.strictEqual(result.attempt, 3)
        assert.strictEqual(result.failedAttempts.length, 3)
      }).pipe(provide))

    it.effect("the default schedule backs off exponentially with jitter, 3 retries", () =>
      Effect.gen(function*() {
        const agent = yield* scripted("default", () => Effect.fail(status(502)))
        const report = yield* withClock(Executor.run(Task.fromIterable(["a"]), agent.factory, { retry: {} }))
        const delays = report.results[0]!.failedAttempts.map((a) => a.delayMillis)
        assert.strictEqual(delays.length, 3)
        // 1 s, 2 s, 4 s, each jittered to 80-120 %.
        for (const [i, delay] of delays.entries()) {
          const base = 1000 * 2 ** i
          assert(delay >= base * 0.8 && delay <= base * 1.2, `delay ${i}: ${delay}`)
        }
      }).pipe(provide))

    it.effect("counts retries in the metrics", () =>
      Effect.gen(function*() {
        const name = uniqueName("retried")
        const agent = yield* scripted(name, (_, attempt) => attempt < 2 ? Effect.fail(status(503)) : ok)
        yield* withClock(
          Executor.run(Task.fromIterable(["a", "b", "c"]), agent.factory, { retry: Schedule.spaced("1 second") })
        )
        const counter = yield* Metric.value(ExecutorMetrics.tasksRetried.pipe(Metric.tagged("agent", name)))
        assert.strictEqual(counter.count, 3)
      }).pipe(provide))

    it.scoped("an error the policy's while does not retry is neither counted nor announced as retried", () =>
      Effect.gen(function*() {
        const name = uniqueName("not-retried")
        // 503 is retryable by default; this policy retries only 502s.
        const agent = yield* scripted(name, (_, attempt) => attempt < 2 ? Effect.fail(status(503)) : ok)
        const events = yield* RunEvent.subscribe
        const retrying = yield* events.pipe(
          Stream.takeUntil(RunEvent.RunEvent.$is("RunFinished")),
          Stream.filter(RunEvent.RunEvent.$is("TaskRetrying")),
          Stream.runCount,
          Effect.fork
        )
        const report = yield* withClock(
          Executor.run(Task.fromIterable(["a", "b"]), agent.factory, {
            retry: { times: 3, while: (error) => error instanceof ProviderError && error.response.status === 502 }
          })
        )
        assert.deepStrictEqual(report.results.map((result) => [result._tag, result.attempt]), [["Failed", 1], [
          "Failed",
          1
        ]])
        assert.strictEqual(report.stats.retries, 0)
        assert.strictEqual(
          (yield* Metric.value(ExecutorMetrics.tasksRetried.pipe(Metric.tagged("agent", name)))).count,
          0
        )
        assert.strictEqual(yield* Fiber.join(retrying), 0)
      }).pipe(Effect.provide(Layer.mergeAll(Executor.layer(), RunEvent.layer()))))

    it.effect("rejects a bad retry option before anything runs", () =>
      Effect.gen(function*() {
        const agent = yield* TestAgent.succeed("never", (s: string) => s)
        const exit = yield* Effect.exit(Executor.run(Task.fromIterable(["a"]), agent.factory, { retry: { times: -1 } }))
        assert(Exit.isFailure(exit))
        const error = Cause.squash(exit.cause) as AgentError.RunOptionsError
        assert.strictEqual(error.option, "retry.times")
        assert.strictEqual((yield* agent.stats).builds, 0)
      }).pipe(provide))

    it.effect("a maxRetryAfter of a negative number of milliseconds, or NaN, is refused (Duration reads both as 0)", () =>
      Effect.gen(function*() {
        const agent = yield* TestAgent.succeed("never", (s: string) => s)
        for (const maxRetryAfter of [-1, Number.NaN]) {
          const exit = yield* Effect.exit(
            Executor.run(Task.fromIterable(["a"]), agent.factory, { retry: { times: 1, maxRetryAfter } })
          )
          assert(Exit.isFailure(exit))
          const error = Cause.squash(exit.cause) as AgentError.RunOptionsError
          assert.strictEqual(error.option, "retry.maxRetryAfter")
          assert.include(error.description, `expected a duration, 0 or more, got ${maxRetryAfter}`)
        }
        assert.strictEqual((yield* agent.stats).builds, 0)
      }).pipe(provide))
  })

  describe("timer", () => {
    it.effect("a deadline a fraction of a nanosecond after another still times out: the timer never spins", () =>
      Effect.gen(function*() {
        // b's second attempt starts at a time that is no whole number of nanoseconds, so its deadline lands 2e-7 ms
        // after a's. A sleep that short is zero in `Duration` (it counts whole nanoseconds): a timer that slept
        // exactly until the next deadline would wake at once, find nothing due, and sleep zero again, forever.
        const release = yield* Deferred.make<void>()
        const agent = yield* scripted("fraction", (taskId, attempt) =>
          taskId === "b" && attempt === 1
            ? Effect.zipRight(Deferred.await(release), Effect.fail(status(503)))
            : Effect.never)
        const tasks = [
          Task.make({ id: "a", input: "a", timeout: "1000 millis" }),
          Task.make({ id: "b", input: "b", timeout: "668.962258 millis" })
        ]
        const fiber = yield* Effect.fork(
          Executor.run(tasks, agent.factory, {
            concurrency: 2,
            retry: { schedule: Schedule.recurs(1), while: (error) => error instanceof ProviderError }
          })
        )
        yield* TestClock.setTime(331.0377422000461)
        yield* Deferred.succeed(release, void 0)
        while ((yield* agent.stats).builds < 3) yield* Effect.yieldNow()
        yield* TestClock.setTime(1000)
        yield* TestClock.adjust("1 millis")
        const report = yield* Fiber.join(fiber).pipe(Effect.timeout("10 seconds"), TestServices.provideLive)
        assert.deepStrictEqual(report.results.map((result) => [result.taskId, result._tag, result.attempt]), [
          ["a", "TimedOut", 1],
          ["b", "TimedOut", 2]
        ])
      }).pipe(provide))
  })

  describe("an agent that ignores interruption", () => {
    it.effect("is reported TimedOut within the grace after its timeout; the run goes on and its release still runs", () =>
      Effect.gen(function*() {
        const logs: Array<string> = []
        const logger = Logger.make(({ message }) => void logs.push(String(message)))
        // An hour of work no interruption can stop, with a timeout of one second.
        const agent = yield* TestAgent.make({
          name: "stubborn",
          run: (n: number) => n === 0 ? Effect.uninterruptible(Effect.as(Effect.sleep("1 hour"), n)) : Effect.succeed(n)
        })
        const fiber = yield* Effect.fork(
          Executor.run(Task.fromIterable([0, 1]), agent.factory, { timeout: "1 second", retry: { times: 0 } }).pipe(
            Effect.provide(Logger.replace(Logger.defaultLogger, logger))
          )
        )
        yield* TestClock.adjust("1 second")
        // Told to stop at its timeout, it goes on: the task waits for it, within the grace (5 seconds).
        assert.isNull(yield* Fiber.poll(fiber).pipe(Effect.map(Option.getOrNull)))
        yield* TestClock.adjust("5 seconds")
        const report = yield* Fiber.join(fiber)
        assert.deepStrictEqual(report.results.map((result) => result._tag), ["TimedOut", "Succeeded"])
        assert.isTrue(logs.some((line) => line.includes("did not stop within 5s of its timeout; it is left running")))
        // Left running, it is not released yet; when it ends at last, it is released and that is logged too.
        assert.deepStrictEqual((yield* agent.stats).releases, 1)
        yield* TestClock.adjust("1 hour")
        assert.deepStrictEqual((yield* agent.stats).releases, 2)
        assert.isTrue(logs.some((line) => line.includes("The agent left running after its timeout has stopped")))
      }).pipe(provide))
  })

  describe("concurrency", () => {
    it.effect("a concurrency of 1,000,000 over three tasks costs nothing per unit that is not in use", () =>
      Effect.gen(function*() {
        const agent = yield* TestAgent.succeed("few", (n: number) => n * 2)
        const before = process.memoryUsage().heapUsed
        const list = yield* Executor.run(Task.fromIterable([1, 2, 3]), agent.factory, { concurrency: 1_000_000 })
        const streamed = yield* Stream.runCollect(
          Executor.stream(
            Stream.fromIterable([1, 2, 3]).pipe(Stream.map((n) => Task.make({ id: `${n}`, input: n }))),
            agent.factory,
            {
              concurrency: 1_000_000
            }
          )
        )
        assert.deepStrictEqual(list.results.map((result) => TaskResult.isSucceeded(result) && result.value), [2, 4, 6])
        assert.strictEqual(Chunk.size(streamed), 3)
        // A slot, a fiber or a queue entry per unit would be tens of megabytes at least.
        assert.isBelow(process.memoryUsage().heapUsed - before, 32 * 1024 * 1024)
      }).pipe(provide))
  })

  describe("failure policy", () => {
    it.effect("stops starting tasks after maxFailures; the rest are reported as never started", () =>
      Effect.gen(function*() {
        const agent = yield* TestAgent.make({
          name: "picky",
          run: (n: number) => n % 2 === 1 ? Effect.fail("odd") : Effect.succeed(n)
        })
        const report = yield* Executor.run(Task.fromIterable([0, 1, 2, 3, 4, 5, 6]), agent.factory, {
          concurrency: 1,
          failurePolicy: { maxFailures: 2 }
        })
        assert.deepStrictEqual(report.results.map((r) => r._tag), [
          "Succeeded",
          "Failed",
          "Succeeded",
          "Failed",
          "Interrupted",
          "Interrupted",
          "Interrupted"
        ])
        const rest = report.results.slice(4)
        assert(rest.every((r) => TaskResult.isInterrupted(r) && r.reason === "FailurePolicy" && !r.started))
        assert.strictEqual(TaskResult.message(rest[0]!), "not started: the run's failure policy stopped it")
        assert.strictEqual((yield* agent.stats).builds, 4)
      }).pipe(provide))

    it.effect("stops once the minimum success rate can no longer be reached; running tasks finish", () =>
      Effect.gen(function*() {
        const agent = yield* TestAgent.make({
          name: "mostly-failing",
          run: (n: number) =>
            Effect.zipRight(Effect.sleep(`${n} millis`), n < 3 ? Effect.fail("no") : Effect.succeed(n))
        })
        // 10 tasks, at least 80 % must succeed: the third failure makes it impossible.
        const report = yield* withClock(
          Executor.run(Task.fromIterable([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]), agent.factory, {
            concurrency: 4,
            failurePolicy: { minSuccessRate: 0.8 }
          })
        )
        // Tasks 0 to 2 fail at 0, 1 and 2 ms; the third failure stops the run while tasks 3 to 5 run: they finish.
        assert.deepStrictEqual(report.summary, { total: 10, succeeded: 3, failed: 3, timedOut: 0, interrupted: 4 })
        assert.deepStrictEqual(report.results.slice(3, 6).map((r) => r._tag), ["Succeeded", "Succeeded", "Succeeded"])
        assert.strictEqual(report.results.filter((r) => !r.started).length, 4)
      }).pipe(provide))

    it.effect("rejects bad policies", () =>
      Effect.gen(function*() {
        const agent = yield* TestAgent.succeed("never", (s: string) => s)
        for (const failurePolicy of [{ maxFailures: 0 }, { maxFailures: 1.5 }, { minSuccessRate: 1.1 }]) {
          const exit = yield* Effect.exit(Executor.run(Task.fromIterable(["a"]), agent.factory, { failurePolicy }))
          assert(Exit.isFailure(exit))
          assert.match((Cause.squash(exit.cause) as AgentError.RunOptionsError).option, /^failurePolicy\./)
        }
      }).pipe(provide))
  })

  describe("usage", () => {
    it.effect("adds each task's recorded usage to its result, the report and the metrics", () =>
      Effect.gen(function*() {
        const name = uniqueName("metered")
        const agent = yield* TestAgent.make({
          name,
          run: (n: number) =>
            Effect.gen(function*() {
              yield* Usage.record({ model: "m1", inputTokens: 10 * n, outputTokens: n, cost: 0.5 })
              yield* Usage.record({ model: n === 2 ? "m2" : "m1", inputTokens: 1 })
              return (yield* Usage.current).inputTokens
            })
        })
        const report = yield* Executor.run(Task.fromIterable([1, 2]), agent.factory)
        assert.deepStrictEqual(report.results.map((r) => r.usage), [
          { requests: 2, inputTokens: 11, outputTokens: 1, cost: 0.5 },
          { requests: 2, inputTokens: 21, outputTokens: 2, cost: 0.5 }
        ])
        assert.deepStrictEqual(Array.from(report.results, (r) => TaskResult.isSucceeded(r) && r.value), [11, 21])
        assert.deepStrictEqual(report.stats.usage, { requests: 4, inputTokens: 32, outputTokens: 3, cost: 1 })
        assert.deepStrictEqual(report.stats.models, ["m1", "m2"])
        const tokens = (model: string) =>
          Metric.value(
            ExecutorMetrics.modelInputTokens.pipe(Metric.tagged("agent", name), Metric.tagged("model", model))
          )
        assert.strictEqual((yield* tokens("m1")).count, 31)
        assert.strictEqual((yield* tokens("m2")).count, 1)
        const requests = yield* Metric.value(
          ExecutorMetrics.modelRequests.pipe(Metric.tagged("agent", name), Metric.tagged("model", "m1"))
        )
        assert.strictEqual(requests.count, 3)
        assert.match(RunReport.format(report), /tokens in \/ out\s+32 \/ 3/)
      }).pipe(provide))

    it.effect("a recorded figure that is not a count is left out, with a warning, so the budget still holds", () =>
      Effect.gen(function*() {
        const name = uniqueName("careless")
        // A careless adapter: a cost from a price it does not have (NaN), a count gone negative, an infinite one.
        const recorded: Record<number, Usage.Record> = {
          0: { model: "m", inputTokens: Number.NaN, outputTokens: 10 },
          1: { model: "m", inputTokens: -50, cost: Infinity, requests: Number.NaN }
        }
        const agent = yield* TestAgent.make({
          name,
          run: (n: number) => Effect.as(Usage.record(recorded[n] ?? { model: "m", inputTokens: 100 }), n)
        })
        const logs: Array<string> = []
        const logger = Logger.make(({ message }) => void logs.push(String(message)))
        const report = yield* Executor.run(Task.fromIterable([0, 1, 2, 3, 4, 5]), agent.factory, {
          concurrency: 1,
          budget: { tokens: 250 }
        }).pipe(Effect.provide(Logger.replace(Logger.defaultLogger, logger)))
        assert.deepStrictEqual(report.results.map((r) => r.usage), [
          { requests: 1, inputTokens: 0, outputTokens: 10, cost: 0 },
          { requests: 1, inputTokens: 0, outputTokens: 0, cost: 0 },
          { requests: 1, inputTokens: 100, outputTokens: 0, cost: 0 },
          { requests: 1, inputTokens: 100, outputTokens: 0, cost: 0 },
          { requests: 1, inputTokens: 100, outputTokens: 0, cost: 0 },
          Usage.empty
        ])
        // 10 + 200 used when task 4's turn came: it fits while anything is left (no estimate), and 310 leaves none.
        assert.deepStrictEqual(report.summary, { total: 6, succeeded: 5, failed: 1, timedOut: 0, interrupted: 0 })
        assert.deepStrictEqual(report.stats.usage, { requests: 5, inputTokens: 300, outputTokens: 10, cost: 0 })
        const tokens = yield* Metric.value(
          ExecutorMetrics.modelInputTokens.pipe(Metric.tagged("agent", name), Metric.tagged("model", "m"))
        )
        assert.strictEqual(tokens.count, 300)
        assert.isTrue(logs.some((line) => /inputTokens NaN.*not a count/.test(line)), logs.join("\n"))
        assert.isTrue(logs.some((line) => /inputTokens -50, cost Infinity, requests NaN.*not a count/.test(line)))
      }).pipe(provide))

    it.effect("counts the usage of every attempt, retried ones included", () =>
      Effect.gen(function*() {
        const agent = yield* scripted("costly", (_, attempt) =>
          Effect.zipRight(
            Usage.record({ model: "m", inputTokens: 100 }),
            attempt === 1 ? Effect.fail(status(503)) : ok
          ))
        const report = yield* withClock(
          Executor.run(Task.fromIterable(["a"]), agent.factory, { retry: Schedule.spaced("1 second") })
        )
        assert.strictEqual(report.results[0]!.usage.inputTokens, 200)
      }).pipe(provide))
  })

  describe("budget", () => {
    const spender = (name: string, tokens: number) =>
      TestAgent.make({
        name,
        run: (n: number) =>
          Effect.zipRight(Effect.sleep("1 second"), Effect.as(Usage.record({ model: "m", inputTokens: tokens }), n))
      })

    it.effect("tasks that do not fit fail with BudgetExceeded without calling their agent", () =>
      Effect.gen(function*() {
        const agent = yield* spender("spender", 100)
        const report = yield* withClock(
          Executor.run(Task.fromIterable([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]), agent.factory, {
            concurrency: 3,
            budget: { tokens: 450 },
            estimate: { inputTokens: 100 }
          })
        )
        assert.deepStrictEqual(report.summary, { total: 10, succeeded: 4, failed: 6, timedOut: 0, interrupted: 0 })
        const failed = report.results.filter(TaskResult.isFailed)
        assert(failed.every((r) => !r.started && (r.error as AgentError.BudgetExceeded)._tag === "BudgetExceeded"))
        const error = failed[0]!.error as AgentError.BudgetExceeded
        // Task 4's turn came when tasks 0 and 1 had settled (200 used) and tasks 2 and 3 held 200.
        assert.deepStrictEqual([error.resource, error.limit, error.used, error.reserved], ["tokens", 450, 200, 200])
        assert.strictEqual((yield* agent.stats).builds, 4)
        assert.deepStrictEqual(report.stats.budget?.used.inputTokens, 400)
        assert.deepStrictEqual(report.stats.budget?.reserved, Usage.empty)
        assert.match(RunReport.format(report), /budget tokens used \/ limit\s+400 \/ 450/)
      }).pipe(provide))

    it.effect("with no estimate a task fits while anything is left", () =>
      Effect.gen(function*() {
        const agent = yield* spender("spender-0", 100)
        const report = yield* withClock(
          Executor.run(Task.fromIterable([0, 1, 2, 3, 4, 5]), agent.factory, {
            concurrency: 1,
            budget: { tokens: 250 }
          })
        )
        assert.strictEqual(report.summary.succeeded, 3)
        assert.strictEqual(report.stats.budget?.used.inputTokens, 300)
      }).pipe(provide))

    it.effect("a budget provided by the app is shared by runs", () =>
      Effect.gen(function*() {
        const agent = yield* spender("shared", 100)
        const first = yield* withClock(
          Executor.run(Task.fromIterable([0, 1, 2]), agent.factory, { estimate: { inputTokens: 100 } })
        )
        const second = yield* withClock(
          Executor.run(Task.fromIterable([3, 4, 5]), agent.factory, { estimate: { inputTokens: 100 } })
        )
        assert.strictEqual(first.summary.succeeded, 3)
        assert.strictEqual(second.summary.succeeded, 2)
        const budget = yield* Budget.Budget
        assert.strictEqual((yield* budget.snapshot).used.inputTokens, 500)
      }).pipe(provide, Effect.provide(Budget.layer({ tokens: 500 }))))

    it.effect("a task whose estimate is not a usage fails with TaskOptionsError, and the budget still holds", () =>
      Effect.gen(function*() {
        const agent = yield* spender("estimated", 100)
        // A careless estimate: NaN (a field read from nothing), negative, nothing at all, or a function that throws.
        // Reserved, NaN would make every later task fit and a negative one would give room that is not there.
        const estimate = (task: Task.Task<unknown>): Partial<Usage.Usage> => {
          switch (task.input) {
            case 1:
              return { inputTokens: Number.NaN }
            case 2:
              return { inputTokens: -1_000 }
            case 3:
              return undefined as unknown as Partial<Usage.Usage>
            case 4:
              return { cost: Infinity }
            case 5:
              return JSON.parse("not json")
            default:
              return { inputTokens: 100 }
          }
        }
        const report = yield* withClock(
          Executor.run(Task.fromIterable([0, 1, 2, 3, 4, 5, 6, 7, 8]), agent.factory, {
            concurrency: 1,
            budget: { tokens: 250 },
            estimate
          })
        )
        const errors = report.results.map((r) =>
          TaskResult.isFailed(r) && !r.started ? (r.error as AgentError.AgentError)._tag : r._tag
        )
        assert.deepStrictEqual(errors, [
          "Succeeded",
          "TaskOptionsError",
          "TaskOptionsError",
          "TaskOptionsError",
          "TaskOptionsError",
          "TaskOptionsError",
          "Succeeded",
          "BudgetExceeded",
          "BudgetExceeded"
        ])
        const options = report.results.slice(1, 6).map((r) => (r as TaskResult.Failed<unknown>).error)
        assert(options.every((e) => (e as AgentError.TaskOptionsError).option === "estimate"))
        assert.match((options[0] as AgentError.TaskOptionsError).description, /inputTokens.*NaN/)
        assert.match((options[1] as AgentError.TaskOptionsError).description, /inputTokens.*-1000/)
        assert.match((options[4] as AgentError.TaskOptionsError).description, /threw.*JSON/)
        assert.strictEqual((yield* agent.stats).builds, 2)
        assert.deepStrictEqual(report.stats.budget?.used.inputTokens, 200)
        assert.deepStrictEqual(report.stats.budget?.reserved, Usage.empty)
      }).pipe(provide))

    it.effect("rejects bad limits and estimates", () =>
      Effect.gen(function*() {
        const agent = yield* TestAgent.succeed("never", (s: string) => s)
        const option = (options: Executor.RunOptions<string, AgentError.AgentError, undefined>) =>
          Effect.flip(Executor.run(Task.fromIterable(["a"]), agent.factory, options)).pipe(Effect.map((e) => e.option))
        assert.strictEqual(yield* option({ budget: { tokens: -1 } }), "budget.tokens")
        assert.strictEqual(yield* option({ budget: { cost: Number.NaN } }), "budget.cost")
        assert.strictEqual(yield* option({ estimate: { inputTokens: -5 } }), "estimate.inputTokens")
        const exit = yield* Effect.exit(Budget.make({ requests: -1 }))
        assert(Exit.isFailure(exit))
      }).pipe(provide))
  })

  describe("rate limit", () => {
    it.effect("spaces attempts to the limit; a task's timeout starts when it gets its turn", () =>
      Effect.gen(function*() {
        const agent = yield* TestAgent.sleep("limited", "100 millis", (n: number) => n)
        const report = yield* withClock(
          Executor.run(Task.fromIterable([0, 1, 2, 3, 4, 5]), agent.factory, {
            concurrency: 6,
            timeout: "500 millis",
            rateLimit: { requests: { limit: 2, interval: "1 second", algorithm: "fixed-window" } }
          })
        )
        assert.deepStrictEqual(report.summary.succeeded, 6)
        // Each attempt got its turn in its window; the waits did not count against the timeout.
        const ends = report.results.map((r) => r.startedAt! + r.durationMillis)
        assert.deepStrictEqual(ends, [100, 100, 1100, 1100, 2100, 2100])
      }).pipe(provide))

    it.effect("limits tokens per interval with each task's estimate", () =>
      Effect.gen(function*() {
        const agent = yield* TestAgent.succeed("tokens", (n: number) => n)
        const report = yield* withClock(
          Executor.run(Task.fromIterable([0, 1, 2, 3]), agent.factory, {
            concurrency: 4,
            estimate: { inputTokens: 40, outputTokens: 10 },
            rateLimit: { tokens: { limit: 100, interval: "1 minute", algorithm: "fixed-window" } }
          })
        )
        assert.deepStrictEqual(report.results.map((r) => r.startedAt! + r.durationMillis), [0, 0, 60_000, 60_000])
      }).pipe(provide))

    it.effect("a rate limit provided by the app is shared by runs running at once", () =>
      Effect.gen(function*() {
        const agent = yield* TestAgent.succeed("shared-limit", (n: number) => n)
        const fiber = yield* Effect.fork(Effect.all([
          Executor.run(Task.fromIterable([0, 1]), agent.factory),
          Executor.run(Task.fromIterable([2, 3]), agent.factory)
        ], { concurrency: 2 }))
        yield* TestClock.adjust("10 seconds")
        const [first, second] = yield* Fiber.join(fiber)
        const ends = [...first.results, ...second.results].map((r) => r.startedAt! + r.durationMillis).sort()
        assert.deepStrictEqual(ends, [0, 1000, 2000, 3000])
      }).pipe(
        provide,
        Effect.provide(RateLimit.layer({ requests: { limit: 1, interval: "1 second", algorithm: "fixed-window" } }))
      ))

    it.effect("rejects bad limits", () =>
      Effect.gen(function*() {
        const agent = yield* TestAgent.succeed("never", (s: string) => s)
        const option = (rateLimit: RateLimit.Options) =>
          Effect.flip(Executor.run(Task.fromIterable(["a"]), agent.factory, { rateLimit })).pipe(
            Effect.map((e) => e.option)
          )
        assert.strictEqual(yield* option({ requests: { limit: 0, interval: "1 second" } }), "rateLimit.requests.limit")
        assert.strictEqual(yield* option({ tokens: { limit: 10, interval: "0 millis" } }), "rateLimit.tokens.interval")
      }).pipe(provide))
  })

  describe("adaptive concurrency", () => {
    it.effect("rate limits cut the limit multiplicatively, successes raise it, never above the maximum", () =>
      Effect.gen(function*() {
        const name = uniqueName("adaptive")
        // A provider that answers 429 whenever more than 4 requests are under way.
        const running = yield* Ref.make(0)
        const agent = yield* TestAgent.make({
          name,
          run: (n: number) =>
            Effect.acquireUseRelease(
              Ref.updateAndGet(running, (k) => k + 1),
              (k) => k > 4 ? Effect.fail(status(429)) : Effect.as(Effect.sleep("100 millis"), n),
              () => Ref.update(running, (k) => k - 1)
            )
        })
        const report = yield* withClock(
          Executor.run(Task.fromIterable(Array.from({ length: 200 }, (_, i) => i)), agent.factory, {
            concurrency: 16,
            adaptive: { initial: 16, decrease: 0.5, increase: 1 },
            retry: Schedule.spaced("100 millis")
          })
        )
        assert.strictEqual(report.summary.succeeded, 200)
        const adaptive = report.stats.adaptiveConcurrency!
        assert.strictEqual(adaptive.initial, 16)
        assert(adaptive.decreases >= 1)
        assert(adaptive.lowest <= 4, `lowest ${adaptive.lowest}`)
        assert(adaptive.final <= 16)
        // The first burst is absorbed in a few rounds; once it settles, the limit probes above the provider's 4 now
        // and then (additive increase), one rate-limited attempt per probe.
        const settled = report.results.flatMap((r) => r.failedAttempts).filter((a) => a.startedAt >= 1_000)
        assert(settled.length <= 25, `rate-limited attempts after the first second: ${settled.length}`)
        assert(report.stats.retries < 100, `retries ${report.stats.retries}`)
        const gauge = yield* Metric.value(ExecutorMetrics.effectiveConcurrency.pipe(Metric.tagged("agent", name)))
        assert.strictEqual(gauge.value, adaptive.final)
        assert.match(RunReport.format(report), /adaptive concurrency start \/ lowest \/ end\s+16 \/ /)
      }).pipe(provide))

    it.effect("by default it starts at a tenth of the maximum and climbs to it without rate limits", () =>
      Effect.gen(function*() {
        const agent = yield* TestAgent.sleep("climber", "10 millis", (n: number) => n)
        const report = yield* withClock(
          Executor.run(Task.fromIterable(Array.from({ length: 600 }, (_, i) => i)), agent.factory, {
            concurrency: 20,
            adaptive: true
          })
        )
        // Each success adds 0.4 / limit: from 2 to 20 takes about (20² - 2²) / (2 × 0.4) = 495 successes.
        assert.deepStrictEqual(report.stats.adaptiveConcurrency, { initial: 2, lowest: 2, final: 20, decreases: 0 })
        assert.strictEqual(report.summary.succeeded, 600)
      }).pipe(provide))

    it.effect("without rate limits it stays at the maximum", () =>
      Effect.gen(function*() {
        const agent = yield* TestAgent.sleep("calm", "10 millis", (n: number) => n)
        const report = yield* withClock(
          Executor.run(Task.fromIterable(Array.from({ length: 50 }, (_, i) => i)), agent.factory, {
            concurrency: 5,
            adaptive: { initial: 2 }
          })
        )
        assert.deepStrictEqual(report.stats.adaptiveConcurrency, { initial: 2, lowest: 2, final: 5, decreases: 0 })
        assert.strictEqual((yield* agent.stats).peakRunning, 5)
      }).pipe(provide))

    it.effect("rejects bad settings", () =>
      Effect.gen(function*() {
        const agent = yield* TestAgent.succeed("never", (s: string) => s)
        for (
          const [adaptive, option] of [
            [{ initial: 0 }, "adaptive.initial"],
            [{ initial: 3 }, "adaptive.initial"],
            [{ min: 5 }, "adaptive.min"],
            [{ decrease: 1 }, "adaptive.decrease"],
            [{ increase: 0 }, "adaptive.increase"]
          ] as const
        ) {
          const error = yield* Effect.flip(
            Executor.run(Task.fromIterable(["a", "b"]), agent.factory, { concurrency: 2, adaptive })
          )
          assert.strictEqual(error.option, option)
        }
      }).pipe(provide))
  })

  it.effect("Retry.classify reads statuses, transport errors, Retry-After and the engine's errors", () =>
    Effect.sync(() => {
      assert.deepStrictEqual(Retry.classify(status(429, { "retry-after": "2" }), 0), {
        retryable: true,
        rateLimited: true,
        retryAfter: Option.some(Duration.seconds(2))
      })
      assert.isTrue(Retry.isRetryable({ status: 503 }))
      assert.isTrue(Retry.isRetryable({ status: 408 }))
      assert.isFalse(Retry.isRetryable({ status: 404 }))
      assert.isTrue(Retry.isRetryable({ _tag: "HttpRequestError", reason: "Transport" }))
      assert.isFalse(Retry.isRetryable({ _tag: "HttpRequestError", reason: "Encode" }))
      assert.isFalse(Retry.isRetryable("boom"))
      assert.isTrue(
        Retry.isRetryable(
          new AgentError.AgentTimeout({ agent: "a", taskId: "t", reason: "TaskTimeout", timeout: Duration.millis(1) })
        )
      )
      assert.isFalse(
        Retry.isRetryable(
          new AgentError.AgentTimeout({ agent: "a", taskId: "t", reason: "RunDeadline", timeout: Duration.millis(1) })
        )
      )
      assert.isTrue(Retry.isRetryable(new AgentError.AgentBuildError({ agent: "a", taskId: "t", cause: status(502) })))
      // An invalid option of the task's own, even on an error that also carries a retryable status.
      assert.isFalse(
        Retry.isRetryable(
          Object.assign(
            new AgentError.TaskOptionsError({ agent: "a", taskId: "t", option: "timeout", description: "" }),
            {
              status: 503
            }
          )
        )
      )
      assert.deepStrictEqual(
        Retry.classify({ status: 429, headers: { "retry-after": "Thu, 01 Jan 1970 00:00:05 GMT" } }, 1000).retryAfter,
        Option.some(Duration.seconds(4))
      )
      assert.deepStrictEqual(
        Retry.classify({ status: 503, retryAfter: "3 seconds" }).retryAfter,
        Option.some(Duration.seconds(3))
      )
    }))
})
