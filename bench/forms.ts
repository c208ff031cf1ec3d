/**
 * The engine's three forms on the same tasks, in CPU per task: `Executor.run` over a list, `Executor.stream` over a
 * `Stream` of the same tasks (results counted), and `Executor.runOne` once per task (as a cluster's runner or a
 * backend calls it), `concurrency` calls at once by an outer `Effect.forEach`. Agents made by an `Effect` (`Agent.effect`) that
 * sleep `ms` milliseconds (0: return at once). A warm-up of 500 tasks first; then one measured run, whose process
 * CPU (user + system) is divided by the tasks.
 *
 * `node build/bench/forms.js <list|stream|one> <tasks> <concurrency> <ms> [timeout]`, for example
 * `node build/bench/forms.js stream 10000 100 10` or `node build/bench/forms.js one 5000 200 100 "30 seconds"`
 * (`timeout` is the run's per-task timeout; none by default). Prints one line: form, tasks, wall ms, CPU µs a task.
 */
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { Agent, Executor, Task } from "../src/index.js"

const [form = "list", size = "10000", width = "100", sleep = "10", timeout] = process.argv.slice(2)
const tasks = Number(size)
const concurrency = Number(width)
const millis = Number(sleep)

class Sleeper extends Context.Tag("bench/forms/Sleeper")<Sleeper, Agent.Agent<number, number>>() {}
const factory = Agent.effect(
  Sleeper,
  Effect.succeed(
    Agent.make({
      name: "sleeper",
      run: (n: number) => millis === 0 ? Effect.succeed(n) : Effect.as(Effect.sleep(millis), n)
    })
  )
)
const all = Array.from({ length: tasks }, (_, i) => Task.make({ id: `t${i}`, input: i }))
const options = {
  concurrency,
  runId: "forms",
  ...(timeout === undefined ? {} : { timeout: timeout as Duration.DurationInput })
}

const run = (n: number): Effect.Effect<number> =>
  Effect.gen(function*() {
    const executor = yield* Executor.Executor
    const some = all.slice(0, n)
    switch (form) {
      case "list":
        return (yield* executor.run(some, factory, options)).results.length
      case "stream":
        return yield* Stream.runCount(executor.stream(Stream.fromIterable(some), factory, options))
      default: {
        const { concurrency: _, ...one } = options
        const results = yield* Effect.forEach(some, (task) => executor.runOne(task, factory, one), { concurrency })
        return results.length
      }
    }
  }).pipe(Effect.provide(Executor.layer()), Effect.orDie)

await Effect.runPromise(run(500))
const startedAt = performance.now()
const cpu = process.cpuUsage()
const done = await Effect.runPromise(run(tasks))
const used = process.cpuUsage(cpu)
if (done !== tasks) {
  console.error(`expected ${tasks} results, got ${done}`)
  process.exitCode = 1
}
console.log(
  `${form} ${tasks} tasks: wall ${(performance.now() - startedAt).toFixed(0)} ms, ` +
    `${((used.user + used.system) / tasks).toFixed(1)} µs CPU a task`
)
