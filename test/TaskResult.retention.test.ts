/**
 * What a finished result keeps alive: the fields it shows, and nothing of the attempt that produced it. An error made
 * while an agent runs has its stack captured by V8 as frames that point at their receivers (the attempt's fiber, and
 * through it the attempt's context, its agent instance and whatever the agent holds) until the stack is read; a
 * result, or a failed attempt, keeps its cause as long as the report lives, so the engine has the stack formatted.
 * Measured with the real garbage collector: `WeakRef`s to each attempt's agent instance and to its agent's state must
 * clear while the report is still held.
 */
import { assert, describe, it } from "@effect/vitest"
import { Context, Effect, Schedule } from "effect"
import * as v8 from "node:v8"
import * as vm from "node:vm"
import * as Agent from "../src/Agent.js"
import * as AgentInstance from "../src/AgentInstance.js"
import * as Executor from "../src/Executor.js"
import * as Task from "../src/Task.js"
import * as TaskResult from "../src/TaskResult.js"

v8.setFlagsFromString("--expose-gc")
const gc = vm.runInNewContext("gc") as () => void

// A `WeakRef` is only cleared after the job that last read it: collect, let the job end, collect again.
const collect = Effect.promise(async () => {
  gc()
  await new Promise((resolve) => setTimeout(resolve, 0))
  gc()
  await new Promise((resolve) => setTimeout(resolve, 0))
})

class Failing extends Context.Tag("test/retention/Failing")<Failing, Agent.Agent<number, never, Error>>() {}

const tracked = (refs: Array<WeakRef<object>>, fail: (n: number) => Effect.Effect<never, Error>) =>
  Agent.effect(
    Failing,
    Effect.gen(function*() {
      const instance = yield* AgentInstance.AgentInstance
      const state = { transcript: new Array<string>(1_000).fill("a turn of the conversation") }
      refs.push(new WeakRef(instance), new WeakRef(state))
      return Agent.make({
        name: "failing",
        run: (n: number) =>
          Effect.zipRight(Effect.sleep(1), Effect.suspend(() => state.transcript.length > 0 ? fail(n) : fail(-n)))
      })
    })
  )

describe("TaskResult retention", () => {
  const cases: ReadonlyArray<readonly [string, (n: number) => Effect.Effect<never, Error>, boolean]> = [
    ["a typed error", (n) => Effect.fail(new Error(`boom ${n}`)), false],
    ["a defect", (n) => Effect.die(new Error(`died ${n}`)), false],
    [
      "a typed error, retried (the failed attempt keeps its cause too)",
      (n) => Effect.fail(new Error(`boom ${n}`)),
      true
    ]
  ]
  for (const [name, fail, retried] of cases) {
    it.live(`a failed result does not keep its attempt's fiber, context or agent alive: ${name}`, () =>
      Effect.gen(function*() {
        const refs: Array<WeakRef<object>> = []
        const report = yield* Executor.run(
          Task.fromIterable([1, 2, 3, 4, 5, 6, 7, 8]),
          tracked(refs, fail),
          retried ? { concurrency: 4, retry: { schedule: Schedule.recurs(1), while: () => true } } : { concurrency: 4 }
        ).pipe(Effect.provide(Executor.layer()))
        assert.strictEqual(report.summary.failed, 8)
        if (retried) assert.strictEqual(report.results.every((result) => result.failedAttempts.length === 1), true)
        const result = report.results[0]!
        assert(TaskResult.isFailed(result))
        // The cause is whole, its stack readable.
        assert.match(String(TaskResult.message(result)), /boom|died/)
        assert.match(
          String((result.error as Error).stack),
          /boom|died/
        )
        yield* collect
        assert.strictEqual(refs.length > 0, true)
        const alive = refs.filter((ref) => ref.deref() !== undefined).length
        assert.strictEqual(alive, 0, `${alive} of ${refs.length} instances and agent states still reachable`)
        // The report is still held here, and its results still read.
        assert.strictEqual(report.results.length, 8)
      }))
  }
})
