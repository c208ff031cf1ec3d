/**
 * `parallel-agents serve`: the HTTP API and the dashboard (`effect-parallel-agents/http`) on Node.js, on 127.0.0.1
 * by default, running the built-in agents (`classify`, `summarize`, and `explain`, which streams its answer) on the
 * model configuration chooses. It prints where it listens and, when no token is configured (`AGENT_HTTP_TOKEN`),
 * the one it made up, once, in the dashboard's address. Ctrl-C stops it: runs still going are cancelled, their
 * agents released.
 *
 * @since 0.1.0
 */
import type * as LanguageModel from "@effect/ai/LanguageModel"
import * as CliCommand from "@effect/cli/Command"
import * as HelpDoc from "@effect/cli/HelpDoc"
import * as Options from "@effect/cli/Options"
import * as ValidationError from "@effect/cli/ValidationError"
import type * as FileSystem from "@effect/platform/FileSystem"
import type * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServer from "@effect/platform/HttpServer"
import type * as HttpServerError from "@effect/platform/HttpServerError"
import type * as Path from "@effect/platform/Path"
import * as Config from "effect/Config"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Predicate from "effect/Predicate"
import * as Redacted from "effect/Redacted"
import * as Executor from "../../src/Executor.js"
import * as RunJournal from "../../src/RunJournal.js"
import * as Runs from "../http/Runs.js"
import * as RunStore from "../http/RunStore.js"
import * as AgentModel from "../models/AgentModel.js"
import * as AgentRegistry from "../models/AgentRegistry.js"
import * as LanguageModelAgent from "../models/LanguageModelAgent.js"
import * as internal from "./internal/exit.js"
import * as Journal from "./internal/journal.js"
import * as Text from "./internal/text.js"
import * as Output from "./Output.js"
import * as RunCommand from "./RunCommand.js"

/**
 * How `serve` gets its HTTP server: a server listening on `host` and `port`, with the platform's services. The
 * program that runs the command line provides it (`services/bin/parallel-agents.ts`: Node's, with
 * `NodeHttpServer.layer`), so that the command itself runs on any platform `@effect/platform` serves on.
 *
 * @category services
 * @since 0.1.0
 */
export class ServerFactory extends Context.Tag("effect-parallel-agents/cli/ServeCommand/ServerFactory")<
  ServerFactory,
  (address: { readonly port: number; readonly host: string }) => Layer.Layer<
    HttpServer.HttpServer | HttpRouter.HttpRouter.DefaultServices,
    HttpServerError.ServeError
  >
>() {}

/**
 * A text agent that streams its answer as it is written, so that the dashboard shows it (agent name `explainer`):
 * a short explanation of a document (`{"text": ...}`).
 *
 * @category constructors
 * @since 0.1.0
 */
export const explain: Runs.RegisteredAgent<LanguageModel.LanguageModel> = Runs.agent({
  name: "explain",
  description: "a short explanation of a document ({\"text\": ...}), streamed as it is written",
  input: AgentRegistry.Document,
  factory: LanguageModelAgent.factory({
    name: "explainer",
    system: "You explain short documents in two sentences.",
    prompt: LanguageModelAgent.template("Explain this document in two sentences.\n\nDocument: {{text}}"),
    stream: true
  })
})

/**
 * The agents `serve` runs: the built-in ones (`AgentRegistry`) and `explain`.
 *
 * @category constructors
 * @since 0.1.0
 */
export const agents: ReadonlyArray<Runs.RegisteredAgent<LanguageModel.LanguageModel>> = [
  ...AgentRegistry.builtIn.map(Runs.agent),
  explain
]

/**
 * `RunsServer.defaultMaxBodySize`, written out: the command line loads the server's modules only when `serve` runs
 * (a test checks that the two agree).
 */
const defaultMaxBodySize = 10 * 1024 * 1024

/**
 * The modules of the server, loaded when `serve` runs: every other command (a `run` over a file, above all) would
 * otherwise load the HTTP API, its OpenAPI document and the Scalar page of its docs (a script of several
 * megabytes, kept in the heap for as long as the process lives) and never use them.
 */
const serverModules = Effect.promise(() =>
  Promise.all([import("../http/RunsServer.js"), import("../http/JournalRunStore.js")])
)

/**
 * Settings `serve` reads from configuration, besides the model's (`AGENT_MODEL`...), the executor's
 * (`AGENT_CONCURRENCY`, `AGENT_TIMEOUT`) and `AGENT_OFFLINE_LATENCY`:
 *
 * - `AGENT_HTTP_TOKEN`: the bearer token the API requires; without it, one is made up and printed once.
 * - `AGENT_HTTP_CORS_ORIGINS`: origins allowed to call the API from a browser, comma-separated (none by default).
 * - `AGENT_HTTP_MAX_BODY`: the largest request body, in bytes (10 MiB by default).
 *
 * @category config
 * @since 0.1.0
 */
export const config = Config.all({
  cors: Config.array(Config.string(), "AGENT_HTTP_CORS_ORIGINS").pipe(
    Config.withDescription("Origins allowed to call the API from a browser"),
    Config.withDefault([] as ReadonlyArray<string>)
  ),
  maxBodySize: Config.integer("AGENT_HTTP_MAX_BODY").pipe(
    Config.validate({ message: "Expected a number of bytes above 0", validation: (n) => n > 0 }),
    Config.withDescription("The largest request body, in bytes"),
    Config.withDefault(defaultMaxBodySize)
  )
})

const invalid = (message: string) => ValidationError.invalidValue(HelpDoc.p(message))

const options = {
  port: Options.integer("port").pipe(
    Options.withAlias("p"),
    Options.withDescription("The port to listen on (0 for any free one)."),
    Options.mapEffect((n) =>
      n >= 0 && n <= 65535 ? Effect.succeed(n) : Effect.fail(invalid(`--port: expected 0 to 65535, got ${n}`))
    ),
    Options.withDefault(8787)
  ),
  host: Options.text("host").pipe(
    Options.withDescription(
      "The address to listen on: 127.0.0.1 (this machine only) by default; 0.0.0.0 opens it to the network."
    ),
    Options.mapEffect((host) =>
      host.trim() === "" ? Effect.fail(invalid("--host: expected an address")) : Effect.succeed(host)
    ),
    Options.withDefault("127.0.0.1")
  ),
  journal: Options.text("journal").pipe(
    Options.withPseudoName("file"),
    Options.withDescription(
      "Keep the runs, their records and their results in this SQLite file (created if missing), so that they " +
        "survive a restart: a server started again on the file lists them and serves their results, reports and " +
        "events; a run that was going when the server stopped shows as interrupted. In memory without it."
    ),
    Options.optional
  )
}

const serve = Effect.fnUntraced(function*(
  flags: { readonly port: number; readonly host: string; readonly journal: Option.Option<string> }
) {
  const output = yield* Output.Output
  const listen = yield* ServerFactory
  const usage = (message: string) =>
    Effect.zipRight(
      output.stderr(`parallel-agents: ${Text.escape(message)}\n`),
      Effect.fail(new internal.CliExit({ code: internal.ExitCode.Usage }))
    )
  const settings = yield* Effect.catchAll(
    Effect.all([config, RunCommand.config]),
    (error) => usage(`configuration: ${error}`)
  )
  const [{ cors, maxBodySize }, { offlineLatency }] = settings
  const [RunsServer, JournalRunStore] = yield* serverModules
  const opened = Option.isSome(flags.journal)
    ? Option.some(yield* Journal.open({ command: "serve", file: flags.journal, create: true }))
    : Option.none()
  const platform = yield* Effect.context<FileSystem.FileSystem | Path.Path>()
  const store = Option.isSome(opened)
    // Each run holds its lock while it goes, as `run` does: a `run --resume` of it is refused meanwhile.
    ? Layer.scoped(
      RunStore.RunStore,
      Effect.flatMap(RunStore.RunStore, (store) => Journal.lockingStore(opened.value, store))
    ).pipe(
      Layer.provide(JournalRunStore.layer()),
      Layer.provide(Layer.succeed(RunJournal.RunJournal, opened.value.journal)),
      Layer.provide(Layer.succeedContext(platform))
    )
    : RunStore.layerMemory()
  const services = yield* Layer.build(Layer.mergeAll(
    Executor.layerConfig(),
    store,
    RunsServer.layerAccessTokenConfig(),
    AgentModel.layerConfig({
      offline: { answer: AgentRegistry.offlineAnswers, latency: Option.getOrUndefined(offlineLatency) }
    })
  )).pipe(Effect.catchAll((error) => usage(`configuration: ${error}`)))
  const model = Context.get(services, AgentModel.AgentModel)
  const app = RunsServer.layerServer({ maxBodySize, cors }).pipe(
    Layer.provide(Runs.layer({ agents, models: [model.model] })),
    Layer.provideMerge(listen(flags))
  )
  const context = yield* Layer.build(app).pipe(
    Effect.provide(services),
    // The server's error (`ServeError`) has no message of its own: Node's, in its cause, says why (EADDRINUSE...).
    Effect.catchAll((error) =>
      usage(
        `cannot listen on ${flags.host}:${flags.port}: ${
          Predicate.hasProperty(error, "cause") && error.cause instanceof Error ? error.cause.message : error.message
        }`
      )
    )
  )
  const address = Context.get(context, HttpServer.HttpServer).address
  const url = address._tag === "TcpAddress"
    ? `http://${address.hostname.includes(":") ? `[${address.hostname}]` : address.hostname}:${address.port}`
    : `unix:${address.path}`
  const { generated, token } = Context.get(services, RunsServer.AccessToken)
  yield* output.stderr(
    [
      `parallel-agents: serving the API and the dashboard on ${url} (model: ${model.spec})`,
      ...(Option.isSome(flags.journal) ? [`Runs are kept in ${flags.journal.value}.`] : []),
      generated
        ? `Dashboard: ${url}/#token=${Redacted.value(token)}\n` +
          "The token above was made up for this server and is shown only now: set AGENT_HTTP_TOKEN to choose one."
        : `Dashboard: ${url}/ (token: AGENT_HTTP_TOKEN)`,
      `API docs: ${url}/docs`,
      "Ctrl-C stops the server; runs still going are cancelled.",
      ""
    ].join("\n")
  )
  return yield* Effect.never
}, Effect.scoped)

/**
 * `parallel-agents serve [--port 8787] [--host 127.0.0.1] [--journal <file>]`.
 *
 * @category constructors
 * @since 0.1.0
 */
export const command = CliCommand.make("serve", options, serve).pipe(
  CliCommand.withDescription(
    "Serve the HTTP API and the dashboard: start runs of the built-in agents, follow them live, cancel them, read " +
      "their results and reports. Every endpoint but the dashboard page and /docs needs the token."
  )
)
