import * as Effect from "effect/Effect"
import type * as MetricLabel from "effect/MetricLabel"
import * as ExecutorMetrics from "../ExecutorMetrics.js"

/**
 * Settings of adaptive concurrency, validated.
 *
 * @internal
 */
export interface AdaptiveOptions {
  /** The limit the run starts at. */
  readonly initial: number
  /** The limit never goes below this. */
  readonly min: number
  /** The limit never goes above this: the run's `concurrency`. */
  readonly max: number
  /** The factor a rate-limited attempt multiplies the limit by, in (0, 1). */
  readonly decrease: number
  /** How much the limit grows over `limit` successes (each success adds `increase / limit`). */
  readonly increase: number
}

/**
 * Additive-increase, multiplicative-decrease control of how many tasks run at once. Tasks hold a permit of a
 * `Semaphore` while they run; the controller resizes it. A rate-limited attempt multiplies the limit by
 * `decrease`, once per round of requests: attempts that started before the last decrease do not decrease it again,
 * since they saw the same overload (rounds are counted by `epoch`, not by the clock, whose milliseconds are too
 * coarse to order attempts that start and fail in the same one). Each success adds `increase / limit`, so the limit grows by `increase` for
 * every `limit` successes.
 *
 * @internal
 */
export class Adaptive {
  readonly semaphore: Effect.Semaphore
  limit: number
  permits: number
  lowest: number
  decreases = 0
  /** How many decreases there have been: an attempt notes it when it starts. */
  epoch = 0
  constructor(
    readonly options: AdaptiveOptions,
    private readonly labels: ReadonlyArray<MetricLabel.MetricLabel>
  ) {
    this.limit = options.initial
    this.permits = Math.floor(options.initial)
    this.lowest = this.permits
    this.semaphore = Effect.unsafeMakeSemaphore(this.permits)
    ExecutorMetrics.effectiveConcurrency.unsafeUpdate(this.permits, labels)
  }

  private resize(): Effect.Effect<void> {
    const permits = Math.floor(this.limit)
    if (permits === this.permits) return Effect.void
    this.permits = permits
    if (permits < this.lowest) this.lowest = permits
    ExecutorMetrics.effectiveConcurrency.unsafeUpdate(permits, this.labels)
    return this.semaphore.resize(permits)
  }

  onSuccess(): Effect.Effect<void> {
    this.limit = Math.min(this.options.max, this.limit + this.options.increase / this.limit)
    return this.resize()
  }

  /** `epoch` is the `epoch` when the rate-limited attempt started. */
  onRateLimited(epoch: number): Effect.Effect<void> {
    if (epoch !== this.epoch) return Effect.void
    this.epoch++
    this.decreases++
    this.limit = Math.max(this.options.min, this.limit * this.options.decrease)
    return this.resize()
  }
}
