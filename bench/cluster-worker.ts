/**
 * A process of the cluster benchmark (bench/cluster.ts), on the sources through tsx: `runner` (a runner of the
 * `sleep` agent, `AgentRunner.launch`, settings from the environment), `coordinator` (a run of TASKS tasks on the
 * cluster through `ClusterExecutor.layerConfig`) or `local` (the same run with `Executor.layer`). The agent answers
 * its input after LATENCY_MS milliseconds. A run prints one JSON line: its wall time, this process's CPU time and
 * the report's summary.
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import * as AgentRunner from "../services/cluster/AgentRunner.js"
import * as ClusterExecutor from "../services/cluster/ClusterExecutor.js"
import * as Agent from "../src/Agent.js"
import * as Executor from "../src/Executor.js"
import * as Task from "../src/Task.js"

const env = (name: string, fallback: string) => process.env[name] ?? fallback
const latency = Number(env("LATENCY_MS", "100"))
const tasks = Number(env("TASKS", "20000"))
const concurrency = Number(env("CONCURRENCY", "200"))

class Sleep extends Context.Tag("bench/cluster/Sleep")<Sleep, Agent.Agent<number, number>>() {}
const sleep = Agent.factory(
  Sleep,
  Layer.succeed(Sleep, Agent.make({ name: "sleep", run: (n: number) => Effect.as(Effect.sleep(latency), n) })),
  { name: "sleep" }
)
const agents = [AgentRunner.agent({ name: "sleep", input: Schema.Number, factory: sleep })]

const run = Effect.gen(function*() {
  const cpu = process.cpuUsage()
  const started = performance.now()
  const report = yield* Executor.run(Task.fromIterable(Array.from({ length: tasks }, (_, i) => i)), sleep, {
    concurrency,
    runId: env("RUN_ID", "bench")
  })
  const wallMillis = performance.now() - started
  const used = process.cpuUsage(cpu)
  process.stdout.write(
    JSON.stringify({ wallMillis, cpuMillis: (used.user + used.system) / 1000, summary: report.summary }) + "\n"
  )
})

const mode = process.argv[2]
const program = mode === "runner"
  ? AgentRunner.launch(agents).pipe(Effect.provide(Executor.layer()))
  : mode === "coordinator"
  ? run.pipe(Effect.provide(ClusterExecutor.layerConfig({ agents })))
  : run.pipe(Effect.provide(Executor.layer()))

NodeRuntime.runMain(program)
