/**
 * An `HttpClient` built on its first request. The executable gives the command line an HTTP client for models that
 * call a server; a run on the offline model never uses it, and building it up front loads undici (about a megabyte
 * of scripts and a WebAssembly parser, kept for as long as the process lives).
 *
 * @internal
 */
import * as HttpClient from "@effect/platform/HttpClient"
import type * as HttpClientError from "@effect/platform/HttpClientError"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"

/**
 * Provides an `HttpClient` that builds `build` on its first request, once, in this layer's scope (so it is released
 * with it), and sends every request through it. Requests go to the built client as they are: its spans, its
 * transformations and its errors are the ones it gives.
 *
 * @internal
 */
export const lazy = (build: Layer.Layer<HttpClient.HttpClient>): Layer.Layer<HttpClient.HttpClient> =>
  Layer.scoped(
    HttpClient.HttpClient,
    Effect.gen(function*() {
      const scope = yield* Effect.scope
      const client = yield* Deferred.make<HttpClient.HttpClient>()
      // Built by a fiber of the layer's scope, not by the first request's: a first request interrupted while the
      // client is built (Ctrl-C, a timeout) leaves it to be built for the next, instead of an interruption that
      // every later request would get.
      const start = yield* Effect.once(
        Effect.forkIn(
          Effect.intoDeferred(
            Effect.map(Layer.buildWithScope(build, scope), Context.get(HttpClient.HttpClient)),
            client
          ),
          scope
        )
      )
      const built = Effect.zipRight(Effect.uninterruptible(start), Deferred.await(client))
      return HttpClient.makeWith<never, never, HttpClientError.HttpClientError, never>(
        (request) => Effect.flatMap(request, (request) => Effect.flatMap(built, (client) => client.execute(request))),
        Effect.succeed
      )
    })
  )
