/**
 * Where an `openai:` call's CPU goes, in one process, with no server: `node build/bench/w6/responses.js <probe>
 * [calls]` prints the CPU per call of one probe (one probe a process, so that each pays its own compilation and
 * garbage). The HTTP client is `ModelHttpClient`'s over a dispatcher that answers at once with the body the W6
 * server sends (no socket), so what is left is the client's and the model's own work.
 *
 * - `call`: the `classify` agent's `generateObject` through `OpenAiLanguageModel` and the generated client, as
 *   `openai:` makes it
 * - `create`: the generated client's `createResponse` alone
 * - `http`: the request `createResponse` sends, through the same `HttpClient`, and the body's `JSON.parse`
 * - `decode-effect`, `decode-either`, `decode-json`: a response body's `JSON.parse`, then `Generated.Response`
 *   decoded with `Schema.decodeUnknown` (as `schemaBodyJson` does), with `Schema.decodeUnknownEither`, or not at all
 * - `json-schema`: the JSON schema of the output schema, as `OpenAiLanguageModel` derives it for every request
 */
import * as Generated from "@effect/ai-openai/Generated"
import * as OpenAiClient from "@effect/ai-openai/OpenAiClient"
import * as OpenAiLanguageModel from "@effect/ai-openai/OpenAiLanguageModel"
import * as LanguageModel from "@effect/ai/LanguageModel"
import * as Prompt from "@effect/ai/Prompt"
import * as Tool from "@effect/ai/Tool"
import type * as Undici from "@effect/platform-node/Undici"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import { Classification } from "../../services/models/AgentRegistry.js"
import { redactOpenAiClient } from "../../services/models/internal/redaction.js"
import * as UndiciClient from "../../services/models/internal/undiciClient.js"
import { MODEL, prompt, SYSTEM } from "./rows.js"
import { responsesBody } from "./server.js"

const [probe, callsArg] = process.argv.slice(2)
const calls = Number(callsArg ?? 20_000)

// The W6 server's answer.
const body = (n: number) => JSON.stringify(responsesBody("{\"label\":\"positive\"}", MODEL, 151, 5, n))

let n = 0
// A dispatcher that answers every request at once, as undici's does once the response has arrived.
const dispatcher = {
  request: () =>
    Promise.resolve({
      statusCode: 200,
      headers: { "content-type": "application/json" },
      body: { on: () => {}, text: () => Promise.resolve(body(n++)) }
    })
} as unknown as Undici.Dispatcher
const http = UndiciClient.make(dispatcher)
const options = { apiKey: Redacted.make("sk-w6"), apiUrl: "http://127.0.0.1:9/v1" }

// The client as `internal/openAi.ts` makes it.
const client = Effect.map(OpenAiClient.make(options), (generated) => redactOpenAiClient(generated, options.apiKey))
  .pipe(Effect.provideService(HttpClient.HttpClient, http))

// The request as the generated client's `mapRequest` makes it, but for its body.
const responses = HttpClientRequest.post("/responses").pipe(
  HttpClientRequest.prependUrl(options.apiUrl),
  HttpClientRequest.bearerToken(options.apiKey),
  HttpClientRequest.acceptJson
)

const perCall = <A, E>(call: (i: number) => Effect.Effect<A, E>) =>
  Effect.gen(function*() {
    for (let i = 0; i < 3_000; i++) yield* call(i)
    const start = process.cpuUsage()
    for (let i = 0; i < calls; i++) yield* call(i)
    const used = process.cpuUsage(start)
    console.log(`${probe}: ${((used.user + used.system) / calls).toFixed(1)} µs of CPU per call`)
  })

const request: typeof Generated.CreateResponse.Encoded = {
  model: MODEL,
  input: [{ role: "user", content: [{ type: "input_text", text: prompt("document 1") }] }],
  text: {
    format: {
      type: "json_schema",
      name: "Classification",
      schema: Tool.getJsonSchemaFromSchemaAst(Classification.ast) as unknown as Record<string, unknown>,
      strict: true
    }
  }
}

const probes: Record<string, Effect.Effect<void, unknown, Scope.Scope>> = {
  "call": Effect.suspend(() => callProbe),
  "create": Effect.flatMap(client, (c) => perCall(() => c.createResponse(request))),
  "http": perCall(() =>
    Effect.flatMap(
      http.execute(HttpClientRequest.bodyUnsafeJson(responses, request)),
      (response) => response.json
    )
  ),
  "decode-effect": perCall((i) => Schema.decodeUnknown(Generated.Response)(JSON.parse(body(i)))),
  "decode-either": perCall((i) => Schema.decodeUnknownEither(Generated.Response)(JSON.parse(body(i)))),
  "decode-json": perCall((i) => Effect.sync(() => JSON.parse(body(i)) as unknown)),
  "json-schema": perCall(() => Effect.sync(() => Tool.getJsonSchemaFromSchemaAst(Classification.ast)))
}

const callProbe = Effect.gen(function*() {
  const model = yield* LanguageModel.LanguageModel
  const system = Prompt.makeMessage("system", { content: SYSTEM })
  yield* perCall((i) =>
    model.generateObject({
      // A prompt already made, as the agent gives it (a raw one would be decoded by `Prompt.make` on every call).
      prompt: Prompt.fromMessages([
        system,
        Prompt.makeMessage("user", { content: [Prompt.makePart("text", { text: prompt(`document ${i}`) })] })
      ]),
      schema: Classification
    })
  )
}).pipe(
  Effect.provide(
    OpenAiLanguageModel.layer({ model: MODEL }).pipe(
      Layer.provide(Layer.scoped(OpenAiClient.OpenAiClient, client))
    )
  )
)

const run = probe === undefined ? undefined : probes[probe]
if (run === undefined) {
  throw new Error(`usage: node build/bench/w6/responses.js <${Object.keys(probes).join("|")}> [calls]`)
}
await Effect.runPromise(Effect.scoped(run))
