/**
 * `parallel-agents runner`: joins a cluster (`AgentRunner.launch`) as a runner that hosts the built-in agents
 * (`AgentRegistry`) by name, with the language model the command line uses (`AGENT_MODEL`, the offline model by
 * default), and runs the tasks coordinators send it until Ctrl-C or SIGTERM; then it lets its running tasks finish
 * and hands its shards to the other runners. Settings come from configuration: `DATABASE_URL`, `RUNNER_HOST`,
 * `RUNNER_PORT`, `RUNNER_CONCURRENCY` and the `CLUSTER_*` settings every process shares (`ClusterConfig`); the
 * flags `--host`, `--port` and `--concurrency` take precedence. The cluster's modules are loaded when the runner
 * starts: the rest of the command line does not need their optional peers.
 *
 * @since 0.1.0
 */
import * as CliCommand from "@effect/cli/Command"
import * as HelpDoc from "@effect/cli/HelpDoc"
import * as Options from "@effect/cli/Options"
import * as ValidationError from "@effect/cli/ValidationError"
import type * as HttpClient from "@effect/platform/HttpClient"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Executor from "../../src/Executor.js"
import type * as ClusterConfig from "../cluster/ClusterConfig.js"
import * as AgentModel from "../models/AgentModel.js"
import * as AgentRegistry from "../models/AgentRegistry.js"
import * as internal from "./internal/exit.js"
import * as Output from "./Output.js"
import * as RunCommand from "./RunCommand.js"

/**
 * The flags of `parallel-agents runner`, parsed.
 *
 * @category models
 * @since 0.1.0
 */
export interface RunnerFlags {
  readonly host: Option.Option<string>
  readonly port: Option.Option<number>
  readonly concurrency: Option.Option<number>
}

const invalid = (message: string) => ValidationError.invalidValue(HelpDoc.p(message))

/**
 * The flags of `parallel-agents runner`, as `@effect/cli` options.
 *
 * @category constructors
 * @since 0.1.0
 */
export const flags: { readonly [K in keyof RunnerFlags]: Options.Options<RunnerFlags[K]> } = {
  host: Options.text("host").pipe(
    Options.withDescription("The host other processes reach this runner at (RUNNER_HOST, or localhost, by default)."),
    Options.optional
  ),
  port: Options.integer("port").pipe(
    Options.withDescription("The port other processes reach this runner at (RUNNER_PORT, or 34431, by default)."),
    Options.mapEffect((n) =>
      n >= 1 && n <= 65535 ? Effect.succeed(n) : Effect.fail(invalid(`--port: expected 1 to 65535, got ${n}`))
    ),
    Options.optional
  ),
  concurrency: Options.integer("concurrency").pipe(
    Options.withAlias("c"),
    Options.withDescription("The most tasks this runner runs at once (RUNNER_CONCURRENCY, or 100, by default)."),
    Options.mapEffect((n) =>
      n >= 1 ? Effect.succeed(n) : Effect.fail(invalid(`--concurrency: expected 1 or more, got ${n}`))
    ),
    Options.optional
  )
}

const usage = (message: string) =>
  Effect.flatMap(Output.Output, (output) => output.stderr(`parallel-agents runner: ${message}\n`)).pipe(
    Effect.zipRight(Effect.fail(new internal.CliExit({ code: internal.ExitCode.Usage })))
  )

/** The optional peers the cluster's modules need, besides those of the command line. */
const clusterPeers = "@effect/cluster @effect/sql @effect/sql-pg @effect/rpc @effect/workflow @effect/experimental"

/**
 * The cluster's runner module, loaded when a runner starts rather than with the command line: it needs optional
 * peers (`@effect/sql-pg`, ...) that `parallel-agents run` does not, and a command line without them must still run.
 */
const loadRunner = Effect.tryPromise({
  try: () => Promise.all([import("../cluster/AgentRunner.js"), import("../cluster/ClusterConfig.js")]),
  catch: (error) => error
}).pipe(
  Effect.catchAll((error) =>
    usage(
      `the runner needs the optional peers of effect-parallel-agents/cluster (npm install ${clusterPeers}): ` +
        (error instanceof Error ? error.message : String(error))
    )
  )
)

const overrides = (options: RunnerFlags): ClusterConfig.Options => {
  const runner: { -readonly [K in keyof ClusterConfig.Runner]?: ClusterConfig.Runner[K] } = {}
  if (Option.isSome(options.host)) runner.host = options.host.value
  if (Option.isSome(options.port)) runner.port = options.port.value
  if (Option.isSome(options.concurrency)) runner.concurrency = options.concurrency.value
  return { runner }
}

const runRunner = Effect.fnUntraced(function*(options: RunnerFlags) {
  const [AgentRunner, ClusterSettings] = yield* loadRunner
  const settings = yield* Effect.catchAll(RunCommand.config, (error) => usage(`configuration: ${error}`))
  // The runner's concurrency, which the client its model calls a server through is made for (`launch` reads the
  // same settings again).
  const { runner } = yield* Effect.catchAll(
    Effect.provide(ClusterSettings.ClusterConfig, ClusterSettings.layerConfig(overrides(options))),
    (error) => usage(`configuration: ${error}`)
  )
  const modelClient = yield* RunCommand.ModelClient
  const context = yield* Layer.build(Layer.merge(
    Executor.layerConfig(),
    AgentModel.layerConfig({
      offline: {
        answer: AgentRegistry.offlineAnswers,
        latency: Option.getOrUndefined(settings.offlineLatency)
      }
    }).pipe(Layer.provide(modelClient({ connections: runner.concurrency })))
  )).pipe(Effect.catchAll((error) => usage(`configuration: ${error}`)))
  return yield* AgentRunner.launch(AgentRegistry.builtIn.map(AgentRunner.agent), overrides(options)).pipe(
    Effect.provide(context),
    // Everything that stops a runner from joining is a setup error: bad settings, no database, a port in use,
    // settings that differ from the cluster's.
    Effect.catchAll((error) => usage(error._tag === "ConfigError" ? `configuration: ${error}` : error.message))
  )
}, Effect.scoped)

/**
 * `parallel-agents runner`: a runner of the cluster at `DATABASE_URL`, until it is stopped.
 *
 * @category constructors
 * @since 0.1.0
 */
export const command: CliCommand.Command<
  "runner",
  Output.Output | HttpClient.HttpClient,
  internal.CliExit,
  RunnerFlags
> = CliCommand.make("runner", flags, runRunner).pipe(
  CliCommand.withDescription(
    "Join the cluster at DATABASE_URL as a runner of the built-in agents, until Ctrl-C or SIGTERM. Exit codes: " +
      "2 setup error (configuration, database, port, settings that differ from the cluster's), 130 stopped."
  )
)
