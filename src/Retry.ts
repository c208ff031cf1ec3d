/**
 * Retries of failed task attempts: which errors are worth another attempt (rate limits, timeouts, 5xx, connection
 * errors), how long a provider asked to wait (Retry-After), and the `Schedule` the engine follows between attempts.
 * Every attempt gets a fresh agent instance.
 *
 * @since 0.1.0
 */
import * as Duration from "effect/Duration"
import * as Option from "effect/Option"
import { hasProperty, isRecord } from "effect/Predicate"
import * as Schedule from "effect/Schedule"

// =============================================================================
// models
// =============================================================================

/**
 * How a run retries failed attempts, as for `Effect.retry`: a `Schedule` fed with each attempt's error, or
 * options. A timed-out attempt feeds its `AgentTimeout`. Defects and interruptions are never retried.
 *
 * @category models
 * @since 0.1.0
 */
export type Policy<E> = Schedule.Schedule<unknown, E> | Options<E>

/**
 * @category models
 * @since 0.1.0
 */
export interface Options<E> {
  /** The delays between attempts; `defaultSchedule` by default. */
  readonly schedule?: Schedule.Schedule<unknown, E> | undefined
  /** At most this many retries (so `times + 1` attempts); 3 by default, unless `schedule` is given. */
  readonly times?: number | undefined
  /**
   * Which errors to retry; `isRetryable` by default. To also retry output that did not fit the schema, for example:
   * `while: (error) => Retry.isRetryable(error) || error._tag === "AgentOutputError"`.
   */
  readonly while?: ((error: E) => boolean) | undefined
  /**
   * The longest Retry-After honoured; 60 seconds by default. A provider that asks for a longer wait (an hour, a
   * day) ends the task with its rate-limit error instead of stalling the run.
   */
  readonly maxRetryAfter?: Duration.DurationInput | undefined
}

/**
 * The longest Retry-After a run honours by default.
 *
 * @category constructors
 * @since 0.1.0
 */
export const defaultMaxRetryAfter: Duration.Duration = Duration.seconds(60)

/**
 * What an error says about retrying it.
 *
 * @category models
 * @since 0.1.0
 */
export interface Classification {
  /** Another attempt may succeed: rate limited, timed out, a 408 or 5xx status, a connection error. */
  readonly retryable: boolean
  /** The provider said too many requests (status 429): adaptive concurrency backs off on these. */
  readonly rateLimited: boolean
  /** How long the provider asked to wait before the next request (its Retry-After). */
  readonly retryAfter: Option.Option<Duration.Duration>
}

// =============================================================================
// classification
// =============================================================================

const notRetryable: Classification = { retryable: false, rateLimited: false, retryAfter: Option.none() }

const statusOf = (error: object): number | undefined => {
  if (hasProperty(error, "status") && typeof error.status === "number") return error.status
  if (hasProperty(error, "response") && isRecord(error.response) && typeof error.response.status === "number") {
    return error.response.status
  }
  return undefined
}

const headerOf = (error: object, name: string): string | undefined => {
  const headers = hasProperty(error, "response") && isRecord(error.response) && isRecord(error.response.headers)
    ? error.response.headers
    : hasProperty(error, "headers") && isRecord(error.headers)
    ? error.headers
    : undefined
  const value = headers?.[name]
  return typeof value === "string" ? value : undefined
}

/**
 * Reads a Retry-After header value: a number of seconds or an HTTP date (then relative to `now`, in milliseconds
 * since the epoch).
 *
 * @category getters
 * @since 0.1.0
 */
export const parseRetryAfter = (value: string, now: number): Option.Option<Duration.Duration> => {
  const trimmed = value.trim()
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Option.some(Duration.seconds(Number(trimmed)))
  const date = Date.parse(trimmed)
  return Number.isNaN(date) ? Option.none() : Option.some(Duration.millis(Math.max(0, date - now)))
}

const retryAfterOf = (error: object, now: number): Option.Option<Duration.Duration> => {
  if (hasProperty(error, "retryAfter")) {
    const decoded = Duration.decodeUnknown(error.retryAfter)
    if (Option.isSome(decoded)) return decoded
  }
  // OpenAI also sends the wait in milliseconds, more precise than Retry-After's seconds.
  const millis = Number(headerOf(error, "retry-after-ms"))
  if (millis >= 0) return Option.some(Duration.millis(millis))
  const header = headerOf(error, "retry-after") ?? headerOf(error, "Retry-After")
  return header === undefined ? Option.none() : parseRetryAfter(header, now)
}

/**
 * Classifies an error by its shape, so that errors of any provider library work: the engine's `AgentTimeout` (its
 * task timeout, not the run's deadline) is retryable; a `status` or `response.status` of 429 is rate limited, 408
 * and 5xx are retryable; a `reason` of `"Transport"` (a connection error, as `@effect/platform` and `@effect/ai`
 * report it) is retryable; an `AgentBuildError` is classified by its cause. Retry-After comes from a `retryAfter`
 * field (a `Duration` input), a `retry-after-ms` response header (as OpenAI sends) or a `retry-after` one. Input and output errors are not retryable.
 *
 * @category getters
 * @since 0.1.0
 */
export const classify = (error: unknown, now: number = Date.now()): Classification => {
  if (typeof error !== "object" || error === null) return notRetryable
  const tag = hasProperty(error, "_tag") ? error._tag : undefined
  switch (tag) {
    case "AgentTimeout":
      return hasProperty(error, "reason") && error.reason === "TaskTimeout"
        ? { retryable: true, rateLimited: false, retryAfter: Option.none() }
        : notRetryable
    case "AgentBuildError":
      return hasProperty(error, "cause") ? classify(error.cause, now) : notRetryable
    case "AgentInputError":
    case "AgentOutputError":
    case "TaskOptionsError":
    case "BudgetExceeded":
    case "JournalInputChanged":
      return notRetryable
  }
  const status = statusOf(error)
  if (status === 429) return { retryable: true, rateLimited: true, retryAfter: retryAfterOf(error, now) }
  if (status === 408 || (status !== undefined && status >= 500 && status <= 599)) {
    return { retryable: true, rateLimited: false, retryAfter: retryAfterOf(error, now) }
  }
  if (status === undefined && hasProperty(error, "reason") && error.reason === "Transport") {
    return { retryable: true, rateLimited: false, retryAfter: Option.none() }
  }
  return notRetryable
}

/**
 * Whether another attempt may succeed. See `classify`.
 *
 * @category guards
 * @since 0.1.0
 */
export const isRetryable = (error: unknown): boolean => classify(error).retryable

/**
 * Whether the provider said too many requests. See `classify`.
 *
 * @category guards
 * @since 0.1.0
 */
export const isRateLimited = (error: unknown): boolean => classify(error).rateLimited

// =============================================================================
// schedules
// =============================================================================

/**
 * The longest wait between two attempts of `defaultSchedule`.
 *
 * @category constructors
 * @since 0.1.0
 */
export const maxDelay: Duration.Duration = Duration.seconds(30)

// Exponential backoff from 1 second, doubling, with jitter, each delay at most `maxDelay`, without end.
const backoff: Schedule.Schedule<unknown, unknown> = Schedule.exponential("1 second", 2).pipe(
  Schedule.jittered,
  Schedule.modifyDelay((_, delay) => Duration.min(delay, maxDelay))
)

/**
 * Exponential backoff from 1 second, doubling, with jitter, each delay at most `maxDelay`, at most 3 retries.
 *
 * @category constructors
 * @since 0.1.0
 */
export const defaultSchedule: Schedule.Schedule<unknown, unknown> = Schedule.intersect(backoff, Schedule.recurs(3))

/**
 * A policy as the engine runs it: the schedule, with each delay raised to the provider's Retry-After when there is
 * one and stopped when that wait is longer than `maxRetryAfter`, and the predicate.
 *
 * @internal
 */
export const resolve = <E>(
  policy: Policy<E>,
  now: () => number
): { readonly schedule: Schedule.Schedule<unknown, E>; readonly while: (error: E) => boolean } => {
  const options: Options<E> = Schedule.isSchedule(policy) ? { schedule: policy } : policy
  // `times` caps the given schedule, or the default backoff; with neither, the default schedule applies.
  const base: Schedule.Schedule<unknown, E> = options.times === undefined
    ? options.schedule ?? defaultSchedule
    : Schedule.intersect(options.schedule ?? backoff, Schedule.recurs(options.times))
  const maxRetryAfter = options.maxRetryAfter === undefined
    ? defaultMaxRetryAfter
    : Duration.decode(options.maxRetryAfter)
  const retryAfter = (error: E) => classify(error, now()).retryAfter
  return {
    schedule: Schedule.zipRight(base, Schedule.identity<E>()).pipe(
      Schedule.whileInput((error: E) =>
        Option.match(retryAfter(error), {
          onNone: () => true,
          onSome: (after) => Duration.lessThanOrEqualTo(after, maxRetryAfter)
        })
      ),
      Schedule.modifyDelay((error, delay) =>
        Option.match(retryAfter(error), {
          onNone: () => delay,
          onSome: (after) => Duration.max(delay, after)
        })
      )
    ),
    while: options.while ?? isRetryable
  }
}
