/**
 * A run stopped before its end keeps its whole report: 30 calls of 1 second, 5 at once, stopped after 2.5 seconds
 * (a cancel button, say). The 10 that ended keep their results, the 5 under way are interrupted and released, the
 * 15 others never start, and every one of the 30 is reported.
 *
 *   npx tsx examples/graceful-stop.ts
 */
import { NodeRuntime } from "@effect/platform-node"
import { Console, Context, Deferred, Effect, Fiber, Layer } from "effect"
import { Agent, Executor, Task, TaskResult } from "effect-parallel-agents"

class Caller extends Context.Tag("caller")<Caller, Agent.Agent<number, number>>() {}

const CallerLive = Layer.succeed(
  Caller,
  Agent.make({ name: "caller", run: (n: number) => Effect.as(Effect.sleep("1 second"), n * 2) })
)

const program = Effect.gen(function*() {
  const stop = yield* Deferred.make<void>()
  const run = yield* Effect.fork(
    Executor.run(Task.fromIterable(Array.from({ length: 30 }, (_, i) => i)), Agent.factory(Caller, CallerLive), {
      concurrency: 5,
      stop: Deferred.await(stop)
    })
  )
  yield* Effect.sleep("2500 millis")
  yield* Deferred.succeed(stop, undefined)
  const report = yield* Fiber.join(run)

  const stopped = report.results.filter((r) => TaskResult.isInterrupted(r) && r.reason === "Stopped")
  yield* Console.log(`Total: ${report.summary.total}`)
  yield* Console.log(`Succeeded: ${report.summary.succeeded}`)
  yield* Console.log(`Stopped under way: ${stopped.filter((r) => r.started).length}`)
  yield* Console.log(`Never started: ${stopped.filter((r) => !r.started).length}`)
})

program.pipe(Effect.provide(Executor.layer()), NodeRuntime.runMain)
