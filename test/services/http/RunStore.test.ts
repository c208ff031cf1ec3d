import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Layer, Option } from "effect"
import type * as Runs from "../../../services/http/Runs.js"
import * as RunStore from "../../../services/http/RunStore.js"
import * as AgentInstance from "../../../src/AgentInstance.js"
import * as Task from "../../../src/Task.js"
import * as TaskResult from "../../../src/TaskResult.js"

const info = (id: string, state: Runs.RunState): Runs.RunInfo => ({
  id,
  agent: "classify",
  state,
  createdAt: 0,
  startedAt: null,
  endedAt: null,
  options: { concurrency: 1, timeoutMillis: null, retries: 0, deadlineMillis: null },
  tasks: 1,
  summary: { total: 0, succeeded: 0, failed: 0, timedOut: 0, interrupted: 0 },
  inFlight: 0,
  stats: {
    wallMillis: 0,
    busyMillis: 0,
    peakInFlight: 0,
    retries: 0,
    requests: 0,
    inputTokens: 0,
    outputTokens: 0
  },
  lastEventId: 0,
  eventStreams: 0,
  error: null
})

const result = (index: number) => {
  const task = Task.make({ id: `t${index}`, input: index })
  return TaskResult.succeeded({
    task,
    index,
    instance: AgentInstance.make({ agent: "a", runId: "r", taskId: task.id, attempt: 1 }),
    startedAt: 0,
    durationMillis: 1
  }, index)
}

describe("RunStore.layerMemory", () => {
  it.effect("keeps records, the most recent first, and results in the order they were added", () =>
    Effect.gen(function*() {
      const store = yield* RunStore.makeMemory()
      yield* store.save(info("a", "running"))
      yield* store.save(info("b", "running"))
      yield* store.save({ ...info("a", "finished"), tasks: 3 })
      assert.deepStrictEqual((yield* store.list).map((run) => [run.id, run.state]), [["b", "running"], [
        "a",
        "finished"
      ]])
      assert.strictEqual(Option.getOrThrow(yield* store.get("a")).tasks, 3)
      assert.isTrue(Option.isNone(yield* store.get("c")))
      yield* store.append("a", [result(0), result(1)])
      yield* store.append("a", [result(2)])
      assert.deepStrictEqual((yield* store.results("a", 0)).map((r) => r.taskId), ["t0", "t1", "t2"])
      assert.deepStrictEqual((yield* store.results("a", 2)).map((r) => r.taskId), ["t2"])
      assert.deepStrictEqual(yield* store.results("c", 0), [])
    }))

  it.effect("a maxRuns that is not a whole number from 1 is a RunOptionsError naming it", () =>
    Effect.gen(function*() {
      // NaN forgot every finished run at the next save (a finished run's page then 404s), 0 kept one.
      for (const maxRuns of [Number.NaN, 0, -1, 2.5]) {
        const error = yield* Effect.flip(RunStore.makeMemory({ maxRuns }))
        assert.deepStrictEqual([error._tag, error.option], ["RunOptionsError", "maxRuns"])
        assert.include(error.description, `expected a whole number, 1 or more, got ${maxRuns}`)
        const exit = yield* Effect.exit(Layer.build(RunStore.layerMemory({ maxRuns })).pipe(Effect.scoped))
        assert.isTrue(Exit.isFailure(exit))
      }
    }))

  it.effect("past maxRuns it forgets the oldest finished runs with their results, never a running one", () =>
    Effect.gen(function*() {
      const store = yield* RunStore.makeMemory({ maxRuns: 2 })
      yield* store.save(info("running", "running"))
      yield* store.save(info("old", "finished"))
      yield* store.append("old", [result(0)])
      yield* store.save(info("new", "cancelled"))
      assert.deepStrictEqual((yield* store.list).map((run) => run.id), ["new", "running"])
      assert.deepStrictEqual(yield* store.results("old", 0), [])
      yield* store.save(info("newer", "failed"))
      assert.deepStrictEqual((yield* store.list).map((run) => run.id), ["newer", "running"])
    }))
})
