/**
 * The `classify` agent alone, with no engine: `node build/bench/w6/agent.js [calls] [concurrency]` (20,000 and 100
 * by default). Builds the agent once from `AgentRegistry.classify` over the offline model (`AgentModel.layer`, 1 ms
 * a call, the CLI's fixed answers), calls it `calls` times with `Effect.forEach` at `concurrency` after a warm-up of
 * 2,000 calls, each with a usage meter as the engine gives every task, checks every label and that every call's
 * usage was recorded, and prints one JSON line: the CPU (user + system, all threads) and wall time of
 * the timed calls, per call. `node --cpu-prof build/bench/w6/agent.js` profiles it.
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as AgentModel from "../../services/models/AgentModel.js"
import * as AgentRegistry from "../../services/models/AgentRegistry.js"
import * as LanguageModelAgent from "../../services/models/LanguageModelAgent.js"
import * as Usage from "../../src/Usage.js"
import { documentText } from "./rows.js"

const [callsArg, concurrencyArg] = process.argv.slice(2)
const calls = Number(callsArg ?? 20_000)
const concurrency = Number(concurrencyArg ?? 100)
if (!Number.isInteger(calls) || !Number.isInteger(concurrency) || calls < 1 || concurrency < 1) {
  throw new Error("usage: node build/bench/w6/agent.js [calls] [concurrency]")
}

// One meter for every call: what the engine's per-task meters would add up to.
const recorded = { responses: 0, inputTokens: 0 }
const meter: Usage.Meter = {
  record: (usage) => {
    recorded.responses++
    recorded.inputTokens += usage.inputTokens ?? 0
  },
  current: Usage.empty,
  models: []
}

const program = Effect.gen(function*() {
  const agent = yield* LanguageModelAgent.make(AgentRegistry.classify.agent)
  const callMany = (count: number, offset: number) =>
    Effect.forEach(
      Array.from({ length: count }, (_, i) => offset + i),
      (i) =>
        Effect.map(Effect.provideService(agent.run({ text: documentText(i) }), Usage.UsageMeter, meter), (answer) => {
          if (answer.label !== (i % 2 === 0 ? "positive" : "negative")) {
            throw new Error(`document ${i}: wrong label ${answer.label}`)
          }
        }),
      { concurrency, discard: true }
    )
  yield* callMany(2_000, 0)
  const cpu = process.cpuUsage()
  const start = performance.now()
  yield* callMany(calls, 2_000)
  const wall = performance.now() - start
  const used = process.cpuUsage(cpu)
  if (recorded.responses !== calls + 2_000 || recorded.inputTokens === 0) {
    throw new Error(`usage recorded for ${recorded.responses} of ${calls + 2_000} calls`)
  }
  return {
    calls,
    concurrency,
    cpuMicrosPerCall: (used.user + used.system) / calls,
    wallMicrosPerCall: wall * 1000 / calls
  }
})

const result = await Effect.runPromise(
  program.pipe(
    Effect.provide(AgentModel.layer({ offline: { latency: "1 millis" } }).pipe(Layer.provide(FetchHttpClient.layer)))
  )
)
process.stdout.write(JSON.stringify(result) + "\n")
