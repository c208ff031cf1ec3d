/**
 * The engine with the agent's factory made by `Agent.scoped`: the instance is built in the task attempt's own
 * `Scope`, which is opened and closed per task.
 */
import { runWith } from "./engine.js"

export const run = runWith((effect) => effect, "scoped")
