/**
 * The runs API in an Effect backend: an app's own `HttpApi` mounts the library's runs group and dashboard under
 * `/agents`, next to an endpoint of its own (`GET /health`, which reads the runs service too). The program serves it
 * on 127.0.0.1 (`HTTP_PORT`, 8787 by default), then calls it as a client would: its own endpoint, a run of the
 * `classify` agent over ten documents, that run's results as they end, and its record. With `SERVE=1` it keeps
 * serving afterwards, and prints the dashboard's address; Ctrl-C stops it.
 *
 *   npx tsx examples/http-server.ts
 *   SERVE=1 npx tsx examples/http-server.ts
 */
import {
  HttpApi,
  HttpApiBuilder,
  HttpApiClient,
  HttpApiEndpoint,
  HttpApiGroup,
  HttpClient,
  HttpClientRequest
} from "@effect/platform"
import { NodeHttpClient, NodeHttpServer, NodeRuntime } from "@effect/platform-node"
import { Config, Console, Effect, Layer, Redacted, Schema } from "effect"
import { Executor } from "effect-parallel-agents"
import { Runs, RunsApi, RunsServer, RunStore } from "effect-parallel-agents/http"
import { AgentModel, AgentRegistry } from "effect-parallel-agents/models"
import { createServer } from "node:http"

// The app's own endpoint.
class Health extends HttpApiGroup.make("health").add(
  HttpApiEndpoint.get("health", "/health").addSuccess(
    Schema.Struct({ status: Schema.Literal("ok"), runs: Schema.Number })
  )
) {}

// The app's API: its endpoint, and the library's runs and dashboard under /agents.
class AppApi extends HttpApi.make("app")
  .add(Health)
  .add(RunsApi.RunsGroup.prefix("/agents"))
  .add(RunsApi.DashboardGroup.prefix("/agents"))
{}

const HealthLive = HttpApiBuilder.group(
  AppApi,
  "health",
  (handlers) =>
    handlers.handle("health", () =>
      Effect.gen(function*() {
        const runs = yield* Runs.Runs
        return { status: "ok" as const, runs: (yield* Effect.orDie(runs.list)).length }
      }))
)

const ApiLive = HttpApiBuilder.api(AppApi).pipe(
  Layer.provide(HealthLive),
  // The handlers of the library's groups, and its bearer-token check.
  Layer.provide(RunsServer.layer(AppApi)),
  Layer.provide(RunsServer.layerAuthorization)
)

const Port = Config.integer("HTTP_PORT").pipe(Config.withDefault(8787))

const ServerLive = Layer.unwrapEffect(Effect.map(Port, (port) =>
  HttpApiBuilder.serve().pipe(
    Layer.provide(ApiLive),
    // The runs service: the agents it runs by name, the executor, a store, and the model its agents call (the
    // offline one unless AGENT_MODEL says otherwise).
    Layer.provideMerge(Runs.layer({ agents: [Runs.agent(AgentRegistry.classify)] })),
    Layer.provide(Layer.mergeAll(
      Executor.layer(),
      RunStore.layerMemory(),
      AgentModel.layerConfig({ offline: { answer: AgentRegistry.offlineAnswers } })
    )),
    Layer.provide(NodeHttpClient.layerUndici),
    // The token: AGENT_HTTP_TOKEN, or one made up for this server.
    Layer.provideMerge(RunsServer.layerAccessTokenConfig()),
    Layer.provideMerge(NodeHttpServer.layer(createServer, { port, host: "127.0.0.1" }))
  )))

const program = Effect.gen(function*() {
  const port = yield* Port
  const url = `http://127.0.0.1:${port}`
  const { token } = yield* RunsServer.AccessToken
  const client = yield* HttpApiClient.make(AppApi, {
    baseUrl: url,
    transformClient: HttpClient.mapRequest(HttpClientRequest.bearerToken(Redacted.value(token)))
  })

  yield* Console.log(`Serving on ${url}: GET /health, and the runs API and dashboard under /agents`)
  const health = yield* client.health.health()
  yield* Console.log(`GET /health: ${health.status}, ${health.runs} runs`)

  const documents = Array.from({ length: 10 }, (_, i) => ({ text: `Customer review number ${i}` }))
  const run = yield* client.runs.start({
    payload: { agent: "classify", tasks: documents, concurrency: 4 },
    urlParams: {}
  })
  yield* Console.log(`POST /agents/runs: run ${run.id} started, ${run.tasks} tasks`)
  // The results stream as tasks end; the response ends with the run.
  const lines = (yield* client.runs.results({ path: { id: run.id } })).trimEnd().split("\n")
  const labels = lines.map((line) => (JSON.parse(line) as { value: { label: string } }).value.label)
  yield* Console.log(
    `GET /agents/runs/${run.id}/results: ${lines.length} lines, ${
      labels.filter((l) => l === "positive").length
    } positive`
  )
  const done = yield* client.runs.get({ path: { id: run.id } })
  yield* Console.log(`GET /agents/runs/${run.id}: ${done.state}, ${done.summary.succeeded} of ${done.tasks} succeeded`)

  if (yield* Config.boolean("SERVE").pipe(Config.withDefault(false))) {
    yield* Console.log(`Dashboard: ${url}/agents/#token=${Redacted.value(token)} (Ctrl-C stops the server)`)
    yield* Effect.never
  }
})

program.pipe(
  Effect.provide(Layer.merge(ServerLive, NodeHttpClient.layerUndici)),
  NodeRuntime.runMain
)
