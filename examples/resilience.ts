/**
 * A fan-out through a flaky provider: 200 classification calls where a tenth of the attempts are rate limited
 * (429 with Retry-After), some fail with a 500, a few hang and one in a hundred hits a bug. Retries (a fresh agent
 * per attempt), adaptive concurrency, a token budget and a failure policy keep the run going, and the report says
 * what each of them did. The faults come from `FaultInjection`, seeded, so every run draws the same ones.
 *
 *   npx tsx examples/resilience.ts
 */
import { NodeRuntime } from "@effect/platform-node"
import { Console, Context, Effect, Layer, Schedule } from "effect"
import { Agent, Executor, RunReport, Task, TaskResult, Usage } from "effect-parallel-agents"
import { FaultInjection } from "effect-parallel-agents/testing"

type Label = "positive" | "negative"

class Classifier extends Context.Tag("classifier")<Classifier, Agent.Agent<string, Label>>() {}

const ClassifierLive = Layer.succeed(
  Classifier,
  Agent.make({
    name: "classifier",
    run: (text: string) =>
      Effect.gen(function*() {
        yield* Effect.sleep("50 millis")
        // What a model adapter records for each response; the run adds it up and the budget settles with it.
        yield* Usage.record({ model: "simulated", inputTokens: 40 + text.length, outputTokens: 2 })
        return text.length % 2 === 0 ? "positive" as const : "negative" as const
      })
  })
)

// The same agent behind a provider that misbehaves.
const classifier = FaultInjection.factory(Classifier, ClassifierLive, {
  seed: 2026,
  rates: { rateLimited: 0.1, failure: 0.05, hang: 0.02, defect: 0.01 },
  retryAfter: "300 millis"
})

const program = Effect.gen(function*() {
  const documents = Array.from({ length: 200 }, (_, i) => `Sample document number ${i}`)
  const report = yield* Executor.run(Task.fromIterable(documents), classifier, {
    concurrency: 40,
    timeout: "500 millis",
    // Rate limits, 5xx and timeouts are retried with a fresh instance; the 429's Retry-After is honoured.
    retry: { schedule: Schedule.exponential("100 millis").pipe(Schedule.jittered), times: 4 },
    // Rate-limited attempts cut how many run at once; successes raise it again.
    adaptive: { initial: 10 },
    // Each task reserves 70 tokens before it starts and settles with what it used.
    budget: { tokens: 12_000 },
    estimate: { inputTokens: 68, outputTokens: 2 },
    // Stop starting tasks once 90 % of them can no longer succeed.
    failurePolicy: { minSuccessRate: 0.9 }
  })

  const { summary } = report
  yield* Console.log(`Total: ${summary.total}`)
  yield* Console.log(`Success: ${summary.succeeded}`)
  yield* Console.log(`Failed: ${summary.failed}`)
  yield* Console.log(`Timed out: ${summary.timedOut}`)
  yield* Console.log(`Not started: ${report.results.filter((result) => !result.started).length}`)
  yield* Console.log(`Retried attempts: ${report.stats.retries}`)
  const recovered = report.results.filter((result) => result._tag === "Succeeded" && result.failedAttempts.length > 0)
  yield* Console.log(`Succeeded after a retry: ${recovered.length}`)
  const adaptive = report.stats.adaptiveConcurrency!
  yield* Console.log(
    `Adaptive concurrency: started at ${adaptive.initial}, lowest ${adaptive.lowest}, ended at ${adaptive.final} (${adaptive.decreases} cuts)`
  )
  const budget = report.stats.budget!
  yield* Console.log(`Tokens used: ${Usage.totalTokens(budget.used)} of ${budget.limits.tokens}`)
  for (const result of report.results.filter((result) => result._tag !== "Succeeded").slice(0, 6)) {
    yield* Console.log(
      result.started
        ? `  ${result.taskId} ${result._tag} after ${result.attempt} attempt(s): ${TaskResult.message(result)}`
        : `  ${result.taskId} not started: ${TaskResult.message(result)}`
    )
  }
  yield* Console.log("")
  yield* Console.log(RunReport.format(report))
})

program.pipe(Effect.provide(Executor.layer()), NodeRuntime.runMain)
