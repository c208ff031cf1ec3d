import { AiError, LanguageModel } from "@effect/ai"
import { NodeHttpClient } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Cause, Chunk, Deferred, Effect, Layer, Option, Redacted, Schedule, Schema, Stream } from "effect"
import * as ChatCompletionsLanguageModel from "../../services/ChatCompletionsLanguageModel.js"
import * as LanguageModelAgent from "../../services/LanguageModelAgent.js"
import * as Executor from "../../src/Executor.js"
import * as Task from "../../src/Task.js"
import * as TaskResult from "../../src/TaskResult.js"
import * as Usage from "../../src/Usage.js"
import * as ModelServer from "./modelServer.js"
import * as TestMeter from "./testMeter.js"

// Real HTTP against a real server on 127.0.0.1, so these tests run on the live clock; each takes milliseconds.

const Label = Schema.Struct({ label: Schema.Literal("positive", "negative") }).annotations({
  identifier: "Label",
  description: "The sentiment of a document"
})

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

const modelLayer = (server: ModelServer.ModelServer, apiKey?: string) =>
  ChatCompletionsLanguageModel.layer({
    model: "llama-test",
    baseUrl: server.baseUrl,
    apiKey: apiKey === undefined ? undefined : Redacted.make(apiKey),
    parameters: { temperature: 0 }
  }).pipe(Layer.provide(NodeHttpClient.layerUndici))

/**
 * Runs one task per scenario through the engine, against the server. The hanging task has a timeout of its own,
 * short so that the test is fast; the others have the run's, long so that a busy machine does not fail them.
 */
const runScenarios = (
  server: ModelServer.ModelServer,
  scenarios: ReadonlyArray<ModelServer.Scenario>,
  apiKey?: string,
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
  ).pipe(Effect.provide(Layer.merge(Executor.layer(), modelLayer(server, apiKey))))

const failure = <A, E>(result: TaskResult.TaskResult<A, E>): E => {
  assert(TaskResult.isFailed(result), `expected Failed, got ${result._tag}: ${TaskResult.message(result)}`)
  return Option.getOrThrow(Cause.failureOption(result.cause))
}

describe("ChatCompletionsLanguageModel", () => {
  it.scopedLive("sends the prompt, the system prompt, the JSON schema and the key; decodes the answer", () =>
    Effect.gen(function*() {
      const server = yield* ModelServer.make
      const report = yield* runScenarios(server, ["ok"], "sk-test-key")
      assert.deepStrictEqual(report.results.map((r) => TaskResult.isSucceeded(r) ? r.value : r._tag), [
        { label: "positive" }
      ])
      const [request] = yield* server.received
      assert.strictEqual(request!.path, "/v1/chat/completions")
      assert.strictEqual(request!.authorization, "Bearer sk-test-key")
      assert.deepStrictEqual(request!.body.messages, [
        { role: "system", content: "You label the sentiment of documents." },
        { role: "user", content: "scenario=ok Label this document: the soup was cold" }
      ])
      assert.strictEqual(request!.body.model, "llama-test")
      assert.strictEqual(request!.body.temperature, 0)
      assert.deepStrictEqual(request!.body.response_format, {
        type: "json_schema",
        json_schema: {
          name: "Label",
          description: "The sentiment of a document",
          schema: {
            type: "object",
            required: ["label"],
            properties: { label: { type: "string", enum: ["positive", "negative"] } },
            additionalProperties: false,
            description: "The sentiment of a document"
          },
          strict: true
        }
      })
    }))

  it.scopedLive("sends no Authorization header without a key", () =>
    Effect.gen(function*() {
      const server = yield* ModelServer.make
      const report = yield* runScenarios(server, ["ok"])
      assert.strictEqual(report.summary.succeeded, 1)
      assert.isUndefined((yield* server.received)[0]!.authorization)
    }))

  it.scopedLive("answers plain text and reports usage and the model in the response", () =>
    Effect.gen(function*() {
      const server = yield* ModelServer.make
      const response = yield* LanguageModel.generateText({ prompt: "Say something" }).pipe(
        Effect.provide(modelLayer(server))
      )
      assert.strictEqual(response.text, "A fine answer.")
      assert.strictEqual(response.finishReason, "stop")
      assert.strictEqual(response.usage.inputTokens, ModelServer.usage.input)
      assert.strictEqual(response.usage.outputTokens, ModelServer.usage.output)
      assert.strictEqual(response.usage.totalTokens, ModelServer.usage.input + ModelServer.usage.output)
      const metadata = response.content.find((part) => part.type === "response-metadata")
      assert.deepStrictEqual(metadata?.modelId, Option.some("llama-test"))
      assert.isUndefined((yield* server.received)[0]!.body.response_format)
    }))

  it.scopedLive("streams text deltas, then the usage the server sends after the last choice", () =>
    Effect.gen(function*() {
      const server = yield* ModelServer.make
      const parts = Chunk.toArray(
        yield* Stream.runCollect(LanguageModel.streamText({ prompt: "Say something" })).pipe(
          Effect.provide(modelLayer(server))
        )
      )
      assert.deepStrictEqual(parts.map((part) => part.type), [
        "response-metadata",
        "text-start",
        "text-delta",
        "text-delta",
        "text-delta",
        "text-end",
        "finish"
      ])
      assert.strictEqual(
        parts.flatMap((part) => part.type === "text-delta" ? [part.delta] : []).join(""),
        "A fine answer."
      )
      const finish = parts.at(-1)!
      assert(finish.type === "finish")
      assert.strictEqual(finish.reason, "stop")
      assert.strictEqual(finish.usage.inputTokens, ModelServer.usage.input)
      assert.strictEqual(finish.usage.outputTokens, ModelServer.usage.output)
      const { body } = (yield* server.received)[0]!
      assert.strictEqual(body.stream, true)
      assert.deepStrictEqual(body.stream_options, { include_usage: true })
    }))

  it.scopedLive("a stream that the server refuses fails with the same typed error", () =>
    Effect.gen(function*() {
      const server = yield* ModelServer.make
      const error = yield* Stream.runDrain(LanguageModel.streamText({ prompt: "scenario=rate-limited" })).pipe(
        Effect.provide(modelLayer(server, "sk-stream-key")),
        Effect.flip
      )
      assert(error._tag === "HttpResponseError")
      assert.strictEqual(error.response.status, 429)
      assert.strictEqual(error.response.headers["retry-after"], "2")
      assert.strictEqual(error.request.headers.authorization, "<redacted>")
    }))

  it.scopedLive("records each response's usage, under the model that answered, on the task's meter", () =>
    Effect.gen(function*() {
      const { meter, records } = TestMeter.make()
      const agent = yield* LanguageModelAgent.make({
        name: "classifier",
        prompt: (doc: Doc) => `scenario=${doc.scenario} ${doc.text}`,
        output: Label
      })
      const run = (doc: Doc) => agent.run(doc).pipe(Effect.provideService(Usage.UsageMeter, meter))
      yield* run({ scenario: "ok", text: "a" })
      // An answer that does not fit the schema was still a response, and it is still counted.
      yield* Effect.flip(run({ scenario: "off-schema", text: "b" }))
      // A 500 is no response: nothing to count.
      yield* Effect.flip(run({ scenario: "server-error", text: "c" }))
      const expected = {
        model: "llama-test",
        inputTokens: ModelServer.usage.input,
        outputTokens: ModelServer.usage.output
      }
      assert.deepStrictEqual(records, [expected, expected])
      assert.deepStrictEqual(meter.current, Usage.make({ requests: 2, inputTokens: 42, outputTokens: 10 }))
    }).pipe(
      Effect.provide(
        // The model over a server made in the test's scope, shared by the calls above.
        Layer.unwrapScoped(Effect.map(ModelServer.make, modelLayer))
      )
    ))

  describe("failures end as typed per-task errors, and the run goes on", () => {
    it.scopedLive("429 with Retry-After, then an answer: retried after the wait the server asked for, and succeeds", () =>
      Effect.gen(function*() {
        const server = yield* ModelServer.make
        const report = yield* runScenarios(server, ["rate-limited-once", "ok"], undefined, {
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
        const report = yield* runScenarios(
          server,
          ["ok", "rate-limited-once", "off-schema", "server-error"],
          undefined,
          {
            retry: { schedule: Schedule.spaced("1 millis"), times: 1 }
          }
        )
        const one = Usage.make({
          requests: 1,
          inputTokens: ModelServer.usage.input,
          outputTokens: ModelServer.usage.output
        })
        // A 429 or a 500 is no response and uses nothing; an answer that does not fit the schema still used tokens.
        assert.deepStrictEqual(report.results.map((result) => result.usage), [one, one, one, Usage.empty])
        assert.deepStrictEqual(report.stats.usage, Usage.make({ requests: 3, inputTokens: 63, outputTokens: 15 }))
        assert.deepStrictEqual(report.stats.models, ["llama-test"])
      }))

    it.scopedLive("429: an HttpResponseError with the status and the Retry-After header", () =>
      Effect.gen(function*() {
        const server = yield* ModelServer.make
        const report = yield* runScenarios(server, ["rate-limited", "ok"])
        const error = failure(report.results[0]!)
        assert(error._tag === "HttpResponseError")
        assert.strictEqual(error.response.status, 429)
        assert.strictEqual(error.response.headers["retry-after"], "2")
        assert.strictEqual(error.reason, "StatusCode")
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
        const hang = report.results[0]!
        assert(TaskResult.isTimedOut(hang), hang._tag)
        assert.strictEqual(hang.reason, "TaskTimeout")
        assert.strictEqual(report.results[1]!._tag, "Succeeded")
        // The server's handler was interrupted because its client closed the connection.
        const closedByClient = yield* Deferred.await(server.hangClosed).pipe(Effect.timeout("2 seconds"))
        assert.isTrue(closedByClient)
      }))

    it.scopedLive("a body that is not JSON: an HttpResponseError of reason Decode", () =>
      Effect.gen(function*() {
        const server = yield* ModelServer.make
        const report = yield* runScenarios(server, ["malformed-json", "ok"])
        const error = failure(report.results[0]!)
        assert(error._tag === "HttpResponseError")
        assert.strictEqual(error.reason, "Decode")
        assert.strictEqual(error.response.status, 200)
        assert.strictEqual(report.results[1]!._tag, "Succeeded")
      }))

    it.scopedLive("an answer that does not fit the schema, or is not JSON: MalformedOutput", () =>
      Effect.gen(function*() {
        const server = yield* ModelServer.make
        const report = yield* runScenarios(server, ["off-schema", "not-json", "ok"])
        for (const result of report.results.slice(0, 2)) {
          const error = failure(result)
          assert(AiError.isAiError(error) && error._tag === "MalformedOutput", String(error))
          assert.strictEqual(error.description, "Generated object failed to conform to provided schema")
        }
        assert.strictEqual(report.results[2]!._tag, "Succeeded")
      }))

    it.scopedLive("a body of the wrong shape: MalformedOutput", () =>
      Effect.gen(function*() {
        const server = yield* ModelServer.make
        const error = yield* LanguageModel.generateText({ prompt: "scenario=wrong-shape" }).pipe(
          Effect.provide(modelLayer(server)),
          Effect.flip
        )
        assert.strictEqual(error._tag, "MalformedOutput")
      }))

    it.scopedLive("a connection refused: an HttpRequestError of reason Transport", () =>
      Effect.gen(function*() {
        const error = yield* LanguageModel.generateText({ prompt: "hi" }).pipe(
          Effect.provide(
            ChatCompletionsLanguageModel.layer({ model: "m", baseUrl: "http://127.0.0.1:9/v1" }).pipe(
              Layer.provide(NodeHttpClient.layerUndici)
            )
          ),
          Effect.flip
        )
        assert(error._tag === "HttpRequestError")
        assert.strictEqual(error.reason, "Transport")
      }))

    it.scopedLive("every outcome in one run: each task keeps its own, in input order", () =>
      Effect.gen(function*() {
        const server = yield* ModelServer.make
        const report = yield* runScenarios(server, [
          "ok",
          "rate-limited",
          "server-error",
          "hang",
          "malformed-json",
          "off-schema",
          "not-json"
        ])
        assert.deepStrictEqual(
          report.results.map((result) =>
            result._tag === "Failed"
              ? `${result.taskId}: ${(failure(result) as AiError.AiError)._tag}`
              : `${result.taskId}: ${result._tag}`
          ),
          [
            "ok: Succeeded",
            "rate-limited: HttpResponseError",
            "server-error: HttpResponseError",
            "hang: TimedOut",
            "malformed-json: HttpResponseError",
            "off-schema: MalformedOutput",
            "not-json: MalformedOutput"
          ]
        )
        assert.deepStrictEqual(report.summary, { total: 7, succeeded: 1, failed: 5, timedOut: 1, interrupted: 0 })
      }))
  })

  it.effect("rejects tools and non-text parts with MalformedInput, before any request", () =>
    Effect.gen(function*() {
      const error = yield* LanguageModel.generateText({
        prompt: [{ role: "user", content: [{ type: "file", mediaType: "image/png", data: new Uint8Array([1]) }] }]
      }).pipe(Effect.flip)
      assert.strictEqual(error._tag, "MalformedInput")
    }).pipe(
      Effect.provide(
        ChatCompletionsLanguageModel.layer({ model: "m", baseUrl: "http://127.0.0.1:9/v1" }).pipe(
          Layer.provide(NodeHttpClient.layerUndici)
        )
      )
    ))
})
