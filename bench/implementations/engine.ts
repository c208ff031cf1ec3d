/**
 * The library: `Executor.run` with an agent factory, so the engine builds a fresh agent per task. `engine` makes
 * the factory with `Agent.effect` (an `Effect` that needs no scope); `engine-layer` and `engine-scoped` (W1) make
 * the same agent with `Agent.factory(tag, Layer.effect(...))` and `Agent.scoped`, to show what each factory kind
 * costs.
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { Agent, Executor, Task } from "../../src/index.js"
import { type Run, TIMEOUT_MILLIS } from "../workloads.js"
import { reused, work } from "./effect.js"

class BenchAgent extends Context.Tag("bench/BenchAgent")<BenchAgent, Agent.Agent<number, number, string>>() {}

/** How the factory builds its instances. */
export type FactoryKind = "effect" | "layer" | "scoped"

const factoryOf = (kind: FactoryKind, agentWork: (n: number) => Effect.Effect<number, string>) => {
  const make = Effect.sync(() => {
    let calls = 0
    return Agent.make({ name: "bench", run: (n: number) => ++calls === 1 ? agentWork(n) : reused })
  })
  switch (kind) {
    case "effect":
      return Agent.effect(BenchAgent, make)
    case "layer":
      return Agent.factory(BenchAgent, Layer.effect(BenchAgent, make))
    case "scoped":
      return Agent.scoped(BenchAgent, make)
  }
}

/**
 * Runs the engine with the app's configuration applied around the run. `engine` uses the defaults: metrics, the run
 * span, and no task spans (Effect's built-in tracer exports nowhere), per-task Debug lines filtered out at the
 * default Info level.
 */
export const runWith = (
  configure: <A, E>(effect: Effect.Effect<A, E>) => Effect.Effect<A, E>,
  kind: FactoryKind = "effect"
): Run =>
async (inputs, workload) => {
  const factory = factoryOf(kind, work(workload))
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
