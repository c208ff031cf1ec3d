/**
 * Reading the durations users give as options (a run's or a task's timeout): `Duration` reads NaN, negative numbers
 * and negative strings as zero, which would stop every task at once, and throws on a string it cannot parse. Both
 * are rejected here with a description of what was expected instead.
 *
 * @internal
 */
import * as Duration from "effect/Duration"
import * as Either from "effect/Either"

/** @internal */
export const decode = (input: Duration.DurationInput): Either.Either<Duration.Duration, string> => {
  const negative = typeof input === "number" ? !(input >= 0) : typeof input === "string" && /^\s*-/.test(input)
  const decoded = negative ? undefined : Duration.decodeUnknown(input)
  return decoded !== undefined && decoded._tag === "Some"
    ? Either.right(decoded.value)
    : Either.left(
      `expected a duration such as "30 seconds" or a number of milliseconds (0 or more), got ${
        typeof input === "string" ? JSON.stringify(input) : String(input)
      }`
    )
}
