/**
 * The floor of the shape the engine must have: plain `Effect.forEach` with a concurrency, as `effect-floor`, but each
 * task's fresh agent run on a fiber of its own, started with `Runtime.runFork` from the run's runtime with the task's
 * own `Context` (one service added) and awaited with `Effect.async` through the fiber's observer, its outcome an
 * `Either`. `Effect.forEach` runs many elements on each of its worker fibers, so a task needs a fiber of its own for
 * nothing it does to its fiber (FiberRefs, loggers, forks) to reach the next task: this is what that isolation costs
 * before any engine adds a timeout, metrics, events or a report. No timeout, no metrics.
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Runtime from "effect/Runtime"
import type { Run } from "../workloads.js"
import { makeAgent } from "./effect.js"

class Instance extends Context.Tag("bench/effect-fiber/Instance")<Instance, number>() {}

export const run: Run = async (inputs, workload) => {
  const newAgent = makeAgent(workload)
  const results = await Effect.runPromise(Effect.flatMap(Effect.runtime<never>(), (runtime) =>
    Effect.forEach(
      inputs,
      (input) =>
        Effect.async<Either.Either<number, string>>((resume) => {
          const taskRuntime = Runtime.make({
            context: Context.add(runtime.context, Instance, input),
            fiberRefs: runtime.fiberRefs,
            runtimeFlags: runtime.runtimeFlags
          })
          Runtime.runFork(taskRuntime)(newAgent().run(input)).addObserver((exit) =>
            resume(Effect.succeed(
              Exit.isSuccess(exit)
                ? Either.right(exit.value)
                : Either.left(Exit.isFailure(exit) && exit.cause._tag === "Fail" ? exit.cause.error : "defect")
            ))
          )
        }),
      { concurrency: workload.concurrency }
    )))
  return () => results.map(Either.match({ onLeft: (error) => ({ error }), onRight: (ok) => ({ ok }) }))
}
