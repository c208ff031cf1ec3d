/**
 * The one reader of the durations users give (a run's or a task's timeout, a deadline, `AGENT_TIMEOUT`, a flag, a
 * request body): `Duration` reads NaN, negative numbers and negative strings as zero, which would stop every task
 * at once, and throws on a string it cannot parse. Here zero, negative, NaN and unreadable values are rejected with
 * a description of what was expected; `ExecutorConfig.decodeTimeout` and `ExecutorConfig.Timeout` are its public
 * faces.
 *
 * @internal
 */
import * as Duration from "effect/Duration"
import * as Either from "effect/Either"
import * as Option from "effect/Option"

const show = (value: unknown): string => typeof value === "string" ? JSON.stringify(value) : String(value)

const units: Record<string, number> = {
  ms: 1,
  milli: 1,
  millis: 1,
  millisecond: 1,
  milliseconds: 1,
  s: 1_000,
  sec: 1_000,
  secs: 1_000,
  second: 1_000,
  seconds: 1_000,
  m: 60_000,
  min: 60_000,
  mins: 60_000,
  minute: 60_000,
  minutes: 60_000,
  h: 3_600_000,
  hour: 3_600_000,
  hours: 3_600_000,
  d: 86_400_000,
  day: 86_400_000,
  days: 86_400_000
}

/** What a duration must be, for error messages. */
export const expected =
  "a duration longer than zero, such as \"30 seconds\", \"30s\", \"500ms\", \"2m\", or a number of milliseconds"

/** Reads a duration longer than zero, or says what was expected. */
export const decode = (input: unknown): Either.Either<Duration.Duration, string> => {
  let duration: Duration.Duration | undefined
  if (typeof input === "string") {
    const match = /^\s*(\d+(?:\.\d+)?|\.\d+)\s*([a-z]+)\s*$/i.exec(input)
    const unit = match === null ? undefined : units[match[2]!.toLowerCase()]
    if (match !== null && unit !== undefined) duration = Duration.millis(Number(match[1]) * unit)
    else if (/^\s*(\d+(?:\.\d+)?)\s*$/.test(input)) duration = Duration.millis(Number(input))
  } else if (typeof input === "number") {
    duration = Number.isNaN(input) ? undefined : Duration.millis(input)
  } else {
    duration = Option.getOrUndefined(Duration.decodeUnknown(input))
  }
  return duration !== undefined && Duration.greaterThan(duration, Duration.zero) && Duration.toMillis(duration) > 0
    ? Either.right(duration)
    : Either.left(`expected ${expected}, got ${input === undefined ? "nothing" : show(input)}`)
}
