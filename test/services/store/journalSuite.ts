import { assert, describe, it } from "@effect/vitest"
import type { Scope } from "effect"
import { Chunk, Context, Effect, Either, Fiber, Layer, Option, Stream, TestClock, Tracer } from "effect"
import * as RunJournal from "../../../src/RunJournal.js"
import { entryOf } from "./fixtures.js"

/**
 * What every journal store is tested with: the memory layer, a SQLite file and a real PostgreSQL database. Each
 * test opens journals over a store of its own.
 */

export interface Store {
  /**
   * Opens a journal over the store, as a new process would (a new connection; migrations run again). The memory
   * store gives its one journal every time.
   */
  readonly open: (options?: {
    readonly batchSize?: number
    readonly pageSize?: number
  }) => Effect.Effect<RunJournal.Service, RunJournal.RunJournalError, Scope.Scope>
}

export interface Backend {
  readonly name: string
  /** A new, empty store for one test. */
  readonly store: Effect.Effect<Store, unknown, Scope.Scope>
  /** Whether the store outlives a journal: a journal opened later reads what an earlier one wrote. */
  readonly persistent: boolean
  /**
   * Whether two journals of one process may open a new store at the same time. Not SQLite's: its driver is
   * synchronous, so a connection that waits for the file's lock blocks the process, and with it the other
   * connection, which holds the lock; two processes do open a new file at once (tested on processes).
   */
  readonly concurrentOpen: boolean
  /**
   * Why the backend is not available here, asked when each test starts (a server is started before the tests);
   * it fails the test instead when the backend is required.
   */
  readonly unavailable?: (() => string | undefined) | undefined
  /** Added to each test's name: reporters do not print a skipped test's reason. */
  readonly note?: string | undefined
}

/** The journal a layer builds, in the current scope. */
export const build = <E>(layer: Layer.Layer<RunJournal.RunJournal, E>) =>
  Effect.map(Layer.build(layer), Context.get(RunJournal.RunJournal))

const byTaskId = (a: RunJournal.Entry, b: RunJournal.Entry) => a.taskId < b.taskId ? -1 : a.taskId > b.taskId ? 1 : 0

export const readAll = (journal: RunJournal.Service, runId: string) =>
  Effect.map(Stream.runCollect(journal.entries(runId)), (chunk) => Chunk.toArray(chunk).sort(byTaskId))

/** A run's entries as the journal gives them, in the order they were recorded. */
export const readInOrder = (journal: RunJournal.Service, runId: string) =>
  Effect.map(Stream.runCollect(journal.entries(runId)), Chunk.toArray)

/** Runs `effect` with a tracer that keeps the `RunJournal.write` spans: one per batch, with its `rows`. */
export const withWriteSpans = <A, E, R>(
  f: (batches: () => ReadonlyArray<number>) => Effect.Effect<A, E, R>
): Effect.Effect<A, E, R> =>
  Effect.flatMap(Effect.tracer, (builtIn) => {
    const spans: Array<Tracer.Span> = []
    const tracer = Tracer.make({
      span: (...args) => {
        const span = builtIn.span(...args)
        if (args[0] === "RunJournal.write") spans.push(span)
        return span
      },
      context: (f, fiber) => builtIn.context(f, fiber)
    })
    return Effect.withTracer(f(() => spans.map((span) => Number(span.attributes.get("rows")))), tracer)
  })

export const journalSuite = (backend: Backend) => {
  const test = (name: string, body: (store: Store) => Effect.Effect<void, unknown, Scope.Scope>) =>
    it.scoped(`${backend.name}: ${name}${backend.note ?? ""}`, (ctx) => {
      const unavailable = backend.unavailable?.()
      if (unavailable !== undefined) ctx.skip(unavailable)
      return Effect.flatMap(backend.store, body)
    })

  describe(`RunJournal over ${backend.name}`, () => {
    test("records results and reads them back by run", (store) =>
      Effect.gen(function*() {
        const journal = yield* store.open()
        const entries = [
          entryOf("doc-1", "Succeeded"),
          entryOf("doc-2", "Failed"),
          entryOf("doc-3", "TimedOut"),
          entryOf("doc-4", "Interrupted"),
          entryOf("", "Succeeded"),
          entryOf("it's \"quoted\" ü 😀", "Succeeded")
        ]
        yield* Effect.forEach(entries, (entry) => journal.record("run-a", entry), { concurrency: "unbounded" })
        yield* journal.record("run-b", entryOf("doc-1", "Failed"))

        assert.deepStrictEqual(yield* readAll(journal, "run-a"), [...entries].sort(byTaskId))
        assert.deepStrictEqual(yield* readAll(journal, "run-b"), [entryOf("doc-1", "Failed")])
        assert.deepStrictEqual(yield* readAll(journal, "no-such-run"), [])
      }))

    test("a second record of a task replaces the first, also when both are written in one batch", (store) =>
      Effect.gen(function*() {
        const journal = yield* store.open()
        yield* journal.record("run", entryOf("doc-1", "Failed"))
        yield* journal.record("run", { ...entryOf("doc-1", "Succeeded"), inputHash: "new-hash" })
        // Three records of one task at once: they go in one batch, and the last one made wins.
        yield* Effect.all(
          [
            journal.record("run", entryOf("doc-2", "Failed")),
            journal.record("run", entryOf("doc-2", "TimedOut")),
            journal.record("run", entryOf("doc-2", "Succeeded"))
          ],
          { concurrency: "unbounded" }
        )
        assert.deepStrictEqual(yield* readAll(journal, "run"), [
          { ...entryOf("doc-1", "Succeeded"), inputHash: "new-hash" },
          entryOf("doc-2", "Succeeded")
        ])
      }))

    test("entries come back in the order they were recorded, across batches, pages and a reopened journal", (store) =>
      Effect.gen(function*() {
        const inOrder = (journal: RunJournal.Service, runId: string) =>
          Effect.map(Stream.runCollect(journal.entries(runId)), (chunk) => Chunk.toArray(chunk).map((e) => e.taskId))
        const journal = yield* store.open({ pageSize: 3 })
        // Ids in no sorted order; one batch of several, then one by one.
        const first = ["m", "c", "x", "a", "q"]
        yield* Effect.forEach(first, (id) => journal.record("run", entryOf(id)), { concurrency: "unbounded" })
        for (const id of ["b", "z", "k"]) yield* journal.record("run", entryOf(id))
        // Recorded again (a failure retried on resume): it moves to the end.
        yield* journal.record("run", entryOf("c", "Failed"))
        yield* journal.record("other", entryOf("a"))
        const expected = ["m", "x", "a", "q", "b", "z", "k", "c"]
        assert.deepStrictEqual(yield* inOrder(journal, "run"), expected)
        assert.deepStrictEqual(yield* inOrder(journal, "other"), ["a"])
        if (!backend.persistent) return
        // A new journal over the same store (a restarted process) goes on after what is there.
        const reopened = yield* store.open({ pageSize: 2 })
        assert.deepStrictEqual(yield* inOrder(reopened, "run"), expected)
        yield* Effect.forEach(["e", "d"], (id) => reopened.record("run", entryOf(id)), { concurrency: "unbounded" })
        yield* reopened.record("run", entryOf("m", "TimedOut"))
        assert.deepStrictEqual(yield* inOrder(reopened, "run"), ["x", "a", "q", "b", "z", "k", "c", "e", "d", "m"])
      }))

    test("update replaces a run's agent and options without counting a start; it creates a missing marker", (store) =>
      Effect.gen(function*() {
        const journal = yield* store.open()
        yield* TestClock.setTime(1_000)
        yield* journal.update({ runId: "new", agent: "a1", options: { state: "running" } })
        yield* journal.start({ runId: "started", agent: "a2", options: { n: 1 } })
        yield* TestClock.setTime(2_000)
        yield* journal.finish("started")
        yield* journal.update({ runId: "started", agent: "a3", options: { n: 2, text: "ü 😀" } })
        yield* journal.update({ runId: "new", agent: "a1", options: { state: "finished" } })
        const created = Option.getOrThrow(yield* journal.run("new"))
        assert.strictEqual(created.agent, "a1")
        assert.deepStrictEqual(created.options, { state: "finished" })
        assert.strictEqual(created.startedAt, 1_000)
        assert.strictEqual(created.starts, 1)
        assert.strictEqual(created.finishedAt, undefined)
        const updated = Option.getOrThrow(yield* journal.run("started"))
        assert.strictEqual(updated.agent, "a3")
        assert.deepStrictEqual(updated.options, { n: 2, text: "ü 😀" })
        assert.strictEqual(updated.starts, 1)
        assert.strictEqual(updated.resumedAt, undefined)
        assert.strictEqual(updated.finishedAt, 2_000)
      }))

    test("a result that is not JSON fails its own record with Encode; records made with it are written", (store) =>
      Effect.gen(function*() {
        const journal = yield* store.open()
        const cyclic: Record<string, unknown> = {}
        cyclic["self"] = cyclic
        const results = yield* Effect.all(
          [
            journal.record("run", entryOf("good-1")),
            journal.record("run", { ...entryOf("bigint"), result: { n: 1n } }),
            journal.record("run", { ...entryOf("cyclic"), result: cyclic }),
            journal.record("run", { ...entryOf("undefined"), result: undefined }),
            journal.record("run", entryOf("good-2"))
          ].map(Effect.either),
          { concurrency: "unbounded" }
        )
        assert.deepStrictEqual(results.map(Either.isRight), [true, false, false, false, true])
        for (const [i, taskId] of [[1, "bigint"], [2, "cyclic"], [3, "undefined"]] as const) {
          const error = Either.getLeft(results[i]!).pipe(Option.getOrThrow)
          assert.strictEqual(error.reason, "Encode")
          assert.strictEqual(error.runId, "run")
          assert.strictEqual(error.taskId, taskId)
          assert.include(error.message, `Run journal: a value is not JSON (run run, task ${taskId})`)
        }
        assert.deepStrictEqual(yield* readAll(journal, "run"), [entryOf("good-1"), entryOf("good-2")])
      }))

    test("lists runs with their markers and their results by outcome", (store) =>
      Effect.gen(function*() {
        const journal = yield* store.open()
        yield* TestClock.adjust(1_000)
        yield* journal.start({ runId: "run-1", agent: "classify", options: { input: "docs.jsonl", concurrency: 8 } })
        yield* Effect.forEach(
          [
            entryOf("a", "Succeeded"),
            entryOf("b", "Succeeded"),
            entryOf("c", "Failed"),
            entryOf("d", "TimedOut"),
            entryOf("e", "Interrupted")
          ],
          (entry) => journal.record("run-1", entry),
          { concurrency: "unbounded" }
        )
        yield* TestClock.adjust(1_000)
        yield* journal.finish("run-1")
        yield* TestClock.adjust(1_000)
        yield* journal.start({ runId: "run-2", agent: "summarize" })
        yield* journal.record("run-3", entryOf("x", "Failed"))

        const run1 = {
          runId: "run-1",
          agent: "classify",
          options: { input: "docs.jsonl", concurrency: 8 },
          startedAt: 1_000,
          starts: 1,
          resumedAt: undefined,
          finishedAt: 2_000,
          lastRecordedAt: 1_000,
          recorded: { total: 5, succeeded: 2, failed: 1, timedOut: 1, interrupted: 1 }
        }
        const run2 = {
          runId: "run-2",
          agent: "summarize",
          options: undefined,
          startedAt: 3_000,
          starts: 1,
          resumedAt: undefined,
          finishedAt: undefined,
          lastRecordedAt: undefined,
          recorded: { total: 0, succeeded: 0, failed: 0, timedOut: 0, interrupted: 0 }
        }
        const run3 = {
          runId: "run-3",
          agent: undefined,
          options: undefined,
          startedAt: undefined,
          starts: 0,
          resumedAt: undefined,
          finishedAt: undefined,
          lastRecordedAt: 3_000,
          recorded: { total: 1, succeeded: 0, failed: 1, timedOut: 0, interrupted: 0 }
        }
        assert.deepStrictEqual(yield* journal.runs, [run2, run1, run3])
        assert.deepStrictEqual(yield* journal.run("run-3"), Option.some(run3))
        assert.deepStrictEqual(yield* journal.run("no-such-run"), Option.none())

        // Resumed: started again, no longer finished; its first start is kept.
        yield* TestClock.adjust(1_000)
        yield* journal.start({ runId: "run-1", agent: "classify", options: { input: "docs.jsonl", resumed: true } })
        assert.deepStrictEqual(
          yield* journal.run("run-1"),
          Option.some({
            ...run1,
            options: { input: "docs.jsonl", resumed: true },
            starts: 2,
            resumedAt: 4_000,
            finishedAt: undefined
          })
        )
      }))

    if (!backend.persistent) return

    test("a record is in the store when it completes, and the store opens again with its tables as they are", (store) =>
      Effect.gen(function*() {
        const first = yield* store.open()
        yield* Effect.forEach(
          Array.from({ length: 20 }, (_, i) => entryOf(`doc-${i}`)),
          (entry) => first.record("run", entry),
          { concurrency: "unbounded" }
        )
        yield* first.start({ runId: "run", agent: "classify" })
        // The first journal stays open, as a process killed now would leave it.
        const second = yield* store.open()
        assert.strictEqual((yield* readAll(second, "run")).length, 20)
        yield* second.record("run", entryOf("doc-20"))
        const third = yield* Effect.scoped(
          Effect.flatMap(store.open(), (journal) => Effect.zip(readAll(journal, "run"), journal.runs))
        )
        assert.strictEqual(third[0].length, 21)
        assert.deepStrictEqual(third[1].map((run) => [run.runId, run.starts, run.recorded.total]), [["run", 1, 21]])
      }))

    if (backend.concurrentOpen) {
      test("two journals opening a new store at once both migrate it", (store) =>
        Effect.gen(function*() {
          const [a, b] = yield* Effect.all([store.open(), store.open()], { concurrency: "unbounded" })
          yield* a.record("run", entryOf("from-a"))
          yield* b.record("run", entryOf("from-b"))
          assert.deepStrictEqual((yield* readAll(a, "run")).map((e) => e.taskId), ["from-a", "from-b"])
        }))
    }

    test("records made at once are written in few statements, none larger than batchSize", (store) =>
      withWriteSpans((batches) =>
        Effect.gen(function*() {
          const journal = yield* store.open({ batchSize: 500 })
          const entries = Array.from({ length: 2_000 }, (_, i) => entryOf(`doc-${i}`))
          yield* Effect.forEach(entries, (entry) => journal.record("run", entry), { concurrency: "unbounded" })
          const sizes = batches()
          assert.strictEqual(sizes.reduce((a, b) => a + b, 0), 2_000)
          assert.isAtMost(Math.max(...sizes), 500)
          // 2,000 records at once: 4 full statements, give or take a few smaller ones as records arrive.
          assert.isAtMost(sizes.length, 12, `batches: ${sizes.join(", ")}`)
          assert.strictEqual((yield* readAll(journal, "run")).length, 2_000)
        })
      ))

    test("entries are read in pages, each entry once", (store) =>
      Effect.gen(function*() {
        const journal = yield* store.open({ pageSize: 7 })
        const entries = Array.from({ length: 50 }, (_, i) => entryOf(`doc-${String(i).padStart(2, "0")}`))
        yield* Effect.forEach(entries, (entry) => journal.record("run", entry), { concurrency: "unbounded" })
        yield* journal.record("other", entryOf("doc-00"))
        assert.deepStrictEqual(yield* readAll(journal, "run"), entries)
        // A run whose size is a multiple of the page size ends with an empty page.
        const exact = yield* store.open({ pageSize: 5 })
        assert.deepStrictEqual(yield* readAll(exact, "run"), entries)
      }))

    test("closing the journal writes what is waiting; a record after that fails with Write", (store) =>
      Effect.gen(function*() {
        const outer = yield* Effect.scope
        const entries = Array.from({ length: 200 }, (_, i) => entryOf(`doc-${i}`))
        const { journal, records } = yield* Effect.scoped(
          Effect.gen(function*() {
            const journal = yield* store.open()
            const records = yield* Effect.forkIn(
              Effect.forEach(entries, (entry) => Effect.either(journal.record("run", entry)), {
                concurrency: "unbounded"
              }),
              outer
            )
            // Let the records start: they are waiting for their batches when the scope closes.
            yield* Effect.repeatN(Effect.yieldNow(), 5)
            return { journal, records }
          })
        )
        // None is left waiting: each was written, or refused because the journal had closed.
        const results = yield* Fiber.join(records)
        const written = entries.filter((_, i) => Either.isRight(results[i]!)).map((entry) => entry.taskId)
        for (const result of results) {
          if (Either.isLeft(result)) assert.include(result.left.message, "the journal is closed")
        }
        assert.isAbove(written.length, 0)
        const after = yield* Effect.flip(journal.record("run", entryOf("late")))
        assert.strictEqual(after.reason, "Write")
        assert.include(after.message, "the journal is closed")
        const reopened = yield* store.open()
        assert.deepStrictEqual((yield* readAll(reopened, "run")).map((entry) => entry.taskId), written.sort())
      }))
  })
}
