/** The library with `AGENT_MODEL=openai:<model>`: OpenAI's Responses API through `@effect/ai-openai`. */
import { runWith } from "./library.js"

export const run = runWith("openai")
