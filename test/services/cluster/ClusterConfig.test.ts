import * as SqlClient from "@effect/sql/SqlClient"
import { assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Duration, Effect, Exit, Layer, Option, Redacted, Schema } from "effect"
import * as AgentRunner from "../../../services/cluster/AgentRunner.js"
import * as ClusterConfig from "../../../services/cluster/ClusterConfig.js"
import * as Coordinator from "../../../services/cluster/Coordinator.js"
import * as TestAgent from "../../../services/testing/TestAgent.js"
import * as Cluster from "./cluster.js"

const fromMap = (entries: Record<string, string>) => ConfigProvider.fromMap(new Map(Object.entries(entries)))

describe("ClusterConfig", () => {
  it.effect("reads every setting from configuration, with the defaults for those left out", () =>
    Effect.gen(function*() {
      const defaults = yield* ClusterConfig.config.pipe(Effect.withConfigProvider(fromMap({})))
      assert.deepStrictEqual(defaults, ClusterConfig.defaults)
      const read = yield* ClusterConfig.config.pipe(
        Effect.withConfigProvider(fromMap({
          CLUSTER_SHARDS_PER_GROUP: "64",
          CLUSTER_SHARD_LOCK_EXPIRATION: "9 seconds",
          CLUSTER_SHARD_LOCK_REFRESH_INTERVAL: "3 seconds",
          CLUSTER_REFRESH_ASSIGNMENTS_INTERVAL: "500 millis",
          CLUSTER_HEALTH_CHECK_INTERVAL: "2 seconds",
          CLUSTER_MESSAGE_POLL_INTERVAL: "1 second",
          CLUSTER_TERMINATION_TIMEOUT: "2 minutes",
          CLUSTER_TABLE_PREFIX: "agents",
          CLUSTER_GLOBAL_CONCURRENCY: "40",
          RUNNER_HOST: "10.0.0.7",
          RUNNER_PORT: "4000",
          RUNNER_LISTEN_HOST: "0.0.0.0",
          RUNNER_CONCURRENCY: "250"
        }))
      )
      assert.deepStrictEqual(read, {
        sharding: {
          shardsPerGroup: 64,
          shardLockExpiration: Duration.seconds(9),
          shardLockRefreshInterval: Duration.seconds(3),
          refreshAssignmentsInterval: Duration.millis(500),
          runnerHealthCheckInterval: Duration.seconds(2),
          entityMessagePollInterval: Duration.seconds(1),
          entityTerminationTimeout: Duration.minutes(2),
          tablePrefix: "agents",
          globalConcurrency: Option.some(40)
        },
        runner: {
          host: "10.0.0.7",
          port: 4000,
          listenHost: Option.some("0.0.0.0"),
          listenPort: Option.none(),
          concurrency: 250
        }
      })
    }))

  it.effect("layerConfig: values given in code take precedence over configuration, and are checked too", () =>
    Effect.gen(function*() {
      const config = yield* ClusterConfig.ClusterConfig.pipe(
        Effect.provide(ClusterConfig.layerConfig({ runner: { port: 4200 }, sharding: { shardsPerGroup: 12 } })),
        Effect.withConfigProvider(
          fromMap({ RUNNER_PORT: "4100", RUNNER_HOST: "runner-2", CLUSTER_SHARDS_PER_GROUP: "9" })
        )
      )
      assert.deepStrictEqual([config.runner.host, config.runner.port, config.sharding.shardsPerGroup], [
        "runner-2",
        4200,
        12
      ])
      const exit = yield* ClusterConfig.ClusterConfig.pipe(
        Effect.provide(ClusterConfig.layerConfig({ runner: { concurrency: 0 } })),
        Effect.withConfigProvider(fromMap({})),
        Effect.exit
      )
      assert.isTrue(Exit.isFailure(exit) && String(exit.cause).includes("runner concurrency"), String(exit))
    }))

  it.effect("a setting out of range is a ConfigError that names it", () =>
    Effect.gen(function*() {
      for (
        const [entries, expected] of [
          [{ CLUSTER_SHARDS_PER_GROUP: "0" }, "shardsPerGroup: expected a whole number from 1, got 0"],
          [{ CLUSTER_SHARDS_PER_GROUP: "1000000" }, "shardsPerGroup: expected less than 1,000,000"],
          [{ CLUSTER_SHARD_LOCK_EXPIRATION: "200 millis" }, "shardLockExpiration: expected 1 second or more"],
          [{ CLUSTER_TABLE_PREFIX: "Cluster-1" }, "tablePrefix: expected lowercase letters"],
          [{ RUNNER_CONCURRENCY: "0" }, "runner concurrency: expected a whole number from 1, got 0"],
          [{ CLUSTER_GLOBAL_CONCURRENCY: "0" }, "globalConcurrency: expected a whole number from 1, got 0"],
          [{ CLUSTER_GLOBAL_CONCURRENCY: "2000000000" }, "globalConcurrency: expected at most 100,000"],
          [{ RUNNER_PORT: "70000" }, "RUNNER_PORT"]
        ] as const
      ) {
        const exit = yield* ClusterConfig.config.pipe(Effect.withConfigProvider(fromMap(entries)), Effect.exit)
        assert.isTrue(Exit.isFailure(exit) && String(exit.cause).includes(expected), `${expected}: ${exit}`)
      }
    }))

  it.effect("DATABASE_URL is read as a secret", () =>
    Effect.gen(function*() {
      const url = yield* ClusterConfig.databaseUrl.pipe(
        Effect.withConfigProvider(fromMap({ DATABASE_URL: "postgres://agents:s3cret@db/agents" }))
      )
      assert.strictEqual(Redacted.value(url), "postgres://agents:s3cret@db/agents")
      assert.notInclude(String(url), "s3cret")
      assert.notInclude(JSON.stringify(url), "s3cret")
      const missing = yield* ClusterConfig.databaseUrl.pipe(Effect.withConfigProvider(fromMap({})), Effect.exit)
      assert.isTrue(Exit.isFailure(missing) && String(missing.cause).includes("DATABASE_URL"))
    }))

  it("toShardingConfig: a runner has its address (and a listen address when one is set), a coordinator none", () => {
    const service = ClusterConfig.make({
      runner: { host: "runner-1.internal", port: 4100, listenHost: Option.some("0.0.0.0") },
      sharding: { shardsPerGroup: 50 }
    })
    const runner = ClusterConfig.toShardingConfig(service, "runner")
    assert.deepStrictEqual(
      Option.map(runner.runnerAddress, (a) => `${a.host}:${a.port}`),
      Option.some("runner-1.internal:4100")
    )
    assert.deepStrictEqual(
      Option.map(runner.runnerListenAddress, (a) => `${a.host}:${a.port}`),
      Option.some("0.0.0.0:4100")
    )
    assert.strictEqual(runner.shardsPerGroup, 50)
    assert.deepStrictEqual(runner.shardLockExpiration, Duration.seconds(6))
    assert.strictEqual(runner.shardLockDisableAdvisory, false)
    const client = ClusterConfig.toShardingConfig(service, "client")
    assert.isTrue(Option.isNone(client.runnerAddress))
    assert.isTrue(Option.isNone(client.runnerListenAddress))
    assert.strictEqual(client.shardsPerGroup, 50)
  })
})

Cluster.withPostgres("ClusterConfig.verify", (it) => {
  const verifyWith = (url: string, options: ClusterConfig.Options) =>
    ClusterConfig.verify.pipe(Effect.provide(Layer.merge(ClusterConfig.layer(options), Cluster.client(url))))

  it.effect("the first process stores the shared settings; the same pass; others fail with SettingsMismatch", () =>
    Effect.gen(function*() {
      const url = yield* Cluster.database
      // Processes starting at once agree.
      yield* Effect.all(Array.from({ length: 4 }, () => verifyWith(url, {})), { concurrency: "unbounded" })
      // Settings that are each process's own may differ.
      yield* verifyWith(url, {
        sharding: { refreshAssignmentsInterval: Duration.seconds(5) },
        runner: { port: 5000, concurrency: 3 }
      })
      const error = yield* verifyWith(url, {
        sharding: { shardsPerGroup: 100, shardLockExpiration: Duration.seconds(30) }
      }).pipe(Effect.flip)
      assert.instanceOf(error, ClusterConfig.SettingsMismatch)
      assert.deepStrictEqual(error.mismatches, [
        { name: "shardsPerGroup", stored: "300", configured: "100" },
        { name: "shardLockExpiration", stored: "6s", configured: "30s" }
      ])
      assert.strictEqual(
        error.message,
        "This process's cluster settings differ from those of the cluster's other processes (table cluster_settings): " +
          "shardsPerGroup is 300 in the cluster, 100 here; shardLockExpiration is 6s in the cluster, 30s here. Every " +
          "runner and coordinator must use the same values. To change them, stop every runner and coordinator, then " +
          "delete the rows of cluster_settings."
      )
      // Another table prefix is another cluster, with settings of its own.
      yield* verifyWith(url, { sharding: { shardsPerGroup: 100, tablePrefix: "other" } })
      // Deleting the rows lets the next process store its own.
      yield* Effect.flatMap(SqlClient.SqlClient, (sql) => sql`DELETE FROM cluster_settings`).pipe(
        Effect.provide(Cluster.client(url))
      )
      yield* verifyWith(url, { sharding: { shardsPerGroup: 100 } })
      const back = yield* verifyWith(url, {}).pipe(Effect.flip)
      assert.instanceOf(back, ClusterConfig.SettingsMismatch)
      assert.deepStrictEqual(back.mismatches, [{ name: "shardsPerGroup", stored: "100", configured: "300" }])
    }))

  it.scoped("a runner or coordinator whose settings differ from the cluster's does not start", () =>
    Effect.gen(function*() {
      const url = yield* Cluster.database
      const echo = yield* TestAgent.succeed("echo", (n: number) => n)
      const agents = [AgentRunner.agent({ name: "echo", input: Schema.Number, factory: echo.factory })]
      yield* Cluster.build(yield* Cluster.runner({ url, agents, concurrency: 1 }))
      const runner = yield* Cluster.build(
        yield* Cluster.runner({ url, agents, concurrency: 1, sharding: { shardsPerGroup: 30 } })
      ).pipe(Effect.flip)
      assert.instanceOf(runner, ClusterConfig.SettingsMismatch)
      const coordinator = yield* Layer.build(
        Coordinator.layerSharding.pipe(
          Layer.provide(ClusterConfig.layer({ sharding: { shardLockRefreshInterval: Duration.seconds(1) } })),
          Layer.provide(Cluster.client(url))
        )
      ).pipe(Effect.flip)
      assert.instanceOf(coordinator, ClusterConfig.SettingsMismatch)
      assert.include(coordinator.message, "shardLockRefreshInterval is 2s in the cluster, 1s here")
    }))
})
