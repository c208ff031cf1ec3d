import { HttpClient } from "@effect/platform"
import { NodeHttpClient } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Context, Effect, Exit, Fiber, Layer, Redacted, Ref, Scope } from "effect"
import * as HttpClientLazy from "../../../../services/cli/internal/httpClient.js"
import * as AgentModel from "../../../../services/models/AgentModel.js"
import * as Executor from "../../../../src/Executor.js"
import * as Task from "../../../../src/Task.js"
import * as TaskResult from "../../../../src/TaskResult.js"
import * as ModelServer from "../../modelServer.js"
import { classifier, type Doc } from "../../wireFormat.js"

// The executable's HTTP client, built on its first request: against a real server on 127.0.0.1, with the client
// it builds (undici) counted as it is built and released. Live clock.

/** undici's client, counting its builds and releases. */
const counted = Effect.gen(function*() {
  const builds = yield* Ref.make(0)
  const releases = yield* Ref.make(0)
  const client = Layer.scopedDiscard(
    Effect.acquireRelease(Ref.update(builds, (n) => n + 1), () => Ref.update(releases, (n) => n + 1))
  ).pipe(Layer.provideMerge(NodeHttpClient.layerUndici))
  return { builds, releases, client }
})

const run = (model: "offline" | "compat:gpt-4o-mini", baseUrl: string, client: Layer.Layer<HttpClient.HttpClient>) =>
  Executor.run(
    Array.from(
      { length: 16 },
      (_, i) => Task.make<Doc>({ id: String(i), input: { scenario: "ok", text: `doc ${i}` } })
    ),
    classifier,
    { concurrency: 8, timeout: "30 seconds" }
  ).pipe(
    Effect.provide(Layer.merge(
      Executor.layer(),
      AgentModel.layer({ model, apiKey: Redacted.make("sk-test"), baseUrl }).pipe(Layer.provide(client))
    ))
  )

describe("HttpClientLazy", () => {
  it.scopedLive("builds its client once, on the first of many calls at once, and releases it with its scope", () =>
    Effect.gen(function*() {
      const server = yield* ModelServer.makeWith({ latency: "20 millis" })
      const { builds, client, releases } = yield* counted
      const scope = yield* Scope.make()
      const context = yield* Layer.buildWithScope(HttpClientLazy.lazy(client), scope)
      assert.strictEqual(yield* Ref.get(builds), 0, "built before any request")
      const lazyClient = Layer.succeedContext(context)
      const report = yield* run("compat:gpt-4o-mini", server.baseUrl, lazyClient)
      assert.strictEqual(report.summary.succeeded, 16, report.results.map(TaskResult.message).join("\n"))
      assert.strictEqual((yield* server.received).length, 16)
      assert.strictEqual(yield* Ref.get(builds), 1)
      // A second run reuses it.
      const again = yield* run("compat:gpt-4o-mini", server.baseUrl, lazyClient)
      assert.strictEqual(again.summary.succeeded, 16)
      assert.strictEqual(yield* Ref.get(builds), 1)
      assert.strictEqual(yield* Ref.get(releases), 0)
      yield* Scope.close(scope, Exit.void)
      assert.strictEqual(yield* Ref.get(releases), 1)
    }))

  it.scopedLive("a run on the offline model never builds it", () =>
    Effect.gen(function*() {
      const { builds, client, releases } = yield* counted
      const report = yield* run("offline", "http://127.0.0.1:9/v1", HttpClientLazy.lazy(client))
      assert.strictEqual(report.summary.succeeded, 16)
      assert.strictEqual(yield* Ref.get(builds), 0)
      assert.strictEqual(yield* Ref.get(releases), 0)
    }))

  it.scopedLive("a first request interrupted while the client is built leaves it built for the next", () =>
    Effect.gen(function*() {
      const server = yield* ModelServer.makeWith({ latency: "20 millis" })
      const { builds, client } = yield* counted
      const slow = Layer.unwrapEffect(Effect.as(Effect.sleep("50 millis"), client))
      const context = yield* Layer.build(HttpClientLazy.lazy(slow))
      const first = yield* Effect.fork(Context.get(context, HttpClient.HttpClient).get(`${server.baseUrl}/models`))
      yield* Effect.sleep("10 millis")
      assert.isTrue(Exit.isInterrupted(yield* Fiber.interrupt(first)))
      const report = yield* run("compat:gpt-4o-mini", server.baseUrl, Layer.succeedContext(context))
      assert.strictEqual(report.summary.succeeded, 16, report.results.map(TaskResult.message).join("\n"))
      assert.strictEqual(yield* Ref.get(builds), 1)
    }))
})
