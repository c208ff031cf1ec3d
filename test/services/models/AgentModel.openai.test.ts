import { NodeHttpClient } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Redacted } from "effect"
import * as AgentModel from "../../../services/models/AgentModel.js"
import * as LanguageModelAgent from "../../../services/models/LanguageModelAgent.js"
import * as TaskResult from "../../../src/TaskResult.js"
import * as Usage from "../../../src/Usage.js"
import * as ModelServer from "../modelServer.js"
import * as TestMeter from "../testMeter.js"
import * as WireFormat from "../wireFormat.js"
import { type Doc, Label } from "../wireFormat.js"

// `AGENT_MODEL=openai:<model>`: @effect/ai-openai over OpenAI's Responses API, against a real HTTP server on
// 127.0.0.1 (`OPENAI_BASE_URL`). Live clock; each test takes milliseconds.

const apiKey = "sk-openai-test-key"

const modelLayer = (server: ModelServer.ModelServer) =>
  AgentModel.layer({ model: "openai:gpt-4o-mini", apiKey: Redacted.make(apiKey), baseUrl: server.baseUrl }).pipe(
    Layer.provide(NodeHttpClient.layerUndici)
  )

const runScenarios = (server: ModelServer.ModelServer, scenarios: ReadonlyArray<ModelServer.Scenario>) =>
  WireFormat.runScenarios(modelLayer(server), scenarios)

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

  WireFormat.failureSuite({
    model: modelLayer,
    modelName: "gpt-4o-mini",
    malformed: ["off-schema", "not-json", "wrong-shape"]
  })
})
