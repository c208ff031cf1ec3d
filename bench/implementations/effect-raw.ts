/**
 * Plain Effect: `Effect.forEach` with a concurrency, a fresh agent object and `Effect.timeout` per task.
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import { type Run, TIMEOUT_MILLIS } from "../workloads.js"
import { makeAgent } from "./effect.js"

export const run: Run = async (inputs, workload) => {
  const newAgent = makeAgent(workload)
  const results = await Effect.runPromise(Effect.forEach(
    inputs,
    (input) => Effect.either(Effect.timeout(newAgent().run(input), TIMEOUT_MILLIS)),
    { concurrency: workload.concurrency }
  ))
  return () => results.map(Either.match({ onLeft: (error) => ({ error }), onRight: (ok) => ({ ok }) }))
}
