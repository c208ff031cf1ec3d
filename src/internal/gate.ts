import * as Effect from "effect/Effect"
import type * as RunReport from "../RunReport.js"

/**
 * Whether a run still starts tasks. It closes at the run's deadline, when its failure policy says so, or when the
 * run is stopped (its `stop` option); a task that reaches it closed is reported as never started, with the reason.
 * `closed` opens when it closes, `halted` when the deadline passes or the run is stopped (the waits for a turn
 * under the rate limit end then), `stopped` when the run is stopped (a task waiting to retry ends then too).
 *
 * @internal
 */
export class Gate {
  reason: "RunDeadline" | "FailurePolicy" | "Stopped" | undefined = undefined
  /** The run was stopped: no attempt starts any more, whatever closed the gate first. */
  stopped = false
  readonly closed = Effect.unsafeMakeLatch(false)
  readonly halted = Effect.unsafeMakeLatch(false)
  /** Made only for a run that can be stopped. */
  readonly stoppedLatch: Effect.Latch | undefined
  readonly failurePolicy: { readonly failed: (summary: RunReport.Summary) => void }
  constructor(
    /** When the run started and when its deadline is, in the clock's milliseconds (`Infinity` for none). */
    readonly startedAt: number,
    readonly deadlineAt: number,
    policy: {
      readonly maxFailures: number
      readonly minSuccessRate: number
      /** The number of tasks, for `minSuccessRate`; unknown for a stream. */
      readonly total: number | undefined
      /** The run has a `stop` option. */
      readonly stoppable?: boolean | undefined
    }
  ) {
    this.stoppedLatch = policy.stoppable === true ? Effect.unsafeMakeLatch(false) : undefined
    this.failurePolicy = {
      failed: (summary) => {
        const failures = summary.failed + summary.timedOut
        if (
          failures >= policy.maxFailures ||
          (policy.total !== undefined && policy.total > 0 &&
            (policy.total - failures) / policy.total < policy.minSuccessRate)
        ) {
          this.close("FailurePolicy")
        }
      }
    }
  }
  close(reason: "RunDeadline" | "FailurePolicy" | "Stopped"): void {
    if (reason === "RunDeadline") this.halted.unsafeOpen()
    if (reason === "Stopped" && !this.stopped) {
      this.stopped = true
      this.halted.unsafeOpen()
      this.stoppedLatch?.unsafeOpen()
    }
    if (this.reason !== undefined) return
    this.reason = reason
    this.closed.unsafeOpen()
  }
  /**
   * Whether a task may start now; the deadline closes the gate even before its timer fires. The clock is read only
   * when the run has a deadline.
   */
  open(now: () => number): boolean {
    if (this.deadlineAt !== Infinity && now() >= this.deadlineAt) this.close("RunDeadline")
    return this.reason === undefined
  }
}
