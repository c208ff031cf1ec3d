/**
 * LangChain.js: `ChatOpenAI` (chat completions) with `withStructuredOutput(schema)` (`response_format:
 * json_schema`), every document through `.batch(inputs, { maxConcurrency })`, exceptions returned per input.
 */
import { ChatOpenAI } from "@langchain/openai"
import { documentText, JSON_SCHEMA, MODEL, OBJECT_NAME, prompt, type RunRow, SYSTEM } from "./rows.js"
import { API_KEY } from "./server.js"

export const run: RunRow = async ({ baseUrl, concurrency, size }) => {
  const model = new ChatOpenAI({ model: MODEL, apiKey: API_KEY, configuration: { baseURL: baseUrl } })
  const classifier = model.withStructuredOutput<{ readonly label: string }>(JSON_SCHEMA, {
    name: OBJECT_NAME,
    method: "jsonSchema",
    strict: true
  })
  const inputs = Array.from({ length: size }, (_, i) => [
    { role: "system", content: SYSTEM },
    { role: "user", content: prompt(documentText(i)) }
  ])
  const outputs = await classifier.batch(inputs, { maxConcurrency: concurrency }, { returnExceptions: true })
  return {
    results: outputs.length,
    succeeded:
      outputs.filter((output) =>
        !(output instanceof Error) && (output.label === "positive" || output.label === "negative")
      ).length,
    // Not read: LangChain hands the usage to callbacks, and the row runs none.
    inputTokens: 0,
    outputTokens: 0
  }
}
