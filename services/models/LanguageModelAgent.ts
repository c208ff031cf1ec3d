/**
 * Agents backed by `@effect/ai`'s `LanguageModel`: a prompt built from each input, an optional system prompt, and
 * an output `Schema` for structured output (plain text without one). The `LanguageModel` stays a requirement the
 * app provides once; each agent instance records the token usage of every response on its task's usage meter.
 *
 * @since 0.1.0
 */
import type * as AiError from "@effect/ai/AiError"
import * as LanguageModel from "@effect/ai/LanguageModel"
import * as Prompt from "@effect/ai/Prompt"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type * as Schema from "effect/Schema"
import * as SchemaAST from "effect/SchemaAST"
import * as Stream from "effect/Stream"
import * as Agent from "../../src/Agent.js"
import * as AgentInstance from "../../src/AgentInstance.js"
import * as TaskOutput from "../../src/TaskOutput.js"
import * as InternalLanguageModel from "./internal/languageModel.js"

// =============================================================================
// models
// =============================================================================

/**
 * What every language-model agent takes.
 *
 * @category models
 * @since 0.1.0
 */
export interface BaseOptions<In> {
  /** The agent's name, in instance names, metrics and logs. */
  readonly name: string
  /**
   * The prompt for one input: a string, messages or a `Prompt`. `template` makes one from a string with
   * `{{field}}` placeholders. The instance is the agent instance's identity, or `undefined` outside a run.
   */
  readonly prompt: (input: In, instance: AgentInstance.Service | undefined) => Prompt.RawInput
  /** A system prompt, set on every request (it replaces one the prompt may have). */
  readonly system?: string | undefined
}

/**
 * Options of an agent that answers with structured output: the model is asked for JSON that fits `output`, and
 * the agent's output is what `output` decodes.
 *
 * @category models
 * @since 0.1.0
 */
export interface StructuredOptions<In, A, I extends Record<string, unknown>> extends BaseOptions<In> {
  /** The schema of the answer; its encoded side is the JSON object the model is asked for. */
  readonly output: Schema.Schema<A, I>
  /**
   * The name of the object, which providers pass on to the model (`json_schema.name`): by default the schema's
   * `identifier` annotation, or `@effect/ai`'s default when it has none.
   */
  readonly objectName?: string | undefined
}

/**
 * Options of an agent that answers with plain text.
 *
 * @category models
 * @since 0.1.0
 */
export interface TextOptions<In> extends BaseOptions<In> {
  readonly output?: undefined
  /**
   * Stream the answer (`LanguageModel.streamText`) and publish each piece of text as it comes, as a `TaskOutput`
   * run event of the task under way (`TaskOutput.emit`), so that a dashboard shows it being written. The agent's
   * output is the same text as without streaming.
   *
   * **Gotchas**
   *
   * Only text agents stream: `@effect/ai`'s `streamText` asks for text, with no response schema, so an agent with
   * `output` answers at once with `generateObject`.
   *
   * @default false
   */
  readonly stream?: boolean | undefined
}

/**
 * The `{{field}}` placeholder names of a template string.
 *
 * @category utility types
 * @since 0.1.0
 */
export type Placeholders<S extends string> = S extends `${string}{{${infer K}}}${infer Rest}` ? K | Placeholders<Rest>
  : never

// =============================================================================
// usage
// =============================================================================

/**
 * Records, on the usage meter of the task under way, the usage of every model response `self` receives: its input
 * and output tokens, under the model that answered. A response is counted even when its output then fails to
 * decode. Language-model agents do this already; use it for model calls in agents of your own.
 *
 * **Gotchas**
 *
 * Usage is read through `@effect/ai`'s `CurrentSpanTransformer`; a transformer provided around `self` still runs,
 * but one given only when the `LanguageModel` layer was built is not called inside `self`.
 *
 * @category combinators
 * @since 0.1.0
 */
export const metered: <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R> = InternalLanguageModel.metered

// =============================================================================
// constructors
// =============================================================================

const stringify = (value: unknown): string =>
  typeof value === "string" ? value : value === undefined ? "" : JSON.stringify(value)

/**
 * A prompt function from a template string: each `{{field}}` is replaced with that field of the input (strings as
 * they are, other values as JSON). The input's type requires every placeholder.
 *
 * **Example** (A prompt template)
 *
 * ```ts
 * import { LanguageModelAgent } from "effect-parallel-agents/models"
 *
 * const prompt = LanguageModelAgent.template("Classify the sentiment of this review:\n\n{{text}}")
 * prompt({ text: "Great food" }) // "Classify the sentiment of this review:\n\nGreat food"
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const template = <const S extends string>(
  text: S
): (input: { readonly [K in Placeholders<S>]: unknown }) => string => {
  // The template read once: its text between placeholders at even indexes, the placeholders' names at odd ones (as
  // `replace` with the same pattern finds them).
  const pieces = text.split(/\{\{([^{}]+)\}\}/)
  return (input) => {
    let prompt = pieces[0]!
    for (let i = 1; i < pieces.length; i += 2) {
      prompt += stringify((input as Record<string, unknown>)[pieces[i]!]) + pieces[i + 1]!
    }
    return prompt
  }
}

/**
 * Creates a language-model agent. With `output`, it asks for structured output and answers with the decoded
 * value; without, it answers with the text. Failures are the model's `AiError`s: `HttpResponseError` (with the
 * status and headers), `HttpRequestError`, and `MalformedOutput` when the answer does not fit `output`.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make: {
  <In, A, I extends Record<string, unknown>>(
    options: StructuredOptions<In, A, I>
  ): Effect.Effect<Agent.Agent<In, A, AiError.AiError>, never, LanguageModel.LanguageModel>
  <In>(
    options: TextOptions<In>
  ): Effect.Effect<Agent.Agent<In, string, AiError.AiError>, never, LanguageModel.LanguageModel>
} = <In, A, I extends Record<string, unknown>>(options: StructuredOptions<In, A, I> | TextOptions<In>) => {
  const output = options.output
  const objectName = "objectName" in options && options.objectName !== undefined
    ? options.objectName
    : output === undefined
    ? undefined
    : Option.getOrUndefined(SchemaAST.getIdentifierAnnotation(output.ast))
  return output === undefined
    ? makeWith(
      options,
      "stream" in options && options.stream === true
        ? (model, prompt) => metered(streamed(model, prompt))
        : (model, prompt) => InternalLanguageModel.generateText(model, { prompt, metered: true })
    )
    : makeWith(
      options,
      (model, prompt) =>
        InternalLanguageModel.generateObject(model, { prompt, schema: output, objectName, metered: true })
    )
}

/** The answer as a stream: each text delta is published as the task's output, and the text is their sum. */
const streamed = (model: LanguageModel.Service, prompt: Prompt.Prompt): Effect.Effect<string, AiError.AiError> =>
  Effect.suspend(() => {
    let text = ""
    return model.streamText({ prompt }).pipe(
      Stream.runForEach((part) => {
        if (part.type !== "text-delta") return Effect.void
        text += part.delta
        return TaskOutput.emit(part.delta)
      }),
      Effect.map(() => text)
    )
  })

// The one user message of a string prompt, as `Prompt.makeMessage` and `Prompt.makePart` make it, written out: their
// spread of the parameters costs more than the rest of the prompt.
const userMessage = (text: string): Prompt.UserMessage => ({
  content: [{ text, [Prompt.PartTypeId]: Prompt.PartTypeId, type: "text", options: {} }],
  [Prompt.MessageTypeId]: Prompt.MessageTypeId,
  role: "user",
  options: {}
})

// A prompt with the system prompt set, as `Prompt.setSystem(Prompt.make(raw), system)` makes it, with the system
// message made once per agent rather than per call, and a string prompt made straight into its one user message.
const promptWith = (system: string | undefined): (raw: Prompt.RawInput) => Prompt.Prompt => {
  if (system === undefined) return Prompt.make
  const systemMessage = Prompt.makeMessage("system", { content: system })
  return (raw) => {
    if (typeof raw === "string") return Prompt.fromMessages([systemMessage, userMessage(raw)])
    const messages: Array<Prompt.Message> = [systemMessage]
    for (const message of Prompt.make(raw).content) {
      if (message.role !== "system") messages.push(message)
    }
    return Prompt.fromMessages(messages)
  }
}

const makeWith = <In, Out>(
  options: BaseOptions<In>,
  generate: (model: LanguageModel.Service, prompt: Prompt.Prompt) => Effect.Effect<Out, AiError.AiError>
): Effect.Effect<Agent.Agent<In, Out, AiError.AiError>, never, LanguageModel.LanguageModel> => {
  // Made once for all the agent's instances (a factory builds one per task).
  const promptOf = promptWith(options.system)
  return Effect.contextWith((context: Context.Context<LanguageModel.LanguageModel>) => {
    const model = Context.get(context, LanguageModel.LanguageModel)
    const instance = Option.getOrUndefined(Context.getOption(context, AgentInstance.AgentInstance))
    return Agent.make({
      name: options.name,
      // Each call records its usage on the task's meter (`metered`).
      run: (input: In) => generate(model, promptOf(options.prompt(input, instance)))
    })
  })
}

/**
 * A factory layer for a language-model agent under your own tag. It needs the `LanguageModel`, which the app
 * provides once.
 *
 * @category layers
 * @since 0.1.0
 */
export const layer: {
  <Id, In, A, I extends Record<string, unknown>>(
    tag: Context.Tag<Id, Agent.Agent<In, A, AiError.AiError>>,
    options: StructuredOptions<In, A, I>
  ): Layer.Layer<Id, never, LanguageModel.LanguageModel>
  <Id, In>(
    tag: Context.Tag<Id, Agent.Agent<In, string, AiError.AiError>>,
    options: TextOptions<In>
  ): Layer.Layer<Id, never, LanguageModel.LanguageModel>
} = <Id, In, A, I extends Record<string, unknown>>(
  tag: Context.Tag<Id, Agent.Agent<In, A, AiError.AiError>>,
  options: StructuredOptions<In, A, I> | TextOptions<In>
): Layer.Layer<Id, never, LanguageModel.LanguageModel> =>
  Layer.effect(tag, make(options as StructuredOptions<In, A, I>))

/**
 * The factory of a language-model agent, ready for `Executor.run`: a fresh instance per task attempt, over the
 * `LanguageModel` the app provides.
 *
 * **Example** (Classifying documents with structured output)
 *
 * ```ts
 * import { Executor, Task } from "effect-parallel-agents"
 * import { LanguageModelAgent, OfflineLanguageModel } from "effect-parallel-agents/models"
 * import { Effect, Layer, Schema } from "effect"
 *
 * const classifier = LanguageModelAgent.factory({
 *   name: "classifier",
 *   system: "You label the sentiment of documents.",
 *   prompt: LanguageModelAgent.template("Label this document as positive or negative:\n\n{{text}}"),
 *   output: Schema.Struct({ label: Schema.Literal("positive", "negative") })
 * })
 *
 * const program = Effect.gen(function*() {
 *   const report = yield* Executor.run(Task.fromIterable([{ text: "Great food" }, { text: "Cold soup" }]), classifier)
 *   console.log(report.summary)
 * }).pipe(Effect.provide(Layer.mergeAll(Executor.layer(), OfflineLanguageModel.layer())))
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const factory: {
  <In, A, I extends Record<string, unknown>>(
    options: StructuredOptions<In, A, I>
  ): Agent.Factory<In, A, AiError.AiError, never, LanguageModel.LanguageModel>
  <In>(options: TextOptions<In>): Agent.Factory<In, string, AiError.AiError, never, LanguageModel.LanguageModel>
} = <In, A, I extends Record<string, unknown>>(
  options: StructuredOptions<In, A, I> | TextOptions<In>
): Agent.Factory<In, A, AiError.AiError, never, LanguageModel.LanguageModel> => {
  const tag = Context.GenericTag<Agent.Agent<In, A, AiError.AiError>>(
    `effect-parallel-agents/LanguageModelAgent/${options.name}`
  )
  // Built by an Effect, not a Layer: a third less work per task, and `Agent.layer` still gives the same `layer`.
  return Agent.effect(tag, make(options as StructuredOptions<In, A, I>), { name: options.name })
}
