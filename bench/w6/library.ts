/**
 * The library, as a user runs it: `Executor.run` over the documents with the CLI's `classify` agent
 * (`AgentRegistry.classify.factory`), the model chosen by `AgentModel.layer` (`openai:` or `compat:`), over
 * `ModelHttpClient.layer` with a pool of as many connections as the run's concurrency. Checks that the agent's
 * request is still the one the other rows send.
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as SchemaAST from "effect/SchemaAST"
import * as AgentModel from "../../services/models/AgentModel.js"
import * as AgentRegistry from "../../services/models/AgentRegistry.js"
import * as ModelHttpClient from "../../services/models/ModelHttpClient.js"
import { Executor, Task } from "../../src/index.js"
import { documentText, MODEL, OBJECT_NAME, prompt, type RunRow, SYSTEM } from "./rows.js"
import { API_KEY } from "./server.js"

const checkRequest = () => {
  const agent = AgentRegistry.classify.agent
  const probe = "probe 1"
  if (agent.system !== SYSTEM || agent.prompt({ text: probe }, undefined) !== prompt(probe)) {
    throw new Error("bench/w6/rows.ts no longer has the classify agent's prompt")
  }
  if (Option.getOrUndefined(SchemaAST.getIdentifierAnnotation(AgentRegistry.classify.output.ast)) !== OBJECT_NAME) {
    throw new Error("bench/w6/rows.ts no longer has the classify agent's object name")
  }
}

export const runWith = (provider: "openai" | "compat"): RunRow => async ({ baseUrl, concurrency, size }) => {
  checkRequest()
  const model = AgentModel.layer({ model: `${provider}:${MODEL}`, apiKey: Redacted.make(API_KEY), baseUrl }).pipe(
    Layer.provide(ModelHttpClient.layer({ connections: concurrency }))
  )
  const documents = Array.from({ length: size }, (_, i) => ({ text: documentText(i) }))
  const report = await Executor.run(Task.fromIterable(documents), AgentRegistry.classify.factory, {
    concurrency,
    timeout: "60 seconds"
  }).pipe(Effect.provide(Layer.mergeAll(Executor.layer(), model)), Effect.runPromise)
  return {
    results: report.results.length,
    succeeded:
      report.results.filter((result) =>
        result._tag === "Succeeded" && (result.value.label === "positive" || result.value.label === "negative")
      ).length,
    inputTokens: report.stats.usage.inputTokens,
    outputTokens: report.stats.usage.outputTokens
  }
}
