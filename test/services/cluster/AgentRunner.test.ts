import { assert } from "@effect/vitest"
import { Context, Effect, Exit, Layer, Schema } from "effect"
import * as AgentRunner from "../../../services/cluster/AgentRunner.js"
import * as AgentTask from "../../../services/cluster/AgentTask.js"
import * as Coordinator from "../../../services/cluster/Coordinator.js"
import * as TestAgent from "../../../services/testing/TestAgent.js"
import * as Agent from "../../../src/Agent.js"
import * as AgentError from "../../../src/AgentError.js"
import * as AgentInstance from "../../../src/AgentInstance.js"
import * as Task from "../../../src/Task.js"
import * as TaskResult from "../../../src/TaskResult.js"
import * as Cluster from "./cluster.js"

const Document = Schema.Struct({ text: Schema.String })

Cluster.withPostgres("AgentRunner", (it) => {
  it.scoped("a task for an agent the runner does not have ends Failed, naming the agent and the runner's agents", () =>
    Effect.gen(function*() {
      const url = yield* Cluster.database
      const upper = yield* TestAgent.succeed("upper", (d: typeof Document.Type) => d.text.toUpperCase())
      const lower = yield* TestAgent.succeed("lower", (d: typeof Document.Type) => d.text.toLowerCase())
      const context = yield* Cluster.build(
        yield* Cluster.runner({
          url,
          agents: [
            AgentRunner.agent({ name: "upper", input: Document, factory: upper.factory }),
            AgentRunner.agent({ name: "lower", input: Document, factory: lower.factory })
          ],
          concurrency: 2
        })
      )
      const [missing] = yield* Coordinator.run([Task.make({ id: "x", input: { text: "a" } })], {
        agent: "summarize",
        runId: "missing",
        concurrency: 1
      }).pipe(Effect.provide(context))
      assert.strictEqual(missing!.result._tag, "Failed")
      assert.match(
        TaskResult.message(missing!.result),
        /invalid option "agent": no agent named "summarize" on runner 127\.0\.0\.1:\d+; it runs "upper", "lower"$/
      )
      const [found] = yield* Coordinator.run([Task.make({ id: "x", input: { text: "a" } })], {
        agent: "lower",
        runId: "found",
        concurrency: 1
      }).pipe(Effect.provide(context))
      assert.deepStrictEqual(TaskResult.isSucceeded(found!.result) && found!.result.value, "a")
    }))

  it.scoped("an input that does not fit the agent's schema ends Failed with the path; the agent is not built", () =>
    Effect.gen(function*() {
      const url = yield* Cluster.database
      const upper = yield* TestAgent.succeed("upper", (d: typeof Document.Type) => d.text.toUpperCase())
      const context = yield* Cluster.build(
        yield* Cluster.runner({
          url,
          agents: [AgentRunner.agent({ name: "upper", input: Document, factory: upper.factory })],
          concurrency: 2
        })
      )
      const results = yield* Coordinator.run(
        [Task.make({ id: "good", input: { text: "hi" } }), Task.make({ id: "bad", input: { text: 3 } })],
        { agent: "upper", runId: "inputs", concurrency: 2 }
      ).pipe(Effect.provide(context))
      assert.deepStrictEqual(results.map((r) => r.result._tag), ["Succeeded", "Failed"])
      assert.strictEqual(TaskResult.isSucceeded(results[0]!.result) && results[0]!.result.value, "HI")
      const bad = results[1]!.result
      assert.isTrue(TaskResult.isFailed(bad) && bad.error instanceof AgentError.AgentInputError, String(bad))
      assert.include(TaskResult.message(bad), "[\"text\"]")
      assert.include(TaskResult.message(bad), "Expected string, actual 3")
      assert.strictEqual((yield* upper.stats).builds, 1)
    }))

  it.scoped("a runner runs at most its concurrency at once, whatever the coordinator sends", () =>
    Effect.gen(function*() {
      const url = yield* Cluster.database
      const slow = yield* TestAgent.sleep("slow", "40 millis", (n: number) => n)
      const context = yield* Cluster.build(
        yield* Cluster.runner({
          url,
          agents: [AgentRunner.agent({ name: "slow", input: Schema.Number, factory: slow.factory })],
          concurrency: 3
        })
      )
      const results = yield* Coordinator.run(Task.fromIterable(Array.from({ length: 30 }, (_, i) => i)), {
        agent: "slow",
        runId: "capped",
        concurrency: 30
      }).pipe(Effect.provide(context))
      assert.isTrue(results.every((r) => r.result._tag === "Succeeded"))
      const stats = yield* slow.stats
      assert.strictEqual(stats.runs, 30)
      assert.strictEqual(stats.peakRunning, 3)
    }))

  it.scoped("the run's timeout and a task's own apply on the runner; a timed-out attempt is retried", () =>
    Effect.gen(function*() {
      const url = yield* Cluster.database
      // The first attempt of a task whose input is "flaky" hangs; any later attempt answers at once.
      class Flaky extends Context.Tag("test/Flaky")<Flaky, Agent.Agent<string, string>>() {}
      const flaky = Agent.factory(
        Flaky,
        Layer.effect(
          Flaky,
          Effect.map(AgentInstance.AgentInstance, (instance) =>
            Agent.make({
              name: "flaky",
              run: (input: string) =>
                input === "hang" || (input === "flaky" && instance.attempt === 1)
                  ? Effect.never
                  : Effect.succeed(`${input} at attempt ${instance.attempt}`)
            }))
        )
      )
      const context = yield* Cluster.build(
        yield* Cluster.runner({
          url,
          agents: [AgentRunner.agent({ name: "flaky", input: Schema.String, factory: flaky })],
          concurrency: 4
        })
      )
      const tasks = [
        Task.make({ id: "hang", input: "hang" }),
        Task.make({ id: "own", input: "hang", timeout: "100 millis" }),
        Task.make({ id: "flaky", input: "flaky" })
      ]
      const [hang, own, retried] = yield* Coordinator.run(tasks, {
        agent: "flaky",
        runId: "timeouts",
        concurrency: 3,
        timeout: "300 millis",
        retries: 1
      }).pipe(Effect.provide(context))
      assert.strictEqual(hang!.result._tag, "TimedOut")
      assert.strictEqual(hang!.result.attempt, 2)
      assert.strictEqual(hang!.result.failedAttempts.length, 1)
      assert.include(TaskResult.message(hang!.result), "stopped by its timeout (300ms)")
      assert.strictEqual(own!.result._tag, "TimedOut")
      assert.include(TaskResult.message(own!.result), "stopped by its timeout (100ms)")
      const again = retried!.result
      assert.strictEqual(again._tag, "Succeeded")
      assert.strictEqual(TaskResult.isSucceeded(again) && again.value, "flaky at attempt 2")
      assert.strictEqual(again.attempt, 2)
      assert.strictEqual(again.agent, "test/Flaky#timeouts/flaky/2")
      assert.strictEqual(again.failedAttempts[0]?.outcome, "TimedOut")
    }))

  it.scoped("answers go back encoded with the agent's output schema; one that is not JSON ends Failed", () =>
    Effect.gen(function*() {
      const url = yield* Cluster.database
      const big = yield* TestAgent.succeed("big", (n: number) => BigInt(n) * 10n ** 20n)
      const context = yield* Cluster.build(
        yield* Cluster.runner({
          url,
          agents: [
            AgentRunner.agent({ name: "encoded", input: Schema.Number, output: Schema.BigInt, factory: big.factory }),
            AgentRunner.agent({ name: "raw", input: Schema.Number, factory: big.factory })
          ],
          concurrency: 2
        })
      )
      const [encoded] = yield* Coordinator.run(Task.fromIterable([3]), {
        agent: "encoded",
        runId: "encoded",
        concurrency: 1
      }).pipe(Effect.provide(context))
      assert.strictEqual(encoded!.result._tag, "Succeeded")
      assert.strictEqual(TaskResult.isSucceeded(encoded!.result) && encoded!.result.value, "300000000000000000000")
      // With the agent's output schema, the coordinator gets its value back as the agent returned it.
      const [decoded] = yield* Coordinator.run(Task.fromIterable([3]), {
        agent: "encoded",
        runId: "encoded",
        concurrency: 1,
        output: Schema.BigInt
      }).pipe(Effect.provide(context))
      assert.strictEqual(TaskResult.isSucceeded(decoded!.result) && decoded!.result.value, 300000000000000000000n)
      const [raw] = yield* Coordinator.run(Task.fromIterable([3]), { agent: "raw", runId: "raw", concurrency: 1 }).pipe(
        Effect.provide(context)
      )
      assert.strictEqual(raw!.result._tag, "Failed")
      assert.isTrue(TaskResult.isFailed(raw!.result) && raw!.result.error instanceof AgentError.AgentOutputError)
      assert.include(TaskResult.message(raw!.result), "the answer of task 0 is not JSON: ")
      assert.strictEqual(raw!.result.attempt, 1)
    }))

  it.scoped("two agents registered under one name are a defect", () =>
    Effect.gen(function*() {
      const url = yield* Cluster.database
      const one = yield* TestAgent.succeed("one", (n: number) => n)
      const registration = AgentRunner.agent({ name: "same", input: Schema.Number, factory: one.factory })
      const exit = yield* Cluster.build(
        yield* Cluster.runner({ url, agents: [registration, registration], concurrency: 1 })
      ).pipe(Effect.exit)
      assert.isTrue(Exit.isFailure(exit))
      assert.include(String(exit), "AgentRunner.layer: two agents are registered as \\\"same\\\"")
    }))

  it.scoped("a run option the engine rejects ends each task Failed with the engine's RunOptionsError", () =>
    Effect.gen(function*() {
      const payload: AgentRunner.Payload = {
        runId: "r",
        agent: "one",
        task: { id: "t", input: 1, labels: {} },
        retries: 1.5
      }
      const one = yield* TestAgent.succeed("one", (n: number) => n)
      const result = yield* AgentRunner.agent({ name: "one", input: Schema.Number, factory: one.factory }).run(payload)
        .pipe(Effect.provide(Cluster.executor))
      assert.strictEqual(result._tag, "Failed")
      assert.strictEqual(result.attempt, 0)
      assert.strictEqual(result.durationMillis, 0)
      const decoded = yield* AgentTask.decode(result, { agent: "one", index: 0, queuedAt: 0 })
      assert.strictEqual(
        TaskResult.message(decoded),
        "Invalid run option \"retry.times\": expected a whole number, 0 or more, got 1.5"
      )
      assert.strictEqual((yield* one.stats).builds, 0)
    }))
})
