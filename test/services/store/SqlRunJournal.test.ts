import * as Reactivity from "@effect/experimental/Reactivity"
import * as LibsqlClient from "@effect/sql-libsql/LibsqlClient"
import * as PgClient from "@effect/sql-pg/PgClient"
import { afterAll, assert, describe, it } from "@effect/vitest"
import { Context, Deferred, Effect, Either, Fiber, Layer, Redacted, Schedule, Schema } from "effect"
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import { createRequire } from "node:module"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"
import * as SqlRunJournal from "../../../services/store/SqlRunJournal.js"
import * as RunJournal from "../../../src/RunJournal.js"
import * as Postgres from "../../postgres.js"
import { entryOf } from "./fixtures.js"
import { type Backend, journalSuite, readAll } from "./journalSuite.js"

const tempDir = Effect.acquireRelease(
  Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "journal-test-"))),
  (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
)

const build = <E>(layer: Layer.Layer<RunJournal.RunJournal, E>) =>
  Effect.map(Layer.build(layer), Context.get(RunJournal.RunJournal))

// =============================================================================
// SQLite
// =============================================================================

const sqlite: Backend = {
  name: "SQLite",
  persistent: true,
  concurrentOpen: false,
  store: Effect.map(tempDir, (dir) => ({
    open: (options) => build(SqlRunJournal.layerSqlite({ filename: path.join(dir, "journal.db"), ...options }))
  }))
}

journalSuite(sqlite)

describe("SqlRunJournal over SQLite", () => {
  it.scoped("a write that fails fails every record waiting for it with Write; the journal goes on after it", () =>
    Effect.gen(function*() {
      const filename = path.join(yield* tempDir, "journal.db")
      const journal = yield* build(SqlRunJournal.layerSqlite({ filename, busyTimeout: "100 millis" }))
      yield* journal.record("run", entryOf("before"))

      // Another connection, as another process would, holds the write lock.
      const other = yield* LibsqlClient.make({ url: `file:${filename}` }).pipe(Effect.provide(Reactivity.layer))
      const locked = yield* Deferred.make<void>()
      const release = yield* Deferred.make<void>()
      const holder = yield* other.withTransaction(
        Effect.zipRight(Deferred.succeed(locked, undefined), Deferred.await(release))
      ).pipe(Effect.fork)
      yield* Deferred.await(locked)

      const results = yield* Effect.forEach(
        Array.from({ length: 50 }, (_, i) => entryOf(`doc-${i}`)),
        (entry) => Effect.either(journal.record("run", entry)),
        { concurrency: "unbounded" }
      )
      for (const [i, result] of results.entries()) {
        assert(Either.isLeft(result), `record ${i} succeeded`)
        assert.strictEqual(result.left.reason, "Write")
        assert.strictEqual(result.left.taskId, `doc-${i}`)
        assert.match(
          result.left.message,
          /^Run journal: could not record \(run run, task doc-\d+\): .*database is locked/
        )
      }

      yield* Deferred.succeed(release, undefined)
      yield* Fiber.join(holder)
      yield* journal.record("run", entryOf("after"))
      assert.deepStrictEqual((yield* readAll(journal, "run")).map((entry) => entry.taskId), ["after", "before"])
    }))

  it.live("processes opening a new file at once all migrate it and record", () =>
    Effect.scoped(Effect.gen(function*() {
      const filename = path.join(yield* tempDir, "journal.db")
      const script = fileURLToPath(new URL("recordProcess.ts", import.meta.url))
      const tsx = pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href
      const exits = yield* Effect.forEach(
        ["p1", "p2", "p3", "p4"],
        (taskId) =>
          Effect.async<{ readonly code: number | null; readonly stderr: string }>((resume) => {
            const child = spawn(process.execPath, ["--import", tsx, script, filename, taskId], {
              stdio: ["ignore", "ignore", "pipe"]
            })
            let stderr = ""
            child.stderr.on("data", (data) => (stderr += data))
            child.on("exit", (code) => resume(Effect.succeed({ code, stderr })))
            return Effect.sync(() => child.kill("SIGKILL"))
          }),
        { concurrency: "unbounded" }
      )
      assert.deepStrictEqual(exits, exits.map(({ stderr }) => ({ code: 0, stderr })))
      const journal = yield* build(SqlRunJournal.layerSqlite({ filename }))
      assert.deepStrictEqual((yield* readAll(journal, "run")).map((entry) => entry.taskId), ["p1", "p2", "p3", "p4"])
    })))

  it.scoped("opening fails with Open and says why", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const open = (options: SqlRunJournal.SqliteOptions) =>
        Effect.flip(Effect.scoped(build(SqlRunJournal.layerSqlite(options))))

      const missing = yield* open({ filename: path.join(dir, "no-such-folder", "journal.db") })
      assert.strictEqual(missing.reason, "Open")
      assert.match(
        missing.message,
        /^Run journal: could not open the store: cannot open .*no-such-folder.*journal\.db: /
      )

      const notADatabase = path.join(dir, "notes.txt")
      fs.writeFileSync(notADatabase, "these are notes, not a database ".repeat(200))
      const wrongFile = yield* open({ filename: notADatabase })
      assert.strictEqual(wrongFile.reason, "Open")
      assert.include(wrongFile.message, "notes.txt")
      assert.include(wrongFile.message, "not a database")

      const memory = yield* open({ filename: ":memory:" })
      assert.include(
        memory.message,
        "the SQLite journal needs a file; RunJournal.layerMemory keeps a journal in memory"
      )

      const filename = path.join(dir, "journal.db")
      assert.include((yield* open({ filename, prefix: "bad prefix;" })).message, "the table prefix must be letters")
      assert.include((yield* open({ filename, batchSize: 0 })).message, "batchSize must be a positive integer, got 0")
      assert.include((yield* open({ filename, pageSize: 1.5 })).message, "pageSize must be a positive integer")
      assert.include((yield* open({ filename, busyTimeout: "soon" as never })).message, "busyTimeout is not a duration")
    }))

  it.scoped("the file is the one named, whatever characters its name has, in WAL mode", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const filename = path.join(dir, "runs of 100% #1?.db")
      yield* Effect.scoped(
        Effect.flatMap(
          build(SqlRunJournal.layerSqlite({ filename })),
          (journal) => journal.record("run", entryOf("doc"))
        )
      )
      // With its write-ahead log beside it.
      assert.deepStrictEqual(
        fs.readdirSync(dir).filter((name) => !name.endsWith("-wal") && !name.endsWith("-shm")),
        ["runs of 100% #1?.db"]
      )
      const client = yield* LibsqlClient.make({ url: `file:${path.join(dir, "runs of 100%25 %231%3F.db")}` }).pipe(
        Effect.provide(Reactivity.layer)
      )
      assert.deepStrictEqual(yield* client`PRAGMA journal_mode`, [{ journal_mode: "wal" }])
      assert.deepStrictEqual(
        yield* client`SELECT run_id, task_id, outcome FROM parallel_agents_journal_entries`,
        [{ run_id: "run", task_id: "doc", outcome: "Succeeded" }]
      )
    }))

  it.scoped("journals with different prefixes in one file are separate", () =>
    Effect.gen(function*() {
      const filename = path.join(yield* tempDir, "shared.db")
      const a = yield* build(SqlRunJournal.layerSqlite({ filename, prefix: "app_a" }))
      const b = yield* build(SqlRunJournal.layerSqlite({ filename, prefix: "app_b" }))
      yield* a.record("run", entryOf("from-a"))
      yield* b.record("run", entryOf("from-b"))
      assert.deepStrictEqual((yield* readAll(a, "run")).map((entry) => entry.taskId), ["from-a"])
      assert.deepStrictEqual((yield* readAll(b, "run")).map((entry) => entry.taskId), ["from-b"])
    }))
})

// =============================================================================
// PostgreSQL
// =============================================================================

const installHint = "install it with `apt-get install -y postgresql` (Debian), or run `bash .ci/run`, which does"
const pgMissing = !Postgres.available()
const pgRequired = Boolean(process.env["REQUIRE_POSTGRES"])
const pgSkip = pgMissing && !pgRequired ? `PostgreSQL is not installed; ${installHint}` : undefined
if (pgSkip !== undefined) process.stderr.write(`Skipping the PostgreSQL journal tests: ${pgSkip}\n`)

/** One server for the file, started on first use; each test has a database of its own. */
let server: ReturnType<typeof Postgres.start> | undefined
const serverOnce = () => (server ??= Postgres.start())
afterAll(async () => {
  if (server !== undefined) await (await server).stop()
}, 30_000)

let databases = 0
const database = Effect.suspend(() => {
  if (pgMissing) {
    return Effect.dieMessage(`REQUIRE_POSTGRES is set but PostgreSQL is not installed: ${installHint}`)
  }
  const name = `journal_${++databases}_${Math.random().toString(36).slice(2, 8)}`
  return Effect.promise(async () => (await serverOnce()).createDatabase(name))
})

const postgres: Backend = {
  name: "PostgreSQL",
  persistent: true,
  concurrentOpen: true,
  skip: pgSkip,
  store: Effect.map(database, (url) => ({
    open: (options) => build(SqlRunJournal.layerPg({ url: Redacted.make(url), ...options }))
  }))
}

journalSuite(postgres)

describe("SqlRunJournal over PostgreSQL", () => {
  const skipped = pgSkip === undefined ? "" : ` [skipped: ${pgSkip}]`

  it.live(`a write that fails fails every record waiting for it with Write; the journal goes on after it${skipped}`, (ctx) => {
    if (pgSkip !== undefined) ctx.skip(pgSkip)
    return Effect.scoped(Effect.gen(function*() {
      const url = yield* database
      const journal = yield* build(SqlRunJournal.layerPg({ url: Redacted.make(url) }))
      yield* journal.record("run", entryOf("before"))

      // Another session locks the table, so the journal's writes wait; the test then kills the journal's
      // connections that wait, as a failover or an administrator would.
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
