/**
 * An Effect `Scheduler` that runs its tasks on the next turn of the event loop (`setImmediate`, or a zero timeout
 * where there is none), once the fibers woken in this turn have run: what lets a run gather the events, or the
 * results, of the tasks that end in the same turn and hand them on together (`observe.ts`'s outbox, `unordered.ts`'s
 * results mailbox).
 *
 * @internal
 */
import * as Scheduler from "effect/Scheduler"

const timers = globalThis as unknown as {
  readonly setImmediate?: (task: () => void) => unknown
  readonly setTimeout: (task: () => void, millis: number) => unknown
}

/** @internal */
export const nextTurn: Scheduler.Scheduler = Scheduler.make(
  timers.setImmediate !== undefined ? (task) => timers.setImmediate!(task) : (task) => timers.setTimeout(task, 0)
)
