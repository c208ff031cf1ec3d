/**
 * The cluster's storage in PostgreSQL (messages and replies, runners and shard locks), for a runner or a
 * coordinator: the shared settings checked first, the tables made once under a lock, then the storage layers.
 *
 * @internal
 */
import type * as MessageStorage from "@effect/cluster/MessageStorage"
import type * as RunnerStorage from "@effect/cluster/RunnerStorage"
import type * as ShardingConfig from "@effect/cluster/ShardingConfig"
import * as SqlMessageStorage from "@effect/cluster/SqlMessageStorage"
import * as SqlRunnerStorage from "@effect/cluster/SqlRunnerStorage"
import * as SqlClient from "@effect/sql/SqlClient"
import type * as SqlError from "@effect/sql/SqlError"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as ClusterConfig from "../ClusterConfig.js"

/**
 * Builds the storage layers once and releases them, holding a database-wide lock. On PostgreSQL, @effect/sql's
 * `Migrator` creates its table when a query says it is missing, and @effect/cluster creates its own with
 * `CREATE TABLE IF NOT EXISTS`: neither is safe against another process creating the same table at that moment (one
 * of them fails with "relation already exists" and, in `SqlMessageStorage`, dies). So processes that start together
 * on an empty database take turns here; later builds find the tables there.
 */
const prepare = <A>(
  storage: Layer.Layer<A, SqlError.SqlError, SqlClient.SqlClient | ShardingConfig.ShardingConfig>
) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    if (sql.onDialectOrElse({ pg: () => false, orElse: () => true })) return
    const { sharding } = yield* ClusterConfig.ClusterConfig
    const key = `${sharding.tablePrefix}_storage`
    const connection = yield* sql.reserve
    yield* connection.executeRaw(`SELECT pg_advisory_lock(${ClusterConfig.lockSpace}, hashtext($1))`, [key])
    yield* Effect.addFinalizer(() =>
      Effect.ignore(connection.executeRaw(`SELECT pg_advisory_unlock(${ClusterConfig.lockSpace}, hashtext($1))`, [key]))
    )
    yield* Effect.scoped(Layer.build(storage))
  }).pipe(Effect.scoped)

/**
 * `MessageStorage`, `RunnerStorage` and the `ShardingConfig` of a runner or a client (a coordinator), on the SQL
 * database in context, after `ClusterConfig.verify`.
 */
export const layer = (role: "runner" | "client"): Layer.Layer<
  MessageStorage.MessageStorage | RunnerStorage.RunnerStorage | ShardingConfig.ShardingConfig,
  ClusterConfig.SettingsMismatch | SqlError.SqlError,
  ClusterConfig.ClusterConfig | SqlClient.SqlClient
> =>
  Layer.unwrapEffect(Effect.gen(function*() {
    yield* ClusterConfig.verifyAs(role)
    const { sharding } = yield* ClusterConfig.ClusterConfig
    const prefix = { prefix: sharding.tablePrefix }
    const storage = Layer.merge(SqlMessageStorage.layerWith(prefix), SqlRunnerStorage.layerWith(prefix))
    yield* prepare(storage).pipe(Effect.provide(ClusterConfig.layerSharding(role)))
    return storage.pipe(Layer.provideMerge(ClusterConfig.layerSharding(role)))
  }))
