import { assert, describe, it } from "@effect/vitest"
import { Cause, Duration } from "effect"
import * as AgentInstance from "../src/AgentInstance.js"
import * as RunTally from "../src/RunTally.js"
import * as Task from "../src/Task.js"
import * as TaskResult from "../src/TaskResult.js"

const meta = (agent: string | undefined, index: number, durationMillis: number): TaskResult.Meta => ({
  task: Task.make({ id: `t${index}`, input: index }),
  index,
  instance: agent === undefined
    ? undefined
    : AgentInstance.make({ agent, runId: "r", taskId: `t${index}`, attempt: 1 }),
  startedAt: agent === undefined ? undefined : 0,
  durationMillis
})

const byAgent = (tally: RunTally.RunTally) =>
  tally.byAgent().map((counts) => [
    counts.agent,
    counts.summary.total,
    counts.summary.succeeded,
    counts.summary.failed,
    counts.summary.interrupted,
    counts.busyMillis,
    Duration.toMillis(counts.durations.max),
    Duration.toMillis(counts.durations.p50)
  ])

describe("RunTally", () => {
  it("a run of one agent has one row, the run's own", () => {
    const tally = RunTally.make({ agent: "a" })
    assert.deepStrictEqual(tally.byAgent(), [])
    tally.add(TaskResult.succeeded(meta("a", 0, 10), 0))
    tally.add(TaskResult.failed(meta("a", 1, 30), Cause.fail("no")))
    tally.add(TaskResult.interrupted(meta(undefined, 2, 0), { reason: "RunDeadline" }))
    assert.deepStrictEqual(byAgent(tally), [["a", 3, 1, 1, 1, 40, 30, 10]])
  })

  // Until a second agent's result comes, the run's agent's counts are the run's: they must split off intact.
  it("when another agent's result comes after the run's agent's, each agent keeps its own counts, in order", () => {
    const tally = RunTally.make({ agent: "a" })
    tally.add(TaskResult.succeeded(meta("a", 0, 10), 0))
    tally.add(TaskResult.succeeded(meta("a", 1, 20), 1))
    tally.add(TaskResult.failed(meta("b", 2, 100), Cause.fail("no")))
    tally.add(TaskResult.succeeded(meta("a", 3, 30), 3))
    tally.add(TaskResult.interrupted(meta(undefined, 4, 0), { reason: "RunDeadline" }))
    tally.add(TaskResult.succeeded(meta("c", 5, 5), 5))
    assert.deepStrictEqual(byAgent(tally), [
      ["a", 4, 3, 0, 1, 60, 30, 20],
      ["b", 1, 0, 1, 0, 100, 100, 100],
      ["c", 1, 1, 0, 0, 5, 5, 5]
    ])
    assert.deepStrictEqual(tally.summary, { total: 6, succeeded: 4, failed: 1, timedOut: 0, interrupted: 1 })
    assert.strictEqual(tally.busyMillis, 165)
    assert.strictEqual(Duration.toMillis(tally.durations().max), 100)
  })

  it("when another agent's result comes first, the run's agent follows it", () => {
    const tally = RunTally.make({ agent: "a" })
    tally.add(TaskResult.succeeded(meta("b", 0, 10), 0))
    tally.add(TaskResult.succeeded(meta("a", 1, 20), 1))
    assert.deepStrictEqual(byAgent(tally), [["b", 1, 1, 0, 0, 10, 10, 10], ["a", 1, 1, 0, 0, 20, 20, 20]])
  })
})
