/**
 * A run's event log: every event of the run, numbered from 1, kept as the JSON it is sent as, so that any number of
 * readers follow it at their own pace. Appending never waits for a reader: each reader is told that the log grew
 * through a sliding queue of one signal of its own, and reads what it has not seen from the log itself, a bounded
 * batch at a time. A reader that falls behind costs the run nothing, and a reader that leaves costs nothing either.
 *
 * @internal
 */
import * as Chunk from "effect/Chunk"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"

/** One event as readers see it. @internal */
export interface Entry {
  /** Its number in the run, from 1: the SSE `id`. */
  readonly id: number
  /** Its kind: the SSE `event`, the event's `_tag`. */
  readonly type: string
  /** Its JSON: the SSE `data`. */
  readonly data: string
}

/**
 * How many events a reader takes at a time: what a busy run writes in a reader's `linger` (100 ms of 10,000 tasks a
 * second is 3,000 events, about 500 kB), so that a reader that follows it live gets them in one write.
 */
const batch = 4096

// TextEncoder is a global of every runtime the server runs on; the project's libraries do not declare it.
declare const TextEncoder: new() => { encode(text: string): Uint8Array }
const encoder = new TextEncoder()

/**
 * Events in the `text/event-stream` format: `id`, `event` and `data` lines, then a blank line.
 *
 * @internal
 */
export const sse = (entries: Iterable<Entry>): string => {
  let text = ""
  for (const entry of entries) text += `id: ${entry.id}\nevent: ${entry.type}\ndata: ${entry.data}\n\n`
  return text
}

/**
 * Events as the bytes of their `text/event-stream` form.
 *
 * @internal
 */
export const sseBytes = (entries: Iterable<Entry>): Uint8Array => encoder.encode(sse(entries))

/** How many encoded batches a log keeps for its readers. */
const cached = 16

/** How long a reader that is told of new events waits for more before it reads them. */
const defaultLinger = Duration.millis(100)

/** The keep-alive comment of an event stream. */
const keepAliveBytes = encoder.encode(": keep-alive\n\n")

/** @internal */
export class EventLog {
  /** The events kept, in order of their numbers (with gaps once the log is compacted). */
  private entries: Array<Entry> = []
  private last = 0
  private closed = false
  /** The readers that follow the log now: each one's signal, a sliding queue of one. */
  private readonly signals = new Set<Queue.Queue<void>>()

  private constructor() {}

  /** @internal */
  static make = Effect.sync(() => new EventLog())

  /** The number of the last event, 0 before the first. */
  get lastId(): number {
    return this.last
  }

  get isClosed(): boolean {
    return this.closed
  }

  /** How many readers follow the log now. */
  get readers(): number {
    return this.signals.size
  }

  private tell(): void {
    for (const signal of this.signals) Queue.unsafeOffer(signal, undefined)
  }

  /** Appends events, then tells the readers. */
  append(events: ReadonlyArray<{ readonly type: string; readonly data: string }>): Effect.Effect<void> {
    return Effect.sync(() => {
      if (this.closed || events.length === 0) return
      for (const event of events) this.entries.push({ id: ++this.last, type: event.type, data: event.data })
      this.tell()
    })
  }

  /** What a closed log keeps: readers that come after the close see only these events. */
  private kept: ((entry: Entry) => boolean) | undefined

  /**
   * No event comes after this: readers end once they have read the log. With `keep`, the log then keeps only the
   * events `keep` accepts (a finished run's log without its live output), numbered as they were: at once if no one
   * reads it, else when its last reader leaves, so that a reader under way still gets every event.
   */
  close(keep?: (entry: Entry) => boolean): Effect.Effect<void> {
    return Effect.sync(() => {
      this.closed = true
      this.kept = keep
      this.compact()
      this.tell()
    })
  }

  private compact(): void {
    if (this.kept !== undefined && this.readers === 0) {
      this.entries = this.entries.filter(this.kept)
      this.kept = undefined
    }
  }

  /** The events after `after`, at most `max`. */
  since(after: number, max: number): Array<Entry> {
    // The first kept event above `after`, by binary search: numbers are increasing, with gaps after compaction.
    let lo = 0
    let hi = this.entries.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (this.entries[mid]!.id <= after) lo = mid + 1
      else hi = mid
    }
    return this.entries.slice(lo, lo + max)
  }

  /** The last batches sent, encoded, by the numbers of their first and last events. */
  private readonly encoded = new Map<string, Uint8Array>()

  /**
   * The events after `after` as the bytes of their `text/event-stream` form (see `read`). Readers that follow the
   * run live read the same batches at the same time: each batch is encoded once for all of them. With `keepAlive`,
   * a comment (`: keep-alive`) goes out every that long when the reader has nothing else to send, while the log is
   * open.
   */
  readSse(
    after: number,
    options?: {
      readonly linger?: Duration.DurationInput | undefined
      readonly keepAlive?: Duration.DurationInput | undefined
    }
  ): Stream.Stream<Uint8Array> {
    return Stream.mapChunks(this.follow(after, options?.linger, options?.keepAlive), (entries) => {
      if (entries.length === 0) return Chunk.of(keepAliveBytes)
      // The first and last numbers and the count name the batch: events between two numbers are the log's, or (for
      // a reader of a closed log) those it keeps, and a subset of the same size is the same set.
      const key = `${Chunk.unsafeHead(entries).id}-${Chunk.unsafeLast(entries).id}-${entries.length}`
      let bytes = this.encoded.get(key)
      if (bytes === undefined) {
        bytes = sseBytes(entries)
        this.encoded.set(key, bytes)
        if (this.encoded.size > cached) this.encoded.delete(this.encoded.keys().next().value!)
      }
      return Chunk.of(bytes)
    })
  }

  /**
   * The events after `after`, as they come, until the log is closed and read. The reader registers its signal
   * before it first looks at the log, so that no append goes unseen; it counts in `readers` while the stream runs.
   * Once it has caught up, a reader that is told of new events waits for the next tick of the clock's `linger` grid
   * (every 100 ms) before it reads them, so that the events of that while go out together: many readers of a busy
   * run then cost a write each per `linger`, not one per event. Readers that follow the run live wake at the same
   * ticks, read the same events, and so share each batch's encoding (`readSse`; bench/README.md, "HTTP API under
   * readers").
   */
  read(after: number, linger?: Duration.DurationInput): Stream.Stream<Entry> {
    return this.follow(after, linger, undefined)
  }

  /**
   * `read`'s batches, as chunks of entries, and with `keepAlive` an empty chunk every that long when there is
   * nothing to send. The keep-alive is a fiber of the reader's own that signals it every `keepAlive`: the reader's
   * one wait (for its signal) serves both, with no race or merge per batch.
   */
  private follow(
    after: number,
    linger: Duration.DurationInput = defaultLinger,
    keepAlive: Duration.DurationInput | undefined
  ): Stream.Stream<Entry> {
    return Stream.unwrapScoped(Effect.gen(this, function*() {
      const signal = yield* Queue.sliding<void>(1)
      yield* Effect.acquireRelease(
        Effect.sync(() => this.signals.add(signal)),
        () =>
          Effect.sync(() => {
            this.signals.delete(signal)
            this.compact()
          })
      )
      // Whether a keep-alive is due: set every `keepAlive` (none for a while of 0), cleared when something is sent.
      let idle = false
      if (keepAlive !== undefined && Duration.toMillis(keepAlive) > 0) {
        yield* Effect.forkScoped(Effect.schedule(
          Effect.sync(() => {
            idle = true
            Queue.unsafeOffer(signal, undefined)
          }),
          Schedule.spaced(keepAlive)
        ))
      }
      // A reader of a closed log sees what the log keeps, even before it is compacted.
      const keep = this.closed ? this.kept : undefined
      const grid = Duration.toMillis(linger)
      // Until the next tick of the grid (at once for a grid of 0).
      const tick = grid > 0
        ? Effect.flatMap(Clock.currentTimeMillis, (now) => Effect.sleep(Duration.millis(grid - (now % grid))))
        : Effect.void
      // A number this log never gave (the client's, from a log before this one) reads as its end: the last event
      // again if the log is closed (the run's RunFinished), so that the client learns how the run ended, else
      // what comes from now on.
      let cursor = after > this.last ? (this.closed ? this.last - 1 : this.last) : after
      const next: Effect.Effect<Chunk.Chunk<Entry>, Option.Option<never>> = Effect.suspend(() => {
        const found = this.since(cursor, batch)
        if (found.length > 0) {
          cursor = found[found.length - 1]!.id
          const entries = keep === undefined ? found : found.filter(keep)
          if (entries.length === 0) return next
          idle = false
          return Effect.succeed(Chunk.unsafeFromArray(entries))
        }
        if (this.closed) return Effect.fail(Option.none())
        if (idle) {
          idle = false
          return Effect.succeed(Chunk.empty())
        }
        return Effect.zipRight(Queue.take(signal), Effect.suspend(() => idle ? next : Effect.zipRight(tick, next)))
      })
      return Stream.repeatEffectChunkOption(next)
    }))
  }
}
