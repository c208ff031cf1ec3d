/**
 * A runner process for the cluster tests, started as `node --import tsx test/services/cluster/runner.ts`. It hosts
 * one agent, `echo` (input `{ n }`, answer `{ n, doubled }` after ECHO_LATENCY_MS milliseconds), through
 * `AgentRunner.launch`, so that its settings come from the environment as a real runner's do (`DATABASE_URL`,
 * `RUNNER_PORT`, `RUNNER_CONCURRENCY`, `CLUSTER_*`). Every call of the agent appends a `start` line when it begins
 * and an `end` line when it answers to `CALLS_DIR/calls-<pid>.log`: `start|end <tab> runId <tab> taskId <tab> port
 * <tab> epoch milliseconds`.
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Context, Effect, Layer, Schema } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import * as AgentRunner from "../../../services/cluster/AgentRunner.js"
import * as Agent from "../../../src/Agent.js"
import * as AgentInstance from "../../../src/AgentInstance.js"
import * as Executor from "../../../src/Executor.js"

const latency = Number(process.env["ECHO_LATENCY_MS"] ?? "100")
const port = process.env["RUNNER_PORT"] ?? "?"
const calls = path.join(process.env["CALLS_DIR"] ?? ".", `calls-${process.pid}.log`)

const Input = Schema.Struct({ n: Schema.Number })
const Output = Schema.Struct({ n: Schema.Number, doubled: Schema.Number })

class Echo extends Context.Tag("test/cluster/Echo")<
  Echo,
  Agent.Agent<typeof Input.Type, typeof Output.Type>
>() {}

const log = (event: string, instance: AgentInstance.Service) =>
  Effect.sync(() =>
    fs.appendFileSync(calls, `${event}\t${instance.runId}\t${instance.taskId}\t${port}\t${Date.now()}\n`)
  )

const EchoLive = Layer.effect(
  Echo,
  Effect.map(AgentInstance.AgentInstance, (instance) =>
    Agent.make({
      name: "echo",
      run: ({ n }: typeof Input.Type) =>
        // A call's end is logged however it ends (an entity moved to another runner interrupts it): only a killed
        // runner's calls have no end. Logged before the task gives back its permit and its cluster slot.
        log("start", instance).pipe(
          Effect.zipRight(Effect.ensuring(Effect.sleep(latency), log("end", instance))),
          Effect.as({ n, doubled: n * 2 })
        )
    }))
)

AgentRunner.launch([
  AgentRunner.agent({ name: "echo", input: Input, output: Output, factory: Agent.factory(Echo, EchoLive) })
]).pipe(
  Effect.provide(Executor.layer()),
  NodeRuntime.runMain
)
