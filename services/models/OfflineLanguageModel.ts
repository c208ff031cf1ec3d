/**
 * A `LanguageModel` that runs in the process, with no key and no network: the embedded default for examples, the
 * command line and tests. Its answers are deterministic for a prompt (text made of the prompt's own words,
 * structured output generated from the requested schema's `Arbitrary`, both seeded by the prompt); it answers
 * after a latency drawn from a configurable distribution and reports token usage as a provider does. Its model
 * name is `"offline"`, so reports show when it answered.
 *
 * @since 0.1.0
 */
import * as AiError from "@effect/ai/AiError"
import * as LanguageModel from "@effect/ai/LanguageModel"
import * as AiModel from "@effect/ai/Model"
import type * as Prompt from "@effect/ai/Prompt"
import type * as Response from "@effect/ai/Response"
import * as Telemetry from "@effect/ai/Telemetry"
import * as Arbitrary from "effect/Arbitrary"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as FastCheck from "effect/FastCheck"
import * as Hash from "effect/Hash"
import * as Layer from "effect/Layer"
import type * as ParseResult from "effect/ParseResult"
import * as Random from "effect/Random"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"

/**
 * The model name the offline model answers with, in response metadata, spans and recorded usage.
 *
 * @category models
 * @since 0.1.0
 */
export const modelName = "offline"

// =============================================================================
// latency
// =============================================================================

/**
 * A distribution of response latencies (time to the first token). Each request draws from it with a generator
 * seeded by the prompt, so the same prompt always waits the same time.
 *
 * @category models
 * @since 0.1.0
 */
export type Latency =
  | { readonly _tag: "Fixed"; readonly duration: Duration.Duration }
  | { readonly _tag: "Uniform"; readonly min: Duration.Duration; readonly max: Duration.Duration }
  | { readonly _tag: "LogNormal"; readonly median: Duration.Duration; readonly sigma: number }

/**
 * Always the same latency.
 *
 * @category constructors
 * @since 0.1.0
 */
export const fixedLatency = (duration: Duration.DurationInput): Latency => ({
  _tag: "Fixed",
  duration: Duration.decode(duration)
})

/**
 * A latency drawn uniformly between `min` and `max`.
 *
 * @category constructors
 * @since 0.1.0
 */
export const uniformLatency = (min: Duration.DurationInput, max: Duration.DurationInput): Latency => ({
  _tag: "Uniform",
  min: Duration.decode(min),
  max: Duration.decode(max)
})

/**
 * A log-normal latency, the long-tailed shape of real providers: half the requests take less than `median`, and
 * `sigma` (the standard deviation of the latency's logarithm) sets the tail; with `sigma: 0.5`, one request in 20
 * takes more than 2.3 times the median.
 *
 * @category constructors
 * @since 0.1.0
 */
export const logNormalLatency = (options: {
  readonly median: Duration.DurationInput
  readonly sigma: number
}): Latency => ({ _tag: "LogNormal", median: Duration.decode(options.median), sigma: options.sigma })

/**
 * Between 100 and 120 ms, uniformly: short enough for examples and tests, long enough for a fan-out to show.
 *
 * @category constructors
 * @since 0.1.0
 */
export const defaultLatency: Latency = uniformLatency("100 millis", "120 millis")

const isLatency = (u: unknown): u is Latency =>
  typeof u === "object" && u !== null && "_tag" in u &&
  (u._tag === "Fixed" || u._tag === "Uniform" || u._tag === "LogNormal")

const sampleMillis = (latency: Latency, random: Random.Random): Effect.Effect<number> => {
  switch (latency._tag) {
    case "Fixed":
      return Effect.succeed(Duration.toMillis(latency.duration))
    case "Uniform": {
      const min = Duration.toMillis(latency.min)
      const max = Duration.toMillis(latency.max)
      return Effect.map(random.next, (u) => min + u * Math.max(0, max - min))
    }
    case "LogNormal":
      // Box-Muller: two uniforms give one standard normal.
      return Effect.map(Effect.zip(random.next, random.next), ([u, v]) => {
        const z = Math.sqrt(-2 * Math.log(1 - u)) * Math.cos(2 * Math.PI * v)
        return Duration.toMillis(latency.median) * Math.exp(latency.sigma * z)
      })
  }
}

// =============================================================================
// models
// =============================================================================

/**
 * One request, as the `answer` and `latency` options see it.
 *
 * @category models
 * @since 0.1.0
 */
export interface Request {
  /** The whole prompt. */
  readonly prompt: Prompt.Prompt
  /** The text of the last user message. */
  readonly text: string
  /** `"json"` for structured output (`generateObject`), `"text"` otherwise. */
  readonly format: "text" | "json"
  /** The name of the requested object, for structured output. */
  readonly objectName: string | undefined
  /** The requested schema, for structured output. */
  readonly schema: Schema.Schema.Any | undefined
}

/**
 * A scripted answer: `{ text }` is the raw text of the response (for structured output, what the schema decodes
 * from JSON); `{ value }` is a value of the requested schema's type, encoded to JSON by the model.
 *
 * @category models
 * @since 0.1.0
 */
export type Answer = { readonly text: string } | { readonly value: unknown }

/**
 * Options of the offline model.
 *
 * @category models
 * @since 0.1.0
 */
export interface Options {
  /**
   * The time to the first token: a fixed duration or a distribution, drawn in whole milliseconds; or a function of
   * the request that gives one, for models whose latency depends on what is asked (a long report, a short vote).
   *
   * @default defaultLatency
   */
  readonly latency?:
    | Latency
    | Duration.DurationInput
    | ((request: Request) => Latency | Duration.DurationInput)
    | undefined
  /**
   * Time added per output token, as a provider streams them.
   *
   * @default 0
   */
  readonly perOutputToken?: Duration.DurationInput | undefined
  /**
   * Mixed into every prompt's seed: another seed gives other (still deterministic) answers and latencies.
   *
   * @default 0
   */
  readonly seed?: number | string | undefined
  /**
   * Scripted answers: return one for the requests you want to script, `undefined` to let the model generate it.
   */
  readonly answer?: ((request: Request) => Answer | undefined) | undefined
}

// =============================================================================
// tokens
// =============================================================================

/**
 * Counts tokens roughly as the BPE tokenizers of hosted models do for English: one per word and one more per 10
 * letters beyond the first, one per group of up to three digits, one per punctuation mark.
 *
 * @category getters
 * @since 0.1.0
 */
export const countTokens = (text: string): number => {
  let tokens = 0
  for (const match of text.matchAll(/\p{L}+|\p{N}+|[^\p{L}\p{N}\s]/gu)) {
    const piece = match[0]
    tokens += /^\p{N}/u.test(piece) ? Math.ceil(piece.length / 3) : /^\p{L}/u.test(piece)
      ? 1 + Math.floor((piece.length - 1) / 10)
      : 1
  }
  return tokens
}

const messageText = (message: Prompt.Message): string => {
  if (message.role === "system") return message.content
  const texts: Array<string> = []
  for (const part of message.content) {
    switch (part.type) {
      case "text":
      case "reasoning":
        texts.push(part.text)
        break
      case "tool-call":
        texts.push(JSON.stringify(part.params))
        break
      case "tool-result":
        texts.push(JSON.stringify(part.result))
        break
    }
  }
  return texts.join("\n")
}

// As chat APIs count: each message costs its text plus 3 tokens of framing, and every reply is primed with 3.
const promptTokens = (prompt: Prompt.Prompt): number =>
  prompt.content.reduce((sum, message) => sum + 3 + countTokens(messageText(message)), 3)

// =============================================================================
// answers
// =============================================================================

const fallbackWords = ["the", "agent", "reviewed", "this", "request", "and", "found", "nothing", "unusual"]

/** A sentence of 8 to 24 of the prompt's own words, picked by the seeded generator. */
const generateText = (text: string, random: Random.Random): Effect.Effect<string> =>
  Effect.gen(function*() {
    const found = text.match(/[\p{L}\p{N}'-]+/gu)
    const words = found === null || found.length === 0 ? fallbackWords : found
    const length = yield* random.nextIntBetween(8, 25)
    const picked: Array<string> = []
    for (let i = 0; i < length; i++) picked.push(words[yield* random.nextIntBetween(0, words.length)]!)
    const sentence = picked.join(" ")
    return `${sentence.charAt(0).toUpperCase()}${sentence.slice(1)}.`
  })

const malformed = (description: string, cause?: unknown) =>
  new AiError.MalformedOutput({
    module: "OfflineLanguageModel",
    method: "generateText",
    description,
    ...(cause === undefined ? {} : { cause })
  })

/**
 * JSON for a value of the schema, from its `Arbitrary` seeded by the prompt: the first of the samples that
 * encodes to JSON and decodes back (a number such as `Infinity` does not survive JSON).
 */
const generateJson = (schema: Schema.Schema.Any, seed: number): Effect.Effect<string, AiError.MalformedOutput> =>
  Effect.suspend(() => {
    const { arbitrary, decode, encode } = compiled(schema)
    if (arbitrary._tag === "Left") {
      return Effect.fail(
        malformed("the offline model cannot generate a value of the requested schema", arbitrary.left)
      )
    }
    const samples = FastCheck.sample(arbitrary.right, { seed, numRuns: 20 })
    for (const sample of samples) {
      const json = encode(sample)
      if (json._tag === "Right" && typeof json.right === "string" && decode(json.right)._tag === "Right") {
        return Effect.succeed(json.right)
      }
    }
    return Effect.fail(malformed("the offline model found no value of the requested schema that survives JSON"))
  })

const encodeAnswer = (
  answer: Answer,
  schema: Schema.Schema.Any | undefined
): Effect.Effect<string, AiError.MalformedOutput> => {
  if ("text" in answer) return Effect.succeed(answer.text)
  if (schema === undefined) {
    return Effect.succeed(typeof answer.value === "string" ? answer.value : JSON.stringify(answer.value))
  }
  return Either.match(compiled(schema).encode(answer.value), {
    onLeft: (cause) => Effect.fail(malformed("the scripted answer does not fit the requested schema", cause)),
    onRight: (json) => Effect.succeed(json as string)
  })
}

interface Compiled {
  readonly arbitrary: Either.Either<FastCheck.Arbitrary<unknown>, unknown>
  readonly encode: (value: unknown) => Either.Either<unknown, ParseResult.ParseError>
  readonly decode: (json: unknown) => Either.Either<unknown, ParseResult.ParseError>
}

// What the model derives from a response schema, once per schema: an agent asks with the same one every time, and
// building an `Arbitrary` and two JSON codecs per request cost more than the rest of the request.
const compiledSchemas = new WeakMap<Schema.Schema.Any, Compiled>()

const compiled = (schema: Schema.Schema.Any): Compiled => {
  let entry = compiledSchemas.get(schema)
  if (entry === undefined) {
    const typed = schema as Schema.Schema<unknown, unknown>
    let arbitrary: Compiled["arbitrary"]
    try {
      arbitrary = Either.right(Arbitrary.make(typed))
    } catch (cause) {
      arbitrary = Either.left(cause)
    }
    entry = {
      arbitrary,
      encode: Schema.encodeUnknownEither(Schema.parseJson(typed)),
      decode: Schema.decodeUnknownEither(Schema.parseJson(typed))
    }
    compiledSchemas.set(schema, entry)
  }
  return entry
}

// No timer at all for no latency: a timer of 0 ms still waits for the next turn of the event loop.
const wait = (millis: number): Effect.Effect<void> => millis > 0 ? Effect.sleep(Duration.millis(millis)) : Effect.void

interface Reply {
  readonly text: string
  readonly id: string
  readonly inputTokens: number
  readonly outputTokens: number
  readonly firstTokenMillis: number
  readonly perTokenMillis: number
}

// =============================================================================
// constructors
// =============================================================================

/**
 * Creates the offline model.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = (options?: Options): Effect.Effect<LanguageModel.Service> => {
  const toLatency = (latency: Latency | Duration.DurationInput): Latency =>
    isLatency(latency) ? latency : fixedLatency(latency)
  const option = options?.latency
  const latencyOf: (request: Request) => Latency = option === undefined
    ? () => defaultLatency
    : typeof option === "function"
    ? (request) => toLatency(option(request))
    : ((latency) => () => latency)(toLatency(option))
  const perTokenMillis = options?.perOutputToken === undefined
    ? 0
    : Math.round(Duration.toMillis(options.perOutputToken))
  const seed = String(options?.seed ?? 0)
  const answer = options?.answer

  const reply = (providerOptions: LanguageModel.ProviderOptions): Effect.Effect<Reply, AiError.AiError> =>
    Effect.gen(function*() {
      const { prompt, responseFormat } = providerOptions
      const schema = responseFormat.type === "json" ? responseFormat.schema : undefined
      const objectName = responseFormat.type === "json" ? responseFormat.objectName : undefined
      const users = prompt.content.filter((message) => message.role === "user")
      const text = users.length === 0 ? "" : messageText(users[users.length - 1]!)
      const key = [
        seed,
        responseFormat.type,
        objectName ?? "",
        schema === undefined ? "" : String(schema.ast),
        ...prompt.content.map((message) => `${message.role}\u0000${messageText(message)}`)
      ].join("\u0001")
      const hash = Hash.string(key)
      const random = Random.make(key)
      const request: Request = { prompt, text, format: responseFormat.type, objectName, schema }
      const scripted = answer?.(request)
      const output = scripted !== undefined
        ? yield* encodeAnswer(scripted, schema)
        : schema !== undefined
        ? yield* generateJson(schema, hash | 0)
        : yield* generateText(text, random)
      // Whole milliseconds: clocks convert to nanoseconds as integers.
      const firstTokenMillis = Math.max(0, Math.round(yield* sampleMillis(latencyOf(request), random)))
      return {
        text: output,
        id: `offline-${(hash >>> 0).toString(16).padStart(8, "0")}`,
        inputTokens: promptTokens(prompt),
        outputTokens: countTokens(output),
        firstTokenMillis,
        perTokenMillis
      }
    })

  const metadata = (reply: Reply) =>
    Effect.map(Clock.currentTimeMillis, (now): Response.ResponseMetadataPartEncoded => ({
      type: "response-metadata",
      id: reply.id,
      modelId: modelName,
      timestamp: new Date(now).toISOString()
    }))

  const finish = (reply: Reply): Response.FinishPartEncoded => ({
    type: "finish",
    reason: "stop",
    usage: {
      inputTokens: reply.inputTokens,
      outputTokens: reply.outputTokens,
      totalTokens: reply.inputTokens + reply.outputTokens
    }
  })

  const annotate = (span: LanguageModel.ProviderOptions["span"], reply: Reply) =>
    Telemetry.addGenAIAnnotations(span, {
      system: modelName,
      operation: { name: "chat" },
      request: { model: modelName },
      response: { id: reply.id, model: modelName, finishReasons: ["stop"] },
      usage: { inputTokens: reply.inputTokens, outputTokens: reply.outputTokens }
    })

  return LanguageModel.make({
    generateText: (providerOptions) =>
      Effect.gen(function*() {
        const answer = yield* reply(providerOptions)
        yield* wait(answer.firstTokenMillis + answer.perTokenMillis * answer.outputTokens)
        annotate(providerOptions.span, answer)
        return [yield* metadata(answer), { type: "text", text: answer.text }, finish(answer)]
      }),
    streamText: (providerOptions) =>
      Stream.unwrap(Effect.gen(function*() {
        const answer = yield* reply(providerOptions)
        yield* wait(answer.firstTokenMillis)
        const head: Array<Response.StreamPartEncoded> = [yield* metadata(answer), { type: "text-start", id: "0" }]
        // One delta per word (with its leading space), each after its tokens' time.
        const deltas = answer.text.match(/\s*\S+/g) ?? []
        return Stream.fromIterable(head).pipe(
          Stream.concat(Stream.mapEffect(Stream.fromIterable(deltas), (delta) =>
            Effect.as(
              wait(answer.perTokenMillis * countTokens(delta)),
              { type: "text-delta", id: "0", delta } satisfies Response.StreamPartEncoded
            ))),
          Stream.concat(Stream.suspend(() => {
            annotate(providerOptions.span, answer)
            const end: Array<Response.StreamPartEncoded> = [{ type: "text-end", id: "0" }, finish(answer)]
            return Stream.fromIterable(end)
          }))
        )
      }))
  })
}

/**
 * Provides the offline model as the `LanguageModel`.
 *
 * **Example** (Structured output with no key and no network)
 *
 * ```ts
 * import { LanguageModel } from "@effect/ai"
 * import { Effect, Schema } from "effect"
 * import { OfflineLanguageModel } from "effect-parallel-agents/models"
 *
 * const program = LanguageModel.generateObject({
 *   prompt: "Classify: the food was great",
 *   schema: Schema.Struct({ label: Schema.Literal("positive", "negative") })
 * }).pipe(Effect.provide(OfflineLanguageModel.layer({ latency: OfflineLanguageModel.uniformLatency(80, 400) })))
 * ```
 *
 * @category layers
 * @since 0.1.0
 */
export const layer = (options?: Options): Layer.Layer<LanguageModel.LanguageModel> =>
  Layer.effect(LanguageModel.LanguageModel, make(options))

/**
 * The offline model as an `@effect/ai` `Model`, whose provider name is `"offline"`.
 *
 * @category layers
 * @since 0.1.0
 */
export const model = (options?: Options): AiModel.Model<"offline", LanguageModel.LanguageModel, never> =>
  AiModel.make(modelName, layer(options))
