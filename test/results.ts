/**
 * Results of tasks read from line `line` of a task file, for tests of what reads results (`TaskFile.resultLine`,
 * the command line's tally): a success with usage, bad input, a timeout.
 */
import { Cause } from "effect"
import { AgentInputError } from "../src/AgentError.js"
import * as AgentInstance from "../src/AgentInstance.js"
import * as Task from "../src/Task.js"
import * as TaskResult from "../src/TaskResult.js"
import * as Usage from "../src/Usage.js"

const task = (line: number, id = String(line)) => Task.make({ id, input: {}, labels: { line: String(line) } })

/** What every result of line `line` has: the task, its index, the instance `classifier#r1/<line>/<attempt>`. */
export const meta = (line: number, durationMillis = 100, attempt = 1) => ({
  task: task(line),
  index: line - 1,
  instance: AgentInstance.make({ agent: "classifier", runId: "r1", taskId: String(line), attempt }),
  startedAt: 1_000,
  durationMillis
})

/** Succeeded with `{ label: "positive" }` in 100 ms, 1 request of 30 + 5 tokens. */
export const succeeded = (line: number) =>
  TaskResult.succeeded(
    { ...meta(line), usage: Usage.make({ requests: 1, inputTokens: 30, outputTokens: 5 }) },
    { label: "positive" }
  )

/** Failed with an `AgentInputError`: `text` is missing. */
export const badInput = (line: number) =>
  TaskResult.failed(
    meta(line, 0),
    Cause.fail(
      new AgentInputError({
        agent: "classifier",
        taskId: String(line),
        path: ["text"],
        issues: [{ path: ["text"], message: "is missing" }]
      })
    )
  )

/** Timed out after 30 seconds. */
export const timedOut = (line: number) =>
  TaskResult.timedOut(meta(line, 30_000), { reason: "TaskTimeout", timeout: "30 seconds" })
