/**
 * A real server of the HTTP API for tests, on a free port of 127.0.0.1: the runs service over the memory store, the
 * offline model, and agents of the test's choosing; clients with and without the token.
 */
import type { LanguageModel } from "@effect/ai"
import * as Sse from "@effect/experimental/Sse"
import { HttpApiClient, HttpClient, HttpClientRequest, type HttpClientResponse, HttpServer } from "@effect/platform"
import { NodeHttpClient, NodeHttpServer } from "@effect/platform-node"
import type { Scope } from "effect"
import { Chunk, Context, Effect, Layer, Stream } from "effect"
import { createServer } from "node:http"
import * as ServeCommand from "../../../services/cli/ServeCommand.js"
import * as Runs from "../../../services/http/Runs.js"
import * as RunsApi from "../../../services/http/RunsApi.js"
import * as RunsServer from "../../../services/http/RunsServer.js"
import * as RunStore from "../../../services/http/RunStore.js"
import * as AgentRegistry from "../../../services/models/AgentRegistry.js"
import * as OfflineLanguageModel from "../../../services/models/OfflineLanguageModel.js"
import * as Executor from "../../../src/Executor.js"

/** The token of test servers. */
export const token = "test-token-0123456789abcdefghijklmnopqrstuvwxyz"

/** A text agent that streams its answer: the offline model writes it word by word over its latency. */
export const explain = ServeCommand.explain

const makeClient = (baseUrl: string) =>
  HttpApiClient.make(RunsApi.Api, {
    baseUrl,
    transformClient: HttpClient.mapRequest(HttpClientRequest.bearerToken(token))
  })

export interface TestServer {
  readonly baseUrl: string
  /** The typed client, with the token. */
  readonly client: Effect.Effect.Success<ReturnType<typeof makeClient>>
  /** A plain client, with the token. */
  readonly http: HttpClient.HttpClient
  /** A plain client, with no token. */
  readonly anonymous: HttpClient.HttpClient
  readonly runs: Runs.Service
  readonly store: RunStore.Service
}

/**
 * Starts a server in the scope. `agents` are added to the built-in `classify` and `summarize` and to `explain`;
 * `latency` is the offline model's.
 */
export const start = (options?: {
  readonly agents?: ReadonlyArray<Runs.RegisteredAgent<LanguageModel.LanguageModel>>
  readonly latency?: OfflineLanguageModel.Options["latency"]
  readonly server?: Parameters<typeof RunsServer.layerServer>[0]
  readonly runs?: Omit<Runs.Options<never>, "agents">
  /** The runs service's store: `RunStore.layerMemory()` by default. */
  readonly store?: Layer.Layer<RunStore.RunStore> | undefined
}): Effect.Effect<TestServer, never, Scope.Scope> =>
  Effect.gen(function*() {
    const agents: ReadonlyArray<Runs.RegisteredAgent<LanguageModel.LanguageModel>> = [
      Runs.agent(AgentRegistry.classify),
      Runs.agent(AgentRegistry.summarize),
      explain,
      ...(options?.agents ?? [])
    ]
    const dependencies = Layer.mergeAll(
      Executor.layer(),
      options?.store ?? RunStore.layerMemory(),
      OfflineLanguageModel.layer({ answer: AgentRegistry.offlineAnswers, latency: options?.latency ?? "50 millis" })
    )
    const app = RunsServer.layerServer({ keepAlive: "300 millis", ...options?.server }).pipe(
      Layer.provideMerge(Runs.layer({ ...options?.runs, agents }).pipe(Layer.provideMerge(dependencies))),
      Layer.provide(RunsServer.layerAccessToken(token)),
      Layer.provideMerge(NodeHttpServer.layer(createServer, { port: 0, host: "127.0.0.1" }))
    )
    const context = yield* Layer.build(app).pipe(Effect.orDie)
    const address = Context.get(context, HttpServer.HttpServer).address
    if (address._tag !== "TcpAddress") return yield* Effect.die("not a TCP server")
    const baseUrl = `http://127.0.0.1:${address.port}`
    // The client's connections live as long as the server.
    const httpClient = Context.get(yield* Layer.build(NodeHttpClient.layerUndici), HttpClient.HttpClient)
    const anonymous = httpClient.pipe(HttpClient.mapRequest(HttpClientRequest.prependUrl(baseUrl)))
    const http = anonymous.pipe(HttpClient.mapRequest(HttpClientRequest.bearerToken(token)))
    const client = yield* Effect.provideService(makeClient(baseUrl), HttpClient.HttpClient, httpClient)
    return {
      baseUrl,
      client,
      http,
      anonymous,
      runs: Context.get(context, Runs.Runs),
      store: Context.get(context, RunStore.RunStore)
    } satisfies TestServer
  })

/** The events of a response, parsed with `@effect/experimental`'s `Sse`. */
export const sseEvents = (response: HttpClientResponse.HttpClientResponse) =>
  response.stream.pipe(
    Stream.decodeText(),
    Stream.pipeThroughChannel(Sse.makeChannel()),
    Stream.map((event) => ({ id: Number(event.id), event: event.event, data: JSON.parse(event.data) as any }))
  )

/** All the events of a run, from the start or after `after`, until the run ends. */
export const allEvents = (server: TestServer, id: string, after?: number) =>
  Effect.gen(function*() {
    const request = HttpClientRequest.get(`/runs/${id}/events`).pipe(
      after === undefined ? (r) => r : HttpClientRequest.setHeader("last-event-id", String(after))
    )
    const response = yield* server.http.execute(request)
    return Chunk.toReadonlyArray(yield* Stream.runCollect(sseEvents(response)))
  }).pipe(Effect.scoped)

/** Waits (polling every 20 ms) until the run is no longer running, and returns its record. */
export const finished = (server: TestServer, id: string) =>
  server.client.runs.get({ path: { id } }).pipe(
    Effect.delay("20 millis"),
    Effect.repeat({ until: (info) => info.state !== "running" }),
    Effect.orDie
  )
