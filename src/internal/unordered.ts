/**
 * Fan-out in completion order, for a stream of inputs: worker fibers taking the elements as they are read, results
 * offered to a mailbox as they end. What `Stream.mapEffect(f, { concurrency, unordered: true })` means, at a small
 * fraction of its cost; `Executor.stream` and the cluster's coordinator both run on it.
 *
 * @internal
 */
import type * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as FiberSet from "effect/FiberSet"
import * as Mailbox from "effect/Mailbox"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { nextTurn } from "./nextTurn.js"

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
 * Reads `source` and runs `f` on each element, at most `concurrency` at once, offering each result to `mailbox` as
 * it ends (completion order); a failure of `f` fails the mailbox, and nothing is read or run after it. The returned
 * effect does the reading, and ends once every element read has its result offered (or the mailbox failed); the
 * caller forks it and then ends (or fails) the mailbox. The workers live in the scope: closing it interrupts the
 * elements under way.
 *
 * `concurrency` worker fibers take the elements from an input mailbox (the reader fills it a chunk at a time, up to
 * `concurrency` elements ahead) and run them one after another, as `Effect.forEach` with a concurrency does: an
 * element costs no fiber of its own, and `f` starts whatever fibers it needs. `stop`, when it completes, stops the
 * reading: the elements already in the input mailbox still run (they were read), nothing more is read.
 *
 * This is what `Stream.mapEffect(f, { concurrency, unordered: true })` means, because that operator costs 30 to 60
 * times more per element (5,000 tasks of 1 ms at concurrency 100: 16.6 s and 3.5 s of CPU, against 0.28 s and
 * 0.22 s with a fiber per element; bench/README.md has the upstream report), and a fiber per element under a
 * semaphore (this function's former shape) a third more than the workers for a task of 10 ms.
 *
 * @internal
 */
export const feed = <A, B, E, R, RF>(
  mailbox: Mailbox.Mailbox<B, E>,
  source: Stream.Stream<A, never, R>,
  concurrency: number,
  f: (a: A) => Effect.Effect<B, E, RF>,
  options?: {
    /** Completes when the reading must stop. */
    readonly stop?: Effect.Effect<void> | undefined
  }
): Effect.Effect<Effect.Effect<void, never, R | RF>, never, Scope.Scope> =>
  Effect.gen(function*() {
    const inbox = yield* Mailbox.make<A>({ capacity: concurrency })
    const workers = yield* FiberSet.make<void, never>()
    // A worker ends when the input has ended and is empty, or was shut down (a failure of `f`).
    const worker: Effect.Effect<void, never, RF> = Effect.matchCauseEffect(inbox.take, {
      onFailure: () => Effect.void,
      onSuccess: (a) =>
        Effect.matchCauseEffect(f(a), {
          onFailure: (cause) => Effect.zipRight(mailbox.failCause(cause), inbox.shutdown),
          onSuccess: (b) => Effect.zipRight(mailbox.offer(b), worker)
        })
    })
    // Workers are started as elements come, up to `concurrency`: as many fibers as a fiber per element would have
    // at most at once (three elements at a concurrency of a million start three).
    let started = 0
    // An input shut down takes nothing more: the reader waits there for the race below to stop it.
    const offer = (chunk: Chunk.Chunk<A>) =>
      Effect.flatMap(inbox.offerAll(chunk), (rest) => rest.length === 0 ? Effect.void : Effect.never)
    const read = (chunk: Chunk.Chunk<A>) => {
      const more = Math.min(concurrency - started, chunk.length)
      if (more === 0) return offer(chunk)
      started += more
      return Effect.zipRight(Effect.repeatN(FiberSet.run(workers, worker), more - 1), offer(chunk))
    }
    // The reading stops at `stop`, or once the input is shut down (a failure of `f`). The input ends then, or
    // once it is read: the workers take what is left, then end.
    const shut = options?.stop === undefined ? inbox.await : Effect.raceFirst(inbox.await, options.stop)
    return Effect.ensuring(Effect.raceFirst(Stream.runForEachChunk(source, read), shut), inbox.end).pipe(
      Effect.zipRight(FiberSet.awaitEmpty(workers))
    )
  })
