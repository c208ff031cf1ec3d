import { assert, it } from "@effect/vitest"
import { Cause, Duration, Effect, FastCheck as fc, FiberRef, Schedule, Supervisor } from "effect"
import * as FaultInjection from "../services/testing/FaultInjection.js"
import * as TestAgent from "../services/testing/TestAgent.js"
import type * as AgentError from "../src/AgentError.js"
import * as Budget from "../src/Budget.js"
import * as Executor from "../src/Executor.js"
import * as Retry from "../src/Retry.js"
import * as Task from "../src/Task.js"
import * as TaskResult from "../src/TaskResult.js"
import * as Usage from "../src/Usage.js"
import { withClock } from "./utils.js"

/** Who a request is for, as an Effect backend would carry it in a FiberRef. */
const owner = FiberRef.unsafeMake("nobody")

const TIMEOUT = 100
const SLOW_BY = 20
const TOKENS_PER_ATTEMPT = 10

/** One random run: the faults, the retry policy, the budget, adaptive concurrency. */
const scenario = fc.record({
  tasks: fc.integer({ min: 1, max: 30 }),
  concurrency: fc.integer({ min: 1, max: 8 }),
  seed: fc.integer(),
  rates: fc.record({
    failure: fc.double({ min: 0, max: 0.2, noNaN: true }),
    rateLimited: fc.double({ min: 0, max: 0.2, noNaN: true }),
    defect: fc.double({ min: 0, max: 0.1, noNaN: true }),
    hang: fc.double({ min: 0, max: 0.2, noNaN: true }),
    slow: fc.double({ min: 0, max: 0.2, noNaN: true })
  }),
  retries: fc.option(fc.integer({ min: 0, max: 3 }), { nil: undefined }),
  spacing: fc.integer({ min: 1, max: 50 }),
  adaptive: fc.boolean(),
  budgetTasks: fc.option(fc.integer({ min: 0, max: 30 }), { nil: undefined }),
  // The run is stopped (its `stop` option) this many milliseconds after it starts, in half of the runs.
  stopAt: fc.option(fc.integer({ min: 0, max: 1_500 }), { nil: undefined, freq: 2 })
})

type Scenario = typeof scenario extends fc.Arbitrary<infer A> ? A : never

/**
 * The oracle: what the engine must report for task `id`, from the faults its attempts draw. A `slow` attempt
 * finishes within the timeout; `hang` times out; `failure` and `rateLimited` are retryable; `defect` is not.
 */
const expected = (s: Scenario, options: FaultInjection.Options, id: string) => {
  const times = s.retries ?? 0
  for (let attempt = 1;; attempt++) {
    const fault = FaultInjection.decide(options, id, attempt)
    if (fault === undefined || fault === "slow") return { tag: "Succeeded", attempt }
    if (fault === "defect") return { tag: "Failed", attempt }
    if (attempt > times) return { tag: fault === "hang" ? "TimedOut" : "Failed", attempt }
  }
}

/**
 * The resilience property, `numRuns` random mixes: faults, retries, budgets, adaptive concurrency, a stop at a random
 * moment. Every task is reported once, as its faults say (or stopped, if the run was stopped first); bounds,
 * releases, retries and budget hold; no fiber outlives the run; a stopped run ends at its stop; and tasks stay
 * apart: a FiberRef one task's agent sets (and leaves set) is never seen by another, nor by the program.
 */
export const property = (numRuns: number) =>
  it.effect.prop(
    "every task is reported once, as the faults say; bounds, releases, retries, budget and isolation hold; no fiber outlives the run",
    [scenario],
    ([s]) =>
      Effect.gen(function*() {
        const leaks: Array<string> = []
        const agent = yield* TestAgent.make({
          name: "prop",
          run: (n: number, instance) =>
            Effect.gen(function*() {
              // What another task or attempt left set must not be seen here; this one leaves its own set, and a fiber
              // running that must end with the attempt.
              const seen = yield* FiberRef.get(owner)
              if (seen !== "nobody") leaks.push(`${instance.name} saw ${seen}`)
              yield* FiberRef.set(owner, instance.name)
              yield* Effect.fork(Effect.never)
              yield* Usage.record({ model: "m", inputTokens: TOKENS_PER_ATTEMPT })
              return n
            })
        })
        const options: FaultInjection.Options = { seed: s.seed, rates: s.rates, slowBy: `${SLOW_BY} millis` }
        const factory = FaultInjection.factory(agent.tag, agent.layer, options)
        // Each task reserves what all its attempts could use, so the budget can never be exceeded.
        const perTask = TOKENS_PER_ATTEMPT * ((s.retries ?? 0) + 1)
        const budget = s.budgetTasks === undefined ? undefined : yield* Budget.make({ tokens: s.budgetTasks * perTask })
        const supervisor = yield* Supervisor.track
        const report = yield* withClock(
          Executor.run(Task.fromIterable(Array.from({ length: s.tasks }, (_, i) => i)), factory, {
            concurrency: s.concurrency,
            timeout: TIMEOUT,
            retry: s.retries === undefined ? undefined : { schedule: Schedule.spaced(s.spacing), times: s.retries },
            adaptive: s.adaptive,
            budget,
            estimate: { inputTokens: perTask },
            stop: s.stopAt === undefined ? undefined : Effect.sleep(s.stopAt)
          }).pipe(Effect.supervised(supervisor))
        )
        // Tasks stay apart, and the program's own value is untouched.
        assert.deepStrictEqual(leaks, [])
        assert.strictEqual(yield* FiberRef.get(owner), "nobody")
        // No fiber the run forked is still running.
        const live = yield* supervisor.value
        assert.strictEqual(live.filter((fiber) => fiber.unsafePoll() === null).length, 0)

        // Each task reported exactly once, in input order, and the summary adds up.
        assert.strictEqual(report.results.length, s.tasks)
        report.results.forEach((result, i) => {
          assert.strictEqual(result.index, i)
          assert.strictEqual(result.taskId, String(i))
        })
        const { failed, interrupted, succeeded, timedOut, total } = report.summary
        assert.strictEqual(succeeded + failed + timedOut + interrupted, total)
        // Only a stop interrupts a task; a stopped run ends at its stop, and no task starts after it.
        const stopped = report.results.filter((r) => TaskResult.isInterrupted(r) && r.reason === "Stopped")
        assert.strictEqual(interrupted, stopped.length)
        if (s.stopAt === undefined) assert.strictEqual(interrupted, 0)
        else {
          assert(Duration.toMillis(report.stats.wallTime) <= s.stopAt, "the run ends at its stop")
          for (const result of report.results) {
            const last = result.failedAttempts.at(-1)
            assert(result.startedAt === undefined || result.startedAt <= s.stopAt)
            assert(last === undefined || last.startedAt <= s.stopAt)
          }
        }

        // Concurrency bound, and one released instance per attempt.
        const stats = yield* agent.stats
        assert(report.stats.peakInFlight <= s.concurrency)
        assert(stats.peakRunning <= s.concurrency)
        assert.strictEqual(stats.builds, stats.releases)
        assert.strictEqual(stats.running, 0)
        assert.strictEqual(stats.builds, report.results.reduce((sum, r) => sum + r.attempt, 0))

        // Each started task ends as its faults say, within the retry schedule; the others did not fit the budget.
        for (const result of report.results) {
          if (TaskResult.isInterrupted(result)) {
            // Stopped: under way (an attempt interrupted, or waiting to retry after the attempts that failed as their
            // faults say), or never started.
            const oracle = expected(s, options, result.taskId)
            assert(result.attempt <= oracle.attempt)
            assert(result.started ? result.attempt >= 1 : result.attempt === 0)
            assert(
              result.failedAttempts.length === result.attempt || result.failedAttempts.length === result.attempt - 1 ||
                !result.started
            )
            continue
          }
          if (!result.started) {
            assert(TaskResult.isFailed(result))
            assert.strictEqual((result.error as AgentError.BudgetExceeded)._tag, "BudgetExceeded")
            continue
          }
          const oracle = expected(s, options, result.taskId)
          assert.deepStrictEqual({ tag: result._tag, attempt: result.attempt }, oracle, `task ${result.taskId}`)
          assert(result.attempt <= (s.retries ?? 0) + 1)
          assert.strictEqual(result.failedAttempts.length, result.attempt - 1)
          for (const attempt of result.failedAttempts) {
            assert.isTrue(Retry.isRetryable(Cause.squash(attempt.cause)))
            assert(attempt.delayMillis >= s.spacing)
          }
          // Only an attempt without a fault (or a slow one) reaches the agent, which records its tokens.
          assert.strictEqual(result.usage.inputTokens, result._tag === "Succeeded" ? TOKENS_PER_ATTEMPT : 0)
        }

        // The budget is never exceeded, and every reservation was settled.
        if (budget !== undefined) {
          const snapshot = yield* budget.snapshot
          assert(Usage.totalTokens(snapshot.used) <= snapshot.limits.tokens!)
          assert.deepStrictEqual(snapshot.reserved, Usage.empty)
          // Tasks that used less than they reserved leave room for more (unless the run was stopped first).
          if (s.stopAt === undefined) {
            assert(report.results.filter((r) => r.started).length >= Math.min(s.tasks, s.budgetTasks!))
          }
        }
        if (report.stats.adaptiveConcurrency !== undefined) {
          const adaptive = report.stats.adaptiveConcurrency
          assert(adaptive.lowest >= 1 && adaptive.final <= Math.min(s.concurrency, s.tasks))
        }
      }).pipe(Effect.provide(Executor.layer())),
    { fastCheck: { numRuns }, timeout: 600_000 }
  )
