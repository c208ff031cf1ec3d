/**
 * Settings of a cluster of runners: the sharding settings every process reads from one shared configuration (and
 * checks against the other processes' through the database), a runner's own address and how many tasks it runs at
 * once, and the PostgreSQL database they all share (`DATABASE_URL`). The defaults move a dead runner's tasks to
 * the others within about ten seconds instead of @effect/cluster's 35 seconds of lock expiry.
 *
 * @since 0.1.0
 */
import * as RunnerAddress from "@effect/cluster/RunnerAddress"
import * as ShardingConfig from "@effect/cluster/ShardingConfig"
import * as PgClient from "@effect/sql-pg/PgClient"
import * as SqlClient from "@effect/sql/SqlClient"
import * as SqlError from "@effect/sql/SqlError"
import * as Config from "effect/Config"
import * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Predicate from "effect/Predicate"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"

// =============================================================================
// models
// =============================================================================

/**
 * The sharding settings. Every runner and every coordinator of a cluster must use the same `shardsPerGroup`,
 * `shardLockExpiration` and `shardLockRefreshInterval` (and `tablePrefix`, which names the cluster's tables): a
 * process that computes shards differently from the others would send messages to shards nobody reads, and the
 * cluster would hang without an error. `verify` checks them at startup. The other settings are each process's own.
 *
 * **Details**
 *
 * A runner that dies stops refreshing its heartbeat; the others drop it once its heartbeat is older than
 * `shardLockExpiration`, reassign its shards at their next `refreshAssignmentsInterval`, and take them over. The
 * shard locks themselves are PostgreSQL advisory locks, held by the runner's database session: the server releases
 * them as soon as it sees the session end, so a runner that pauses (a long garbage collection, a slow disk) loses
 * its place in the assignments for a while but never shares a shard with another runner. A live runner also pings
 * the others every `runnerHealthCheckInterval` and marks those that do not answer as unhealthy, which moves their
 * shards even sooner.
 *
 * @category models
 * @since 0.1.0
 */
export interface Sharding {
  /** Shards per shard group (one group, `default`): how finely work is spread; 300 by default. Shared. */
  readonly shardsPerGroup: number
  /** How old a runner's heartbeat may get before the others take its shards; 6 seconds by default. Shared. */
  readonly shardLockExpiration: Duration.Duration
  /**
   * How often a runner refreshes its heartbeat and shard locks: at most a third of `shardLockExpiration`; 2 seconds
   * by default. Shared.
   */
  readonly shardLockRefreshInterval: Duration.Duration
  /** How often a process reads the list of runners and recomputes shard assignments; 1 second by default. */
  readonly refreshAssignmentsInterval: Duration.Duration
  /** How often a runner pings the others to find dead ones; 5 seconds by default. */
  readonly runnerHealthCheckInterval: Duration.Duration
  /** How often a runner reads its shards' unprocessed messages without being told to; 2 seconds by default. */
  readonly entityMessagePollInterval: Duration.Duration
  /**
   * How long a runner lets its running tasks finish when it stops or hands shards to a runner that joined, before
   * they are interrupted and run again by the shards' next owner; 15 seconds by default.
   */
  readonly entityTerminationTimeout: Duration.Duration
  /** The prefix of the cluster's tables (`cluster_messages`, `cluster_runners`, ...); `cluster` by default. Shared. */
  readonly tablePrefix: string
  /**
   * How many tasks may run at once across the whole cluster, whatever the runs and coordinators that send them (a
   * provider's quota): each runner takes a lease in PostgreSQL before it calls an agent (`ClusterLimit`). None by
   * default. Shared by the runners (coordinators do not read it).
   */
  readonly globalConcurrency: Option.Option<number>
}

/**
 * A runner's own settings.
 *
 * @category models
 * @since 0.1.0
 */
export interface Runner {
  /** The host other processes reach this runner at; `localhost` by default (one machine only). */
  readonly host: string
  /** The port other processes reach this runner at; 34431 by default. */
  readonly port: number
  /** The host to listen on, when it differs from `host` (`0.0.0.0` behind a NAT or in a container). */
  readonly listenHost: Option.Option<string>
  /** The port to listen on, when it differs from `port`. */
  readonly listenPort: Option.Option<number>
  /** The most tasks this runner runs at once (its agents' concurrency); 100 by default. */
  readonly concurrency: number
}

/**
 * @category models
 * @since 0.1.0
 */
export interface Service {
  readonly sharding: Sharding
  readonly runner: Runner
}

/**
 * The cluster's settings.
 *
 * @category services
 * @since 0.1.0
 */
export class ClusterConfig extends Context.Tag("effect-parallel-agents/cluster/ClusterConfig")<
  ClusterConfig,
  Service
>() {}

/**
 * A runner or coordinator whose shared sharding settings differ from those the cluster's processes stored in the
 * database: it would compute shards differently and the cluster would hang. `mismatches` names each setting with
 * the value stored and the value this process has.
 *
 * @category errors
 * @since 0.1.0
 */
export class SettingsMismatch extends Schema.TaggedError<SettingsMismatch>(
  "effect-parallel-agents/cluster/SettingsMismatch"
)("SettingsMismatch", {
  table: Schema.String,
  mismatches: Schema.Array(Schema.Struct({ name: Schema.String, stored: Schema.String, configured: Schema.String }))
}) {
  /**
   * @since 0.1.0
   */
  override get message(): string {
    const list = this.mismatches.map((m) => `${m.name} is ${m.stored} in the cluster, ${m.configured} here`)
    return `This process's cluster settings differ from those of the cluster's other processes (table ${this.table}): ` +
      `${list.join("; ")}. Every runner and coordinator must use the same values. To change them, stop every ` +
      `runner and coordinator, then delete the rows of ${this.table}.`
  }
}

// =============================================================================
// constructors
// =============================================================================

/**
 * The default settings: failover within about ten seconds, 300 shards, 100 tasks at once per runner.
 *
 * @category config
 * @since 0.1.0
 */
export const defaults: Service = {
  sharding: {
    shardsPerGroup: 300,
    shardLockExpiration: Duration.seconds(6),
    shardLockRefreshInterval: Duration.seconds(2),
    refreshAssignmentsInterval: Duration.seconds(1),
    runnerHealthCheckInterval: Duration.seconds(5),
    entityMessagePollInterval: Duration.seconds(2),
    entityTerminationTimeout: Duration.seconds(15),
    tablePrefix: "cluster",
    globalConcurrency: Option.none()
  },
  runner: {
    host: "localhost",
    port: 34431,
    listenHost: Option.none(),
    listenPort: Option.none(),
    concurrency: 100
  }
}

/**
 * Options of `layer`: any setting left out is the default.
 *
 * @category models
 * @since 0.1.0
 */
export interface Options {
  readonly sharding?: Partial<Sharding> | undefined
  readonly runner?: Partial<Runner> | undefined
}

const maxGlobalConcurrency = 100_000

/**
 * Checks the settings, returning a description of the first problem.
 *
 * @category config
 * @since 0.1.0
 */
export const validate = (service: Service): Either.Either<Service, string> => {
  const { runner, sharding } = service
  // @effect/cluster numbers a shard's advisory lock 1,000,000 + its index.
  if (!(Number.isSafeInteger(sharding.shardsPerGroup) && sharding.shardsPerGroup >= 1)) {
    return Either.left(`shardsPerGroup: expected a whole number from 1, got ${sharding.shardsPerGroup}`)
  }
  if (sharding.shardsPerGroup >= 1_000_000) {
    return Either.left(`shardsPerGroup: expected less than 1,000,000, got ${sharding.shardsPerGroup}`)
  }
  if (Duration.lessThan(sharding.shardLockExpiration, Duration.seconds(1))) {
    return Either.left(
      `shardLockExpiration: expected 1 second or more, got ${Duration.format(sharding.shardLockExpiration)}`
    )
  }
  for (
    const name of [
      "shardLockRefreshInterval",
      "refreshAssignmentsInterval",
      "runnerHealthCheckInterval",
      "entityMessagePollInterval"
    ] as const
  ) {
    const value = sharding[name]
    if (!Duration.isFinite(value) || Duration.toMillis(value) <= 0) {
      return Either.left(`${name}: expected a positive duration, got ${Duration.format(value)}`)
    }
  }
  if (
    Option.isSome(sharding.globalConcurrency) &&
    !(Number.isSafeInteger(sharding.globalConcurrency.value) && sharding.globalConcurrency.value >= 1)
  ) {
    return Either.left(`globalConcurrency: expected a whole number from 1, got ${sharding.globalConcurrency.value}`)
  }
  // Each unit of the limit is a row of the limit's table, made when the first runner starts.
  if (Option.isSome(sharding.globalConcurrency) && sharding.globalConcurrency.value > maxGlobalConcurrency) {
    return Either.left(
      `globalConcurrency: expected at most ${maxGlobalConcurrency.toLocaleString("en-US")} (a row of the limit's ` +
        `table each), got ${sharding.globalConcurrency.value}`
    )
  }
  if (!/^[a-z_][a-z0-9_]*$/.test(sharding.tablePrefix)) {
    return Either.left(
      `tablePrefix: expected lowercase letters, digits and _, got ${JSON.stringify(sharding.tablePrefix)}`
    )
  }
  if (runner.host === "") return Either.left("runner host: expected a host name or address, got nothing")
  for (
    const [name, port] of [["runner port", Option.some(runner.port)], [
      "runner listen port",
      runner.listenPort
    ]] as const
  ) {
    if (Option.isSome(port) && !(Number.isInteger(port.value) && port.value >= 0 && port.value <= 65535)) {
      return Either.left(`${name}: expected a port from 0 to 65535, got ${port.value}`)
    }
  }
  if (!(Number.isSafeInteger(runner.concurrency) && runner.concurrency >= 1)) {
    return Either.left(`runner concurrency: expected a whole number from 1, got ${runner.concurrency}`)
  }
  return Either.right(service)
}

/**
 * Merges options over the defaults.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = (options?: Options): Service => ({
  sharding: { ...defaults.sharding, ...options?.sharding },
  runner: { ...defaults.runner, ...options?.runner }
})

/**
 * Provides settings merged over the defaults; dies if one is out of range.
 *
 * @category layers
 * @since 0.1.0
 */
export const layer = (options?: Options): Layer.Layer<ClusterConfig> =>
  Layer.effect(
    ClusterConfig,
    Either.match(validate(make(options)), {
      onLeft: (description) => Effect.dieMessage(`ClusterConfig: ${description}`),
      onRight: Effect.succeed
    })
  )

// =============================================================================
// config
// =============================================================================

const duration = (name: string, fallback: Duration.Duration, description: string) =>
  Config.duration(name).pipe(Config.withDefault(fallback), Config.withDescription(description))

/**
 * The sharding settings, read from configuration; every process of a cluster must read the same values:
 *
 * - `CLUSTER_SHARDS_PER_GROUP` (300), `CLUSTER_SHARD_LOCK_EXPIRATION` (`6 seconds`),
 *   `CLUSTER_SHARD_LOCK_REFRESH_INTERVAL` (`2 seconds`), `CLUSTER_TABLE_PREFIX` (`cluster`): shared, checked by
 *   `verify`
 * - `CLUSTER_GLOBAL_CONCURRENCY` (none): shared by the runners, checked by `verify` in runners
 * - `CLUSTER_REFRESH_ASSIGNMENTS_INTERVAL` (`1 second`), `CLUSTER_HEALTH_CHECK_INTERVAL` (`5 seconds`),
 *   `CLUSTER_MESSAGE_POLL_INTERVAL` (`2 seconds`), `CLUSTER_TERMINATION_TIMEOUT` (`15 seconds`)
 *
 * @category config
 * @since 0.1.0
 */
export const shardingConfig: Config.Config<Sharding> = Config.all({
  shardsPerGroup: Config.integer("CLUSTER_SHARDS_PER_GROUP").pipe(
    Config.withDefault(defaults.sharding.shardsPerGroup),
    Config.withDescription("Shards per group; the same in every process of the cluster")
  ),
  shardLockExpiration: duration(
    "CLUSTER_SHARD_LOCK_EXPIRATION",
    defaults.sharding.shardLockExpiration,
    "How old a runner's heartbeat may get before its shards move; the same in every process"
  ),
  shardLockRefreshInterval: duration(
    "CLUSTER_SHARD_LOCK_REFRESH_INTERVAL",
    defaults.sharding.shardLockRefreshInterval,
    "How often a runner refreshes its heartbeat and shard locks; the same in every process"
  ),
  refreshAssignmentsInterval: duration(
    "CLUSTER_REFRESH_ASSIGNMENTS_INTERVAL",
    defaults.sharding.refreshAssignmentsInterval,
    "How often a process reads the runners and recomputes shard assignments"
  ),
  runnerHealthCheckInterval: duration(
    "CLUSTER_HEALTH_CHECK_INTERVAL",
    defaults.sharding.runnerHealthCheckInterval,
    "How often a runner pings the others"
  ),
  entityMessagePollInterval: duration(
    "CLUSTER_MESSAGE_POLL_INTERVAL",
    defaults.sharding.entityMessagePollInterval,
    "How often a runner reads unprocessed messages without being told to"
  ),
  entityTerminationTimeout: duration(
    "CLUSTER_TERMINATION_TIMEOUT",
    defaults.sharding.entityTerminationTimeout,
    "How long running tasks may finish when a runner stops or hands over shards"
  ),
  tablePrefix: Config.string("CLUSTER_TABLE_PREFIX").pipe(
    Config.withDefault(defaults.sharding.tablePrefix),
    Config.withDescription("The prefix of the cluster's tables; the same in every process")
  ),
  globalConcurrency: Config.integer("CLUSTER_GLOBAL_CONCURRENCY").pipe(
    Config.withDescription(
      "How many tasks may run at once across the cluster (1 to 100,000); the same in every runner"
    ),
    Config.option
  )
})

/**
 * A runner's own settings, read from configuration: `RUNNER_HOST` (`localhost`), `RUNNER_PORT` (34431),
 * `RUNNER_LISTEN_HOST`, `RUNNER_LISTEN_PORT` (both optional) and `RUNNER_CONCURRENCY` (100).
 *
 * @category config
 * @since 0.1.0
 */
export const runnerConfig: Config.Config<Runner> = Config.all({
  host: Config.string("RUNNER_HOST").pipe(
    Config.withDefault(defaults.runner.host),
    Config.withDescription("The host other processes reach this runner at")
  ),
  port: Config.port("RUNNER_PORT").pipe(
    Config.withDefault(defaults.runner.port),
    Config.withDescription("The port other processes reach this runner at")
  ),
  listenHost: Config.string("RUNNER_LISTEN_HOST").pipe(
    Config.withDescription("The host to listen on, when it differs from RUNNER_HOST"),
    Config.option
  ),
  listenPort: Config.port("RUNNER_LISTEN_PORT").pipe(
    Config.withDescription("The port to listen on, when it differs from RUNNER_PORT"),
    Config.option
  ),
  concurrency: Config.integer("RUNNER_CONCURRENCY").pipe(
    Config.withDefault(defaults.runner.concurrency),
    Config.withDescription("The most tasks this runner runs at once")
  )
})

/**
 * Every setting read from configuration (`shardingConfig` and `runnerConfig`), checked with `validate`.
 *
 * @category config
 * @since 0.1.0
 */
export const config: Config.Config<Service> = Config.all({ sharding: shardingConfig, runner: runnerConfig }).pipe(
  Config.mapOrFail((service) =>
    Either.mapLeft(validate(service), (description) => ConfigError.InvalidData([], description))
  )
)

/**
 * Provides settings read from configuration (see `config`); values given here are used instead of what the
 * configuration says.
 *
 * @category layers
 * @since 0.1.0
 */
export const layerConfig = (options?: Options): Layer.Layer<ClusterConfig, ConfigError.ConfigError> =>
  Layer.effect(
    ClusterConfig,
    Config.all({ sharding: shardingConfig, runner: runnerConfig }).pipe(
      Config.map((read): Service => ({
        sharding: { ...read.sharding, ...options?.sharding },
        runner: { ...read.runner, ...options?.runner }
      })),
      Config.mapOrFail((service) =>
        Either.mapLeft(validate(service), (description) => ConfigError.InvalidData([], description))
      )
    )
  )

/**
 * The URL of the PostgreSQL database the cluster's processes share, from `DATABASE_URL`.
 *
 * @category config
 * @since 0.1.0
 */
export const databaseUrl: Config.Config<Redacted.Redacted> = Config.string("DATABASE_URL").pipe(
  // Read as a string, then redacted: `Config.redacted` redacts its own message when the variable is missing
  // (`Missing data at DATABASE_URL: "<redacted>"`), and a string's errors never quote its value.
  Config.map((url) => Redacted.make(url)),
  Config.withDescription("The PostgreSQL database every runner and coordinator shares, as a postgres:// URL")
)

/** Why a connection failed: the driver's error (`connect ECONNREFUSED 127.0.0.1:5432`), or its code. */
const connectionError = (cause: unknown): string => {
  if (Predicate.hasProperty(cause, "message") && typeof cause.message === "string" && cause.message !== "") {
    return cause.message
  }
  // Node.js gives an AggregateError with no message when every address of a host refused (localhost: ::1, 127.0.0.1).
  if (Predicate.hasProperty(cause, "code") && typeof cause.code === "string") return cause.code
  return String(cause)
}

/**
 * A PostgreSQL client for the database at `DATABASE_URL`.
 *
 * @category layers
 * @since 0.1.0
 */
export const layerDatabase: Layer.Layer<
  PgClient.PgClient | SqlClient.SqlClient,
  ConfigError.ConfigError | SqlError.SqlError
> = PgClient.layerConfig({ url: databaseUrl }).pipe(
  // The driver's error says only "PgClient: Failed to connect": why is in its cause.
  Layer.mapError((error) =>
    error._tag === "SqlError" && error.message === "PgClient: Failed to connect"
      ? new SqlError.SqlError({
        message: `${error.message} to the database at DATABASE_URL: ${connectionError(error.cause)}`,
        cause: error.cause
      })
      : error
  )
)

// =============================================================================
// sharding
// =============================================================================

/**
 * The `@effect/cluster` settings of a runner (`role: "runner"`, with its address) or of a process that only sends
 * messages (`role: "client"`, a coordinator).
 *
 * @category constructors
 * @since 0.1.0
 */
export const toShardingConfig = (
  service: Service,
  role: "runner" | "client"
): ShardingConfig.ShardingConfig["Type"] => {
  const { runner, sharding } = service
  const address = RunnerAddress.RunnerAddress.make({ host: runner.host, port: runner.port })
  return {
    ...ShardingConfig.defaults,
    runnerAddress: role === "runner" ? Option.some(address) : Option.none(),
    runnerListenAddress: role === "runner" && (Option.isSome(runner.listenHost) || Option.isSome(runner.listenPort))
      ? Option.some(RunnerAddress.RunnerAddress.make({
        host: Option.getOrElse(runner.listenHost, () => runner.host),
        port: Option.getOrElse(runner.listenPort, () => runner.port)
      }))
      : Option.none(),
    shardsPerGroup: sharding.shardsPerGroup,
    shardLockExpiration: sharding.shardLockExpiration,
    shardLockRefreshInterval: sharding.shardLockRefreshInterval,
    // Advisory locks are what keeps a short expiry safe: a runner that misses heartbeats keeps its shards until
    // its database session ends.
    shardLockDisableAdvisory: false,
    refreshAssignmentsInterval: sharding.refreshAssignmentsInterval,
    runnerHealthCheckInterval: sharding.runnerHealthCheckInterval,
    entityMessagePollInterval: sharding.entityMessagePollInterval,
    entityTerminationTimeout: sharding.entityTerminationTimeout
  }
}

/**
 * `toShardingConfig` as a layer, from the `ClusterConfig` in context.
 *
 * @category layers
 * @since 0.1.0
 */
export const layerSharding = (
  role: "runner" | "client"
): Layer.Layer<ShardingConfig.ShardingConfig, never, ClusterConfig> =>
  Layer.effect(ShardingConfig.ShardingConfig, Effect.map(ClusterConfig, (service) => toShardingConfig(service, role)))

// =============================================================================
// verify
// =============================================================================

/**
 * The first key of this package's two-key advisory locks (the one-key ones are @effect/cluster's shard locks).
 *
 * @internal
 */
export const lockSpace = 1886413636

/** The settings every process (every runner, for the global limit) must agree on, as stored: name and value. */
const sharedSettings = (sharding: Sharding, role: "runner" | "client"): ReadonlyArray<readonly [string, string]> => [
  ["shardsPerGroup", String(sharding.shardsPerGroup)],
  ["shardLockExpiration", Duration.format(sharding.shardLockExpiration)],
  ["shardLockRefreshInterval", Duration.format(sharding.shardLockRefreshInterval)],
  ...(role === "runner"
    ? [
      ["globalConcurrency", Option.match(sharding.globalConcurrency, { onNone: () => "none", onSome: String })] as const
    ]
    : [])
]

/**
 * Checks that this process's shared sharding settings are those of the cluster: the first process to start stores
 * them in `<tablePrefix>_settings`; every later one compares its own with the stored values and fails with
 * `SettingsMismatch` if one differs. Runners and coordinators run it before they join; a runner (`verifyAs("runner")`,
 * and `verify`) also checks `globalConcurrency`, which only runners enforce.
 *
 * @category constructors
 * @since 0.1.0
 */
export const verifyAs = (
  role: "runner" | "client"
): Effect.Effect<void, SettingsMismatch | SqlError.SqlError, ClusterConfig | SqlClient.SqlClient> =>
  Effect
    .gen(function*() {
      const { sharding } = yield* ClusterConfig
      const sql = (yield* SqlClient.SqlClient).withoutTransforms()
      const table = `${sharding.tablePrefix}_settings`
      const own = sharedSettings(sharding, role)
      const stored = yield* Effect.gen(function*() {
        // Two processes starting at once must not both create the table: a transaction-scoped advisory lock (of the
        // two-key kind, apart from @effect/cluster's one-key shard locks) puts them one after the other.
        yield* sql.onDialectOrElse({
          pg: () => sql`SELECT pg_advisory_xact_lock(${sql.literal(String(lockSpace))}, hashtext(${table}))`,
          orElse: () => Effect.void
        })
        yield* sql`CREATE TABLE IF NOT EXISTS ${sql(table)} (name VARCHAR(100) PRIMARY KEY, value TEXT NOT NULL)`
        for (const [name, value] of own) {
          yield* sql.onDialectOrElse({
            mysql: () => sql`INSERT IGNORE INTO ${sql(table)} (name, value) VALUES (${name}, ${value})`,
            orElse: () => sql`INSERT INTO ${sql(table)} (name, value) VALUES (${name}, ${value}) ON CONFLICT DO NOTHING`
          })
        }
        return yield* sql<{ readonly name: string; readonly value: string }>`SELECT name, value FROM ${sql(table)}`
      }).pipe(sql.withTransaction)
      const values = new Map(stored.map((row) => [row.name, row.value]))
      const mismatches = own.flatMap(([name, configured]) => {
        const value = values.get(name)
        return value === undefined || value === configured ? [] : [{ name, stored: value, configured }]
      })
      if (mismatches.length > 0) return yield* new SettingsMismatch({ table, mismatches })
    })
    .pipe(Effect.withSpan("ClusterConfig.verify", { captureStackTrace: false }))

/**
 * `verifyAs("runner")`: every shared setting, the global limit included.
 *
 * @category constructors
 * @since 0.1.0
 */
export const verify: Effect.Effect<void, SettingsMismatch | SqlError.SqlError, ClusterConfig | SqlClient.SqlClient> =
  verifyAs("runner")
