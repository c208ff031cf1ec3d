import * as Reactivity from "@effect/experimental/Reactivity"
import * as PgClient from "@effect/sql-pg/PgClient"
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { Config, ConfigProvider, Deferred, Effect, Either, Fiber, Redacted, Schedule, Schema } from "effect"
import * as net from "node:net"
import * as SqlRunJournal from "../../../services/store/SqlRunJournal.js"
import * as RunJournal from "../../../src/RunJournal.js"
import * as Postgres from "../../postgres.js"
import { entryOf } from "./fixtures.js"
import { type Backend, build, journalSuite, readAll, readInOrder } from "./journalSuite.js"

/**
 * The journal in a real PostgreSQL: one server for the file (test/postgres.ts), a database of its own per test.
 * Where the server cannot start the tests are skipped with the reason, unless REQUIRE_POSTGRES is set (CI): then
 * they fail.
 */

const installHint = "install it with `apt-get install -y postgresql` (Debian), or run `bash .ci/run`, which does"
const required = Boolean(process.env["REQUIRE_POSTGRES"])
let unavailable: string | undefined = Postgres.available() ? undefined : `PostgreSQL is not installed; ${installHint}`
// Reporters do not print a skipped test's reason, so it goes in the name when it is known before the tests run.
const note = unavailable !== undefined && !required ? ` [skipped: ${unavailable}]` : ""

let server: Awaited<ReturnType<typeof Postgres.start>> | undefined
beforeAll(async () => {
  if (unavailable === undefined) {
    try {
      server = await Postgres.start()
    } catch (error) {
      unavailable = `PostgreSQL did not start: ${error instanceof Error ? error.message : String(error)}`
    }
  }
  if (unavailable !== undefined && !required) {
    process.stderr.write(`Skipping the PostgreSQL journal tests: ${unavailable}\n`)
  }
}, 120_000)
afterAll(() => server?.stop(), 30_000)

/** Why the tests cannot run; fails the test instead when PostgreSQL is required. */
const skipReason = (): string | undefined => {
  if (unavailable !== undefined && required) assert.fail(`REQUIRE_POSTGRES is set but ${unavailable}`)
  return unavailable
}

let databases = 0
const database = Effect.promise(() =>
  server!.createDatabase(`journal_${++databases}_${Math.random().toString(36).slice(2, 8)}`)
)

const postgres: Backend = {
  name: "PostgreSQL",
  persistent: true,
  concurrentOpen: true,
  unavailable: skipReason,
  note,
  store: Effect.map(database, (url) => ({
    open: (options) => build(SqlRunJournal.layerPg({ url: Redacted.make(url), ...options }))
  }))
}

journalSuite(postgres)

describe("SqlRunJournal over PostgreSQL", () => {
  it.live(`a write that fails fails every record waiting for it with Write; the journal goes on after it${note}`, (ctx) => {
    const reason = skipReason()
    if (reason !== undefined) ctx.skip(reason)
    return Effect.scoped(Effect.gen(function*() {
      const url = yield* database
      const journal = yield* build(SqlRunJournal.layerPg({ url: Redacted.make(url) }))
      yield* journal.record("run", entryOf("before"))

      // Another session locks the table, so the journal's writes wait; the test then kills the journal's
      // connections that wait, as a failover or an administrator would, until every record has its answer.
      const admin = yield* PgClient.make({ url: Redacted.make(url) }).pipe(Effect.provide(Reactivity.layer))
      const locked = yield* Deferred.make<void>()
      const release = yield* Deferred.make<void>()
      const holder = yield* admin.withTransaction(
        admin`LOCK TABLE parallel_agents_journal_entries IN ACCESS EXCLUSIVE MODE`.pipe(
          Effect.zipRight(Deferred.succeed(locked, undefined)),
          Effect.zipRight(Deferred.await(release))
        )
      ).pipe(Effect.fork)
      yield* Deferred.await(locked)

      const records = yield* Effect.forEach(
        Array.from({ length: 50 }, (_, i) => entryOf(`doc-${i}`)),
        (entry) => Effect.either(journal.record("run", entry)),
        { concurrency: "unbounded" }
      ).pipe(Effect.fork)
      const killer = yield* admin`SELECT pg_terminate_backend(pid) FROM pg_stat_activity
        WHERE datname = current_database() AND application_name = 'effect-parallel-agents'
        AND wait_event_type = 'Lock'`.pipe(Effect.repeat(Schedule.spaced("20 millis")), Effect.fork)
      const results = yield* Fiber.join(records)
      yield* Fiber.interrupt(killer)
      for (const [i, result] of results.entries()) {
        assert(Either.isLeft(result), `record ${i} succeeded`)
        assert.strictEqual(result.left.reason, "Write")
        assert.match(result.left.message, /^Run journal: could not record \(run run, task doc-\d+\): .*terminat/)
      }

      yield* Deferred.succeed(release, undefined)
      yield* Fiber.join(holder)
      yield* journal.record("run", entryOf("after"))
      assert.deepStrictEqual((yield* readAll(journal, "run")).map((entry) => entry.taskId), ["after", "before"])
    }))
  })

  it.scoped(`layerPgConfig reads its URL from Config${note}`, (ctx) => {
    const reason = skipReason()
    if (reason !== undefined) ctx.skip(reason)
    return Effect.gen(function*() {
      const url = yield* database
      const layer = SqlRunJournal.layerPgConfig({ url: Config.redacted("JOURNAL_DATABASE_URL") })
      const journal = yield* build(layer).pipe(
        Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["JOURNAL_DATABASE_URL", url]])))
      )
      yield* journal.record("run", entryOf("doc"))
      assert.deepStrictEqual((yield* readAll(journal, "run")).map((entry) => entry.taskId), ["doc"])
      const missing = yield* Effect.flip(
        build(layer).pipe(Effect.withConfigProvider(ConfigProvider.fromMap(new Map())))
      )
      assert.include(String(missing), "JOURNAL_DATABASE_URL")
    })
  })

  it.scoped(`a journal made before entries had an order migrates: by the time they were recorded${note}`, (ctx) => {
    const reason = skipReason()
    if (reason !== undefined) ctx.skip(reason)
    return Effect.gen(function*() {
      const url = yield* database
      // The tables of the journal's first schema (migration 0001, its DDL as it was), and the migrator's record of it.
      const client = yield* PgClient.make({ url: Redacted.make(url) }).pipe(Effect.provide(Reactivity.layer))
      yield* client`CREATE TABLE parallel_agents_journal_runs (
        run_id TEXT COLLATE "C" PRIMARY KEY, agent TEXT NOT NULL, options TEXT, started_at BIGINT NOT NULL,
        starts INTEGER NOT NULL, resumed_at BIGINT, finished_at BIGINT)`
      yield* client`CREATE TABLE parallel_agents_journal_entries (
        run_id TEXT COLLATE "C" NOT NULL, task_id TEXT COLLATE "C" NOT NULL, input_hash TEXT NOT NULL,
        outcome TEXT NOT NULL, result TEXT NOT NULL, recorded_at BIGINT NOT NULL, PRIMARY KEY (run_id, task_id))`
      yield* client`CREATE TABLE parallel_agents_journal_migrations (
        migration_id integer primary key, created_at timestamp with time zone not null default now(),
        name text not null)`
      yield* client`INSERT INTO parallel_agents_journal_migrations (migration_id, name) VALUES (1, 'create_tables')`
      for (const [taskId, at] of [["doc-c", 10], ["doc-a", 10], ["doc-e", 20], ["doc-b", 30], ["doc-d", 30]] as const) {
        yield* client`INSERT INTO parallel_agents_journal_entries ${
          client.insert({
            run_id: "old-run",
            task_id: taskId,
            input_hash: `hash-of-${taskId}`,
            outcome: "Succeeded",
            result: JSON.stringify(entryOf(taskId).result),
            recorded_at: at
          })
        }`
      }
      const journal = yield* build(SqlRunJournal.layerPg({ url: Redacted.make(url) }))
      const order = Effect.map(readInOrder(journal, "old-run"), (entries) => entries.map((entry) => entry.taskId))
      assert.deepStrictEqual(yield* order, ["doc-a", "doc-c", "doc-e", "doc-b", "doc-d"])
      assert.deepStrictEqual((yield* readAll(journal, "old-run"))[0], entryOf("doc-a"))
      yield* journal.record("old-run", entryOf("doc-e"))
      assert.deepStrictEqual(yield* order, ["doc-a", "doc-c", "doc-b", "doc-d", "doc-e"])
    })
  })

  it.scoped("a server that does not answer fails with Open, and the URL's password is in no error", () =>
    Effect.gen(function*() {
      // A port nothing listens on.
      const port = yield* Effect.promise(() =>
        new Promise<number>((resolve) => {
          const probe = net.createServer().listen(0, "127.0.0.1", () => {
            const { port } = probe.address() as net.AddressInfo
            probe.close(() => resolve(port))
          })
        })
      )
      const error = yield* Effect.flip(Effect.scoped(build(
        SqlRunJournal.layerPg({ url: Redacted.make(`postgres://journal:s3cret-pw@127.0.0.1:${port}/runs`) })
      )))
      assert.strictEqual(error.reason, "Open")
      assert.match(error.message, /^Run journal: could not open the store: cannot connect to PostgreSQL: /)
      const everything = [
        error.message,
        String(error),
        JSON.stringify(error),
        JSON.stringify(Schema.encodeSync(RunJournal.RunJournalError)(error))
      ].join("\n")
      assert.notInclude(everything, "s3cret-pw")
    }))
})
