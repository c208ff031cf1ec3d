/**
 * Where the runs service keeps its runs: each run's record (`Runs.RunInfo`) and its results, in the order they
 * ended. `layerMemory` keeps them in the process and forgets the oldest finished runs past a limit; a durable store
 * (a journal over `@effect/sql`) implements the same five operations, so that runs and their results survive a
 * restart. What only a live run has (its fiber, its event log, its readers) stays in the runs service.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import type { RunOptionsError } from "../../src/AgentError.js"
import * as internalOptions from "../../src/internal/options.js"
import type * as TaskResult from "../../src/TaskResult.js"
import type * as Runs from "./Runs.js"

/**
 * The store failed: a durable store could not read or write (the memory store never fails).
 *
 * @category errors
 * @since 0.1.0
 */
export class RunStoreError extends Schema.TaggedError<RunStoreError>("effect-parallel-agents/RunStoreError")(
  "RunStoreError",
  {
    /** What the store was doing: `save`, `get`, `list`, `append`, `results`. */
    operation: Schema.String,
    description: Schema.optional(Schema.String),
    cause: Schema.optional(Schema.Defect)
  }
) {
  get message(): string {
    return `the run store failed to ${this.operation}${this.description === undefined ? "" : `: ${this.description}`}`
  }
}

/**
 * @category models
 * @since 0.1.0
 */
export interface Service {
  /** Creates or replaces a run's record. */
  readonly save: (run: Runs.RunInfo) => Effect.Effect<void, RunStoreError>
  readonly get: (id: string) => Effect.Effect<Option.Option<Runs.RunInfo>, RunStoreError>
  /** Every run kept, the most recent first. */
  readonly list: Effect.Effect<ReadonlyArray<Runs.RunInfo>, RunStoreError>
  /** Adds results of a run, after those it has, in the order they ended. */
  readonly append: (
    id: string,
    results: ReadonlyArray<TaskResult.TaskResult<unknown, unknown>>
  ) => Effect.Effect<void, RunStoreError>
  /** A run's results from the `from`-th one (from 0), in the order they ended. */
  readonly results: (
    id: string,
    from: number
  ) => Effect.Effect<ReadonlyArray<TaskResult.TaskResult<unknown, unknown>>, RunStoreError>
}

/**
 * The store of the runs service.
 *
 * @category services
 * @since 0.1.0
 */
export class RunStore extends Context.Tag("effect-parallel-agents/RunStore")<RunStore, Service>() {}

interface Kept {
  info: Runs.RunInfo
  readonly results: Array<TaskResult.TaskResult<unknown, unknown>>
}

/**
 * A store in memory. Past `maxRuns` runs (100 by default; a whole number, 1 or more, else a `RunOptionsError`
 * naming it), the oldest finished run is forgotten with its results (a running run never is).
 *
 * @category constructors
 * @since 0.1.0
 */
export const makeMemory: {
  (): Effect.Effect<Service>
  (options: { readonly maxRuns?: number | undefined }): Effect.Effect<Service, RunOptionsError>
} =
  ((options?: { readonly maxRuns?: number | undefined }): Effect.Effect<Service, RunOptionsError> =>
    Either.match(decodeMemoryOptions(options), {
      onLeft: Effect.fail,
      onRight: ({ maxRuns = 100 }) => memory(maxRuns)
    })) as never

// NaN would forget every finished run at the next save.
const decodeMemoryOptions = internalOptions.decoderOf(
  Schema.Struct({ maxRuns: Schema.optional(internalOptions.WholeFromOne) })
)

const memory = (maxRuns: number): Effect.Effect<Service> =>
  Effect.sync(() => {
    // In order of creation: the first finished run is the oldest one.
    const runs = new Map<string, Kept>()
    const evict = () => {
      if (runs.size <= maxRuns) return
      for (const [id, kept] of runs) {
        if (runs.size <= maxRuns) return
        if (kept.info.state !== "running") runs.delete(id)
      }
    }
    return RunStore.of({
      save: (info) =>
        Effect.sync(() => {
          const kept = runs.get(info.id)
          if (kept === undefined) runs.set(info.id, { info, results: [] })
          else kept.info = info
          evict()
        }),
      get: (id) => Effect.sync(() => Option.map(Option.fromNullable(runs.get(id)), (kept) => kept.info)),
      list: Effect.sync(() => Array.from(runs.values(), (kept) => kept.info).reverse()),
      append: (id, results) =>
        Effect.sync(() => {
          const kept = runs.get(id)
          if (kept !== undefined) { for (const result of results) kept.results.push(result) }
        }),
      results: (id, from) => Effect.sync(() => runs.get(id)?.results.slice(from) ?? [])
    })
  })

/**
 * The memory store as a layer.
 *
 * @category layers
 * @since 0.1.0
 */
export const layerMemory: {
  (): Layer.Layer<RunStore>
  (options: { readonly maxRuns?: number | undefined }): Layer.Layer<RunStore, RunOptionsError>
} =
  ((options?: { readonly maxRuns?: number | undefined }): Layer.Layer<RunStore, RunOptionsError> =>
    Layer.effect(RunStore, makeMemory(options ?? {}))) as never
