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
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as ExecutorConfig from "../../src/ExecutorConfig.js"
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
  readonly deadline: Option.Option<Duration.Duration>
  readonly retries: number
  readonly output: Option.Option<string>
  readonly report: Option.Option<string>
  readonly json: boolean
  readonly progressInterval: Duration.Duration
  readonly journal: Option.Option<string>
  readonly resume: Option.Option<string>
  readonly retryFailed: boolean
  /** Run the tasks on the cluster at `DATABASE_URL` instead of in this process. */
  readonly cluster: boolean
  /** The run's id (random by default); on the cluster, a run given the same id again gets its stored results. */
  readonly runId: Option.Option<string>
}

/**
 * The most agents at once a run takes, from `--concurrency` or `AGENT_CONCURRENCY`: the engine's own limit,
 * `ExecutorConfig.maxConcurrency`, which has the same value. A larger number is a usage error.
 *
 * @category config
 * @since 0.1.0
 */
export const maxConcurrency: number = ExecutorConfig.maxConcurrency

const invalid = (message: string) => ValidationError.invalidValue(HelpDoc.p(message))

const count = (n: number) => n.toLocaleString("en-US")

/**
 * A flag `--<name> <duration>` that takes a duration above 0, read as every duration is
 * (`ExecutorConfig.decodeTimeout`: `30s`, `500ms`, `2m`, `1.5 hours`, a number of milliseconds).
 *
 * @category constructors
 * @since 0.1.0
 */
export const duration = (name: string): Options.Options<Duration.Duration> =>
  Options.text(name).pipe(
    Options.withPseudoName("duration"),
    Options.mapEffect((text) =>
      Either.match(ExecutorConfig.decodeTimeout(text), {
        onLeft: (description) => Effect.fail(invalid(`--${name}: ${description}`)),
        onRight: Effect.succeed
      })
    )
  )

/**
 * The names of a flag of `run`: its long name, its one-letter alias if any, and, for a flag that takes a value, an
 * example of one (used to say what a flag given without its value needs).
 */
interface Name {
  readonly name: string
  readonly alias?: string | undefined
  readonly example?: string | undefined
  /** Whether the value is a whole number, written in digits (`@effect/cli` takes `0x10`, `1e9` and ` 3` too). */
  readonly integer?: boolean | undefined
}

const names = {
  input: { name: "input", alias: "i", example: "tasks.jsonl" },
  agent: { name: "agent", alias: "a", example: "classify" },
  concurrency: { name: "concurrency", alias: "c", example: "8", integer: true },
  timeout: { name: "timeout", example: "30s" },
  deadline: { name: "deadline", example: "10m" },
  retries: { name: "retries", example: "2", integer: true },
  output: { name: "output", alias: "o", example: "results.jsonl" },
  report: { name: "report", example: "report.html" },
  json: { name: "json" },
  progressInterval: { name: "progress-interval", example: "5s" },
  journal: { name: "journal", example: ".parallel-agents/journal.db" },
  resume: { name: "resume", example: "k3x9q1" },
  retryFailed: { name: "retry-failed" },
  cluster: { name: "cluster" },
  runId: { name: "run-id", example: "docs-2024-06-01" }
} as const satisfies { readonly [K in keyof RunFlags]: Name }

const agentList = AgentRegistry.builtIn.map((entry) => `${entry.name} (${entry.description})`).join(", ")

/**
 * The flags of `parallel-agents run`, as `@effect/cli` options.
 *
 * @category constructors
 * @since 0.1.0
 */
export const run: { readonly [K in keyof RunFlags]: Options.Options<RunFlags[K]> } = {
  input: Options.file(names.input.name, { exists: "yes" }).pipe(
    Options.withAlias(names.input.alias),
    Options.withDescription(
      "The JSONL file of tasks: one JSON object per line (its `id`, if any, is the task's id); blank lines are " +
        "skipped."
    )
  ),
  // Text, not `Options.choice`, for a message that names the agent it did not find; the help drops the generic
  // line `@effect/cli` gives text flags (see `Cli`).
  agent: Options.text(names.agent.name).pipe(
    Options.withAlias(names.agent.alias),
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
  concurrency: Options.integer(names.concurrency.name).pipe(
    Options.withAlias(names.concurrency.alias),
    Options.withDescription(
      `How many agents run at once, from 1 to ${count(maxConcurrency)} (AGENT_CONCURRENCY, or min(32, cpus + 4), ` +
        `by default). A file of tasks is a stream: it needs a number, not "unbounded".`
    ),
    Options.withSchema(
      Schema.Number.pipe(
        Schema.greaterThanOrEqualTo(1, {
          message: (issue) => `--concurrency: expected 1 or more, got ${issue.actual}`
        }),
        Schema.lessThanOrEqualTo(maxConcurrency, {
          message: (issue) =>
            `--concurrency: expected at most ${count(maxConcurrency)}, got ${count(Number(issue.actual))}`
        })
      )
    ),
    Options.optional
  ),
  timeout: duration(names.timeout.name).pipe(
    Options.withDescription("How long one task may run, such as 30s or 2m (AGENT_TIMEOUT, or 60s, by default)."),
    Options.optional
  ),
  deadline: duration(names.deadline.name).pipe(
    Options.withDescription(
      "How long the whole run may take, such as 10m or 1h (no limit by default). At the deadline running tasks " +
        "are stopped and reported timed out, and the lines not yet started are reported interrupted."
    ),
    Options.optional
  ),
  retries: Options.integer(names.retries.name).pipe(
    Options.withDescription(
      "How many times a task is retried after a rate limit, a 5xx, a connection error or a timeout, with " +
        "exponential backoff (2 by default)."
    ),
    Options.withSchema(
      Schema.Number.pipe(
        Schema.nonNegative({ message: (issue) => `--retries: expected 0 or more, got ${issue.actual}` })
      )
    ),
    Options.withDefault(2)
  ),
  // Text, not `Options.file`, which takes only regular files: `--output /dev/null` is fine.
  output: Options.text(names.output.name).pipe(
    Options.withAlias(names.output.alias),
    Options.withPseudoName("file"),
    Options.withDescription(
      "Where to write the results, one JSON line per task as it ends (stdout by default, or with -o -). The file " +
        "is replaced; it may not be the input or the report."
    ),
    Options.optional
  ),
  report: Options.text(names.report.name).pipe(
    Options.withPseudoName("file"),
    Options.withDescription(
      "Write the run's HTML report there, whole, at the end (it keeps every result in memory until then). Checked " +
        "before any task runs; it may not be the input or the results."
    ),
    Options.optional
  ),
  json: Options.boolean(names.json.name).pipe(
    Options.withDescription("Print the summary as one JSON object on stdout instead of text on stderr.")
  ),
  progressInterval: duration(names.progressInterval.name).pipe(
    Options.withDescription("How often the progress line is printed when stderr is not a terminal (5s by default)."),
    Options.withDefault(Duration.seconds(5))
  ),
  journal: Options.text(names.journal.name).pipe(
    Options.withPseudoName("file"),
    Options.withDescription(
      "Record each result in this SQLite file (created if missing) before it is written, so that the run can be " +
        "resumed with --resume after a crash or Ctrl-C. With --resume alone, .parallel-agents/journal.db."
    ),
    Options.optional
  ),
  resume: Options.text(names.resume.name).pipe(
    Options.withPseudoName("run-id"),
    Options.withDescription(
      "Resume the run with this id (printed when it started; `parallel-agents runs` lists them) over the same " +
        "input: tasks it recorded are not run again, and the results file is written again whole, one line per task."
    ),
    Options.optional
  ),
  retryFailed: Options.boolean(names.retryFailed.name).pipe(
    Options.withDescription("With --resume: run again the tasks recorded as failed or timed out.")
  ),
  cluster: Options.boolean(names.cluster.name).pipe(
    Options.withDescription(
      "Run the tasks on the cluster at DATABASE_URL (its runners: parallel-agents runner) instead of in this " +
        "process; --concurrency is then how many tasks are under way at once across the cluster."
    )
  ),
  runId: Options.text(names.runId.name).pipe(
    Options.withPseudoName("id"),
    Options.withDescription(
      "The run's id (random by default). With --cluster, a run started again with the same id gets the results " +
        "its runners stored instead of running those tasks again."
    ),
    Options.mapEffect((id) =>
      /^[A-Za-z0-9._-]{1,100}$/.test(id)
        ? Effect.succeed(id)
        : Effect.fail(
          invalid(`--run-id: expected 1 to 100 letters, digits, '.', '_' or '-', got ${JSON.stringify(id)}`)
        )
    ),
    Options.optional
  )
}

const byToken = new Map<string, Name>(
  Object.values<Name>(names).flatMap((name) => [
    [`--${name.name}`, name] as const,
    ...(name.alias === undefined ? [] : [[`-${name.alias}`, name] as const])
  ])
)

/**
 * Checks the arguments of `run` (those after `run`) for what `@effect/cli` would only call an unknown argument: a
 * flag given twice, or a flag that takes a value given none (at the end, or before another flag); and for a whole
 * number that is not one (`-c abc`, which `@effect/cli` reports without the flag's name, or `-c 0x10`, which it
 * takes). Returns what is wrong, if anything; other mistakes are left to the parser.
 *
 * @category constructors
 * @since 0.1.0
 */
export const check = (args: ReadonlyArray<string>): Option.Option<string> => {
  const seen = new Map<Name, string>()
  for (let i = 0; i < args.length; i++) {
    const token = args[i]!
    if (token === "--") break
    const equals = token.startsWith("--") ? token.indexOf("=") : -1
    const flag = equals < 0 ? token : token.slice(0, equals)
    const name = byToken.get(flag)
    if (name === undefined) continue
    const long = `--${name.name}`
    const called = flag === long ? long : `${flag} (${long})`
    let given = flag
    if (name.example !== undefined) {
      const value = equals < 0 ? args[i + 1] : token.slice(equals + 1)
      if (value === undefined || value === "" || (equals < 0 && isFlag(value))) {
        return Option.some(`${called} needs a value, such as ${flag} ${name.example}`)
      }
      if (name.integer === true && !/^-?[0-9]+$/.test(value)) {
        return Option.some(
          `${long}: expected a whole number, such as ${flag} ${name.example}, got ${JSON.stringify(value)}`
        )
      }
      given = `${flag} ${value}`
      if (equals < 0) i++
    }
    const before = seen.get(name)
    if (before !== undefined) {
      return Option.some(`${long} is given twice (${before}, then ${given}): give it once`)
    }
    seen.set(name, given)
  }
  return Option.none()
}

/**
 * Checks the whole-number flags of another subcommand (`serve`, `runner`) as `check` checks those of `run`: a value
 * that is not written in digits (`--port abc`, which `@effect/cli` reports without the flag's name, or `0x10`, which
 * it takes) is named with its flag. `flags` maps each flag and alias to its long name.
 *
 * @category constructors
 * @since 0.1.0
 */
export const checkWholeNumbers = (
  args: ReadonlyArray<string>,
  flags: Readonly<Record<string, string>>
): Option.Option<string> => {
  for (let i = 0; i < args.length; i++) {
    const token = args[i]!
    if (token === "--") break
    const equals = token.startsWith("--") ? token.indexOf("=") : -1
    const long = flags[equals < 0 ? token : token.slice(0, equals)]
    if (long === undefined) continue
    const value = equals < 0 ? args[i + 1] : token.slice(equals + 1)
    if (value !== undefined && !/^-?[0-9]+$/.test(value)) {
      return Option.some(`${long}: expected a whole number, got ${JSON.stringify(value)}`)
    }
  }
  return Option.none()
}

const isFlag = (token: string) =>
  byToken.has(token.startsWith("--") && token.includes("=") ? token.slice(0, token.indexOf("=")) : token) ||
  token === "--help" || token === "-h"
