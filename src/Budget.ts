/**
 * A budget of tokens, cost and requests shared by the tasks of a run, or by several runs when the app provides one
 * as a layer. It works by reserve-then-settle: a task reserves its estimated usage before it starts, and settles
 * with what it really used when it ends. A task that does not fit fails with `BudgetExceeded` without calling its
 * agent; running tasks always finish.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import { hasProperty } from "effect/Predicate"
import { RunOptionsError } from "./AgentError.js"
import * as Usage from "./Usage.js"

/**
 * @category symbols
 * @since 0.1.0
 */
export const TypeId: unique symbol = Symbol.for("effect-parallel-agents/Budget")

/**
 * @category symbols
 * @since 0.1.0
 */
export type TypeId = typeof TypeId

/**
 * The limits of a budget; a resource left out is not limited. Tokens are input plus output tokens.
 *
 * @category models
 * @since 0.1.0
 */
export interface Limits {
  readonly tokens?: number | undefined
  readonly cost?: number | undefined
  readonly requests?: number | undefined
}

/**
 * A resource a budget limits.
 *
 * @category models
 * @since 0.1.0
 */
export type Resource = "tokens" | "cost" | "requests"

/**
 * A budget's figures at one moment.
 *
 * @category models
 * @since 0.1.0
 */
export interface Snapshot {
  readonly limits: Limits
  /** What finished tasks used. */
  readonly used: Usage.Usage
  /** What running tasks reserved and have not settled yet. */
  readonly reserved: Usage.Usage
}

/**
 * @category models
 * @since 0.1.0
 */
export interface Service {
  readonly [TypeId]: TypeId
  readonly limits: Limits
  /** The budget's figures now. */
  readonly snapshot: Effect.Effect<Snapshot>
  /** The budget's figures now, read synchronously. */
  readonly unsafeSnapshot: () => Snapshot
  /**
   * Reserves `estimate` for a task about to start. Returns `undefined` when it fits (it is then reserved), or the
   * first resource that has no room. With an estimate of 0 for a resource, the task fits while anything is left.
   */
  readonly unsafeReserve: (estimate: Usage.Usage) => Resource | undefined
  /** Releases a task's reservation and adds what it really used. */
  readonly unsafeSettle: (estimate: Usage.Usage, used: Usage.Usage) => void
}

/**
 * A budget shared by every run that has it in context (a run's own `budget` option takes precedence).
 *
 * @category services
 * @since 0.1.0
 */
export class Budget extends Context.Tag("effect-parallel-agents/Budget")<Budget, Service>() {}

/**
 * @category guards
 * @since 0.1.0
 */
export const isBudget = (u: unknown): u is Service => hasProperty(u, TypeId)

const amountOf = (usage: Usage.Usage, resource: Resource): number =>
  resource === "tokens" ? Usage.totalTokens(usage) : resource === "cost" ? usage.cost : usage.requests

const resources: ReadonlyArray<Resource> = ["tokens", "cost", "requests"]

class BudgetImpl implements Service {
  readonly [TypeId]: TypeId = TypeId
  used: Usage.Usage = Usage.empty
  reserved: Usage.Usage = Usage.empty
  constructor(readonly limits: Limits) {}
  unsafeSnapshot = (): Snapshot => ({ limits: this.limits, used: this.used, reserved: this.reserved })
  snapshot = Effect.sync(this.unsafeSnapshot)
  unsafeReserve = (estimate: Usage.Usage): Resource | undefined => {
    for (const resource of resources) {
      const limit = this.limits[resource]
      if (limit === undefined) continue
      const taken = amountOf(this.used, resource) + amountOf(this.reserved, resource)
      const wanted = amountOf(estimate, resource)
      if (wanted === 0 ? taken >= limit : taken + wanted > limit) return resource
    }
    this.reserved = Usage.add(this.reserved, estimate)
    return undefined
  }
  unsafeSettle = (estimate: Usage.Usage, used: Usage.Usage): void => {
    this.reserved = Usage.make({
      requests: this.reserved.requests - estimate.requests,
      inputTokens: this.reserved.inputTokens - estimate.inputTokens,
      outputTokens: this.reserved.outputTokens - estimate.outputTokens,
      cost: this.reserved.cost - estimate.cost
    })
    this.used = Usage.add(this.used, used)
  }
}

/**
 * Checks limits: each one given must be a number, 0 or more.
 *
 * @category constructors
 * @since 0.1.0
 */
export const validate = (limits: Limits): Either.Either<Limits, RunOptionsError> => {
  for (const resource of resources) {
    const limit = limits[resource]
    if (limit !== undefined && !(typeof limit === "number" && limit >= 0)) {
      return Either.left(
        new RunOptionsError({
          option: `budget.${resource}`,
          description: `expected a number, 0 or more, got ${String(limit)}`
        })
      )
    }
  }
  return Either.right(limits)
}

/**
 * A budget with the given limits and nothing used.
 *
 * @category constructors
 * @since 0.1.0
 */
export const unsafeMake = (limits: Limits): Service => new BudgetImpl({ ...limits })

/**
 * A budget with the given limits and nothing used; fails with `RunOptionsError` when a limit is not a number, 0
 * or more.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = (limits: Limits): Effect.Effect<Service, RunOptionsError> =>
  Either.match(validate(limits), { onLeft: Effect.fail, onRight: (limits) => Effect.sync(() => unsafeMake(limits)) })

/**
 * A budget shared by every run of the app.
 *
 * **Example** (A token budget for a whole app)
 *
 * ```ts
 * import { Budget, Executor } from "effect-parallel-agents"
 * import { Layer } from "effect"
 *
 * const AppLive = Layer.mergeAll(Executor.layer({ concurrency: 16 }), Budget.layer({ tokens: 2_000_000, cost: 25 }))
 * ```
 *
 * @category layers
 * @since 0.1.0
 */
export const layer = (limits: Limits): Layer.Layer<Budget, RunOptionsError> => Layer.effect(Budget, make(limits))
