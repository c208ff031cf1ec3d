/** The library with `AGENT_MODEL=compat:<model>`: chat completions through `ChatCompletionsLanguageModel`. */
import { runWith } from "./library.js"

export const run = runWith("compat")
