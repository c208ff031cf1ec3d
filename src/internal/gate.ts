import * as Effect from "effect/Effect"
import type * as RunReport from "../RunReport.js"

/**
 * Whether a run still starts tasks. It closes at the run's deadline, or when its failure policy says so; a task
 * that reaches it closed is reported as never started, with the reason. `closed` opens when it closes, `deadline`
 * when the deadline passes, for the waits that must end then.
 *
 * @internal
 */
export class Gate {
  reason: "RunDeadline" | "FailurePolicy" | undefined = undefined
  readonly closed = Effect.unsafeMakeLatch(false)
  readonly deadline = Effect.unsafeMakeLatch(false)
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
    }
  ) {
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
  close(reason: "RunDeadline" | "FailurePolicy"): void {
    if (reason === "RunDeadline") this.deadline.unsafeOpen()
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
