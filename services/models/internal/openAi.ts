/**
 * The `openai:` provider: OpenAI's Responses API through `@effect/ai-openai`, its client's errors redacted. This
 * module is the only one that loads `@effect/ai-openai`, and `AgentModel.layer` imports it only when an `openai:`
 * model is chosen: the package is an optional peer (the offline model and `compat:` servers do not need it), and
 * loading it (its generated schemas of the whole OpenAI API) costs about half a second and 90 MB of memory at every
 * start of a process that never calls OpenAI, the command line's offline default included.
 *
 * @internal
 */
import * as OpenAiClient from "@effect/ai-openai/OpenAiClient"
import * as OpenAiLanguageModel from "@effect/ai-openai/OpenAiLanguageModel"
import type * as LanguageModel from "@effect/ai/LanguageModel"
import type * as HttpClient from "@effect/platform/HttpClient"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Redacted from "effect/Redacted"
import { redactOpenAiClient, withoutCredentials } from "./redaction.js"

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
      Effect.map(
        OpenAiClient.make({
          apiKey: options.apiKey,
          apiUrl: options.baseUrl === undefined ? undefined : withoutCredentials(options.baseUrl)
        }),
        (client) => redactOpenAiClient(client, options.apiKey)
      )
    ))
  )
