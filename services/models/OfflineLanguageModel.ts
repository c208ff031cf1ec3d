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
import * as Response from "@effect/ai/Response"
import * as Arbitrary from "effect/Arbitrary"
import * as Clock from "effect/Clock"
import * as DateTime from "effect/DateTime"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as FastCheck from "effect/FastCheck"
import * as Hash from "effect/Hash"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type * as ParseResult from "effect/ParseResult"
import * as Random from "effect/Random"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as InternalLanguageModel from "./internal/languageModel.js"

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
 * A distribution of response latencies (time to the answer). Each request draws from it with a generator
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

// The generator is made only when a draw needs it: a fixed latency and a schema's answer draw nothing. A fixed
// latency is a number, no effect: the agents' path makes its reply at once.
const sampleMillis = (latency: Latency, random: () => Random.Random): number | Effect.Effect<number> => {
  switch (latency._tag) {
    case "Fixed":
      return Duration.toMillis(latency.duration)
    case "Uniform": {
      const min = Duration.toMillis(latency.min)
      const max = Duration.toMillis(latency.max)
      return Effect.map(random().next, (u) => min + u * Math.max(0, max - min))
    }
    case "LogNormal": {
      const generator = random()
      // Box-Muller: two uniforms give one standard normal.
      return Effect.map(Effect.zip(generator.next, generator.next), ([u, v]) => {
        const z = Math.sqrt(-2 * Math.log(1 - u)) * Math.cos(2 * Math.PI * v)
        return Duration.toMillis(latency.median) * Math.exp(latency.sigma * z)
      })
    }
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
   * The time to the answer: a fixed duration or a distribution, drawn in whole milliseconds; or a function of
   * the request that gives one, for models whose latency depends on what is asked (a long report, a short vote).
   * `generateText` answers at once after it; `streamText` spreads the answer's words over it, the last at its end.
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
  // ASCII text (nearly every prompt and answer) is counted by its character codes, with the rules of the pattern
  // below; any other character sends the whole text to the pattern.
  let tokens = 0
  let letters = 0
  let digits = 0
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i)
    if (code >= 0x80) return countTokensUnicode(text)
    if ((code >= 0x61 && code <= 0x7a) || (code >= 0x41 && code <= 0x5a)) {
      if (digits > 0) tokens += Math.ceil(digits / 3)
      digits = 0
      letters++
    } else if (code >= 0x30 && code <= 0x39) {
      if (letters > 0) tokens += 1 + Math.floor((letters - 1) / 10)
      letters = 0
      digits++
    } else {
      if (letters > 0) tokens += 1 + Math.floor((letters - 1) / 10)
      if (digits > 0) tokens += Math.ceil(digits / 3)
      letters = 0
      digits = 0
      // Not whitespace (`\s`: tab to carriage return, and space): a punctuation mark or another character.
      if (code !== 0x20 && (code < 0x09 || code > 0x0d)) tokens++
    }
  }
  if (letters > 0) tokens += 1 + Math.floor((letters - 1) / 10)
  if (digits > 0) tokens += Math.ceil(digits / 3)
  return tokens
}

const countTokensUnicode = (text: string): number => {
  let tokens = 0
  // One pattern, its groups telling letters from digits: a piece is matched once, never tested again.
  for (const match of text.matchAll(/(\p{L}+)|(\p{N}+)|[^\p{L}\p{N}\s]/gu)) {
    tokens += match[1] !== undefined
      ? 1 + Math.floor((match[1].length - 1) / 10)
      : match[2] !== undefined
      ? Math.ceil(match[2].length / 3)
      : 1
  }
  return tokens
}

const messageText = (message: Prompt.Message): string => {
  if (message.role === "system") return message.content
  // One text part (a string prompt's message): its text, as the join below gives it.
  if (message.content.length === 1 && message.content[0]!.type === "text") return message.content[0]!.text
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
const promptTokens = (texts: ReadonlyArray<string>): number => {
  let tokens = 3
  for (const text of texts) tokens += 3 + countTokens(text)
  return tokens
}

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
const generateJson = (schema: Schema.Schema.Any, seed: number): Either.Either<string, AiError.MalformedOutput> => {
  const { arbitrary, decode, encode } = compiled(schema)
  // The JSON of a sample, if it encodes to JSON and decodes back.
  const jsonOf = (sample: unknown): string | undefined => {
    const json = encode(sample)
    return json._tag === "Right" && typeof json.right === "string" && decode(json.right)._tag === "Right"
      ? json.right
      : undefined
  }
  if (arbitrary._tag === "Left") {
    return Either.left(malformed("the offline model cannot generate a value of the requested schema", arbitrary.left))
  }
  // The first sample almost always survives JSON: draw it alone, and all 20 (the same first, then 19 more) only
  // when it does not.
  const first = jsonOf(FastCheck.sample(arbitrary.right, { seed, numRuns: 1 })[0])
  if (first !== undefined) return Either.right(first)
  for (const sample of FastCheck.sample(arbitrary.right, { seed, numRuns: 20 })) {
    const json = jsonOf(sample)
    if (json !== undefined) return Either.right(json)
  }
  return Either.left(malformed("the offline model found no value of the requested schema that survives JSON"))
}

const encodeAnswer = (
  answer: Answer,
  schema: Schema.Schema.Any | undefined
): Either.Either<string, AiError.MalformedOutput> => {
  if ("text" in answer) return Either.right(answer.text)
  if (schema === undefined) {
    return Either.right(typeof answer.value === "string" ? answer.value : JSON.stringify(answer.value))
  }
  const { encode, encodeValue } = compiled(schema)
  // As `encode` (`Schema.parseJson`'s: the value encoded by the schema, then `JSON.stringify`), which gives the
  // error of a value that does not encode or stringify.
  const value = encodeValue(answer.value)
  if (value._tag === "Right") {
    try {
      const json: unknown = JSON.stringify(value.right)
      if (typeof json === "string") return Either.right(json)
    } catch {
      // `encode` fails with its message.
    }
  }
  return Either.mapBoth(encode(answer.value), {
    onLeft: (cause) => malformed("the scripted answer does not fit the requested schema", cause),
    onRight: (json) => json as string
  })
}

interface Compiled {
  /** The schema as text, part of each request's seed. */
  readonly description: string
  readonly arbitrary: Either.Either<FastCheck.Arbitrary<unknown>, unknown>
  readonly encode: (value: unknown) => Either.Either<unknown, ParseResult.ParseError>
  readonly decode: (json: unknown) => Either.Either<unknown, ParseResult.ParseError>
  /** The schema's own encoding, before `JSON.stringify`. */
  readonly encodeValue: (value: unknown) => Either.Either<unknown, ParseResult.ParseError>
}

// What the model derives from a response schema, once per schema: an agent asks with the same one every time, and
// building an `Arbitrary`, two JSON codecs and the schema's text per request cost more than the rest of the request.
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
      description: String(schema.ast),
      arbitrary,
      encode: Schema.encodeUnknownEither(Schema.parseJson(typed)),
      decode: Schema.decodeUnknownEither(Schema.parseJson(typed)),
      encodeValue: Schema.encodeUnknownEither(typed)
    }
    compiledSchemas.set(schema, entry)
  }
  return entry
}

// The most `Usage` values a model keeps (`usageOf`).
const maxUsages = 4096

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

  // The reply itself when nothing in it is drawn from an effect (a scripted answer or a schema's, at a fixed
  // latency), else the effect that makes it.
  const reply = (
    providerOptions: LanguageModel.ProviderOptions
  ): Reply | Effect.Effect<Reply, AiError.AiError> => {
    const { prompt, responseFormat } = providerOptions
    const schema = responseFormat.type === "json" ? responseFormat.schema : undefined
    const objectName = responseFormat.type === "json" ? responseFormat.objectName : undefined
    // Each message's text once: for the seed, the last user message and the prompt's tokens.
    const texts = prompt.content.map(messageText)
    let text = ""
    for (let i = prompt.content.length - 1; i >= 0; i--) {
      if (prompt.content[i]!.role === "user") {
        text = texts[i]!
        break
      }
    }
    const keyParts = [
      seed,
      responseFormat.type,
      objectName ?? "",
      schema === undefined ? "" : compiled(schema).description
    ]
    for (let i = 0; i < texts.length; i++) keyParts.push(`${prompt.content[i]!.role}\u0000${texts[i]}`)
    const key = keyParts.join("\u0001")
    const hash = Hash.string(key)
    let random: Random.Random | undefined
    const randomOf = () => random ??= Random.make(key)
    const request: Request = { prompt, text, format: responseFormat.type, objectName, schema }
    const scripted = answer?.(request)
    // A scripted answer and a schema's are made at once; only a text answer draws from the generator, in order
    // before the latency does.
    const output = scripted !== undefined
      ? encodeAnswer(scripted, schema)
      : schema !== undefined
      ? generateJson(schema, hash | 0)
      : Effect.suspend(() => generateText(text, randomOf()))
    const replyOf = (output: string, millis: number): Reply => ({
      text: output,
      id: `offline-${(hash >>> 0).toString(16).padStart(8, "0")}`,
      inputTokens: promptTokens(texts),
      outputTokens: countTokens(output),
      // Whole milliseconds: clocks convert to nanoseconds as integers.
      firstTokenMillis: Math.max(0, Math.round(millis)),
      perTokenMillis
    })
    if (Either.isEither(output)) {
      if (Either.isLeft(output)) return Effect.fail(output.left)
      const millis = sampleMillis(latencyOf(request), randomOf)
      return typeof millis === "number"
        ? replyOf(output.right, millis)
        : Effect.map(millis, (millis) => replyOf(output.right, millis))
    }
    return Effect.flatMap(output, (output) => {
      const millis = sampleMillis(latencyOf(request), randomOf)
      return typeof millis === "number"
        ? Effect.succeed(replyOf(output, millis))
        : Effect.map(millis, (millis) => replyOf(output, millis))
    })
  }

  // The `Usage` of a count of tokens, made once for each count: its class's constructor merges the fields' defaults
  // on every call, and a `Usage` is an immutable value. The counts of an agent's requests repeat (its prompts have
  // the same words but the input's); the cache is emptied when it holds `maxUsages`.
  const usages = new Map<number, Map<number, Response.Usage>>()
  let usageCount = 0
  const usageOf = (inputTokens: number, outputTokens: number): Response.Usage => {
    let byOutput = usages.get(inputTokens)
    let usage = byOutput?.get(outputTokens)
    if (usage === undefined) {
      usage = new Response.Usage({ inputTokens, outputTokens, totalTokens: inputTokens + outputTokens }, true)
      if (usageCount >= maxUsages) {
        usages.clear()
        usageCount = 0
        byOutput = undefined
      }
      if (byOutput === undefined) usages.set(inputTokens, byOutput = new Map())
      byOutput.set(outputTokens, usage)
      usageCount++
    }
    return usage
  }

  const metadataPart = (reply: Reply, now: number): Response.ResponseMetadataPartEncoded => ({
    type: "response-metadata",
    id: reply.id,
    modelId: modelName,
    timestamp: new Date(now).toISOString()
  })

  const metadata = (reply: Reply) => Effect.map(Clock.currentTimeMillis, (now) => metadataPart(reply, now))

  const finish = (reply: Reply): Response.FinishPartEncoded => ({
    type: "finish",
    reason: "stop",
    usage: {
      inputTokens: reply.inputTokens,
      outputTokens: reply.outputTokens,
      totalTokens: reply.inputTokens + reply.outputTokens
    }
  })

  // The attributes `genAI`'s helpers add (those of `Telemetry.addGenAIAnnotations`), in their order, with keys made
  // once: none of the values is ever null.
  const annotate = (span: LanguageModel.ProviderOptions["span"], reply: Reply) => {
    span.attribute("gen_ai.system", modelName)
    span.attribute("gen_ai.operation.name", "chat")
    span.attribute("gen_ai.request.model", modelName)
    span.attribute("gen_ai.response.id", reply.id)
    span.attribute("gen_ai.response.model", modelName)
    span.attribute("gen_ai.response.finish_reasons", ["stop"])
    span.attribute("gen_ai.usage.input_tokens", reply.inputTokens)
    span.attribute("gen_ai.usage.output_tokens", reply.outputTokens)
  }

  const replied = (providerOptions: LanguageModel.ProviderOptions): Effect.Effect<Reply, AiError.AiError> => {
    const made = reply(providerOptions)
    return Effect.isEffect(made) ? made : Effect.succeed(made)
  }

  // The answer after its latency, and the time it was made, with the span annotated: then its parts. One clock for
  // both, read once.
  const answered = <A>(
    providerOptions: LanguageModel.ProviderOptions,
    parts: (answer: Reply, now: number) => A
  ): Effect.Effect<A, AiError.AiError> => {
    const after = (answer: Reply) =>
      Effect.clockWith((clock) => {
        const millis = answer.firstTokenMillis + answer.perTokenMillis * answer.outputTokens
        const done = () => {
          annotate(providerOptions.span, answer)
          return parts(answer, clock.unsafeCurrentTimeMillis())
        }
        // No timer at all for no latency, as `wait`.
        return millis > 0 ? Effect.map(clock.sleep(Duration.millis(millis)), done) : Effect.sync(done)
      })
    const made = reply(providerOptions)
    return Effect.isEffect(made) ? Effect.flatMap(made, after) : after(made)
  }

  return InternalLanguageModel.make({
    generateText: (providerOptions) =>
      answered(providerOptions, (answer, now): Array<Response.PartEncoded> => [
        metadataPart(answer, now),
        { type: "text", text: answer.text },
        finish(answer)
      ]),
    streamText: (providerOptions) =>
      Stream.unwrap(Effect.gen(function*() {
        const answer = yield* replied(providerOptions)
        const head: Array<Response.StreamPartEncoded> = [yield* metadata(answer), { type: "text-start", id: "0" }]
        // One delta per word (with its leading space). The words are spread over the latency, the last one at its
        // end, and each also takes its tokens' time: the whole answer takes as long as with generateText.
        const deltas = answer.text.match(/\s*\S+/g) ?? []
        const spread = (i: number) => Math.round((answer.firstTokenMillis * i) / Math.max(1, deltas.length))
        return Stream.fromIterable(head).pipe(
          Stream.concat(
            Stream.fromIterable(deltas).pipe(
              Stream.zipWithIndex,
              Stream.mapEffect(([delta, i]) =>
                Effect.as(
                  wait(spread(i + 1) - spread(i) + answer.perTokenMillis * countTokens(delta)),
                  { type: "text-delta", id: "0", delta } satisfies Response.StreamPartEncoded
                )
              )
            )
          ),
          Stream.concat(Stream.unwrap(Effect.as(
            // An empty answer still takes its latency.
            wait(deltas.length === 0 ? answer.firstTokenMillis : 0),
            Stream.suspend(() => {
              annotate(providerOptions.span, answer)
              const end: Array<Response.StreamPartEncoded> = [{ type: "text-end", id: "0" }, finish(answer)]
              return Stream.fromIterable(end)
            })
          )))
        )
      }))
  }, {
    // It makes no span and logs nothing: the call's span is annotated through `span`.
    generatePartsUntraced: true,
    // The parts `generateText`'s answer decodes to, made as they are: the agents' path skips decoding what the model
    // itself just encoded (the tests compare both).
    generateParts: (providerOptions) =>
      answered(providerOptions, (answer, now): Array<Response.Part<{}>> => {
        // As `Response.makePart` makes them, written out: its spread of the parameters costs more than the rest.
        const metadata: Response.ResponseMetadataPart = {
          [Response.PartTypeId]: Response.PartTypeId,
          type: "response-metadata",
          id: Option.some(answer.id),
          modelId: Option.some(modelName),
          timestamp: Option.some(DateTime.unsafeMake(now)),
          metadata: {}
        }
        const text: Response.TextPart = {
          [Response.PartTypeId]: Response.PartTypeId,
          type: "text",
          text: answer.text,
          metadata: {}
        }
        const finish: Response.FinishPart = {
          [Response.PartTypeId]: Response.PartTypeId,
          type: "finish",
          reason: "stop",
          usage: usageOf(answer.inputTokens, answer.outputTokens),
          metadata: {}
        }
        return [metadata, text, finish]
      })
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
