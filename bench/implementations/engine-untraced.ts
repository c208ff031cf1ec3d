/**
 * The engine with tracing disabled (no spans at all) and its per-task Debug lines filtered out (the default level).
 * Metrics stay on: they cannot be turned off. The baseline for the observability overhead.
 */
import * as Effect from "effect/Effect"
import { runWith } from "./engine.js"

export const run = runWith(Effect.withTracerEnabled(false))
