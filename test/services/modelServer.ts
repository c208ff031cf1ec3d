/**
 * A model provider for tests: a real HTTP server on 127.0.0.1, built with @effect/platform's `HttpServer`, that
 * speaks OpenAI's Responses API (`POST /responses`) and the chat-completions format (`POST /chat/completions`,
 * streamed or not). What it does with a request is chosen by a `scenario=<name>` anywhere in the request body, so a
 * test picks each task's fate through its prompt.
 */
import { HttpServer, HttpServerError, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { NodeHttpServer, NodeHttpServerRequest } from "@effect/platform-node"
import type { Duration, Scope } from "effect"
import { Deferred, Effect, HashSet, Ref, Stream } from "effect"
import { createServer } from "node:http"

/**
 * - `ok`: an answer: for structured output, JSON that fits the requested schema (the first value of each enum,
 *   `"A fine answer."` for each string); a sentence otherwise
 * - `rate-limited`: 429 with `Retry-After: 2` and an OpenAI-style error body
 * - `rate-limited-once`: 429 the first time a body is seen, then `ok`; its Retry-After is `retryAfterOnce` seconds
 * - `server-error`: 500
 * - `hang`: never answers; the server records when the client closes the connection
 * - `malformed-json`: 200 with a body that is not JSON
 * - `off-schema`: an answer that is JSON but does not fit the requested schema (`{"label":"maybe"}`)
 * - `not-json`: an answer that is not JSON at all, where JSON was asked for
 * - `wrong-shape`: 200 with JSON that is not a response of the wire format
 * - `unauthorized`: 401, its message quoting the bearer token it was sent, as a careless server might
 * - `rate-limited-long`: 429 with `Retry-After: 86400` (a day)
 * - `bad-gateway`: 502 with an HTML page, as a proxy in front of the model sends
 * - `hang-mid-body`: 200 and the start of a body, then nothing, the connection left open
 * - `reset`: the connection is destroyed without an answer
 * - `hostile-error`: 500 whose message holds terminal control sequences (clear the screen, set the title, a bell,
 *   a line break and a forged `line N:` report)
 */
export type Scenario =
  | "ok"
  | "rate-limited"
  | "rate-limited-once"
  | "server-error"
  | "hang"
  | "malformed-json"
  | "off-schema"
  | "not-json"
  | "wrong-shape"
  | "unauthorized"
  | "rate-limited-long"
  | "bad-gateway"
  | "hang-mid-body"
  | "reset"
  | "hostile-error"

export interface Received {
  /** When the request arrived, in milliseconds since the epoch. */
  readonly at: number
  readonly path: string
  readonly authorization: string | undefined
  readonly body: Record<string, unknown>
}

export interface ModelServer {
  /** `http://127.0.0.1:<port>/v1` */
  readonly baseUrl: string
  /** The requests received so far, in arrival order. */
  readonly received: Effect.Effect<ReadonlyArray<Received>>
  /** Completed when the client of a `hang` request closed its connection; holds whether the client aborted it. */
  readonly hangClosed: Deferred.Deferred<boolean>
  /** Resolves when a `hang` request has arrived. */
  readonly hangArrived: Deferred.Deferred<void>
  /** The TCP connections the server has accepted so far. */
  readonly connections: Effect.Effect<number>
}

export interface Options {
  /** How long the server takes to answer each request that it answers. */
  readonly latency?: Duration.DurationInput | undefined
}

/**
 * The Retry-After of `rate-limited-once`, in seconds. Providers send whole seconds; a fraction keeps the tests fast,
 * and the engine reads both.
 */
export const retryAfterOnce = 0.15

/** Input and output tokens the server reports for every answer. */
export const usage = { input: 21, output: 5 } as const

/** A value that fits a JSON schema: the first of an enum, "A fine answer." for a string, 1, true, []. */
const fitting = (schema: unknown): unknown => {
  const node = (typeof schema === "object" && schema !== null ? schema : {}) as Record<string, unknown>
  if (Array.isArray(node.enum)) return node.enum[0]
  if (Array.isArray(node.anyOf)) return fitting(node.anyOf[0])
  switch (node.type) {
    case "object":
      return Object.fromEntries(
        Object.entries((node.properties ?? {}) as Record<string, unknown>).map(([key, value]) => [key, fitting(value)])
      )
    case "array":
      return []
    case "number":
    case "integer":
      return 1
    case "boolean":
      return true
    default:
      return "A fine answer."
  }
}

/** The JSON schema a request asks its answer to fit, if it asks for structured output. */
const requestedSchema = (body: Record<string, unknown>, responses: boolean): unknown =>
  responses
    ? (body.text as { format?: { type?: string; schema?: unknown } } | undefined)?.format?.schema
    : (body.response_format as { json_schema?: { schema?: unknown } } | undefined)?.json_schema?.schema

const answerOf = (scenario: Scenario, schema: unknown): string =>
  scenario === "off-schema"
    ? JSON.stringify({ label: "maybe" })
    : scenario === "not-json"
    ? "Sure! The label is positive."
    : schema !== undefined
    ? JSON.stringify(fitting(schema))
    : "A fine answer."

const responsesBody = (text: string, model: string) => ({
  id: "resp_test",
  object: "response",
  created_at: 1_700_000_000,
  status: "completed",
  error: null,
  incomplete_details: null,
  instructions: null,
  metadata: {},
  model,
  output: [{
    type: "message",
    id: "msg_test",
    status: "completed",
    role: "assistant",
    content: [{ type: "output_text", text, annotations: [] }]
  }],
  parallel_tool_calls: true,
  temperature: 1,
  top_p: 1,
  tool_choice: "auto",
  tools: [],
  usage: {
    input_tokens: usage.input,
    output_tokens: usage.output,
    total_tokens: usage.input + usage.output,
    input_tokens_details: { cached_tokens: 0 },
    output_tokens_details: { reasoning_tokens: 0 }
  }
})

const chatBody = (text: string, model: string) => ({
  id: "chatcmpl-test",
  object: "chat.completion",
  created: 1_700_000_000,
  model,
  choices: [{ index: 0, message: { role: "assistant", content: text }, finish_reason: "stop" }],
  usage: { prompt_tokens: usage.input, completion_tokens: usage.output, total_tokens: usage.input + usage.output }
})

const chatStream = (text: string, model: string) => {
  const chunk = (fields: Record<string, unknown>) =>
    `data: ${
      JSON.stringify({ id: "chatcmpl-test", object: "chat.completion.chunk", created: 1_700_000_000, model, ...fields })
    }\n\n`
  const words = text.match(/\s*\S+/g) ?? []
  const events = [
    chunk({ choices: [{ index: 0, delta: { role: "assistant", content: "" }, finish_reason: null }] }),
    ...words.map((word) => chunk({ choices: [{ index: 0, delta: { content: word }, finish_reason: null }] })),
    chunk({ choices: [{ index: 0, delta: {}, finish_reason: "stop" }] }),
    chunk({
      choices: [],
      usage: { prompt_tokens: usage.input, completion_tokens: usage.output, total_tokens: usage.input + usage.output }
    }),
    ": keep-alive comment\n\n",
    "data: [DONE]\n\n"
  ]
  return HttpServerResponse.stream(Stream.encodeText(Stream.fromIterable(events)), {
    contentType: "text/event-stream"
  })
}

const errorBody = (message: string, type: string) => ({ error: { message, type, param: null, code: type } })

/** Starts the server for the scope, answering after `latency` (at once by default). */
export const makeWith = (options: Options): Effect.Effect<ModelServer, never, Scope.Scope> =>
  Effect.gen(function*() {
    const received = yield* Ref.make<ReadonlyArray<Received>>([])
    const seen = yield* Ref.make(HashSet.empty<string>())
    const hangClosed = yield* Deferred.make<boolean>()
    const hangArrived = yield* Deferred.make<void>()

    const app = Effect.gen(function*() {
      const request = yield* HttpServerRequest.HttpServerRequest
      const raw = yield* request.text
      const body = JSON.parse(raw) as Record<string, unknown>
      const path = request.url
      const at = Date.now()
      yield* Ref.update(received, (all) => [...all, { at, path, authorization: request.headers.authorization, body }])
      const scenario = (raw.match(/scenario=([a-z-]+)/)?.[1] ?? "ok") as Scenario
      const model = typeof body.model === "string" ? body.model : "unknown"
      const responses = path.endsWith("/responses")
      const schema = requestedSchema(body, responses)

      switch (scenario) {
        case "rate-limited":
          return yield* HttpServerResponse.json(errorBody("Rate limit reached for requests", "rate_limit_exceeded"), {
            status: 429,
            headers: { "retry-after": "2" }
          })
        case "rate-limited-once": {
          const first = !HashSet.has(yield* Ref.get(seen), raw)
          yield* Ref.update(seen, HashSet.add(raw))
          if (first) {
            return yield* HttpServerResponse.json(errorBody("Rate limit reached for requests", "rate_limit_exceeded"), {
              status: 429,
              headers: { "retry-after": String(retryAfterOnce) }
            })
          }
          break
        }
        case "server-error":
          return yield* HttpServerResponse.json(errorBody("The server had an error", "server_error"), { status: 500 })
        case "hang":
          yield* Deferred.succeed(hangArrived, void 0)
          return yield* Effect.never.pipe(
            Effect.onInterrupt((interruptors) =>
              Deferred.succeed(hangClosed, HashSet.has(interruptors, HttpServerError.clientAbortFiberId))
            )
          )
        case "wrong-shape":
          return yield* HttpServerResponse.json({ unexpected: true })
        case "unauthorized":
          return yield* HttpServerResponse.json(
            errorBody(`Incorrect API key provided: ${request.headers.authorization ?? "none"}`, "invalid_api_key"),
            { status: 401 }
          )
        case "rate-limited-long":
          return yield* HttpServerResponse.json(errorBody("Rate limit reached for requests", "rate_limit_exceeded"), {
            status: 429,
            headers: { "retry-after": "86400" }
          })
        case "bad-gateway":
          return HttpServerResponse.text(
            "<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>",
            { status: 502, contentType: "text/html" }
          )
        case "hang-mid-body":
          return HttpServerResponse.stream(
            Stream.concat(
              Stream.encodeText(Stream.make(`{"id": "resp_test", "object": "response", "output": [`)),
              Stream.never
            ),
            { contentType: "application/json" }
          )
        case "reset":
          yield* Effect.sync(() => NodeHttpServerRequest.toIncomingMessage(request).socket.destroy())
          return yield* Effect.never
        case "hostile-error":
          return yield* HttpServerResponse.json(
            errorBody("\u001b[2J\u001b]0;pwned\u0007server trouble\r\nline 99: bad input: forged", "server_error"),
            { status: 500 }
          )
        case "malformed-json":
          return HttpServerResponse.text(`{"id": "truncated", "choices": [`, { contentType: "application/json" })
      }
      const text = answerOf(scenario, schema)
      if (options.latency !== undefined) yield* Effect.sleep(options.latency)
      if (!responses && body.stream === true) return chatStream(text, model)
      return yield* HttpServerResponse.json(responses ? responsesBody(text, model) : chatBody(text, model))
    }).pipe(
      Effect.orDie,
      // @effect/platform runs handlers uninterruptibly unless they opt in; a server that stops work for a client
      // that went away, as model servers do, opts in.
      Effect.interruptible
    )

    let connections = 0
    const server = yield* NodeHttpServer.make(
      () => createServer().on("connection", () => connections++),
      { port: 0, host: "127.0.0.1" }
    ).pipe(Effect.orDie)
    yield* HttpServer.serveEffect(app).pipe(Effect.provideService(HttpServer.HttpServer, server))
    const address = server.address as HttpServer.TcpAddress
    return {
      baseUrl: `http://127.0.0.1:${address.port}/v1`,
      received: Ref.get(received),
      hangClosed,
      hangArrived,
      connections: Effect.sync(() => connections)
    }
  })

/** Starts the server for the scope. */
export const make: Effect.Effect<ModelServer, never, Scope.Scope> = makeWith({})
