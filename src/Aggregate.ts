/**
 * Folds over a run's results into one value. Partial results are normal: the ready-made aggregates read the
 * successes and say what is missing rather than fail.
 *
 * @since 0.1.0
 */
import { dual } from "effect/Function"
import * as Option from "effect/Option"
import { type Pipeable, pipeArguments } from "effect/Pipeable"
import { hasProperty } from "effect/Predicate"
import type * as Types from "effect/Types"
import type * as TaskResult from "./TaskResult.js"

/**
 * @category symbols
 * @since 0.1.0
 */
export const TypeId: unique symbol = Symbol.for("effect-parallel-agents/Aggregate")

/**
 * @category symbols
 * @since 0.1.0
 */
export type TypeId = typeof TypeId

/**
 * A fold over the results of tasks whose agents produce `A` or fail with `E`, into an `S`. The engine runs it over
 * the results in input order.
 *
 * @category models
 * @since 0.1.0
 */
export interface Aggregate<in A, in E, out S> extends Pipeable {
  readonly [TypeId]: {
    readonly _A: Types.Contravariant<A>
    readonly _E: Types.Contravariant<E>
    readonly _S: Types.Covariant<S>
  }
  /** Starts a fresh fold: each call has its own state, so one aggregate can serve many runs. */
  readonly start: () => Fold<A, E, S>
}

/**
 * One fold in progress.
 *
 * @category models
 * @since 0.1.0
 */
export interface Fold<in A, in E, out S> {
  readonly step: (result: TaskResult.TaskResult<A, E>) => void
  readonly done: () => S
}

const Proto = {
  [TypeId]: {
    _A: (_: never) => _,
    _E: (_: never) => _,
    _S: (_: never) => _
  },
  pipe() {
    return pipeArguments(this, arguments)
  }
}

/**
 * Creates an aggregate from a function that starts a fold. Use it for folds that keep mutable state; `make` is
 * simpler for immutable ones.
 *
 * @category constructors
 * @since 0.1.0
 */
export const fromFold = <A, E, S>(start: () => Fold<A, E, S>): Aggregate<A, E, S> => {
  const self = Object.create(Proto)
  self.start = start
  return self
}

const ProblemId: unique symbol = Symbol.for("effect-parallel-agents/Aggregate/problem")

const withProblem = <A, E, S>(self: Aggregate<A, E, S>, problem: string | undefined): Aggregate<A, E, S> => {
  if (problem !== undefined) (self as unknown as Record<symbol, string>)[ProblemId] = problem
  return self
}

/**
 * Why an aggregate cannot give a meaningful value (a `quorum` whose ratio is not from 0 to 1, also inside `map` or
 * `struct`), or `undefined`. A run given such an aggregate fails with `RunOptionsError` (option `aggregate`) before
 * any task starts; `run` folds it anyway, and its value says the quorum was not reached.
 *
 * @category getters
 * @since 0.1.0
 */
export const problemOf = (self: Aggregate<never, never, unknown>): string | undefined =>
  hasProperty(self, ProblemId) ? self[ProblemId] as string : undefined

/**
 * Creates an aggregate from an initial state and a step, like `Array.reduce`.
 *
 * **Example** (Total characters over the successes)
 *
 * ```ts
 * import { Aggregate } from "effect-parallel-agents"
 *
 * const totalLength = Aggregate.make(0, (total, result: Aggregate.Result<string>) =>
 *   result._tag === "Succeeded" ? total + result.value.length : total
 * )
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = <S, A = unknown, E = unknown>(
  initial: S,
  step: (state: S, result: TaskResult.TaskResult<A, E>) => S
): Aggregate<A, E, S> =>
  fromFold(() => {
    let state = initial
    return {
      step: (result) => {
        state = step(state, result)
      },
      done: () => state
    }
  })

/**
 * A task result, as an aggregate's step sees it.
 *
 * @category models
 * @since 0.1.0
 */
export type Result<A, E = unknown> = TaskResult.TaskResult<A, E>

/**
 * Runs an aggregate over results.
 *
 * @category combinators
 * @since 0.1.0
 */
export const run: {
  <A, E>(results: Iterable<TaskResult.TaskResult<A, E>>): <S>(self: Aggregate<A, E, S>) => S
  <A, E, S>(self: Aggregate<A, E, S>, results: Iterable<TaskResult.TaskResult<A, E>>): S
} = dual(2, <A, E, S>(self: Aggregate<A, E, S>, results: Iterable<TaskResult.TaskResult<A, E>>): S => {
  const fold = self.start()
  for (const result of results) {
    fold.step(result)
  }
  return fold.done()
})

/**
 * Transforms an aggregate's value.
 *
 * @category combinators
 * @since 0.1.0
 */
export const map: {
  <S, T>(f: (s: S) => T): <A, E>(self: Aggregate<A, E, S>) => Aggregate<A, E, T>
  <A, E, S, T>(self: Aggregate<A, E, S>, f: (s: S) => T): Aggregate<A, E, T>
} = dual(2, <A, E, S, T>(self: Aggregate<A, E, S>, f: (s: S) => T): Aggregate<A, E, T> =>
  withProblem(
    fromFold(() => {
      const fold = self.start()
      return { step: fold.step, done: () => f(fold.done()) }
    }),
    problemOf(self as Aggregate<never, never, S>)
  ))

/**
 * Runs several aggregates in one pass and collects their values in a struct.
 *
 * **Example** (Labels and counts in one pass)
 *
 * ```ts
 * import { Aggregate } from "effect-parallel-agents"
 *
 * const both = Aggregate.struct({
 *   labels: Aggregate.successes<{ readonly label: string }>(),
 *   counts: Aggregate.countBy((value: { readonly label: string }) => value.label)
 * })
 * ```
 *
 * @category combinators
 * @since 0.1.0
 */
export const struct = <A, E, S extends Record<string, unknown>>(
  fields: { readonly [K in keyof S]: Aggregate<A, E, S[K]> } & Record<string, Aggregate<A, E, unknown>>
): Aggregate<A, E, { readonly [K in keyof S]: S[K] }> => {
  const keys = Object.keys(fields)
  const problem = keys.reduce<string | undefined>((found, key) => {
    const own = found === undefined ? problemOf(fields[key] as Aggregate<never, never, unknown>) : undefined
    return own === undefined ? found : `${key}: ${own}`
  }, undefined)
  return withProblem(
    fromFold(() => {
      const folds = keys.map((key) => fields[key]!.start() as Fold<A, E, unknown>)
      return {
        step: (result) => {
          for (const fold of folds) fold.step(result)
        },
        done: () => {
          const out: Record<string, unknown> = {}
          keys.forEach((key, i) => {
            out[key] = folds[i]!.done()
          })
          return out as never
        }
      }
    }),
    problem
  )
}

/**
 * @category guards
 * @since 0.1.0
 */
export const isAggregate = (u: unknown): u is Aggregate<never, never, unknown> => hasProperty(u, TypeId)

// =============================================================================
// ready-made
// =============================================================================

/**
 * The values of the tasks that succeeded, in input order.
 *
 * @category constructors
 * @since 0.1.0
 */
export const successes = <A>(): Aggregate<A, unknown, Array<A>> =>
  fromFold(() => {
    const out: Array<A> = []
    return {
      step: (result) => {
        if (result._tag === "Succeeded") out.push(result.value)
      },
      done: () => out
    }
  })

/**
 * Counts the successful values by a key (a label, a category). Tasks that did not succeed are not counted.
 *
 * @category constructors
 * @since 0.1.0
 */
export const countBy = <A>(key: (value: A) => string): Aggregate<A, unknown, Record<string, number>> =>
  fromFold(() => {
    const counts = new Map<string, number>()
    return {
      step: (result) => {
        if (result._tag === "Succeeded") {
          const k = key(result.value)
          counts.set(k, (counts.get(k) ?? 0) + 1)
        }
      },
      done: () => Object.fromEntries(counts)
    }
  })

/**
 * The successful values, and the results of every task that did not succeed (failed, timed out or interrupted),
 * each in input order.
 *
 * @category constructors
 * @since 0.1.0
 */
export const partition = <A, E>(): Aggregate<A, E, {
  readonly succeeded: Array<A>
  readonly failed: Array<Exclude<TaskResult.TaskResult<A, E>, TaskResult.Succeeded<A>>>
}> =>
  fromFold(() => {
    const succeeded: Array<A> = []
    const failed: Array<Exclude<TaskResult.TaskResult<A, E>, TaskResult.Succeeded<A>>> = []
    return {
      step: (result) => {
        if (result._tag === "Succeeded") succeeded.push(result.value)
        else failed.push(result)
      },
      done: () => ({ succeeded, failed })
    }
  })

/**
 * The outcome of a vote.
 *
 * @category models
 * @since 0.1.0
 */
export interface Vote {
  /** The key that more than half of the votes cast chose, if any. */
  readonly winner: Option.Option<string>
  /** Votes per key. */
  readonly votes: Readonly<Record<string, number>>
  /** Votes cast: the successful tasks. */
  readonly cast: number
  /** Tasks that did not vote because they did not succeed. */
  readonly missing: number
}

/**
 * A majority vote over the successful values: the winner is the key chosen by more than half of the votes cast.
 * Tasks that did not succeed do not vote and are counted in `missing`.
 *
 * @category constructors
 * @since 0.1.0
 */
export const majority = <A>(key: (value: A) => string): Aggregate<A, unknown, Vote> =>
  fromFold(() => {
    const votes = new Map<string, number>()
    let cast = 0
    let missing = 0
    return {
      step: (result) => {
        if (result._tag === "Succeeded") {
          const k = key(result.value)
          votes.set(k, (votes.get(k) ?? 0) + 1)
          cast++
        } else {
          missing++
        }
      },
      done: () => {
        let winner: string | undefined
        for (const [k, count] of votes) {
          if (count * 2 > cast) winner = k
        }
        return { winner: Option.fromNullable(winner), votes: Object.fromEntries(votes), cast, missing }
      }
    }
  })

/**
 * Whether enough tasks succeeded.
 *
 * @category models
 * @since 0.1.0
 */
export interface Quorum {
  readonly reached: boolean
  readonly succeeded: number
  readonly total: number
  /** `succeeded / total`, `0` for no tasks. */
  readonly ratio: number
  /** The ratio that had to be reached. */
  readonly required: number
}

/**
 * Checks that at least `ratio` (from 0 to 1) of the tasks succeeded.
 *
 * **Gotchas**
 *
 * A ratio outside 0..1, or NaN, is a mistake, not a clamp: a run given it fails with `RunOptionsError` (option
 * `aggregate`) before any task starts, and folded by hand (`run`) it is never reached (`problemOf` says why).
 *
 * @category constructors
 * @since 0.1.0
 */
export const quorum = (ratio: number): Aggregate<unknown, unknown, Quorum> => {
  const valid = typeof ratio === "number" && ratio >= 0 && ratio <= 1
  return withProblem(
    quorumOf(ratio, valid),
    valid ? undefined : `Aggregate.quorum: expected a ratio from 0 to 1, got ${ratio}`
  )
}

const quorumOf = (ratio: number, valid: boolean): Aggregate<unknown, unknown, Quorum> =>
  fromFold(() => {
    let succeeded = 0
    let total = 0
    return {
      step: (result) => {
        total++
        if (result._tag === "Succeeded") succeeded++
      },
      done: () => {
        const actual = total === 0 ? 0 : succeeded / total
        return { reached: valid && total > 0 && actual >= ratio, succeeded, total, ratio: actual, required: ratio }
      }
    }
  })
