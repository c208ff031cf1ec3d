/**
 * The language model agents use, chosen by configuration alone. `AGENT_MODEL` is `offline` (the default: no key,
 * no network), `openai:<model>` (OpenAI's Responses API through `@effect/ai-openai`, key from `OPENAI_API_KEY`) or
 * `compat:<model>` (a server that speaks chat completions, such as vLLM, Ollama, llama.cpp or LM Studio, at
 * `OPENAI_BASE_URL`). The layer provides the `LanguageModel` and an `AgentModel` service that says which model it is.
 *
 * @since 0.1.0
 */
export * as AgentModel from "./AgentModel.js"

/**
 * The built-in agents, by name: `classify` (the sentiment of a document) and `summarize` (a summary of at most 50
 * characters). Each is a language-model agent with its input schema, its prompt and its output schema; the command
 * line runs them by name and the examples use them. Offline, they answer by a fixed rule (`offlineAnswers`) on the
 * command line, in the examples, and through `AgentModel.layer` and `AgentModel.layerConfig`.
 *
 * @since 0.1.0
 */
export * as AgentRegistry from "./AgentRegistry.js"

/**
 * A `LanguageModel` for servers that speak OpenAI's chat-completions format (vLLM, Ollama, llama.cpp, LM Studio,
 * and OpenAI itself), built with `@effect/ai`'s `LanguageModel.make` over @effect/platform's `HttpClient`.
 * Structured output goes through `response_format` with a JSON schema; the key, when there is one, is a
 * `Redacted` bearer token. Failures stay typed `AiError`s: `HttpResponseError` with the response's status and
 * headers (`retry-after` included), `HttpRequestError` for transport, `MalformedOutput` for a body or an answer
 * that does not fit.
 *
 * @since 0.1.0
 */
export * as ChatCompletionsLanguageModel from "./ChatCompletionsLanguageModel.js"

/**
 * Agents backed by `@effect/ai`'s `LanguageModel`: a prompt built from each input, an optional system prompt, and
 * an output `Schema` for structured output (plain text without one). The `LanguageModel` stays a requirement the
 * app provides once; each agent instance records the token usage of every response on its task's usage meter.
 *
 * @since 0.1.0
 */
export * as LanguageModelAgent from "./LanguageModelAgent.js"

/**
 * A `LanguageModel` that runs in the process, with no key and no network: the embedded default for examples, the
 * command line and tests. Its answers are deterministic for a prompt (text made of the prompt's own words,
 * structured output generated from the requested schema's `Arbitrary`, both seeded by the prompt); it answers
 * after a latency drawn from a configurable distribution and reports token usage as a provider does. Its model
 * name is `"offline"`, so reports show when it answered.
 *
 * @since 0.1.0
 */
export * as OfflineLanguageModel from "./OfflineLanguageModel.js"
