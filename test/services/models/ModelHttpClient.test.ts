import { HttpBody, HttpClient, HttpClientRequest, UrlParams } from "@effect/platform"
import { assert, describe, it } from "@effect/vitest"
import type { ConfigError } from "effect"
import { Chunk, Context, Effect, Exit, Fiber, Layer, Option, Redacted, Stream } from "effect"
import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import * as AgentModel from "../../../services/models/AgentModel.js"
import * as ModelHttpClient from "../../../services/models/ModelHttpClient.js"
import * as Executor from "../../../src/Executor.js"
import * as Task from "../../../src/Task.js"
import * as TaskResult from "../../../src/TaskResult.js"
import * as ModelServer from "../modelServer.js"
import * as WireFormat from "../wireFormat.js"
import { classifier, type Doc } from "../wireFormat.js"

// Connection reuse, against a real server on 127.0.0.1 that counts the TCP connections it accepts and answers
// each request after 20 ms, so that every agent of a run has a call in flight at once. Live clock.

const concurrency = 8
const tasks = 64

const runOver = (
  provider: "openai" | "compat",
  server: ModelServer.ModelServer,
  client: Layer.Layer<HttpClient.HttpClient, ConfigError.ConfigError>
) =>
  Executor.run(
    Array.from({ length: tasks }, (_, i) =>
      Task.make<Doc>({ id: String(i), input: { scenario: "ok", text: `doc ${i}` } })),
    classifier,
    { concurrency, timeout: "30 seconds" }
  ).pipe(
    Effect.provide(Layer.merge(
      Executor.layer(),
      AgentModel.layer({ model: `${provider}:gpt-4o-mini`, apiKey: Redacted.make("sk-test"), baseUrl: server.baseUrl })
        .pipe(Layer.provide(client))
    ))
  )

describe("ModelHttpClient", () => {
  for (const [provider, path] of [["openai", "/v1/responses"], ["compat", "/v1/chat/completions"]] as const) {
    it.scopedLive(
      `${provider}: ${tasks} calls at concurrency ${concurrency} go over at most ${concurrency} kept-alive connections`,
      () =>
        Effect.gen(function*() {
          const server = yield* ModelServer.makeWith({ latency: "20 millis" })
          const report = yield* runOver(provider, server, ModelHttpClient.layer({ connections: concurrency }))
          assert.strictEqual(report.summary.succeeded, tasks, report.results.map(TaskResult.message).join("\n"))
          const received = yield* server.received
          assert.strictEqual(received.length, tasks)
          assert.isTrue(received.every((request) => request.path === path))
          const connections = yield* server.connections
          assert.isAtLeast(connections, 1)
          assert.isAtMost(connections, concurrency, `${connections} connections for ${tasks} calls`)
          // The agents did run side by side: the pool is not a queue of one.
          assert.isAbove(report.stats.peakInFlight, 1)
        })
    )
  }

  it.scopedLive("an unbounded pool keeps its connections alive too: far fewer connections than calls", () =>
    Effect.gen(function*() {
      const server = yield* ModelServer.makeWith({ latency: "20 millis" })
      const report = yield* runOver("compat", server, ModelHttpClient.layer())
      assert.strictEqual(report.summary.succeeded, tasks)
      assert.isAtMost(yield* server.connections, tasks / 2)
    }))

  it.scopedLive("the count is real: a client that closes its connection after each call opens one per call", () =>
    Effect.gen(function*() {
      const server = yield* ModelServer.makeWith({ latency: "20 millis" })
      const closing = Layer.effect(
        HttpClient.HttpClient,
        Effect.map(HttpClient.HttpClient, HttpClient.mapRequest(HttpClientRequest.setHeader("connection", "close")))
      ).pipe(Layer.provide(ModelHttpClient.layer({ connections: concurrency })))
      const report = yield* runOver("compat", server, closing)
      assert.strictEqual(report.summary.succeeded, tasks)
      assert.strictEqual(yield* server.connections, tasks)
    }))

  it.effect("refuses a pool that is not a whole number of 1 or more, and a keep-alive that is not positive", () =>
    Effect.gen(function*() {
      for (const options of [{ connections: 0 }, { connections: 2.5 }, { keepAliveTimeout: "0 millis" as const }]) {
        const exit = yield* Effect.exit(Layer.build(ModelHttpClient.layer(options)).pipe(Effect.scoped))
        assert.isTrue(Exit.isFailure(exit))
        const error = Exit.isFailure(exit) ? exit.cause : undefined
        assert.include(String(error), options.connections === undefined ? "keepAliveTimeout" : "connections")
      }
    }))

  // Every failure of the wire-format suites, over this client: its responses are its own (see `responses` below).
  for (
    const [provider, malformed] of [
      ["openai", ["off-schema", "not-json", "wrong-shape"]],
      ["compat", ["off-schema", "not-json"]]
    ] as const
  ) {
    describe(provider, () => {
      WireFormat.failureSuite({
        model: (server) =>
          AgentModel.layer({
            model: `${provider}:gpt-4o-mini`,
            apiKey: Redacted.make("sk-test"),
            baseUrl: server.baseUrl
          })
            .pipe(Layer.provide(ModelHttpClient.layer({ connections: 4 }))),
        modelName: "gpt-4o-mini",
        malformed
      })
    })
  }

  describe("responses", () => {
    // A server on 127.0.0.1 that echoes what it got: method, path, headers and body; `/cookie` sets two cookies,
    // `/cut` sends part of a body and then drops the connection, `/hang` never answers.
    const echo = Effect.acquireRelease(
      Effect.async<{ readonly url: string; readonly server: Http.Server; readonly aborted: () => number }>((resume) => {
        let aborted = 0
        const server = Http.createServer((request, response) => {
          const chunks: Array<Buffer> = []
          request.on("data", (chunk: Buffer) => chunks.push(chunk))
          request.on("end", () => {
            if (request.url === "/hang") {
              response.on("close", () => aborted++)
              return
            }
            if (request.url === "/cut") {
              response.writeHead(200, { "content-length": "100" })
              response.write("{\"partial\": ")
              setTimeout(() => response.socket?.destroy(), 10)
              return
            }
            const headers: Record<string, string | Array<string>> = {
              "content-type": "application/json",
              "x-echo": "yes"
            }
            if (request.url?.startsWith("/cookie")) headers["set-cookie"] = ["a=1; Path=/", "b=2; Path=/"]
            response.writeHead(201, headers)
            response.end(JSON.stringify({
              method: request.method,
              path: request.url,
              authorization: request.headers.authorization,
              body: Buffer.concat(chunks).toString("utf8")
            }))
          })
        })
        server.listen(0, "127.0.0.1", () =>
          resume(Effect.succeed({
            url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
            server,
            aborted: () => aborted
          })))
      }),
      ({ server }) =>
        Effect.async<void>((resume) => {
          server.closeAllConnections()
          server.close(() => resume(Effect.void))
        })
    )
    // The client, its connections closed with the test's scope.
    const client = Effect.map(
      Layer.build(ModelHttpClient.layer({ connections: 2 })),
      (context) => Context.get(context, HttpClient.HttpClient)
    )

    it.scopedLive("status, headers, cookies and a body read as text, JSON, bytes or a stream, each as often as asked", () =>
      Effect.gen(function*() {
        const { url } = yield* echo
        const http = yield* client
        const response = yield* http.execute(
          HttpClientRequest.post(`${url}/cookie?x=1`).pipe(
            HttpClientRequest.bearerToken("sk-echo"),
            HttpClientRequest.bodyUnsafeJson({ hello: "world" })
          )
        )
        assert.strictEqual(response.status, 201)
        assert.strictEqual(response.headers["x-echo"], "yes")
        assert.deepStrictEqual(Object.keys(response.cookies.cookies).sort(), ["a", "b"])
        assert.isTrue(Option.isNone(response.remoteAddress))
        const expected = {
          method: "POST",
          path: "/cookie?x=1",
          authorization: "Bearer sk-echo",
          body: `{"hello":"world"}`
        }
        // The body is read once; every later read of the same kind gets the same answer.
        assert.deepStrictEqual(yield* response.json, expected)
        assert.deepStrictEqual(yield* response.json, expected)
        assert.strictEqual(yield* response.text, JSON.stringify(expected))
        const bytes = yield* http.execute(HttpClientRequest.get(`${url}/bytes`)).pipe(
          Effect.flatMap((response) => response.arrayBuffer)
        )
        assert.deepStrictEqual(JSON.parse(new TextDecoder().decode(bytes)).path, "/bytes")
        const streamed = yield* http.execute(
          HttpClientRequest.put(`${url}/stream`).pipe(
            HttpClientRequest.setBody(HttpBody.stream(Stream.make(new TextEncoder().encode("in pieces"))))
          )
        ).pipe(
          Effect.flatMap((response) => Stream.runCollect(Stream.decodeText(response.stream)))
        )
        assert.deepStrictEqual(JSON.parse(Chunk.join(streamed, "")), {
          method: "PUT",
          path: "/stream",
          body: "in pieces"
        })
        const form = yield* http.execute(
          HttpClientRequest.post(`${url}/form`).pipe(HttpClientRequest.bodyUrlParams(UrlParams.fromInput({ q: "a b" })))
        ).pipe(Effect.flatMap((response) => response.json))
        assert.strictEqual((form as { body: string }).body, "q=a+b")
      }))

    it.scopedLive("a body cut short is a ResponseError of reason Decode; a server that is not there a RequestError", () =>
      Effect.gen(function*() {
        const { url } = yield* echo
        const http = yield* client
        const cut = yield* http.execute(HttpClientRequest.get(`${url}/cut`)).pipe(
          Effect.flatMap((response) => response.text),
          Effect.flip
        )
        assert.strictEqual(cut._tag, "ResponseError")
        assert(cut._tag === "ResponseError")
        assert.strictEqual(cut.reason, "Decode")
        const refused = yield* http.execute(HttpClientRequest.get("http://127.0.0.1:9/nothing")).pipe(Effect.flip)
        assert.strictEqual(refused._tag, "RequestError")
        assert(refused._tag === "RequestError")
        assert.strictEqual(refused.reason, "Transport")
      }))

    it.scopedLive("an interrupted call aborts its request", () =>
      Effect.gen(function*() {
        const { aborted, url } = yield* echo
        const http = yield* client
        const fiber = yield* Effect.fork(http.execute(HttpClientRequest.get(`${url}/hang`)))
        yield* Effect.sleep("100 millis")
        yield* Fiber.interrupt(fiber)
        for (let i = 0; i < 100 && aborted() === 0; i++) yield* Effect.sleep("20 millis")
        assert.strictEqual(aborted(), 1)
      }))
  })
})
