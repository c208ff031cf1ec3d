/**
 * Run events and results as the HTTP API sends them: each `RunEvent` as one JSON object (its `_tag` and fields), a
 * task's result as its `TaskFile.resultLine` plus when and in which slot it started (what a timeline needs).
 *
 * @internal
 */
import * as Either from "effect/Either"
import type * as RunEvent from "../../../src/RunEvent.js"
import * as TaskFile from "../../../src/TaskFile.js"
import type * as TaskResult from "../../../src/TaskResult.js"

/**
 * JSON of a value that may not be JSON (a bigint, a cycle): such a value is sent as its string.
 *
 * @internal
 */
export const stringify = (value: unknown): string =>
  Either.getOrElse(
    Either.try(() => JSON.stringify(value) as string | undefined),
    () => undefined
  ) ?? JSON.stringify(String(value))

/**
 * A task's result as its end event carries it: its result line without what the event says already (`id`, the
 * event's `taskId`; `status`, its kind) and, unless `withAgent`, without `agent` (the task's last `TaskStarted`
 * named the instance), with `startedAt` (milliseconds since the epoch, `null` when it never started) and `slot`.
 *
 * @internal
 */
export const resultJson = (result: TaskResult.TaskResult<unknown, unknown>, withAgent: boolean) => {
  const { agent, id: _id, status: _status, ...line } = TaskFile.resultLine(result)
  return withAgent && agent !== undefined
    ? { ...line, agent, startedAt: result.startedAt ?? null, slot: result.slot }
    : { ...line, startedAt: result.startedAt ?? null, slot: result.slot }
}

/**
 * A result as one line of the results endpoint.
 *
 * @internal
 */
export const resultLine = (result: TaskResult.TaskResult<unknown, unknown>): string =>
  `${safeLine(TaskFile.resultLine(result))}\n`

const safeLine = (line: TaskFile.ResultLine): string =>
  Either.getOrElse(
    Either.try(() => JSON.stringify(line)),
    () => JSON.stringify({ ...line, value: String(line.value) })
  )

const safeEvent = (fields: Record<string, unknown>): string =>
  Either.getOrElse(
    Either.try(() => JSON.stringify(fields)),
    () => stringify({ ...fields, result: { ...(fields.result as object), value: undefined } })
  )

/**
 * An event as it is sent: its kind, and its JSON. A `RunStarted` of a stream of tasks gets the number of tasks the
 * run was given. A task's events leave out what the stream says already, `_tag` (the SSE `event`) and `runId` (the
 * run the stream is of), and a task's end leaves out of its result what the event and the task's `TaskStarted` say
 * (`resultJson`): each reader of a busy run gets about 420 bytes a task (520 when the ends
 * repeated them); the run's own events keep them.
 * `replay` is for a log rebuilt from a run's results, which has no `TaskStarted`: its ends keep their `agent`, as do
 * the results a journal replayed.
 *
 * @internal
 */
export const encode = (
  event: RunEvent.RunEvent,
  total: number,
  replay = false
): { readonly type: string; readonly data: string } => {
  switch (event._tag) {
    case "TaskQueued":
      return {
        type: event._tag,
        data: `{"at":${event.at},"taskId":${JSON.stringify(event.taskId)},"index":${event.index}}`
      }
    case "TaskStarted":
      return {
        type: event._tag,
        data: `{"at":${event.at},"taskId":${JSON.stringify(event.taskId)},"index":${event.index},"agent":${
          JSON.stringify(event.agent)
        },"attempt":${event.attempt}}`
      }
    case "TaskRetrying":
    case "TaskOutput": {
      const { _tag, runId: _, ...fields } = event
      return { type: _tag, data: stringify(fields) }
    }
    case "TaskSucceeded":
    case "TaskFailed":
    case "TaskTimedOut":
    case "TaskInterrupted":
      return {
        type: event._tag,
        data: safeEvent({
          at: event.at,
          taskId: event.taskId,
          index: event.index,
          result: resultJson(event.result, replay || event.result.replayed)
        })
      }
    case "RunStarted":
      return { type: event._tag, data: JSON.stringify({ ...event, total: event.total ?? total }) }
    case "RunFinished":
      return { type: event._tag, data: JSON.stringify(event) }
  }
}
