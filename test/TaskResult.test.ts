import { assert, describe, it } from "@effect/vitest"
import { Cause, Duration, Exit, FiberId, Option, pipe, Schema } from "effect"
import * as AgentError from "../src/AgentError.js"
import * as AgentInstance from "../src/AgentInstance.js"
import * as Task from "../src/Task.js"
import * as TaskResult from "../src/TaskResult.js"

const instanceFor = (taskId: string, attempt = 1) =>
  AgentInstance.make({ agent: "summarizer", runId: "run1", taskId, attempt })

const meta = (taskId: string, index: number, options?: {
  readonly started?: boolean
  readonly startedAt?: number
  readonly durationMillis?: number
  readonly attempt?: number
}): TaskResult.Meta => {
  const started = options?.started ?? true
  return {
    task: Task.make({ id: taskId, input: `input ${taskId}`, labels: { n: String(index) } }),
    index,
    instance: started ? instanceFor(taskId, options?.attempt) : undefined,
    startedAt: started ? (options?.startedAt ?? 1000) : undefined,
    durationMillis: options?.durationMillis ?? 0
  }
}

const cases = {
  onSucceeded: (r: TaskResult.Succeeded<number>) => `succeeded:${r.value}`,
  onFailed: (r: TaskResult.Failed<string>) => `failed:${Cause.squash(r.cause)}`,
  onTimedOut: (r: TaskResult.TimedOut) => `timedOut:${r.reason}`,
  onInterrupted: (r: TaskResult.Interrupted) => `interrupted:${r.reason}`
}

describe("TaskResult", () => {
  describe("constructors", () => {
    it("succeeded keeps the value and the meta", () => {
      const m = meta("a", 3, { startedAt: 500, durationMillis: 42 })
      const result = TaskResult.succeeded(m, { label: "positive" })
      assert.strictEqual(result._tag, "Succeeded")
      assert.deepStrictEqual(result.value, { label: "positive" })
      assert.strictEqual(result.task, m.task)
      assert.strictEqual(result.index, 3)
      // The identity is kept as a value (the result does not hold the instance object).
      assert.deepStrictEqual(result.instance?.toString(), m.instance?.name)
      assert.deepStrictEqual(
        [result.instance?.agent, result.instance?.runId, result.instance?.taskId, result.instance?.attempt],
        [m.instance?.agent, m.instance?.runId, m.instance?.taskId, m.instance?.attempt]
      )
      assert.strictEqual(result.startedAt, 500)
      assert.strictEqual(result.durationMillis, 42)
    })

    it("startedAt and queuedAt are given back exactly, whole milliseconds or not, started or not", () => {
      const cases: ReadonlyArray<readonly [startedAt: number | undefined, queuedAt: number | undefined]> = [
        [1_764_900_000_123, 1_764_900_000_000],
        [1_764_900_000_000, 1_764_900_000_000],
        [1000.25, 999.5],
        [0.3, 0.1],
        [1000, 1500],
        [Number.MAX_SAFE_INTEGER + 2, 5],
        [Number.MIN_SAFE_INTEGER, undefined],
        [Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER],
        [-3, -10],
        [1_764_900_000_124, 1_764_900_000_124],
        [1000, undefined],
        [undefined, 1_764_900_000_000],
        [undefined, undefined]
      ]
      // The results of one run (here: of one agent and run id) share their agent and run, and a time base their
      // start is an offset from: the first case's start. Every later one, before it, after it, or too far from it for
      // an exact offset, comes back as it went in.
      for (const [startedAt, queuedAt] of cases) {
        const started = startedAt !== undefined
        const result = TaskResult.succeeded({ ...meta("a", 0, { started, startedAt: startedAt ?? 0 }), queuedAt }, 1)
        assert.strictEqual(result.queuedAt, queuedAt, `startedAt ${startedAt}, queuedAt ${queuedAt}`)
        assert.strictEqual(result.startedAt, startedAt)
        const schema = TaskResult.schema()
        const back = Schema.decodeSync(schema)(Schema.encodeSync(schema)(result))
        assert.strictEqual(back.queuedAt, queuedAt)
        assert.strictEqual(back.startedAt, startedAt)
      }
    })

    it("failed keeps an error whose stack or cause cannot be read as it is", () => {
      const error = new Error("odd")
      Object.defineProperty(error, "stack", {
        get() {
          throw new Error("no stack here")
        }
      })
      const withCause = new Error("outer", { cause: error })
      Object.defineProperty(withCause, "cause", {
        get() {
          throw new Error("no cause here")
        }
      })
      for (
        const cause of [
          Cause.fail(error),
          Cause.die(withCause),
          Cause.sequential(Cause.fail(new Error("plain")), Cause.die(error))
        ]
      ) {
        const result = TaskResult.failed(meta("a", 0), cause)
        assert.strictEqual(result.cause, cause)
      }
    })

    it("failed keeps the cause and exposes the first error", () => {
      const cause = Cause.fail({ _tag: "RateLimited" as const })
      const result = TaskResult.failed(meta("a", 0), cause)
      assert.strictEqual(result._tag, "Failed")
      assert.strictEqual(result.cause, cause)
      assert.deepStrictEqual(result.error, { _tag: "RateLimited" })
    })

    it("failed exposes the defect as the error when there is no typed error", () => {
      const defect = new Error("boom")
      const result = TaskResult.failed(meta("a", 0), Cause.die(defect))
      assert.strictEqual(result.error, defect)
    })

    it("timedOut decodes the timeout and keeps the reason", () => {
      const result = TaskResult.timedOut(meta("a", 0, { durationMillis: 300 }), {
        reason: "TaskTimeout",
        timeout: "300 millis"
      })
      assert.strictEqual(result._tag, "TimedOut")
      assert.strictEqual(result.reason, "TaskTimeout")
      assert(Duration.isDuration(result.timeout))
      assert.strictEqual(Duration.toMillis(result.timeout), 300)
    })

    it("interrupted defaults its cause to an interruption", () => {
      const result = TaskResult.interrupted(meta("a", 0, { started: false }), { reason: "RunDeadline" })
      assert.strictEqual(result._tag, "Interrupted")
      assert.strictEqual(result.reason, "RunDeadline")
      assert.isTrue(Cause.isInterruptedOnly(result.cause))
      assert.isFalse(Cause.isEmpty(result.cause))
    })

    it("interrupted keeps the cause it is given", () => {
      const cause = Cause.interrupt(FiberId.make(7, 0))
      const result = TaskResult.interrupted(meta("a", 0), { reason: "Interrupted", cause })
      assert.strictEqual(result.cause, cause)
    })
  })

  describe("fromExit", () => {
    it("a success is Succeeded", () => {
      const result = TaskResult.fromExit(meta("a", 1), Exit.succeed(7))
      assert(TaskResult.isSucceeded(result))
      assert.strictEqual(result.value, 7)
      assert.strictEqual(result.index, 1)
    })

    it("an interruption-only cause is Interrupted, with the cause kept", () => {
      const cause = Cause.parallel(Cause.interrupt(FiberId.make(1, 0)), Cause.interrupt(FiberId.make(2, 0)))
      const result = TaskResult.fromExit(meta("a", 0), Exit.failCause(cause))
      assert(TaskResult.isInterrupted(result))
      assert.strictEqual(result.reason, "Interrupted")
      assert.strictEqual(result.cause, cause)
    })

    it("a typed failure is Failed", () => {
      const result = TaskResult.fromExit(meta("a", 0), Exit.fail("no quota"))
      assert(TaskResult.isFailed(result))
      assert.deepStrictEqual(Cause.failureOption(result.cause), Option.some("no quota"))
      assert.strictEqual(result.error, "no quota")
    })

    it("a defect is Failed", () => {
      const result = TaskResult.fromExit(meta("a", 0), Exit.die(new Error("bug")))
      assert(TaskResult.isFailed(result))
      assert(Cause.isDie(result.cause))
      assert.strictEqual((result.error as Error).message, "bug")
    })

    it("keeps the whole cause when a failure and a defect happened one after another", () => {
      const defect = new Error("finalizer crashed")
      const cause = Cause.sequential(Cause.fail("bad output"), Cause.die(defect))
      const result = TaskResult.fromExit(meta("a", 0), Exit.failCause(cause))
      assert(TaskResult.isFailed(result))
      assert.strictEqual(result.cause, cause)
      assert.deepStrictEqual(Array.from(Cause.failures(result.cause)), ["bad output"])
      assert.deepStrictEqual(Array.from(Cause.defects(result.cause)), [defect])
      assert.strictEqual(result.error, "bad output")
    })

    it("keeps the whole cause when a failure and a defect happened in parallel", () => {
      const defect = new Error("crash")
      const cause = Cause.parallel(Cause.die(defect), Cause.fail("timeout upstream"))
      const result = TaskResult.fromExit(meta("a", 0), Exit.failCause(cause))
      assert(TaskResult.isFailed(result))
      assert.strictEqual(result.cause, cause)
      assert.deepStrictEqual(Array.from(Cause.failures(result.cause)), ["timeout upstream"])
      assert.deepStrictEqual(Array.from(Cause.defects(result.cause)), [defect])
      // A typed error takes precedence over a defect.
      assert.strictEqual(result.error, "timeout upstream")
    })

    it("a failure mixed with an interruption is Failed, not Interrupted", () => {
      const cause = Cause.sequential(Cause.interrupt(FiberId.make(1, 0)), Cause.fail("late failure"))
      const result = TaskResult.fromExit(meta("a", 0), Exit.failCause(cause))
      assert(TaskResult.isFailed(result))
      assert.strictEqual(result.cause, cause)
    })
  })

  describe("getters", () => {
    it("read the task, the instance and the duration", () => {
      const result = TaskResult.succeeded(meta("doc-9", 9, { attempt: 2, durationMillis: 1250 }), "ok")
      assert.strictEqual(result.taskId, "doc-9")
      assert.strictEqual(result.agent, "summarizer#run1/doc-9/2")
      assert.strictEqual(result.attempt, 2)
      assert.isTrue(result.started)
      assert(Duration.isDuration(result.duration))
      assert.strictEqual(Duration.toMillis(result.duration), 1250)
    })

    it("a task that never started has no agent, attempt 0 and is not started", () => {
      const result = TaskResult.interrupted(meta("late", 4, { started: false }), { reason: "RunDeadline" })
      assert.strictEqual(result.taskId, "late")
      assert.isUndefined(result.agent)
      assert.strictEqual(result.attempt, 0)
      assert.isFalse(result.started)
      assert.isUndefined(result.startedAt)
      assert.strictEqual(Duration.toMillis(result.duration), 0)
    })
  })

  describe("guards", () => {
    const all: ReadonlyArray<TaskResult.TaskResult<number, string>> = [
      TaskResult.succeeded(meta("s", 0), 1),
      TaskResult.failed(meta("f", 1), Cause.fail("x")),
      TaskResult.timedOut(meta("t", 2), { reason: "TaskTimeout", timeout: 10 }),
      TaskResult.interrupted(meta("i", 3), { reason: "Interrupted" })
    ]

    it("each guard recognises exactly its own outcome", () => {
      assert.deepStrictEqual(all.map(TaskResult.isSucceeded), [true, false, false, false])
      assert.deepStrictEqual(all.map(TaskResult.isFailed), [false, true, false, false])
      assert.deepStrictEqual(all.map(TaskResult.isTimedOut), [false, false, true, false])
      assert.deepStrictEqual(all.map(TaskResult.isInterrupted), [false, false, false, true])
    })

    it("isTaskResult recognises every outcome and nothing else", () => {
      assert.isTrue(all.every(TaskResult.isTaskResult))
      assert.isFalse(TaskResult.isTaskResult({ _tag: "Succeeded", value: 1 }))
      assert.isFalse(TaskResult.isTaskResult(Exit.succeed(1)))
      assert.isFalse(TaskResult.isTaskResult(null))
    })
  })

  describe("match", () => {
    const all: ReadonlyArray<TaskResult.TaskResult<number, string>> = [
      TaskResult.succeeded(meta("s", 0), 5),
      TaskResult.failed(meta("f", 1), Cause.fail("nope")),
      TaskResult.timedOut(meta("t", 2), { reason: "RunDeadline", timeout: 10 }),
      TaskResult.interrupted(meta("i", 3), { reason: "Interrupted" })
    ]
    const expected = ["succeeded:5", "failed:nope", "timedOut:RunDeadline", "interrupted:Interrupted"]

    it("data-first calls the case of each outcome", () => {
      assert.deepStrictEqual(all.map((result) => TaskResult.match(result, cases)), expected)
    })

    it("data-last calls the case of each outcome", () => {
      assert.deepStrictEqual(all.map((result) => pipe(result, TaskResult.match(cases))), expected)
      assert.deepStrictEqual(all.map(TaskResult.match(cases)), expected)
    })
  })

  describe("partition", () => {
    it("splits by outcome, keeping input order within each group", () => {
      const results: Array<TaskResult.TaskResult<number, string>> = [
        TaskResult.failed(meta("f0", 0), Cause.fail("a")),
        TaskResult.succeeded(meta("s1", 1), 1),
        TaskResult.timedOut(meta("t2", 2), { reason: "TaskTimeout", timeout: 5 }),
        TaskResult.succeeded(meta("s3", 3), 3),
        TaskResult.interrupted(meta("i4", 4), { reason: "Interrupted" }),
        TaskResult.failed(meta("f5", 5), Cause.die("b")),
        TaskResult.succeeded(meta("s6", 6), 6),
        TaskResult.timedOut(meta("t7", 7), { reason: "RunDeadline", timeout: 5 }),
        TaskResult.interrupted(meta("i8", 8, { started: false }), { reason: "RunDeadline" })
      ]
      const parts = TaskResult.partition(results)
      assert.deepStrictEqual(parts.succeeded.map((r) => r.taskId), ["s1", "s3", "s6"])
      assert.deepStrictEqual(parts.succeeded.map((r) => r.value), [1, 3, 6])
      assert.deepStrictEqual(parts.failed.map((r) => r.taskId), ["f0", "f5"])
      assert.deepStrictEqual(parts.timedOut.map((r) => r.taskId), ["t2", "t7"])
      assert.deepStrictEqual(parts.interrupted.map((r) => r.taskId), ["i4", "i8"])
    })

    it("accepts any iterable and returns empty groups for no results", () => {
      function* none(): Generator<TaskResult.TaskResult<number, string>> {}
      assert.deepStrictEqual(TaskResult.partition(none()), { succeeded: [], failed: [], timedOut: [], interrupted: [] })
    })
  })

  describe("message", () => {
    it("describes each outcome in one line", () => {
      assert.strictEqual(TaskResult.message(TaskResult.succeeded(meta("a", 0), 1)), "succeeded")
      assert.strictEqual(TaskResult.message(TaskResult.failed(meta("a", 0), Cause.die(new Error("boom")))), "boom")
      assert.strictEqual(
        TaskResult.message(TaskResult.failed(meta("a", 0), Cause.fail("plain string"))),
        "plain string"
      )
      assert.strictEqual(
        TaskResult.message(TaskResult.failed(meta("a", 0), Cause.fail({ _tag: "Tagged", message: "with message" }))),
        "with message"
      )
      assert.strictEqual(
        TaskResult.message(TaskResult.timedOut(meta("a", 0), { reason: "TaskTimeout", timeout: "2 seconds" })),
        "summarizer#run1/a/1: task a was stopped by its timeout (2s)"
      )
      assert.strictEqual(
        TaskResult.message(TaskResult.interrupted(meta("a", 0), { reason: "Interrupted" })),
        "interrupted"
      )
      assert.strictEqual(
        TaskResult.message(TaskResult.interrupted(meta("a", 0, { started: false }), { reason: "RunDeadline" })),
        "not started before the run's deadline"
      )
    })

    it("describes an agent error by its message", () => {
      const error = new AgentError.AgentBuildError({ agent: "x", taskId: "a", cause: "no credentials" })
      const result = TaskResult.failed(meta("a", 0), Cause.fail(error))
      assert.strictEqual(TaskResult.message(result), "x: building the agent for task a failed: no credentials")
    })
  })

  describe("toJSON", () => {
    it("gives a plain object for each outcome", () => {
      const common = (taskId: string, index: number) => ({
        taskId,
        index,
        agent: `summarizer#run1/${taskId}/1`,
        attempt: 1,
        startedAt: 1000,
        durationMillis: 20,
        slot: 2
      })
      const m = (taskId: string, index: number) => ({ ...meta(taskId, index, { durationMillis: 20 }), slot: 2 })
      assert.deepStrictEqual(TaskResult.succeeded(m("s", 0), { n: 1 }).toJSON(), {
        _tag: "Succeeded",
        ...common("s", 0),
        value: { n: 1 }
      })
      assert.deepStrictEqual(TaskResult.failed(m("f", 1), Cause.fail("bad")).toJSON(), {
        _tag: "Failed",
        ...common("f", 1),
        cause: { _id: "Cause", _tag: "Fail", error: "bad" },
        message: "bad"
      })
      assert.deepStrictEqual(TaskResult.timedOut(m("t", 2), { reason: "TaskTimeout", timeout: "3 seconds" }).toJSON(), {
        _tag: "TimedOut",
        ...common("t", 2),
        reason: "TaskTimeout",
        timeoutMillis: 3000
      })
      assert.deepStrictEqual(TaskResult.interrupted(m("i", 3), { reason: "Interrupted" }).toJSON(), {
        _tag: "Interrupted",
        ...common("i", 3),
        reason: "Interrupted"
      })
    })

    it("survives JSON.stringify for a task that never started", () => {
      const result = TaskResult.interrupted(meta("late", 5, { started: false }), { reason: "RunDeadline" })
      assert.deepStrictEqual(JSON.parse(JSON.stringify(result)), {
        _tag: "Interrupted",
        taskId: "late",
        index: 5,
        attempt: 0,
        durationMillis: 0,
        slot: -1,
        reason: "RunDeadline"
      })
    })
  })

  describe("TimedOut.error", () => {
    it("is an AgentTimeout with the agent, task, reason and timeout", () => {
      const result = TaskResult.timedOut(meta("doc-3", 3, { durationMillis: 500 }), {
        reason: "RunDeadline",
        timeout: "5 seconds"
      })
      const error = result.error
      assert(error instanceof AgentError.AgentTimeout)
      assert.isTrue(AgentError.isAgentError(error))
      assert.strictEqual(error._tag, "AgentTimeout")
      assert.strictEqual(error.agent, "summarizer#run1/doc-3/1")
      assert.strictEqual(error.taskId, "doc-3")
      assert.strictEqual(error.reason, "RunDeadline")
      assert.strictEqual(Duration.toMillis(error.timeout), 5000)
      assert.strictEqual(error.message, "summarizer#run1/doc-3/1: task doc-3 was stopped by the run's deadline (5s)")
    })
  })
})

describe("TaskResult started", () => {
  it("a result without a start time did not start, whatever instance it names", () => {
    const instance = AgentInstance.make({ agent: "a", runId: "r", taskId: "t", attempt: 2 })
    const task = Task.make({ id: "t", input: 0 })
    const unstarted = TaskResult.succeeded({ task, index: 0, instance, startedAt: undefined, durationMillis: 5 }, 1)
    assert.isFalse(unstarted.started)
    assert.isUndefined(unstarted.startedAt)
    assert.strictEqual(unstarted.attempt, 0)
    const started = TaskResult.succeeded({ task, index: 0, instance, startedAt: 1000, durationMillis: 5 }, 1)
    assert.isTrue(started.started)
    assert.strictEqual(started.attempt, 2)
    assert.strictEqual(started.slot, -1)
  })
})
