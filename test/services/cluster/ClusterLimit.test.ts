/**
 * The cluster-wide limit in a real PostgreSQL: two "runners" (each its own limit and its own connection pool, so
 * its own database sessions) share one limit; a runner whose session ends (as when its process is killed) has its
 * leases taken by the other at once. The same with real runner processes and SIGKILL is in
 * ClusterLimit.process.test.ts.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import { assert } from "@effect/vitest"
import type { Scope } from "effect"
import { Deferred, Effect, Exit, Fiber, Layer, Option } from "effect"
import * as ClusterConfig from "../../../services/cluster/ClusterConfig.js"
import * as ClusterLimit from "../../../services/cluster/ClusterLimit.js"
import * as Cluster from "./cluster.js"

/** A limit on its own connection pool: what a runner process has. */
const limitOn = (url: string, limit: number, scope: Scope.Scope) =>
  Effect.gen(function*() {
    const context = yield* Layer.buildWithScope(
      ClusterLimit.layer({ limit, pollInterval: "10 millis" }).pipe(Layer.provideMerge(Cluster.client(url))),
      scope
    )
    return { limit: yield* Effect.provide(ClusterLimit.ClusterLimit, context), sql: context }
  })

Cluster.withPostgres("ClusterLimit", (it) => {
  it.scoped("two runners sharing a limit of 3 never run more than 3 tasks at once, and reach 3", () =>
    Effect.gen(function*() {
      const url = yield* Cluster.database
      const scope = yield* Effect.scope
      const a = yield* limitOn(url, 3, scope)
      const b = yield* limitOn(url, 3, scope)
      let running = 0
      let peak = 0
      const task = Effect.acquireUseRelease(
        Effect.sync(() => peak = Math.max(peak, ++running)),
        () => Effect.sleep("20 millis"),
        () => Effect.sync(() => running--)
      )
      yield* Effect.all([
        Effect.forEach(Array.from({ length: 30 }), () => a.limit.withLease(task), { concurrency: 10 }),
        Effect.forEach(Array.from({ length: 30 }), () => b.limit.withLease(task), { concurrency: 10 })
      ], { concurrency: "unbounded" })
      assert.strictEqual(peak, 3)
      assert.strictEqual(running, 0)
      // Every slot given back.
      const held = yield* Effect.flatMap(SqlClient.SqlClient, (sql) =>
        sql.unsafe<{ readonly n: number }>(
          "SELECT count(*)::int AS n FROM cluster_limit WHERE holder IS NOT NULL"
        )).pipe(Effect.provide(a.sql))
      assert.deepStrictEqual(held, [{ n: 0 }])
    }))

  it.scoped("the leases of a runner whose database session ends come back; an interrupted wait holds nothing", () =>
    Effect.gen(function*() {
      const url = yield* Cluster.database
      const scope = yield* Effect.scope
      const a = yield* limitOn(url, 2, scope)
      const b = yield* limitOn(url, 2, scope)
      // A takes both leases and keeps them.
      const forever = yield* Deferred.make<void>()
      const started = yield* Deferred.make<void>()
      let inA = 0
      const holding = yield* Effect.forkScoped(Effect.forEach(
        [1, 2],
        () =>
          a.limit.withLease(Effect.zipRight(
            Effect.sync(() => ++inA === 2 ? Deferred.unsafeDone(started, Exit.void) : undefined),
            Deferred.await(forever)
          )),
        { concurrency: "unbounded" }
      ))
      yield* Deferred.await(started)
      // B waits; a wait interrupted holds no lease.
      const waiting = yield* Effect.fork(b.limit.withLease(Effect.void))
      yield* Effect.sleep("300 millis")
      assert.isNull(waiting.unsafePoll())
      yield* Fiber.interrupt(waiting)
      // A's session ends (as when its process dies): B gets both leases at once, while A's tasks still "run".
      const sessions = yield* Effect.flatMap(SqlClient.SqlClient, (sql) =>
        sql.unsafe<{ readonly pid: number }>(
          `SELECT DISTINCT k.pid FROM cluster_limit l JOIN pg_locks k ON k.locktype = 'advisory' AND k.granted
           AND k.objsubid = 2 AND k.classid::bigint = ${ClusterConfig.lockSpace + 1} AND k.objid::bigint = l.holder`
        )).pipe(Effect.provide(a.sql))
      assert.strictEqual(sessions.length, 1)
      yield* Effect.flatMap(
        SqlClient.SqlClient,
        (sql) => sql.unsafe(`SELECT pg_terminate_backend(${sessions[0]!.pid})`)
      ).pipe(Effect.provide(b.sql))
      const both = yield* Effect.forEach([1, 2], () => b.limit.withLease(Effect.sleep("200 millis")), {
        concurrency: "unbounded"
      }).pipe(Effect.timeout("10 seconds"), Effect.option)
      assert.isTrue(Option.isSome(both), "B did not get the leases of A's ended session")
      yield* Fiber.interrupt(holding)
    }))

  it.effect("the global limit is a shared setting of the runners: a runner with another one is refused", () =>
    Effect.gen(function*() {
      const url = yield* Cluster.database
      const verify = (role: "runner" | "client", globalConcurrency: Option.Option<number>) =>
        ClusterConfig.verifyAs(role).pipe(
          Effect.provide(ClusterConfig.layer({ sharding: { globalConcurrency } })),
          Effect.provide(Cluster.client(url)),
          Effect.flip,
          Effect.option
        )
      assert.isTrue(Option.isNone(yield* verify("runner", Option.some(12))))
      const refused = yield* verify("runner", Option.none())
      assert.isTrue(Option.isSome(refused))
      assert.include(
        (refused as Option.Some<{ readonly message: string }>).value.message,
        "globalConcurrency is 12 in the cluster, none here"
      )
      // A coordinator does not enforce it, and need not know it.
      assert.isTrue(Option.isNone(yield* verify("client", Option.none())))
    }))
})
