/**
 * The cluster entity that runs agent tasks: `AgentTask`, whose one message, `Run`, carries a task, the name of the
 * agent to run it with and the run's options, and whose reply is the task's result. `Run` is persisted with the
 * primary key `runId/taskId`: a runner that dies loses nothing (its unanswered tasks move to another runner), and a
 * task sent again for the same run gets the stored result back instead of a second call of its agent.
 *
 * @since 0.1.0
 */
import * as ClusterSchema from "@effect/cluster/ClusterSchema"
import * as Entity from "@effect/cluster/Entity"
import * as Rpc from "@effect/rpc/Rpc"
import * as Duration from "effect/Duration"
import * as Either from "effect/Either"
import * as Hash from "effect/Hash"
import * as Schema from "effect/Schema"
import * as TaskResult from "../../src/TaskResult.js"

// =============================================================================
// payload
// =============================================================================

/**
 * A task as it travels: its id, its input (JSON), its labels and its own timeout, if any.
 *
 * @category models
 * @since 0.1.0
 */
export const Task = Schema.Struct({
  id: Schema.String,
  input: Schema.Unknown,
  labels: Schema.Record({ key: Schema.String, value: Schema.String }),
  timeout: Schema.optional(Schema.DurationFromMillis)
}).annotations({ identifier: "AgentTask.Task" })

/**
 * @category models
 * @since 0.1.0
 */
export interface Task extends Schema.Schema.Type<typeof Task> {}

/**
 * What a `Run` message carries: the run's id, the registered name of the agent, the task, and the run options the
 * runner needs (the per-task timeout, and how many times a failed attempt is retried).
 *
 * @category models
 * @since 0.1.0
 */
export const Payload = {
  runId: Schema.String,
  agent: Schema.String,
  task: Task,
  timeout: Schema.optional(Schema.DurationFromMillis),
  retries: Schema.optional(Schema.Int.pipe(Schema.nonNegative()))
}

// =============================================================================
// reply
// =============================================================================

/**
 * How a task ended.
 *
 * @category models
 * @since 0.1.0
 */
export const Outcome = Schema.Literal("Succeeded", "Failed", "TimedOut", "Interrupted")

/**
 * @category models
 * @since 0.1.0
 */
export type Outcome = Schema.Schema.Type<typeof Outcome>

/**
 * A task's result as it is stored and sent back: how it ended, the agent's answer (JSON, encoded with the agent's
 * output schema when it has one) or the error's message, the attempt that ended it and how long it took.
 *
 * **Gotchas**
 *
 * A stand-in for the engine's own encoding of a `TaskResult`, which keeps every field; `encode` and `Result` are
 * the only places that know this shape.
 *
 * @category models
 * @since 0.1.0
 */
export const Result = Schema.Struct({
  outcome: Outcome,
  value: Schema.optional(Schema.Unknown),
  error: Schema.optional(Schema.String),
  attempt: Schema.Int,
  durationMillis: Schema.Number
}).annotations({ identifier: "AgentTask.Result" })

/**
 * @category models
 * @since 0.1.0
 */
export interface Result extends Schema.Schema.Type<typeof Result> {}

/**
 * The reply to `Run`: the result, the address of the runner that produced it (`host:port`), and what it was
 * produced from: the agent's name and the input's `fingerprint`. A coordinator that gets a stored reply back checks
 * them, so that a run id reused for another agent or other inputs does not pass old results off as new ones.
 *
 * @category models
 * @since 0.1.0
 */
export const Reply = Schema.Struct({
  runner: Schema.String,
  agent: Schema.String,
  input: Schema.Number,
  result: Result
}).annotations({ identifier: "AgentTask.Reply" })

/**
 * @category models
 * @since 0.1.0
 */
export interface Reply extends Schema.Schema.Type<typeof Reply> {}

// =============================================================================
// entity
// =============================================================================

/**
 * Runs one task. Persisted, with the primary key `runId/taskId`. A coordinator that stops does not interrupt it
 * (the message is uninterruptible for clients): the task ends on its runner and its result is stored, for a
 * coordinator restarted with the same run id.
 *
 * @category models
 * @since 0.1.0
 */
export const Run = Rpc.make("Run", {
  payload: Payload,
  success: Reply,
  primaryKey: ({ runId, task }) => primaryKey(runId, task.id)
}).annotate(ClusterSchema.Persisted, true).annotate(ClusterSchema.Uninterruptible, "client")

/**
 * The entity: one per task, with the id `runId/taskId`.
 *
 * @category models
 * @since 0.1.0
 */
export const AgentTask = Entity.make("AgentTask", [Run])

/**
 * A task's key within the cluster: `runId/taskId`, the entity id and the message's primary key.
 *
 * @category constructors
 * @since 0.1.0
 */
export const primaryKey = (runId: string, taskId: string): string => `${runId}/${taskId}`

// =============================================================================
// encoding
// =============================================================================

/**
 * A 32-bit hash of a task's input (JSON data), as its reply records it.
 *
 * @category constructors
 * @since 0.1.0
 */
export const fingerprint = (input: unknown): number => Hash.string(JSON.stringify(input) ?? "null")

const json = Schema.parseJson()

/**
 * A value as plain JSON data, or why it is not JSON (a `BigInt`, a cycle).
 *
 * @category constructors
 * @since 0.1.0
 */
export const toJson = (value: unknown): Either.Either<unknown, string> => {
  if (value === undefined) return Either.right(null)
  return Either.flatMap(
    Either.mapLeft(Schema.encodeEither(json)(value), (error) => error.message),
    (text) => Either.mapLeft(Schema.decodeEither(json)(text), (error) => error.message)
  )
}

/**
 * Encodes a task's result for the reply: the value of a success goes through the agent's output schema, when it
 * has one, then must be JSON; a value that is not ends the task `Failed` with the reason.
 *
 * @category constructors
 * @since 0.1.0
 */
export const encode = <A, I>(
  result: TaskResult.TaskResult<A, unknown>,
  output?: Schema.Schema<A, I, never> | undefined
): Result => {
  const common = { attempt: result.attempt, durationMillis: result.durationMillis }
  if (result._tag !== "Succeeded") {
    return { outcome: result._tag, error: TaskResult.message(result), ...common }
  }
  const encoded: Either.Either<unknown, string> = output === undefined
    ? Either.right(result.value)
    : Either.mapLeft(Schema.encodeEither(output)(result.value), (error) => error.message)
  return Either.match(Either.flatMap(encoded, toJson), {
    onLeft: (reason): Result => ({
      outcome: "Failed",
      error: `the answer of task ${result.taskId} could not be sent back as JSON: ${reason}`,
      ...common
    }),
    onRight: (value): Result => ({ outcome: "Succeeded", value, ...common })
  })
}

/**
 * A result for a task that never ran: `Failed` with this message, at attempt 0.
 *
 * @category constructors
 * @since 0.1.0
 */
export const failed = (error: string, duration: Duration.Duration = Duration.zero): Result => ({
  outcome: "Failed",
  error,
  attempt: 0,
  durationMillis: Duration.toMillis(duration)
})
