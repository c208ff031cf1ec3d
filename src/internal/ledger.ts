import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as AgentError from "../AgentError.js"
import * as RunJournal from "../RunJournal.js"
import type * as Task from "../Task.js"
import * as TaskResult from "../TaskResult.js"
import type * as RunOne from "./runOne.js"

/**
 * A durable run's ledger over a `RunJournal`: what the journal holds for the run is read once, at the start, into a
 * map by task id; a task with a final result there is replayed (`replayed: true`) instead of run, unless its input
 * changed (then it fails with `JournalInputChanged`, and the recorded result stays) or the caller asked to retry
 * failures; every final result the run produces is recorded, with its input's hash, before it is published.
 *
 * @internal
 */
export interface Options {
  readonly runId: string
  readonly agent: string
  readonly journal: RunJournal.Service
  /** Runs again the tasks whose recorded result is `Failed` or `TimedOut`. */
  readonly retryFailed: boolean
  /** The run's output schema, which encodes what its results hold; the value as it is (JSON) without one. */
  readonly output: Schema.Schema<unknown, unknown, never> | undefined
}

/**
 * What a result is stored as: `TaskResult.schema`'s JSON, without the task's input (the entry keeps its hash; the
 * task that replays it brings the input back).
 */
type Stored = TaskResult.Encoded

/** @internal */
export const make = Effect.fnUntraced(function*(options: Options) {
  const { journal, runId } = options
  const schema = TaskResult.schema({ value: options.output }) as unknown as Schema.Schema<
    TaskResult.TaskResult<unknown, unknown>,
    Stored
  >
  const encode = Schema.encode(schema)
  const decode = Schema.decode(schema)
  const kept = new Map<string, RunJournal.Entry>()
  yield* Stream.runForEachChunk(journal.entries(runId), (chunk) =>
    Effect.sync(() => {
      for (const entry of chunk) kept.set(entry.taskId, entry)
    }))
  // The hash of each task's input, from `replay` to `record`; `undefined` for a task whose result is not recorded.
  const hashes = new WeakMap<Task.Task<unknown>, string | undefined>()

  // A recorded result that does not read back (damaged, or recorded by another version or with another output
  // schema) is no result: the task runs again, and its new result is recorded in its place. It failed the run
  // before, so that no task of it could be replayed.
  const unreadable = (taskId: string, error: ParseResult.ParseError) =>
    Effect.logWarning(
      `the journal's result of task ${taskId} does not read back as a result (${
        ParseResult.ArrayFormatter.formatErrorSync(error).slice(0, 1).map((issue) =>
          `${issue.path.length === 0 ? "" : `at ${JSON.stringify(issue.path)}: `}${issue.message}`
        ).join("")
      }): it runs again`
    ).pipe(
      Effect.annotateLogs({ package: "effect-parallel-agents", module: "Executor", runId, taskId }),
      Effect.as(undefined)
    )

  // The recorded result, as the result of the task given now (its input, its labels, its position).
  const replayed = (
    result: TaskResult.TaskResult<unknown, unknown>,
    task: Task.Task<unknown>,
    index: number,
    queuedAt: number
  ): TaskResult.TaskResult<unknown, unknown> => {
    const meta: TaskResult.Meta = {
      task,
      index,
      instance: result.instance,
      startedAt: result.startedAt,
      queuedAt,
      durationMillis: result.durationMillis,
      usage: result.usage,
      failedAttempts: result.failedAttempts,
      replayed: true
    }
    switch (result._tag) {
      case "Succeeded":
        return TaskResult.succeeded(meta, result.value)
      case "Failed":
        return TaskResult.failed(meta, result.cause)
      case "TimedOut":
        return TaskResult.timedOut(meta, { reason: result.reason, timeout: result.timeout })
      case "Interrupted":
        return TaskResult.interrupted(meta, { reason: result.reason, cause: result.cause })
    }
  }

  // The ids of the tasks this run has seen, and where: the journal keeps one result per id.
  const seen = new Map<string, number>()

  const replay = (
    task: Task.Task<unknown>,
    index: number,
    queuedAt: number
  ): Effect.Effect<TaskResult.TaskResult<unknown, unknown> | undefined, RunJournal.RunJournalError> => {
    const first = seen.get(task.id)
    if (first !== undefined) {
      // A stream may repeat an id (a list may not): the task is not run, as its result could not be kept apart.
      hashes.set(task, undefined)
      return Effect.succeed(TaskResult.failed(
        { task, index, instance: undefined, startedAt: undefined, queuedAt, durationMillis: 0 },
        Cause.fail(
          new AgentError.TaskOptionsError({
            agent: options.agent,
            taskId: task.id,
            option: "id",
            description:
              `a durable run keeps one result per task id, and the run's task at position ${first} (from 0) ` +
              `has this id`
          })
        )
      ))
    }
    seen.set(task.id, index)
    return RunJournal.hashInput(task.input).pipe(
      Effect.matchEffect({
        // An input that is not JSON has no hash: the task runs, and its result is not recorded.
        onFailure: () => {
          hashes.set(task, undefined)
          return Effect.succeed(undefined)
        },
        onSuccess: (inputHash) => {
          const entry = kept.get(task.id)
          if (entry !== undefined && entry.inputHash !== inputHash) {
            hashes.set(task, undefined)
            return Effect.succeed(
              TaskResult.failed(
                { task, index, instance: undefined, startedAt: undefined, queuedAt, durationMillis: 0 },
                Cause.fail(
                  new AgentError.JournalInputChanged({
                    agent: options.agent,
                    taskId: task.id,
                    runId,
                    recordedHash: entry.inputHash,
                    inputHash
                  })
                )
              )
            )
          }
          hashes.set(task, inputHash)
          if (
            entry === undefined || entry.outcome === "Interrupted" ||
            (options.retryFailed && (entry.outcome === "Failed" || entry.outcome === "TimedOut"))
          ) return Effect.succeed(undefined)
          return decode(entry.result as Stored).pipe(
            Effect.matchEffect({
              onFailure: (error) => unreadable(task.id, error),
              onSuccess: (result) => Effect.succeed(replayed(result, task, index, queuedAt))
            })
          )
        }
      })
    )
  }

  const record = (result: TaskResult.TaskResult<unknown, unknown>): Effect.Effect<void, RunJournal.RunJournalError> => {
    // Interrupted is never final; a task that never started (its budget, its options, a changed input) runs on
    // resume. Nor is a task the run's deadline stopped (TimedOut, `RunDeadline`): the deadline is the run's, as
    // Ctrl-C is, not the task's; its own timeout (`TaskTimeout`) is final.
    if (
      result._tag === "Interrupted" || !result.started ||
      (result._tag === "TimedOut" && result.reason === "RunDeadline")
    ) return Effect.void
    // A result of a task `replay` did not see (one run elsewhere, whose task was read back) is hashed here.
    const hashed = hashes.has(result.task)
      ? Effect.succeed(hashes.get(result.task))
      : Effect.orElseSucceed(RunJournal.hashInput(result.task.input), () => undefined)
    return Effect.flatMap(hashed, (inputHash) => inputHash === undefined ? Effect.void : store(result, inputHash))
  }

  const store = (result: TaskResult.TaskResult<unknown, unknown>, inputHash: string) =>
    encode(result).pipe(
      Effect.mapError((error) =>
        new RunJournal.RunJournalError({
          reason: "Encode",
          runId,
          taskId: result.taskId,
          description: `the result cannot be written: ${ParseResult.TreeFormatter.formatErrorSync(error)}`,
          cause: error
        })
      ),
      Effect.flatMap((stored) =>
        journal.record(runId, {
          taskId: result.taskId,
          inputHash,
          outcome: result._tag,
          result: { ...stored, task: { ...stored.task, input: null }, replayed: undefined }
        })
      )
    )

  const ledger: RunOne.Ledger = { replay, record }
  return ledger
})
