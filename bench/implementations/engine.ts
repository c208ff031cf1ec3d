/**
 * The library: `Executor.run` with an agent factory, so the engine builds a fresh agent per task.
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import { Agent, Executor, Task } from "../../src/index.js"
import { type Run, TIMEOUT_MILLIS } from "../workloads.js"
import { reused, work } from "./effect.js"

class BenchAgent extends Context.Tag("bench/BenchAgent")<BenchAgent, Agent.Agent<number, number, string>>() {}

/**
 * Runs the engine with the app's configuration applied around the run. `engine` uses the defaults: metrics, the run
 * span, and no task spans (Effect's built-in tracer exports nowhere), per-task Debug lines filtered out at the
 * default Info level.
 */
export const runWith = (
  configure: <A, E>(effect: Effect.Effect<A, E>) => Effect.Effect<A, E>
): Run =>
async (inputs, workload) => {
  const agentWork = work(workload)
  const factory = Agent.effect(
    BenchAgent,
    Effect.sync(() => {
      let calls = 0
      return Agent.make({ name: "bench", run: (n: number) => ++calls === 1 ? agentWork(n) : reused })
    })
  )
  const report = await Executor.run(Task.fromIterable(inputs), factory, {
    concurrency: workload.concurrency,
    timeout: TIMEOUT_MILLIS
  }).pipe(Effect.provide(Executor.layer()), configure, Effect.runPromise)
  return () =>
    report.results.map((result, i) => {
      if (result.taskId !== String(i)) throw new Error(`engine: result ${i} is for task ${result.taskId}`)
      return result._tag === "Succeeded" ? { ok: result.value } : { error: result }
    })
}

export const run: Run = runWith((effect) => effect)
