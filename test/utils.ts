import type { Duration } from "effect"
import { Effect, Fiber, TestClock } from "effect"

/**
 * Runs an effect that sleeps on the clock: forks it, advances the `TestClock` by `advance` (every sleep up to then
 * fires in order, including sleeps started along the way), and joins it.
 */
export const withClock = <A, E, R>(
  effect: Effect.Effect<A, E, R>,
  advance: Duration.DurationInput = "1 hour"
): Effect.Effect<A, E, R> =>
  Effect.gen(function*() {
    const fiber = yield* Effect.fork(effect)
    yield* TestClock.adjust(advance)
    return yield* Fiber.join(fiber)
  })

let counter = 0

/** A name no other test uses, for metrics (the metric registry is global and tests run concurrently). */
export const uniqueName = (prefix: string): string => `${prefix}-${++counter}-${Math.random().toString(36).slice(2, 8)}`
