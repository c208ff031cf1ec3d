import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect, Either, Fiber, Schema, TestClock } from "effect"
import * as AgentTask from "../../../services/cluster/AgentTask.js"
import * as TestAgent from "../../../services/testing/TestAgent.js"
import * as AgentError from "../../../src/AgentError.js"
import * as Executor from "../../../src/Executor.js"
import * as Task from "../../../src/Task.js"
import * as TaskResult from "../../../src/TaskResult.js"

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

  const roundTrip = <A, I>(
    result: TaskResult.TaskResult<unknown, unknown>,
    output?: Schema.Schema<A, I, never>
  ) =>
    Effect.gen(function*() {
      const encoded = yield* AgentTask.encode(result, { agent: "a", output })
      // What the cluster stores and sends is JSON.
      const stored = JSON.parse(JSON.stringify(encoded)) as TaskResult.Encoded
      return {
        encoded,
        decoded: yield* AgentTask.decode(stored, { agent: "a", index: 7, queuedAt: 123, output })
      }
    })

  it.effect("encode/decode: a success with its value, encoded by the output schema when there is one", () =>
    Effect.gen(function*() {
      const result = yield* one(yield* TestAgent.succeed("double", (n: number) => ({ n, at: new Date(n) })))
      const plain = yield* roundTrip(result)
      assert.strictEqual(plain.encoded._tag, "Succeeded")
      assert.deepStrictEqual(plain.encoded.value, { n: 1, at: "1970-01-01T00:00:00.001Z" })
      const schema = Schema.Struct({ n: Schema.NumberFromString, at: Schema.DateFromNumber })
      const typed = yield* roundTrip(result, schema)
      assert.deepStrictEqual(typed.encoded.value, { n: "1", at: 1 })
      // Back as the agent returned it, at the coordinator's index and queue time; the rest as the runner had it.
      const back = typed.decoded
      assert.isTrue(TaskResult.isSucceeded(back))
      assert.deepStrictEqual(TaskResult.isSucceeded(back) && back.value, { n: 1, at: new Date(1) })
      assert.strictEqual(back.index, 7)
      assert.strictEqual(back.queuedAt, 123)
      assert.deepStrictEqual(
        { agent: back.agent, attempt: back.attempt, startedAt: back.startedAt, durationMillis: back.durationMillis },
        {
          agent: result.agent,
          attempt: result.attempt,
          startedAt: result.startedAt,
          durationMillis: result.durationMillis
        }
      )
    }))

  it.effect("encode: a value that is not JSON, or that the output schema rejects, ends Failed with the reason", () =>
    Effect.gen(function*() {
      const result = yield* one(yield* TestAgent.succeed("big", (n: number) => BigInt(n)))
      const raw = yield* roundTrip(result)
      assert.strictEqual(raw.decoded._tag, "Failed")
      assert.isTrue(TaskResult.isFailed(raw.decoded) && raw.decoded.error instanceof AgentError.AgentOutputError)
      assert.match(TaskResult.message(raw.decoded), /the answer of task 0 is not JSON: .*BigInt/s)
      assert.strictEqual(raw.decoded.attempt, 1)
      const rejected = yield* roundTrip(
        result,
        Schema.BigInt.pipe(Schema.filter(() => false, { message: () => "never" }))
      )
      assert.strictEqual(rejected.decoded._tag, "Failed")
      assert.include(TaskResult.message(rejected.decoded), "never")
    }))

  it.effect("encode/decode: failures keep their typed errors, timeouts and interruptions their reason", () =>
    Effect.gen(function*() {
      const failed = yield* one(yield* TestAgent.fail("broken", (n: number) => new Error(`no ${n}`)))
      const back = (yield* roundTrip(failed)).decoded
      assert.strictEqual(back._tag, "Failed")
      assert.strictEqual(TaskResult.message(back), "no 1")
      assert.strictEqual(back.attempt, 1)

      const fiber = yield* Effect.fork(
        one(yield* TestAgent.sleep("slow", "1 minute", (n: number) => n), { timeout: "1 second" })
      )
      yield* TestClock.adjust("1 second")
      const timedOut = (yield* roundTrip(yield* Fiber.join(fiber))).decoded
      assert.strictEqual(timedOut._tag, "TimedOut")
      assert.isTrue(TaskResult.isTimedOut(timedOut) && timedOut.error instanceof AgentError.AgentTimeout)
      assert.strictEqual(TaskResult.message(timedOut), "slow#r/0/1: task 0 was stopped by its timeout (1s)")
      assert.strictEqual(timedOut.durationMillis, 1000)

      const interrupted = yield* one(yield* TestAgent.make({ name: "quits", run: (_: number) => Effect.interrupt }))
      const stopped = (yield* roundTrip(interrupted)).decoded
      assert.strictEqual(stopped._tag, "Interrupted")
      assert.strictEqual(TaskResult.isInterrupted(stopped) && stopped.reason, "Interrupted")
    }))

  it.effect("the Run payload and the reply survive the JSON the cluster stores them as", () =>
    Effect.gen(function*() {
      const payload = {
        runId: "r",
        agent: "classify",
        task: { id: "t", input: { text: "hi" }, labels: { lang: "en" }, timeout: Duration.seconds(3) },
        timeout: Duration.minutes(2),
        retries: 2,
        deadline: Duration.seconds(30)
      }
      const schema = Schema.Struct(AgentTask.Payload)
      const encoded = yield* Schema.encode(schema)(payload)
      assert.deepStrictEqual(yield* Schema.decodeUnknown(schema)(JSON.parse(JSON.stringify(encoded))), payload)
      const result = yield* one(yield* TestAgent.succeed("classify", (_: number) => ({ label: "positive" })))
      const reply: AgentTask.Reply = {
        runner: "127.0.0.1:4000",
        agent: "classify",
        input: AgentTask.fingerprint({ text: "hi" }),
        result: yield* AgentTask.encode(result, { agent: "classify" })
      }
      const json = JSON.parse(JSON.stringify(yield* Schema.encode(AgentTask.Reply)(reply)))
      assert.deepStrictEqual(yield* Schema.decodeUnknown(AgentTask.Reply)(json), reply)
    }))
})
