import { AiError } from "@effect/ai"
import { NodeHttpClient } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Cause, Deferred, Effect, Layer, Option, Redacted, Schedule, Schema } from "effect"
import * as AgentModel from "../../services/AgentModel.js"
import * as LanguageModelAgent from "../../services/LanguageModelAgent.js"
import * as Executor from "../../src/Executor.js"
import * as Task from "../../src/Task.js"
import * as TaskResult from "../../src/TaskResult.js"
import * as Usage from "../../src/Usage.js"
import * as ModelServer from "./modelServer.js"
import * as TestMeter from "./testMeter.js"

// `AGENT_MODEL=openai:<model>`: @effect/ai-openai over OpenAI's Responses API, against a real HTTP server on
// 127.0.0.1 (`OPENAI_BASE_URL`). Live clock; each test takes milliseconds.

const Label = Schema.Struct({ label: Schema.Literal("positive", "negative") }).annotations({ identifier: "Label" })

interface Doc {
  readonly scenario: ModelServer.Scenario
  readonly text: string
}

const classifier = LanguageModelAgent.factory({
  name: "classifier",
  system: "You label the sentiment of documents.",
  prompt: LanguageModelAgent.template("scenario={{scenario}} Label this document: {{text}}"),
  output: Label
})

const apiKey = "sk-openai-test-key"

const modelLayer = (server: ModelServer.ModelServer) =>
  AgentModel.layer({ model: "openai:gpt-4o-mini", apiKey: Redacted.make(apiKey), baseUrl: server.baseUrl }).pipe(
    Layer.provide(NodeHttpClient.layerUndici)
  )

const runScenarios = (
  server: ModelServer.ModelServer,
  scenarios: ReadonlyArray<ModelServer.Scenario>,
  options?: { readonly retry?: Executor.RunOptions<unknown, unknown, unknown>["retry"] }
) =>
  Executor.run(
    scenarios.map((scenario) =>
      Task.make<Doc>({
        id: scenario,
        input: { scenario, text: "the soup was cold" },
        timeout: scenario === "hang" ? "200 millis" : undefined
      })
    ),
    classifier,
    { concurrency: "unbounded", timeout: "10 seconds", retry: options?.retry }
  ).pipe(Effect.provide(Layer.merge(Executor.layer(), modelLayer(server))))

const failure = <A, E>(result: TaskResult.TaskResult<A, E>): E => {
  assert(TaskResult.isFailed(result), `expected Failed, got ${result._tag}: ${TaskResult.message(result)}`)
  return Option.getOrThrow(Cause.failureOption(result.cause))
}

describe("AgentModel openai: (the Responses API)", () => {
  it.scopedLive("sends the prompt, the JSON schema and the key to /responses, and decodes the answer", () =>
    Effect.gen(function*() {
      const server = yield* ModelServer.make
      const report = yield* runScenarios(server, ["ok"])
      assert.deepStrictEqual(report.results.map((r) => TaskResult.isSucceeded(r) ? r.value : r._tag), [
        { label: "positive" }
      ])
      const [request] = yield* server.received
      assert.strictEqual(request!.path, "/v1/responses")
      assert.strictEqual(request!.authorization, `Bearer ${apiKey}`)
      assert.strictEqual(request!.body.model, "gpt-4o-mini")
      assert.deepStrictEqual(request!.body.input, [
        { role: "system", content: "You label the sentiment of documents." },
        { role: "user", content: [{ type: "input_text", text: "scenario=ok Label this document: the soup was cold" }] }
      ])
      const format = (request!.body.text as { readonly format: Record<string, unknown> }).format
      assert.strictEqual(format.type, "json_schema")
      assert.strictEqual(format.name, "Label")
      assert.strictEqual(format.strict, true)
    }))

  it.scopedLive("provides the AgentModel that names the model", () =>
    Effect.gen(function*() {
      const server = yield* ModelServer.make
      const model = yield* AgentModel.AgentModel.pipe(Effect.provide(modelLayer(server)))
      assert.deepStrictEqual(model, {
        provider: "openai",
        model: "gpt-4o-mini",
        spec: "openai:gpt-4o-mini",
        offline: false
      })
    }))

  it.scopedLive("records each response's usage under the model the response names", () =>
    Effect.gen(function*() {
      const server = yield* ModelServer.make
      const { meter, records } = TestMeter.make()
      yield* Effect.gen(function*() {
        const agent = yield* LanguageModelAgent.make({
          name: "classifier",
          prompt: (doc: Doc) => `scenario=${doc.scenario} ${doc.text}`,
          output: Label
        })
        yield* agent.run({ scenario: "ok", text: "a" }).pipe(Effect.provideService(Usage.UsageMeter, meter))
      }).pipe(Effect.provide(modelLayer(server)))
      assert.deepStrictEqual(records, [
        { model: "gpt-4o-mini", inputTokens: ModelServer.usage.input, outputTokens: ModelServer.usage.output }
      ])
      assert.lengthOf(yield* server.received, 1)
    }))

  describe("failures end as typed per-task errors, and the run goes on", () => {
    it.scopedLive("429 with Retry-After, then an answer: retried after the wait the server asked for, and succeeds", () =>
      Effect.gen(function*() {
        const server = yield* ModelServer.make
        const report = yield* runScenarios(server, ["rate-limited-once", "ok"], {
          retry: { schedule: Schedule.spaced("1 millis"), times: 2 }
        })
        const [retried, ok] = report.results
        assert(TaskResult.isSucceeded(retried!), TaskResult.message(retried!))
        assert.deepStrictEqual(retried.value, { label: "positive" })
        assert.strictEqual(retried.attempt, 2)
        const [first] = retried.failedAttempts
        assert.strictEqual(first!.outcome, "Failed")
        const error = Option.getOrThrow(Cause.failureOption(first!.cause))
        assert(AiError.isAiError(error) && error._tag === "HttpResponseError")
        assert.strictEqual(error.response.status, 429)
        assert.isAtLeast(first!.delayMillis, ModelServer.retryAfterOnce * 1000 - 1)
        assert.strictEqual(ok!._tag, "Succeeded")
        assert.strictEqual(report.stats.retries, 1)
        // The engine waited the Retry-After (150 ms), not the schedule's 1 ms.
        const times = (yield* server.received)
          .filter((request) => JSON.stringify(request.body).includes("rate-limited-once"))
          .map((request) => request.at)
        assert.lengthOf(times, 2)
        assert.isAtLeast(times[1]! - times[0]!, ModelServer.retryAfterOnce * 1000 - 5)
      }))

    it.scopedLive("each task's usage, over its attempts, is in its result and the report, with the model", () =>
      Effect.gen(function*() {
        const server = yield* ModelServer.make
        const report = yield* runScenarios(server, ["ok", "rate-limited-once", "off-schema", "server-error"], {
          retry: { schedule: Schedule.spaced("1 millis"), times: 1 }
        })
        const one = Usage.make({
          requests: 1,
          inputTokens: ModelServer.usage.input,
          outputTokens: ModelServer.usage.output
        })
        // A 429 or a 500 is no response and uses nothing; an answer that does not fit the schema still used tokens.
        assert.deepStrictEqual(report.results.map((result) => result.usage), [one, one, one, Usage.empty])
        assert.deepStrictEqual(report.stats.usage, Usage.make({ requests: 3, inputTokens: 63, outputTokens: 15 }))
        assert.deepStrictEqual(report.stats.models, ["gpt-4o-mini"])
      }))

    it.scopedLive("429: an HttpResponseError with the status and the Retry-After header", () =>
      Effect.gen(function*() {
        const server = yield* ModelServer.make
        const report = yield* runScenarios(server, ["rate-limited", "ok"])
        const error = failure(report.results[0]!)
        assert(error._tag === "HttpResponseError")
        assert.strictEqual(error.response.status, 429)
        assert.strictEqual(error.response.headers["retry-after"], "2")
        assert.include(error.message, "Rate limit reached")
        assert.strictEqual(report.results[1]!._tag, "Succeeded")
      }))

    it.scopedLive("500: an HttpResponseError with the status", () =>
      Effect.gen(function*() {
        const server = yield* ModelServer.make
        const report = yield* runScenarios(server, ["server-error", "ok"])
        const error = failure(report.results[0]!)
        assert(error._tag === "HttpResponseError")
        assert.strictEqual(error.response.status, 500)
        assert.strictEqual(report.results[1]!._tag, "Succeeded")
      }))

    it.scopedLive("a hang: the task timeout aborts the HTTP request and the server sees the connection closed", () =>
      Effect.gen(function*() {
        const server = yield* ModelServer.make
        const report = yield* runScenarios(server, ["hang", "ok"])
        assert.strictEqual(report.results[0]!._tag, "TimedOut")
        assert.strictEqual(report.results[1]!._tag, "Succeeded")
        assert.isTrue(yield* Deferred.await(server.hangClosed).pipe(Effect.timeout("2 seconds")))
      }))

    it.scopedLive("a body that is not JSON: an HttpResponseError of reason Decode", () =>
      Effect.gen(function*() {
        const server = yield* ModelServer.make
        const report = yield* runScenarios(server, ["malformed-json", "ok"])
        const error = failure(report.results[0]!)
        assert(error._tag === "HttpResponseError")
        assert.strictEqual(error.reason, "Decode")
        assert.strictEqual(report.results[1]!._tag, "Succeeded")
      }))

    it.scopedLive("an answer that does not fit the schema, or is not JSON, or a body of the wrong shape: MalformedOutput", () =>
      Effect.gen(function*() {
        const server = yield* ModelServer.make
        const report = yield* runScenarios(server, ["off-schema", "not-json", "wrong-shape", "ok"])
        for (const result of report.results.slice(0, 3)) {
          const error = failure(result)
          assert(AiError.isAiError(error) && error._tag === "MalformedOutput", String(error))
        }
        assert.strictEqual(report.results[3]!._tag, "Succeeded")
      }))
  })
})
