/**
 * The asyncio seed in Effect: 20 documents, concurrency 5, a classification agent and a summarization agent with
 * 100 ms of simulated model latency each. Both fan-outs run at once; every document gets a fresh agent instance.
 *
 *   npx tsx examples/classify-and-summarize.ts
 */
import { NodeRuntime } from "@effect/platform-node"
import { Console, Context, Duration, Effect, Layer } from "effect"
import { Agent, Aggregate, Executor, RunReport, Task } from "effect-parallel-agents"

interface Document {
  readonly text: string
}

type Label = "positive" | "negative"

// A stand-in for a model call: the seed's agents sleep 100 ms and answer from the text.
const modelLatency = "100 millis"

class Classifier extends Context.Tag("classifier")<Classifier, Agent.Agent<Document, { readonly label: Label }>>() {}

const ClassifierLive = Layer.succeed(
  Classifier,
  Agent.make({
    name: "classifier",
    run: (doc: Document) =>
      Effect.as(Effect.sleep(modelLatency), {
        label: Number(doc.text.split(" ").at(-1)) % 2 === 0 ? "positive" as const : "negative" as const
      })
  })
)

class Summarizer extends Context.Tag("summarizer")<Summarizer, Agent.Agent<Document, { readonly summary: string }>>() {}

const SummarizerLive = Layer.succeed(
  Summarizer,
  Agent.make({
    name: "summarizer",
    run: (doc: Document) => Effect.as(Effect.sleep(modelLatency), { summary: doc.text.slice(0, 50) })
  })
)

const documents = Task.fromIterable(
  Array.from({ length: 20 }, (_, i): Document => ({ text: `Sample document number ${i}` })),
  { id: (_, i) => `doc-${i}` }
)

const program = Effect.gen(function*() {
  const { classified, summarized } = yield* Effect.all({
    classified: Executor.run(documents, Agent.factory(Classifier, ClassifierLive), {
      aggregate: Aggregate.successes()
    }),
    summarized: Executor.run(documents, Agent.factory(Summarizer, SummarizerLive), {
      aggregate: Aggregate.successes()
    })
  }, { concurrency: "unbounded" })

  const labels = classified.aggregate.map((value) => value.label)
  yield* Console.log(`Total: ${classified.summary.total}`)
  yield* Console.log(`Success: ${classified.summary.succeeded}`)
  yield* Console.log(`Failed: ${classified.summary.failed}`)
  yield* Console.log(`Labels: [${labels.slice(0, 5).map((label) => `'${label}'`).join(", ")}]`)
  yield* Console.log(`Summaries: ${summarized.summary.succeeded} of ${summarized.summary.total}`)

  // Both runs went at once: the wall time is from the first start to the last end.
  const end = (report: { readonly stats: RunReport.Stats }) =>
    report.stats.startedAt + Duration.toMillis(report.stats.wallTime)
  const wall = Math.max(end(classified), end(summarized)) -
    Math.min(classified.stats.startedAt, summarized.stats.startedAt)
  const sequential = Duration.toMillis(classified.stats.busyTime) + Duration.toMillis(summarized.stats.busyTime)
  yield* Console.log(
    `Wall time: ${RunReport.formatMillis(wall)} for 40 agent calls ` +
      `(sequential: ${RunReport.formatMillis(sequential)}, ${(sequential / wall).toFixed(1)}x faster)`
  )
})

program.pipe(Effect.provide(Executor.layer({ concurrency: 5 })), NodeRuntime.runMain)
