import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import type { Scope } from "effect"
import {
  Cause,
  Chunk,
  Context,
  Effect,
  Either,
  Exit,
  Fiber,
  Layer,
  Option,
  Redacted,
  Schema,
  Stream,
  TestClock
} from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as SqlRunJournal from "../services/store/SqlRunJournal.js"
import * as TestAgent from "../services/testing/TestAgent.js"
import * as AgentError from "../src/AgentError.js"
import * as Executor from "../src/Executor.js"
import * as RunEvent from "../src/RunEvent.js"
import * as RunJournal from "../src/RunJournal.js"
import * as Task from "../src/Task.js"
import * as TaskResult from "../src/TaskResult.js"
import * as Postgres from "./postgres.js"
import { withWriteSpans } from "./services/store/journalSuite.js"

/**
 * Durable runs (`durable: { runId }`) over the memory journal, SQLite files and a real PostgreSQL: a run interrupted
 * part way resumes without calling the agents of the tasks it recorded; a changed input is an error for its task;
 * failures are replayed unless `retryFailed`; a journal that cannot record fails the run, which emits nothing it
 * did not record. Time is the TestClock's; each resume opens the journal again, as a new process would.
 */

/** Opens a journal over one store (a new connection each time for the SQL stores). */
type Open = () => Effect.Effect<RunJournal.Service, RunJournal.RunJournalError, Scope.Scope>

interface Backend {
  readonly name: string
  readonly store: Effect.Effect<Open, never, Scope.Scope>
  readonly unavailable?: () => string | undefined
}

const build = <E>(layer: Layer.Layer<RunJournal.RunJournal, E>) =>
  Effect.map(Layer.build(layer), Context.get(RunJournal.RunJournal))

const memory: Backend = {
  name: "memory",
  store: Effect.map(RunJournal.makeMemory, (journal) => () => Effect.succeed(journal))
}

const sqlite: Backend = {
  name: "SQLite",
  store: Effect.map(
    Effect.acquireRelease(
      Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "durable-test-"))),
      (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
    ),
    (dir) => () => build(SqlRunJournal.layerSqlite({ filename: path.join(dir, "journal.db") }))
  )
}

const required = Boolean(process.env["REQUIRE_POSTGRES"])
let unavailable: string | undefined = Postgres.available() ? undefined : "PostgreSQL is not installed"
let server: Awaited<ReturnType<typeof Postgres.start>> | undefined
beforeAll(async () => {
  if (unavailable === undefined) {
    try {
      server = await Postgres.start()
    } catch (error) {
      unavailable = `PostgreSQL did not start: ${error instanceof Error ? error.message : String(error)}`
    }
  }
}, 120_000)
afterAll(() => server?.stop(), 30_000)
let databases = 0

const postgres: Backend = {
  name: "PostgreSQL",
  unavailable: () => {
    if (unavailable !== undefined && required) assert.fail(`REQUIRE_POSTGRES is set but ${unavailable}`)
    return unavailable
  },
  store: Effect.map(
    Effect.promise(() => server!.createDatabase(`durable_${++databases}_${Math.random().toString(36).slice(2, 8)}`)),
    (url) => () => build(SqlRunJournal.layerPg({ url: Redacted.make(url) }))
  )
}

const executor = Executor.layer({ concurrency: 4 })

/**
 * A short pause in real time: the SQL journals do real I/O, which the TestClock does not drive, so the tests let it
 * settle before moving the clock.
 */
const settle = Effect.promise(() => new Promise<void>((resolve) => setTimeout(resolve, 2)))

/** Waits (in real time, at most 20 s) until `condition` holds. */
const until = (condition: () => boolean, what: string) =>
  Effect.suspend(() => condition() ? Effect.void : Effect.zipRight(settle, Effect.fail("not yet" as const))).pipe(
    Effect.retry({ times: 10_000 }),
    Effect.orElse(() => Effect.dieMessage(`never: ${what}`))
  )

/** Moves the TestClock 100 ms at a time, letting I/O settle in between, until the fiber is done (at most 600 s). */
const drive = <A, E>(fiber: Fiber.Fiber<A, E>) =>
  Effect.gen(function*() {
    for (let step = 0; step < 6000; step++) {
      if (Option.isSome(yield* Fiber.poll(fiber))) break
      yield* settle
      yield* TestClock.adjust("100 millis")
    }
    return yield* Fiber.join(fiber)
  })

/** An agent that waits `input.ms` (TestClock), then labels its text; "fail" in the text fails it once per call. */
const makeAgent = (calls: Map<string, number>) =>
  TestAgent.make({
    name: "label",
    run: (input: { readonly text: string; readonly ms: number }, instance) =>
      Effect.gen(function*() {
        calls.set(instance.taskId, (calls.get(instance.taskId) ?? 0) + 1)
        yield* Effect.sleep(input.ms)
        if (input.text.includes("fail") && calls.get(instance.taskId) === 1) {
          return yield* Effect.fail({ _tag: "Refused", message: `refused ${input.text}` } as const)
        }
        return { label: input.text.toUpperCase(), at: input.ms }
      })
  })

const tasksOf = (n: number, text: (i: number) => string = (i) => `doc ${i}`) =>
  Array.from({ length: n }, (_, i) => Task.make({ id: `t${i}`, input: { text: text(i), ms: (i + 1) * 100 } }))

const ids = (results: ReadonlyArray<TaskResult.TaskResult<unknown, unknown>>) =>
  results.map((result) => result.taskId).sort()

const suite = (backend: Backend) => {
  const test = (name: string, body: (open: Open) => Effect.Effect<void, unknown, Scope.Scope>) =>
    it.scoped(`${backend.name}: ${name}`, (ctx) => {
      const reason = backend.unavailable?.()
      if (reason !== undefined) ctx.skip(reason)
      return Effect.flatMap(backend.store, body)
    })

  describe(`durable runs over ${backend.name}`, () => {
    test("a run interrupted part way resumes: recorded tasks are replayed, never called again", (open) =>
      Effect.gen(function*() {
        const calls = new Map<string, number>()
        const agent = yield* makeAgent(calls)
        const tasks = tasksOf(8)
        const first = yield* open()
        const fiber = yield* Executor.run(tasks, agent.factory, { durable: { runId: "resume" }, concurrency: 2 }).pipe(
          Effect.provideService(RunJournal.RunJournal, first),
          Effect.provide(executor),
          Effect.fork
        )
        // t0 (100 ms), t1 (200 ms) and t2 (100 + 300 ms) end; t3 and t4 are under way; the rest wait.
        const entries = () => Effect.map(Stream.runCollect(first.entries("resume")), Chunk.size)
        yield* until(() => calls.size === 2, "t0 and t1 started")
        for (const [millis, recorded, started] of [[100, 1, 3], [100, 2, 4], [200, 3, 5]] as const) {
          yield* TestClock.adjust(millis)
          yield* until(() => calls.size === started, `${started} started`)
          while ((yield* entries()) < recorded) yield* settle
        }
        yield* Fiber.interrupt(fiber)
        const recorded = yield* Stream.runCollect(first.entries("resume"))
        assert.deepStrictEqual(Chunk.toArray(recorded).map((e) => e.taskId).sort(), ["t0", "t1", "t2"])
        for (const entry of recorded) {
          assert.strictEqual(entry.outcome, "Succeeded")
          assert.strictEqual(
            entry.inputHash,
            yield* RunJournal.hashInput(tasks[Number(entry.taskId.slice(1))]!.input)
          )
        }
        const before = new Map(calls)

        const second = yield* open()
        const events: Array<RunEvent.RunEvent> = []
        const resumed = yield* Effect.gen(function*() {
          const hub = yield* RunEvent.subscribe
          yield* Effect.fork(Stream.runForEach(hub, (event) => Effect.sync(() => events.push(event))))
          yield* Effect.yieldNow()
          const running = yield* Effect.fork(
            Executor.run(tasks, agent.factory, { durable: { runId: "resume" }, concurrency: 2 })
          )
          return yield* drive(running)
        }).pipe(
          Effect.provideService(RunJournal.RunJournal, second),
          Effect.provide(Layer.merge(executor, RunEvent.layer()))
        )
        assert.deepStrictEqual(resumed.summary, { total: 8, succeeded: 8, failed: 0, timedOut: 0, interrupted: 0 })
        assert.strictEqual(resumed.stats.replayed, 3)
        for (const result of resumed.results) {
          assert(TaskResult.isSucceeded(result))
          const replayed = ["t0", "t1", "t2"].includes(result.taskId)
          assert.strictEqual(result.replayed, replayed, result.taskId)
          assert.deepStrictEqual(result.value, { label: `DOC ${result.index}`, at: (result.index + 1) * 100 })
          // The task is the one given now: its input comes from the run, not from the journal.
          assert.strictEqual(result.task, tasks[result.index])
          // Agents of recorded tasks were not called again; the others were called once more.
          assert.strictEqual(calls.get(result.taskId)! - (before.get(result.taskId) ?? 0), replayed ? 0 : 1)
        }
        const ended = events.filter((e) => e._tag === "TaskSucceeded")
        assert.strictEqual(ended.length, 8)
        assert.deepStrictEqual(
          ended.filter((e) => e._tag === "TaskSucceeded" && e.result.replayed).map((e) => e.taskId).sort(),
          ["t0", "t1", "t2"]
        )
        const info = yield* second.run("resume")
        assert(Option.isSome(info))
        assert.strictEqual(info.value.starts, 2)
        assert.strictEqual(info.value.recorded.succeeded, 8)
        assert.isDefined(info.value.finishedAt)
      }))

    test("a changed input under a recorded task id is an error for that task; the run goes on", (open) =>
      Effect.gen(function*() {
        const calls = new Map<string, number>()
        const agent = yield* makeAgent(calls)
        const run = (tasks: ReadonlyArray<Task.Task<{ readonly text: string; readonly ms: number }>>) =>
          Effect.flatMap(open(), (journal) =>
            Effect.gen(function*() {
              const fiber = yield* Effect.fork(Executor.run(tasks, agent.factory, { durable: { runId: "changed" } }))
              return yield* drive(fiber)
            }).pipe(Effect.provideService(RunJournal.RunJournal, journal), Effect.provide(executor)))
        yield* run(tasksOf(4))
        const changed = tasksOf(4, (i) => i === 2 ? "doc 2, edited" : `doc ${i}`)
        const report = yield* run(changed)
        assert.strictEqual(report.stats.replayed, 3)
        const t2 = report.results[2]!
        assert(TaskResult.isFailed(t2))
        assert.isFalse(t2.replayed)
        assert.isFalse(t2.started)
        assert(t2.error instanceof AgentError.JournalInputChanged)
        assert.strictEqual(t2.error.taskId, "t2")
        assert.strictEqual(t2.error.runId, "changed")
        assert.match(TaskResult.message(t2), /task t2 was not started: run changed's journal holds a result for/)
        assert.strictEqual(calls.get("t2"), 1)
        // The recorded result stays: the original input still replays it.
        const again = yield* run(tasksOf(4))
        assert.strictEqual(again.stats.replayed, 4)
        assert.deepStrictEqual(ids(again.results.filter(TaskResult.isSucceeded)), ["t0", "t1", "t2", "t3"])
      }))

    test("failures are replayed as they were, or run again with retryFailed", (open) =>
      Effect.gen(function*() {
        const calls = new Map<string, number>()
        const agent = yield* makeAgent(calls)
        const tasks = tasksOf(4, (i) => i === 1 ? "please fail" : `doc ${i}`)
        const run = (retryFailed: boolean) =>
          Effect.flatMap(open(), (journal) =>
            Effect.gen(function*() {
              const fiber = yield* Effect.fork(
                Executor.run(tasks, agent.factory, { durable: { runId: "failures", retryFailed } })
              )
              return yield* drive(fiber)
            }).pipe(Effect.provideService(RunJournal.RunJournal, journal), Effect.provide(executor)))
        const first = yield* run(false)
        assert.strictEqual(first.summary.failed, 1)
        const replayed = yield* run(false)
        const failed = replayed.results[1]!
        assert(TaskResult.isFailed(failed))
        assert.isTrue(failed.replayed)
        assert.deepStrictEqual(failed.error, { _tag: "Refused", message: "refused please fail" })
        assert.strictEqual(failed.attempt, 1)
        assert.strictEqual(calls.get("t1"), 1)
        assert.strictEqual(replayed.stats.replayed, 4)

        const retried = yield* run(true)
        assert.strictEqual(calls.get("t1"), 2)
        assert.strictEqual(retried.summary.succeeded, 4)
        assert.strictEqual(retried.stats.replayed, 3)
        assert.isFalse(retried.results[1]!.replayed)
        // The new result replaced the failure.
        const after = yield* run(false)
        assert.strictEqual(after.summary.succeeded, 4)
        assert.strictEqual(after.stats.replayed, 4)
        assert.strictEqual(calls.get("t1"), 2)
        for (const id of ["t0", "t2", "t3"]) assert.strictEqual(calls.get(id), 1)
      }))

    test("with an output schema, values are stored encoded and replayed decoded", (open) =>
      Effect.gen(function*() {
        const agent = yield* TestAgent.succeed("dates", (n: number) => ({ n: String(n), at: "2024-01-02T03:04:05Z" }))
        const Output = Schema.Struct({ n: Schema.NumberFromString, at: Schema.Date })
        const run = Effect.flatMap(open(), (journal) =>
          Executor.run(Task.fromIterable([1, 2]), agent.factory, { output: Output, durable: { runId: "dates" } }).pipe(
            Effect.provideService(RunJournal.RunJournal, journal),
            Effect.provide(executor)
          ))
        yield* run
        const report = yield* run
        assert.strictEqual(report.stats.replayed, 2)
        const first = report.results[0]!
        assert(TaskResult.isSucceeded(first))
        assert.strictEqual(first.value.n, 1)
        assert(first.value.at instanceof Date)
        assert.strictEqual(first.value.at.toISOString(), "2024-01-02T03:04:05.000Z")
      }))

    test("a stream resumes too: each recorded task once, replayed first-come", (open) =>
      Effect.gen(function*() {
        const calls = new Map<string, number>()
        const agent = yield* makeAgent(calls)
        const tasks = tasksOf(6)
        const collect = (journal: RunJournal.Service) =>
          Effect.gen(function*() {
            const fiber = yield* Effect.fork(
              Stream.runCollect(Executor.stream(tasks, agent.factory, { durable: { runId: "stream" } }))
            )
            return Chunk.toArray(yield* drive(fiber))
          }).pipe(Effect.provideService(RunJournal.RunJournal, journal), Effect.provide(executor))
        // The first run is cut after two results.
        const journal = yield* open()
        const firstTwo = yield* Effect.gen(function*() {
          const fiber = yield* Effect.fork(
            Stream.runCollect(
              Executor.stream(tasks, agent.factory, { durable: { runId: "stream" } }).pipe(Stream.take(2))
            )
          )
          return Chunk.toArray(yield* drive(fiber))
        }).pipe(Effect.provideService(RunJournal.RunJournal, journal), Effect.provide(executor))
        assert.deepStrictEqual(ids(firstTwo), ["t0", "t1"])
        assert(
          Option.isNone(Option.flatMap(yield* journal.run("stream"), (info) => Option.fromNullable(info.finishedAt)))
        )
        const all = yield* collect(yield* open())
        assert.deepStrictEqual(ids(all), ["t0", "t1", "t2", "t3", "t4", "t5"])
        assert.deepStrictEqual(ids(all.filter((r) => r.replayed)), ["t0", "t1"])
        assert.strictEqual(calls.get("t0"), 1)
        assert.strictEqual(calls.get("t1"), 1)
      }))

    test("a stream that repeats a task id: the first runs, the others fail with TaskOptionsError (id)", (open) =>
      Effect.gen(function*() {
        const calls = new Map<string, number>()
        const agent = yield* makeAgent(calls)
        const tasks = [...tasksOf(3), Task.make({ id: "t1", input: { text: "another t1", ms: 100 } })]
        const results = yield* Effect.flatMap(open(), (journal) =>
          Effect.gen(function*() {
            const fiber = yield* Effect.fork(
              Stream.runCollect(Executor.stream(tasks, agent.factory, { durable: { runId: "repeated" } }))
            )
            return Chunk.toArray(yield* drive(fiber))
          }).pipe(Effect.provideService(RunJournal.RunJournal, journal), Effect.provide(executor)))
        assert.strictEqual(results.length, 4)
        const repeated = results.find((r) => r.index === 3)!
        assert(TaskResult.isFailed(repeated))
        assert(repeated.error instanceof AgentError.TaskOptionsError)
        assert.strictEqual(repeated.error.option, "id")
        assert.match(repeated.error.message, /the run's task at position 1 \(from 0\) has this id/)
        assert.strictEqual(calls.get("t1"), 1)
        assert.strictEqual(results.filter(TaskResult.isSucceeded).length, 3)
      }))

    test("runOne records and replays one task, and leaves the run's markers alone", (open) =>
      Effect.gen(function*() {
        const calls = new Map<string, number>()
        const agent = yield* makeAgent(calls)
        const task = tasksOf(1)[0]!
        const once = Effect.flatMap(open(), (journal) =>
          Effect.gen(function*() {
            const fiber = yield* Effect.fork(Executor.runOne(task, agent.factory, { durable: { runId: "single" } }))
            return yield* drive(fiber)
          }).pipe(Effect.provideService(RunJournal.RunJournal, journal), Effect.provide(executor)))
        const first = yield* once
        assert(TaskResult.isSucceeded(first))
        assert.isFalse(first.replayed)
        const second = yield* once
        assert(TaskResult.isSucceeded(second))
        assert.isTrue(second.replayed)
        assert.deepStrictEqual(second.value, first.value)
        assert.strictEqual(calls.get("t0"), 1)
        const info = yield* Effect.flatMap(open(), (journal) => journal.run("single"))
        assert(Option.isSome(info))
        assert.strictEqual(info.value.starts, 0)
        assert.strictEqual(info.value.recorded.succeeded, 1)
      }))

    test("a journal that cannot record fails the run with RunJournalError; nothing unrecorded is emitted", (open) =>
      Effect.gen(function*() {
        const calls = new Map<string, number>()
        const agent = yield* makeAgent(calls)
        const real = yield* open()
        let writes = 0
        // The journal takes three records, then its store fails.
        const failing = RunJournal.RunJournal.of({
          ...real,
          record: (runId, entry) =>
            ++writes > 3
              ? Effect.fail(
                new RunJournal.RunJournalError({
                  reason: "Write",
                  runId,
                  taskId: entry.taskId,
                  description: "disk full"
                })
              )
              : real.record(runId, entry)
        })
        const tasks = tasksOf(8)
        const emitted: Array<string> = []
        const exit = yield* Effect.gen(function*() {
          const fiber = yield* Effect.fork(Effect.exit(
            Stream.runForEach(
              Executor.stream(tasks, agent.factory, { durable: { runId: "broken" }, concurrency: 2 }),
              (result) => Effect.sync(() => emitted.push(result.taskId))
            )
          ))
          return yield* drive(fiber)
        }).pipe(Effect.provideService(RunJournal.RunJournal, failing), Effect.provide(executor))
        assert(Exit.isFailure(exit))
        const error = Option.getOrThrow(Cause.failureOption(exit.cause))
        assert(error instanceof RunJournal.RunJournalError)
        assert.strictEqual(error.reason, "Write")
        assert.match(error.message, /^Run journal: could not record \(run broken, task t\d\): disk full$/)
        const recorded = Chunk.toArray(yield* Stream.runCollect(real.entries("broken"))).map((e) => e.taskId)
        assert.strictEqual(recorded.length, 3)
        // Every result emitted was recorded first.
        assert.isTrue(emitted.every((id) => recorded.includes(id)), `${emitted} not all in ${recorded}`)
        assert.isAtMost(emitted.length, 3)

        // The same with run: the run fails, no report.
        writes = 0
        const failed = yield* Effect.gen(function*() {
          const fiber = yield* Effect.fork(
            Effect.either(Executor.run(tasks, agent.factory, { durable: { runId: "broken-2" } }))
          )
          return yield* drive(fiber)
        }).pipe(Effect.provideService(RunJournal.RunJournal, failing), Effect.provide(executor))
        assert(Either.isLeft(failed))
        assert.strictEqual(failed.left._tag, "RunJournalError")
      }))
  })
}

suite(memory)
suite(sqlite)
suite(postgres)

describe("durable runs over SQLite: group commit", () => {
  it.scopedLive("results of tasks that end in one turn of the event loop are recorded in one statement", () =>
    withWriteSpans((batches) =>
      Effect.gen(function*() {
        const dir = yield* Effect.acquireRelease(
          Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "durable-test-"))),
          (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
        )
        const journal = yield* build(SqlRunJournal.layerSqlite({ filename: path.join(dir, "journal.db") }))
        const agent = yield* TestAgent.make({
          name: "quick",
          run: (n: number) => Effect.as(Effect.sleep("1 millis"), n)
        })
        const count = yield* Stream.runCount(
          Executor.stream(Task.fromIterable(Array.from({ length: 400 }, (_, i) => i)), agent.factory, {
            concurrency: 100,
            durable: { runId: "batched" }
          })
        ).pipe(Effect.provideService(RunJournal.RunJournal, journal), Effect.provide(executor))
        assert.strictEqual(count, 400)
        const rows = batches()
        assert.strictEqual(rows.reduce((a, b) => a + b, 0), 400)
        // Written one by one, as each task ends, they would take 400 statements.
        assert.isAtMost(rows.length, 100, `${rows.length} batches: ${rows.slice(0, 20).join(", ")}...`)
      })
    ))
})

describe("durable options", () => {
  it.effect("a durable run without a journal in context, or with two run ids, is a RunOptionsError", () =>
    Effect.gen(function*() {
      const agent = yield* TestAgent.succeed("never", (s: string) => s)
      const loose = Executor.run as unknown as (...args: ReadonlyArray<unknown>) => Effect.Effect<unknown, unknown>
      const missing = yield* Effect.flip(
        loose(Task.fromIterable(["a"]), agent.factory, { durable: { runId: "x" } }).pipe(Effect.provide(executor))
      )
      assert(missing instanceof AgentError.RunOptionsError)
      assert.strictEqual(missing.option, "durable")
      const twoIds = yield* Effect.flip(
        Executor.run(Task.fromIterable(["a"]), agent.factory, { runId: "a", durable: { runId: "b" } }).pipe(
          Effect.provide(Layer.merge(executor, RunJournal.layerMemory))
        )
      )
      assert(twoIds instanceof AgentError.RunOptionsError)
      assert.strictEqual(twoIds.option, "runId")
      const badId = yield* Effect.flip(
        Executor.run(Task.fromIterable(["a"]), agent.factory, { durable: { runId: "a b" } }).pipe(
          Effect.provide(Layer.merge(executor, RunJournal.layerMemory))
        )
      )
      assert(badId instanceof AgentError.RunOptionsError)
      assert.strictEqual(badId.option, "durable.runId")
    }))
})

// Type-level: only a durable run requires RunJournal and may fail with RunJournalError.
type Equals<X, Y> = (<T>() => T extends X ? 1 : 2) extends (<T>() => T extends Y ? 1 : 2) ? true : false
const typed = Effect.gen(function*() {
  const agent = yield* TestAgent.succeed("typed", (s: string) => s.length)
  const _plain = Executor.run(Task.fromIterable(["a"]), agent.factory)
  const _durable = Executor.run(Task.fromIterable(["a"]), agent.factory, { durable: { runId: "r" } })
  const _stream = Executor.stream(Task.fromIterable(["a"]), agent.factory, { durable: { runId: "r" } })
  const _one = Executor.runOne(Task.make({ id: "a", input: "a" }), agent.factory, { durable: { runId: "r" } })
  const plainError: Equals<Effect.Effect.Error<typeof _plain>, AgentError.RunOptionsError> = true
  const plainContext: Equals<Effect.Effect.Context<typeof _plain>, Executor.Executor> = true
  const durableError: Equals<
    Effect.Effect.Error<typeof _durable>,
    AgentError.RunOptionsError | RunJournal.RunJournalError
  > = true
  const durableContext: Equals<Effect.Effect.Context<typeof _durable>, Executor.Executor | RunJournal.RunJournal> = true
  const streamError: Equals<
    Stream.Stream.Error<typeof _stream>,
    AgentError.RunOptionsError | RunJournal.RunJournalError
  > = true
  const oneContext: Equals<Effect.Effect.Context<typeof _one>, Executor.Executor | RunJournal.RunJournal> = true
  return [plainError, plainContext, durableError, durableContext, streamError, oneContext]
})
void typed
