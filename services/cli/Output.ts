/**
 * Where the command line writes: the output port. `stdout` carries data only (result lines without `--output`, the
 * `--json` summary); `stderr` carries what people read (progress, failed lines, the summary). The program that runs
 * the command line provides it: `services/bin/parallel-agents.ts` on Node.js, a capturing double in tests.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"

/**
 * The command line's output streams.
 *
 * @category models
 * @since 0.1.0
 */
export interface Service {
  readonly stdout: (text: string) => Effect.Effect<void>
  readonly stderr: (text: string) => Effect.Effect<void>
  /** Whether stderr is a terminal: then progress is a bar redrawn in place, otherwise a plain line now and then. */
  readonly interactive: boolean
  /** The terminal's width in columns, 0 when unknown. */
  readonly columns: () => number
}

/**
 * The command line's output streams, provided by the program that runs it.
 *
 * @category services
 * @since 0.1.0
 */
export class Output extends Context.Tag("effect-parallel-agents/cli/Output")<Output, Service>() {}

/**
 * Provides the output streams.
 *
 * @category layers
 * @since 0.1.0
 */
export const layer = (service: Service): Layer.Layer<Output> => Layer.succeed(Output, Output.of(service))
