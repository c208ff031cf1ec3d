/**
 * The engine with a tracer installed, so that it makes an `Executor.task` span per task. The tracer hands every
 * span to Effect's built-in one (exporting nowhere), so the figure is the cost of making the spans, not of
 * exporting them.
 */
import * as Effect from "effect/Effect"
import * as Tracer from "effect/Tracer"
import { runWith } from "./engine.js"

export const run = runWith((effect) =>
  Effect.flatMap(Effect.tracer, (builtIn) =>
    Effect.withTracer(
      effect,
      Tracer.make({ span: (...args) => builtIn.span(...args), context: (f, fiber) => builtIn.context(f, fiber) })
    ))
)
