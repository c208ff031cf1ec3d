/**
 * The engine with everything on: an `Executor.task` span per task (Effect's built-in tracer) and the per-task Debug
 * logs built and handed to the logger, which discards them, so the figure is the engine's cost and not the cost of
 * writing lines.
 */
import * as Effect from "effect/Effect"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import { runWith } from "./engine.js"

export const run = runWith((effect) =>
  effect.pipe(
    Logger.withMinimumLogLevel(LogLevel.Debug),
    Effect.provide(Logger.replace(Logger.defaultLogger, Logger.none))
  )
)
