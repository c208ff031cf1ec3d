import * as Generated from "@effect/ai-openai/Generated"
import * as OpenAiClient from "@effect/ai-openai/OpenAiClient"
import * as OpenAiConfig from "@effect/ai-openai/OpenAiConfig"
import { HttpClient, HttpClientRequest } from "@effect/platform"
import { NodeHttpClient } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Context, Effect, Exit, Layer, Redacted, Ref } from "effect"
import { inspect } from "node:util"
import { withCreateResponse } from "../../../../services/models/internal/openAi.js"
import { redactOpenAiClient } from "../../../../services/models/internal/redaction.js"
import * as ModelHttpClient from "../../../../services/models/ModelHttpClient.js"
import * as ModelServer from "../../modelServer.js"

// The `openai:` client's own `createResponse` against the one `@effect/ai-openai` generates, both over the same
// `HttpClient` to a real server on 127.0.0.1: the same request on the wire, the same decoded response, and for every
// failure the same error, its key redacted.

const key = "sk-test-5f1d3c9a8e7b6d2c4a0f"

const body = (scenario: ModelServer.Scenario): typeof Generated.CreateResponse.Encoded => ({
  model: "gpt-4o-mini",
  input: [{ role: "user", content: [{ type: "input_text", text: `scenario=${scenario} Label this document` }] }],
  text: {
    format: {
      type: "json_schema",
      name: "Label",
      schema: {
        type: "object",
        properties: { label: { type: "string", enum: ["positive", "negative"] } },
        required: ["label"],
        additionalProperties: false
      },
      strict: true
    }
  }
})

interface Sent {
  readonly method: string
  readonly url: string
  readonly headers: Record<string, string>
  readonly body: string
}

const bodyText = (request: HttpClientRequest.HttpClientRequest): string =>
  request.body._tag === "Uint8Array" ? new TextDecoder().decode(request.body.body) : request.body._tag

// Both clients over `http` (with the requests it is given recorded), as `openAi.layer` makes ours.
const clients = (server: ModelServer.ModelServer, http: HttpClient.HttpClient) =>
  Effect.gen(function*() {
    const sent = yield* Ref.make<ReadonlyArray<Sent>>([])
    // Recorded as the client sends it: after every mapping of the request (`transform` on the innermost client).
    const recording = HttpClient.transform(http, (response, request) =>
      Effect.zipRight(
        Ref.update(sent, (all) => [...all, {
          method: request.method,
          url: request.url,
          headers: { ...request.headers },
          body: bodyText(request)
        }]),
        response
      ))
    const options = { apiKey: Redacted.make(key), apiUrl: server.baseUrl }
    const generated = yield* OpenAiClient.make(options).pipe(Effect.provideService(HttpClient.HttpClient, recording))
    return {
      generated: redactOpenAiClient(generated, options.apiKey),
      ours: redactOpenAiClient(withCreateResponse(generated, recording, options), options.apiKey),
      sent: Ref.getAndSet(sent, [])
    }
  })

// An error as a user sees it, but for what differs from one call to the next: the `date` of the response, the trace
// headers of the request (each call its own span), also where a text quotes them, and the socket of a reset.
const perCall = new Set(["date", "b3", "traceparent", "socket"])
const traceIds = (text: string) => text.replace(/[0-9a-f]{32}-[0-9a-f]{16}/g, "<trace>")
const comparable = (error: unknown): unknown => ({
  json: JSON.parse(
    JSON.stringify(
      error,
      (key, value: unknown) => perCall.has(key) ? undefined : typeof value === "string" ? traceIds(value) : value
    )
  ),
  message: traceIds((error as Error).message)
})

const httpClients = [
  ["ModelHttpClient", ModelHttpClient.layer({ connections: 4 })],
  ["NodeHttpClient.layerUndici", NodeHttpClient.layerUndici]
] as const

const scenarios: ReadonlyArray<ModelServer.Scenario> = [
  "ok",
  "rate-limited",
  "server-error",
  "malformed-json",
  "wrong-shape",
  "unauthorized",
  "bad-gateway",
  "hostile-error",
  "reset"
]

describe("openAi createResponse", () => {
  for (const [name, httpLayer] of httpClients) {
    it.scopedLive(`over ${name}: the same request, answer and errors as the generated client's, for each scenario`, () =>
      Effect.gen(function*() {
        const server = yield* ModelServer.make
        const http = Context.get(yield* Layer.build(httpLayer), HttpClient.HttpClient)
        const { generated, ours, sent } = yield* clients(server, http)
        for (const scenario of scenarios) {
          const expected = yield* Effect.exit(generated.createResponse(body(scenario)))
          const [sentByGenerated] = yield* sent
          const actual = yield* Effect.exit(ours.createResponse(body(scenario)))
          const [sentByOurs] = yield* sent
          // The same method, URL, headers (token, Accept, content type and length) and bytes.
          assert.deepStrictEqual(sentByOurs, sentByGenerated, scenario)
          assert.strictEqual(actual._tag, expected._tag, scenario)
          if (Exit.isSuccess(actual) && Exit.isSuccess(expected)) {
            assert.instanceOf(actual.value, Generated.Response)
            assert.deepStrictEqual(actual.value, expected.value, scenario)
          } else if (Exit.isFailure(actual) && Exit.isFailure(expected)) {
            const error = actual.cause._tag === "Fail" ? actual.cause.error : undefined
            assert.isDefined(error, `${scenario}: ${actual.cause._tag}`)
            assert.deepStrictEqual(
              comparable(error),
              comparable(expected.cause._tag === "Fail" ? expected.cause.error : undefined),
              scenario
            )
            for (const text of [JSON.stringify(error), String(error), inspect(error, { depth: 10 })]) {
              assert.notInclude(text, key, scenario)
            }
          }
        }
        assert.deepStrictEqual(
          (yield* server.received).map((request) => [request.path, request.authorization]),
          scenarios.flatMap(() => [["/v1/responses", `Bearer ${key}`], ["/v1/responses", `Bearer ${key}`]])
        )
      }))
  }

  it.scopedLive("the errors are those of their kind: status, transport, body", () =>
    Effect.gen(function*() {
      const server = yield* ModelServer.make
      const http = Context.get(yield* Layer.build(ModelHttpClient.layer()), HttpClient.HttpClient)
      const { ours } = yield* clients(server, http)
      const tagOf = (scenario: ModelServer.Scenario) =>
        Effect.flip(ours.createResponse(body(scenario))).pipe(
          Effect.map((error) => [error._tag, "reason" in error ? error.reason : undefined])
        )
      assert.deepStrictEqual(yield* tagOf("server-error"), ["HttpResponseError", "StatusCode"])
      assert.deepStrictEqual(yield* tagOf("malformed-json"), ["HttpResponseError", "Decode"])
      assert.deepStrictEqual(yield* tagOf("wrong-shape"), ["MalformedOutput", undefined])
      assert.deepStrictEqual(yield* tagOf("reset"), ["HttpRequestError", "Transport"])
    }))

  it.scopedLive("a client transform in OpenAiConfig is applied, as the generated client applies it", () =>
    Effect.gen(function*() {
      const server = yield* ModelServer.make
      const http = Context.get(yield* Layer.build(ModelHttpClient.layer()), HttpClient.HttpClient)
      const { ours, sent } = yield* clients(server, http)
      const response = yield* ours.createResponse(body("ok")).pipe(
        OpenAiConfig.withClientTransform(HttpClient.mapRequest(HttpClientRequest.setHeader("x-transformed", "yes")))
      )
      assert.instanceOf(response, Generated.Response)
      const [request] = yield* sent
      assert.strictEqual(request?.headers["x-transformed"], "yes")
      assert.strictEqual(request?.url, `${server.baseUrl}/responses`)
    }))
})
