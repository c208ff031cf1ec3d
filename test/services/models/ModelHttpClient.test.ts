import { HttpClient, HttpClientRequest } from "@effect/platform"
import { assert, describe, it } from "@effect/vitest"
import type { ConfigError } from "effect"
import { Effect, Exit, Layer, Redacted } from "effect"
import * as AgentModel from "../../../services/models/AgentModel.js"
import * as ModelHttpClient from "../../../services/models/ModelHttpClient.js"
import * as Executor from "../../../src/Executor.js"
import * as Task from "../../../src/Task.js"
import * as TaskResult from "../../../src/TaskResult.js"
import * as ModelServer from "../modelServer.js"
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
})
