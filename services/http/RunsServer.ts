/**
 * The handlers of `RunsApi` over the `Runs` service, the bearer-token check, and a ready server. Mount the groups
 * in an `HttpApi` of your own and provide `layer(api)` and `layerAuthorization`; or serve the whole API with
 * `layerServer()` on an `HttpServer` of your choice (`parallel-agents serve` uses Node's on 127.0.0.1). Request
 * bodies have a size limit; the token is compared in constant time and never logged, sent or published.
 *
 * @since 0.1.0
 */
import type * as HttpApi from "@effect/platform/HttpApi"
import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as HttpApiError from "@effect/platform/HttpApiError"
import type * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import * as HttpApiScalar from "@effect/platform/HttpApiScalar"
import type * as HttpRouter from "@effect/platform/HttpRouter"
import type * as HttpServer from "@effect/platform/HttpServer"
import type * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as OpenApi from "@effect/platform/OpenApi"
import * as Chunk from "effect/Chunk"
import * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Encoding from "effect/Encoding"
import * as Layer from "effect/Layer"
import * as Metric from "effect/Metric"
import * as Option from "effect/Option"
import type * as ParseResult from "effect/ParseResult"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import type { RunOptionsError } from "../../src/AgentError.js"
import * as internalOptions from "../../src/internal/options.js"
import * as RunReportHtml from "../../src/RunReportHtml.js"
import * as TaskFile from "../../src/TaskFile.js"
import * as Dashboard from "./Dashboard.js"
import * as events from "./internal/events.js"
import * as prometheus from "./internal/prometheus.js"
import * as Runs from "./Runs.js"
import * as RunsApi from "./RunsApi.js"
import type * as RunStore from "./RunStore.js"

// =============================================================================
// options
// =============================================================================

/**
 * Options of the handlers. One out of range fails the layer with a `RunOptionsError` naming it.
 *
 * @category models
 * @since 0.1.0
 */
export interface Options {
  /**
   * The largest request body accepted, in bytes (a whole number, 1 or more); a larger one gets `413`.
   * @default 10 MiB
   */
  readonly maxBodySize?: number | undefined
  /**
   * How often an event stream sends a comment to keep its connection open (0: never; not negative).
   * @default 15 seconds
   */
  readonly keepAlive?: Duration.DurationInput | undefined
}

// The options, checked: a keep-alive that is not a duration, or a body limit that is not a number of bytes (which
// would refuse every run with 413), fails the layer with a RunOptionsError naming it.
const decodeOptions = internalOptions.decoderOf(Schema.Struct({
  maxBodySize: Schema.optional(internalOptions.WholeFromOne),
  keepAlive: Schema.optional(internalOptions.DurationFromZero)
}))

const check = (
  options: Options | undefined
): Either.Either<{ readonly maxBodySize: number; readonly keepAlive: Duration.Duration }, RunOptionsError> =>
  Either.map(decodeOptions(options), ({ keepAlive = Duration.seconds(15), maxBodySize = defaultMaxBodySize }) => ({
    maxBodySize,
    keepAlive
  }))

/**
 * The default limit of a request body: 10 MiB.
 *
 * @category constructors
 * @since 0.1.0
 */
export const defaultMaxBodySize = 10 * 1024 * 1024

// =============================================================================
// the token
// =============================================================================

/**
 * The token requests must bear, and whether the server made it up (no token was configured): then whoever started
 * the server shows it once to its user (`parallel-agents serve` prints it on stderr), and nothing else ever does.
 *
 * @category services
 * @since 0.1.0
 */
export class AccessToken extends Context.Tag("effect-parallel-agents/RunsServer/AccessToken")<AccessToken, {
  readonly token: Redacted.Redacted<string>
  readonly generated: boolean
}>() {}

// Web Crypto, a global of Node.js 20 and of browsers; the project's libraries do not declare it.
declare const crypto: { getRandomValues<T extends Uint8Array>(array: T): T }

/**
 * A new random token: 32 bytes from the platform's cryptographic generator, in base64url.
 *
 * @category constructors
 * @since 0.1.0
 */
export const generateToken: Effect.Effect<Redacted.Redacted<string>> = Effect.sync(() =>
  Redacted.make(Encoding.encodeBase64Url(crypto.getRandomValues(new Uint8Array(32))))
)

/**
 * This token.
 *
 * @category layers
 * @since 0.1.0
 */
export const layerAccessToken = (token: Redacted.Redacted<string> | string): Layer.Layer<AccessToken> =>
  Layer.succeed(AccessToken, {
    token: typeof token === "string" ? Redacted.make(token) : token,
    generated: false
  })

/**
 * The token from configuration, `AGENT_HTTP_TOKEN` (read with `Config.redacted`); when it is not set or empty, a
 * new random one (`generated: true`).
 *
 * @category layers
 * @since 0.1.0
 */
export const layerAccessTokenConfig = (
  config: Config.Config<Redacted.Redacted<string>> = Config.redacted("AGENT_HTTP_TOKEN").pipe(
    Config.withDescription("The bearer token the HTTP API requires")
  )
): Layer.Layer<AccessToken, ConfigError.ConfigError> =>
  Layer.effect(
    AccessToken,
    Effect.gen(function*() {
      const configured = Option.filter(yield* Config.option(config), (token) => Redacted.value(token) !== "")
      return Option.isSome(configured)
        ? { token: configured.value, generated: false }
        : { token: yield* generateToken, generated: true }
    })
  )

/** Compares in a time that does not depend on where the strings differ (only on their length). */
const sameToken = (given: string, expected: string): boolean => {
  if (given.length !== expected.length) return false
  let difference = 0
  for (let i = 0; i < expected.length; i++) difference |= given.charCodeAt(i) ^ expected.charCodeAt(i)
  return difference === 0
}

/**
 * The bearer check of `RunsApi.Authorization`, against the `AccessToken`.
 *
 * @category layers
 * @since 0.1.0
 */
export const layerAuthorization: Layer.Layer<RunsApi.Authorization, never, AccessToken> = Layer.effect(
  RunsApi.Authorization,
  Effect.map(AccessToken, ({ token }) =>
    RunsApi.Authorization.of({
      bearer: (given) => {
        const value = Redacted.value(given)
        return sameToken(value, Redacted.value(token)) ? Effect.void : Effect.fail(
          new RunsApi.Unauthorized({
            message: `${value === "" ? "no bearer token" : "the token was refused"}: this endpoint needs the ` +
              "server's token, as Authorization: Bearer <token>"
          })
        )
      }
    }))
)

// =============================================================================
// requests
// =============================================================================

const jsonlTypes = ["application/x-ndjson", "application/jsonl", "application/jsonlines", "application/x-jsonlines"]

const decodeError = (path: ReadonlyArray<string>, message: string) =>
  new HttpApiError.HttpApiDecodeError({
    issues: [{ _tag: "Type", path: [...path], message }],
    message: path.length === 0 ? message : `${path.join(".")}: ${message}`
  })

/**
 * The body as text, or `PayloadTooLarge` when it is longer than `limit` bytes. A body with a larger length is
 * refused before it is read. One with no length (chunked) is read to its end, keeping only `limit` bytes, so that the
 * client can be answered (leaving it unread would cut the connection); past `4 * limit` bytes the connection is cut.
 */
const readBody = (request: HttpServerRequest.HttpServerRequest, limit: number) =>
  Effect.suspend(() => {
    const length = Number(request.headers["content-length"])
    if (Number.isFinite(length) && length > limit) return Effect.fail(new RunsApi.PayloadTooLarge({ limit }))
    let size = 0
    return request.stream.pipe(
      Stream.mapError(() => decodeError([], "the request body could not be read")),
      Stream.mapChunksEffect((chunk) => {
        for (const bytes of chunk) size += bytes.length
        return size > 4 * limit
          ? Effect.fail(new RunsApi.PayloadTooLarge({ limit }))
          : Effect.succeed(size > limit ? Chunk.empty<Uint8Array>() : chunk)
      }),
      Stream.decodeText(),
      Stream.mkString,
      Effect.filterOrFail(() => size <= limit, () => new RunsApi.PayloadTooLarge({ limit }))
    )
  })

const decodeStart = Schema.decodeUnknown(Schema.parseJson(RunsApi.StartRequest))

const refail = (error: ParseResult.ParseError) => HttpApiError.HttpApiDecodeError.refailParseError(error)

/** What `POST /runs` asks for: from a JSON body, or a JSONL body with the agent and options in the URL. */
const startOptions = (
  request: HttpServerRequest.HttpServerRequest,
  params: typeof RunsApi.StartParams.Type,
  limit: number
) =>
  Effect.gen(function*() {
    const contentType = (request.headers["content-type"] ?? "application/json").split(";")[0]!.trim().toLowerCase()
    const text = yield* readBody(request, limit)
    if (contentType === "application/json") {
      const body = yield* Effect.catchTag(decodeStart(text), "ParseError", refail)
      return {
        agent: body.agent,
        tasks: body.tasks.map((item, i) => TaskFile.taskOf(JSON.stringify(item) ?? "", i + 1)),
        concurrency: body.concurrency ?? params.concurrency,
        timeout: body.timeout ?? params.timeout,
        retries: body.retries ?? params.retries,
        deadline: body.deadline ?? params.deadline
      } satisfies Runs.StartOptions
    }
    if (jsonlTypes.includes(contentType) || contentType === "text/plain") {
      if (params.agent === undefined) {
        return yield* decodeError(["agent"], "a JSONL body needs the agent in the URL: POST /runs?agent=<name>")
      }
      const tasks = Chunk.toReadonlyArray(yield* Stream.runCollect(TaskFile.fromText(Stream.make(text))))
      if (tasks.length === 0) return yield* decodeError(["tasks"], "the body has no task: no line holds anything")
      return { ...params, agent: params.agent, tasks } satisfies Runs.StartOptions
    }
    return yield* decodeError(
      [],
      `expected a body of type application/json or ${RunsApi.jsonlContentType}, got ${contentType}`
    )
  })

// =============================================================================
// responses
// =============================================================================

const internalError = (error: RunStore.RunStoreError) =>
  Effect.zipRight(Effect.logError("the run store failed", error), Effect.fail(new HttpApiError.InternalServerError()))

const sseHeaders = {
  "cache-control": "no-cache",
  "x-accel-buffering": "no"
}

/** Server-Sent Events: the run's (already encoded) events, and its keep-alive comments. */
const sse = (events: Stream.Stream<Uint8Array, RunStore.RunStoreError>) =>
  HttpServerResponse.stream(
    // Readers reconnect after 2 s; the first comment shows the stream is open.
    Stream.concat(Stream.encodeText(Stream.make("retry: 2000\n: events of the run follow\n\n")), events),
    { contentType: "text/event-stream; charset=utf-8", headers: sseHeaders }
  )

// =============================================================================
// handlers
// =============================================================================

/**
 * The handlers of `RunsApi.RunsGroup`, for an API of your own that has that group (under a prefix, if you like).
 *
 * @category layers
 * @since 0.1.0
 */
export const layerRuns = <Id extends string, Groups extends HttpApiGroup.HttpApiGroup.Any, E, R>(
  api: HttpApi.HttpApi<Id, Groups, E, R>,
  options?: Options
): Layer.Layer<HttpApiGroup.ApiGroup<Id, "runs">, RunOptionsError, Runs.Runs | RunsApi.Authorization> => {
  const checked = check(options)
  if (Either.isLeft(checked)) return Layer.fail(checked.left)
  const { keepAlive, maxBodySize } = checked.right
  // The group is looked up in `api`, where it may have a prefix; its types are those of `RunsApi.Api`.
  const layer = HttpApiBuilder.group(
    api as unknown as typeof RunsApi.Api,
    "runs",
    (handlers) =>
      Effect.gen(function*() {
        const runs = yield* Runs.Runs
        return handlers
          .handleRaw("start", ({ request, urlParams }) =>
            Effect.flatMap(startOptions(request, urlParams, maxBodySize), runs.start).pipe(
              Effect.catchTag("RunStoreError", internalError)
            ))
          .handle("list", () =>
            Effect.catchTag(runs.list, "RunStoreError", internalError))
          .handle("get", ({ path }) =>
            Effect.catchTag(runs.get(path.id), "RunStoreError", internalError))
          .handle("cancel", ({ path }) => Effect.catchTag(runs.cancel(path.id), "RunStoreError", internalError))
          .handle("results", ({ path }) =>
            Effect.map(runs.results(path.id), (results) =>
              HttpServerResponse.stream(
                results.pipe(
                  Stream.mapChunks((chunk) => Chunk.of(Chunk.join(Chunk.map(chunk, events.resultLine), ""))),
                  Stream.encodeText
                ),
                { contentType: `${RunsApi.jsonlContentType}; charset=utf-8` }
              )).pipe(Effect.catchTag("RunStoreError", internalError)))
          .handle("report", ({ path }) =>
            Effect.map(runs.report(path.id), ({ info, report }) =>
              HttpServerResponse.text(
                RunReportHtml.toHtml(report, {
                  title: `Run ${info.id}: ${info.agent}, ${info.state}`,
                  stopped: info.state === "cancelled"
                    ? { reason: "cancelled", notRead: info.tasks - info.summary.total, unit: "tasks of the run" }
                    : undefined
                }),
                { contentType: "text/html; charset=utf-8" }
              )).pipe(Effect.catchTag("RunStoreError", internalError)))
          .handle("events", ({ headers, path }) =>
            Effect.map(runs.sse(path.id, headers["last-event-id"] ?? 0, { keepAlive }), sse).pipe(
              Effect.catchTag("RunStoreError", internalError)
            ))
          .handle("agents", () =>
            Effect.succeed(runs.agents))
      })
  )
  return layer as unknown as Layer.Layer<
    HttpApiGroup.ApiGroup<Id, "runs">,
    never,
    Runs.Runs | RunsApi.Authorization
  >
}

/**
 * The handler of `RunsApi.MetricsGroup`: every metric of the app, the engine's included, in Prometheus' text
 * format.
 *
 * @category layers
 * @since 0.1.0
 */
export const layerMetrics = <Id extends string, Groups extends HttpApiGroup.HttpApiGroup.Any, E, R>(
  api: HttpApi.HttpApi<Id, Groups, E, R>
): Layer.Layer<HttpApiGroup.ApiGroup<Id, "metrics">, never, RunsApi.Authorization> =>
  HttpApiBuilder.group(
    api as unknown as typeof RunsApi.Api,
    "metrics",
    (handlers) =>
      handlers.handle("metrics", () =>
        Effect.map(
          Metric.snapshot,
          (snapshot) => HttpServerResponse.text(prometheus.format(snapshot), { contentType: prometheus.contentType })
        ))
  ) as unknown as Layer.Layer<HttpApiGroup.ApiGroup<Id, "metrics">, never, RunsApi.Authorization>

/**
 * The handler of `RunsApi.DashboardGroup`: the dashboard page, which calls the API where `api` has its runs group.
 *
 * @category layers
 * @since 0.1.0
 */
export const layerDashboard = <Id extends string, Groups extends HttpApiGroup.HttpApiGroup.Any, E, R>(
  api: HttpApi.HttpApi<Id, Groups, E, R>
): Layer.Layer<HttpApiGroup.ApiGroup<Id, "dashboard">> => {
  // The base of the API's paths: what comes before `/runs` in the path of `GET /runs`, if the group is there.
  const list = (api.groups as unknown as Record<string, HttpApiGroup.HttpApiGroup.AnyWithProps | undefined>).runs
    ?.endpoints.list
  const base = list === undefined ? "" : list.path.slice(0, -"/runs".length)
  const page = HttpServerResponse.text(Dashboard.html({ base }), {
    contentType: "text/html; charset=utf-8",
    headers: { "content-security-policy": Dashboard.contentSecurityPolicy }
  })
  return HttpApiBuilder.group(
    api as unknown as typeof RunsApi.Api,
    "dashboard",
    (handlers) => handlers.handle("dashboard", () => Effect.succeed(page))
  ) as unknown as Layer.Layer<HttpApiGroup.ApiGroup<Id, "dashboard">>
}

/**
 * The handler of `RunsApi.DocsGroup`: the OpenAPI document of `api`.
 *
 * @category layers
 * @since 0.1.0
 */
export const layerDocs = <Id extends string, Groups extends HttpApiGroup.HttpApiGroup.Any, E, R>(
  api: HttpApi.HttpApi<Id, Groups, E, R>
): Layer.Layer<HttpApiGroup.ApiGroup<Id, "docs">, never, RunsApi.Authorization> => {
  const spec = OpenApi.fromApi(api as unknown as typeof RunsApi.Api)
  return HttpApiBuilder.group(
    api as unknown as typeof RunsApi.Api,
    "docs",
    (handlers) => handlers.handle("openapi", () => Effect.succeed(spec))
  ) as unknown as Layer.Layer<HttpApiGroup.ApiGroup<Id, "docs">, never, RunsApi.Authorization>
}

/**
 * The groups of `RunsApi` whose handlers `layer` provides, in an API whose identifier is `Id`.
 *
 * @category models
 * @since 0.1.0
 */
export type Handled<Id extends string> =
  | HttpApiGroup.ApiGroup<Id, "runs">
  | HttpApiGroup.ApiGroup<Id, "metrics">
  | HttpApiGroup.ApiGroup<Id, "dashboard">
  | HttpApiGroup.ApiGroup<Id, "docs">

/**
 * The handlers of every `RunsApi` group that `api` has.
 *
 * **Example** (Mounting the runs API next to an endpoint of your own)
 *
 * ```ts
 * import { HttpApi, HttpApiBuilder, HttpApiEndpoint, HttpApiGroup } from "@effect/platform"
 * import { Effect, Layer, Schema } from "effect"
 * import { RunsApi, RunsServer } from "effect-parallel-agents/http"
 *
 * class Hello extends HttpApiGroup.make("hello").add(HttpApiEndpoint.get("hello", "/hello").addSuccess(Schema.String)) {}
 * class MyApi extends HttpApi.make("my-api").add(Hello).add(RunsApi.RunsGroup).add(RunsApi.DashboardGroup) {}
 *
 * const ApiLive = HttpApiBuilder.api(MyApi).pipe(
 *   Layer.provide(HttpApiBuilder.group(MyApi, "hello", (handlers) => handlers.handle("hello", () => Effect.succeed("hi")))),
 *   Layer.provide(RunsServer.layer(MyApi)),
 *   Layer.provide(RunsServer.layerAuthorization)
 * )
 * ```
 *
 * @category layers
 * @since 0.1.0
 */
export const layer = <Id extends string, Groups extends HttpApiGroup.HttpApiGroup.Any, E, R>(
  api: HttpApi.HttpApi<Id, Groups, E, R>,
  options?: Options
): Layer.Layer<Handled<Id>, RunOptionsError, Runs.Runs | RunsApi.Authorization> => {
  const groups = api.groups as Record<string, unknown>
  const layers: Array<Layer.Layer<never, RunOptionsError, Runs.Runs | RunsApi.Authorization>> = []
  if ("runs" in groups) layers.push(Layer.discard(layerRuns(api, options)))
  if ("metrics" in groups) layers.push(Layer.discard(layerMetrics(api)))
  if ("dashboard" in groups) layers.push(Layer.discard(layerDashboard(api)))
  if ("docs" in groups) layers.push(Layer.discard(layerDocs(api)))
  return Layer.mergeAll(Layer.empty, ...layers) as unknown as Layer.Layer<
    Handled<Id>,
    RunOptionsError,
    Runs.Runs | RunsApi.Authorization
  >
}

/**
 * The whole API (`RunsApi.Api`) served on the `HttpServer` in context, with its docs at `/docs` (Scalar, whose
 * script is inlined: it works with no network). `cors` lists the origins allowed to call it from a browser; with
 * none, there is no CORS.
 *
 * @category layers
 * @since 0.1.0
 */
export const layerServer = (
  options?: Options & { readonly cors?: ReadonlyArray<string> | undefined }
): Layer.Layer<
  never,
  RunOptionsError,
  HttpServer.HttpServer | HttpRouter.HttpRouter.DefaultServices | Runs.Runs | AccessToken
> =>
  HttpApiBuilder.serve().pipe(
    Layer.provide(HttpApiScalar.layer({ path: "/docs", scalar: { withDefaultFonts: false } })),
    Layer.provide(
      options?.cors !== undefined && options.cors.length > 0
        ? HttpApiBuilder.middlewareCors({ allowedOrigins: options.cors })
        : Layer.empty
    ),
    Layer.provide(HttpApiBuilder.api(RunsApi.Api)),
    Layer.provide(layer(RunsApi.Api, options)),
    Layer.provide(layerAuthorization)
  )
