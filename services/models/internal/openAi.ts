/**
 * The `openai:` provider: OpenAI's Responses API through `@effect/ai-openai`, its client's errors redacted. This
 * module is the only one that loads `@effect/ai-openai`, and `AgentModel.layer` imports it only when an `openai:`
 * model is chosen: the package is an optional peer (the offline model and `compat:` servers do not need it), and
 * loading it (its generated schemas of the whole OpenAI API) costs about half a second and 90 MB of memory at every
 * start of a process that never calls OpenAI, the command line's offline default included.
 *
 * @internal
 */
import * as Generated from "@effect/ai-openai/Generated"
import * as OpenAiClient from "@effect/ai-openai/OpenAiClient"
import * as OpenAiConfig from "@effect/ai-openai/OpenAiConfig"
import * as OpenAiLanguageModel from "@effect/ai-openai/OpenAiLanguageModel"
import * as AiError from "@effect/ai/AiError"
import type * as LanguageModel from "@effect/ai/LanguageModel"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientError from "@effect/platform/HttpClientError"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Effect from "effect/Effect"
import { identity } from "effect/Function"
import * as Layer from "effect/Layer"
import type * as ParseResult from "effect/ParseResult"
import type * as Redacted from "effect/Redacted"
import { redactOpenAiClient, withoutCredentials } from "./redaction.js"

// Why `createResponse` is replaced: the client generated from OpenAI's spec (`Generated.make`) maps every request
// through the client's `mapRequest` (the base URL, the token, `Accept`: a request and a copy of its headers each),
// reads `OpenAiConfig` for a transform of the client, and matches the status through a record of cases. Ours posts
// the same bytes to the same URL with the same headers over the same `HttpClient`, the request made once but for its
// body, and decodes the answer as the generated client does (`schemaBodyJson` of `Generated.Response`), its decoder
// built once. A transform of the client in `OpenAiConfig` takes the generated path. `OpenAiLanguageModel` calls no
// other method for a call that is not streamed. (bench/README.md, "`openai:` a call, round 9", has what it saves.)

const defaultApiUrl = "https://api.openai.com/v1"

const decodeResponse = HttpClientResponse.schemaBodyJson(Generated.Response)

// As `Generated.make`'s answer to a status it does not expect.
const unexpectedStatus = (response: HttpClientResponse.HttpClientResponse) =>
  Effect.flatMap(
    Effect.orElseSucceed(response.json, () => "Unexpected status code"),
    (description) =>
      Effect.fail(
        new HttpClientError.ResponseError({
          request: response.request,
          response,
          reason: "StatusCode",
          description: typeof description === "string" ? description : JSON.stringify(description)
        })
      )
  )

// As `OpenAiClient`'s `createResponse` maps the generated client's errors.
const mapErrors = <A>(
  effect: Effect.Effect<A, HttpClientError.HttpClientError | ParseResult.ParseError>
): Effect.Effect<A, AiError.AiError> =>
  Effect.catchTags(effect, {
    RequestError: (error) =>
      AiError.HttpRequestError.fromRequestError({ module: "OpenAiClient", method: "createResponse", error }),
    ResponseError: (error) =>
      AiError.HttpResponseError.fromResponseError({ module: "OpenAiClient", method: "createResponse", error }),
    ParseError: (error) =>
      AiError.MalformedOutput.fromParseError({ module: "OpenAiClient", method: "createResponse", error })
  })

/**
 * `client` with a `createResponse` of our own, posting over `httpClient` (the one `client` was made over) as
 * `OpenAiClient.make` with `apiKey` and `apiUrl`, and no other option, would.
 *
 * @internal
 */
export const withCreateResponse = (
  client: OpenAiClient.Service,
  httpClient: HttpClient.HttpClient,
  options: { readonly apiKey: Redacted.Redacted | undefined; readonly apiUrl: string | undefined }
): OpenAiClient.Service => {
  // The generated client sets the body (its `content-type` and `content-length`) before the client's `mapRequest`
  // adds the rest; the headers are made here in that order, so that a request (which an error quotes) reads the
  // same. Setting the body sets the values of the first two in place.
  const responses = HttpClientRequest.post("/responses").pipe(
    HttpClientRequest.setHeaders({ "content-type": "application/json", "content-length": "0" }),
    HttpClientRequest.prependUrl(options.apiUrl ?? defaultApiUrl),
    options.apiKey === undefined ? identity : HttpClientRequest.bearerToken(options.apiKey),
    HttpClientRequest.acceptJson
  )
  const post = (body: typeof Generated.CreateResponse.Encoded) =>
    httpClient.execute(HttpClientRequest.bodyUnsafeJson(responses, body)).pipe(
      Effect.flatMap((response) =>
        response.status >= 200 && response.status < 300 ? decodeResponse(response) : unexpectedStatus(response)
      ),
      mapErrors
    )
  return {
    ...client,
    createResponse: (body) =>
      Effect.flatMap(
        OpenAiConfig.OpenAiConfig.getOrUndefined,
        (config) => config?.transformClient === undefined ? post(body) : client.createResponse(body)
      )
  }
}

/**
 * The `LanguageModel` of `model` at OpenAI (or at `baseUrl`, an OpenAI-compatible Responses endpoint), its client
 * made with `apiKey` and redacting it from every error it gives.
 *
 * @internal
 */
export const layer = (options: {
  readonly model: string
  readonly apiKey: Redacted.Redacted
  readonly baseUrl: string | undefined
}): Layer.Layer<LanguageModel.LanguageModel, never, HttpClient.HttpClient> =>
  OpenAiLanguageModel.layer({ model: options.model }).pipe(
    Layer.provide(Layer.scoped(
      OpenAiClient.OpenAiClient,
      Effect.gen(function*() {
        const clientOptions = {
          apiKey: options.apiKey,
          apiUrl: options.baseUrl === undefined ? undefined : withoutCredentials(options.baseUrl)
        }
        const client = yield* OpenAiClient.make(clientOptions)
        const httpClient = yield* HttpClient.HttpClient
        return redactOpenAiClient(withCreateResponse(client, httpClient, clientOptions), options.apiKey)
      })
    ))
  )
