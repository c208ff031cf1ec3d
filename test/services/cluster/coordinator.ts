/**
 * A coordinator process for the cluster tests, started as `node --import tsx test/services/cluster/coordinator.ts`.
 * It sends TASKS tasks (`{ n }`, ids `t0`, `t1`, ...) to the agent `echo` as run RUN_ID with `Coordinator.stream`,
 * at most CONCURRENCY at once, and appends each result as a JSON line to RESULTS_FILE as it comes. Its cluster
 * settings come from the environment (`DATABASE_URL`, `CLUSTER_*`).
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Effect, Stream } from "effect"
import * as fs from "node:fs"
import * as Coordinator from "../../../services/cluster/Coordinator.js"
import * as Task from "../../../src/Task.js"
import * as TaskResult from "../../../src/TaskResult.js"

const count = Number(process.env["TASKS"] ?? "10")
const results = process.env["RESULTS_FILE"] ?? "results.jsonl"

Coordinator.stream(
  Task.fromIterable(Array.from({ length: count }, (_, n) => ({ n })), { id: (_, i) => `t${i}` }),
  {
    agent: "echo",
    runId: process.env["RUN_ID"] ?? "run",
    concurrency: Number(process.env["CONCURRENCY"] ?? "10")
  }
).pipe(
  Stream.runForEach(({ index, result, runner, task }) =>
    Effect.sync(() =>
      fs.appendFileSync(
        results,
        JSON.stringify({
          id: task.id,
          index,
          runner,
          outcome: result._tag,
          value: TaskResult.isSucceeded(result) ? result.value : undefined,
          error: TaskResult.isSucceeded(result) ? undefined : TaskResult.message(result),
          attempt: result.attempt
        }) + "\n"
      )
    )
  ),
  Effect.provide(Coordinator.layer),
  NodeRuntime.runMain
)
