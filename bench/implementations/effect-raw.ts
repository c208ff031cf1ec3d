/**
 * Plain Effect: `Effect.forEach` with a concurrency, a fresh agent object and `Effect.timeout` per task.
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import { type Run, TIMEOUT_MILLIS } from "../workloads.js"
import { reused, work } from "./effect.js"

export const run: Run = async (inputs, workload) => {
  const agentWork = work(workload)
  const makeAgent = () => {
    let calls = 0
    return { name: "bench", run: (n: number) => ++calls === 1 ? agentWork(n) : reused }
  }
  const results = await Effect.runPromise(Effect.forEach(
    inputs,
    (input) => Effect.either(Effect.timeout(makeAgent().run(input), TIMEOUT_MILLIS)),
    { concurrency: workload.concurrency }
  ))
  return () => results.map(Either.match({ onLeft: (error) => ({ error }), onRight: (ok) => ({ ok }) }))
}
