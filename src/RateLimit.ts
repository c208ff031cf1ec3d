/**
 * A limit on requests and tokens per interval, shared by every task of a run, or by several runs when the app
 * provides one as a layer. Built on Effect's `RateLimiter`: a task attempt waits until it fits, before its agent
 * is built and before its timeout starts.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import { hasProperty } from "effect/Predicate"
import * as RateLimiter from "effect/RateLimiter"
import type * as Scope from "effect/Scope"
import { RunOptionsError } from "./AgentError.js"

/**
 * @category symbols
 * @since 0.1.0
 */
export const TypeId: unique symbol = Symbol.for("effect-parallel-agents/RateLimit")

/**
 * @category symbols
 * @since 0.1.0
 */
export type TypeId = typeof TypeId

/**
 * At most `limit` per `interval`. `token-bucket` (the default) refills continuously and allows bursts up to
 * `limit`; `fixed-window` resets every `interval`.
 *
 * @category models
 * @since 0.1.0
 */
export interface Limit {
  readonly limit: number
  readonly interval: Duration.DurationInput
  readonly algorithm?: "token-bucket" | "fixed-window" | undefined
}

/**
 * @category models
 * @since 0.1.0
 */
export interface Options {
  /** Task attempts per interval: each attempt counts as one request. */
  readonly requests?: Limit | undefined
  /** Tokens per interval: each attempt counts the tokens of the run's `estimate` (input plus output). */
  readonly tokens?: Limit | undefined
}

/**
 * @category models
 * @since 0.1.0
 */
export interface Service {
  readonly [TypeId]: TypeId
  readonly options: Options
  /** Waits until one more request of `tokens` tokens fits, then counts it. */
  readonly take: (tokens: number) => Effect.Effect<void>
}

/**
 * A rate limit shared by every run that has it in context (a run's own `rateLimit` option takes precedence).
 *
 * @category services
 * @since 0.1.0
 */
export class RateLimit extends Context.Tag("effect-parallel-agents/RateLimit")<RateLimit, Service>() {}

/**
 * @category guards
 * @since 0.1.0
 */
export const isRateLimit = (u: unknown): u is Service => hasProperty(u, TypeId)

const check = (name: string, limit: Limit | undefined): RunOptionsError | undefined => {
  if (limit === undefined) return undefined
  if (!(Number.isInteger(limit.limit) && limit.limit >= 1)) {
    return new RunOptionsError({
      option: `rateLimit.${name}.limit`,
      description: `expected a whole number, 1 or more, got ${String(limit.limit)}`
    })
  }
  const interval = Duration.decodeUnknown(limit.interval)
  if (interval._tag === "None" || !(Duration.toMillis(interval.value) > 0)) {
    return new RunOptionsError({
      option: `rateLimit.${name}.interval`,
      description: `expected a duration longer than 0, got ${String(limit.interval)}`
    })
  }
  return undefined
}

/**
 * Checks options: limits must be whole numbers, 1 or more, and intervals longer than 0.
 *
 * @category constructors
 * @since 0.1.0
 */
export const validate = (options: Options): Either.Either<Options, RunOptionsError> => {
  const error = check("requests", options.requests) ?? check("tokens", options.tokens)
  return error === undefined ? Either.right(options) : Either.left(error)
}

const limiter = (limit: Limit | undefined) =>
  limit === undefined
    ? Effect.succeed(undefined)
    : RateLimiter.make({ limit: limit.limit, interval: limit.interval, algorithm: limit.algorithm ?? "token-bucket" })

/**
 * A rate limit; its limiters live as long as the scope. Fails with `RunOptionsError` on a bad limit.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = (options: Options): Effect.Effect<Service, RunOptionsError, Scope.Scope> =>
  Effect.gen(function*() {
    yield* validate(options)
    const requests = yield* limiter(options.requests)
    const tokens = yield* limiter(options.tokens)
    const tokenLimit = options.tokens?.limit ?? 0
    const oneRequest = requests === undefined ? Effect.void : requests(Effect.void)
    const take = (cost: number): Effect.Effect<void> => {
      if (tokens === undefined || !(cost > 0)) return oneRequest
      // A request larger than the whole limit waits for a full interval rather than forever.
      const fits = Math.min(Math.ceil(cost), tokenLimit)
      return Effect.zipRight(tokens(Effect.void).pipe(RateLimiter.withCost(fits)), oneRequest)
    }
    return { [TypeId]: TypeId, options, take } as const
  })

/**
 * A rate limit shared by every run of the app.
 *
 * **Example** (The provider's limits for a whole app)
 *
 * ```ts
 * import { Executor, RateLimit } from "effect-parallel-agents"
 * import { Layer } from "effect"
 *
 * const AppLive = Layer.mergeAll(
 *   Executor.layer({ concurrency: 64 }),
 *   RateLimit.layer({
 *     requests: { limit: 500, interval: "1 minute" },
 *     tokens: { limit: 200_000, interval: "1 minute" }
 *   })
 * )
 * ```
 *
 * @category layers
 * @since 0.1.0
 */
export const layer = (options: Options): Layer.Layer<RateLimit, RunOptionsError> =>
  Layer.scoped(RateLimit, make(options))
