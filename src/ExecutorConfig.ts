/**
 * Settings of the `Executor`: the default concurrency and per-task timeout of its runs, and the schemas every way
 * a setting enters goes through (run options, layers, configuration, the command line, the HTTP API). Each run may
 * override the settings; a task's own timeout overrides both.
 *
 * @since 0.1.0
 */
import * as Config from "effect/Config"
import * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import { RunOptionsError } from "./AgentError.js"
import * as internalDuration from "./internal/duration.js"

/**
 * A concurrency limit: a positive integer, or `"unbounded"` for one agent per task at once.
 *
 * @category models
 * @since 0.1.0
 */
export type Concurrency = number | "unbounded"

/**
 * @category models
 * @since 0.1.0
 */
export interface Service {
  /** How many agents run at once. */
  readonly concurrency: Concurrency
  /** How long one task may run before its agent is interrupted; `undefined` for no limit. */
  readonly timeout: Duration.Duration | undefined
}

/**
 * The executor's settings.
 *
 * @category services
 * @since 0.1.0
 */
export class ExecutorConfig extends Context.Tag("effect-parallel-agents/ExecutorConfig")<ExecutorConfig, Service>() {}

/**
 * Options accepted by `layer`: every setting is optional and defaults to `defaults`.
 *
 * @category models
 * @since 0.1.0
 */
export interface Options {
  readonly concurrency?: Concurrency | undefined
  readonly timeout?: Duration.DurationInput | undefined
}

/**
 * The default concurrency of a thread pool for I/O-bound work, `min(32, cpus + 4)`: at least 5 agents, at most 32.
 *
 * @category config
 * @since 0.1.0
 */
export const defaultConcurrency = (cpus: number): number => Math.min(32, Math.max(1, Math.floor(cpus)) + 4)

/**
 * The number of CPUs the runtime reports: `navigator.hardwareConcurrency` (browsers, Deno, Bun, Node.js 21 and
 * later), else Node's `os.availableParallelism()` reached through `process.getBuiltinModule` (Node.js 20.16 and
 * later, without importing a Node module), else 4.
 *
 * @category config
 * @since 0.1.0
 */
export const availableParallelism = (): number => {
  const runtime = globalThis as {
    readonly navigator?: { readonly hardwareConcurrency?: unknown }
    readonly process?: {
      readonly getBuiltinModule?: (id: string) => { readonly availableParallelism?: () => unknown } | undefined
    }
  }
  const reported = runtime.navigator?.hardwareConcurrency ??
    runtime.process?.getBuiltinModule?.("node:os")?.availableParallelism?.()
  return typeof reported === "number" && Number.isInteger(reported) && reported > 0 ? reported : 4
}

/**
 * Concurrency `min(32, cpus + 4)` and no per-task timeout.
 *
 * @default { concurrency: defaultConcurrency(availableParallelism()), timeout: undefined }
 * @category config
 * @since 0.1.0
 */
export const defaults: Service = {
  concurrency: defaultConcurrency(availableParallelism()),
  timeout: undefined
}

// =============================================================================
// schemas
// =============================================================================

/**
 * The largest concurrency a run accepts: past it, a number is surely a mistake (a run never holds more than this
 * many agents at once), and the engine reports it instead of trying.
 *
 * @category config
 * @since 0.1.0
 */
export const maxConcurrency = 1_000_000

const show = (value: unknown): string => typeof value === "string" ? JSON.stringify(value) : String(value)

const concurrencyMessage = `a whole number from 1 to ${maxConcurrency.toLocaleString("en-US")}, or "unbounded"`

const decodeConcurrency = (value: unknown): Either.Either<Concurrency, string> => {
  const parsed = typeof value === "string"
    ? value.trim().toLowerCase() === "unbounded" ? "unbounded" : value.trim() === "" ? Number.NaN : Number(value)
    : value
  return parsed === "unbounded" ||
      (typeof parsed === "number" && Number.isSafeInteger(parsed) && parsed >= 1 && parsed <= maxConcurrency)
    ? Either.right(parsed)
    : Either.left(`expected ${concurrencyMessage}, got ${show(value)}`)
}

/**
 * A concurrency: a whole number from 1 to `maxConcurrency`, or `"unbounded"`; from text as well (`"8"`,
 * `"unbounded"`).
 *
 * @category config
 * @since 0.1.0
 */
export const ConcurrencySchema: Schema.Schema<Concurrency, string | number> = Schema.transformOrFail(
  Schema.Union(Schema.String, Schema.Number),
  Schema.Union(Schema.Literal("unbounded"), Schema.Number),
  {
    strict: true,
    decode: (value, _, ast) =>
      Either.match(decodeConcurrency(value), {
        onLeft: (message) => ParseResult.fail(new ParseResult.Type(ast, value, message)),
        onRight: ParseResult.succeed
      }),
    encode: ParseResult.succeed
  }
).annotations({ identifier: "Concurrency", description: concurrencyMessage })

const timeoutMessage = internalDuration.expected

/**
 * Reads a duration longer than zero from any input: a `Duration`, a number of milliseconds, a bigint of
 * nanoseconds, `[seconds, nanos]`, or text such as `"30 seconds"`, `"30s"`, `"500ms"`, `"1.5 min"`, `"2h"`.
 * Zero, negative, NaN and unreadable values are rejected with a description of what was expected. The one reader
 * of durations: run options, `layer`, `AGENT_TIMEOUT`, a task's own timeout, the command line, the HTTP API.
 *
 * @category config
 * @since 0.1.0
 */
export const decodeTimeout: (input: unknown) => Either.Either<Duration.Duration, string> = internalDuration.decode

/**
 * A timeout or a deadline: a duration longer than zero, from text (`"30 seconds"`, `"30s"`, `"500ms"`, `"2m"`) or
 * a number of milliseconds. The one reader for every way a duration enters: run options, `layer`, `AGENT_TIMEOUT`,
 * the command line, the HTTP API.
 *
 * @category config
 * @since 0.1.0
 */
export const Timeout: Schema.Schema<Duration.Duration, string | number> = Schema.transformOrFail(
  Schema.Union(Schema.String, Schema.Number),
  Schema.DurationFromSelf,
  {
    strict: true,
    decode: (value, _, ast) =>
      Either.match(decodeTimeout(value), {
        onLeft: (message) => ParseResult.fail(new ParseResult.Type(ast, value, message)),
        onRight: ParseResult.succeed
      }),
    encode: (duration) => ParseResult.succeed(Duration.format(duration))
  }
).annotations({ identifier: "Timeout", description: timeoutMessage })

/**
 * Checks settings and merges them over the defaults; a setting out of range is a `RunOptionsError` that names it.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = (options?: Options): Either.Either<Service, RunOptionsError> => {
  const concurrency = options?.concurrency === undefined
    ? Either.right(defaults.concurrency)
    : Either.mapLeft(
      decodeConcurrency(options.concurrency),
      (description) => new RunOptionsError({ option: "concurrency", description })
    )
  if (Either.isLeft(concurrency)) return Either.left(concurrency.left)
  if (options?.timeout === undefined) return Either.right({ concurrency: concurrency.right, timeout: defaults.timeout })
  return Either.map(
    Either.mapLeft(
      decodeTimeout(options.timeout),
      (description) => new RunOptionsError({ option: "timeout", description })
    ),
    (timeout) => ({ concurrency: concurrency.right, timeout })
  )
}

/**
 * Checks a concurrency: a whole number from 1 to `maxConcurrency`, or `"unbounded"`. Returns a description of the
 * problem, if any.
 *
 * @category config
 * @since 0.1.0
 */
export const validateConcurrency = (concurrency: unknown): Either.Either<Concurrency, string> =>
  decodeConcurrency(typeof concurrency === "string" && concurrency !== "unbounded" ? Number.NaN : concurrency)

/**
 * Provides settings merged over the defaults; fails with `RunOptionsError` when one is out of range.
 *
 * @category layers
 * @since 0.1.0
 */
export const layer = (options?: Options): Layer.Layer<ExecutorConfig, RunOptionsError> =>
  Layer.effect(ExecutorConfig, make(options))

const fromSchema = <A>(schema: Schema.Schema<A, string | number>, name: string): Config.Config<A> =>
  Config.string(name).pipe(
    Config.mapOrFail((raw) =>
      Either.mapLeft(
        Schema.decodeUnknownEither(schema)(raw),
        (error) =>
          ConfigError.InvalidData(
            [],
            ParseResult.ArrayFormatter.formatErrorSync(error).map((issue) => issue.message).join("; ")
          )
      )
    )
  )

/**
 * A concurrency read from configuration: a whole number from 1 to `maxConcurrency`, or `unbounded`.
 *
 * @category config
 * @since 0.1.0
 */
export const concurrencyConfig = (name: string): Config.Config<Concurrency> => fromSchema(ConcurrencySchema, name)

/**
 * A timeout read from configuration: a duration longer than zero (`30 seconds`, `30s`, `500ms`, `2m`).
 *
 * @category config
 * @since 0.1.0
 */
export const timeoutConfig = (name: string): Config.Config<Duration.Duration> => fromSchema(Timeout, name)

/**
 * Settings read from configuration, each defaulting to `defaults`:
 *
 * - `AGENT_CONCURRENCY`: a whole number from 1 to `maxConcurrency`, or `unbounded`
 * - `AGENT_TIMEOUT`: a duration longer than zero, such as `30 seconds`, `30s` or `2m`
 *
 * Apps that prefix their keys use `ConfigProvider.nested`.
 *
 * @category config
 * @since 0.1.0
 */
export const config: Config.Config<Service> = Config.suspend(() => Config.all(settings))

const settings = {
  concurrency: concurrencyConfig("AGENT_CONCURRENCY").pipe(
    Config.withDescription("How many agents run at once: a whole number, or `unbounded`"),
    Config.withDefault(defaults.concurrency)
  ),
  timeout: timeoutConfig("AGENT_TIMEOUT").pipe(
    Config.withDescription("How long one task may run, such as `30 seconds`; no limit when unset"),
    Config.option,
    Config.map(Option.getOrUndefined)
  )
}

/**
 * Provides settings read from configuration (see `config`). Values given here are used instead of what the
 * configuration says, whose key is then not read (a malformed `AGENT_TIMEOUT` is no error when a timeout is given);
 * a value out of range is a `ConfigError`.
 *
 * @category layers
 * @since 0.1.0
 */
export const layerConfig = (
  options?: Config.Config.Wrap<Options>
): Layer.Layer<ExecutorConfig, ConfigError.ConfigError> =>
  Layer.effect(
    ExecutorConfig,
    Effect.flatMap(
      options === undefined ? Effect.succeed({} as Options) : Config.unwrap(options),
      (overrides) =>
        Effect.flatMap(
          Config.all({
            concurrency: overrides.concurrency === undefined
              ? settings.concurrency
              : Config.succeed(overrides.concurrency),
            timeout: overrides.timeout === undefined ? settings.timeout : Config.succeed(overrides.timeout)
          }),
          (settings) =>
            Either.mapLeft(make(settings), (error) => ConfigError.InvalidData([error.option], error.description))
        )
    )
  )
