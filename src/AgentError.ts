/**
 * The errors the engine reports for one task: it timed out, its agent could not be built, its input or its output
 * did not match the schema, one of its own options was invalid, the budget had no room for it, or its team reached
 * no consensus. They appear inside a task's result, never as the failure of a whole run. The errors that do fail a
 * run or a team definition, before anything starts, are `RunOptionsError` and `TeamOptionsError`.
 *
 * @since 0.1.0
 */
import * as Duration from "effect/Duration"
import * as ParseResult from "effect/ParseResult"
import { hasProperty } from "effect/Predicate"
import * as Schema from "effect/Schema"

/**
 * @category symbols
 * @since 0.1.0
 */
export const TypeId: unique symbol = Symbol.for("effect-parallel-agents/AgentError")

/**
 * @category symbols
 * @since 0.1.0
 */
export type TypeId = typeof TypeId

/**
 * @category guards
 * @since 0.1.0
 */
export const isAgentError = (u: unknown): u is AgentError => hasProperty(u, TypeId)

/**
 * Every error the engine reports for a task.
 *
 * @category errors
 * @since 0.1.0
 */
export type AgentError =
  | AgentTimeout
  | AgentBuildError
  | AgentInputError
  | AgentOutputError
  | TaskOptionsError
  | BudgetExceeded
  | JournalInputChanged

/**
 * The task ran out of time: its own timeout (`TaskTimeout`) or the run's deadline (`RunDeadline`). The agent was
 * interrupted and its instance released.
 *
 * @category errors
 * @since 0.1.0
 */
export class AgentTimeout extends Schema.TaggedError<AgentTimeout>("effect-parallel-agents/AgentTimeout")(
  "AgentTimeout",
  {
    agent: Schema.String,
    taskId: Schema.String,
    reason: Schema.Literal("TaskTimeout", "RunDeadline"),
    timeout: Schema.DurationFromMillis,
    description: Schema.optional(Schema.String)
  }
) {
  /**
   * @since 0.1.0
   */
  readonly [TypeId]: TypeId = TypeId

  /**
   * @since 0.1.0
   */
  override get message(): string {
    const limit = this.reason === "TaskTimeout" ? "its timeout" : "the run's deadline"
    return `${this.agent}: task ${this.taskId} was stopped by ${limit} (${Duration.format(this.timeout)})` +
      (this.description ? `: ${this.description}` : "")
  }
}

/**
 * The agent's factory layer failed with a typed error, kept in `cause`. Defects in the layer stay defects.
 *
 * @category errors
 * @since 0.1.0
 */
export class AgentBuildError extends Schema.TaggedError<AgentBuildError>("effect-parallel-agents/AgentBuildError")(
  "AgentBuildError",
  {
    agent: Schema.String,
    taskId: Schema.String,
    description: Schema.optional(Schema.String),
    cause: Schema.Defect
  }
) {
  /**
   * @since 0.1.0
   */
  readonly [TypeId]: TypeId = TypeId

  /**
   * @since 0.1.0
   */
  override get message(): string {
    return `${this.agent}: building the agent for task ${this.taskId} failed: ${
      this.description ?? describeCause(this.cause)
    }`
  }
}

const SchemaIssue = Schema.Struct({
  path: Schema.Array(Schema.Union(Schema.String, Schema.Number)),
  message: Schema.String
})

const schemaErrorFields = {
  agent: Schema.String,
  taskId: Schema.String,
  /** Where the first problem is, as a path into the value (`[]` for the value itself). */
  path: Schema.Array(Schema.Union(Schema.String, Schema.Number)),
  /** Every problem the schema found, each with its path. */
  issues: Schema.Array(SchemaIssue),
  cause: Schema.optional(Schema.Defect)
}

// The one implementation behind `AgentInputError` and `AgentOutputError`, which differ only in their tag and in
// which value (the input or the output) did not match its schema.

type SchemaMismatchFields = Schema.Struct.Constructor<typeof schemaErrorFields>

function fromParseError<A>(
  this: new(fields: SchemaMismatchFields) => A,
  options: { readonly agent: string; readonly taskId: string; readonly error: ParseResult.ParseError }
): A {
  return new this({ agent: options.agent, taskId: options.taskId, ...issuesOf(options.error) })
}

const mismatchMessage = (
  error: Schema.Struct.Type<typeof schemaErrorFields>,
  value: "input" | "output"
): string =>
  `${error.agent}: the ${value} of task ${error.taskId} does not match the schema: ${formatIssues(error.issues)}`

/**
 * The task's input did not decode with the run's input schema. The agent was not built.
 *
 * @category errors
 * @since 0.1.0
 */
export class AgentInputError extends Schema.TaggedError<AgentInputError>("effect-parallel-agents/AgentInputError")(
  "AgentInputError",
  schemaErrorFields
) {
  /**
   * @since 0.1.0
   */
  readonly [TypeId]: TypeId = TypeId

  /**
   * Builds the error from a `ParseError`, keeping every issue with its path.
   *
   * @since 0.1.0
   */
  static fromParseError = fromParseError

  /**
   * @since 0.1.0
   */
  override get message(): string {
    return mismatchMessage(this, "input")
  }
}

/**
 * The agent's output did not decode with the run's output schema.
 *
 * @category errors
 * @since 0.1.0
 */
export class AgentOutputError extends Schema.TaggedError<AgentOutputError>("effect-parallel-agents/AgentOutputError")(
  "AgentOutputError",
  schemaErrorFields
) {
  /**
   * @since 0.1.0
   */
  readonly [TypeId]: TypeId = TypeId

  /**
   * Builds the error from a `ParseError`, keeping every issue with its path.
   *
   * @since 0.1.0
   */
  static fromParseError = fromParseError

  /**
   * @since 0.1.0
   */
  override get message(): string {
    return mismatchMessage(this, "output")
  }
}

/**
 * One of the task's own options is invalid (a `timeout` that is not a duration, for example), so its agent was
 * never called. The other tasks of the run are not affected.
 *
 * @category errors
 * @since 0.1.0
 */
export class TaskOptionsError extends Schema.TaggedError<TaskOptionsError>("effect-parallel-agents/TaskOptionsError")(
  "TaskOptionsError",
  {
    agent: Schema.String,
    taskId: Schema.String,
    option: Schema.String,
    description: Schema.String
  }
) {
  /**
   * @since 0.1.0
   */
  readonly [TypeId]: TypeId = TypeId

  /**
   * @since 0.1.0
   */
  override get message(): string {
    return `${this.agent}: task ${this.taskId} was not started: invalid option "${this.option}": ${this.description}`
  }
}

/**
 * The run's budget had no room left for the task when its turn came, so its agent was never called. `used` and
 * `reserved` are the budget's figures for `resource` at that moment.
 *
 * @category errors
 * @since 0.1.0
 */
export class BudgetExceeded extends Schema.TaggedError<BudgetExceeded>("effect-parallel-agents/BudgetExceeded")(
  "BudgetExceeded",
  {
    agent: Schema.String,
    taskId: Schema.String,
    resource: Schema.Literal("tokens", "cost", "requests"),
    limit: Schema.Number,
    used: Schema.Number,
    reserved: Schema.Number,
    description: Schema.optional(Schema.String)
  }
) {
  /**
   * @since 0.1.0
   */
  readonly [TypeId]: TypeId = TypeId

  /**
   * @since 0.1.0
   */
  override get message(): string {
    return `${this.agent}: task ${this.taskId} was not started: the ${this.resource} budget (${this.limit}) is spent ` +
      `(${this.used} used, ${this.reserved} reserved by running tasks)`
  }
}

/**
 * A durable run (`Executor.run`'s `durable` option) resumed, and the journal holds a result for this task id that
 * was recorded for another input (its hash differs): the task is not run and the recorded result is not reused.
 * Give the changed task a new id, or the run a new id. The other tasks of the run are not affected.
 *
 * @category errors
 * @since 0.1.0
 */
export class JournalInputChanged
  extends Schema.TaggedError<JournalInputChanged>("effect-parallel-agents/JournalInputChanged")(
    "JournalInputChanged",
    {
      agent: Schema.String,
      taskId: Schema.String,
      runId: Schema.String,
      /** The hash of the input the journal's result was recorded for (see `RunJournal.hashInput`). */
      recordedHash: Schema.String,
      /** The hash of the task's input now. */
      inputHash: Schema.String
    }
  )
{
  /**
   * @since 0.1.0
   */
  readonly [TypeId]: TypeId = TypeId

  /**
   * @since 0.1.0
   */
  override get message(): string {
    return `${this.agent}: task ${this.taskId} was not started: run ${this.runId}'s journal holds a result for ` +
      `another input under this id (input hash ${this.recordedHash.slice(0, 12)}, now ${
        this.inputHash.slice(0, 12)
      }); give the task a new id or the run a new id`
  }
}

/**
 * A run option is out of range (a concurrency that is not a positive integer, for example). The run fails before
 * any task starts; nothing is lost because nothing has run.
 *
 * @category errors
 * @since 0.1.0
 */
export class RunOptionsError extends Schema.TaggedError<RunOptionsError>("effect-parallel-agents/RunOptionsError")(
  "RunOptionsError",
  {
    option: Schema.String,
    description: Schema.String
  }
) {
  /**
   * @since 0.1.0
   */
  override get message(): string {
    return `Invalid run option "${this.option}": ${this.description}`
  }
}

const issuesOf = (error: ParseResult.ParseError) => {
  const issues = ParseResult.ArrayFormatter.formatErrorSync(error).map((issue) => ({
    path: issue.path.map((key) => typeof key === "number" ? key : String(key)),
    message: issue.message
  }))
  return { path: issues[0]?.path ?? [], issues, cause: error }
}

const formatPath = (path: ReadonlyArray<string | number>): string =>
  path.length === 0 ? "(root)" : path.map((key) => `[${JSON.stringify(key)}]`).join("")

const formatIssues = (issues: ReadonlyArray<{ readonly path: ReadonlyArray<string | number>; message: string }>) =>
  issues.map((issue) => `at ${formatPath(issue.path)}: ${issue.message}`).join("; ")

const describeCause = (cause: unknown): string => {
  const tag = hasProperty(cause, "_tag") && typeof cause._tag === "string" ? cause._tag : undefined
  const message = hasProperty(cause, "message") && typeof cause.message === "string" && cause.message !== ""
    ? cause.message
    : undefined
  if (message !== undefined) return tag === undefined ? message : `${tag}: ${message}`
  return tag ?? String(cause)
}

// =============================================================================
// teams
// =============================================================================

/**
 * One message of a team's transcript, as `NoConsensus` carries it: who spoke (role and member instance), in which
 * round, what they said and, when they voted, whether they approved.
 *
 * @category models
 * @since 0.1.0
 */
export const TeamMessage = Schema.Struct({
  round: Schema.Number,
  role: Schema.String,
  agent: Schema.String,
  content: Schema.Unknown,
  approve: Schema.optional(Schema.Boolean)
})

/**
 * A team's members did not reach consensus within its round limit. `agent` is the team instance, `rounds` the
 * rounds held, `transcript` every message of the discussion and `description` why the last round did not agree.
 *
 * @category errors
 * @since 0.1.0
 */
export class NoConsensus extends Schema.TaggedError<NoConsensus>("effect-parallel-agents/NoConsensus")(
  "NoConsensus",
  {
    agent: Schema.String,
    taskId: Schema.String,
    rounds: Schema.Number,
    transcript: Schema.Array(TeamMessage),
    description: Schema.optional(Schema.String)
  }
) {
  /**
   * @since 0.1.0
   */
  override get message(): string {
    return `${this.agent}: task ${this.taskId} reached no consensus in ${this.rounds} round${
      this.rounds === 1 ? "" : "s"
    }` + (this.description ? `: ${this.description}` : "")
  }
}

/**
 * A team definition is invalid: no members, a round limit below 1, a quorum larger than its voters, a consensus
 * rule that names a role the team does not have. `Team.make` returns it instead of a team; nothing has run.
 *
 * @category errors
 * @since 0.1.0
 */
export class TeamOptionsError extends Schema.TaggedError<TeamOptionsError>("effect-parallel-agents/TeamOptionsError")(
  "TeamOptionsError",
  {
    team: Schema.String,
    option: Schema.String,
    description: Schema.String
  }
) {
  /**
   * @since 0.1.0
   */
  override get message(): string {
    return `Invalid option "${this.option}" of team "${this.team}": ${this.description}`
  }
}
