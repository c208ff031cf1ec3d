/**
 * The per-run lock of `parallel-agents run --journal`, on real processes: a run deletes its lock file when it ends,
 * but never one another process holds, and a process that waited on a lock file that was deleted meanwhile does not
 * count it as held (it would run the run beside the process that takes the new file).
 */
import * as Reactivity from "@effect/experimental/Reactivity"
import { NodeContext } from "@effect/platform-node"
import * as LibsqlClient from "@effect/sql-libsql/LibsqlClient"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Option, Schedule, Scope } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import * as SqlRunJournal from "../../../services/store/SqlRunJournal.js"
import { documents, run, start, tempDirectory, writeLines } from "./process.js"

/** Whether the journal holds the run's start marker: the process that wrote it holds the run's lock. */
const started = (journal: string, runId: string) =>
  Effect.scoped(Effect.gen(function*() {
    if (!fs.existsSync(journal)) return false
    const sql = yield* LibsqlClient.make({ url: `file:${journal}` })
    const rows = yield* sql<
      { n: number }
    >`SELECT count(*) AS n FROM parallel_agents_journal_runs WHERE run_id = ${runId}`
    return Number(rows[0]?.n ?? 0) > 0
  })).pipe(Effect.provide(Reactivity.layer), Effect.orElseSucceed(() => false))

/** Whether the process has the file open (one of its descriptors links to it). */
const hasOpen = (pid: number, file: string) =>
  Effect.sync(() => {
    try {
      return fs.readdirSync(`/proc/${pid}/fd`).some((fd) => {
        try {
          return fs.readlinkSync(`/proc/${pid}/fd/${fd}`) === file
        } catch {
          return false
        }
      })
    } catch {
      return false
    }
  })

describe("parallel-agents (a process): the lock of a run", () => {
  it.scopedLive(
    "a lock file another process holds is never deleted; the run is refused and the file stays",
    () =>
      Effect.gen(function*() {
        const directory = yield* tempDirectory
        yield* writeLines(path.join(directory, "tasks.jsonl"), documents(2))
        const locks = path.join(directory, ".runs.db.locks")
        fs.mkdirSync(locks)
        const lock = path.join(locks, "r.lock")
        const held = yield* SqlRunJournal.lockSqlite(lock)
        assert(Option.isSome(held))
        const refused = yield* run(
          ["run", "-i", "tasks.jsonl", "-a", "classify", "--journal", "runs.db", "--run-id", "r"],
          { directory, env: { AGENT_OFFLINE_LATENCY: "1 millis" } }
        )
        assert.strictEqual(refused.exitCode, 2, refused.stderr)
        assert.include(refused.stderr, "run r is going on in another process")
        assert.isTrue(fs.existsSync(lock))
      }).pipe(Effect.provide(NodeContext.layer)),
    { timeout: 120_000 }
  )

  it.scopedLive(
    "a process that waited on a lock file deleted meanwhile takes the new one: the run is never held twice",
    () =>
      Effect.gen(function*() {
        const directory = yield* tempDirectory
        yield* writeLines(path.join(directory, "tasks.jsonl"), documents(1))
        const locks = path.join(directory, ".runs.db.locks")
        fs.mkdirSync(locks)
        const lock = path.join(locks, "r.lock")
        // This process holds the run's lock, as a run that is ending would.
        const first = yield* Scope.make()
        assert(Option.isSome(yield* Scope.extend(SqlRunJournal.lockSqlite(lock), first)))
        const second = yield* start(
          ["run", "-i", "tasks.jsonl", "-a", "classify", "--journal", "runs.db", "--run-id", "r"],
          { directory, env: { AGENT_OFFLINE_LATENCY: "4 seconds" } }
        )
        yield* Effect.gen(function*() {
          // Once the other process has the lock file open (it waits for the lock, 2 s at most), the run "ends" here:
          // its lock file deleted while held, then the lock let go. The other process then gets the lock of a file
          // that is no longer the run's.
          yield* hasOpen(second.process.pid, lock).pipe(
            Effect.repeat({ schedule: Schedule.spaced("5 millis"), until: (open) => open }),
            Effect.timeout("60 seconds")
          )
          fs.unlinkSync(lock)
          yield* Scope.close(first, Exit.void)
          // It starts the run once it holds the lock of the file now at the path; no one else can take that one.
          yield* started(path.join(directory, "runs.db"), "r").pipe(
            Effect.repeat({ schedule: Schedule.spaced("20 millis"), until: (yes) => yes }),
            Effect.timeout("30 seconds")
          )
          assert.isTrue(fs.existsSync(lock))
          const third = yield* Effect.scoped(SqlRunJournal.lockSqlite(lock))
          assert(Option.isNone(third), "the run's lock was free while a process ran it")
        }).pipe(
          Effect.timeout("90 seconds"),
          Effect.onError(() => Effect.ignore(second.process.kill("SIGKILL")))
        )
        const done = yield* second.done
        assert.strictEqual(done.exitCode, 0, done.stderr)
        assert.deepStrictEqual(fs.readdirSync(locks), [])
      }).pipe(Effect.provide(NodeContext.layer)),
    { timeout: 180_000 }
  )
})
