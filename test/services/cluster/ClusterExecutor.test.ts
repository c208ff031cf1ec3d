import { assert } from "@effect/vitest"
import { Chunk, Duration, Effect, Schedule, Schema, Stream } from "effect"
import * as AgentRunner from "../../../services/cluster/AgentRunner.js"
import * as ClusterExecutor from "../../../services/cluster/ClusterExecutor.js"
import * as TestAgent from "../../../services/testing/TestAgent.js"
import * as AgentError from "../../../src/AgentError.js"
import * as Aggregate from "../../../src/Aggregate.js"
import * as Executor from "../../../src/Executor.js"
import * as RunEvent from "../../../src/RunEvent.js"
import type * as RunReport from "../../../src/RunReport.js"
import * as Task from "../../../src/Task.js"
import * as TaskResult from "../../../src/TaskResult.js"
import * as Usage from "../../../src/Usage.js"
import * as Cluster from "./cluster.js"

class Oops extends Schema.TaggedError<Oops>()("Oops", { n: Schema.Number }) {}

/**
 * A number agent: `n * 2` after `n % 4 * 10` ms, recording one request and `n` tokens; fails with `Oops` for a
 * multiple of 5 and dies for 13.
 */
const numbers = (name: string) =>
  TestAgent.make({
    name,
    run: (n: number) =>
      Usage.record({ inputTokens: n, outputTokens: 1 }).pipe(
        Effect.zipRight(Effect.sleep(`${(n % 4) * 10} millis`)),
        Effect.zipRight(
          n === 13 ? Effect.dieMessage("thirteen") : n % 5 === 0 ? Effect.fail(new Oops({ n })) : Effect.succeed(n * 2)
        )
      )
  })

/** What two runs must agree on: every result's outcome, value, message, attempt and usage, in order. */
const outcomes = (report: RunReport.RunReport<unknown, unknown, unknown>) =>
  report.results.map((result) => ({
    index: result.index,
    taskId: result.taskId,
    outcome: result._tag,
    value: TaskResult.isSucceeded(result) ? result.value : undefined,
    message: TaskResult.isSucceeded(result) ? undefined : TaskResult.message(result),
    agent: result.agent,
    attempt: result.attempt,
    usage: { inputTokens: result.usage.inputTokens, outputTokens: result.usage.outputTokens }
  }))

Cluster.withPostgres("ClusterExecutor", (it) => {
  it.scoped("the same program gets the same report, aggregate and events on the cluster as locally", () =>
    Effect.gen(function*() {
      const url = yield* Cluster.database
      const agent = yield* numbers("numbers")
      const registration = AgentRunner.agent({ name: "numbers", input: Schema.Number, factory: agent.factory })
      const runner = yield* Cluster.build(yield* Cluster.runner({ url, agents: [registration], concurrency: 4 }))

      // The user's program: a run with an aggregate, and its events counted.
      const program = Effect.gen(function*() {
        const events = yield* RunEvent.subscribe
        const tags = yield* Effect.fork(Stream.runCollect(Stream.takeUntil(events, (e) => e._tag === "RunFinished")))
        const report = yield* Executor.run(Task.fromIterable(Array.from({ length: 30 }, (_, i) => i)), agent.factory, {
          runId: "same",
          concurrency: 6,
          aggregate: Aggregate.successes<number>()
        })
        const seen = Chunk.toReadonlyArray(yield* tags).map((e) => e._tag)
        const count = (tag: string) => seen.filter((t) => t === tag).length
        return {
          report,
          events: {
            queued: count("TaskQueued"),
            started: count("TaskStarted"),
            succeeded: count("TaskSucceeded"),
            failed: count("TaskFailed"),
            finished: count("RunFinished")
          }
        }
      }).pipe(Effect.provide(RunEvent.layer()), Effect.scoped)

      const local = yield* program.pipe(Effect.provide(Executor.layer()))
      const remote = yield* program.pipe(
        Effect.provide(ClusterExecutor.layer({ agents: [registration] })),
        Effect.provide(runner)
      )
      assert.deepStrictEqual(remote.report.summary, local.report.summary)
      assert.deepStrictEqual(remote.report.summary, {
        total: 30,
        succeeded: 23,
        failed: 7,
        timedOut: 0,
        interrupted: 0
      })
      assert.deepStrictEqual(remote.report.aggregate, local.report.aggregate)
      assert.deepStrictEqual(outcomes(remote.report), outcomes(local.report))
      assert.deepStrictEqual(remote.events, local.events)
      assert.deepStrictEqual(remote.events, { queued: 30, started: 30, succeeded: 23, failed: 7, finished: 1 })
      assert.deepStrictEqual(remote.report.stats.usage, local.report.stats.usage)
      // Typed errors and defects come back as errors: the agent's own as its name and message, a defect as a defect.
      const failed = remote.report.results[5]!
      assert.isTrue(TaskResult.isFailed(failed))
      assert.strictEqual(TaskResult.isFailed(failed) && (failed.error as { readonly _tag: string })._tag, "Oops")
      const died = remote.report.results[13]!
      assert.isTrue(TaskResult.isFailed(died) && died.cause._tag === "Die", String(died))
      // 30 tasks ran once locally and once on the cluster.
      assert.strictEqual((yield* agent.stats).runs, 60)
    }))

  it.scoped("stream, a deadline, a budget and the run's output schema work as in a local run", () =>
    Effect.gen(function*() {
      const url = yield* Cluster.database
      const agent = yield* numbers("limits")
      const sleepy = yield* TestAgent.sleep("sleepy", (n: number) => `${n} millis`, (n: number) => n)
      // Every runner hosts every agent: any of them may hold a task's shard.
      const agents = [
        AgentRunner.agent({ name: "limits", input: Schema.Number, factory: agent.factory }),
        AgentRunner.agent({ name: "sleepy", input: Schema.Number, factory: sleepy.factory })
      ]
      const runner = yield* Cluster.build(yield* Cluster.runner({ url, agents, concurrency: 8 }))
      const onCluster = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
        effect.pipe(Effect.provide(ClusterExecutor.layer({ agents })), Effect.provide(runner))

      // Stream: every result once, in completion order.
      const streamed = yield* Executor.stream(Task.fromIterable([1, 2, 3, 4, 6, 7]), agent.factory, {
        runId: "streamed",
        concurrency: 3
      }).pipe(Stream.runCollect, onCluster)
      assert.deepStrictEqual(
        Chunk.toReadonlyArray(streamed).map((r) => [r.taskId, Cluster.value(r)]).sort(),
        [["0", 2], ["1", 4], ["2", 6], ["3", 8], ["4", 12], ["5", 14]]
      )

      // Deadline: a task that runs past it is stopped on its runner and reported TimedOut (RunDeadline); those
      // never started are Interrupted.
      const late = yield* Executor.run(Task.fromIterable([50, 5_000, 50, 50, 5_000, 5_000, 50]), sleepy.factory, {
        runId: "late",
        concurrency: 2,
        deadline: "1500 millis"
      }).pipe(onCluster)
      assert.strictEqual(late.results[0]!._tag, "Succeeded")
      assert.strictEqual(late.results[1]!._tag, "TimedOut")
      assert.strictEqual(TaskResult.isTimedOut(late.results[1]!) && late.results[1]!.reason, "RunDeadline")
      assert.isTrue(late.results.some((r) => r._tag === "Interrupted" && r.reason === "RunDeadline"))
      assert.isAtMost(Duration.toMillis(late.stats.wallTime), 4_000)

      // Budget: a task reserves its estimate before it is sent and settles with what its runner says it used.
      const budgeted = yield* Executor.run(Task.fromIterable([1, 2, 3, 4, 6, 7]), agent.factory, {
        runId: "budgeted",
        concurrency: 1,
        budget: { tokens: 9 },
        estimate: { inputTokens: 1 }
      }).pipe(onCluster)
      // 2 + 3 + 4 tokens used: then nothing fits.
      assert.deepStrictEqual(budgeted.results.map((r) => r._tag), [
        "Succeeded",
        "Succeeded",
        "Succeeded",
        "Failed",
        "Failed",
        "Failed"
      ])
      const refused = budgeted.results[3]!
      assert.isTrue(TaskResult.isFailed(refused) && refused.error instanceof AgentError.BudgetExceeded)
      assert.strictEqual(budgeted.stats.budget?.used.inputTokens, 6)

      // The run's own output schema applies to the agent's answer.
      const parsed = yield* Executor.run(Task.fromIterable([1, 2]), agent.factory, {
        runId: "parsed",
        output: Schema.Number.pipe(Schema.lessThan(3))
      }).pipe(onCluster)
      assert.strictEqual(Cluster.value(parsed.results[0]!), 2)
      assert.isTrue(TaskResult.isFailed(parsed.results[1]!))
      assert.isTrue(
        TaskResult.isFailed(parsed.results[1]!) && parsed.results[1]!.error instanceof AgentError.AgentOutputError
      )
    }))

  it.scoped("a run it cannot send is refused before anything is sent, with RunOptionsError naming the option", () =>
    Effect.gen(function*() {
      const url = yield* Cluster.database
      const agent = yield* numbers("known")
      const other = yield* numbers("unknown")
      const registration = AgentRunner.agent({ name: "known", input: Schema.Number, factory: agent.factory })
      const runner = yield* Cluster.build(yield* Cluster.runner({ url, agents: [registration], concurrency: 2 }))
      const refused = (effect: Effect.Effect<unknown, AgentError.RunOptionsError, Executor.Executor>) =>
        effect.pipe(
          Effect.provide(ClusterExecutor.layer({ agents: [registration] })),
          Effect.provide(runner),
          Effect.flip
        )
      const tasks = Task.fromIterable([1])
      const unknown = yield* refused(Executor.run(tasks, other.factory))
      assert.strictEqual(unknown.option, "agent")
      assert.include(unknown.message, "no registered agent for \"unknown\"")
      const schedule = yield* refused(Executor.run(tasks, agent.factory, { retry: Schedule.recurs(2) }))
      assert.strictEqual(schedule.option, "retry")
      const adaptive = yield* refused(Executor.run(tasks, agent.factory, { adaptive: true }))
      assert.strictEqual(adaptive.option, "adaptive")
      const slash = yield* refused(Executor.run(tasks, agent.factory, { runId: "a/b" }))
      assert.strictEqual(slash.option, "runId")
      assert.strictEqual((yield* agent.stats).runs + (yield* other.stats).runs, 0)
      // { times } travels.
      const retried = yield* Executor.run(tasks, agent.factory, { retry: { times: 2 } }).pipe(
        Effect.provide(ClusterExecutor.layer({ agents: [registration] })),
        Effect.provide(runner)
      )
      assert.strictEqual(retried.summary.succeeded, 1)
    }))
})
