/**
 * The built-in agents, by name: `classify` (the sentiment of a document) and `summarize` (a summary of at most 50
 * characters). Each is a language-model agent with its input schema, its prompt and its output schema; the command
 * line runs them by name and the examples use them. Offline, they answer by a fixed rule (`offlineAnswers`) on the
 * command line, in the examples, and through `AgentModel.layer` and `AgentModel.layerConfig`.
 *
 * @since 0.1.0
 */
import type * as AiError from "@effect/ai/AiError"
import type * as LanguageModel from "@effect/ai/LanguageModel"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import type * as Agent from "../../src/Agent.js"
import * as LanguageModelAgent from "./LanguageModelAgent.js"
import type * as OfflineLanguageModel from "./OfflineLanguageModel.js"

// =============================================================================
// models
// =============================================================================

/**
 * A built-in agent: its name on the command line, what it does, the schema its inputs decode with, and the
 * language-model agent itself (its options, to build it under a tag of your own, and its factory).
 *
 * @category models
 * @since 0.1.0
 */
export interface Entry<In, IE, A, I extends Record<string, unknown>> {
  /** The name the command line knows it by: `classify`, `summarize`. */
  readonly name: string
  /** One line on what it does, for `--help` and errors. */
  readonly description: string
  /** The schema each input (a JSON object) is decoded with. */
  readonly input: Schema.Schema<In, IE>
  /** The schema of its answers. */
  readonly output: Schema.Schema<A, I>
  /** The language-model agent's options: its name, system prompt, prompt and output schema. */
  readonly agent: LanguageModelAgent.StructuredOptions<In, A, I>
  /** The agent's factory, ready for `Executor.run` and `Executor.stream`. */
  readonly factory: Agent.Factory<In, A, AiError.AiError, never, LanguageModel.LanguageModel>
}

/**
 * An entry whatever its types, as the registry lists them.
 *
 * @category models
 * @since 0.1.0
 */
export interface AnyEntry extends Entry<unknown, unknown, unknown, Record<string, unknown>> {}

/**
 * Creates an entry: the agent's factory is built from its options.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = <In, IE, A, I extends Record<string, unknown>>(options: {
  readonly name: string
  readonly description: string
  readonly input: Schema.Schema<In, IE>
  readonly agent: LanguageModelAgent.StructuredOptions<In, A, I>
}): Entry<In, IE, A, I> => ({
  ...options,
  output: options.agent.output,
  factory: LanguageModelAgent.factory(options.agent)
})

// =============================================================================
// the built-in agents
// =============================================================================

/**
 * A document: the input of every built-in agent. Other fields (an `id`, say) are ignored.
 *
 * @category models
 * @since 0.1.0
 */
export const Document = Schema.Struct({ text: Schema.String }).annotations({
  identifier: "Document",
  description: "A document to work on"
})

/**
 * The answer of `classify`.
 *
 * @category models
 * @since 0.1.0
 */
export const Classification = Schema.Struct({ label: Schema.Literal("positive", "negative") }).annotations({
  identifier: "Classification",
  description: "The sentiment of a document"
})

/**
 * The answer of `summarize`.
 *
 * @category models
 * @since 0.1.0
 */
export const Summary = Schema.Struct({ summary: Schema.String }).annotations({
  identifier: "Summary",
  description: "A summary of a document, at most 50 characters"
})

/**
 * Classifies the sentiment of a document as positive or negative (agent name `classifier`).
 *
 * @category constructors
 * @since 0.1.0
 */
export const classify = make({
  name: "classify",
  description: "the sentiment of a document ({\"text\": ...}), positive or negative",
  input: Document,
  agent: {
    name: "classifier",
    system: "You classify the sentiment of short documents.",
    prompt: LanguageModelAgent.template(
      "Classify the sentiment of this document as positive or negative.\n\nDocument: {{text}}"
    ),
    output: Classification
  }
})

/**
 * Summarizes a document in at most 50 characters (agent name `summarizer`).
 *
 * @category constructors
 * @since 0.1.0
 */
export const summarize = make({
  name: "summarize",
  description: "a summary of a document ({\"text\": ...}) in at most 50 characters",
  input: Document,
  agent: {
    name: "summarizer",
    system: "You summarize short documents.",
    prompt: LanguageModelAgent.template("Summarize this document in at most 50 characters.\n\nDocument: {{text}}"),
    output: Summary
  }
})

/**
 * Every built-in agent, in the order `--help` lists them.
 *
 * @category constructors
 * @since 0.1.0
 */
export const builtIn: ReadonlyArray<AnyEntry> = [classify, summarize] as unknown as ReadonlyArray<AnyEntry>

/**
 * The names of the built-in agents.
 *
 * @category getters
 * @since 0.1.0
 */
export const names: ReadonlyArray<string> = builtIn.map((entry) => entry.name)

/**
 * The built-in agent with this name, if there is one.
 *
 * @category getters
 * @since 0.1.0
 */
export const find = (name: string): Option.Option<AnyEntry> =>
  Option.fromNullable(builtIn.find((entry) => entry.name === name))

// =============================================================================
// offline answers
// =============================================================================

/**
 * Answers for the offline model (its `answer` option) that make the built-in agents answer by a fixed rule, the
 * same on every run: a document that ends in an even number is positive, one that ends in an odd number negative,
 * and a summary is the document's first 50 characters. Requests for other schemas, and documents that end in no
 * number, get the offline model's generated answers. `AgentModel.layer` and `AgentModel.layerConfig` use them
 * after the app's own `answer`; give them as `answer` to `OfflineLanguageModel.layer` used directly.
 *
 * @category constructors
 * @since 0.1.0
 */
export const offlineAnswers = (request: OfflineLanguageModel.Request): OfflineLanguageModel.Answer | undefined => {
  // What follows the last "Document: ", or the whole text.
  const at = request.text.lastIndexOf("Document: ")
  const document = at < 0 ? request.text : request.text.slice(at + "Document: ".length)
  // The built-in agents' own schemas, not any schema of the same name: an app's `Summary` may have other fields.
  if (request.schema === Classification) {
    const number = document.match(/(\d+)\s*$/)
    return number === null
      ? undefined
      : { value: { label: Number(number[1]) % 2 === 0 ? "positive" : "negative" } }
  }
  if (request.schema === Summary) return { value: { summary: document.slice(0, 50) } }
  return undefined
}
