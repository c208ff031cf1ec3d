/**
 * Fan-out in completion order, for a stream of inputs: a fiber per element under a semaphore, results offered to a
 * mailbox as they end. What `Stream.mapEffect(f, { concurrency, unordered: true })` means, at a small fraction of
 * its cost; `Executor.stream` and the cluster's coordinator both run on it.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as FiberSet from "effect/FiberSet"
import * as Mailbox from "effect/Mailbox"
import * as Scheduler from "effect/Scheduler"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"

const timers = globalThis as unknown as {
  readonly setImmediate?: (task: () => void) => unknown
  readonly setTimeout: (task: () => void, millis: number) => unknown
}
const nextTurn: Scheduler.Scheduler = Scheduler.make(
  timers.setImmediate !== undefined ? (task) => timers.setImmediate!(task) : (task) => timers.setTimeout(task, 0)
)

/**
 * A mailbox for results that wakes its reader on the next turn of the event loop: the results of tasks that end in
 * the same turn reach the reader as one chunk, and each chunk costs the reader's whole stream pipeline once (100,000
 * results in about 100 chunks rather than 100,000). A result waits at most one turn. Its capacity should be the
 * concurrency: a reader that does not read then holds the tasks' permits, and so the input.
 *
 * @internal
 */
export const makeMailbox = <A, E>(capacity: number): Effect.Effect<Mailbox.Mailbox<A, E>> =>
  Effect.withScheduler(Mailbox.make<A, E>({ capacity }), nextTurn)

/**
 * Reads `source` and runs `f` on a fiber per element, at most `concurrency` at once, offering each result to
 * `mailbox` as it ends (completion order); a failure of `f` fails the mailbox. The returned effect does the reading
 * and ends once every fiber has ended; the caller forks it and then ends (or fails) the mailbox. Fibers still
 * running when the scope closes are interrupted.
 *
 * This is what `Stream.mapEffect(f, { concurrency, unordered: true })` means, on a semaphore and a `FiberSet`,
 * because that operator costs 30 to 60 times more per element (5,000 tasks of 1 ms at concurrency 100: 16.6 s and
 * 3.5 s of CPU, against 0.28 s and 0.22 s here; bench/README.md has the upstream report).
 *
 * @internal
 */
export const feed = <A, B, E, R, RF>(
  mailbox: Mailbox.Mailbox<B, E>,
  source: Stream.Stream<A, never, R>,
  concurrency: number,
  f: (a: A) => Effect.Effect<B, E, RF>
): Effect.Effect<Effect.Effect<void, never, R | RF>, never, Scope.Scope> =>
  Effect.gen(function*() {
    const permits = yield* Effect.makeSemaphore(concurrency)
    const running = yield* FiberSet.make<void, never>()
    return Stream.runForEach(source, (a) =>
      Effect.zipRight(
        permits.take(1),
        FiberSet.run(
          running,
          Effect.ensuring(
            Effect.flatMap(f(a), (b) => mailbox.offer(b)).pipe(
              Effect.catchAllCause((cause) => mailbox.failCause(cause))
            ),
            permits.release(1)
          )
        )
      )).pipe(Effect.zipRight(permits.take(concurrency)), Effect.asVoid)
  })
