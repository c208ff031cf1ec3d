/**
 * The engine with the agent's factory made from a `Layer`: `Agent.factory(tag, Layer.effect(tag, make))`, built per
 * task with `Layer.buildWithScope` (the public path for any `Layer`).
 */
import { runWith } from "./engine.js"

export const run = runWith((effect) => effect, "layer")
