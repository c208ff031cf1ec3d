/**
 * The floor: the `openai` SDK's `client.chat.completions.create` with `response_format: json_schema`, every
 * document through `p-limit` at the row's concurrency, the answer parsed with `JSON.parse` and its label checked.
 */
import OpenAI from "openai"
import pLimit from "p-limit"
import { documentText, JSON_SCHEMA, MODEL, OBJECT_NAME, prompt, type RunRow, SYSTEM } from "./rows.js"
import { API_KEY } from "./server.js"

export const run: RunRow = async ({ baseUrl, concurrency, size }) => {
  const client = new OpenAI({ apiKey: API_KEY, baseURL: baseUrl })
  const limit = pLimit(concurrency)
  let inputTokens = 0
  let outputTokens = 0
  const classify = async (text: string) => {
    const completion = await client.chat.completions.create({
      model: MODEL,
      messages: [{ role: "system", content: SYSTEM }, { role: "user", content: prompt(text) }],
      response_format: {
        type: "json_schema",
        json_schema: { name: OBJECT_NAME, description: JSON_SCHEMA.description, schema: JSON_SCHEMA, strict: true }
      }
    })
    inputTokens += completion.usage?.prompt_tokens ?? 0
    outputTokens += completion.usage?.completion_tokens ?? 0
    const value = JSON.parse(completion.choices[0]?.message.content ?? "") as { label?: unknown }
    if (value.label !== "positive" && value.label !== "negative") throw new Error(`not a label: ${value.label}`)
    return value.label
  }
  const outcomes = await Promise.all(
    Array.from(
      { length: size },
      (_, i) => limit(() => classify(documentText(i)).then((label) => ({ label }), (error: unknown) => ({ error })))
    )
  )
  return {
    results: outcomes.length,
    succeeded: outcomes.filter((outcome) => "label" in outcome).length,
    inputTokens,
    outputTokens
  }
}
