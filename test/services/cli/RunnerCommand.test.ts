/**
 * `parallel-agents runner` on a real PostgreSQL: in this process (Cli.run), and as people start it (the executable,
 * bundled, stopped with SIGTERM).
 */
import { Command } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import * as SqlClient from "@effect/sql/SqlClient"
import { assert } from "@effect/vitest"
import { Effect, Fiber, Layer, Stream } from "effect"
import { inject } from "vitest"
import * as ClusterConfig from "../../../services/cluster/ClusterConfig.js"
import * as Coordinator from "../../../services/cluster/Coordinator.js"
import * as Task from "../../../src/Task.js"
import * as Cluster from "../cluster/cluster.js"
import { runCli } from "./runCli.js"

// The bundled executable, as `npm run build` makes it (test/globalSetup.ts).
const bin = inject("bin")

const documents = (n: number) =>
  Task.fromIterable(Array.from({ length: n }, (_, i) => ({ text: `Sample document number ${i}` })), {
    id: (_, i) => `doc-${i}`
  })

/** A coordinator in this process, on the cluster at `url`. */
const coordinator = (url: string) =>
  Coordinator.layerSharding.pipe(Layer.provide(ClusterConfig.layer()), Layer.provide(Cluster.client(url)))

const classified = (n: number) =>
  Array.from({ length: n }, (_, i) => ({ label: i % 2 === 0 ? "positive" : "negative" }))

Cluster.withPostgres("parallel-agents runner", (it) => {
  it.scoped("runs the built-in agents by name for coordinators, with the flags over the configuration", () =>
    Effect.gen(function*() {
      const url = yield* Cluster.database
      const port = yield* Cluster.freePort
      const runner = yield* Effect.fork(
        runCli(["runner", "--host", "127.0.0.1", "--port", String(port), "--concurrency", "4"], {
          DATABASE_URL: url,
          RUNNER_PORT: "1",
          AGENT_OFFLINE_LATENCY: "20 millis"
        })
      )
      const results = yield* Coordinator.run(documents(12), { agent: "classify", runId: "cli", concurrency: 12 }).pipe(
        Effect.provide(coordinator(url))
      )
      assert.deepStrictEqual(results.map((r) => Cluster.value(r.result)), classified(12))
      assert.isTrue(results.every((r) => r.runner === `127.0.0.1:${port}`))
      const [summary] = yield* Coordinator.run(documents(1), { agent: "summarize", runId: "cli-2", concurrency: 1 })
        .pipe(Effect.provide(coordinator(url)))
      assert.deepStrictEqual(Cluster.value(summary!.result), { summary: "Sample document number 0" })
      yield* Fiber.interrupt(runner)
    }).pipe(Effect.provide(NodeContext.layer)))

  it.effect("a runner that cannot join exits with 2 and says why", () =>
    Effect.gen(function*() {
      const url = yield* Cluster.database
      const port = String(yield* Cluster.freePort)
      const noDatabase = yield* runCli(["runner", "--port", port])
      assert.strictEqual(noDatabase.code, 2)
      assert.include(noDatabase.stderr, "parallel-agents runner: configuration:")
      assert.include(noDatabase.stderr, "DATABASE_URL")

      const badSetting = yield* runCli(["runner", "--port", port], { DATABASE_URL: url, CLUSTER_SHARDS_PER_GROUP: "0" })
      assert.strictEqual(badSetting.code, 2)
      assert.include(badSetting.stderr, "shardsPerGroup: expected a whole number from 1, got 0")

      const badFlag = yield* runCli(["runner", "--port", "0"], { DATABASE_URL: url })
      assert.strictEqual(badFlag.code, 2)
      assert.include(badFlag.stderr, "--port: expected 1 to 65535, got 0")

      // The first runner or coordinator stores the cluster's shared settings; a runner with others is refused.
      yield* Effect.scoped(Layer.build(coordinator(url)))
      const mismatch = yield* runCli(["runner", "--port", port], { DATABASE_URL: url, CLUSTER_SHARDS_PER_GROUP: "30" })
      assert.strictEqual(mismatch.code, 2)
      assert.include(mismatch.stderr, "shardsPerGroup is 300 in the cluster, 30 here")
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scoped(
    "the executable: joins, runs tasks, and on SIGTERM hands its shards back and exits with 130",
    () =>
      Effect.gen(function*() {
        const url = yield* Cluster.database
        const port = yield* Cluster.freePort
        const process = yield* Command.make("node", bin, "runner", "--host", "127.0.0.1").pipe(
          Command.env({
            DATABASE_URL: url,
            RUNNER_PORT: String(port),
            AGENT_MODEL: "offline",
            AGENT_OFFLINE_LATENCY: "20 millis"
          }),
          Command.start
        )
        const stderr = yield* Effect.fork(Stream.mkString(Stream.decodeText(process.stderr)))
        yield* Effect.fork(Stream.runDrain(process.stdout))
        const results = yield* Coordinator.run(documents(20), { agent: "classify", runId: "bin", concurrency: 10 })
          .pipe(
            Effect.provide(coordinator(url))
          )
        assert.deepStrictEqual(results.map((r) => Cluster.value(r.result)), classified(20))
        yield* process.kill("SIGTERM")
        const code = yield* process.exitCode
        assert.strictEqual(code, 130, yield* Fiber.join(stderr))
        assert.include(yield* Fiber.join(stderr), `Listening on: 127.0.0.1:${port}`)
        // It left the cluster: no runner registered, no shard lock held.
        const left = yield* Effect.flatMap(SqlClient.SqlClient, (sql) =>
          Effect.all({
            runners: sql<{ readonly n: number }>`SELECT count(*)::int AS n FROM cluster_runners`,
            locks: sql<{ readonly n: number }>`SELECT count(*)::int AS n FROM pg_locks
            WHERE locktype = 'advisory' AND objsubid = 1
            AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`
          })).pipe(Effect.provide(Cluster.client(url)))
        assert.deepStrictEqual({ runners: left.runners[0]!.n, locks: left.locks[0]!.n }, { runners: 0, locks: 0 })
      }).pipe(Effect.provide(NodeContext.layer)),
    120_000
  )
})
