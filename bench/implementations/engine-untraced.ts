/**
 * The engine without its per-run instrumentation: tracing disabled (no `Executor.task` spans) and per-task Debug
 * logs filtered out (the default level). Metrics stay on: they cannot be turned off. The baseline for the
 * observability overhead.
 */
import * as Effect from "effect/Effect"
import { runWith } from "./engine.js"

export const run = runWith(Effect.withTracerEnabled(false))
