/**
 * Settings of the `Executor`: the default concurrency and per-task timeout of its runs. Each run may override
 * them; a task's own timeout overrides both.
 *
 * @since 0.1.0
 */
import * as Config from "effect/Config"
import * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"

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
 * The default concurrency of the seed's thread pools, `min(32, cpus + 4)`: at least 5 workers, at most 32, for
 * I/O-bound agents.
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

/**
 * Checks a concurrency: a positive integer or `"unbounded"`. Returns a description of the problem, if any.
 *
 * @category config
 * @since 0.1.0
 */
export const validateConcurrency = (concurrency: unknown): Either.Either<Concurrency, string> =>
  concurrency === "unbounded" ||
    (typeof concurrency === "number" && Number.isSafeInteger(concurrency) && concurrency >= 1)
    ? Either.right(concurrency as Concurrency)
    : Either.left(`expected a positive integer or "unbounded", got ${formatValue(concurrency)}`)

const formatValue = (value: unknown) => typeof value === "string" ? JSON.stringify(value) : String(value)

/**
 * Merges options over the defaults.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = (options?: Options): Service => ({
  concurrency: options?.concurrency ?? defaults.concurrency,
  timeout: options?.timeout === undefined ? defaults.timeout : Duration.decode(options.timeout)
})

/**
 * Provides settings merged over the defaults.
 *
 * @category layers
 * @since 0.1.0
 */
export const layer = (options?: Options): Layer.Layer<ExecutorConfig> => Layer.succeed(ExecutorConfig, make(options))

/**
 * A concurrency read from configuration: a positive integer or `unbounded`.
 *
 * @category config
 * @since 0.1.0
 */
export const concurrencyConfig = (name: string): Config.Config<Concurrency> =>
  Config.string(name).pipe(
    Config.mapOrFail((raw) => {
      const value = raw.trim().toLowerCase() === "unbounded" ? "unbounded" : Number(raw.trim())
      return Either.mapLeft(
        validateConcurrency(value === "unbounded" ? value : raw.trim() === "" ? Number.NaN : value),
        (description) => ConfigError.InvalidData([], `${description} (${JSON.stringify(raw)})`)
      )
    })
  )

/**
 * Settings read from configuration, each defaulting to `defaults`:
 *
 * - `AGENT_CONCURRENCY`: a positive integer or `unbounded`
 * - `AGENT_TIMEOUT`: a duration such as `30 seconds` or `2 minutes`
 *
 * Apps that prefix their keys use `ConfigProvider.nested`.
 *
 * @category config
 * @since 0.1.0
 */
export const config: Config.Config<Service> = Config.all({
  concurrency: concurrencyConfig("AGENT_CONCURRENCY").pipe(
    Config.withDescription("How many agents run at once: a positive integer or `unbounded`"),
    Config.withDefault(defaults.concurrency)
  ),
  timeout: Config.duration("AGENT_TIMEOUT").pipe(
    Config.withDescription("How long one task may run, such as `30 seconds`; no limit when unset"),
    Config.option,
    Config.map(Option.getOrUndefined)
  )
})

/**
 * Provides settings read from configuration (see `config`). Values given here are used instead of what the
 * configuration says.
 *
 * @category layers
 * @since 0.1.0
 */
export const layerConfig = (
  options?: Config.Config.Wrap<Options>
): Layer.Layer<ExecutorConfig, ConfigError.ConfigError> =>
  Layer.effect(
    ExecutorConfig,
    Config.all([config, options === undefined ? Config.succeed({} as Options) : Config.unwrap(options)]).pipe(
      Config.map(([fromConfig, overrides]): Service => ({
        concurrency: overrides.concurrency ?? fromConfig.concurrency,
        timeout: overrides.timeout === undefined ? fromConfig.timeout : Duration.decode(overrides.timeout)
      }))
    )
  )
