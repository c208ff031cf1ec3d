/**
 * An `HttpClient` over an undici dispatcher, as `NodeHttpClient.makeUndici` makes it, but for one thing: a
 * response's body is read once into a promise that every later read shares, where @effect/platform-node's response
 * memoises each body accessor with `Effect.cached` and `Effect.runSync`. That memo costs a fiber, a `Deferred`, a
 * semaphore and a diff of the fiber's state per response: about a seventh of the CPU of a whole model call to a fast
 * server (bench/README.md, "The agents' path, round 7", with the reproduction worded as an upstream report). Every
 * other part is the platform's: `HttpClient.make` (spans, interruption, the abort signal), `Headers`, `Cookies`,
 * `NodeStream`, `UrlParams`, and the errors.
 *
 * @internal
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as NodeStream from "@effect/platform-node/NodeStream"
import * as Undici from "@effect/platform-node/Undici"
import * as Cookies from "@effect/platform/Cookies"
import * as Headers from "@effect/platform/Headers"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientError from "@effect/platform/HttpClientError"
import type * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as HttpIncomingMessage from "@effect/platform/HttpIncomingMessage"
import * as UrlParams from "@effect/platform/UrlParams"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as FiberRef from "effect/FiberRef"
import * as Inspectable from "effect/Inspectable"
import * as Option from "effect/Option"
import type * as Stream from "effect/Stream"

type Body = Undici.Dispatcher.ResponseData["body"]

type RequestBody = NonNullable<Undici.Dispatcher.DispatchOptions["body"]> | null

const bodyOf = (body: HttpClientRequest.HttpClientRequest["body"]): Effect.Effect<RequestBody> => {
  switch (body._tag) {
    case "Empty":
      return Effect.succeed(null)
    case "Uint8Array":
    case "Raw":
      return Effect.succeed(body.body as RequestBody)
    case "FormData":
      return Effect.succeed(body.formData as unknown as RequestBody)
    case "Stream":
      return NodeStream.toReadable(body.stream)
  }
}

const ignore = (_: unknown) => {}

class Response extends Inspectable.Class implements HttpClientResponse.HttpClientResponse {
  readonly [HttpIncomingMessage.TypeId]: HttpIncomingMessage.TypeId = HttpIncomingMessage.TypeId
  readonly [HttpClientResponse.TypeId]: HttpClientResponse.TypeId = HttpClientResponse.TypeId
  constructor(
    readonly request: HttpClientRequest.HttpClientRequest,
    private readonly source: Undici.Dispatcher.ResponseData
  ) {
    super()
    source.body.on("error", ignore)
  }
  get status(): number {
    return this.source.statusCode
  }
  get statusText(): string | undefined {
    return undefined
  }
  private cachedCookies: Cookies.Cookies | undefined
  get cookies(): Cookies.Cookies {
    if (this.cachedCookies !== undefined) return this.cachedCookies
    const header = this.source.headers["set-cookie"]
    return this.cachedCookies = header === undefined
      ? Cookies.empty
      : Cookies.fromSetCookie(Array.isArray(header) ? header : [header])
  }
  get headers(): Headers.Headers {
    return Headers.fromInput(this.source.headers as Record<string, string | ReadonlyArray<string>>)
  }
  get remoteAddress(): Option.Option<string> {
    return Option.none()
  }
  get stream(): Stream.Stream<Uint8Array, HttpClientError.ResponseError> {
    return NodeStream.fromReadable(() => this.source.body, (cause) => this.decodeError(cause))
  }
  get json(): Effect.Effect<unknown, HttpClientError.ResponseError> {
    return Effect.flatMap(this.text, (text) =>
      Effect.try({
        try: () => text === "" ? null : JSON.parse(text) as unknown,
        catch: (cause) => this.decodeError(cause)
      }))
  }
  // Each way of reading the body reads it once: a later read gets the same answer (or the same failure).
  private read<A>(read: (body: Body) => Promise<A>): Effect.Effect<A, HttpClientError.ResponseError> {
    let promise: Promise<A> | undefined
    return Effect.tryPromise({
      try: () => promise ??= read(this.source.body),
      catch: (cause) => this.decodeError(cause)
    })
  }
  private textBody: Effect.Effect<string, HttpClientError.ResponseError> | undefined
  get text(): Effect.Effect<string, HttpClientError.ResponseError> {
    return this.textBody ??= this.read((body) => body.text())
  }
  get urlParamsBody(): Effect.Effect<UrlParams.UrlParams, HttpClientError.ResponseError> {
    return Effect.flatMap(this.text, (text) =>
      Effect.try({
        try: () => UrlParams.fromInput(new URLSearchParams(text)),
        catch: (cause) => this.decodeError(cause)
      }))
  }
  private formDataBody: Effect.Effect<FormData, HttpClientError.ResponseError> | undefined
  get formData(): Effect.Effect<FormData, HttpClientError.ResponseError> {
    return this.formDataBody ??= this.read((body) => body.formData() as Promise<FormData>)
  }
  private arrayBufferBody: Effect.Effect<ArrayBuffer, HttpClientError.ResponseError> | undefined
  get arrayBuffer(): Effect.Effect<ArrayBuffer, HttpClientError.ResponseError> {
    return this.arrayBufferBody ??= this.read((body) => body.arrayBuffer())
  }
  toJSON(): unknown {
    return HttpIncomingMessage.inspect(this, {
      _id: "@effect/platform/HttpClientResponse",
      request: this.request.toJSON(),
      status: this.status
    })
  }
  private decodeError(cause: unknown): HttpClientError.ResponseError {
    return new HttpClientError.ResponseError({ request: this.request, response: this, reason: "Decode", cause })
  }
}

/**
 * A pool of connections per origin (undici's `Agent`). Made here, by a module loaded with a dynamic `import`, and not
 * from a dynamic `import` of `@effect/platform-node/Undici` itself: that module re-exports a CommonJS package
 * (`export * from "undici"`), whose names a bundler cannot list, so in the bundled executable the namespace a dynamic
 * `import` of it gives has only `default` (the process tests call models over HTTP through the bundle).
 *
 * @internal
 */
export const agent = (options: Undici.Agent.Options): Undici.Agent => new Undici.Agent(options)

/**
 * The client over `dispatcher`: `NodeHttpClient.makeUndici`'s requests (the `UndiciRequestOptions` in context
 * included), with responses whose body is read without a fiber of its own.
 *
 * @internal
 */
export const make = (dispatcher: Undici.Dispatcher): HttpClient.HttpClient =>
  HttpClient.make((request, url, signal, fiber) => {
    const options = Context.getOrElse(
      fiber.getFiberRef(FiberRef.currentContext) as Context.Context<NodeHttpClient.UndiciRequestOptions>,
      NodeHttpClient.UndiciRequestOptions,
      () => ({})
    )
    return Effect.flatMap(bodyOf(request.body), (body) =>
      Effect.tryPromise({
        try: () =>
          dispatcher.request({
            ...options,
            signal,
            method: request.method,
            headers: request.headers,
            origin: url.origin,
            path: url.pathname + url.search + url.hash,
            body,
            // Timeouts are Effect's (`Effect.timeout`, the engine's), as in `NodeHttpClient.makeUndici`.
            headersTimeout: 60 * 60 * 1000,
            bodyTimeout: 0
          }),
        catch: (cause) => new HttpClientError.RequestError({ request, reason: "Transport", cause })
      }).pipe(Effect.map((response): HttpClientResponse.HttpClientResponse => new Response(request, response))))
  })
