/**
 * The runs service's store (`RunStore`) over the run journal (`RunJournal`), so that runs and their results survive
 * a restart: with the journal in a SQLite file or PostgreSQL (`effect-parallel-agents/store`), a server started
 * again lists the runs of the one before, reads their results in the order they were recorded, their reports and
 * their events. Each run's record is kept with the run in the journal (its options), each result as the run's
 * entry for its task; the results of the runs of this process are also kept in memory while they run, so that
 * readers following a run live do not read the journal again.
 *
 * A run the journal holds that its record says is running, but that no runs service of this process runs, was
 * going when its process stopped: `Runs` shows it as `interrupted`, with the results it had recorded.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as RunJournal from "../../src/RunJournal.js"
import * as TaskResult from "../../src/TaskResult.js"
import * as Runs from "./Runs.js"
import * as RunStore from "./RunStore.js"

/**
 * @category models
 * @since 0.1.0
 */
export interface Options {
  /**
   * How many finished runs of this process keep their results in memory too, besides the journal (the most
   * recently finished ones); older ones are read from the journal.
   *
   * @default 20
   */
  readonly keepResults?: number | undefined
}

/** How the record is kept in the journal: the run's options, under a key of its own. */
const Record = Schema.Struct({ httpRun: Runs.RunInfo })

const decodeRecord = Schema.decodeUnknownOption(Record)
const encodeRecord = Schema.encodeSync(Record)

const storeError = (operation: string) => (error: RunJournal.RunJournalError | ParseResult.ParseError) =>
  new RunStore.RunStoreError({
    operation,
    description: error._tag === "ParseError"
      ? `a stored result could not be read back: ${ParseResult.TreeFormatter.formatErrorSync(error)}`
      : error.message,
    cause: error
  })

const numberOr = (value: unknown, fallback: number) =>
  typeof value === "number" && Number.isFinite(value) ? value : fallback

/**
 * A run's record from what the journal holds of it. A run the HTTP API recorded gets its record back, with its
 * tasks by outcome as the journal counts them when it was running (its record was saved when it started). A run
 * recorded otherwise (`parallel-agents run --journal`) gets a record made from its marker and counts.
 */
const toInfo = (run: RunJournal.RunInfo): Runs.RunInfo => {
  const record = decodeRecord(run.options)
  if (Option.isSome(record)) {
    const info = record.value.httpRun
    if (info.state !== "running") return info
    return {
      ...info,
      summary: run.recorded,
      endedAt: run.lastRecordedAt ?? null,
      stats: {
        ...info.stats,
        wallMillis: info.startedAt === null || run.lastRecordedAt === undefined
          ? 0
          : Math.max(0, run.lastRecordedAt - info.startedAt)
      }
    }
  }
  const options = typeof run.options === "object" && run.options !== null
    ? run.options as { readonly [key: string]: unknown }
    : {}
  const startedAt = run.startedAt ?? run.lastRecordedAt ?? 0
  const endedAt = run.finishedAt ?? run.lastRecordedAt ?? null
  return {
    id: run.runId,
    agent: run.agent ?? "",
    state: run.finishedAt === undefined ? "running" : "finished",
    createdAt: startedAt,
    startedAt,
    endedAt,
    options: {
      concurrency: numberOr(options["concurrency"], 0),
      timeoutMillis: null,
      retries: numberOr(options["retries"], 0),
      deadlineMillis: null
    },
    tasks: numberOr(options["tasks"], run.recorded.total),
    summary: run.recorded,
    inFlight: 0,
    stats: {
      wallMillis: endedAt === null ? 0 : Math.max(0, endedAt - startedAt),
      busyMillis: 0,
      peakInFlight: 0,
      retries: 0,
      requests: 0,
      inputTokens: 0,
      outputTokens: 0
    },
    lastEventId: 0,
    eventStreams: 0,
    error: null
  }
}

interface Cached {
  readonly results: Array<TaskResult.TaskResult<unknown, unknown>>
  finished: boolean
}

/**
 * A store over the `RunJournal` in context.
 *
 * **Details**
 *
 * `save` replaces the run's options in the journal with its record (`RunJournal.update`), and marks it finished
 * once it has ended. `append` records each result under the run's id and its task's id, with its input's hash
 * (`RunJournal.hashInput`), as `TaskResult.schema()` encodes it; the results of one call are recorded together,
 * and the call completes once the journal has committed them. `results` of a run of another process reads its
 * entries in the order they were recorded. The journal keeps one result per task id: a run given two tasks of one
 * id keeps the last one's.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = (options?: Options): Effect.Effect<RunStore.Service, never, RunJournal.RunJournal> =>
  Effect.gen(function*() {
    const journal = yield* RunJournal.RunJournal
    const keepResults = Math.max(0, options?.keepResults ?? 20)
    const schema = TaskResult.schema()
    const encode = Schema.encode(schema)
    const decode = Schema.decodeUnknown(schema)
    const cache = new Map<string, Cached>()
    // Finished runs whose results are cached, the oldest first.
    const finished: Array<string> = []

    const save = (info: Runs.RunInfo) =>
      Effect.gen(function*() {
        yield* journal.update({ runId: info.id, agent: info.agent, options: encodeRecord({ httpRun: info }) })
        const cached = cache.get(info.id)
        if (info.state === "running") {
          if (cached === undefined) cache.set(info.id, { results: [], finished: false })
          return
        }
        yield* journal.finish(info.id)
        if (cached !== undefined && !cached.finished) {
          cached.finished = true
          finished.push(info.id)
          while (finished.length > keepResults) cache.delete(finished.shift()!)
        }
      }).pipe(Effect.mapError(storeError("save")), Effect.withSpan("RunStore.save", { attributes: { runId: info.id } }))

    const append = (id: string, results: ReadonlyArray<TaskResult.TaskResult<unknown, unknown>>) =>
      Effect.forEach(
        results,
        (result) =>
          Effect.flatMap(
            Effect.all([
              // An input that is not JSON has no hash: its result is kept, under an empty one.
              Effect.orElseSucceed(RunJournal.hashInput(result.task.input), () => ""),
              Effect.mapError(encode(result), (error) =>
                new RunJournal.RunJournalError({
                  reason: "Encode",
                  runId: id,
                  taskId: result.taskId,
                  description: ParseResult.TreeFormatter.formatErrorSync(error),
                  cause: error
                }))
            ]),
            ([inputHash, encoded]) =>
              journal.record(id, { taskId: result.taskId, inputHash, outcome: result._tag, result: encoded })
          ),
        // Recorded at once, so that the journal commits them together.
        { concurrency: "unbounded", discard: true }
      ).pipe(
        Effect.tap(() =>
          Effect.sync(() => {
            const cached = cache.get(id)
            if (cached !== undefined) { for (const result of results) cached.results.push(result) }
          })
        ),
        Effect.mapError(storeError("append")),
        Effect.withSpan("RunStore.append", { attributes: { runId: id, results: results.length } })
      )

    const results = (id: string, from: number) =>
      Effect.suspend(() => {
        const cached = cache.get(id)
        if (cached !== undefined) return Effect.succeed(cached.results.slice(from))
        return journal.entries(id).pipe(
          Stream.drop(from),
          Stream.mapEffect((entry) => decode(entry.result)),
          Stream.runCollect,
          Effect.map((chunk) => Array.from(chunk) as ReadonlyArray<TaskResult.TaskResult<unknown, unknown>>),
          Effect.mapError(storeError("results")),
          Effect.withSpan("RunStore.results", { attributes: { runId: id } })
        )
      })

    return RunStore.RunStore.of({
      save,
      get: (id) => Effect.mapBoth(journal.run(id), { onFailure: storeError("get"), onSuccess: Option.map(toInfo) }),
      list: Effect.mapBoth(journal.runs, {
        onFailure: storeError("list"),
        onSuccess: (runs) => runs.map(toInfo)
      }),
      append,
      results
    })
  })

/**
 * The store over the journal as a layer: provide a `RunJournal` (`SqlRunJournal.layerSqlite({ filename })`).
 *
 * **Example** (Runs that survive a restart, in a SQLite file)
 *
 * ```ts
 * import { JournalRunStore } from "effect-parallel-agents/http"
 * import { SqlRunJournal } from "effect-parallel-agents/store"
 * import { Layer } from "effect"
 *
 * const StoreLive = JournalRunStore.layer().pipe(
 *   Layer.provide(SqlRunJournal.layerSqlite({ filename: "runs.db" }))
 * )
 * ```
 *
 * @category layers
 * @since 0.1.0
 */
export const layer = (options?: Options): Layer.Layer<RunStore.RunStore, never, RunJournal.RunJournal> =>
  Layer.effect(RunStore.RunStore, make(options))
