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
import * as AiError from "@effect/ai/AiError"
import * as LanguageModel from "@effect/ai/LanguageModel"
import * as AiModel from "@effect/ai/Model"
import type * as Prompt from "@effect/ai/Prompt"
import * as Response from "@effect/ai/Response"
import * as Tool from "@effect/ai/Tool"
import * as HttpClient from "@effect/platform/HttpClient"
import type * as HttpClientError from "@effect/platform/HttpClientError"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import { identity } from "effect/Function"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type * as ParseResult from "effect/ParseResult"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as InternalLanguageModel from "./internal/languageModel.js"
import { redactAiErrors, redactAiErrorsStream, withoutCredentials } from "./internal/redaction.js"

/**
 * Options of a chat-completions model.
 *
 * @category models
 * @since 0.1.0
 */
export interface Options {
  /** The model the server should run, as it names it (`llama3.1:8b`, `Qwen/Qwen2.5-7B-Instruct`, ...). */
  readonly model: string
  /**
   * The API's base URL, up to and including `/v1`: `http://localhost:11434/v1` for Ollama. Credentials in it
   * (`http://user:secret@host/v1`) are not sent and never shown: the key goes in `apiKey`.
   */
  readonly baseUrl: string
  /** Sent as a bearer token when given; local servers usually need none. */
  readonly apiKey?: Redacted.Redacted | undefined
  /**
   * Whether the server must follow the JSON schema of structured output exactly (`strict` in `response_format`).
   *
   * @default true
   */
  readonly strict?: boolean | undefined
  /** More fields of every request body, such as `temperature`, `max_tokens` or `seed`. */
  readonly parameters?: Readonly<Record<string, unknown>> | undefined
  /** Changes the `HttpClient` the model uses (to add headers, retries, a proxy). */
  readonly transformClient?: ((client: HttpClient.HttpClient) => HttpClient.HttpClient) | undefined
}

// =============================================================================
// wire format
// =============================================================================

const Usage = Schema.Struct({
  prompt_tokens: Schema.Number,
  completion_tokens: Schema.Number,
  prompt_tokens_details: Schema.optional(Schema.NullOr(Schema.Struct({
    cached_tokens: Schema.optional(Schema.NullOr(Schema.Number))
  }))),
  completion_tokens_details: Schema.optional(Schema.NullOr(Schema.Struct({
    reasoning_tokens: Schema.optional(Schema.NullOr(Schema.Number))
  })))
})

const Completion = Schema.Struct({
  id: Schema.optional(Schema.NullOr(Schema.String)),
  model: Schema.optional(Schema.NullOr(Schema.String)),
  created: Schema.optional(Schema.NullOr(Schema.Number)),
  choices: Schema.NonEmptyArray(Schema.Struct({
    message: Schema.Struct({
      content: Schema.optional(Schema.NullOr(Schema.String)),
      refusal: Schema.optional(Schema.NullOr(Schema.String)),
      reasoning_content: Schema.optional(Schema.NullOr(Schema.String))
    }),
    finish_reason: Schema.optional(Schema.NullOr(Schema.String))
  })),
  usage: Schema.optional(Schema.NullOr(Usage))
})

const Chunk = Schema.Struct({
  id: Schema.optional(Schema.NullOr(Schema.String)),
  model: Schema.optional(Schema.NullOr(Schema.String)),
  created: Schema.optional(Schema.NullOr(Schema.Number)),
  choices: Schema.Array(Schema.Struct({
    delta: Schema.optional(Schema.NullOr(Schema.Struct({
      content: Schema.optional(Schema.NullOr(Schema.String)),
      reasoning_content: Schema.optional(Schema.NullOr(Schema.String))
    }))),
    finish_reason: Schema.optional(Schema.NullOr(Schema.String))
  })),
  usage: Schema.optional(Schema.NullOr(Usage))
})

const decodeChunk = Schema.decodeUnknown(Schema.parseJson(Chunk))

const decodeCompletion = HttpClientResponse.schemaBodyJson(Completion)

const finishReason = (reason: string | null | undefined): Response.FinishReason => {
  switch (reason) {
    case "stop":
    case "length":
      return reason
    case "content_filter":
      return "content-filter"
    case "tool_calls":
    case "function_call":
      return "tool-calls"
    case null:
    case undefined:
      return "unknown"
    default:
      return "other"
  }
}

const usageOf = (usage: typeof Usage.Type | null | undefined): typeof Response.Usage.Encoded => ({
  inputTokens: usage?.prompt_tokens,
  outputTokens: usage?.completion_tokens,
  totalTokens: usage === null || usage === undefined ? undefined : usage.prompt_tokens + usage.completion_tokens,
  ...(typeof usage?.completion_tokens_details?.reasoning_tokens === "number"
    ? { reasoningTokens: usage.completion_tokens_details.reasoning_tokens }
    : {}),
  ...(typeof usage?.prompt_tokens_details?.cached_tokens === "number"
    ? { cachedInputTokens: usage.prompt_tokens_details.cached_tokens }
    : {})
})

// When a response was made: `created` is in seconds; one that is no date (out of range) is left out.
const dateOf = (created: number | null | undefined): Date | undefined => {
  if (typeof created !== "number") return undefined
  const date = new Date(created * 1000)
  return Number.isNaN(date.getTime()) ? undefined : date
}

const metadataOf = (
  completion: { readonly id?: string | null | undefined; readonly model?: string | null | undefined },
  created: number | null | undefined
): Response.ResponseMetadataPartEncoded => ({
  type: "response-metadata",
  ...(typeof completion.id === "string" ? { id: completion.id } : {}),
  ...(typeof completion.model === "string" ? { modelId: completion.model } : {}),
  ...(dateOf(created) === undefined ? {} : { timestamp: dateOf(created)!.toISOString() })
})

// A part as `Response.Part` decodes it: its fields and the part's type id.
const decodedPart = <P extends Response.Part<{}>>(part: Omit<P, typeof Response.PartTypeId>): P =>
  ({ [Response.PartTypeId]: Response.PartTypeId, ...part }) as P

// `metadataOf`'s part, decoded.
const decodedMetadataOf = (
  completion: { readonly id?: string | null | undefined; readonly model?: string | null | undefined },
  created: number | null | undefined
): Response.ResponseMetadataPart => {
  const date = dateOf(created)
  return decodedPart<Response.ResponseMetadataPart>({
    type: "response-metadata",
    id: typeof completion.id === "string" ? Option.some(completion.id) : Option.none(),
    modelId: typeof completion.model === "string" ? Option.some(completion.model) : Option.none(),
    timestamp: date === undefined ? Option.none() : Option.some(DateTime.unsafeMake(date)),
    metadata: {}
  })
}

interface Message {
  readonly role: "system" | "user" | "assistant" | "tool"
  readonly content: string
}

const malformedInput = (description: string) =>
  new AiError.MalformedInput({ module: "ChatCompletionsLanguageModel", method: "generateText", description })

/** The prompt as chat messages: text only; tool calls and files are not supported yet. */
const toMessages = (prompt: Prompt.Prompt): Effect.Effect<Array<Message>, AiError.MalformedInput> =>
  Effect.suspend(() => {
    const messages: Array<Message> = []
    for (const message of prompt.content) {
      if (message.role === "system") {
        messages.push({ role: "system", content: message.content })
        continue
      }
      const texts: Array<string> = []
      for (const part of message.content) {
        if (part.type === "text") texts.push(part.text)
        else if (part.type !== "reasoning") {
          return Effect.fail(malformedInput(`${message.role} messages with ${part.type} parts are not supported`))
        }
      }
      messages.push({ role: message.role, content: texts.join("") })
    }
    return Effect.succeed(messages)
  })

// The JSON schema and description of each output schema, built once: an agent asks with the same schema every time.
const jsonSchemas = new WeakMap<Schema.Schema.Any, { readonly schema: unknown; readonly description: string }>()

const jsonSchemaOf = (schema: Schema.Schema.Any) => {
  let entry = jsonSchemas.get(schema)
  if (entry === undefined) {
    entry = {
      schema: Tool.getJsonSchemaFromSchemaAst(schema.ast),
      description: Tool.getDescriptionFromSchemaAst(schema.ast) ?? "Response with a JSON object"
    }
    jsonSchemas.set(schema, entry)
  }
  return entry
}

const responseFormat = (options: LanguageModel.ProviderOptions, strict: boolean) => {
  if (options.responseFormat.type !== "json") return {}
  const { description, schema } = jsonSchemaOf(options.responseFormat.schema)
  return {
    response_format: {
      type: "json_schema",
      json_schema: { name: options.responseFormat.objectName, description, schema, strict }
    }
  }
}

const mapHttpError = (method: string) => (error: HttpClientError.HttpClientError) =>
  error._tag === "RequestError"
    ? Effect.fail(AiError.HttpRequestError.fromRequestError({ module: "ChatCompletionsLanguageModel", method, error }))
    : AiError.HttpResponseError.fromResponseError({ module: "ChatCompletionsLanguageModel", method, error })

const mapParseError = (method: string) => (error: ParseResult.ParseError) =>
  AiError.MalformedOutput.fromParseError({
    module: "ChatCompletionsLanguageModel",
    method,
    description: "The response does not have the chat-completions shape",
    error
  })

// =============================================================================
// constructors
// =============================================================================

/**
 * Creates a chat-completions model over the `HttpClient` in context.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = Effect.fnUntraced(function*(options: Options) {
  const strict = options.strict ?? true
  const baseUrl = withoutCredentials(options.baseUrl).replace(/\/+$/, "")
  const client = (yield* HttpClient.HttpClient).pipe(options.transformClient ?? identity, HttpClient.filterStatusOk)
  // Every call's request, but for its body: made once, as the client's `mapRequest` would make it on every call.
  const completions = HttpClientRequest.post("/chat/completions").pipe(
    HttpClientRequest.prependUrl(baseUrl),
    options.apiKey === undefined ? identity : HttpClientRequest.bearerToken(options.apiKey),
    HttpClientRequest.acceptJson
  )

  const request = (providerOptions: LanguageModel.ProviderOptions, stream: boolean) =>
    Effect.gen(function*() {
      if (providerOptions.tools.length > 0) {
        return yield* malformedInput("tools are not supported by ChatCompletionsLanguageModel yet")
      }
      const messages = yield* toMessages(providerOptions.prompt)
      const body = {
        ...options.parameters,
        model: options.model,
        messages,
        ...responseFormat(providerOptions, strict),
        ...(stream ? { stream: true, stream_options: { include_usage: true } } : {})
      }
      annotateRequest(providerOptions.span, body)
      return HttpClientRequest.bodyUnsafeJson(completions, body)
    })

  const annotateRequest = (span: LanguageModel.ProviderOptions["span"], body: Readonly<Record<string, unknown>>) => {
    InternalLanguageModel.genAI.base(span, { system: "openai_compatible" })
    InternalLanguageModel.genAI.operation(span, { name: "chat" })
    InternalLanguageModel.genAI.request(span, {
      model: options.model,
      temperature: typeof body.temperature === "number" ? body.temperature : undefined,
      top_p: typeof body.top_p === "number" ? body.top_p : undefined,
      max_tokens: typeof body.max_tokens === "number" ? body.max_tokens : undefined,
      seed: typeof body.seed === "number" ? body.seed : undefined
    })
  }

  const annotateResponse = (
    span: LanguageModel.ProviderOptions["span"],
    response: {
      readonly id?: string | undefined
      readonly model?: string | undefined
      readonly finishReason: string
      readonly usage: typeof Response.Usage.Encoded
    }
  ) => {
    InternalLanguageModel.genAI.response(span, {
      id: response.id,
      model: response.model,
      finish_reasons: [response.finishReason]
    })
    InternalLanguageModel.genAI.usage(span, {
      input_tokens: response.usage.inputTokens,
      output_tokens: response.usage.outputTokens
    })
  }

  // One completion: the request, the response decoded and the span annotated.
  const complete = (providerOptions: LanguageModel.ProviderOptions) =>
    Effect.gen(function*() {
      const completion = yield* request(providerOptions, false).pipe(
        Effect.flatMap(client.execute),
        Effect.flatMap(decodeCompletion),
        Effect.catchTags({
          RequestError: mapHttpError("generateText"),
          ResponseError: mapHttpError("generateText"),
          ParseError: mapParseError("generateText")
        })
      )
      const choice = completion.choices[0]
      const usage = usageOf(completion.usage)
      const reason = finishReason(choice.finish_reason)
      annotateResponse(providerOptions.span, {
        id: completion.id ?? undefined,
        model: completion.model ?? undefined,
        finishReason: reason,
        usage
      })
      return { completion, message: choice.message, reason, usage }
    })

  const generateText = (providerOptions: LanguageModel.ProviderOptions) =>
    Effect.map(complete(providerOptions), ({ completion, message, reason, usage }) => {
      const parts: Array<Response.PartEncoded> = [metadataOf(completion, completion.created)]
      if (typeof message.reasoning_content === "string" && message.reasoning_content.length > 0) {
        parts.push({ type: "reasoning", text: message.reasoning_content })
      }
      if (typeof message.content === "string") parts.push({ type: "text", text: message.content })
      parts.push({ type: "finish", reason, usage })
      return parts
    })

  // The parts `generateText`'s answer decodes to, made as they are (the agents' path: see `languageModel.ts`).
  const generateParts = (providerOptions: LanguageModel.ProviderOptions) =>
    Effect.map(complete(providerOptions), ({ completion, message, reason, usage }) => {
      const parts: Array<Response.Part<{}>> = [decodedMetadataOf(completion, completion.created)]
      if (typeof message.reasoning_content === "string" && message.reasoning_content.length > 0) {
        parts.push(
          decodedPart<Response.ReasoningPart>({ type: "reasoning", text: message.reasoning_content, metadata: {} })
        )
      }
      if (typeof message.content === "string") {
        parts.push(decodedPart<Response.TextPart>({ type: "text", text: message.content, metadata: {} }))
      }
      parts.push(
        decodedPart<Response.FinishPart>({
          type: "finish",
          reason,
          usage: new Response.Usage(usage, true),
          metadata: {}
        })
      )
      return parts
    })

  const streamText = (providerOptions: LanguageModel.ProviderOptions) =>
    Stream.unwrapScoped(Effect.gen(function*() {
      const response = yield* Effect.flatMap(request(providerOptions, true), client.execute)
      let started = false
      let textOpen = false
      let reason: Response.FinishReason = "unknown"
      let usage: typeof Response.Usage.Encoded = usageOf(undefined)
      let id: string | undefined
      let model: string | undefined
      const parts = (data: string): Effect.Effect<Array<Response.StreamPartEncoded>, ParseResult.ParseError> =>
        Effect.map(decodeChunk(data), (chunk) => {
          const out: Array<Response.StreamPartEncoded> = []
          if (!started) {
            started = true
            id = chunk.id ?? undefined
            model = chunk.model ?? undefined
            out.push(metadataOf(chunk, chunk.created))
          }
          for (const choice of chunk.choices) {
            const delta = choice.delta?.content
            if (typeof delta === "string" && delta.length > 0) {
              if (!textOpen) {
                textOpen = true
                out.push({ type: "text-start", id: "0" })
              }
              out.push({ type: "text-delta", id: "0", delta })
            }
            if (typeof choice.finish_reason === "string") reason = finishReason(choice.finish_reason)
          }
          if (chunk.usage !== null && chunk.usage !== undefined) usage = usageOf(chunk.usage)
          return out
        })
      const end = Effect.sync((): Array<Response.StreamPartEncoded> => {
        annotateResponse(providerOptions.span, { id, model, finishReason: reason, usage })
        return [...(textOpen ? [{ type: "text-end" as const, id: "0" }] : []), { type: "finish", reason, usage }]
      })
      return response.stream.pipe(
        Stream.decodeText(),
        Stream.splitLines,
        Stream.map((line) => line.trim()),
        Stream.filter((line) => line.startsWith("data:")),
        Stream.map((line) => line.slice("data:".length).trim()),
        Stream.takeWhile((data) => data !== "[DONE]"),
        Stream.mapEffect(parts),
        Stream.concat(Stream.fromEffect(end)),
        Stream.flattenIterables
      )
    })).pipe(
      Stream.catchTags({
        RequestError: mapHttpError("streamText"),
        ResponseError: mapHttpError("streamText"),
        ParseError: mapParseError("streamText")
      })
    )

  // Errors keep the request that carried the key: redact them before they reach a span, a log or a result.
  const secrets = options.apiKey === undefined ? [] : [Redacted.value(options.apiKey)]
  const redact = redactAiErrors(secrets)
  const redactStream = redactAiErrorsStream(secrets)
  return yield* InternalLanguageModel.make({
    generateText: (providerOptions) => redact(generateText(providerOptions)),
    streamText: (providerOptions) => redactStream(streamText(providerOptions))
  }, { generateParts: (providerOptions) => redact(generateParts(providerOptions)) })
})

/**
 * Provides a chat-completions model as the `LanguageModel`; the app provides the `HttpClient`.
 *
 * **Example** (A local Ollama server)
 *
 * ```ts
 * import { LanguageModel } from "@effect/ai"
 * import { FetchHttpClient } from "@effect/platform"
 * import { Effect, Layer } from "effect"
 * import { ChatCompletionsLanguageModel } from "effect-parallel-agents/models"
 *
 * const ModelLive = ChatCompletionsLanguageModel.layer({
 *   model: "llama3.1:8b",
 *   baseUrl: "http://localhost:11434/v1"
 * }).pipe(Layer.provide(FetchHttpClient.layer))
 *
 * const program = LanguageModel.generateText({ prompt: "Say hello" }).pipe(Effect.provide(ModelLive))
 * ```
 *
 * @category layers
 * @since 0.1.0
 */
export const layer = (options: Options): Layer.Layer<LanguageModel.LanguageModel, never, HttpClient.HttpClient> =>
  Layer.effect(LanguageModel.LanguageModel, make(options))

/**
 * A chat-completions model as an `@effect/ai` `Model`, whose provider name is `"compat"`.
 *
 * @category layers
 * @since 0.1.0
 */
export const model = (
  options: Options
): AiModel.Model<"compat", LanguageModel.LanguageModel, HttpClient.HttpClient> => AiModel.make("compat", layer(options))
