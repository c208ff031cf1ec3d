/**
 * The floor of the CLI row: the `classify` agent alone on the offline model (`AgentModel.layer`, 1 ms a call), with
 * no engine and no command line. The agent is built once (`LanguageModelAgent.make`) and called once per document
 * with `Effect.forEach` at the row's concurrency, each call with a usage meter as the engine gives every task; the
 * documents are made in memory and the answers checked and counted, nothing written. What one model call through
 * `@effect/ai`'s `LanguageModel` costs here, so the CLI's 10-second target can be read against it.
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as AgentModel from "../../services/models/AgentModel.js"
import * as AgentRegistry from "../../services/models/AgentRegistry.js"
import * as LanguageModelAgent from "../../services/models/LanguageModelAgent.js"
import * as Usage from "../../src/Usage.js"
import { documentText, type RunRow } from "./rows.js"

export const run: RunRow = ({ concurrency, size }) => {
  const counts = { results: 0, succeeded: 0, inputTokens: 0, outputTokens: 0 }
  const meter: Usage.Meter = {
    record: (usage) => {
      counts.inputTokens += usage.inputTokens ?? 0
      counts.outputTokens += usage.outputTokens ?? 0
    },
    current: Usage.empty,
    models: []
  }
  const program = Effect.flatMap(LanguageModelAgent.make(AgentRegistry.classify.agent), (agent) =>
    Effect.forEach(
      Array.from({ length: size }, (_, i) => i),
      (i) =>
        Effect.map(Effect.provideService(agent.run({ text: documentText(i) }), Usage.UsageMeter, meter), (answer) => {
          counts.results++
          if (answer.label === "positive" || answer.label === "negative") counts.succeeded++
        }),
      { concurrency, discard: true }
    ))
  return Effect.runPromise(
    program.pipe(
      Effect.provide(AgentModel.layer({ offline: { latency: "1 millis" } }).pipe(Layer.provide(FetchHttpClient.layer)))
    )
  ).then(() => counts)
}
