/**
 * The engine with its per-task Debug lines on: built and handed to the logger, which discards them, so the figure
 * is the cost of logging in Effect and not of writing lines.
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
