/**
 * What a cluster runner's engine work costs per task, in one process and without the cluster: N tasks of 100 ms at
 * 200 at once, as one `Executor.run` of the list, as `Executor.runOne` per task (what a runner calls), and through
 * an `AgentRunner` registration's `run` (`Executor.runOne`, then the result encoded for the reply); and the reply's
 * encoding alone. `node --import tsx bench/cluster-runone.ts [N]` (5,000 by default) prints CPU ms per task.
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import * as AgentRunner from "../services/cluster/AgentRunner.js"
import * as AgentTask from "../services/cluster/AgentTask.js"
import * as Agent from "../src/Agent.js"
import * as Executor from "../src/Executor.js"
import * as Task from "../src/Task.js"

const N = Number(process.argv[2] ?? 5000)
class Sleep extends Context.Tag("Sleep")<Sleep, Agent.Agent<number, number>>() {}
const sleep = Agent.factory(
  Sleep,
  Layer.succeed(Sleep, Agent.make({ name: "sleep", run: (n: number) => Effect.as(Effect.sleep(100), n) })),
  { name: "sleep" }
)
const reg = AgentRunner.agent({ name: "sleep", input: Schema.Number, factory: sleep })
const measure = (name: string, eff: Effect.Effect<unknown, unknown, Executor.Executor>) =>
  Effect.gen(function*() {
    const c = process.cpuUsage()
    const t = performance.now()
    yield* eff
    const u = process.cpuUsage(c)
    console.log(
      name,
      ((u.user + u.system) / 1000 / N).toFixed(3),
      "ms CPU/task",
      ((performance.now() - t) / 1000).toFixed(1),
      "s"
    )
  })
const ids = Array.from({ length: N }, (_, i) => i)
const program = Effect.gen(function*() {
  yield* measure("warmup runList", Executor.run(Task.fromIterable(ids), sleep, { concurrency: 200 }))
  yield* measure("runList", Executor.run(Task.fromIterable(ids), sleep, { concurrency: 200 }))
  yield* measure(
    "runOne x N",
    Effect.forEach(
      ids,
      (i) => Executor.runOne(Task.make({ id: String(i), input: i }), sleep, { input: Schema.Number, runId: "r" }),
      {
        concurrency: 200
      }
    )
  )
  yield* measure(
    "registration.run x N",
    Effect.forEach(ids, (i) => reg.run({ runId: "r", agent: "sleep", task: { id: String(i), input: i, labels: {} } }), {
      concurrency: 200
    })
  )
  const encoded = yield* reg.run({ runId: "r", agent: "sleep", task: { id: "x", input: 1, labels: {} } })
  const reply = { runner: "h:1", agent: "sleep", input: 1, result: encoded }
  const enc = Schema.encodeSync(AgentTask.Reply)
  const c = process.cpuUsage()
  for (let i = 0; i < N; i++) enc(reply)
  const u = process.cpuUsage(c)
  console.log("Reply encode", ((u.user + u.system) / 1000 / N).toFixed(3), "ms/task")
})
Effect.runPromise(program.pipe(Effect.provide(Executor.layer())))
