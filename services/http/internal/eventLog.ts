/**
 * A run's event log: every event of the run, numbered from 1, kept as the JSON it is sent as, so that any number of
 * readers follow it at their own pace. Appending never waits for a reader: readers are told that the log grew
 * through a sliding hub of one signal each, and read what they have not seen from the log itself, a bounded batch
 * at a time. A reader that falls behind costs the run nothing, and a reader that leaves costs nothing either.
 *
 * @internal
 */
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as PubSub from "effect/PubSub"
import * as Queue from "effect/Queue"
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

/** How many events a reader takes at a time. */
const batch = 512

/** @internal */
export class EventLog {
  /** The events kept, in order of their numbers (with gaps once the log is compacted). */
  private entries: Array<Entry> = []
  private last = 0
  private closed = false
  /** How many readers follow the log now. */
  readers = 0

  private constructor(private readonly changes: PubSub.PubSub<void>) {}

  /** @internal */
  static make = Effect.map(PubSub.sliding<void>(1), (changes) => new EventLog(changes))

  /** The number of the last event, 0 before the first. */
  get lastId(): number {
    return this.last
  }

  get isClosed(): boolean {
    return this.closed
  }

  /** Appends events, then tells the readers. */
  append(events: ReadonlyArray<{ readonly type: string; readonly data: string }>): Effect.Effect<void> {
    return Effect.suspend(() => {
      if (this.closed || events.length === 0) return Effect.void
      for (const event of events) this.entries.push({ id: ++this.last, type: event.type, data: event.data })
      return PubSub.publish(this.changes, undefined)
    })
  }

  /** No event comes after this: readers end once they have read the log. */
  close: Effect.Effect<void> = Effect.suspend(() => {
    this.closed = true
    return PubSub.publish(this.changes, undefined)
  })

  /** Keeps only the events `keep` accepts (a finished run's log without its live output), numbered as they were. */
  compact(keep: (entry: Entry) => boolean): void {
    this.entries = this.entries.filter(keep)
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

  /**
   * The events after `after`, as they come, until the log is closed and read. The reader subscribes before it
   * first looks at the log, so that no append goes unseen; it counts in `readers` while the stream runs.
   */
  read(after: number): Stream.Stream<Entry> {
    return Stream.unwrapScoped(Effect.gen(this, function*() {
      const signal = yield* PubSub.subscribe(this.changes)
      yield* Effect.acquireRelease(
        Effect.sync(() => this.readers++),
        () => Effect.sync(() => this.readers--)
      )
      let cursor = after
      const next: Effect.Effect<Chunk.Chunk<Entry>, Option.Option<never>> = Effect.suspend(() => {
        const entries = this.since(cursor, batch)
        if (entries.length > 0) {
          cursor = entries[entries.length - 1]!.id
          return Effect.succeed(Chunk.unsafeFromArray(entries))
        }
        if (this.closed) return Effect.fail(Option.none())
        return Effect.zipRight(Queue.take(signal), next)
      })
      return Stream.repeatEffectChunkOption(next)
    }))
  }
}
