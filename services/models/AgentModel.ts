/**
 * The language model agents use, chosen by configuration alone. `AGENT_MODEL` is `offline` (the default: no key,
 * no network), `openai:<model>` (OpenAI's Responses API through `@effect/ai-openai`, key from `OPENAI_API_KEY`) or
 * `compat:<model>` (a server that speaks chat completions, such as vLLM, Ollama, llama.cpp or LM Studio, at
 * `OPENAI_BASE_URL`). The layer provides the `LanguageModel` and an `AgentModel` service that says which model it is.
 *
 * @since 0.1.0
 */
import type * as LanguageModel from "@effect/ai/LanguageModel"
import type * as HttpClient from "@effect/platform/HttpClient"
import * as Config from "effect/Config"
import * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as AgentRegistry from "./AgentRegistry.js"
import * as ChatCompletionsLanguageModel from "./ChatCompletionsLanguageModel.js"
import * as OfflineLanguageModel from "./OfflineLanguageModel.js"

// URL is a global of every runtime the models run on; the project's libraries do not declare it.
declare const URL: new(
  url: string
) => { readonly protocol: string; readonly host: string; readonly search: string; readonly hash: string }

// =============================================================================
// models
// =============================================================================

/**
 * Where the model runs: in the process (`offline`), at OpenAI (`openai`), or on a chat-completions server
 * (`compat`).
 *
 * @category models
 * @since 0.1.0
 */
export type Provider = "offline" | "openai" | "compat"

/**
 * A model as `AGENT_MODEL` names it.
 *
 * @category models
 * @since 0.1.0
 */
export type Spec = "offline" | `openai:${string}` | `compat:${string}`

/**
 * Which model the agents use.
 *
 * @category models
 * @since 0.1.0
 */
export interface Service {
  readonly provider: Provider
  /** The model's name at its provider; `"offline"` for the offline model. */
  readonly model: string
  /** The model as `AGENT_MODEL` names it: `offline`, `openai:gpt-4o-mini`, `compat:llama3.1:8b`. */
  readonly spec: string
  /** Whether this is the offline model: no key, no network, generated answers. */
  readonly offline: boolean
}

/**
 * The model the agents use, provided with the `LanguageModel` by `layer` and `layerConfig`.
 *
 * @category services
 * @since 0.1.0
 */
export class AgentModel extends Context.Tag("effect-parallel-agents/AgentModel")<AgentModel, Service>() {}

/**
 * Settings of `layer`.
 *
 * @category models
 * @since 0.1.0
 */
export interface Options {
  /**
   * The model, as `AGENT_MODEL` names it.
   *
   * @default "offline"
   */
  readonly model?: Spec | undefined
  /** The API key: required by `openai:`, optional for `compat:`, unused offline. */
  readonly apiKey?: Redacted.Redacted | undefined
  /**
   * The API's base URL, up to `/v1`: required by `compat:`; for `openai:`, OpenAI's own by default. Credentials in
   * it (`http://user:secret@host/v1`) are not sent and never shown: the key goes in `apiKey`.
   */
  readonly baseUrl?: string | undefined
  /**
   * Options of the offline model, when it is the one chosen. The built-in agents (`AgentRegistry`) get their fixed
   * answers (`AgentRegistry.offlineAnswers`) for what `answer` leaves unanswered.
   */
  readonly offline?: OfflineLanguageModel.Options | undefined
}

// =============================================================================
// config
// =============================================================================

/**
 * Reads a model name: `offline`, `openai:<model>` or `compat:<model>`. Returns a description of the problem, if
 * any.
 *
 * @category config
 * @since 0.1.0
 */
export const parse = (spec: string): Either.Either<Service, string> => {
  const trimmed = spec.trim()
  if (trimmed === "offline") {
    return Either.right({ provider: "offline", model: OfflineLanguageModel.modelName, spec: "offline", offline: true })
  }
  const colon = trimmed.indexOf(":")
  const provider = colon < 0 ? trimmed : trimmed.slice(0, colon)
  const model = colon < 0 ? "" : trimmed.slice(colon + 1).trim()
  if ((provider === "openai" || provider === "compat") && model !== "") {
    return Either.right({ provider, model, spec: `${provider}:${model}`, offline: false })
  }
  return Either.left(
    `expected offline, openai:<model> or compat:<model>, got ${JSON.stringify(spec)}`
  )
}

/**
 * Settings read from configuration:
 *
 * - `AGENT_MODEL`: `offline` (the default), `openai:<model>` or `compat:<model>`
 * - `OPENAI_API_KEY`: the API key, read as a `Redacted`
 * - `OPENAI_BASE_URL`: the API's base URL, up to `/v1`
 *
 * Apps that prefix their keys use `ConfigProvider.nested`.
 *
 * @category config
 * @since 0.1.0
 */
export const config: Config.Config<{
  readonly model: Spec
  readonly apiKey: Redacted.Redacted | undefined
  readonly baseUrl: string | undefined
}> = Config.all({
  model: Config.string("AGENT_MODEL").pipe(
    // An empty value is no value, as for the key and the base URL below: `AGENT_MODEL=` in a .env file is offline.
    Config.mapOrFail((raw) =>
      Either.match(raw.trim() === "" ? parse("offline") : parse(raw), {
        onLeft: (description) => Either.left(ConfigError.InvalidData([], description)),
        onRight: (service) => Either.right(service.spec as Spec)
      })
    ),
    Config.withDescription("The model agents use: offline, openai:<model> or compat:<model>"),
    Config.withDefault<Spec>("offline")
  ),
  // An empty value is no value: `OPENAI_API_KEY=` in a .env file, say.
  apiKey: Config.redacted("OPENAI_API_KEY").pipe(
    Config.withDescription("The API key of openai: and compat: models"),
    Config.option,
    Config.map((key) => Option.getOrUndefined(Option.filter(key, (key) => Redacted.value(key).trim() !== "")))
  ),
  baseUrl: Config.string("OPENAI_BASE_URL").pipe(
    Config.withDescription("The API's base URL, up to /v1"),
    Config.option,
    Config.map((url) => Option.getOrUndefined(Option.filter(url, (url) => url.trim() !== "")))
  )
})

// =============================================================================
// layers
// =============================================================================

// A key goes in an HTTP header: a line break (a newline copied with it, say), another control character or a
// character past Latin-1 cannot, and every request would fail as a transport error. The message never holds the key.
const checkApiKey = (apiKey: Redacted.Redacted): Effect.Effect<void, ConfigError.ConfigError> => {
  const codes = Array.from(Redacted.value(apiKey), (char) => char.codePointAt(0)!)
  const problem = codes.some((code) => code === 0x0a || code === 0x0d)
    ? "the key holds a line break (copied with a newline?)"
    : codes.some((code) => (code < 0x20 && code !== 0x09) || code === 0x7f)
    ? "the key holds a control character"
    : codes.some((code) => code > 0xff)
    ? "the key holds a character that an HTTP header cannot carry (past Latin-1)"
    : undefined
  return problem === undefined ? Effect.void : Effect.fail(ConfigError.InvalidData(["OPENAI_API_KEY"], problem))
}

// The base URL is read when the layer is built, not at each request: a URL that is not one (the scheme left out,
// `localhost:11434/v1`) failed every task with a transport error, retried. A query or a fragment cannot be kept
// either: the request's path goes after the base URL (`/v1?api-version=1/chat/completions`). The message quotes no
// more of the URL than its scheme: credentials or a key in a query are not shown.
const checkBaseUrl = (baseUrl: string): Effect.Effect<void, ConfigError.ConfigError> => {
  const example = "such as http://localhost:11434/v1 or https://api.openai.com/v1"
  const url = Either.try(() => new URL(baseUrl.trim()))
  const problem = Either.isLeft(url)
    ? `is not a URL: expected an http:// or https:// URL, ${example}`
    : url.right.protocol !== "http:" && url.right.protocol !== "https:"
    ? `expected an http:// or https:// URL, ${example}; this one starts with ${JSON.stringify(url.right.protocol)}`
    : url.right.host === ""
    ? `has no host: expected an http:// or https:// URL, ${example}`
    : url.right.search !== "" || baseUrl.includes("?")
    ? "has a query (?...), which the request's path would follow: give the URL up to /v1, without one"
    : url.right.hash !== "" || baseUrl.includes("#")
    ? "has a fragment (#...), which the request's path would follow: give the URL up to /v1, without one"
    : undefined
  return problem === undefined
    ? Effect.void
    : Effect.fail(ConfigError.InvalidData(["OPENAI_BASE_URL"], `OPENAI_BASE_URL ${problem}`))
}

// The built-in agents (AgentRegistry) answer offline by their fixed rule wherever they run; the app's `answer`
// comes first.
const withBuiltInAnswers = (offline: OfflineLanguageModel.Options | undefined): OfflineLanguageModel.Options => {
  const answer = offline?.answer
  return {
    ...offline,
    answer: answer === undefined
      ? AgentRegistry.offlineAnswers
      : (request) => answer(request) ?? AgentRegistry.offlineAnswers(request)
  }
}

/**
 * Provides the chosen model as the `LanguageModel`, with the `AgentModel` that names it. It fails with a
 * `ConfigError` when the model name is malformed, when `openai:` has no API key, when `compat:` has no base
 * URL, or when the base URL is not an http:// or https:// URL without a query or fragment. The app provides the `HttpClient` (for example `NodeHttpClient.layerUndici` or `FetchHttpClient.layer`);
 * the offline model never uses it.
 *
 * @category layers
 * @since 0.1.0
 */
export const layer = (
  options?: Options
): Layer.Layer<LanguageModel.LanguageModel | AgentModel, ConfigError.ConfigError, HttpClient.HttpClient> =>
  Layer.unwrapEffect(Effect.gen(function*() {
    const service = yield* Either.mapLeft(
      parse(options?.model ?? "offline"),
      (description): ConfigError.ConfigError => ConfigError.InvalidData(["AGENT_MODEL"], description)
    )
    const named = Layer.succeed(AgentModel, service)
    switch (service.provider) {
      case "offline":
        return Layer.merge(OfflineLanguageModel.layer(withBuiltInAnswers(options?.offline)), named)
      case "openai": {
        if (options?.apiKey === undefined) {
          return yield* Effect.fail(ConfigError.MissingData(["OPENAI_API_KEY"], `${service.spec} needs an API key`))
        }
        yield* checkApiKey(options.apiKey)
        if (options.baseUrl !== undefined) yield* checkBaseUrl(options.baseUrl)
        // Loaded only now: `@effect/ai-openai` is an optional peer, and loading it costs every start that never
        // calls OpenAI about half a second and 90 MB (see `internal/openAi.ts`).
        const openAi = yield* Effect.tryPromise({
          try: () => import("./internal/openAi.js"),
          catch: (cause) =>
            ConfigError.InvalidData(
              ["AGENT_MODEL"],
              `${service.spec} needs the package @effect/ai-openai, which could not be loaded (npm install ` +
                `@effect/ai-openai): ${cause instanceof Error ? cause.message : String(cause)}`
            )
        })
        return openAi.layer({ model: service.model, apiKey: options.apiKey, baseUrl: options.baseUrl }).pipe(
          Layer.merge(named)
        )
      }
      case "compat": {
        if (options?.baseUrl === undefined) {
          return yield* Effect.fail(ConfigError.MissingData(
            ["OPENAI_BASE_URL"],
            `${service.spec} needs the base URL of its server, such as http://localhost:11434/v1`
          ))
        }
        if (options.apiKey !== undefined) yield* checkApiKey(options.apiKey)
        yield* checkBaseUrl(options.baseUrl)
        return ChatCompletionsLanguageModel.layer({
          model: service.model,
          baseUrl: options.baseUrl,
          apiKey: options.apiKey
        }).pipe(Layer.merge(named))
      }
    }
  }))

/**
 * Provides the model that configuration chooses (see `config`): the offline model unless `AGENT_MODEL` says
 * otherwise. `offline` options apply when the offline model is chosen.
 *
 * **Example** (Model agents whose model is chosen by `AGENT_MODEL`)
 *
 * ```ts
 * import { NodeHttpClient, NodeRuntime } from "@effect/platform-node"
 * import { Effect, Layer, Schema } from "effect"
 * import { Executor, Task } from "effect-parallel-agents"
 * import { AgentModel, LanguageModelAgent } from "effect-parallel-agents/models"
 *
 * const summarizer = LanguageModelAgent.factory({
 *   name: "summarizer",
 *   prompt: LanguageModelAgent.template("Summarize in one sentence:\n\n{{text}}"),
 *   output: Schema.Struct({ summary: Schema.String })
 * })
 *
 * const ModelLive = AgentModel.layerConfig().pipe(Layer.provide(NodeHttpClient.layerUndici))
 *
 * Effect.gen(function*() {
 *   const report = yield* Executor.run(Task.fromIterable([{ text: "..." }]), summarizer, { timeout: "30 seconds" })
 *   console.log(report.summary)
 * }).pipe(Effect.provide(Layer.mergeAll(Executor.layer(), ModelLive)), NodeRuntime.runMain)
 * ```
 *
 * @category layers
 * @since 0.1.0
 */
export const layerConfig = (options?: {
  readonly offline?: OfflineLanguageModel.Options | undefined
}): Layer.Layer<LanguageModel.LanguageModel | AgentModel, ConfigError.ConfigError, HttpClient.HttpClient> =>
  Layer.unwrapEffect(Effect.map(config, (settings) => layer({ ...settings, offline: options?.offline })))
