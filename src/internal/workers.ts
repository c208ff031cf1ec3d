/**
 * Fan-out in input order, for a list: `concurrency` worker fibers, each taking the next element when its last one
 * ends. What `Effect.forEach(elements, f, { concurrency, discard: true })` does, in the same order, without its
 * record per element: `forEach` keeps an `Exit` and its index for every element until the last one ends, `discard`
 * included (`forEachConcurrentDiscard` in effect 3.22): about 150 B an element live at 1,000,000 elements, promoted to
 * the old generation, and at that size about a third of a run's peak RSS. Here what is kept is one `Exit` a worker.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import { constVoid } from "effect/Function"

/**
 * Runs `f` over `elements` in their order, `concurrency` at a time. The first failure fails the whole and
 * interrupts the workers; an element no worker took by then is never started, nor one a worker would take once
 * `stopped` holds (`Effect.forEach` yields between two elements of a worker, which lets a worker told to stop as its
 * element ended stop there; a worker here checks `stopped`).
 *
 * With `yielding`, a worker yields before each element after its first, as `Effect.forEach` does: for elements that
 * wait on something they share (a semaphore, a rate limit), so that a worker whose element just ended does not take
 * what it released before the workers already waiting for it are woken (Effect's `Semaphore` wakes its waiters and
 * lets them race for the permit). Without it, a worker goes straight on to its next element.
 *
 * @internal
 */
export const forEach = <A, E, R>(
  elements: ReadonlyArray<A>,
  f: (element: A, index: number) => Effect.Effect<unknown, E, R>,
  options: {
    readonly concurrency: number | "unbounded"
    readonly stopped: () => boolean
    readonly yielding: boolean
  }
): Effect.Effect<void, E, R> => {
  const { concurrency, stopped } = options
  let next = 0
  const more = () => next < elements.length && !stopped()
  const take = () => {
    const index = next++
    return f(elements[index]!, index)
  }
  const worker = options.yielding
    ? Effect.suspend(() =>
      more()
        ? Effect.zipRight(
          take(),
          Effect.whileLoop({
            while: more,
            body: () => Effect.zipRight(Effect.yieldNow(), Effect.suspend(() => more() ? take() : Effect.void)),
            step: constVoid
          })
        )
        : Effect.void
    )
    : Effect.whileLoop({ while: more, body: take, step: constVoid })
  const width = concurrency === "unbounded" ? elements.length : Math.min(concurrency, elements.length)
  return Effect.replicateEffect(worker, width, { concurrency: width, discard: true })
}
