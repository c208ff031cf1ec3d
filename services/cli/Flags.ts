/**
 * The flags of `parallel-agents run`, on `@effect/cli` `Options`: each parsed and checked, so that a bad value is a
 * usage error that says what was expected, before any task runs.
 *
 * @since 0.1.0
 */
import * as HelpDoc from "@effect/cli/HelpDoc"
import * as Options from "@effect/cli/Options"
import * as ValidationError from "@effect/cli/ValidationError"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as AgentRegistry from "../models/AgentRegistry.js"

/**
 * The flags of `parallel-agents run`, parsed.
 *
 * @category models
 * @since 0.1.0
 */
export interface RunFlags {
  readonly input: string
  readonly agent: AgentRegistry.AnyEntry
  readonly concurrency: Option.Option<number>
  readonly timeout: Option.Option<Duration.Duration>
  readonly retries: number
  readonly output: Option.Option<string>
  readonly report: Option.Option<string>
  readonly json: boolean
  readonly progressInterval: Duration.Duration
}

const invalid = (message: string) => ValidationError.invalidValue(HelpDoc.p(message))

/**
 * Reads a duration: `500ms`, `30s`, `2m`, `1h`, or Effect's `30 seconds`.
 *
 * @category config
 * @since 0.1.0
 */
export const parseDuration = (text: string): Option.Option<Duration.Duration> => {
  const short = text.trim().match(/^(\d+(?:\.\d+)?)\s*(ms|s|m|h)$/)
  if (short !== null) {
    const n = Number(short[1])
    switch (short[2]) {
      case "ms":
        return Option.some(Duration.millis(n))
      case "s":
        return Option.some(Duration.seconds(n))
      case "m":
        return Option.some(Duration.minutes(n))
      default:
        return Option.some(Duration.hours(n))
    }
  }
  return Duration.decodeUnknown(text.trim())
}

/**
 * A flag `--<name> <duration>` that takes a duration above 0 (see `parseDuration`).
 *
 * @category constructors
 * @since 0.1.0
 */
export const duration = (name: string): Options.Options<Duration.Duration> =>
  Options.text(name).pipe(
    Options.withPseudoName("duration"),
    Options.mapEffect((text) =>
      Option.match(Option.filter(parseDuration(text), (d) => Duration.greaterThan(d, Duration.zero)), {
        onNone: () =>
          Effect.fail(invalid(`--${name}: expected a duration above 0 such as 30s, 500ms or 2m, got "${text}"`)),
        onSome: Effect.succeed
      })
    )
  )

const agentList = AgentRegistry.builtIn.map((entry) => `${entry.name} (${entry.description})`).join(", ")

/**
 * The flags of `parallel-agents run`, as `@effect/cli` options.
 *
 * @category constructors
 * @since 0.1.0
 */
export const run: { readonly [K in keyof RunFlags]: Options.Options<RunFlags[K]> } = {
  input: Options.file("input", { exists: "yes" }).pipe(
    Options.withAlias("i"),
    Options.withDescription(
      "The JSONL file of tasks: one JSON object per line (its `id`, if any, is the task's id); blank lines are " +
        "skipped."
    )
  ),
  agent: Options.text("agent").pipe(
    Options.withAlias("a"),
    Options.withPseudoName("name"),
    Options.withDescription(`The agent to run: ${agentList}.`),
    Options.mapEffect((name) =>
      Option.match(AgentRegistry.find(name), {
        onNone: () =>
          Effect.fail(invalid(`Unknown agent "${name}". The known agents are: ${AgentRegistry.names.join(", ")}.`)),
        onSome: Effect.succeed
      })
    )
  ),
  concurrency: Options.integer("concurrency").pipe(
    Options.withAlias("c"),
    Options.withDescription("How many agents run at once (AGENT_CONCURRENCY, or min(32, cpus + 4), by default)."),
    Options.mapEffect((n) =>
      n >= 1 ? Effect.succeed(n) : Effect.fail(invalid(`--concurrency: expected 1 or more, got ${n}`))
    ),
    Options.optional
  ),
  timeout: duration("timeout").pipe(
    Options.withDescription("How long one task may run, such as 30s or 2m (AGENT_TIMEOUT, or 60s, by default)."),
    Options.optional
  ),
  retries: Options.integer("retries").pipe(
    Options.withDescription(
      "How many times a task is retried after a rate limit, a 5xx, a connection error or a timeout, with " +
        "exponential backoff (2 by default)."
    ),
    Options.mapEffect((n) =>
      n >= 0 ? Effect.succeed(n) : Effect.fail(invalid(`--retries: expected 0 or more, got ${n}`))
    ),
    Options.withDefault(2)
  ),
  output: Options.file("output").pipe(
    Options.withAlias("o"),
    Options.withDescription("Where to write the results, one JSON line per task as it ends (stdout by default)."),
    Options.optional
  ),
  report: Options.file("report").pipe(
    Options.withDescription("Write the run's HTML report there (keeps every result in memory until the end)."),
    Options.optional
  ),
  json: Options.boolean("json").pipe(
    Options.withDescription("Print the summary as one JSON object on stdout instead of text on stderr.")
  ),
  progressInterval: duration("progress-interval").pipe(
    Options.withDescription("How often the progress line is printed when stderr is not a terminal (5s by default)."),
    Options.withDefault(Duration.seconds(5))
  )
}
