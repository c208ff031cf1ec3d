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
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Hash from "effect/Hash"
import type * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import * as AgentError from "../../src/AgentError.js"
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
 * runner needs (the per-task timeout, how many times a failed attempt is retried, and how much of the run's
 * deadline was left when the task was sent).
 *
 * @category models
 * @since 0.1.0
 */
export const Payload = {
  runId: Schema.String,
  agent: Schema.String,
  task: Task,
  timeout: Schema.optional(Schema.DurationFromMillis),
  retries: Schema.optional(Schema.Int.pipe(Schema.nonNegative())),
  deadline: Schema.optional(Schema.DurationFromMillis)
}

// =============================================================================
// reply
// =============================================================================

/**
 * A task's result as it is stored and sent back: `TaskResult.schema`'s encoded form (plain JSON, every field kept:
 * the attempt, timing, usage, earlier attempts, the whole cause), its value encoded with the agent's output schema
 * when the runner registered one.
 *
 * @category models
 * @since 0.1.0
 */
export const Result: Schema.Schema<TaskResult.Encoded> = Schema.encodedSchema(TaskResult.schema()).annotations({
  identifier: "AgentTask.Result"
})

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
 * What a result keeps whatever its outcome, to build another outcome of the same task from it.
 *
 * @category constructors
 * @since 0.1.0
 */
export const metaOf = (result: TaskResult.TaskResult<unknown, unknown>): TaskResult.Meta => ({
  task: result.task,
  index: result.index,
  instance: result.instance,
  startedAt: result.startedAt,
  queuedAt: result.queuedAt,
  durationMillis: result.durationMillis,
  slot: result.slot,
  usage: result.usage,
  failedAttempts: result.failedAttempts,
  replayed: result.replayed
})

/**
 * The same task ended `Failed` because its answer could not be used: `AgentOutputError` with the problems found.
 *
 * @category constructors
 * @since 0.1.0
 */
export const outputFailed = (
  result: TaskResult.TaskResult<unknown, unknown>,
  agent: string,
  problem: ParseResult.ParseError | string
): TaskResult.TaskResult<unknown, unknown> =>
  TaskResult.failed(
    metaOf(result),
    Cause.fail(
      typeof problem === "string"
        ? new AgentError.AgentOutputError({
          agent: result.agent ?? agent,
          taskId: result.taskId,
          path: [],
          issues: [{ path: [], message: problem }]
        })
        : AgentError.AgentOutputError.fromParseError({
          agent: result.agent ?? agent,
          taskId: result.taskId,
          error: problem
        })
    )
  )

const unknownResult = TaskResult.schema()

/**
 * Encodes a task's result for the reply (`TaskResult.schema`): the value of a success goes through the agent's
 * output schema, when it has one, and the whole must be JSON. A value that does not encode, or is not JSON, ends the
 * task `Failed` with an `AgentOutputError` saying why.
 *
 * @category constructors
 * @since 0.1.0
 */
export const encode = <A, I>(
  result: TaskResult.TaskResult<unknown, unknown>,
  options: { readonly agent: string; readonly output?: Schema.Schema<A, I, never> | undefined }
): Effect.Effect<TaskResult.Encoded> => {
  const schema = options.output === undefined
    ? unknownResult
    : TaskResult.schema({ value: options.output as unknown as Schema.Schema<unknown, unknown, never> })
  const failedWith = (problem: ParseResult.ParseError | string) =>
    Effect.orDie(Schema.encode(unknownResult)(outputFailed(result, options.agent, problem)))
  return Schema.encode(schema)(result).pipe(
    Effect.flatMap((encoded) =>
      Either.match(toJson(encoded), {
        onLeft: (reason) => failedWith(`the answer of task ${result.taskId} is not JSON: ${reason}`),
        onRight: (json) => Effect.succeed(json as TaskResult.Encoded)
      })
    ),
    Effect.catchTag("ParseError", failedWith)
  )
}

/**
 * Decodes a result from a reply, as the task's result in this run: at `index`, queued at `queuedAt` (the
 * coordinator's), its value decoded with the agent's output schema when one is given. A value that does not decode
 * ends the task `Failed` with an `AgentOutputError`.
 *
 * @category constructors
 * @since 0.1.0
 */
export const decode = <A, I>(
  encoded: TaskResult.Encoded,
  options: {
    readonly agent: string
    readonly index: number
    readonly queuedAt: number
    readonly output?: Schema.Schema<A, I, never> | undefined
  }
): Effect.Effect<TaskResult.TaskResult<unknown, unknown>> => {
  const here: TaskResult.Encoded = { ...encoded, index: options.index, queuedAt: options.queuedAt }
  const plain = Effect.orDie(Schema.decode(unknownResult)(here))
  if (options.output === undefined || here._tag !== "Succeeded") return plain
  const schema = TaskResult.schema({ value: options.output as unknown as Schema.Schema<unknown, unknown, never> })
  return Schema.decode(schema)(here).pipe(
    Effect.catchTag("ParseError", (error) => Effect.map(plain, (result) => outputFailed(result, options.agent, error)))
  )
}
