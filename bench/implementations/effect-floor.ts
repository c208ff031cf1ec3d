/**
 * A reference, not a baseline of the same semantics: plain `Effect.forEach` with a concurrency and a fresh agent
 * object per task, each outcome captured with `Effect.either`, but no timeout. It shows what Effect's runtime costs
 * per task before any engine adds anything: the floor for an Effect-based engine.
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import type { Run } from "../workloads.js"
import { makeAgent } from "./effect.js"

export const run: Run = async (inputs, workload) => {
  const newAgent = makeAgent(workload)
  const results = await Effect.runPromise(Effect.forEach(
    inputs,
    (input) => Effect.either(newAgent().run(input)),
    { concurrency: workload.concurrency }
  ))
  return () => results.map(Either.match({ onLeft: (error) => ({ error }), onRight: (ok) => ({ ok }) }))
}
