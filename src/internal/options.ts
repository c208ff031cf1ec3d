import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import { hasProperty, isFunction } from "effect/Predicate"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import { RunOptionsError } from "../AgentError.js"
import * as Aggregate from "../Aggregate.js"
import * as Budget from "../Budget.js"
import * as ExecutorConfig from "../ExecutorConfig.js"
import * as RateLimit from "../RateLimit.js"
import type * as Task from "../Task.js"
import * as Usage from "../Usage.js"

/**
 * The one schema every run's options go through: `Executor.run`, `Executor.stream`, and what the layers and the
 * configuration give as defaults. Each problem is reported as a `RunOptionsError` naming the option by its path
 * (`adaptive.initial`, `retry.times`) before any task starts.
 *
 * @internal
 */

const instanceOf = <A>(guard: (u: unknown) => u is A, what: string) =>
  Schema.declare(guard, { message: () => `expected ${what}` })

const AnyFunction = instanceOf((u): u is (...args: ReadonlyArray<never>) => unknown => isFunction(u), "a function")

const DurationInput = Schema.transformOrFail(Schema.Unknown, Schema.DurationFromSelf, {
  strict: true,
  decode: (input, _, ast) =>
    Either.match(ExecutorConfig.decodeTimeout(input), {
      onLeft: (message) => ParseResult.fail(new ParseResult.Type(ast, input, message)),
      onRight: ParseResult.succeed
    }),
  encode: ParseResult.succeed
})

const NonNegative = Schema.Number.pipe(
  Schema.filter((n) => n >= 0 && n < Infinity || `expected a number, 0 or more, got ${n}`)
)
/** @internal */
export const WholeFromZero = Schema.Number.pipe(
  Schema.filter((n) => Number.isInteger(n) && n >= 0 || `expected a whole number, 0 or more, got ${n}`)
)
/** @internal */
export const WholeFromOne = Schema.Number.pipe(
  Schema.filter((n) => Number.isInteger(n) && n >= 1 || `expected a whole number, 1 or more, got ${n}`)
)

/**
 * A duration, 0 or more. `Duration` reads a negative number of milliseconds, or NaN, as 0: here they are mistakes.
 *
 * @internal
 */
export const DurationFromZero = Schema.transformOrFail(Schema.Unknown, Schema.DurationFromSelf, {
  strict: true,
  decode: (input, _, ast) => {
    const decoded = typeof input === "number" && !(input >= 0) ? undefined : Duration.decodeUnknown(input)
    return decoded !== undefined && decoded._tag === "Some" && Duration.toMillis(decoded.value) >= 0
      ? ParseResult.succeed(decoded.value)
      : ParseResult.fail(new ParseResult.Type(ast, input, `expected a duration, 0 or more, got ${String(input)}`))
  },
  encode: ParseResult.succeed
})

const RetryOptions = Schema.Struct({
  schedule: Schema.optional(instanceOf(Schedule.isSchedule, "a Schedule")),
  times: Schema.optional(WholeFromZero),
  while: Schema.optional(AnyFunction),
  maxRetryAfter: Schema.optional(DurationFromZero)
})

const Limit = Schema.Struct({
  limit: WholeFromOne,
  interval: DurationInput,
  algorithm: Schema.optional(Schema.Literal("token-bucket", "fixed-window"))
})

const Estimate = Schema.Struct({
  requests: Schema.optional(NonNegative),
  inputTokens: Schema.optional(NonNegative),
  outputTokens: Schema.optional(NonNegative),
  cost: Schema.optional(NonNegative)
})

const RunId = Schema.String.pipe(
  Schema.filter((id) => /^[^\s/#]+$/.test(id) || `expected an id without spaces, "/" or "#", got "${id}"`)
)

const Options = Schema.Struct({
  concurrency: Schema.optional(ExecutorConfig.ConcurrencySchema),
  timeout: Schema.optional(DurationInput),
  deadline: Schema.optional(DurationInput),
  runId: Schema.optional(RunId),
  durable: Schema.optional(Schema.Struct({
    runId: RunId,
    retryFailed: Schema.optional(Schema.Boolean),
    metadata: Schema.optional(Schema.Unknown)
  })),
  retry: Schema.optional(Schema.Union(instanceOf(Schedule.isSchedule, "a Schedule"), RetryOptions)),
  budget: Schema.optional(Schema.Union(
    instanceOf(Budget.isBudget, "a Budget"),
    Schema.Struct({
      tokens: Schema.optional(NonNegative),
      cost: Schema.optional(NonNegative),
      requests: Schema.optional(NonNegative)
    })
  )),
  estimate: Schema.optional(Schema.Union(AnyFunction, Estimate)),
  rateLimit: Schema.optional(Schema.Union(
    instanceOf(RateLimit.isRateLimit, "a RateLimit"),
    Schema.Struct({ requests: Schema.optional(Limit), tokens: Schema.optional(Limit) })
  )),
  adaptive: Schema.optional(Schema.Union(
    Schema.Boolean,
    Schema.Struct({
      initial: Schema.optional(WholeFromOne),
      min: Schema.optional(WholeFromOne),
      decrease: Schema.optional(
        Schema.Number.pipe(
          Schema.filter((n) => n > 0 && n < 1 || `expected a number between 0 and 1 (exclusive), got ${n}`)
        )
      ),
      increase: Schema.optional(
        Schema.Number.pipe(Schema.filter((n) => n > 0 && n < Infinity || `expected a number above 0, got ${n}`))
      )
    })
  )),
  failurePolicy: Schema.optional(Schema.Struct({
    maxFailures: Schema.optional(WholeFromOne),
    minSuccessRate: Schema.optional(
      Schema.Number.pipe(Schema.filter((n) => n >= 0 && n <= 1 || `expected a number from 0 to 1, got ${n}`))
    )
  })),
  aggregate: Schema.optional(
    instanceOf((u): u is Aggregate.Aggregate<never, never, unknown> => hasProperty(u, "start"), "an Aggregate").pipe(
      Schema.filter((aggregate) => Aggregate.problemOf(aggregate) ?? true)
    )
  ),
  stop: Schema.optional(instanceOf(Effect.isEffect, "an Effect")),
  input: Schema.optional(instanceOf(Schema.isSchema, "a Schema")),
  output: Schema.optional(instanceOf(Schema.isSchema, "a Schema"))
})

/** @internal */
export type Decoded = typeof Options.Type

const decode = Schema.decodeUnknownEither(Options, { errors: "first", onExcessProperty: "ignore" })

const optionError = (error: ParseResult.ParseError): RunOptionsError => {
  // A union (a Budget or its limits, say) reports one issue per member: the deepest names the option best.
  const issue = ParseResult.ArrayFormatter.formatErrorSync(error).reduce<
    ParseResult.ArrayFormatterIssue | undefined
  >((deepest, issue) => deepest === undefined || issue.path.length > deepest.path.length ? issue : deepest, undefined)
  return new RunOptionsError({
    option: issue === undefined || issue.path.length === 0 ? "options" : issue.path.map(String).join("."),
    description: issue?.message ?? "invalid options"
  })
}

/**
 * Decodes a run's options: every field checked by the schema, its problems reported with their paths.
 *
 * @internal
 */
export const decodeOptions = (options: unknown): Either.Either<Decoded, RunOptionsError> =>
  Either.mapLeft(decode(options ?? {}), optionError)

/**
 * A decoder of the options of one of the library's services (an event hub, a run store, a server), with the
 * schemas and the errors of a run's options: `options` (a struct of `WholeFromOne`, ...) checked whole, a problem
 * reported as a `RunOptionsError` naming its option.
 *
 * @internal
 */
export const decoderOf = <A, I>(
  options: Schema.Schema<A, I>
): (input: unknown) => Either.Either<A, RunOptionsError> => {
  const decode = Schema.decodeUnknownEither(options, { errors: "first", onExcessProperty: "ignore" })
  return (input) => Either.mapLeft(decode(input ?? {}), optionError)
}

const decodeEstimate = Schema.decodeUnknownEither(Estimate, { errors: "first", onExcessProperty: "ignore" })

/**
 * A task's estimate from the run's `estimate` function: a usage whose fields are numbers, 0 or more, or why not (a
 * NaN reserved would make every later task fit the budget; a negative one would give it room it does not have). A
 * function that throws is that task's problem too.
 *
 * @internal
 */
export const estimateOf = (
  estimate: (task: Task.Task<unknown>) => unknown,
  task: Task.Task<unknown>
): Either.Either<Usage.Usage, string> => {
  const value = Either.try({ try: () => estimate(task), catch: (error) => error })
  if (Either.isLeft(value)) {
    const error = value.left
    return Either.left(`the estimate function threw: ${error instanceof Error ? error.message : String(error)}`)
  }
  if (typeof value.right !== "object" || value.right === null) {
    return Either.left(`expected a usage ({ requests, inputTokens, outputTokens, cost }), got ${String(value.right)}`)
  }
  return Either.match(decodeEstimate(value.right), {
    onLeft: (error) => {
      const issue = ParseResult.ArrayFormatter.formatErrorSync(error)[0]
      return Either.left(`${issue?.path.map(String).join(".") ?? ""}: ${issue?.message ?? "invalid"}`)
    },
    onRight: (usage) => Either.right(Usage.make(usage))
  })
}

/** @internal */
export const fail = (option: string, description: string) => Either.left(new RunOptionsError({ option, description }))

/**
 * The adaptive settings resolved against the run's concurrency.
 *
 * @internal
 */
export interface Adaptive {
  readonly initial: number
  readonly min: number
  readonly max: number
  readonly decrease: number
  readonly increase: number
}

/** @internal */
export const resolveAdaptive = (
  adaptive: Decoded["adaptive"],
  max: number
): Either.Either<Adaptive | undefined, RunOptionsError> => {
  if (adaptive === undefined || adaptive === false) return Either.right(undefined)
  const options = adaptive === true ? {} : adaptive
  const initial = options.initial ?? Math.ceil(max / 10)
  const min = options.min ?? 1
  if (initial > max) {
    return fail("adaptive.initial", `expected a number from 1 to the concurrency (${max}), got ${initial}`)
  }
  if (min > initial) {
    return fail("adaptive.min", `expected a number from 1 to the initial limit (${initial}), got ${min}`)
  }
  return Either.right({ initial, min, max, decrease: options.decrease ?? 0.75, increase: options.increase ?? 0.4 })
}
