/**
 * The command line's exit codes, and the handler's way out with one of them.
 *
 * @internal
 */
import * as Data from "effect/Data"

/** @internal */
export const ExitCode = {
  Success: 0,
  TasksFailed: 1,
  Usage: 2,
  Interrupted: 130
} as const

/** The handler's way out with an exit code other than 0. @internal */
export class CliExit extends Data.TaggedError("CliExit")<{ readonly code: number }> {}
