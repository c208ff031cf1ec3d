import type { AiError } from "@effect/ai"
import { LanguageModel, Response, Telemetry } from "@effect/ai"
import { NodeHttpClient } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Chunk, Effect, Layer, Option, Redacted, Stream } from "effect"
import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import * as ChatCompletionsLanguageModel from "../../../services/models/ChatCompletionsLanguageModel.js"
import * as InternalLanguageModel from "../../../services/models/internal/languageModel.js"
import * as LanguageModelAgent from "../../../services/models/LanguageModelAgent.js"
import * as Executor from "../../../src/Executor.js"
import * as Task from "../../../src/Task.js"
import * as TaskResult from "../../../src/TaskResult.js"
import * as Usage from "../../../src/Usage.js"
import * as GenAI from "../genAI.js"
import * as ModelServer from "../modelServer.js"
import * as TestMeter from "../testMeter.js"
import * as WireFormat from "../wireFormat.js"
import { type Doc, failure, Label } from "../wireFormat.js"

// Real HTTP against a real server on 127.0.0.1, so these tests run on the live clock; each takes milliseconds.

const modelLayer = (server: ModelServer.ModelServer, apiKey?: string) =>
  ChatCompletionsLanguageModel.layer({
    model: "llama-test",
    baseUrl: server.baseUrl,
    apiKey: apiKey === undefined ? undefined : Redacted.make(apiKey),
    parameters: { temperature: 0 }
  }).pipe(Layer.provide(NodeHttpClient.layerUndici))

const runScenarios = (
  server: ModelServer.ModelServer,
  scenarios: ReadonlyArray<ModelServer.Scenario>,
  apiKey?: string
) => WireFormat.runScenarios(modelLayer(server, apiKey), scenarios)

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

  WireFormat.failureSuite({
    model: (server) => modelLayer(server),
    modelName: "llama-test",
    malformed: ["off-schema", "not-json"]
  })

  describe("more failures", () => {
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

  // A server on 127.0.0.1 that answers the requests with `bodies` in turn, each twice.
  const bodiesServer = (bodies: ReadonlyArray<unknown>) =>
    Effect.acquireRelease(
      Effect.async<Http.Server>((resume) => {
        let next = 0
        const server = Http.createServer((request, response) => {
          request.resume()
          request.on("end", () => {
            response.writeHead(200, { "content-type": "application/json" })
            response.end(JSON.stringify(bodies[Math.floor(next++ / 2) % bodies.length]))
          })
        })
        server.listen(0, "127.0.0.1", () => resume(Effect.succeed(server)))
      }),
      (server) =>
        Effect.async<void>((resume) => {
          server.close(() => resume(Effect.void))
        })
    )

  it.scopedLive("the parts it makes for agents are those its encoded answer decodes to", () =>
    Effect.gen(function*() {
      const bodies = [
        {
          id: "chatcmpl-1",
          model: "llama-test",
          created: 1_700_000_000,
          choices: [{
            message: { content: "the answer", reasoning_content: "thinking", refusal: null },
            finish_reason: "length"
          }],
          usage: {
            prompt_tokens: 11,
            completion_tokens: 7,
            prompt_tokens_details: { cached_tokens: 3 },
            completion_tokens_details: { reasoning_tokens: 2 }
          }
        },
        // No metadata, no content, no usage.
        { choices: [{ message: { content: null }, finish_reason: null }] },
        {
          id: null,
          model: null,
          created: 1_700_000_000.1234,
          choices: [{ message: { content: "", reasoning_content: "" }, finish_reason: "content_filter" }],
          usage: {
            prompt_tokens: 1,
            completion_tokens: 0,
            prompt_tokens_details: null,
            completion_tokens_details: null
          }
        },
        // A `created` that is no date: no timestamp, on both paths.
        { created: 1e20, choices: [{ message: { content: "late" }, finish_reason: "tool_calls" }] }
      ]
      const server = yield* bodiesServer(bodies)
      const model = yield* ChatCompletionsLanguageModel.make({
        model: "llama-test",
        baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`,
        parameters: { temperature: 0.5, top_p: 0.9, max_tokens: 100, seed: 7 }
      })
      const seen: Array<ReadonlyArray<Response.AnyPart>> = []
      const spans: Array<ReadonlyMap<string, unknown>> = []
      const transformer: Telemetry.SpanTransformer = ({ response, span }) => {
        seen.push(response)
        spans.push(span.attributes)
      }
      for (let i = 0; i < bodies.length; i++) {
        // `LanguageModel`'s own method decodes what `generateText` encodes; the agents' path takes the parts as made.
        yield* Effect.provideService(
          model.generateText({ prompt: "hello" }),
          Telemetry.CurrentSpanTransformer,
          transformer
        )
        yield* Effect.provideService(
          InternalLanguageModel.generateText(model, { prompt: "hello" }),
          Telemetry.CurrentSpanTransformer,
          transformer
        )
      }
      assert.strictEqual(seen.length, 2 * bodies.length)
      for (let i = 0; i < bodies.length; i++) assert.deepStrictEqual(seen[2 * i + 1], seen[2 * i], `body ${i}`)
      const [metadata, reasoning, text, finish] = seen[1]!
      assert(metadata?.type === "response-metadata" && Option.isSome(metadata.timestamp))
      assert.strictEqual(metadata.timestamp.value.epochMillis, 1_700_000_000_000)
      assert.deepStrictEqual([reasoning?.type, text?.type], ["reasoning", "text"])
      assert(finish?.type === "finish")
      assert.instanceOf(finish.usage, Response.Usage)
      assert.deepStrictEqual({ ...finish.usage }, {
        inputTokens: 11,
        outputTokens: 7,
        totalTokens: 18,
        reasoningTokens: 2,
        cachedInputTokens: 3
      })
      // Each span has the attributes `Telemetry.addGenAIAnnotations` gives, as the model's requests and answers
      // have them.
      const expected = GenAI.expected({
        system: "openai_compatible",
        operation: { name: "chat" },
        request: { model: "llama-test", temperature: 0.5, topP: 0.9, maxTokens: 100, seed: 7 }
      }, {
        response: { id: "chatcmpl-1", model: "llama-test", finishReasons: ["length"] },
        usage: { inputTokens: 11, outputTokens: 7 }
      })
      for (const attributes of spans.slice(0, 2)) assert.deepStrictEqual(GenAI.of(attributes), expected)
      const late = seen[7]![0]
      assert(late?.type === "response-metadata")
      assert.isTrue(Option.isNone(late.timestamp))
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))

  it.scopedLive("a usage that is not a count (a negative number of tokens) is left out of the task's usage", () =>
    Effect.gen(function*() {
      const server = yield* bodiesServer([{
        model: "llama-test",
        choices: [{ message: { content: "fine" }, finish_reason: "stop" }],
        usage: { prompt_tokens: -1_000_000, completion_tokens: 5 }
      }])
      const report = yield* Executor.run(
        [Task.make({ id: "a", input: "hello" })],
        LanguageModelAgent.factory({ name: "hostile-usage", prompt: (text: string) => text }),
        { budget: { tokens: 100 } }
      ).pipe(
        Effect.provide(Layer.merge(
          Executor.layer(),
          ChatCompletionsLanguageModel.layer({
            model: "llama-test",
            baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`
          }).pipe(Layer.provide(NodeHttpClient.layerUndici))
        ))
      )
      const [result] = report.results
      assert(TaskResult.isSucceeded(result!))
      // Counted, it would have given the budget a million tokens of room it does not have.
      assert.deepStrictEqual([result.usage.inputTokens, result.usage.outputTokens], [0, 5])
      assert.strictEqual(report.stats.budget!.used.inputTokens, 0)
    }))
})
