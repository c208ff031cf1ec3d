/**
 * What the agent does, as an Effect (shared by `engine` and `effect-raw`).
 */
import * as Effect from "effect/Effect"
import type { Workload } from "../workloads.js"

export const work = (workload: Workload): (n: number) => Effect.Effect<number, string> => {
  const sleep = Effect.sleep(workload.taskMillis)
  return workload.taskMillis === 0 ? (n) => Effect.succeed(n) : (n) => Effect.as(sleep, n)
}

/** Fails the task if an agent instance is ever called twice: sharing one across tasks would show. */
export const reused = Effect.fail("agent reused")

/** A fresh agent object: the one the Effect baselines build per task, failing if it is ever called twice. */
export const makeAgent = (workload: Workload): () => { readonly run: (n: number) => Effect.Effect<number, string> } => {
  const agentWork = work(workload)
  return () => {
    let calls = 0
    return { run: (n: number) => ++calls === 1 ? agentWork(n) : reused }
  }
}
