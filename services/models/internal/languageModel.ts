import * as AiError from "@effect/ai/AiError"
import * as IdGenerator from "@effect/ai/IdGenerator"
import * as LanguageModel from "@effect/ai/LanguageModel"
import * as Prompt from "@effect/ai/Prompt"
import * as Response from "@effect/ai/Response"
import * as Telemetry from "@effect/ai/Telemetry"
import * as Toolkit from "@effect/ai/Toolkit"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import type * as Either from "effect/Either"
import { identity } from "effect/Function"
import * as Option from "effect/Option"
import type * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import { isPlain } from "../../../src/internal/schema.js"
import * as Usage from "../../../src/Usage.js"

// Why this module exists: `@effect/ai`'s `LanguageModel.make` builds, on every call, the schema of the response parts
// (`Schema.mutable(Schema.Array(Response.Part(Toolkit.empty)))`) and, for `generateObject`, `Schema.parseJson(schema)`,
// and compiles a parser for each; Effect memoises parsers by AST, and these ASTs are new on every call. That costs
// more than the rest of a call to a fast server (about 150 µs of CPU and its garbage, per call). The models built
// here keep their provider's `generateText`, so that `generateObject` and `generateText` below call it with codecs
// built once: once for the parts, once per output schema. What they do is what `LanguageModel`'s methods do without
// a toolkit, step for step: the same span (name, attributes, parent), the same span transformer call, the same
// errors, the same value. Models built elsewhere (a user's own `LanguageModel`) go through their own methods.

const ProviderTypeId: unique symbol = Symbol.for("effect-parallel-agents/models/internal/LanguageModelProvider")

interface Provider {
  /** The service's own methods, to tell them from ones a wrapper put in their place. */
  readonly service: Pick<LanguageModel.Service, "generateText" | "generateObject">
  /** The provider's answer as decoded parts. */
  readonly generateParts: (
    options: LanguageModel.ProviderOptions
  ) => Effect.Effect<Array<Response.Part<{}>>, AiError.AiError | ParseResult.ParseError, IdGenerator.IdGenerator>
  readonly idGenerator: IdGenerator.Service
  /** Whether the parts are made by the provider's `generateText`, which may read the `IdGenerator`. */
  readonly needsIdGenerator: boolean
  readonly parentSpanTransformer: Option.Option<Telemetry.SpanTransformer>
  /**
   * Whether `generateParts` may make spans or log (an HTTP client does): its effect then runs with the call's span as
   * the current one, as `LanguageModel`'s methods run the provider's. A provider that does neither is run as it is.
   */
  readonly parentSpan: boolean
}

interface WithProvider extends LanguageModel.Service {
  readonly [ProviderTypeId]: Provider
}

// The provider of a model built by `make`, unless the method was replaced (a service spread into a wrapper keeps the
// provider, and calls to it must still go through the wrapper's method).
const providerOf = (
  model: LanguageModel.Service,
  method: "generateText" | "generateObject"
): Provider | undefined => {
  const provider = (model as Partial<WithProvider>)[ProviderTypeId]
  return provider !== undefined && provider.service[method] === model[method] ? provider : undefined
}

// `LanguageModel.make`, keeping the provider's `generateText` with what `make` reads from its context. A provider that
// can make its parts already decoded gives `generateParts` as well: the parts must be those `Response.Part` decodes
// from what its `generateText` answers (`LanguageModel`'s own methods still call `generateText`).
/** @internal */
export const make = (
  params: LanguageModel.ConstructorParams,
  options?: {
    readonly generateParts?: (
      options: LanguageModel.ProviderOptions
    ) => Effect.Effect<Array<Response.Part<{}>>, AiError.AiError>
    /**
     * Whether `generateParts` makes no span and logs nothing (a model in the process): it then runs without the
     * call's span provided as the current one (the span is still its `span` option), which saves a context write
     * and its restoring per call.
     */
    readonly generatePartsUntraced?: boolean | undefined
  }
): Effect.Effect<LanguageModel.Service> =>
  Effect.gen(function*() {
    const service = yield* LanguageModel.make(params)
    const parentSpanTransformer = yield* Effect.serviceOption(Telemetry.CurrentSpanTransformer)
    const idGenerator = Option.getOrElse(
      yield* Effect.serviceOption(IdGenerator.IdGenerator),
      () => IdGenerator.defaultIdGenerator
    )
    const provider: Provider = {
      service: { generateText: service.generateText, generateObject: service.generateObject },
      generateParts: options?.generateParts ??
        ((providerOptions) => Effect.flatMap(params.generateText(providerOptions), decodeParts)),
      idGenerator,
      needsIdGenerator: options?.generateParts === undefined,
      parentSpanTransformer,
      parentSpan: options?.generateParts === undefined || options.generatePartsUntraced !== true
    }
    const model: WithProvider = { ...service, [ProviderTypeId]: provider }
    return model
  })

// The response parts of a model without tools, as `LanguageModel` decodes them.
const decodeAllParts = Schema.decodeUnknown(Schema.mutable(Schema.Array(Response.Part(Toolkit.empty))))

// Each part through the one member of `Response.Part`'s union that its `type` names. The union finds that member
// too, but its search tree also keys on `sourceType` (two members share `type: "source"`), and for every part
// without one it builds an error AST it then drops (about half the cost of decoding a response's parts). Source
// parts, unknown types and parts that fail go through the whole union, which gives the same value or error.
type PartDecoder = (part: unknown) => Either.Either<Response.Part<{}>, ParseResult.ParseError>

const partDecoder = <A extends Response.Part<{}>, I>(schema: Schema.Schema<A, I>): PartDecoder =>
  Schema.decodeUnknownEither(schema)

const partDecoders = new Map<unknown, PartDecoder>([
  ["text", partDecoder(Response.TextPart)],
  ["reasoning", partDecoder(Response.ReasoningPart)],
  ["file", partDecoder(Response.FilePart)],
  ["response-metadata", partDecoder(Response.ResponseMetadataPart)],
  ["finish", partDecoder(Response.FinishPart)]
])

const decodeParts = (encoded: unknown): Effect.Effect<Array<Response.Part<{}>>, ParseResult.ParseError> => {
  if (!Array.isArray(encoded)) return decodeAllParts(encoded)
  const parts: Array<Response.Part<{}>> = new Array(encoded.length)
  for (let i = 0; i < encoded.length; i++) {
    const part: unknown = encoded[i]
    const decode = typeof part === "object" && part !== null
      ? partDecoders.get((part as { type?: unknown }).type)
      : undefined
    const decoded = decode === undefined ? undefined : decode(part)
    if (decoded === undefined || decoded._tag === "Left") return decodeAllParts(encoded)
    parts[i] = decoded.right
  }
  return Effect.succeed(parts)
}

const objectDecoders = new WeakMap<Schema.Schema.Any, (text: string) => Effect.Effect<unknown, unknown, unknown>>()

// `Schema.decode(Schema.parseJson(schema))`. For a plain schema (`isPlain`), a text that parses and decodes is the
// same value made without the composed transformation and its effect: `parseJson` parses with `JSON.parse`, then
// decodes with `schema`. Any other text, and any other schema, goes through `parseJson`, for the same error.
const decodeObject = <A, I, R>(
  schema: Schema.Schema<A, I, R>
): (text: string) => Effect.Effect<A, ParseResult.ParseError, R> => {
  let decode = objectDecoders.get(schema)
  if (decode === undefined) {
    const decodeJson = Schema.decode(Schema.parseJson(schema))
    if (isPlain(schema.ast)) {
      const decodeValue = Schema.decodeUnknownEither(schema as Schema.Schema<A, I, never>)
      decode = (text: string) => {
        let json: unknown
        try {
          json = JSON.parse(text)
        } catch {
          return decodeJson(text)
        }
        const value = decodeValue(json)
        return value._tag === "Right" ? Effect.succeed(value.right) : decodeJson(text)
      }
    } else {
      decode = decodeJson
    }
    objectDecoders.set(schema, decode)
  }
  return decode as (text: string) => Effect.Effect<A, ParseResult.ParseError, R>
}

// As `LanguageModel`'s `getObjectName`.
const objectNameOf = (objectName: string | undefined, schema: Schema.Schema.Any): string =>
  objectName !== undefined
    ? objectName
    : "_tag" in schema
    ? schema._tag as string
    : "identifier" in schema
    ? schema.identifier as string
    : "generateObject"

// As `LanguageModel`'s `resolveStructuredOutput`, with the decoder built once per schema.
const resolveStructuredOutput = <A, I, R>(
  content: ReadonlyArray<Response.Part<{}>>,
  schema: Schema.Schema<A, I, R>
): Effect.Effect<A, AiError.MalformedOutput, R> => {
  const text: Array<string> = []
  for (const part of content) {
    if (part.type === "text") text.push(part.text)
  }
  if (text.length === 0) {
    return Effect.fail(
      new AiError.MalformedOutput({
        module: "LanguageModel",
        method: "generateObject",
        description: "No object was generated by the large language model"
      })
    )
  }
  return Effect.mapError(decodeObject(schema)(text.join("")), (cause) =>
    new AiError.MalformedOutput({
      module: "LanguageModel",
      method: "generateObject",
      description: "Generated object failed to conform to provided schema",
      cause
    }))
}

// =============================================================================
// telemetry
// =============================================================================

/**
 * `Telemetry.addGenAIAnnotations`'s attributes, with the keys given in snake case already (`top_p`, `max_tokens`,
 * `finish_reasons`, `input_tokens`): its `camelToSnake` of every key on every call costs more than the attributes.
 * Each adds the attributes that are not null or undefined, in the order given, as `addGenAIAnnotations` does.
 *
 * @internal
 */
export const genAI = {
  base: Telemetry.addSpanAttributes("gen_ai", identity),
  operation: Telemetry.addSpanAttributes("gen_ai.operation", identity),
  request: Telemetry.addSpanAttributes("gen_ai.request", identity),
  response: Telemetry.addSpanAttributes("gen_ai.response", identity),
  usage: Telemetry.addSpanAttributes("gen_ai.usage", identity)
} as const

// =============================================================================
// usage
// =============================================================================

type ResponseParts = Parameters<Telemetry.SpanTransformer>[0]["response"]

const recordOf = (response: ResponseParts): Usage.Record | undefined => {
  let model: string | undefined
  let usage: Response.Usage | undefined
  for (const part of response) {
    if (part.type === "response-metadata" && Option.isSome(part.modelId)) model = part.modelId.value
    else if (part.type === "finish") usage = part.usage
  }
  if (usage === undefined) return undefined
  return { model, inputTokens: usage.inputTokens ?? 0, outputTokens: usage.outputTokens ?? 0 }
}

// The span transformer of a metered call: the one around it first, then the usage on the task's meter.
const meteringTransformer = (
  outer: Option.Option<Telemetry.SpanTransformer>,
  meter: Usage.Meter
): Telemetry.SpanTransformer =>
(options) => {
  if (Option.isSome(outer)) outer.value(options)
  const record = recordOf(options.response)
  if (record !== undefined) meter.record(record)
}

/**
 * Records the usage of every response `self` receives on the usage meter of the task under way, through
 * `@effect/ai`'s `CurrentSpanTransformer` (`LanguageModelAgent.metered`).
 *
 * @internal
 */
export const metered = <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.contextWithEffect((context: Context.Context<never>) => {
    // Outside a task there is no meter and nothing to record: `self` runs as it is.
    const meter = Context.getOption(context, Usage.UsageMeter)
    if (Option.isNone(meter)) return self
    // The transformer runs when the response arrives, in the task's own fiber: the usage is recorded then, before
    // the output is decoded.
    const transformer = meteringTransformer(Context.getOption(context, Telemetry.CurrentSpanTransformer), meter.value)
    return Effect.provideService(self, Telemetry.CurrentSpanTransformer, transformer)
  })

// =============================================================================
// calls
// =============================================================================

// `model.generateObject({ prompt, schema, objectName })`, answering with the value: through the provider of a model
// built by `make` with codecs built once, through `generateObject` itself for any other model. `metered`: as
// `metered(generateObject(...))`, without a transformer provided around the call when the model is one of these.
/** @internal */
export const generateObject = <A, I extends Record<string, unknown>, R>(
  model: LanguageModel.Service,
  options: {
    readonly prompt: Prompt.RawInput
    readonly schema: Schema.Schema<A, I, R>
    readonly objectName?: string | undefined
    readonly metered?: boolean | undefined
  }
): Effect.Effect<A, AiError.AiError, R> => {
  const provider = providerOf(model, "generateObject")
  if (provider === undefined) {
    const call = Effect.map(
      model.generateObject({
        prompt: options.prompt,
        schema: options.schema,
        ...(options.objectName === undefined ? {} : { objectName: options.objectName })
      }),
      (response) => response.value
    )
    return options.metered === true ? metered(call) : call
  }
  const { schema } = options
  const objectName = objectNameOf(options.objectName, schema)
  return generate(
    provider,
    "LanguageModel.generateObject",
    { objectName, concurrency: undefined, toolChoice: undefined },
    options.prompt,
    { type: "json", objectName, schema },
    (content) => resolveStructuredOutput(content, schema),
    options.metered === true
  )
}

// `model.generateText({ prompt })`, answering with the text: through the provider of a model built by `make` with
// the parts' decoder built once, through `generateText` itself for any other model. `metered` as for
// `generateObject`.
/** @internal */
export const generateText = (
  model: LanguageModel.Service,
  options: { readonly prompt: Prompt.RawInput; readonly metered?: boolean | undefined }
): Effect.Effect<string, AiError.AiError> => {
  const provider = providerOf(model, "generateText")
  if (provider === undefined) {
    const call = Effect.map(model.generateText({ prompt: options.prompt }), (r) => r.text)
    return options.metered === true ? metered(call) : call
  }
  return generate(
    provider,
    "LanguageModel.generateText",
    { concurrency: undefined, toolChoice: undefined },
    options.prompt,
    { type: "text" },
    // As `GenerateTextResponse`'s `text`.
    (content) => {
      const text: Array<string> = []
      for (const part of content) {
        if (part.type === "text") text.push(part.text)
      }
      return Effect.succeed(text.join(""))
    },
    options.metered === true
  )
}

// What `LanguageModel`'s `generateText` and `generateObject` do without a toolkit: a span, the provider's answer
// decoded into parts, the span transformer, then the answer read from the parts. A metered call's transformer is
// `metered`'s, made here rather than provided around the call. The `IdGenerator` is provided only to a provider's
// `generateText` (parts a provider makes itself need none).
const generate = <A, R>(
  provider: Provider,
  spanName: string,
  attributes: Record<string, unknown>,
  prompt: Prompt.RawInput,
  responseFormat: LanguageModel.ProviderOptions["responseFormat"],
  answer: (content: Array<Response.Part<{}>>) => Effect.Effect<A, AiError.AiError, R>,
  meteredCall: boolean
): Effect.Effect<A, AiError.AiError, R> =>
  Effect.useSpan(
    spanName,
    { captureStackTrace: false, attributes },
    (span) => {
      const providerOptions: LanguageModel.ProviderOptions = {
        prompt: Prompt.make(prompt),
        tools: [],
        toolChoice: "none",
        responseFormat,
        span
      }
      const parts = provider.needsIdGenerator
        ? Effect.provideService(provider.generateParts(providerOptions), IdGenerator.IdGenerator, provider.idGenerator)
        : provider.generateParts(providerOptions) as Effect.Effect<
          Array<Response.Part<{}>>,
          AiError.AiError | ParseResult.ParseError
        >
      const call = Effect.contextWithEffect((context: Context.Context<never>) => {
        const current = Context.getOption(context, Telemetry.CurrentSpanTransformer)
        const meter = meteredCall ? Context.getOption(context, Usage.UsageMeter) : Option.none()
        const transformer = Option.isSome(meter)
          ? Option.some(meteringTransformer(current, meter.value))
          : Option.orElse(current, () => provider.parentSpanTransformer)
        return Effect.flatMap(parts, (content) => {
          // `{ ...providerOptions, response }`, as `LanguageModel` gives it, written out (a spread copies slowly).
          if (Option.isSome(transformer)) {
            transformer.value({
              prompt: providerOptions.prompt,
              tools: providerOptions.tools,
              toolChoice: providerOptions.toolChoice,
              responseFormat: providerOptions.responseFormat,
              span: providerOptions.span,
              response: content
            })
          }
          return answer(content)
        })
      })
      // Only the parts decoded from a provider's answer can fail to parse: the answer's own decoding gives a
      // `MalformedOutput` already.
      const caught = provider.needsIdGenerator
        ? Effect.catchTag(
          call,
          "ParseError",
          (error) => AiError.MalformedOutput.fromParseError({ module: "LanguageModel", method: "generateText", error })
        )
        : call as Effect.Effect<A, AiError.AiError, R>
      return provider.parentSpan ? Effect.withParentSpan(caught, span) : caught
    }
  )
