/**
 * What a run of teams found, and a final agent that reads it: `findings` splits the results into the conclusions of
 * the teams that agreed and the teams that are missing (with why), and `synthesize` hands them to a synthesizer
 * agent, run as one task through the `Executor`.
 *
 * @since 0.1.0
 */
import * as Cause from "effect/Cause"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import { hasProperty } from "effect/Predicate"
import type * as Agent from "./Agent.js"
import * as AgentError from "./AgentError.js"
import * as Executor from "./Executor.js"
import type * as RunReport from "./RunReport.js"
import * as Task from "./Task.js"
import * as TaskResult from "./TaskResult.js"
import type * as Team from "./Team.js"

/**
 * The conclusion of a team that agreed.
 *
 * @category models
 * @since 0.1.0
 */
export interface Finding<out A> {
  /** The team's task id. */
  readonly team: string
  readonly conclusion: A
  /** How the team agreed. */
  readonly consensus: string
  readonly rounds: number
}

/**
 * A team that has no conclusion, and why: it reached no consensus, timed out, failed or was interrupted (or never
 * started before the run's deadline).
 *
 * @category models
 * @since 0.1.0
 */
export interface Missing {
  /** The team's task id. */
  readonly team: string
  readonly outcome: "NoConsensus" | "TimedOut" | "Failed" | "Interrupted"
  /** The error's message. */
  readonly description: string
}

/**
 * What a synthesizer reads: the conclusions of the teams that agreed and the teams that are missing, both in the
 * run's order.
 *
 * @category models
 * @since 0.1.0
 */
export interface Findings<out A> {
  readonly conclusions: ReadonlyArray<Finding<A>>
  readonly missing: ReadonlyArray<Missing>
}

/**
 * Team results: a run's report or its results.
 *
 * @category models
 * @since 0.1.0
 */
export type Results<A, E> =
  | RunReport.RunReport<Team.Result<A>, E, unknown>
  | Iterable<TaskResult.TaskResult<Team.Result<A>, E>>

const resultsOf = <A, E>(input: Results<A, E>): Iterable<TaskResult.TaskResult<Team.Result<A>, E>> =>
  Symbol.iterator in input ? input : (input as RunReport.RunReport<Team.Result<A>, E, unknown>).results

/**
 * Splits a run of teams into the conclusions of the teams that agreed and the teams that are missing, with why.
 *
 * @category combinators
 * @since 0.1.0
 */
export const findings = <A, E>(results: Results<A, E>): Findings<A> => {
  const conclusions: Array<Finding<A>> = []
  const missing: Array<Missing> = []
  for (const result of resultsOf(results)) {
    switch (result._tag) {
      case "Succeeded":
        conclusions.push({
          team: result.taskId,
          conclusion: result.value.conclusion,
          consensus: result.value.consensus,
          rounds: result.value.rounds
        })
        break
      case "Failed": {
        const error = Cause.squash(result.cause)
        missing.push({
          team: result.taskId,
          outcome: error instanceof AgentError.NoConsensus ? "NoConsensus" : "Failed",
          description: error instanceof AgentError.NoConsensus ? error.message : describe(error)
        })
        break
      }
      case "TimedOut":
        missing.push({ team: result.taskId, outcome: "TimedOut", description: result.error.message })
        break
      case "Interrupted":
        missing.push({
          team: result.taskId,
          outcome: "Interrupted",
          // "not started before the run's deadline", "stopped with the run", "interrupted"...
          description: TaskResult.message(result)
        })
        break
    }
  }
  return { conclusions, missing }
}

const describe = (error: unknown): string =>
  hasProperty(error, "message") && typeof error.message === "string" && error.message !== ""
    ? error.message
    : String(error)

/**
 * Runs a final agent over the `findings` of a run of teams and returns its answer. The synthesizer runs as one task
 * through the `Executor` (id `"synthesis"` unless `id` says otherwise): a fresh instance, the engine's metrics and
 * logs, and `timeout` if given. It reads the teams that agreed and the teams that are missing, so its answer can
 * say which are missing. Its failure is this effect's failure; a timeout fails with `AgentTimeout`.
 *
 * @category combinators
 * @since 0.1.0
 */
export const synthesize = <A, E, Out, E2, EL2, R2>(
  results: Results<A, E>,
  synthesizer: Agent.Factory<Findings<A>, Out, E2, EL2, R2>,
  options?: {
    readonly id?: string | undefined
    readonly timeout?: Duration.DurationInput | undefined
    readonly runId?: string | undefined
  }
): Effect.Effect<Out, E2 | AgentError.AgentError | AgentError.RunOptionsError, R2 | Executor.Executor> =>
  Effect.gen(function*() {
    const task = Task.make({ id: options?.id ?? "synthesis", input: findings(results) })
    const result = yield* Executor.runOne(task, synthesizer, { timeout: options?.timeout, runId: options?.runId })
    switch (result._tag) {
      case "Succeeded":
        return result.value
      case "Failed":
        return yield* Effect.failCause(result.cause)
      case "TimedOut":
        return yield* Effect.fail(result.error)
      case "Interrupted":
        return yield* Effect.failCause(result.cause)
    }
  })
