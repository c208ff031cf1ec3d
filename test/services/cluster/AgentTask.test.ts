import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect, Either, Fiber, Schema, TestClock } from "effect"
import * as AgentTask from "../../../services/cluster/AgentTask.js"
import * as TestAgent from "../../../services/testing/TestAgent.js"
import * as Executor from "../../../src/Executor.js"
import * as Task from "../../../src/Task.js"

const one = <A, E>(agent: TestAgent.TestAgent<number, A, E>, options?: { readonly timeout?: Duration.DurationInput }) =>
  Effect.map(
    Executor.run(Task.fromIterable([1]), agent.factory, { runId: "r", ...options }),
    (report) => report.results[0]!
  ).pipe(Effect.provide(Executor.layer()))

describe("AgentTask", () => {
  it("the primary key and entity id of a task is runId/taskId", () => {
    assert.strictEqual(AgentTask.primaryKey("run-7", "doc-3"), "run-7/doc-3")
  })

  it("fingerprint: the same JSON gives the same number, other JSON another", () => {
    assert.strictEqual(AgentTask.fingerprint({ text: "a", n: 1 }), AgentTask.fingerprint({ text: "a", n: 1 }))
    assert.notStrictEqual(AgentTask.fingerprint({ text: "a" }), AgentTask.fingerprint({ text: "b" }))
    assert.strictEqual(AgentTask.fingerprint(null), AgentTask.fingerprint(undefined))
  })

  it("toJson: JSON data as it is, undefined as null, and why a value is not JSON", () => {
    assert.deepStrictEqual(AgentTask.toJson({ a: [1, "x", null, true] }), Either.right({ a: [1, "x", null, true] }))
    assert.deepStrictEqual(AgentTask.toJson(undefined), Either.right(null))
    assert.deepStrictEqual(AgentTask.toJson(new Date(0)), Either.right("1970-01-01T00:00:00.000Z"))
    const big = AgentTask.toJson({ n: 1n })
    assert.isTrue(Either.isLeft(big) && big.left.includes("BigInt"), String(big))
    const cycle: Record<string, unknown> = {}
    cycle.self = cycle
    assert.isTrue(Either.isLeft(AgentTask.toJson(cycle)))
  })

  it.effect("encode: a success with its value, encoded by the output schema when there is one", () =>
    Effect.gen(function*() {
      const result = yield* one(yield* TestAgent.succeed("double", (n: number) => ({ n, at: new Date(n) })))
      assert.deepStrictEqual(AgentTask.encode(result), {
        outcome: "Succeeded",
        value: { n: 1, at: "1970-01-01T00:00:00.001Z" },
        attempt: 1,
        durationMillis: result.durationMillis
      })
      const schema = Schema.Struct({ n: Schema.NumberFromString, at: Schema.DateFromNumber })
      assert.deepStrictEqual(AgentTask.encode(result, schema).value, { n: "1", at: 1 })
    }))

  it.effect("encode: a value that is not JSON, or that the output schema rejects, ends Failed with the reason", () =>
    Effect.gen(function*() {
      const result = yield* one(yield* TestAgent.succeed("big", (n: number) => BigInt(n)))
      const raw = AgentTask.encode(result)
      assert.strictEqual(raw.outcome, "Failed")
      assert.match(raw.error ?? "", /^the answer of task 0 could not be sent back as JSON: .*BigInt/s)
      const rejected = AgentTask.encode(
        result,
        Schema.BigInt.pipe(Schema.filter(() => false, { message: () => "never" }))
      )
      assert.strictEqual(rejected.outcome, "Failed")
      assert.include(rejected.error, "never")
    }))

  it.effect("encode: failures, timeouts and interruptions keep their message and attempt", () =>
    Effect.gen(function*() {
      const failed = yield* one(yield* TestAgent.fail("broken", (n: number) => new Error(`no ${n}`)))
      assert.deepStrictEqual(AgentTask.encode(failed), {
        outcome: "Failed",
        error: "no 1",
        attempt: 1,
        durationMillis: failed.durationMillis
      })

      const fiber = yield* Effect.fork(
        one(yield* TestAgent.sleep("slow", "1 minute", (n: number) => n), { timeout: "1 second" })
      )
      yield* TestClock.adjust("1 second")
      const timedOut = AgentTask.encode(yield* Fiber.join(fiber))
      assert.strictEqual(timedOut.outcome, "TimedOut")
      assert.strictEqual(timedOut.error, "slow#r/0/1: task 0 was stopped by its timeout (1s)")
      assert.strictEqual(timedOut.durationMillis, 1000)

      const interrupted = yield* one(yield* TestAgent.make({ name: "quits", run: (_: number) => Effect.interrupt }))
      assert.deepStrictEqual(AgentTask.encode(interrupted), {
        outcome: "Interrupted",
        error: "interrupted",
        attempt: 1,
        durationMillis: interrupted.durationMillis
      })
    }))

  it("failed: a task that never ran", () => {
    assert.deepStrictEqual(AgentTask.failed("no agent"), {
      outcome: "Failed",
      error: "no agent",
      attempt: 0,
      durationMillis: 0
    })
    assert.strictEqual(AgentTask.failed("late", Duration.seconds(2)).durationMillis, 2000)
  })

  it.effect("the Run payload and the reply survive the JSON the cluster stores them as", () =>
    Effect.gen(function*() {
      const payload = {
        runId: "r",
        agent: "classify",
        task: { id: "t", input: { text: "hi" }, labels: { lang: "en" }, timeout: Duration.seconds(3) },
        timeout: Duration.minutes(2),
        retries: 2
      }
      const schema = Schema.Struct(AgentTask.Payload)
      const encoded = yield* Schema.encode(schema)(payload)
      assert.deepStrictEqual(yield* Schema.decodeUnknown(schema)(JSON.parse(JSON.stringify(encoded))), payload)
      const reply: AgentTask.Reply = {
        runner: "127.0.0.1:4000",
        agent: "classify",
        input: AgentTask.fingerprint({ text: "hi" }),
        result: { outcome: "Succeeded", value: { label: "positive" }, attempt: 1, durationMillis: 12.5 }
      }
      const json = JSON.parse(JSON.stringify(yield* Schema.encode(AgentTask.Reply)(reply)))
      assert.deepStrictEqual(yield* Schema.decodeUnknown(AgentTask.Reply)(json), reply)
    }))
})
