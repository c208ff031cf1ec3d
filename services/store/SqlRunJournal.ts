/**
 * The run journal (`RunJournal`) in a SQL database through `@effect/sql`: SQLite in one file (`layerSqlite`, with
 * `@effect/sql-libsql`: no server, nothing to compile), or PostgreSQL (`layerPg`, with `@effect/sql-pg`) for a
 * journal several processes share. `@effect/sql`'s migrator creates its tables. Records made at the same time are
 * written together, one statement per batch (group commit), and each caller resumes once its batch is committed.
 *
 * @since 0.1.0
 */
import * as Reactivity from "@effect/experimental/Reactivity"
import * as Migrator from "@effect/sql/Migrator"
import * as SqlClient from "@effect/sql/SqlClient"
import type * as Statement from "@effect/sql/Statement"
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Clock from "effect/Clock"
import * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Mailbox from "effect/Mailbox"
import * as Option from "effect/Option"
import { hasProperty } from "effect/Predicate"
import type * as Redacted from "effect/Redacted"
import * as Scheduler from "effect/Scheduler"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as RunJournal from "../../src/RunJournal.js"

const timers = globalThis as unknown as {
  readonly setImmediate?: (task: () => void) => unknown
  readonly setTimeout: (task: () => void, millis: number) => unknown
}
const nextTurn: Scheduler.Scheduler = Scheduler.make(
  timers.setImmediate !== undefined ? (task) => timers.setImmediate!(task) : (task) => timers.setTimeout(task, 0)
)

// =============================================================================
// options
// =============================================================================

/**
 * @category models
 * @since 0.1.0
 */
export interface Options {
  /**
   * The prefix of the journal's tables: `<prefix>_runs`, `<prefix>_entries` and `<prefix>_migrations`, so that
   * the journal can share a database with an app's own tables and migrations. Letters, digits and `_`.
   *
   * @default "parallel_agents_journal"
   */
  readonly prefix?: string | undefined
  /**
   * The most entries written in one statement, at most 5,000 (SQLite takes 32,766 values a statement, 6 a row).
   * Records waiting beyond it go in the next statement.
   *
   * @default 1000
   */
  readonly batchSize?: number | undefined
  /**
   * How many entries a read of a run's entries fetches per query; each page is one chunk of the stream. Keep it
   * to a few thousand: `Stream.runFold` recurses once per element of a chunk, and overflows the stack on chunks
   * of about 10,000 (effect 3.22).
   *
   * @default 1000
   */
  readonly pageSize?: number | undefined
}

/**
 * @category models
 * @since 0.1.0
 */
export interface SqliteOptions extends Options {
  /** The database file, relative to the working directory; created with its tables when missing (not its folder). */
  readonly filename: string
  /**
   * How long a statement waits for another process's lock on the file before it fails.
   *
   * @default "5 seconds"
   */
  readonly busyTimeout?: Duration.DurationInput | undefined
  /**
   * SQLite's `synchronous` setting. With `"normal"` a record completes once its batch is committed to the
   * write-ahead log: it survives the process being killed (a crash, `kill -9`), not a power loss, after which the
   * last batches may be missing and their tasks run again. With `"full"` each commit also waits for the disk
   * (an fsync per batch, about 1 to 6 ms here, during which the process does nothing else), and survives a power
   * loss.
   *
   * @default "normal"
   */
  readonly synchronous?: "full" | "normal" | undefined
}

/**
 * @category models
 * @since 0.1.0
 */
export interface PgOptions extends Options {
  /** `postgres://user:password@host:port/database`. */
  readonly url: Redacted.Redacted
  /**
   * The most connections the journal opens.
   *
   * @default 4
   */
  readonly maxConnections?: number | undefined
}

// =============================================================================
// constructors
// =============================================================================

const defaultPrefix = "parallel_agents_journal"

interface Pending {
  readonly runId: string
  readonly entry: RunJournal.Entry
  readonly result: string
  readonly deferred: Deferred.Deferred<void, RunJournal.RunJournalError>
}

interface EntryRow {
  readonly seq: Integer
  readonly task_id: string
  readonly input_hash: string
  readonly outcome: string
  readonly result: string
}

interface RunRow {
  readonly run_id: string
  readonly agent: string
  readonly options: string | null
  readonly started_at: Integer
  readonly starts: Integer
  readonly resumed_at: Integer | null
  readonly finished_at: Integer | null
}

/** PostgreSQL returns `BIGINT` and sums as strings, SQLite as numbers. */
type Integer = number | string

interface CountRow {
  readonly run_id: string
  readonly total: Integer
  readonly succeeded: Integer
  readonly failed: Integer
  readonly timed_out: Integer
  readonly interrupted: Integer
  readonly last: Integer | null
}

const describe = (error: unknown): string => {
  const message = hasProperty(error, "message") && typeof error.message === "string" ? error.message : String(error)
  const cause = hasProperty(error, "cause") && error.cause !== undefined ? describe(error.cause) : undefined
  return cause === undefined || cause === message ? message : `${message}: ${cause}`
}

const journalError = (
  reason: RunJournal.RunJournalError["reason"],
  cause: unknown,
  where?: { readonly runId?: string; readonly taskId?: string }
) =>
  new RunJournal.RunJournalError({
    reason,
    ...(where?.runId === undefined ? {} : { runId: where.runId }),
    ...(where?.taskId === undefined ? {} : { taskId: where.taskId }),
    description: describe(cause),
    cause
  })

const isOutcome = Schema.is(RunJournal.Outcome)

const toNumber = (value: Integer | null): number | undefined => value === null ? undefined : Number(value)

const positive = (name: string, value: number | undefined, fallback: number, max = Infinity) =>
  value === undefined
    ? Effect.succeed(fallback)
    : Number.isInteger(value) && value > 0 && value <= max
    ? Effect.succeed(value)
    : Effect.fail(
      new RunJournal.RunJournalError({
        reason: "Open",
        description: `${name} must be a positive integer${max === Infinity ? "" : ` up to ${max}`}, got ${
          String(value)
        }`
      })
    )

const migrations = (prefix: string) =>
  Migrator.fromRecord({
    "0001_create_tables": Effect.gen(function*() {
      const sql = (yield* SqlClient.SqlClient).withoutTransforms()
      // Ids compare byte by byte in PostgreSQL, as in SQLite, whatever the database's locale.
      const id = sql.onDialectOrElse({
        pg: () => sql.literal(`TEXT COLLATE "C"`),
        orElse: () => sql.literal("TEXT")
      })
      yield* sql`CREATE TABLE IF NOT EXISTS ${sql(`${prefix}_runs`)} (
        run_id ${id} PRIMARY KEY,
        agent TEXT NOT NULL,
        options TEXT,
        started_at BIGINT NOT NULL,
        starts INTEGER NOT NULL,
        resumed_at BIGINT,
        finished_at BIGINT
      )`
      yield* sql`CREATE TABLE IF NOT EXISTS ${sql(`${prefix}_entries`)} (
        run_id ${id} NOT NULL,
        task_id ${id} NOT NULL,
        input_hash TEXT NOT NULL,
        outcome TEXT NOT NULL,
        result TEXT NOT NULL,
        recorded_at BIGINT NOT NULL,
        PRIMARY KEY (run_id, task_id)
      )`
    }),
    // The order entries were recorded in, per run: `seq` goes up with each entry a run records. Entries of a journal
    // made before it are numbered by the time they were recorded (then by task id, within a batch).
    "0002_entry_order": Effect.gen(function*() {
      const sql = (yield* SqlClient.SqlClient).withoutTransforms()
      const entries = sql(`${prefix}_entries`)
      yield* sql`ALTER TABLE ${entries} ADD COLUMN seq BIGINT`
      yield* sql`UPDATE ${entries} SET seq = numbered.n
        FROM (
          SELECT run_id, task_id, ROW_NUMBER() OVER (PARTITION BY run_id ORDER BY recorded_at, task_id) AS n
          FROM ${entries}
        ) AS numbered
        WHERE ${entries}.run_id = numbered.run_id AND ${entries}.task_id = numbered.task_id`
      yield* sql`CREATE INDEX ${sql(`${prefix}_entries_order`)} ON ${entries} (run_id, seq, task_id)`
    })
  })

/**
 * A journal over the `SqlClient` in context (SQLite or PostgreSQL): creates or updates its tables with
 * `@effect/sql`'s migrator, then starts the writer that commits records in batches. Closing the scope writes what
 * is waiting, then stops the writer; a record after that fails with `Write`.
 *
 * **Details**
 *
 * A task has one entry per run: recording it again replaces the entry (the primary key is `(run_id, task_id)`).
 * Results and options are stored as JSON text. Each batch is one `INSERT ... ON CONFLICT DO UPDATE` statement of at
 * most `batchSize` rows, so it commits or fails as a whole; when it fails, every record of the batch fails with
 * `Write` and the writer goes on with the next batch. Each batch is traced as a `RunJournal.write` span with its
 * `rows`. Each entry gets the next number of its run (`seq`, from 1; the journal reads a run's last number once,
 * the first time it writes the run), and a run's entries are read back in that order, a page per query seeking in
 * the `(run_id, seq, task_id)` index. Migration `0002_entry_order` adds the numbers to a journal made before them,
 * in the order of the times its entries were recorded.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = (
  options?: Options
): Effect.Effect<RunJournal.Service, RunJournal.RunJournalError, SqlClient.SqlClient | Scope.Scope> =>
  Effect.gen(function*() {
    const sql = (yield* SqlClient.SqlClient).withoutTransforms()
    const prefix = options?.prefix ?? defaultPrefix
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(prefix)) {
      return yield* new RunJournal.RunJournalError({
        reason: "Open",
        description: `the table prefix must be letters, digits and _, got ${JSON.stringify(prefix)}`
      })
    }
    const batchSize = yield* positive("batchSize", options?.batchSize, 1000, 5000)
    const pageSize = yield* positive("pageSize", options?.pageSize, 1000)
    const supported = sql.onDialectOrElse({ pg: () => true, sqlite: () => true, orElse: () => false })
    if (!supported) {
      return yield* new RunJournal.RunJournalError({
        reason: "Open",
        description: "the journal supports SQLite and PostgreSQL only"
      })
    }

    // Two processes opening a new database at once may both try to create the migrations table; the one that
    // loses fails, and succeeds when it tries again.
    yield* Migrator.make({})({ loader: migrations(prefix), table: `${prefix}_migrations` }).pipe(
      // The migrator reports a migration that fails as a defect.
      Effect.catchAllDefect((defect) => Effect.fail(defect)),
      Effect.retry({ times: 2 }),
      Effect.mapError((error) => journalError("Open", error))
    )

    const runs = sql(`${prefix}_runs`)
    const entries = sql(`${prefix}_entries`)

    // === writes

    // The last `seq` of each run this journal wrote or read: a run's next entry takes the one after. The journal
    // reads it from the store the first time it writes a run (a run resumed after a restart goes on after its
    // entries). Two processes recording one run at the same time may number entries alike; they then come back by
    // task id.
    const lastSeq = new Map<string, number>()
    const readLastSeq = (batch: ReadonlyArray<Pending>) => {
      const unknown = Array.from(new Set(batch.map((pending) => pending.runId))).filter((id) => !lastSeq.has(id))
      if (unknown.length === 0) return Effect.void
      return Effect.map(
        sql<{ readonly run_id: string; readonly seq: Integer | null }>`SELECT run_id, MAX(seq) AS seq FROM ${entries}
          WHERE ${sql.in("run_id", unknown)} GROUP BY run_id`,
        (found) => {
          for (const id of unknown) lastSeq.set(id, 0)
          for (const row of found) lastSeq.set(row.run_id, Number(row.seq ?? 0))
        }
      )
    }

    const write = (batch: ReadonlyArray<Pending>) =>
      Effect.gen(function*() {
        yield* readLastSeq(batch)
        const recordedAt = yield* Clock.currentTimeMillis
        // One row per task: PostgreSQL refuses a statement that updates a row twice. The last record wins.
        const rows = new Map<string, Record<string, string | number>>()
        for (const { entry, result, runId } of batch) {
          const key = `${runId}\u0000${entry.taskId}`
          const seq = lastSeq.get(runId)! + 1
          lastSeq.set(runId, seq)
          // Deleted first, so that the row keeps the place of its last record.
          rows.delete(key)
          rows.set(key, {
            run_id: runId,
            task_id: entry.taskId,
            input_hash: entry.inputHash,
            outcome: entry.outcome,
            result,
            recorded_at: recordedAt,
            seq
          })
        }
        yield* sql`INSERT INTO ${entries} ${sql.insert(Array.from(rows.values()))}
          ON CONFLICT (run_id, task_id) DO UPDATE SET
            input_hash = excluded.input_hash,
            outcome = excluded.outcome,
            result = excluded.result,
            recorded_at = excluded.recorded_at,
            seq = excluded.seq`
      }).pipe(
        Effect.withSpan("RunJournal.write", { attributes: { rows: batch.length }, captureStackTrace: false }),
        Effect.exit,
        Effect.flatMap((exit) => {
          const failure = Exit.isFailure(exit) ? Cause.squash(exit.cause) : undefined
          return Effect.forEach(batch, ({ deferred, entry, runId }) =>
            Deferred.done(
              deferred,
              failure === undefined ? Exit.void : Exit.fail(
                journalError("Write", failure, { runId, taskId: entry.taskId })
              )
            ), { discard: true })
        })
      )

    // The writer wakes on the next turn of the event loop, so that the records made in one turn (the tasks that
    // ended in it) go in one statement: woken at once, it would write them one by one, as each arrives.
    const mailbox = yield* Effect.withScheduler(Mailbox.make<Pending>(), nextTurn)
    const writer = yield* Mailbox.toStream(mailbox).pipe(
      Stream.runForEachChunk((chunk) =>
        Effect.forEach(Chunk.chunksOf(chunk, batchSize), (batch) => write(Chunk.toReadonlyArray(batch)), {
          discard: true
        })
      ),
      Effect.forkScoped
    )
    // Runs before the writer is interrupted: what is waiting is written first.
    yield* Effect.addFinalizer(() => Effect.zipRight(mailbox.end, Fiber.await(writer)))

    const record = (runId: string, entry: RunJournal.Entry) =>
      Effect.flatMap(
        Effect.zip(encodeJson(entry.result, runId, entry.taskId), Deferred.make<void, RunJournal.RunJournalError>()),
        ([result, deferred]) =>
          mailbox.unsafeOffer({ deferred, entry, result, runId })
            ? Deferred.await(deferred)
            : Effect.fail(
              new RunJournal.RunJournalError({
                reason: "Write",
                runId,
                taskId: entry.taskId,
                description: "the journal is closed"
              })
            )
      )

    // === reads

    // One synchronous pass per page: a run may hold 100,000 entries. An entry that cannot be read back (damaged
    // outside the journal: a result that is not JSON, an outcome it does not know) is left out, with a warning: its
    // task has no result here, so a run that resumes runs it again and records its new result in its place. It
    // failed the whole read before, so that no task of the run could be replayed.
    const decodePage = (runId: string, rows: ReadonlyArray<EntryRow>) =>
      Effect.suspend(() => {
        const decoded: Array<RunJournal.Entry> = []
        let unreadable: Array<readonly [taskId: string, why: string]> | undefined
        for (let i = 0; i < rows.length; i++) {
          const row = rows[i]!
          const result = parseJson(row.result)
          if (result === parseFailure || !isOutcome(row.outcome)) {
            ;(unreadable ??= []).push([
              row.task_id,
              result === parseFailure ? "its result is not JSON" : `unknown outcome ${JSON.stringify(row.outcome)}`
            ])
            continue
          }
          decoded.push({ taskId: row.task_id, inputHash: row.input_hash, outcome: row.outcome, result })
        }
        if (unreadable === undefined) return Effect.succeed(decoded)
        return Effect.as(
          Effect.forEach(unreadable, ([taskId, why]) =>
            Effect.logWarning(
              `the journal's entry of task ${taskId} cannot be read back (${why}): it is left out, so that a run ` +
                `that resumes has no result for it, and it runs again`
            ).pipe(Effect.annotateLogs({ package: "effect-parallel-agents", module: "RunJournal", runId, taskId }))),
          decoded
        )
      })

    // Keyset pages in the order entries were recorded: each page starts after the last one's `(seq, task_id)`, a row
    // value both databases seek to in the `(run_id, seq, task_id)` index (an `OR` of the two columns reads slower).
    const page = (runId: string, after: Option.Option<readonly [Integer, string]>) =>
      (Option.isNone(after)
        ? sql<EntryRow>`SELECT seq, task_id, input_hash, outcome, result FROM ${entries}
            WHERE run_id = ${runId} ORDER BY seq, task_id LIMIT ${pageSize}`
        : sql<EntryRow>`SELECT seq, task_id, input_hash, outcome, result FROM ${entries}
            WHERE run_id = ${runId} AND (seq, task_id) > (${after.value[0]}, ${after.value[1]})
            ORDER BY seq, task_id LIMIT ${pageSize}`).pipe(
          Effect.mapError((error) => journalError("Read", error, { runId })),
          Effect.flatMap((rows) =>
            Effect.map(
              decodePage(runId, rows),
              (decoded) => {
                const last = rows[rows.length - 1]
                return [
                  Chunk.unsafeFromArray(decoded),
                  rows.length < pageSize || last === undefined
                    ? Option.none()
                    : Option.some(Option.some([last.seq, last.task_id] as const))
                ] as const
              }
            )
          )
        )

    const readRuns = (runId: string | undefined) =>
      Effect.gen(function*() {
        const where = runId === undefined ? sql`` : sql`WHERE run_id = ${runId}`
        const [markers, counts] = yield* Effect.all([
          sql<RunRow>`SELECT run_id, agent, options, started_at, starts, resumed_at, finished_at FROM ${runs} ${where}`,
          sql<CountRow>`SELECT run_id, COUNT(*) AS total,
              SUM(CASE WHEN outcome = 'Succeeded' THEN 1 ELSE 0 END) AS succeeded,
              SUM(CASE WHEN outcome = 'Failed' THEN 1 ELSE 0 END) AS failed,
              SUM(CASE WHEN outcome = 'TimedOut' THEN 1 ELSE 0 END) AS timed_out,
              SUM(CASE WHEN outcome = 'Interrupted' THEN 1 ELSE 0 END) AS interrupted,
              MAX(recorded_at) AS last
            FROM ${entries} ${where} GROUP BY run_id`
        ]).pipe(Effect.mapError((error) => journalError("Read", error, runId === undefined ? {} : { runId })))
        const markerOf = new Map(markers.map((row) => [row.run_id, row]))
        const countOf = new Map(counts.map((row) => [row.run_id, row]))
        const infos = yield* Effect.forEach(new Set([...markerOf.keys(), ...countOf.keys()]), (id) =>
          Effect.gen(function*() {
            const marker = markerOf.get(id)
            const count = countOf.get(id)
            const options = marker?.options ?? null
            return {
              runId: id,
              agent: marker?.agent,
              options: options === null ? undefined : yield* Effect.try({
                try: () =>
                  JSON.parse(options) as unknown,
                catch: (cause) => journalError("Decode", cause, { runId: id })
              }),
              startedAt: toNumber(marker?.started_at ?? null),
              starts: Number(marker?.starts ?? 0),
              resumedAt: toNumber(marker?.resumed_at ?? null),
              finishedAt: toNumber(marker?.finished_at ?? null),
              lastRecordedAt: toNumber(count?.last ?? null),
              recorded: {
                total: Number(count?.total ?? 0),
                succeeded: Number(count?.succeeded ?? 0),
                failed: Number(count?.failed ?? 0),
                timedOut: Number(count?.timed_out ?? 0),
                interrupted: Number(count?.interrupted ?? 0)
              }
            } satisfies RunJournal.RunInfo
          }))
        return infos.sort((a, b) =>
          (b.startedAt ?? -Infinity) - (a.startedAt ?? -Infinity) || (a.runId < b.runId ? -1 : 1)
        ) as ReadonlyArray<RunJournal.RunInfo>
      })

    // A run's marker, created as started now, or its agent and options replaced, and `more` set.
    const upsertRun = (run: RunJournal.RunStart, more: Statement.Fragment) =>
      Effect.gen(function*() {
        const encoded = run.options === undefined ? null : yield* encodeJson(run.options, run.runId)
        const now = yield* Clock.currentTimeMillis
        yield* sql`INSERT INTO ${runs} ${
          sql.insert({ run_id: run.runId, agent: run.agent, options: encoded, started_at: now, starts: 1 })
        }
          ON CONFLICT (run_id) DO UPDATE SET
            agent = excluded.agent,
            options = excluded.options${more}`.pipe(
          Effect.mapError((error) => journalError("Write", error, { runId: run.runId }))
        )
      })

    return RunJournal.RunJournal.of({
      record,
      entries: (runId) =>
        Stream.paginateChunkEffect(Option.none<readonly [Integer, string]>(), (after) => page(runId, after)).pipe(
          Stream.withSpan("RunJournal.entries", { attributes: { runId }, captureStackTrace: false })
        ),
      start: Effect.fn("RunJournal.start", { captureStackTrace: false })(function*(run: RunJournal.RunStart) {
        yield* upsertRun(
          run,
          sql`,
            starts = ${runs}.starts + 1,
            resumed_at = excluded.started_at,
            finished_at = NULL`
        )
      }),
      update: Effect.fn("RunJournal.update", { captureStackTrace: false })(function*(run: RunJournal.RunStart) {
        yield* upsertRun(run, sql``)
      }),
      finish: Effect.fn("RunJournal.finish", { captureStackTrace: false })(function*(runId: string) {
        const now = yield* Clock.currentTimeMillis
        yield* sql`UPDATE ${runs} SET finished_at = ${now} WHERE run_id = ${runId}`.pipe(
          Effect.mapError((error) => journalError("Write", error, { runId }))
        )
      }),
      run: Effect.fn("RunJournal.run", { captureStackTrace: false })(function*(runId: string) {
        const found = yield* readRuns(runId)
        return Option.fromNullable(found[0])
      }),
      runs: readRuns(undefined).pipe(Effect.withSpan("RunJournal.runs", { captureStackTrace: false }))
    })
  })

const parseFailure: unique symbol = Symbol("parseFailure")

const parseJson = (text: string): unknown => {
  try {
    return JSON.parse(text)
  } catch {
    return parseFailure
  }
}

const encodeJson = (value: unknown, runId: string, taskId?: string) =>
  Effect.try({
    try: () => JSON.stringify(value) as string | undefined,
    catch: (cause) => journalError("Encode", cause, { runId, ...(taskId === undefined ? {} : { taskId }) })
  }).pipe(
    Effect.filterOrFail(
      (text): text is string => text !== undefined,
      () =>
        new RunJournal.RunJournalError({
          reason: "Encode",
          runId,
          ...(taskId === undefined ? {} : { taskId }),
          description: `the value is ${typeof value}`
        })
    )
  )

// =============================================================================
// layers
// =============================================================================

/**
 * The journal over the app's `SqlClient` (see `make`). `layerSqlite` and `layerPg` build their own client.
 *
 * @category layers
 * @since 0.1.0
 */
export const layer = (
  options?: Options
): Layer.Layer<RunJournal.RunJournal, RunJournal.RunJournalError, SqlClient.SqlClient> =>
  Layer.scoped(RunJournal.RunJournal, make(options))

/** Loads an optional peer on first use, so that users install only the driver they use. */
const driver = <A>(name: string, load: () => Promise<A>) =>
  Effect.tryPromise({
    try: load,
    catch: (cause) =>
      new RunJournal.RunJournalError({
        reason: "Open",
        description: `cannot load ${name} (install it: npm install ${name}): ${describe(cause)}`,
        cause
      })
  })

/**
 * A `file:` URL for a path, relative to the working directory or absolute, as libsql reads it: each segment
 * percent-encoded, so that `?`, `#` and `%` stay in the name.
 */
const fileUrl = (filename: string): string =>
  (filename.startsWith("/") ? "file://" : "file:") + filename.split("/").map(encodeURIComponent).join("/")

/**
 * Holds an exclusive lock on a SQLite file (created if missing) for the scope: `Option.some(true)` once held,
 * `Option.none()` when another connection holds it (in this process or another). The lock is the file's own SQLite
 * lock, taken by a transaction left open: the operating system releases it with the process, so a process killed
 * with `kill -9` leaves no stale lock behind. The command line holds one per run, so that two processes never run
 * one run at once.
 *
 * @internal
 */
export const lockSqlite = (
  filename: string,
  options?: {
    /** How long to wait for a lock another connection holds, in milliseconds; 0 (the default) does not wait. */
    readonly wait?: number | undefined
  }
): Effect.Effect<Option.Option<true>, RunJournal.RunJournalError, Scope.Scope> =>
  Effect.gen(function*() {
    const LibsqlClient = yield* driver("@effect/sql-libsql", () => import("@effect/sql-libsql/LibsqlClient"))
    const open = (error: unknown) =>
      new RunJournal.RunJournalError({
        reason: "Open",
        description: `cannot lock ${filename}: ${describe(error)}`,
        cause: error
      })
    const client = yield* LibsqlClient.make({ url: fileUrl(filename) }).pipe(
      Effect.catchAllDefect((defect) => Effect.fail(defect)),
      Effect.mapError(open),
      Effect.provide(Reactivity.layer)
    )
    yield* Effect.mapError(client.unsafe(`PRAGMA busy_timeout = ${Math.max(0, Math.round(options?.wait ?? 0))}`), open)
    return yield* Effect.acquireRelease(
      client.unsafe("BEGIN EXCLUSIVE").pipe(
        Effect.as(Option.some(true as const)),
        Effect.catchAll((error) =>
          describe(error).includes("SQLITE_BUSY") ? Effect.succeed(Option.none()) : Effect.fail(open(error))
        )
      ),
      (held) => Option.isSome(held) ? Effect.ignore(client.unsafe("ROLLBACK")) : Effect.void
    )
  })

/**
 * The journal in a SQLite file, with `@effect/sql-libsql` (install it beside `@effect/sql`): the embedded default,
 * no server. The file is put in WAL mode, so that another process can read it (`parallel-agents runs`) while a run
 * writes.
 *
 * **Example** (A journal in a file)
 *
 * ```ts
 * import { SqlRunJournal } from "effect-parallel-agents/store"
 *
 * const JournalLive = SqlRunJournal.layerSqlite({ filename: "runs.db" })
 * ```
 *
 * @category layers
 * @since 0.1.0
 */
export const layerSqlite = (
  options: SqliteOptions
): Layer.Layer<RunJournal.RunJournal, RunJournal.RunJournalError> =>
  Layer.scoped(
    RunJournal.RunJournal,
    Effect.gen(function*() {
      if (options.filename === "" || options.filename.startsWith(":memory:")) {
        return yield* new RunJournal.RunJournalError({
          reason: "Open",
          description: "the SQLite journal needs a file; RunJournal.layerMemory keeps a journal in memory"
        })
      }
      const busyTimeout = Duration.decodeUnknown(options.busyTimeout ?? "5 seconds")
      if (Option.isNone(busyTimeout)) {
        return yield* new RunJournal.RunJournalError({
          reason: "Open",
          description: `busyTimeout is not a duration: ${String(options.busyTimeout)}`
        })
      }
      const filename = options.filename
      const LibsqlClient = yield* driver("@effect/sql-libsql", () => import("@effect/sql-libsql/LibsqlClient"))
      // intMode stays "number": the journal's integers are milliseconds and counts, all below 2^53.
      const client = yield* LibsqlClient.make({ url: fileUrl(filename) }).pipe(
        // The driver opens the file synchronously and throws when it cannot.
        Effect.catchAllDefect((defect) => Effect.fail(defect)),
        Effect.mapError((error) =>
          new RunJournal.RunJournalError({
            reason: "Open",
            description: `cannot open ${filename}: ${describe(error)}`,
            cause: error
          })
        ),
        Effect.provide(Reactivity.layer)
      )
      // Per connection; the driver opens a new one after each transaction (the migration), so they are set again.
      const pragmas = Effect.all([
        client.unsafe(`PRAGMA busy_timeout = ${Math.max(0, Math.round(Duration.toMillis(busyTimeout.value)))}`),
        client.unsafe(`PRAGMA synchronous = ${options.synchronous === "full" ? "FULL" : "NORMAL"}`)
      ]).pipe(
        Effect.mapError((error) =>
          new RunJournal.RunJournalError({
            reason: "Open",
            description: `cannot configure ${filename}: ${describe(error)}`,
            cause: error
          })
        )
      )
      yield* pragmas
      yield* client.unsafe("PRAGMA journal_mode = WAL").pipe(
        Effect.mapError((error) =>
          new RunJournal.RunJournalError({
            reason: "Open",
            description: `cannot open ${filename}: ${describe(error)}`,
            cause: error
          })
        )
      )
      const journal = yield* make(options).pipe(Effect.provideService(SqlClient.SqlClient, client))
      yield* pragmas
      return journal
    })
  )

/**
 * The journal in PostgreSQL, with `@effect/sql-pg` (install it beside `@effect/sql`), for a journal several
 * processes share. The URL is a secret: it is never logged or put in an error.
 *
 * **Example** (A journal in PostgreSQL, its URL read from the environment)
 *
 * ```ts
 * import { SqlRunJournal } from "effect-parallel-agents/store"
 * import { Config } from "effect"
 *
 * const JournalLive = SqlRunJournal.layerPgConfig({ url: Config.redacted("JOURNAL_DATABASE_URL") })
 * ```
 *
 * @category layers
 * @since 0.1.0
 */
export const layerPg = (options: PgOptions): Layer.Layer<RunJournal.RunJournal, RunJournal.RunJournalError> =>
  Layer.scoped(
    RunJournal.RunJournal,
    Effect.gen(function*() {
      const maxConnections = yield* positive("maxConnections", options.maxConnections, 4)
      const PgClient = yield* driver("@effect/sql-pg", () => import("@effect/sql-pg/PgClient"))
      const client = yield* PgClient.make({
        url: options.url,
        maxConnections,
        applicationName: "effect-parallel-agents"
      }).pipe(
        Effect.mapError((error) =>
          new RunJournal.RunJournalError({
            reason: "Open",
            description: `cannot connect to PostgreSQL: ${describe(error)}`,
            cause: error
          })
        ),
        Effect.provide(Reactivity.layer)
      )
      return yield* make(options).pipe(Effect.provideService(SqlClient.SqlClient, client))
    })
  )

/**
 * `layerPg` with its options read from `Config`.
 *
 * @category layers
 * @since 0.1.0
 */
export const layerPgConfig = (
  config: Config.Config.Wrap<PgOptions>
): Layer.Layer<RunJournal.RunJournal, RunJournal.RunJournalError | ConfigError.ConfigError> =>
  Layer.unwrapEffect(Effect.map(Config.unwrap(config), layerPg))
