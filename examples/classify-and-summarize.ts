/**
 * The classic fan-out of agents (a semaphore of 5 over 20 documents, each task's failure kept, the results
 * aggregated), in Effect, with agents backed by a language model: a classification agent and a summarization
 * agent, both with structured output. Both fan-outs run at once; every document gets a fresh agent instance. It
 * prints the usual check of such a fan-out (total, successes, failures, the first five labels), then the timing.
 *
 * The model is chosen by `AGENT_MODEL`. By default it is the offline model: no key, no network, about 100 ms per
 * answer, and the built-in agents answer by their fixed rule (even document numbers are positive; a summary is the
 * first 50 characters). Set `AGENT_MODEL=openai:gpt-4o-mini` with `OPENAI_API_KEY`, or `AGENT_MODEL=compat:<model>`
 * with `OPENAI_BASE_URL` (vLLM, Ollama, llama.cpp, LM Studio), and the same program asks that model instead.
 *
 *   npx tsx examples/classify-and-summarize.ts
 *   AGENT_MODEL=compat:llama3.1:8b OPENAI_BASE_URL=http://localhost:11434/v1 npx tsx examples/classify-and-summarize.ts
 */
import { NodeHttpClient, NodeRuntime } from "@effect/platform-node"
import { Console, Duration, Effect, Layer } from "effect"
import { Aggregate, Executor, RunReport, Task } from "effect-parallel-agents"
import { AgentModel, AgentRegistry } from "effect-parallel-agents/models"

// The built-in agents, which the command line runs too: `classify` and `summarize`, each a language-model agent
// with a prompt and an output schema (AgentRegistry.ts).
const classifier = AgentRegistry.classify.factory
const summarizer = AgentRegistry.summarize.factory

// The model AGENT_MODEL names: the offline one unless it says otherwise, where the built-in agents answer by their
// fixed rule (AgentRegistry.offlineAnswers), as on the command line. The HTTP client is for real endpoints.
const ModelLive = AgentModel.layerConfig().pipe(Layer.provide(NodeHttpClient.layerUndici))

const documents = Task.fromIterable(
  Array.from({ length: 20 }, (_, i) => ({ text: `Sample document number ${i}` })),
  { id: (_, i) => `doc-${i}` }
)

const program = Effect.gen(function*() {
  // A real endpoint may be slow or say 429: each call gets 60 seconds, and rate limits, 5xx and timeouts are
  // retried twice with a fresh agent.
  const options = { timeout: "60 seconds", retry: { times: 2 } } as const
  const { classified, summarized } = yield* Effect.all({
    classified: Executor.run(documents, classifier, { ...options, aggregate: Aggregate.successes() }),
    summarized: Executor.run(documents, summarizer, { ...options, aggregate: Aggregate.successes() })
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

  const model = yield* AgentModel.AgentModel
  const requests = classified.stats.usage.requests + summarized.stats.usage.requests
  const input = classified.stats.usage.inputTokens + summarized.stats.usage.inputTokens
  const output = classified.stats.usage.outputTokens + summarized.stats.usage.outputTokens
  yield* Console.log(
    `Model: ${model.spec}${
      model.offline ? " (generated answers: no key, no network; set AGENT_MODEL for a real one)" : ""
    }`
  )
  const count = (n: number) => n.toLocaleString("en-US")
  yield* Console.log(`Tokens: ${count(input)} in, ${count(output)} out, over ${requests} requests`)
})

program.pipe(Effect.provide(Layer.mergeAll(Executor.layer({ concurrency: 5 }), ModelLive)), NodeRuntime.runMain)
