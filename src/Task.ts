/**
 * A unit of work: an id, an input, and optionally a timeout of its own and labels.
 *
 * @since 0.1.0
 */
import * as Duration from "effect/Duration"
import { NodeInspectSymbol } from "effect/Inspectable"
import { hasProperty } from "effect/Predicate"

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
  /** A timeout for this task only, overriding the run's. */
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
    readonly labels: Readonly<Record<string, string>>
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
 * Creates a task.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = <In>(options: Options & { readonly id: string; readonly input: In }): Task<In> =>
  new TaskImpl(
    options.id,
    options.input,
    options.timeout === undefined ? undefined : Duration.decode(options.timeout),
    options.labels ?? noLabels
  )

/**
 * Creates one task per input. Ids default to the input's position (`"0"`, `"1"`, ...).
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
  const timeout = options?.timeout === undefined ? undefined : Duration.decode(options.timeout)
  const out: Array<Task<In>> = []
  let index = 0
  for (const input of inputs) {
    out.push(
      new TaskImpl(
        id === undefined ? String(index) : id(input, index),
        input,
        timeout,
        labels === undefined ? noLabels : labels(input, index)
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
