import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, TestClock } from "effect"
import * as Progress from "../../../../services/cli/internal/progress.js"
import * as RunEvent from "../../../../src/RunEvent.js"
import { badInput, succeeded, timedOut } from "../../../results.js"

const snapshot = (fields: Partial<Progress.Snapshot>): Progress.Snapshot => ({
  elapsedMillis: 5_000,
  done: 0,
  total: undefined,
  succeeded: 0,
  failed: 0,
  timedOut: 0,
  interrupted: 0,
  inFlight: 0,
  rate: undefined,
  ...fields
})

/** A sink that keeps what is written. */
const capture = (interactive: boolean) => {
  const written: Array<string> = []
  const sink: Progress.Sink = {
    write: (text) => Effect.sync(() => written.push(text)),
    interactive,
    columns: () => 100
  }
  return { sink, written }
}

describe("progress", () => {
  it("a plain line: done of total, outcomes, in flight, rate and ETA", () => {
    assert.strictEqual(
      Progress.renderLine(
        snapshot({ done: 50, total: 200, succeeded: 47, failed: 2, timedOut: 1, inFlight: 8, rate: 10 })
      ),
      "progress 5.00 s: 50/200 done (25%), 47 succeeded, 2 failed, 1 timed out, 0 interrupted, 8 in flight, 10/s, " +
        "ETA 15.00 s"
    )
    // The total is not counted yet, and no rate is known: no ETA.
    assert.strictEqual(
      Progress.renderLine(snapshot({ done: 3, succeeded: 3, inFlight: 2 })),
      "progress 5.00 s: 3 done, 3 succeeded, 0 failed, 0 timed out, 0 interrupted, 2 in flight, -/s, ETA -"
    )
  })

  it("the bar a terminal redraws fits the terminal, and leaves the bar out when it would not", () => {
    const s = snapshot({ done: 1_500, total: 3_000, succeeded: 1_499, failed: 1, inFlight: 32, rate: 120.4 })
    const wide = Progress.renderBar(s, 120)
    assert.strictEqual(
      wide,
      "[##########----------] 1,500/3,000 50% | 1,499 ok | 1 failed | 0 timed out | 32 in flight | 120/s | " +
        "ETA 12.46 s"
    )
    const narrow = Progress.renderBar(s, 80)
    assert.isFalse(narrow.startsWith("["))
    assert.isAtMost(narrow.length, 79)
    assert.isAtMost(Progress.renderBar(s, 30).length, 29)
    // Interrupted tasks are shown once there are any.
    assert.include(Progress.renderBar({ ...s, interrupted: 3 }, 200), "| 3 interrupted |")
  })

  it("the ETA is the time left at the current rate, zero when all is done, unknown without a total or a rate", () => {
    assert.strictEqual(Progress.etaMillis(snapshot({ done: 10, total: 30, rate: 4 })), 5_000)
    assert.strictEqual(Progress.etaMillis(snapshot({ done: 30, total: 30 })), 0)
    assert.isUndefined(Progress.etaMillis(snapshot({ done: 10, rate: 4 })))
    assert.isUndefined(Progress.etaMillis(snapshot({ done: 10, total: 30, rate: 0 })))
  })

  it("the rate is over the last ten seconds", () => {
    const meter = new Progress.RateMeter()
    meter.sample(0, 0)
    assert.isUndefined(meter.perSecond)
    meter.sample(1_000, 100)
    assert.strictEqual(meter.perSecond, 100)
    // Fast at first, then slower: the window forgets the start.
    for (let at = 2_000; at <= 20_000; at += 1_000) meter.sample(at, 100 + (at - 1_000) / 100)
    assert.closeTo(meter.perSecond!, 10, 0.01)
  })

  it("the tally counts outcomes, bad input, usage, and what is in flight from the run's events", () => {
    const tally = new Progress.Tally()
    assert.isFalse(tally.add(succeeded(1)))
    assert.isTrue(tally.add(badInput(2)))
    assert.isFalse(tally.add(timedOut(3)))
    assert.deepStrictEqual(
      [tally.done, tally.succeeded, tally.failed, tally.badInput, tally.timedOut, tally.busyMillis],
      [3, 1, 1, 1, 1, 30_100]
    )
    assert.strictEqual(tally.usage.inputTokens, 30)
    const started = (taskId: string, attempt: number) =>
      RunEvent.RunEvent.TaskStarted({ runId: "r1", at: 0, taskId, index: 0, agent: "classifier", attempt })
    tally.event(started("a", 1))
    tally.event(started("b", 1))
    // A retry's attempt is the same task in flight.
    tally.event(started("b", 2))
    assert.deepStrictEqual([tally.inFlight, tally.peakInFlight], [2, 2])
    tally.event(RunEvent.ended("r1", 0, succeeded(1)))
    assert.deepStrictEqual([tally.inFlight, tally.peakInFlight], [1, 2])
  })

  it("without events: agents in flight as they start and stop, tasks under way until their result is written", () => {
    const tally = new Progress.Tally()
    tally.started(true)
    tally.started(true)
    tally.started(true)
    assert.deepStrictEqual([tally.inFlight, tally.peakInFlight, tally.underWay], [3, 3, 3])
    // Two agents stop; their results are not written yet (they wait in the run's output), so a new agent that
    // starts now is the third running, never a fourth.
    tally.stopped()
    tally.stopped()
    tally.started(true)
    assert.deepStrictEqual([tally.inFlight, tally.peakInFlight, tally.underWay], [2, 3, 4])
    tally.ended(succeeded(1))
    tally.ended(timedOut(2))
    assert.deepStrictEqual([tally.inFlight, tally.peakInFlight, tally.underWay], [2, 3, 2])
    // A task that never started (bad input, say) was never under way.
    tally.ended(badInput(3))
    assert.strictEqual(tally.underWay, 2)
    // A retry's attempt is an agent in flight, not another task.
    tally.stopped()
    tally.started(false)
    assert.deepStrictEqual([tally.inFlight, tally.peakInFlight, tally.underWay], [2, 3, 2])
  })

  it.effect("not on a terminal: a plain line every interval, the first after one interval", () =>
    Effect.gen(function*() {
      const tally = new Progress.Tally()
      tally.total = 10
      const { sink, written } = capture(false)
      const fiber = yield* Effect.fork(
        Progress.ticker({ tally, sink, startedAt: 0, interval: "5 seconds" }).run
      )
      yield* TestClock.adjust("4999 millis")
      assert.deepStrictEqual(written, [])
      tally.add(succeeded(1))
      tally.add(succeeded(2))
      yield* TestClock.adjust("1 millis")
      assert.deepStrictEqual(written, [
        "progress 5.00 s: 2/10 done (20%), 2 succeeded, 0 failed, 0 timed out, 0 interrupted, 0 in flight, 0.4/s, " +
        "ETA 20.00 s\n"
      ])
      yield* TestClock.adjust("10 seconds")
      assert.strictEqual(written.length, 3)
      assert.match(written[2]!, /^progress 15.00 s: 2\/10 done/)
      yield* Fiber.interrupt(fiber)
    }))

  it.effect("on a terminal: the bar, redrawn in place every 100 ms", () =>
    Effect.gen(function*() {
      const tally = new Progress.Tally()
      const { sink, written } = capture(true)
      const fiber = yield* Effect.fork(Progress.ticker({ tally, sink, startedAt: 0, interval: "5 seconds" }).run)
      yield* TestClock.adjust("1 second")
      assert.strictEqual(written.length, 10)
      assert.isTrue(written.every((line) => line.startsWith(Progress.clearLine) && !line.includes("\n")))
      assert.strictEqual(
        written[9],
        `${Progress.clearLine}0/? | 0 ok | 0 failed | 0 timed out | 0 in flight | 0.0/s | ETA -`
      )
      yield* Fiber.interrupt(fiber)
    }))
})
