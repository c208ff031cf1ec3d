import { Command } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import type { Duration } from "effect"
import { Effect, Fiber, Stream, TestClock } from "effect"
import { createRequire } from "node:module"
import * as path from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"

/**
 * Runs an effect that sleeps on the clock: forks it, advances the `TestClock` by `advance` (every sleep up to then
 * fires in order, including sleeps started along the way), and joins it.
 */
export const withClock = <A, E, R>(
  effect: Effect.Effect<A, E, R>,
  advance: Duration.DurationInput = "1 hour"
): Effect.Effect<A, E, R> =>
  Effect.gen(function*() {
    const fiber = yield* Effect.fork(effect)
    yield* TestClock.adjust(advance)
    return yield* Fiber.join(fiber)
  })

let counter = 0

/** A name no other test uses, for metrics (the metric registry is global and tests run concurrently). */
export const uniqueName = (prefix: string): string => `${prefix}-${++counter}-${Math.random().toString(36).slice(2, 8)}`

const root = fileURLToPath(new URL("..", import.meta.url))

/**
 * Runs an example the way the README says (`tsx examples/<name>.ts`) and returns its output and exit code. With
 * `directory`, it runs there, so that the files it writes land there; tsx is loaded by its path and given the
 * repository's tsconfig, so that `effect-parallel-agents` still resolves to the sources (without it, to the
 * possibly stale `build/`). `env` is added to the environment.
 */
export const runExample = (
  name: string,
  options?: { readonly directory?: string | undefined; readonly env?: Record<string, string> | undefined }
) =>
  Effect.scoped(
    Effect.gen(function*() {
      const process = yield* Command.make(
        "node",
        "--import",
        pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href,
        path.join(root, "examples", `${name}.ts`)
      ).pipe(
        Command.workingDirectory(options?.directory ?? root),
        Command.env({ TSX_TSCONFIG_PATH: path.join(root, "tsconfig.json"), ...options?.env }),
        Command.start
      )
      const [stdout, stderr, exitCode] = yield* Effect.all([
        Stream.mkString(Stream.decodeText(process.stdout)),
        Stream.mkString(Stream.decodeText(process.stderr)),
        process.exitCode
      ], { concurrency: "unbounded" })
      return { lines: stdout.trimEnd().split("\n"), stderr, exitCode }
    })
  ).pipe(Effect.provide(NodeContext.layer))
