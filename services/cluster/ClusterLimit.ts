/**
 * A limit on how many tasks run at once across a whole cluster (a provider's quota), whatever the runs and
 * coordinators that send them: a runner takes a lease from a table of `limit` slots in the cluster's PostgreSQL
 * before it calls an agent, and gives it back when the task ends. A lease names the runner that holds it, whose
 * database session holds an advisory lock for as long as it runs, so the leases of a runner that dies come back as
 * soon as PostgreSQL sees its session end.
 *
 * @since 0.1.0
 */
import * as SqlClient from "@effect/sql/SqlClient"
import type * as SqlConnection from "@effect/sql/SqlConnection"
import type * as SqlError from "@effect/sql/SqlError"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as ExecutionStrategy from "effect/ExecutionStrategy"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Random from "effect/Random"
import * as Schedule from "effect/Schedule"
import * as Scope from "effect/Scope"
import * as ClusterConfig from "./ClusterConfig.js"

// =============================================================================
// models
// =============================================================================

/**
 * @category models
 * @since 0.1.0
 */
export interface Service {
  /** How many tasks may run at once across the cluster; `undefined` for no limit. */
  readonly limit: number | undefined
  /** Runs `effect` holding one lease of the cluster's limit, waiting until one is free. */
  readonly withLease: <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
}

/**
 * The cluster-wide limit a runner's tasks take a lease of before they call their agent (see `AgentRunner.layer`).
 *
 * @category services
 * @since 0.1.0
 */
export class ClusterLimit extends Context.Tag("effect-parallel-agents/cluster/ClusterLimit")<
  ClusterLimit,
  Service
>() {}

/**
 * Options of `make`.
 *
 * @category models
 * @since 0.1.0
 */
export interface Options {
  /** How many tasks may run at once across the cluster: a positive integer. */
  readonly limit: number
  /** The prefix of the cluster's tables: the leases are in `<tablePrefix>_limit`; `cluster` by default. */
  readonly tablePrefix?: string | undefined
  /** How often a runner whose tasks wait for a lease looks for a free one; 50 milliseconds by default. */
  readonly pollInterval?: Duration.DurationInput | undefined
  /** How often the runner checks that its database session (which its leases name) is alive; 2 seconds by default. */
  readonly checkInterval?: Duration.DurationInput | undefined
}

// =============================================================================
// constructors
// =============================================================================

/**
 * No limit: `withLease` runs the effect as it is.
 *
 * @category constructors
 * @since 0.1.0
 */
export const unlimited: Service = { limit: undefined, withLease: (effect) => effect }

/** What a runner's leases name: a random number, the second key of the advisory lock its session holds. */
type Holder = number

/** The first key of the runners' advisory locks (the second is each runner's `Holder`). */
const holderSpace = ClusterConfig.lockSpace + 1

/**
 * A cluster-wide limit kept in PostgreSQL (the SQL client in context).
 *
 * **Details**
 *
 * The table `<tablePrefix>_limit` has one row per slot, `limit` rows. A task takes a free slot with one `UPDATE`
 * (`FOR UPDATE SKIP LOCKED`: two runners never take the same one) and frees it with another when it ends. Each runner
 * keeps one database session open for as long as it runs, holding a session-level advisory lock whose second key is a
 * random number, and its leases name that number; a slot is free when nobody holds it, or when nobody holds that
 * advisory lock any more (`pg_locks`, which every role can read). So the leases of a runner killed with `kill -9`
 * come back the moment PostgreSQL sees its connection close, and those of a runner on a machine that lost power
 * within about 11 seconds (the session sets `tcp_keepalives_idle` 5 s, `_interval` 2 s, `_count` 3). A runner that
 * only pauses (a long garbage collection) keeps its session and its leases. In a process, one task at a
 * time looks for a free slot (every `pollInterval` while there is none), so a full limit costs each runner one query
 * per `pollInterval`, not one per waiting task.
 *
 * **Gotchas**
 *
 * If the runner's own session drops while it runs (PostgreSQL restarted, the network cut), its leases are free for
 * other runners while the tasks that took them finish: the runner opens a new session within `checkInterval`, but
 * up to its concurrency's worth of tasks may run beyond the limit meanwhile. Slots are taken in no particular
 * order: a runner is not guaranteed its share of the limit.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = Effect.fn("ClusterLimit.make")(function*(options: Options) {
  if (!(Number.isSafeInteger(options.limit) && options.limit >= 1)) {
    return yield* Effect.dieMessage(`ClusterLimit: limit must be a whole number from 1, got ${options.limit}`)
  }
  const sql = (yield* SqlClient.SqlClient).withoutTransforms()
  if (sql.onDialectOrElse({ pg: () => false, orElse: () => true })) {
    return yield* Effect.dieMessage("ClusterLimit: the cluster-wide limit needs PostgreSQL")
  }
  const table = `${options.tablePrefix ?? ClusterConfig.defaults.sharding.tablePrefix}_limit`
  const pollInterval = Duration.decode(options.pollInterval ?? Duration.millis(50))
  const checkInterval = Duration.decode(options.checkInterval ?? Duration.seconds(2))
  const limit = options.limit

  // The slots, made once (runners that start together take turns under a transaction-scoped advisory lock).
  yield* Effect.gen(function*() {
    yield* sql`SELECT pg_advisory_xact_lock(${sql.literal(String(ClusterConfig.lockSpace))}, hashtext(${table}))`
    yield* sql`CREATE TABLE IF NOT EXISTS ${sql(table)} (
      slot INTEGER PRIMARY KEY,
      holder INTEGER,
      taken_at TIMESTAMPTZ
    )`
    yield* sql`INSERT INTO ${sql(table)} (slot) SELECT generate_series(0, ${limit - 1}) ON CONFLICT DO NOTHING`
  }).pipe(sql.withTransaction)

  // The session the leases name, kept for as long as the runner runs; replaced if it drops.
  const open = Effect.gen(function*() {
    const connection = yield* sql.reserve
    for (const [name, value] of [["idle", 5], ["interval", 2], ["count", 3]] as const) {
      yield* connection.executeRaw(`SET tcp_keepalives_${name} = ${value}`, [])
    }
    // A number no other live runner holds: its advisory lock, taken by this session for as long as it lasts.
    const holder = yield* Random.nextIntBetween(1, 2 ** 31 - 1).pipe(
      Effect.flatMap((candidate) =>
        Effect.map(
          connection.execute(`SELECT pg_try_advisory_lock(${holderSpace}, $1) AS locked`, [candidate], undefined),
          (rows: ReadonlyArray<{ readonly locked: unknown }>) => rows[0]?.locked === true ? candidate : undefined
        )
      ),
      Effect.repeat({ until: (taken) => taken !== undefined }),
      Effect.map((taken) => taken!)
    )
    // The connection goes back to the pool when the session's scope closes: without the lock.
    yield* Effect.addFinalizer(() =>
      Effect.ignore(connection.executeRaw(`SELECT pg_advisory_unlock(${holderSpace}, $1)`, [holder]))
    )
    return { connection, holder }
  })
  const scope = yield* Effect.scope
  let sessionScope = yield* Scope.fork(scope, ExecutionStrategy.sequential)
  let session: { readonly connection: SqlConnection.Connection; readonly holder: Holder } = yield* open.pipe(
    Scope.extend(sessionScope)
  )
  yield* Effect.gen(function*() {
    const alive = yield* Effect.isSuccess(Effect.timeout(session.connection.executeRaw("SELECT 1", []), "5 seconds"))
    if (alive) return
    yield* Effect.logWarning(
      "ClusterLimit: the database session that holds this runner's leases dropped; its leases are free for others"
    )
    yield* Scope.close(sessionScope, Exit.void)
    sessionScope = yield* Scope.fork(scope, ExecutionStrategy.sequential)
    session = yield* open.pipe(Scope.extend(sessionScope), Effect.retry(Schedule.spaced(Duration.seconds(1))))
  }).pipe(
    Effect.repeat(Schedule.spaced(checkInterval)),
    Effect.annotateLogs({ package: "effect-parallel-agents", module: "ClusterLimit" }),
    Effect.interruptible,
    Effect.forkIn(scope)
  )

  /** Takes a free slot for this session, if there is one. */
  const tryTake = Effect.suspend(() => {
    const holder = session.holder
    return sql<{ readonly slot: number }>`
      UPDATE ${sql(table)} SET holder = ${holder}, taken_at = now()
      WHERE slot = (
        SELECT l.slot FROM ${sql(table)} l
        WHERE l.slot < ${limit} AND (l.holder IS NULL OR l.holder NOT IN (
          SELECT k.objid::bigint FROM pg_locks k
          WHERE k.locktype = 'advisory' AND k.granted AND k.objsubid = 2 AND k.classid::bigint = ${holderSpace}
          AND k.database = (SELECT oid FROM pg_database WHERE datname = current_database())
        ))
        LIMIT 1 FOR UPDATE SKIP LOCKED
      )
      RETURNING slot`.pipe(
      Effect.map((rows) => rows.length === 0 ? undefined : { slot: Number(rows[0]!.slot), holder: session.holder })
    )
  })
  const release = (lease: { readonly slot: number; readonly holder: Holder }) =>
    sql`UPDATE ${sql(table)} SET holder = NULL, taken_at = NULL
        WHERE slot = ${lease.slot} AND holder = ${lease.holder}`.pipe(
      Effect.retry(Schedule.spaced(Duration.millis(500)).pipe(Schedule.upTo(Duration.minutes(1)))),
      Effect.catchAll((error) =>
        Effect.logError(
          `ClusterLimit: could not give back slot ${lease.slot}; it stays taken until this runner's session ends`,
          error
        )
      )
    )
  const warn = (error: SqlError.SqlError) =>
    Effect.logWarning("ClusterLimit: could not look for a free slot; trying again in 500 ms", error).pipe(
      Effect.annotateLogs({ package: "effect-parallel-agents", module: "ClusterLimit" })
    )
  // One task of this process at a time looks for a slot; the others wait their turn here.
  const turn = yield* Effect.makeSemaphore(1)
  const sqlRetry = Schedule.spaced(Duration.millis(500))

  const withLease = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
    Effect.uninterruptibleMask((restore) => {
      let lease: { readonly slot: number; readonly holder: Holder } | undefined
      // A slot taken is recorded before anything can interrupt: it is given back whatever happens next.
      const take = Effect.uninterruptible(
        // The database unreachable: the task waits until it is back (the schedule never ends).
        Effect.map(Effect.orDie(Effect.retry(Effect.tapError(tryTake, warn), sqlRetry)), (taken) => {
          lease = taken
          return taken !== undefined
        })
      )
      const wait = turn.withPermits(1)(
        Effect.repeat(take, { until: (taken) => taken, schedule: Schedule.spaced(pollInterval) })
      )
      return restore(wait).pipe(
        Effect.zipRight(restore(effect)),
        Effect.ensuring(Effect.suspend(() => lease === undefined ? Effect.void : release(lease)))
      )
    }).pipe(Effect.withSpan("ClusterLimit.withLease", { captureStackTrace: false, attributes: { limit } }))

  return ClusterLimit.of({ limit, withLease })
})

// =============================================================================
// layers
// =============================================================================

/**
 * A cluster-wide limit in the PostgreSQL database in context (see `make`).
 *
 * @category layers
 * @since 0.1.0
 */
export const layer = (options: Options): Layer.Layer<ClusterLimit, SqlError.SqlError, SqlClient.SqlClient> =>
  Layer.scoped(ClusterLimit, make(options))

/**
 * The limit the cluster's settings give (`ClusterConfig`'s `globalConcurrency`, `CLUSTER_GLOBAL_CONCURRENCY`), in
 * its tables; `unlimited` when they give none.
 *
 * @category layers
 * @since 0.1.0
 */
export const layerFromConfig: Layer.Layer<
  ClusterLimit,
  SqlError.SqlError,
  ClusterConfig.ClusterConfig | SqlClient.SqlClient
> = Layer.scoped(
  ClusterLimit,
  Effect.flatMap(ClusterConfig.ClusterConfig, ({ sharding }) =>
    Option.match(sharding.globalConcurrency, {
      onNone: () => Effect.succeed(unlimited),
      onSome: (limit) => make({ limit, tablePrefix: sharding.tablePrefix })
    }))
)
