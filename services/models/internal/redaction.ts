import type * as OpenAiClient from "@effect/ai-openai/OpenAiClient"
import * as AiError from "@effect/ai/AiError"
import * as Headers from "@effect/platform/Headers"
import * as HttpClientError from "@effect/platform/HttpClientError"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as Effect from "effect/Effect"
import * as FiberRef from "effect/FiberRef"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"

// Why this module exists: an `HttpClientError` keeps the request that was sent, Authorization header included, and
// `@effect/ai` copies that request's headers into its `HttpResponseError` and `HttpRequestError` (and keeps the
// `RequestError` itself as the cause of the latter). It redacts them with `Inspectable.redact`, which only redacts
// while a logger is writing; anywhere else (the error's JSON, a span's exception, a report) the key is in plain
// text. Worse, when a body fails to decode, `HttpResponseError.fromResponseError` reads it again, fails again, and
// keeps that second error, request and key included, formatted into its `body` string. The model adapters here
// pass every error through `redactAiError` before it leaves the adapter, so that no `LanguageModel` span, log or
// result ever holds the key: secret headers read `<redacted>`, and the key is scrubbed from every text field.
// Credentials in a base URL (`http://user:secret@host/v1`) are taken out before any request is made
// (`withoutCredentials`), so no URL an error, a span or a log quotes holds them.

const redacted = "<redacted>"

// The names of the headers whose values are secret: `Headers.currentRedactedNames` (authorization, ...).
const secretNames: Effect.Effect<ReadonlyArray<string | RegExp>> = FiberRef.get(Headers.currentRedactedNames)

const redactRecord = (
  headers: Readonly<Record<string, unknown>>,
  names: ReadonlyArray<string | RegExp>
): Record<string, string> => {
  const secret = Headers.redact(Headers.fromInput(headers as Record<string, string>), names)
  const out: Record<string, string> = {}
  for (const [name, value] of Object.entries(headers)) {
    out[name] = Redacted.isRedacted(secret[name]) ? redacted : String(value)
  }
  return out
}

const redactRequest = (
  request: HttpClientRequest.HttpClientRequest,
  names: ReadonlyArray<string | RegExp>
): HttpClientRequest.HttpClientRequest => {
  const secret: Record<string, string> = {}
  for (const [name, value] of Object.entries(Headers.redact(request.headers, names))) {
    if (Redacted.isRedacted(value)) secret[name] = redacted
  }
  return Object.keys(secret).length === 0 ? request : HttpClientRequest.setHeaders(request, secret)
}

/**
 * The URL without its credentials: `http://user:secret@host/v1` is `http://host/v1`. Neither HTTP client sends them
 * (undici leaves them out, fetch refuses the request), and a URL carrying them would show them in every error and
 * span that quotes it.
 *
 * @internal
 */
export const withoutCredentials = (url: string): string => url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/?#]*@/i, "$1")

/**
 * Keys shorter than this are scrubbed from text only where they stand as a word of their own (not inside a longer
 * run of letters, digits, `_` or `-`). Such keys are mostly the placeholders local servers take and do not check
 * (`ollama`, vLLM's `EMPTY`, `x`); scrubbed everywhere, a key of 3 letters garbled every word holding them. A short
 * key that is a real secret is still never shown where it stands alone, as a server quoting it shows it, and never
 * in a header (the header is redacted by name).
 *
 * @internal
 */
export const wholeWordBelow = 8

const wordChar = "[A-Za-z0-9_-]"

const scrubOne = (text: string, secret: string): string => {
  if (secret.length === 0) return text
  if (secret.length >= wholeWordBelow) return text.split(secret).join(redacted)
  const escaped = secret.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")
  return text.replace(new RegExp(`(?<!${wordChar})${escaped}(?!${wordChar})`, "g"), redacted)
}

const scrub = (text: string, secrets: ReadonlyArray<string>): string => secrets.reduce(scrubOne, text)

const scrubOptional = <K extends string>(
  key: K,
  text: string | undefined,
  secrets: ReadonlyArray<string>
): { readonly [k in K]?: string } =>
  (text === undefined ? {} : { [key]: scrub(text, secrets) }) as { readonly [k in K]?: string }

// The error with its secret headers replaced by `<redacted>` and the secrets scrubbed from its text fields; other
// errors as they are.
/** @internal */
export const redactAiError = (
  error: AiError.AiError,
  names: ReadonlyArray<string | RegExp>,
  secrets: ReadonlyArray<string>
): AiError.AiError => {
  switch (error._tag) {
    case "HttpRequestError":
      return new AiError.HttpRequestError({
        module: error.module,
        method: error.method,
        reason: error.reason,
        request: { ...error.request, headers: redactRecord(error.request.headers, names) },
        ...scrubOptional("description", error.description, secrets),
        ...(error.cause === undefined
          ? {}
          : {
            cause: HttpClientError.isHttpClientError(error.cause) && error.cause._tag === "RequestError"
              ? new HttpClientError.RequestError({
                request: redactRequest(error.cause.request, names),
                reason: error.cause.reason,
                ...(error.cause.cause === undefined ? {} : { cause: error.cause.cause }),
                ...scrubOptional("description", error.cause.description, secrets)
              })
              : error.cause
          })
      }, { disableValidation: true })
    case "HttpResponseError":
      return new AiError.HttpResponseError({
        module: error.module,
        method: error.method,
        reason: error.reason,
        request: { ...error.request, headers: redactRecord(error.request.headers, names) },
        response: { ...error.response, headers: redactRecord(error.response.headers, names) },
        ...scrubOptional("body", error.body, secrets),
        ...scrubOptional("description", error.description, secrets)
      }, { disableValidation: true })
    default:
      return error
  }
}

/** @internal */
export const redactAiErrors =
  (secrets: ReadonlyArray<string>) =>
  <A, R>(effect: Effect.Effect<A, AiError.AiError, R>): Effect.Effect<A, AiError.AiError, R> =>
    Effect.catchAll(
      effect,
      (error) => Effect.flatMap(secretNames, (names) => Effect.fail(redactAiError(error, names, secrets)))
    )

/** @internal */
export const redactAiErrorsStream =
  (secrets: ReadonlyArray<string>) =>
  <A, R>(stream: Stream.Stream<A, AiError.AiError, R>): Stream.Stream<A, AiError.AiError, R> =>
    Stream.catchAll(
      stream,
      (error) =>
        Stream.fromEffect(Effect.flatMap(secretNames, (names) => Effect.fail(redactAiError(error, names, secrets))))
    )

// The OpenAI client, whose every error is redacted before OpenAiLanguageModel sees it.
/** @internal */
export const redactOpenAiClient = (
  client: OpenAiClient.Service,
  apiKey: Redacted.Redacted | undefined
): OpenAiClient.Service => {
  const secrets = apiKey === undefined ? [] : [Redacted.value(apiKey)]
  const effect = redactAiErrors(secrets)
  const stream = redactAiErrorsStream(secrets)
  return {
    ...client,
    createResponse: (options) => effect(client.createResponse(options)),
    createResponseStream: (options) => stream(client.createResponseStream(options)),
    createEmbedding: (options) => effect(client.createEmbedding(options)),
    streamRequest: (request, schema) => stream(client.streamRequest(request, schema))
  }
}
