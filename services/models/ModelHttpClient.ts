/**
 * An `HttpClient` for model calls on Node.js: undici, with connections kept alive and a pool of at most
 * `connections` per server. Size it to the concurrency of the runs that use it: each agent then reuses a connection,
 * and no call opens one of its own. (An unbounded pool, as `NodeHttpClient.layerUndici` has, also keeps connections
 * alive, but under load it opens about twice as many as there are calls in flight: a connection is taken as busy
 * until undici has noticed that its response is over.) It needs `@effect/platform-node`, loaded when the layer is
 * built.
 *
 * @since 0.1.0
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as ConfigError from "effect/ConfigError"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"

/**
 * Options of the client.
 *
 * @category models
 * @since 0.1.0
 */
export interface Options {
  /**
   * The most connections open to one server at once: the concurrency of the runs. Calls beyond it wait for a
   * connection. Unbounded when not given.
   */
  readonly connections?: number | undefined
  /**
   * How long an idle connection is kept open, unless the server says less (undici's `keepAliveTimeout`).
   *
   * @default "4 seconds"
   */
  readonly keepAliveTimeout?: Duration.DurationInput | undefined
}

const invalid = (path: string, description: string) => Effect.fail(ConfigError.InvalidData([path], description))

/**
 * Provides the `HttpClient`; its connections are closed when the layer is released.
 *
 * **Example** (A model over a pool of 256 connections, for runs of concurrency 256)
 *
 * ```ts
 * import { Layer } from "effect"
 * import { AgentModel, ModelHttpClient } from "effect-parallel-agents/models"
 *
 * const ModelLive = AgentModel.layerConfig().pipe(Layer.provide(ModelHttpClient.layer({ connections: 256 })))
 * ```
 *
 * @category layers
 * @since 0.1.0
 */
export const layer = (options?: Options): Layer.Layer<HttpClient.HttpClient, ConfigError.ConfigError> =>
  Layer.unwrapScoped(Effect.gen(function*() {
    const connections = options?.connections
    if (connections !== undefined && (!Number.isInteger(connections) || connections < 1)) {
      return yield* invalid("connections", `expected a whole number of 1 or more, got ${connections}`)
    }
    const keepAlive = options?.keepAliveTimeout === undefined
      ? undefined
      : Duration.decodeUnknown(options.keepAliveTimeout)
    if (keepAlive !== undefined && (keepAlive._tag === "None" || Duration.toMillis(keepAlive.value) <= 0)) {
      return yield* invalid(
        "keepAliveTimeout",
        `expected a positive duration, got ${String(options?.keepAliveTimeout)}`
      )
    }
    // Loaded here, not imported above: the models need @effect/platform-node only when this layer is used.
    const UndiciClient = yield* Effect.promise(() => import("./internal/undiciClient.js"))
    const dispatcher = yield* Effect.acquireRelease(
      Effect.sync(() =>
        UndiciClient.agent({
          connections: connections ?? null,
          ...(keepAlive === undefined ? {} : { keepAliveTimeout: Duration.toMillis(keepAlive.value) })
        })
      ),
      (agent) => Effect.promise(() => agent.destroy())
    )
    // `NodeHttpClient.makeUndici`'s client, with responses read without a fiber each (`internal/undiciClient.ts`);
    // and the client itself, not `layerUndiciWithoutDispatcher`, which merges its own context (the dispatcher, which
    // the client already holds) into every request's: a copy of the context per call.
    return Layer.succeed(HttpClient.HttpClient, UndiciClient.make(dispatcher))
  }))
