import { assert, describe, it } from "@effect/vitest"
import { Cause, Context, Duration, Effect, Layer, Option, Schedule } from "effect"
import * as FaultInjection from "../../../services/testing/FaultInjection.js"
import * as TestAgent from "../../../services/testing/TestAgent.js"
import * as Agent from "../../../src/Agent.js"
import type * as AgentError from "../../../src/AgentError.js"
import * as Executor from "../../../src/Executor.js"
import * as Retry from "../../../src/Retry.js"
import * as Task from "../../../src/Task.js"
import * as TaskResult from "../../../src/TaskResult.js"
import { withClock } from "../../utils.js"

class Echo extends Context.Tag("test/FaultInjection/Echo")<Echo, Agent.Agent<number, number>>() {}
const EchoLive = Layer.succeed(Echo, Agent.make({ name: "echo", run: (n: number) => Effect.succeed(n) }))

const provide = <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.provide(effect, Executor.layer())

describe("FaultInjection", () => {
  it("decides from the seed, the task and the attempt, at the given rates", () => {
    const options = { seed: 7, rates: { failure: 0.1, rateLimited: 0.2, defect: 0.05, hang: 0.05, slow: 0.1 } }
    const counts: Record<string, number> = {}
    for (let i = 0; i < 20_000; i++) {
      const fault = FaultInjection.decide(options, String(i), 1) ?? "none"
      counts[fault] = (counts[fault] ?? 0) + 1
      assert.strictEqual(FaultInjection.decide(options, String(i), 1), FaultInjection.decide(options, String(i), 1))
    }
    const share = (fault: string) => (counts[fault] ?? 0) / 20_000
    for (
      const [fault, rate] of [["failure", 0.1], ["rateLimited", 0.2], ["defect", 0.05], ["hang", 0.05], ["slow", 0.1], [
        "none",
        0.5
      ]] as const
    ) {
      assert(Math.abs(share(fault) - rate) < 0.015, `${fault}: ${share(fault)} vs ${rate}`)
    }
    // Another attempt draws again, and another seed gives another sequence.
    const sequence = (seed: number, attempt: number) =>
      Array.from({ length: 50 }, (_, i) => FaultInjection.decide({ ...options, seed }, String(i), attempt))
    assert.notDeepEqual(sequence(7, 1), sequence(7, 2))
    assert.notDeepEqual(sequence(7, 1), sequence(8, 1))
  })

  it("rejects rates out of range", () => {
    assert.strictEqual(FaultInjection.validate({ failure: 1.5 })?.option, "rates.failure")
    assert.strictEqual(FaultInjection.validate({ failure: 0.6, hang: 0.6 })?.option, "rates")
    assert.strictEqual(FaultInjection.validate({ failure: 0.5, hang: 0.5 }), undefined)
  })

  it.effect("each fault does what it says; the real agent is built and released either way", () =>
    Effect.gen(function*() {
      const inner = yield* TestAgent.succeed("inner", (n: number) => n)
      const layerOf = (rates: FaultInjection.Rates) =>
        FaultInjection.factory(inner.tag, inner.layer, { seed: 1, rates, slowBy: "3 seconds", retryAfter: "2 seconds" })
      const runOne = (rates: FaultInjection.Rates) =>
        withClock(Executor.run(Task.fromIterable([5]), layerOf(rates), { timeout: "10 seconds" })).pipe(
          Effect.map((report) => report.results[0]!)
        )
      const ok = yield* runOne({})
      assert(TaskResult.isSucceeded(ok) && ok.value === 5)
      const failure = yield* runOne({ failure: 1 })
      assert(TaskResult.isFailed(failure))
      const error = failure.error as FaultInjection.InjectedFault
      assert.deepStrictEqual([error._tag, error.reason, error.status], ["InjectedFault", "Failure", 500])
      assert.isTrue(Retry.isRetryable(error))
      const limited = yield* runOne({ rateLimited: 1 })
      assert(TaskResult.isFailed(limited))
      const classification = Retry.classify(limited.error, 0)
      assert.isTrue(classification.rateLimited)
      assert.deepStrictEqual(classification.retryAfter, Option.some(Duration.seconds(2)))
      const defect = yield* runOne({ defect: 1 })
      assert(TaskResult.isFailed(defect) && Cause.isDie(defect.cause))
      assert.instanceOf(Cause.squash(defect.cause), FaultInjection.InjectedDefect)
      const hang = yield* runOne({ hang: 1 })
      assert(TaskResult.isTimedOut(hang) && hang.durationMillis === 10_000)
      const slow = yield* runOne({ slow: 1 })
      assert(TaskResult.isSucceeded(slow) && slow.durationMillis === 3000)
      const stats = yield* inner.stats
      assert.deepStrictEqual([stats.builds, stats.releases, stats.runs], [6, 6, 2])
    }).pipe(provide))

  it.effect("wraps a scoped agent layer: every instance built is released, faults and timeouts included", () =>
    Effect.gen(function*() {
      const agent = yield* TestAgent.succeed("counted", (n: number) => n)
      const factory = FaultInjection.factory(agent.tag, agent.layer, {
        seed: "s",
        rates: { failure: 0.2, hang: 0.2, defect: 0.1, rateLimited: 0.2 }
      })
      const report = yield* withClock(
        Executor.run(Task.fromIterable(Array.from({ length: 40 }, (_, i) => i)), factory, {
          concurrency: 4,
          timeout: "1 second",
          retry: { schedule: Schedule.spaced("10 millis"), times: 5 }
        })
      )
      const stats = yield* agent.stats
      assert.strictEqual(stats.builds, stats.releases)
      assert.strictEqual(stats.builds, report.results.reduce((sum, r) => sum + r.attempt, 0))
      assert(report.stats.retries > 0)
    }).pipe(provide))

  it.effect("bad rates fail every build with RunOptionsError; the run goes on", () =>
    Effect.gen(function*() {
      const factory = FaultInjection.factory(Echo, EchoLive, { seed: 1, rates: { hang: 2 } })
      const report = yield* Executor.run(Task.fromIterable([1, 2]), factory)
      assert.strictEqual(report.summary.failed, 2)
      const error = (report.results[0] as TaskResult.Failed<AgentError.AgentError>).error as AgentError.AgentBuildError
      assert.strictEqual(error._tag, "AgentBuildError")
      assert.strictEqual((error.cause as AgentError.RunOptionsError).option, "rates.hang")
    }).pipe(provide))
})
