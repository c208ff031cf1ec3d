/**
 * What agents consume from their model provider: requests, input and output tokens, and cost. Model adapters
 * record each response's usage with `record`; the engine adds it up per task (every attempt counted), and it feeds
 * the task's result, the run's report, the token and request metrics, and the run's budget.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import { dual } from "effect/Function"

/**
 * Usage of a model provider.
 *
 * @category models
 * @since 0.1.0
 */
export interface Usage {
  /** Requests made to a model. */
  readonly requests: number
  /** Input (prompt) tokens. */
  readonly inputTokens: number
  /** Output (completion) tokens. */
  readonly outputTokens: number
  /** Cost, in whatever unit the recorder uses (for example US dollars); 0 when unknown. */
  readonly cost: number
}

/**
 * Nothing used.
 *
 * @category constructors
 * @since 0.1.0
 */
export const empty: Usage = Object.freeze({ requests: 0, inputTokens: 0, outputTokens: 0, cost: 0 })

/**
 * A usage from the given fields; the others are 0.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = (fields: { readonly [K in keyof Usage]?: number | undefined }): Usage => ({
  requests: fields.requests ?? 0,
  inputTokens: fields.inputTokens ?? 0,
  outputTokens: fields.outputTokens ?? 0,
  cost: fields.cost ?? 0
})

/**
 * The sum of two usages.
 *
 * @category combinators
 * @since 0.1.0
 */
export const add: {
  (that: Usage): (self: Usage) => Usage
  (self: Usage, that: Usage): Usage
} = dual(2, (self: Usage, that: Usage): Usage => ({
  requests: self.requests + that.requests,
  inputTokens: self.inputTokens + that.inputTokens,
  outputTokens: self.outputTokens + that.outputTokens,
  cost: self.cost + that.cost
}))

/**
 * Input plus output tokens.
 *
 * @category getters
 * @since 0.1.0
 */
export const totalTokens = (self: Usage): number => self.inputTokens + self.outputTokens

/**
 * Whether nothing was used.
 *
 * @category guards
 * @since 0.1.0
 */
export const isEmpty = (self: Usage): boolean =>
  self.requests === 0 && self.inputTokens === 0 && self.outputTokens === 0 && self.cost === 0

// =============================================================================
// recording
// =============================================================================

/**
 * What one model response used, as an adapter records it. `requests` defaults to 1.
 *
 * @category models
 * @since 0.1.0
 */
export interface Record {
  /** The model that answered, for example `"gpt-4o-mini"` or `"offline"`: a metric tag, so never a task id. */
  readonly model?: string | undefined
  readonly requests?: number | undefined
  readonly inputTokens?: number | undefined
  readonly outputTokens?: number | undefined
  readonly cost?: number | undefined
}

/**
 * The meter of the task under way: the engine provides one to every task, and its agents' model adapters record
 * on it.
 *
 * @category models
 * @since 0.1.0
 */
export interface Meter {
  /** Adds one response's usage. */
  readonly record: (usage: Record) => void
  /** What the task has used so far, over all its attempts. */
  readonly current: Usage
  /** The models that answered the task, in the order they first did. */
  readonly models: ReadonlyArray<string>
}

/**
 * The usage meter of the task under way, provided by the engine to each task's agent.
 *
 * @category services
 * @since 0.1.0
 */
export class UsageMeter extends Context.Tag("effect-parallel-agents/UsageMeter")<UsageMeter, Meter>() {}

/**
 * Records one model response's usage on the meter of the task under way; outside a task it does nothing. A figure
 * that is not a count (NaN, negative, infinite) is left out, with a warning that names it: counted, it would spoil
 * the task's usage, the run's totals, the token metrics and the budget.
 *
 * **Example** (Recording usage in a model adapter)
 *
 * ```ts
 * import { Usage } from "effect-parallel-agents"
 * import { Effect } from "effect"
 *
 * const afterResponse = (response: { readonly usage: { readonly input: number; readonly output: number } }) =>
 *   Usage.record({ model: "gpt-4o-mini", inputTokens: response.usage.input, outputTokens: response.usage.output })
 * ```
 *
 * @category combinators
 * @since 0.1.0
 */
export const record = (usage: Record): Effect.Effect<void> =>
  Effect.flatMap(Effect.serviceOption(UsageMeter), (meter) => {
    if (meter._tag === "None") return Effect.void
    const counted = countsOf(usage)
    meter.value.record(counted.usage)
    return counted.invalid === undefined ? Effect.void : Effect.logWarning(
      `Usage.record: ${counted.invalid.map((key) => `${key} ${String(usage[key])}`).join(", ")} not a count ` +
        "(a number, 0 or more): left out"
    )
  })

// A figure that is not a count (NaN, negative, infinite) would poison the task's usage, the run's totals, the
// token metrics and the budget (a NaN used makes every later task fit it).
const counts = ["inputTokens", "outputTokens", "cost", "requests"] as const

/**
 * A record with the figures that are not counts (NaN, negative, infinite) left out, and which they were. The
 * engine's meters record through it whoever calls them (`record`, a model's usage read from its answer), so that a
 * server answering `-1000` tokens gives a task's budget no room it does not have.
 *
 * @internal
 */
export const countsOf = (
  usage: Record
): { readonly usage: Record; readonly invalid: ReadonlyArray<typeof counts[number]> | undefined } => {
  let invalid: Array<typeof counts[number]> | undefined
  for (const key of counts) {
    const value = usage[key]
    if (value !== undefined && !(typeof value === "number" && value >= 0 && value < Infinity)) {
      ;(invalid ??= []).push(key)
    }
  }
  if (invalid === undefined) return { usage, invalid }
  const valid: { -readonly [K in keyof Record]: Record[K] } = { ...usage }
  for (const key of invalid) valid[key] = undefined
  return { usage: valid, invalid }
}

/**
 * What the task under way has used so far (every attempt counted); `empty` outside a task.
 *
 * @category getters
 * @since 0.1.0
 */
export const current: Effect.Effect<Usage> = Effect.map(
  Effect.serviceOption(UsageMeter),
  (meter) => meter._tag === "Some" ? meter.value.current : empty
)
