import * as Reactivity from "@effect/experimental/Reactivity"
import * as LibsqlClient from "@effect/sql-libsql/LibsqlClient"
import { assert, describe, it } from "@effect/vitest"
import { Chunk, Deferred, Effect, Either, Fiber, Option, Stream } from "effect"
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import { createRequire } from "node:module"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"
import * as SqlRunJournal from "../../../services/store/SqlRunJournal.js"
import { entryOf } from "./fixtures.js"
import { type Backend, build, journalSuite, readAll } from "./journalSuite.js"

const tempDir = Effect.acquireRelease(
  Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "journal-test-"))),
  (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
)

/** The journal in SQLite files, each test's in a temporary folder of its own. */

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
        ["p1", "p2", "p3"],
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
      assert.deepStrictEqual((yield* readAll(journal, "run")).map((entry) => entry.taskId), ["p1", "p2", "p3"])
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
      assert.include((yield* open({ filename, batchSize: 0 })).message, "batchSize must be a positive integer up to")
      assert.include((yield* open({ filename, batchSize: 6000 })).message, "up to 5000, got 6000")
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

  it.scoped("a journal made before entries had an order migrates: its entries come back by the time they were recorded", () =>
    Effect.gen(function*() {
      // Made by the journal's first schema (migration 0001 only): one run, five entries recorded in three batches
      // (doc-c and doc-a, then doc-e, then doc-b and doc-d), finished.
      const filename = path.join(yield* tempDir, "journal.db")
      fs.copyFileSync(new URL("fixtures/journal-0001.db", import.meta.url), filename)
      const journal = yield* build(SqlRunJournal.layerSqlite({ filename }))
      const order = Effect.map(
        Stream.runCollect(journal.entries("old-run")),
        (chunk) => Chunk.toArray(chunk).map((entry) => `${entry.taskId}:${entry.outcome}`)
      )
      // Within a batch (one time), by task id.
      assert.deepStrictEqual(yield* order, [
        "doc-a:Succeeded",
        "doc-c:Succeeded",
        "doc-e:Failed",
        "doc-b:Succeeded",
        "doc-d:Succeeded"
      ])
      const info = Option.getOrThrow(yield* journal.run("old-run"))
      assert.strictEqual(info.agent, "classifier")
      assert.deepStrictEqual(info.options, { tasks: "docs.jsonl", concurrency: 4 })
      assert.isDefined(info.finishedAt)
      assert.deepStrictEqual(info.recorded, { total: 5, succeeded: 4, failed: 1, timedOut: 0, interrupted: 0 })
      // A result recorded now goes after them, a task recorded again too.
      yield* journal.record("old-run", entryOf("doc-f"))
      yield* journal.record("old-run", entryOf("doc-e"))
      assert.deepStrictEqual(
        (yield* order).map((line) => line.split(":")[0]),
        ["doc-a", "doc-c", "doc-b", "doc-d", "doc-f", "doc-e"]
      )
      const client = yield* LibsqlClient.make({ url: `file:${filename}` }).pipe(Effect.provide(Reactivity.layer))
      assert.deepStrictEqual(
        (yield* client<
          { readonly name: string }
        >`SELECT name FROM parallel_agents_journal_migrations ORDER BY migration_id`)
          .map((row) => row.name),
        ["create_tables", "entry_order"]
      )
    }))
})
