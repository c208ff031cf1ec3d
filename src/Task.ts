/**
 * A unit of work: an id, an input, and optionally a timeout of its own and labels.
 *
 * @since 0.1.0
 */
import * as Duration from "effect/Duration"
import { NodeInspectSymbol } from "effect/Inspectable"
import { hasProperty } from "effect/Predicate"
import * as internalDuration from "./internal/duration.js"

/**
 * @category symbols
 * @since 0.1.0
 */
export const TypeId: unique symbol = Symbol.for("effect-parallel-agents/Task")

/**
 * @category symbols
 * @since 0.1.0
 */
export type TypeId = typeof TypeId

/**
 * One unit of work for an agent. `timeout`, when set, overrides the run's per-task timeout for this task;
 * `labels` travel with the task into its result (to count or group results by).
 *
 * @category models
 * @since 0.1.0
 */
export interface Task<out In> {
  readonly [TypeId]: TypeId
  readonly id: string
  readonly input: In
  readonly timeout: Duration.Duration | undefined
  readonly labels: Readonly<Record<string, string>>
}

/**
 * Options shared by the task constructors.
 *
 * @category models
 * @since 0.1.0
 */
export interface Options {
  /**
   * A timeout for this task only, overriding the run's. One that is not a duration (NaN, negative, a string that
   * does not parse) does not throw here: the task ends `Failed` with a `TaskOptionsError` when its turn comes,
   * without calling its agent, and the run goes on.
   */
  readonly timeout?: Duration.DurationInput | undefined
  /** Labels carried into the task's result. */
  readonly labels?: Readonly<Record<string, string>> | undefined
}

const noLabels: Readonly<Record<string, string>> = Object.freeze({})

class TaskImpl<In> implements Task<In> {
  declare readonly [TypeId]: TypeId
  constructor(
    readonly id: string,
    readonly input: In,
    readonly timeout: Duration.Duration | undefined,
    readonly labels: Readonly<Record<string, string>>,
    /** Why the `timeout` given was rejected; `timeout` is then undefined. */
    readonly timeoutError: string | undefined
  ) {}
  toJSON() {
    return {
      id: this.id,
      input: this.input,
      timeout: this.timeout === undefined ? undefined : Duration.format(this.timeout),
      labels: this.labels
    }
  }
  [NodeInspectSymbol]() {
    return this.toJSON()
  }
}

Object.defineProperty(TaskImpl.prototype, TypeId, { value: TypeId })

/**
 * Creates a task. An id that is not a string (a number read from JSON, say) is made one with `String`.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = <In>(options: Options & { readonly id: string; readonly input: In }): Task<In> => {
  const timeout = decodeTimeout(options.timeout)
  return new TaskImpl(idOf(options.id), options.input, timeout.duration, options.labels ?? noLabels, timeout.error)
}

// An id that is not a string, as a number read from JSON data (`any`) can be, is made one: the journal, the events
// and the report's page take strings, and `1` and `"1"` are then the same id, which a run refuses twice.
const idOf = (id: unknown): string => typeof id === "string" ? id : String(id)

const noTimeout = { duration: undefined, error: undefined }

const decodeTimeout = (input: Duration.DurationInput | undefined) => {
  if (input === undefined) return noTimeout
  const decoded = internalDuration.decode(input)
  return decoded._tag === "Right"
    ? { duration: decoded.right, error: undefined }
    : { duration: undefined, error: decoded.left }
}

/**
 * Why the task's `timeout` option was rejected, if it was.
 *
 * @internal
 */
export const timeoutError = (task: Task<unknown>): string | undefined =>
  task instanceof TaskImpl
    ? task.timeoutError
    // An object not made here (from JavaScript): its timeout was never checked.
    : task.timeout === undefined || Duration.isDuration(task.timeout) && Duration.toMillis(task.timeout) > 0
    ? undefined
    : decodeTimeout(task.timeout).error

/**
 * Creates one task per input. Ids default to the input's position (`"0"`, `"1"`, ...); an id function's value that
 * is not a string (a number read from JSON, say) is made one with `String`.
 *
 * **Example** (Tasks from a list of documents)
 *
 * ```ts
 * import { Task } from "effect-parallel-agents"
 *
 * const tasks = Task.fromIterable(
 *   Array.from({ length: 20 }, (_, i) => ({ text: `Sample document number ${i}` })),
 *   { id: (_, i) => `doc-${i}` }
 * )
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const fromIterable = <In>(
  inputs: Iterable<In>,
  options?: {
    readonly id?: ((input: In, index: number) => string) | undefined
    readonly timeout?: Duration.DurationInput | undefined
    readonly labels?: ((input: In, index: number) => Readonly<Record<string, string>>) | undefined
  }
): Array<Task<In>> => {
  const id = options?.id
  const labels = options?.labels
  const timeout = decodeTimeout(options?.timeout)
  const out: Array<Task<In>> = []
  let index = 0
  for (const input of inputs) {
    out.push(
      new TaskImpl(
        id === undefined ? String(index) : idOf(id(input, index)),
        input,
        timeout.duration,
        labels === undefined ? noLabels : labels(input, index),
        timeout.error
      )
    )
    index++
  }
  return out
}

/**
 * @category guards
 * @since 0.1.0
 */
export const isTask = (u: unknown): u is Task<unknown> => hasProperty(u, TypeId)
