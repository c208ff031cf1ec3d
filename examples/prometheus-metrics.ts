/**
 * Prometheus metrics through OpenTelemetry: @effect/opentelemetry hands Effect's metrics, the engine's included, to
 * an OpenTelemetry `PrometheusExporter`, which serves them on http://127.0.0.1:9464/metrics (`METRICS_PORT` sets
 * the port). The program runs a batch of 12 summaries, two of which fail, scrapes its own endpoint once as
 * Prometheus would, prints the engine's lines, and exits; closing the layer shuts the exporter's server down.
 *
 *   npx tsx examples/prometheus-metrics.ts
 *   METRICS_PORT=9465 npx tsx examples/prometheus-metrics.ts
 */
import { NodeSdk } from "@effect/opentelemetry"
import { HttpClient } from "@effect/platform"
import { NodeHttpClient, NodeRuntime } from "@effect/platform-node"
import { PrometheusExporter } from "@opentelemetry/exporter-prometheus"
import { Config, Console, Context, Data, Effect, Layer } from "effect"
import { Agent, Executor, Task } from "effect-parallel-agents"

interface Article {
  readonly id: number
  readonly title: string
}

class ModelOverloaded extends Data.TaggedError("ModelOverloaded")<{ readonly article: number }> {
  override get message() {
    return `the model is overloaded (article ${this.article})`
  }
}

class Summarizer extends Context.Tag("summarizer")<Summarizer, Agent.Agent<Article, string, ModelOverloaded>>() {}

const SummarizerLive = Layer.succeed(
  Summarizer,
  Agent.make({
    name: "summarizer",
    run: (article: Article) =>
      Effect.gen(function*() {
        // A stand-in for a model call: 20 to 50 ms, so the duration histogram has some spread.
        yield* Effect.sleep(`${20 + (article.id % 4) * 10} millis`)
        if (article.id % 6 === 5) return yield* new ModelOverloaded({ article: article.id })
        return `${article.title}: a short summary`
      })
  })
)

const MetricsPort = Config.integer("METRICS_PORT").pipe(
  Config.withDefault(9464),
  Config.withDescription("The port the Prometheus exporter serves /metrics on")
)

class MetricsServerError
  extends Data.TaggedError("MetricsServerError")<{ readonly port: number; readonly cause: unknown }>
{
  override get message() {
    return `the metrics server could not listen on 127.0.0.1:${this.port}: ${String(this.cause)}`
  }
}

// The exporter is a pull reader with its own HTTP server. It is started here rather than in its constructor, so the
// layer is ready only once the server listens (and a port in use fails the program). NodeSdk shuts the reader, and
// with it the server, down when the layer closes.
//
// To push to an OpenTelemetry Collector over OTLP instead, pass `metricReader: new PeriodicExportingMetricReader({
// exporter: new OTLPMetricExporter() })` (@opentelemetry/sdk-metrics, @opentelemetry/exporter-metrics-otlp-http),
// or use @effect/opentelemetry's `Otlp.layerJson({ baseUrl: "http://localhost:4318" })`, which needs no SDK, only
// an `HttpClient`. Traces go the same way: `spanProcessor: new BatchSpanProcessor(new OTLPTraceExporter())`.
const TelemetryLive = NodeSdk.layer(Effect.gen(function*() {
  const port = yield* MetricsPort
  const exporter = new PrometheusExporter({ host: "127.0.0.1", port, preventServerStart: true })
  yield* Effect.tryPromise({
    try: () => exporter.startServer(),
    catch: (cause) => new MetricsServerError({ port, cause })
  })
  return {
    resource: { serviceName: "prometheus-metrics-example" },
    metricReader: exporter
  }
}))

const articles = Task.fromIterable(
  Array.from({ length: 12 }, (_, id): Article => ({ id, title: `Article ${id}` })),
  { id: (article) => `article-${article.id}` }
)

const program = Effect.gen(function*() {
  const report = yield* Executor.run(articles, Agent.factory(Summarizer, SummarizerLive), { concurrency: 4 })
  const { failed, succeeded, total } = report.summary
  yield* Console.log(`Ran ${total} tasks: ${succeeded} succeeded, ${failed} failed`)

  // Scrape the endpoint once, as Prometheus would.
  const url = `http://127.0.0.1:${yield* MetricsPort}/metrics`
  const client = (yield* HttpClient.HttpClient).pipe(HttpClient.filterStatusOk)
  const body = yield* client.get(url).pipe(Effect.flatMap((response) => response.text))
  yield* Console.log(`Scraped ${url}:`)
  for (const line of body.split("\n")) {
    if (line.startsWith("effect_parallel_agents_")) yield* Console.log(line)
  }
})

program.pipe(
  Effect.provide(Layer.mergeAll(Executor.layer(), TelemetryLive, NodeHttpClient.layerUndici)),
  NodeRuntime.runMain
)
