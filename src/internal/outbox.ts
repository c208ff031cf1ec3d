/**
 * A run's events on their way to its hub: batched a turn of the event loop at a time (`Outbox`), and the text an
 * attempt's agent emits, coalesced (`Output`).
 */
import * as Effect from "effect/Effect"
import * as PubSub from "effect/PubSub"
import * as RunEvent from "../RunEvent.js"
import * as TaskOutput from "../TaskOutput.js"
import { nextTurn } from "./nextTurn.js"

/**
 * The output of one attempt: what its agent emits, published as `TaskOutput` events, coalesced (at most
 * `TaskOutput.maxChars` characters or `TaskOutput.interval` milliseconds a piece). One object per attempt, with its
 * methods on the prototype: an attempt of a run that has events gets one whether or not its agent emits anything.
 *
 * @internal
 */
export class Output implements TaskOutput.Service {
  private buffer = ""
  private publishedAt: number
  constructor(
    private readonly outbox: Outbox,
    private readonly runId: string,
    private readonly taskId: string,
    private readonly index: number,
    private readonly attempt: number,
    private readonly now: () => number
  ) {
    this.publishedAt = now()
  }
  emit(delta: string): Effect.Effect<void> {
    return Effect.sync(() => {
      this.buffer += delta
      if (this.buffer.length >= TaskOutput.maxChars || this.now() - this.publishedAt >= TaskOutput.interval) {
        this.end()
      }
    })
  }
  /** Publishes what is left: at the attempt's end, before its task's next event. */
  end(): void {
    if (this.buffer === "") return
    const delta = this.buffer
    this.buffer = ""
    this.publishedAt = this.now()
    this.outbox.push(RunEvent.RunEvent.TaskOutput({
      runId: this.runId,
      at: this.publishedAt,
      taskId: this.taskId,
      index: this.index,
      attempt: this.attempt,
      delta
    }))
  }
}

// =============================================================================
// the run's events
// =============================================================================

/** The most events a run keeps waiting for their turn: past it, they are published at once. */
const maxPending = 1024

/**
 * Where a run's events wait for the next turn of the event loop, to reach the hub together, in the order they came,
 * with one `PubSub.publishAll`. A subscriber that drains the hub (`Stream.fromQueue`, `Queue.takeBetween`) is then
 * woken once a batch: woken for each event, as a busy run publishes them one at a time, it cost the run about 20 µs
 * of CPU an event, more than the rest of a task's bookkeeping. An event waits at most one turn.
 *
 * @internal
 */
export class Outbox {
  private pending: Array<RunEvent.RunEvent> = []
  private scheduled = false
  constructor(private readonly pubsub: PubSub.PubSub<RunEvent.RunEvent>) {}

  /** Adds an event, to be published on the next turn (or at once, with those waiting, when many wait). */
  add(event: RunEvent.RunEvent): Effect.Effect<void> {
    return Effect.sync(() => this.push(event))
  }

  /** `add`, now: for what happens where no effect runs (an attempt's start and end). */
  push(event: RunEvent.RunEvent): void {
    this.pending.push(event)
    if (this.pending.length >= maxPending) this.onTurn()
    else if (!this.scheduled) {
      this.scheduled = true
      nextTurn.scheduleTask(this.onTurn, 0)
    }
  }

  /** Publishes the events waiting, then `events`, now. */
  flush(...events: ReadonlyArray<RunEvent.RunEvent>): Effect.Effect<void> {
    return Effect.suspend(() => {
      const batch = this.take(events)
      return batch.length === 0 ? Effect.void : Effect.asVoid(PubSub.publishAll(this.pubsub, batch))
    })
  }

  private take(events: ReadonlyArray<RunEvent.RunEvent>): Array<RunEvent.RunEvent> {
    const batch = this.pending
    if (batch.length === 0) return events.length === 0 ? batch : events.slice()
    this.pending = []
    for (const event of events) batch.push(event)
    return batch
  }

  private readonly onTurn = () => {
    // A turn scheduled before an early publish (many waiting) finds nothing, or what came since.
    this.scheduled = false
    const batch = this.take([])
    // A sliding hub publishes without waiting; one shut down takes nothing more, and its subscribers are gone.
    if (batch.length > 0) Effect.runSyncExit(PubSub.publishAll(this.pubsub, batch))
  }
}
