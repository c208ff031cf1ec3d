import * as Cause from "effect/Cause"
import type * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import type * as FiberId from "effect/FiberId"
import * as Runtime from "effect/Runtime"
import type * as Scope from "effect/Scope"
import { DeadlineHeap, type Entry } from "./deadlines.js"

/**
 * Runs each task attempt on a fiber of its own and stops it at its deadline, with one timer for the whole run.
 *
 * An attempt is a fresh fiber started from the run's runtime and the attempt's context (`Runtime.runFork`), so
 * nothing the agent does to its fiber (FiberRefs, loggers, forks) reaches the task's fiber, another attempt or
 * another task. An attempt that ends as it starts (an agent that never waits) gives its outcome at once; the task's
 * fiber waits for any other attempt's exit (`Effect.async`). One timer fiber per run sleeps on
 * the `Clock` until the earliest deadline and interrupts the attempts that are due: `Effect.timeout` would race two
 * more fibers per attempt, which costs several times the rest of the engine for a short task. The attempts under
 * way are kept in a set, so that an interrupted run interrupts them all and waits for them (within the grace); a
 * canceler per attempt (`Effect.async`'s) would cost more than the rest of the attempt.
 *
 * At its deadline an attempt fails with the caller's timeout error, and so does an attempt that ends after its
 * deadline (the event loop was busy and the timer late): a task is never reported done in time when it was not.
 * An attempt that does not stop within `grace` of its interruption (an uninterruptible agent, a finalizer that
 * hangs) is left running: the task goes on with its timeout, and a warning is logged then, and again when the
 * attempt finally ends.
 *
 * @internal
 */
export interface Watchdog {
  /**
   * Fails with a defect of the timer fiber (a bug), which fails its runs; never ends otherwise. A watchdog of one task
   * (`single`) has no timer fiber: its `died` never ends.
   */
  readonly died: Effect.Effect<never>
  /** Runs an attempt, `effect` on its fiber: the fiber starts when the returned effect runs. */
  readonly run: <A, E, T>(attempt: Attempt<A, E, T>, effect: Effect.Effect<A, E>) => Effect.Effect<A, E | T>
  /**
   * Starts an attempt now, `effect` on its fiber (a call with an effect, for a caller already running): its outcome
   * as an `Exit` if it ended as it started, or else the effect that waits for it.
   */
  readonly start: <A, E, T>(attempt: Attempt<A, E, T>, effect: Effect.Effect<A, E>) => Effect.Effect<A, E | T>
  /**
   * Interrupts the attempts still running and waits for them to stop, each within the grace: what the run does
   * when it is interrupted, or when a stream of results is closed early. The task that waited for an attempt has
   * already gone on (interrupted) by then.
   */
  readonly interruptAll: Effect.Effect<void>
  /**
   * Interrupts the attempts running now, as their deadlines would but for the error, and waits for them to stop, each
   * within the grace: what a run does when it is stopped (its `stop` option). Each attempt ends interrupted, and its
   * task, which still waits for it, is told once the attempt has stopped (its finalizers run); an attempt that does
   * not stop within the grace is left running, and its task told it was interrupted.
   */
  readonly stopAll: Effect.Effect<void>
}

/**
 * One attempt: how its end is reported (what the caller defines), and the watchdog's own record of it while it runs
 * (its fiber, its place among the deadlines, whether it was told to stop). The caller's attempt extends this class,
 * so that a running attempt is one object: an attempt lives as long as its task waits, long enough to be promoted to
 * the old generation, and an entry of the watchdog's own beside it would be one more object and pointer.
 *
 * @internal
 */
export abstract class Attempt<A, E, T> implements Entry {
  heapIndex = -1
  /** The timer interrupted the attempt; its entry now waits for the grace to pass. */
  fired = false
  /** The task has its outcome: the attempt ended, or it was left running. */
  settled = false
  /** The attempt's fiber, from its start. */
  fiber!: Fiber.RuntimeFiber<A, E>
  /** The task waiting for the outcome, once it waits; the outcome, if it came first. */
  private resume: ((effect: Effect.Effect<A, E | T>) => void) | undefined = undefined
  private exit: Exit.Exit<A, E | T> | undefined = undefined
  constructor(
    /**
     * When the attempt must stop, in the clock's milliseconds; `Infinity` for never. Once the timer has interrupted
     * the attempt, when its grace ends.
     */
    public deadline: number,
    /** What the attempt's fiber starts from: the run's fiber state, the attempt's context. */
    readonly runtime: Runtime.Runtime<never>
  ) {}
  abstract onTimeout(): T
  /** Called with the attempt's outcome as the task sees it, before the task goes on. */
  onEnd(_exit: Exit.Exit<A, E | T>): void {}
  /**
   * What the task that waits for the attempt gets: its outcome, unless the caller settles its task where the attempt
   * ends (then what it settled). Called once, when the attempt that waited ends, times out, is left running, or is
   * interrupted with the run (`interruptAll`), whether or not its task still waits.
   */
  deliver(exit: Exit.Exit<A, E | T>): Exit.Exit<unknown, unknown> {
    return exit
  }
  /** Log annotations for the warnings about an attempt left running. */
  abstract annotations(): Record<string, unknown>
  /** @internal */
  end(exit: Exit.Exit<A, E | T>): void {
    this.settled = true
    this.onEnd(exit)
    const delivered = this.deliver(exit) as Exit.Exit<A, E | T>
    if (this.resume === undefined) this.exit = delivered
    else this.resume(delivered)
  }
  /** @internal */
  wait(resume: (effect: Effect.Effect<A, E | T>) => void): void {
    if (this.exit === undefined) this.resume = resume
    else resume(this.exit)
  }
}

type AnyRunning = Attempt<unknown, unknown, unknown>

/**
 * A watchdog for one run, its timer fiber living in `scope`. `graceMillis` is how long an interrupted attempt may
 * take to stop before it is left running.
 *
 * With `single` (a run of one task: one attempt at a time), there is no timer fiber: an attempt that waits and has a
 * deadline gets a fiber of its own that sleeps until it (then through the grace); the sleepers still asleep are
 * interrupted with the attempts when the run ends (`interruptAll`, its scope's finalizer), and one that wakes after
 * its attempt ended does nothing. A shared timer costs a fiber, a latch and a race per run, more than one sleeper.
 *
 * @internal
 */
export const make = (
  clock: Clock.Clock,
  graceMillis: number,
  scope: Scope.Scope,
  options?: { readonly single?: boolean | undefined }
): Effect.Effect<Watchdog> =>
  Effect.gen(function*() {
    const single = options?.single === true
    const heap = new DeadlineHeap<AnyRunning>()
    const running = new Set<AnyRunning>()
    const wake = yield* Effect.makeLatch(false)
    // When the timer fiber wakes next; an earlier deadline wakes it now.
    let wakeAt = Infinity
    let timerId: FiberId.FiberId | undefined
    const grace = Duration.format(Duration.millis(graceMillis))

    const timedOut = (entry: AnyRunning) => Cause.fail(entry.onTimeout())
    // An attempt left running is the task's no more: its end is only logged, and the run does not wait for it.
    const abandoned = (entry: AnyRunning) => {
      entry.fired = true
      running.delete(entry)
    }
    const warn = (entry: AnyRunning, message: string, extra?: Record<string, unknown>) =>
      Effect.logWarning(message).pipe(Effect.annotateLogs({ ...entry.annotations(), ...extra }))
    // The grace after an attempt's interruption at its deadline has passed and it has not stopped: its task times out
    // without it (the timer's second pass over an entry, or a sleeper's second wake).
    const leave = (entry: AnyRunning): Effect.Effect<void> => {
      abandoned(entry)
      entry.end(Exit.failCause(timedOut(entry)))
      return warn(entry, `The agent did not stop within ${grace} of its timeout; it is left running`)
    }

    const timer: Effect.Effect<never> = Effect.suspend(() => {
      wake.unsafeClose()
      const now = clock.unsafeCurrentTimeMillis()
      let due: AnyRunning | undefined
      let effects: Effect.Effect<void> = Effect.void
      while ((due = heap.popExpired(now)) !== undefined) {
        const entry = due
        if (!entry.fired) {
          entry.fired = true
          heap.insert(entry, now + graceMillis)
          effects = Effect.zipRight(effects, Fiber.interruptAsFork(entry.fiber, timerId!))
        } else if (!entry.settled) {
          effects = Effect.zipRight(effects, leave(entry))
        }
      }
      wakeAt = heap.peek()?.deadline ?? Infinity
      // Whole milliseconds, at least one: `Duration` counts whole nanoseconds, so a deadline a fraction of one away
      // (a clock at a fractional time) would be a sleep of zero, and the timer would wake, find nothing due and
      // sleep zero again, forever. A timer late by under a millisecond is within what a clock can promise anyway.
      const wait = wakeAt === Infinity
        ? wake.await
        : Effect.raceFirst(clock.sleep(Duration.millis(Math.max(1, Math.ceil(wakeAt - now)))), wake.await)
      return Effect.zipRight(Effect.zipRight(effects, wait), timer)
    })
    const fiber = single ? undefined : yield* Effect.forkIn(
      Effect.flatMap(Effect.fiberId, (id) => {
        timerId = id
        return timer
      }),
      scope
    )
    // A defect in the timer (a bug in the engine) ends the attempts waiting for it with that defect: a task is
    // never left waiting for a deadline nothing enforces. (A run also fails with it, see `died`.)
    fiber?.addObserver((exit) => {
      if (exit._tag === "Success" || Cause.isInterruptedOnly(exit.cause)) return
      for (const entry of Array.from(running)) {
        running.delete(entry)
        heap.remove(entry)
        entry.end(exit)
      }
    })

    // A watchdog of one: what the timer does for an attempt, on a fiber of the attempt's own.
    const sleepers = new Set<Fiber.RuntimeFiber<void>>()
    const untilMillis = (at: number) =>
      Effect.suspend(() => clock.sleep(Duration.millis(Math.max(1, Math.ceil(at - clock.unsafeCurrentTimeMillis())))))
    const sleeper = (entry: AnyRunning): Effect.Effect<void> =>
      Effect.zipRight(
        untilMillis(entry.deadline),
        Effect.suspend(() => {
          if (entry.settled) return Effect.void
          entry.fired = true
          return Effect.zipRight(
            Effect.fiberIdWith((id) => Fiber.interruptAsFork(entry.fiber, id)),
            Effect.zipRight(
              clock.sleep(Duration.millis(graceMillis)),
              Effect.suspend(() => entry.settled ? Effect.void : leave(entry))
            )
          )
        })
      )

    // An attempt that ended at or after its deadline (the event loop was busy, the timer late) timed out.
    const outcome = <A, E, T>(attempt: Attempt<A, E, T>, exit: Exit.Exit<A, E>, fired: boolean): Exit.Exit<A, E | T> =>
      (fired || clock.unsafeCurrentTimeMillis() >= attempt.deadline) &&
        (exit._tag === "Success" || Cause.isInterrupted(exit.cause))
        ? Exit.fail(attempt.onTimeout())
        : exit

    const start = <A, E, T>(attempt: Attempt<A, E, T>, effect: Effect.Effect<A, E>): Effect.Effect<A, E | T> => {
      const fiber = Runtime.runFork(attempt.runtime, effect)
      // An attempt that ended as it started (it never waited) is not watched: its outcome is the task's at once.
      const ended = fiber.unsafePoll()
      if (ended !== null) {
        const exit = outcome(attempt, ended, false)
        attempt.onEnd(exit)
        return exit
      }
      // Watched from now on, so that an interrupted run stops it even if its task is interrupted before it waits.
      attempt.fiber = fiber
      const entry = attempt as unknown as AnyRunning
      fiber.addObserver((exit) => {
        if (entry.settled) {
          // The task went on without it: it was left running, and has now stopped.
          if (entry.fired) {
            Runtime.runFork(
              attempt.runtime,
              warn(entry, "The agent left running after its timeout has stopped", { exit: exit._tag })
            )
          }
          return
        }
        running.delete(entry)
        heap.remove(entry)
        entry.end(outcome(entry, exit, entry.fired))
      })
      running.add(entry)
      if (attempt.deadline !== Infinity && single) {
        const asleep = Runtime.runFork(attempt.runtime, sleeper(entry))
        sleepers.add(asleep)
        asleep.addObserver(() => sleepers.delete(asleep))
      } else if (attempt.deadline !== Infinity) {
        heap.insert(entry, attempt.deadline)
        if (attempt.deadline < wakeAt) {
          wakeAt = attempt.deadline
          wake.unsafeOpen()
        }
      }
      return Effect.async<A, E | T>((resume) => entry.wait(resume as (effect: Effect.Effect<unknown, unknown>) => void))
    }

    const run = <A, E, T>(attempt: Attempt<A, E, T>, effect: Effect.Effect<A, E>): Effect.Effect<A, E | T> =>
      Effect.suspend(() => start(attempt, effect))

    const interruptAll: Effect.Effect<void> = Effect.fiberIdWith((id) => {
      const asleep = sleepers.size === 0
        ? Effect.void
        : Effect.forEach(Array.from(sleepers), (fiber) => Fiber.interruptAsFork(fiber, id), { discard: true })
      if (running.size === 0) return asleep
      const entries = Array.from(running)
      // Their tasks end interrupted: a task that waited for its attempt went on (interrupted) already, and one
      // settled where its attempt ends is settled now.
      const interrupted = Exit.interrupt(id)
      for (const entry of entries) {
        running.delete(entry)
        heap.remove(entry)
        entry.end(interrupted)
      }
      // Runs uninterruptibly (a finalizer): both sides are made interruptible, so the loser stops at once.
      return Effect.zipRight(
        asleep,
        Effect.raceFirst(
          Effect.interruptible(Fiber.interruptAll(entries.map((entry) => entry.fiber))),
          Effect.interruptible(Effect.zipRight(
            clock.sleep(Duration.millis(graceMillis)),
            Effect.forEach(entries, (entry) => {
              if (entry.fiber.unsafePoll() !== null) return Effect.void
              entry.fired = true
              return warn(entry, `The agent did not stop within ${grace} of its interruption; it is left running`)
            }, { discard: true })
          ))
        )
      )
    })

    const stopAll: Effect.Effect<void> = Effect.fiberIdWith((id) => {
      if (running.size === 0) return Effect.void
      const entries = Array.from(running)
      return Effect.zipRight(
        Effect.forEach(entries, (entry) => Fiber.interruptAsFork(entry.fiber, id), { discard: true }),
        Effect.raceFirst(
          Effect.forEach(entries, (entry) => Fiber.await(entry.fiber), { discard: true }),
          Effect.zipRight(
            clock.sleep(Duration.millis(graceMillis)),
            Effect.suspend(() => {
              let warnings: Effect.Effect<void> = Effect.void
              for (const entry of entries) {
                if (entry.settled) continue
                abandoned(entry)
                heap.remove(entry)
                entry.end(Exit.interrupt(id))
                warnings = Effect.zipRight(
                  warnings,
                  warn(entry, `The agent did not stop within ${grace} of the run's stop; it is left running`)
                )
              }
              return warnings
            })
          )
        )
      )
    })

    return { died: fiber === undefined ? Effect.never : Fiber.join(fiber), run, start, interruptAll, stopAll }
  })
