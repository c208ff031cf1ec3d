/**
 * Helpers of the cluster tests: a real PostgreSQL server per test file (test/postgres.ts), a database per test, a
 * free loopback port per runner, and a runner hosted in the test's own process, whose `Sharding` a coordinator in
 * the same process sends through.
 */
import * as PgClient from "@effect/sql-pg/PgClient"
import { describe, layer } from "@effect/vitest"
import type { Vitest } from "@effect/vitest"
import type { Scope } from "effect"
import { Context, Effect, Layer, Logger, LogLevel, Random, Redacted } from "effect"
import * as net from "node:net"
import { vi } from "vitest"
import * as AgentRunner from "../../../services/cluster/AgentRunner.js"
import * as ClusterConfig from "../../../services/cluster/ClusterConfig.js"
import * as Executor from "../../../src/Executor.js"
import * as TaskResult from "../../../src/TaskResult.js"
import * as Postgres from "../../postgres.js"

const installHint = "install it with `apt-get install -y postgresql` (Debian), or run `bash .ci/run`, which does"
const missing = !Postgres.available()
const required = Boolean(process.env["REQUIRE_POSTGRES"])

export class Server extends Context.Tag("test/cluster/Server")<Server, Postgres.Server>() {}

/**
 * A suite with a PostgreSQL server for its tests (live clock). Without PostgreSQL the suite is skipped, with the
 * reason in its name, unless REQUIRE_POSTGRES is set: then it fails.
 */
export const withPostgres = (name: string, f: (it: Vitest.MethodsNonLive<Server, true>) => void): void => {
  if (missing && !required) {
    process.stderr.write(`Skipping "${name}": PostgreSQL is not installed; ${installHint}\n`)
    // Reporters do not print a skipped suite's note, so the reason goes in its name.
    describe.skip(`${name} [skipped: PostgreSQL is not installed; ${installHint}]`, () => {})
    return
  }
  // A test that starts runners takes seconds; on a loaded machine, many more than vitest's default minute.
  vi.setConfig({ testTimeout: 180_000 })
  layer(Layer.scoped(Server, Postgres.server), { excludeTestServices: true, timeout: "120 seconds" })(name, f)
}

/** A fresh database on the suite's server; its URL. */
export const database: Effect.Effect<string, never, Server> = Effect.gen(function*() {
  const server = yield* Server
  const suffix = yield* Random.nextIntBetween(0, 36 ** 8)
  return yield* Effect.promise(() => server.createDatabase(`t_${suffix.toString(36)}`))
})

/** A port nobody listens on now, on 127.0.0.1. */
export const freePort: Effect.Effect<number> = Effect.async<number>((resume) => {
  const server = net.createServer()
  server.unref()
  server.listen(0, "127.0.0.1", () => {
    const { port } = server.address() as net.AddressInfo
    server.close(() => resume(Effect.succeed(port)))
  })
})

/** The engine the runners of these tests run tasks with. */
export const executor = Executor.layer()

/** A PostgreSQL client for a database URL. */
export const client = (url: string) => PgClient.layer({ url: Redacted.make(url) })

/**
 * A runner in this process on a free port, hosting `agents`, with its `Sharding` (and the `SqlClient`) left in
 * context for a coordinator in the same process.
 */
export const runner = <R>(options: {
  readonly url: string
  readonly agents: Iterable<AgentRunner.Registration<R>>
  readonly concurrency: number
  readonly sharding?: Partial<ClusterConfig.Sharding> | undefined
}) =>
  Effect.map(freePort, (port) =>
    AgentRunner.layer(options.agents, { concurrency: options.concurrency }).pipe(
      Layer.provideMerge(AgentRunner.layerSharding),
      Layer.provide(executor),
      Layer.provideMerge(ClusterConfig.layer({
        runner: { host: "127.0.0.1", port, concurrency: options.concurrency },
        sharding: options.sharding
      })),
      Layer.provideMerge(client(options.url)),
      // @effect/cluster says "Listening on ..." at Info; tests want quiet.
      Layer.provide(Logger.minimumLogLevel(LogLevel.Warning))
    ))

/** Builds a layer into the current scope and returns its context. */
export const build = <A, E, R>(layer: Layer.Layer<A, E, R>): Effect.Effect<Context.Context<A>, E, R | Scope.Scope> =>
  Layer.build(layer)

/** A result's value, `undefined` unless it succeeded. */
export const value = (result: TaskResult.TaskResult<unknown, unknown>): unknown =>
  TaskResult.isSucceeded(result) ? result.value : undefined
