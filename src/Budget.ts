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
import * as Ref from "effect/Ref"
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
 * A resource that had no room for a task: the limit, and what was used and reserved when the task asked.
 *
 * @category models
 * @since 0.1.0
 */
export interface Exhausted {
  readonly resource: Resource
  readonly limit: number
  readonly used: number
  readonly reserved: number
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
  /**
   * Reserves `estimate` for a task about to start: `undefined` when it fits (it is then reserved), or the first
   * resource that has no room. With an estimate of 0 for a resource, the task fits while anything is left.
   */
  readonly reserve: (estimate: Usage.Usage) => Effect.Effect<Exhausted | undefined>
  /** Releases a task's reservation and adds what it really used. */
  readonly settle: (estimate: Usage.Usage, used: Usage.Usage) => Effect.Effect<void>
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

const reserveIn = (limits: Limits, estimate: Usage.Usage) => (state: Snapshot): [Exhausted | undefined, Snapshot] => {
  for (const resource of resources) {
    const limit = limits[resource]
    if (limit === undefined) continue
    const used = amountOf(state.used, resource)
    const reserved = amountOf(state.reserved, resource)
    const wanted = amountOf(estimate, resource)
    if (wanted === 0 ? used + reserved >= limit : used + reserved + wanted > limit) {
      return [{ resource, limit, used, reserved }, state]
    }
  }
  return [undefined, { ...state, reserved: Usage.add(state.reserved, estimate) }]
}

const settleIn = (estimate: Usage.Usage, used: Usage.Usage) => (state: Snapshot): Snapshot => ({
  ...state,
  reserved: Usage.make({
    requests: state.reserved.requests - estimate.requests,
    inputTokens: state.reserved.inputTokens - estimate.inputTokens,
    outputTokens: state.reserved.outputTokens - estimate.outputTokens,
    cost: state.reserved.cost - estimate.cost
  }),
  used: Usage.add(state.used, used)
})

const fromRef = (limits: Limits, state: Ref.Ref<Snapshot>): Service => ({
  [TypeId]: TypeId,
  limits,
  snapshot: Ref.get(state),
  reserve: (estimate) => Ref.modify(state, reserveIn(limits, estimate)),
  settle: (estimate, used) => Ref.update(state, settleIn(estimate, used))
})

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
 * A budget with the given limits and nothing used; fails with `RunOptionsError` when a limit is not a number, 0
 * or more.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = (limits: Limits): Effect.Effect<Service, RunOptionsError> =>
  Either.match(validate(limits), {
    onLeft: Effect.fail,
    onRight: (limits) =>
      Effect.map(
        Ref.make<Snapshot>({ limits: { ...limits }, used: Usage.empty, reserved: Usage.empty }),
        (state) => fromRef({ ...limits }, state)
      )
  })

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
