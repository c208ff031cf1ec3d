/**
 * A journal of runs, so that a run that stops (a crash, a deploy, `kill -9`) resumes where it stopped and no
 * finished agent is called again. It records each task's final result under its run id and task id, with a hash of
 * the task's input, and gives them back when the run resumes. This module is the port and its reference layer in
 * memory; `effect-parallel-agents/store` keeps the journal in SQLite or PostgreSQL.
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import { sha256Hex } from "./internal/sha256.js"
import type * as RunReport from "./RunReport.js"

// =============================================================================
// models
// =============================================================================

/**
 * A task's outcome, as `TaskResult`'s tags name them.
 *
 * @category models
 * @since 0.1.0
 */
export const Outcome = Schema.Literal("Succeeded", "Failed", "TimedOut", "Interrupted")

/**
 * @category models
 * @since 0.1.0
 */
export type Outcome = typeof Outcome.Type

/**
 * What the journal holds for one task of a run.
 *
 * @category models
 * @since 0.1.0
 */
export interface Entry {
  readonly taskId: string
  /** The hash of the task's input when its result was recorded (see `hashInput`). */
  readonly inputHash: string
  /** The result's outcome, kept beside it so that runs can be counted without reading results. */
  readonly outcome: Outcome
  /**
   * The result as a JSON value (what `JSON.stringify` writes and `JSON.parse` reads back): the journal stores it
   * without reading it. The engine encodes and decodes it with its result schema.
   */
  readonly result: unknown
}

/**
 * The start marker of a run.
 *
 * @category models
 * @since 0.1.0
 */
export interface RunStart {
  readonly runId: string
  /** The agent's name. */
  readonly agent: string
  /** A JSON summary of the run's options (where its tasks came from, its concurrency...), for listings. */
  readonly options?: unknown
}

/**
 * A run as the journal knows it: its markers and its recorded results by outcome.
 *
 * @category models
 * @since 0.1.0
 */
export interface RunInfo {
  readonly runId: string
  /** From the start marker; `undefined` when the journal holds results of the run but no marker. */
  readonly agent: string | undefined
  /** From the start marker, as given to `start`. */
  readonly options: unknown
  /** When the run first started, in milliseconds since the epoch as the journal's `Clock` tells it. */
  readonly startedAt: number | undefined
  /** How many times the run was started: 1 for a run never resumed, 0 without a start marker. */
  readonly starts: number
  /** When the run last started, if it was resumed. */
  readonly resumedAt: number | undefined
  /** When the run finished, unless it was started again since. `undefined` for a run that stopped or is running. */
  readonly finishedAt: number | undefined
  /** When the last result was recorded. */
  readonly lastRecordedAt: number | undefined
  /** The recorded results by outcome; `total` is the number of tasks with a recorded result. */
  readonly recorded: RunReport.Summary
}

// =============================================================================
// errors
// =============================================================================

const reasons = {
  Open: "could not open the store",
  Write: "could not record",
  Read: "could not read",
  Encode: "a value is not JSON",
  Decode: "a stored value could not be read back"
} as const

/**
 * The journal's store failed: it could not be opened or migrated (`Open`), a write or a read failed (`Write`,
 * `Read`), a value given to it is not JSON (`Encode`), or a stored value is not what the journal wrote (`Decode`).
 * A failure of the store fails the run, not a task; a value that is not JSON fails only the call that gave it.
 *
 * @category errors
 * @since 0.1.0
 */
export class RunJournalError extends Schema.TaggedError<RunJournalError>("effect-parallel-agents/RunJournalError")(
  "RunJournalError",
  {
    reason: Schema.Literal("Open", "Write", "Read", "Encode", "Decode"),
    runId: Schema.optional(Schema.String),
    taskId: Schema.optional(Schema.String),
    description: Schema.optional(Schema.String),
    cause: Schema.optional(Schema.Defect)
  }
) {
  /**
   * @since 0.1.0
   */
  override get message(): string {
    const where = this.runId === undefined
      ? ""
      : ` (run ${this.runId}${this.taskId === undefined ? "" : `, task ${this.taskId}`})`
    return `Run journal: ${reasons[this.reason]}${where}` +
      (this.description === undefined ? "" : `: ${this.description}`)
  }
}

// =============================================================================
// service
// =============================================================================

/**
 * @category models
 * @since 0.1.0
 */
export interface Service {
  /**
   * Records a task's final result. The effect completes once the store has committed the entry, so a result can be
   * emitted after it; stores write concurrent calls together (group commit). Recording a task again replaces its
   * entry (a failed task retried on resume records its new result). Fails with `Encode` when `result` is not JSON
   * (that call only), with `Write` when the store fails (every call of the failed batch). Interrupting a call
   * does not withdraw its entry: it may still be written.
   */
  readonly record: (runId: string, entry: Entry) => Effect.Effect<void, RunJournalError>
  /**
   * Every entry of a run, in the order they were recorded (an entry recorded again moves to its new place), read
   * in pages. Entries recorded by one process come back in the order of its `record` calls; entries of a run that
   * several processes recorded at the same time are in an order close to it, not exact.
   */
  readonly entries: (runId: string) => Stream.Stream<Entry, RunJournalError>
  /**
   * Marks a run as started, or as started again when the journal knows it: `starts` goes up, `resumedAt` is now,
   * `finishedAt` is cleared, agent and options are replaced.
   */
  readonly start: (run: RunStart) => Effect.Effect<void, RunJournalError>
  /**
   * Replaces a run's agent and options, creating its marker (started now, `starts` 1) when the journal has none.
   * Unlike `start`, it counts no start and leaves `resumedAt` and `finishedAt` as they are: an app keeps its own
   * record of a run in the options (the HTTP API keeps a run's state and stats there).
   */
  readonly update: (run: RunStart) => Effect.Effect<void, RunJournalError>
  /** Marks a run as finished. */
  readonly finish: (runId: string) => Effect.Effect<void, RunJournalError>
  /** A run, if the journal holds a marker or a result of it. */
  readonly run: (runId: string) => Effect.Effect<Option.Option<RunInfo>, RunJournalError>
  /** Every run the journal holds, the most recently started first. */
  readonly runs: Effect.Effect<ReadonlyArray<RunInfo>, RunJournalError>
}

/**
 * The journal the engine records results in and resumes runs from.
 *
 * @category services
 * @since 0.1.0
 */
export class RunJournal extends Context.Tag("effect-parallel-agents/RunJournal")<RunJournal, Service>() {}

// =============================================================================
// input hashes
// =============================================================================

interface Canonical {
  problem: string | undefined
  readonly seen: Array<object>
}

const serialize = (value: unknown, key: string, state: Canonical): string | undefined => {
  if (value !== null && typeof value === "object" && typeof (value as { toJSON?: unknown }).toJSON === "function") {
    value = (value as { toJSON: (key: string) => unknown }).toJSON(key)
  }
  if (value instanceof Number || value instanceof String || value instanceof Boolean) value = value.valueOf()
  switch (typeof value) {
    case "string":
      return JSON.stringify(value)
    case "number":
      return Number.isFinite(value) ? JSON.stringify(value) : "null"
    case "boolean":
      return value ? "true" : "false"
    case "bigint":
      state.problem ??= `a bigint at ${JSON.stringify(key)}`
      return undefined
    case "object": {
      if (value === null) return "null"
      if (state.seen.includes(value)) {
        state.problem ??= `a circular reference at ${JSON.stringify(key)}`
        return undefined
      }
      state.seen.push(value)
      let out: string
      if (Array.isArray(value)) {
        out = "[" + value.map((item, i) => serialize(item, String(i), state) ?? "null").join(",") + "]"
      } else {
        const parts: Array<string> = []
        for (const name of Object.keys(value).sort()) {
          const item = serialize((value as Record<string, unknown>)[name], name, state)
          if (item !== undefined) parts.push(JSON.stringify(name) + ":" + item)
        }
        out = "{" + parts.join(",") + "}"
      }
      state.seen.pop()
      return out
    }
    default:
      return undefined
  }
}

/**
 * A value as canonical JSON: what `JSON.stringify` writes, with the keys of every object sorted by UTF-16 code
 * units, so that two equal values give the same text whatever the order their keys were written in. For JSON
 * values this is the JSON Canonicalization Scheme (RFC 8785). Fails with `Encode` for a value `JSON.stringify`
 * cannot write (a bigint, a circular reference) or writes as nothing (`undefined`, a function).
 *
 * @category combinators
 * @since 0.1.0
 */
export const canonicalJson = (value: unknown): Effect.Effect<string, RunJournalError> =>
  Effect.suspend(() => {
    const state: Canonical = { problem: undefined, seen: [] }
    const text = serialize(value, "", state)
    return state.problem === undefined && text !== undefined
      ? Effect.succeed(text)
      : Effect.fail(
        new RunJournalError({
          reason: "Encode",
          description: `cannot write the value as JSON: ${state.problem ?? `it is ${typeof value}`}`
        })
      )
  })

/**
 * The hash of a task's input that the journal stores beside its result: SHA-256 of the input's canonical JSON
 * (`canonicalJson`) as UTF-8, in 64 lowercase hex digits. It is stable across processes, machines and versions, so
 * a resumed run tells a task whose input changed under the same id from one it may replay.
 *
 * @category combinators
 * @since 0.1.0
 */
export const hashInput = (input: unknown): Effect.Effect<string, RunJournalError> =>
  Effect.map(canonicalJson(input), sha256Hex)

// =============================================================================
// memory
// =============================================================================

interface MemoryRun {
  marker:
    | { agent: string; options: unknown; startedAt: number; starts: number; resumedAt?: number; finishedAt?: number }
    | undefined
  readonly entries: Map<string, { readonly entry: Entry; readonly recordedAt: number }>
}

const copyJson = (value: unknown, runId: string, taskId?: string): Effect.Effect<unknown, RunJournalError> =>
  Effect.try({
    try: () => JSON.stringify(value) as string | undefined,
    catch: (cause) =>
      new RunJournalError({
        reason: "Encode",
        runId,
        ...(taskId === undefined ? {} : { taskId }),
        description: cause instanceof Error ? cause.message : String(cause),
        cause
      })
  }).pipe(
    Effect.flatMap((text) =>
      text === undefined
        ? Effect.fail(
          new RunJournalError({
            reason: "Encode",
            runId,
            ...(taskId === undefined ? {} : { taskId }),
            description: `the value is ${typeof value}`
          })
        )
        : Effect.succeed(JSON.parse(text))
    )
  )

const summaryKey = {
  Succeeded: "succeeded",
  Failed: "failed",
  TimedOut: "timedOut",
  Interrupted: "interrupted"
} as const

/**
 * A journal in memory: nothing survives the process, so it resumes runs only within one process (a run
 * interrupted and started again). Values are copied through JSON as a store would, so a result that is not JSON
 * fails here too.
 *
 * @category constructors
 * @since 0.1.0
 */
export const makeMemory: Effect.Effect<Service> = Effect.sync(() => {
  const runs = new Map<string, MemoryRun>()
  const runOf = (runId: string): MemoryRun => {
    let run = runs.get(runId)
    if (run === undefined) {
      run = { marker: undefined, entries: new Map() }
      runs.set(runId, run)
    }
    return run
  }
  const info = (runId: string, run: MemoryRun): RunInfo => {
    const recorded = { total: 0, succeeded: 0, failed: 0, timedOut: 0, interrupted: 0 }
    let lastRecordedAt: number | undefined
    for (const { entry, recordedAt } of run.entries.values()) {
      recorded.total++
      recorded[summaryKey[entry.outcome]]++
      lastRecordedAt = Math.max(lastRecordedAt ?? recordedAt, recordedAt)
    }
    const marker = run.marker
    return {
      runId,
      agent: marker?.agent,
      options: marker?.options,
      startedAt: marker?.startedAt,
      starts: marker?.starts ?? 0,
      resumedAt: marker?.resumedAt,
      finishedAt: marker?.finishedAt,
      lastRecordedAt,
      recorded
    }
  }
  return RunJournal.of({
    record: (runId, entry) =>
      Effect.gen(function*() {
        const result = yield* copyJson(entry.result, runId, entry.taskId)
        const recordedAt = yield* Clock.currentTimeMillis
        const { inputHash, outcome, taskId } = entry
        const entries = runOf(runId).entries
        // Deleted first, so that an entry recorded again moves to the end, as it does in a store.
        entries.delete(taskId)
        entries.set(taskId, { entry: { taskId, inputHash, outcome, result }, recordedAt })
      }),
    entries: (runId) =>
      Stream.suspend(() => Stream.fromIterable(Array.from(runs.get(runId)?.entries.values() ?? [], (e) => e.entry))),
    start: (run) =>
      Effect.gen(function*() {
        const options = run.options === undefined ? undefined : yield* copyJson(run.options, run.runId)
        const now = yield* Clock.currentTimeMillis
        const memory = runOf(run.runId)
        const marker = memory.marker
        memory.marker = marker === undefined
          ? { agent: run.agent, options, startedAt: now, starts: 1 }
          : { agent: run.agent, options, startedAt: marker.startedAt, starts: marker.starts + 1, resumedAt: now }
      }),
    update: (run) =>
      Effect.gen(function*() {
        const options = run.options === undefined ? undefined : yield* copyJson(run.options, run.runId)
        const now = yield* Clock.currentTimeMillis
        const memory = runOf(run.runId)
        const marker = memory.marker
        if (marker === undefined) memory.marker = { agent: run.agent, options, startedAt: now, starts: 1 }
        else {
          marker.agent = run.agent
          marker.options = options
        }
      }),
    finish: (runId) =>
      Effect.map(Clock.currentTimeMillis, (now) => {
        const marker = runs.get(runId)?.marker
        if (marker !== undefined) marker.finishedAt = now
      }),
    run: (runId) =>
      Effect.sync(() => {
        const run = runs.get(runId)
        return run === undefined ? Option.none() : Option.some(info(runId, run))
      }),
    runs: Effect.sync(() =>
      Array.from(runs, ([runId, run]) => info(runId, run)).sort((a, b) =>
        (b.startedAt ?? -Infinity) - (a.startedAt ?? -Infinity) || (a.runId < b.runId ? -1 : 1)
      )
    )
  })
})

/**
 * The journal in memory (see `makeMemory`), for tests and for runs that resume within one process.
 *
 * @category layers
 * @since 0.1.0
 */
export const layerMemory: Layer.Layer<RunJournal> = Layer.effect(RunJournal, makeMemory)
