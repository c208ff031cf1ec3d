/**
 * The HTTP API over a durable store (`JournalRunStore` over `SqlRunJournal`): a real server on a loopback port,
 * stopped, and a second server started on the same store, as a restarted process would be. Run over a SQLite file
 * and over a real PostgreSQL.
 */
import { HttpClientRequest } from "@effect/platform"
import { assert, describe, it } from "@effect/vitest"
import type { Scope } from "effect"
import { Effect, Exit, Layer, Schema } from "effect"
import * as JournalRunStore from "../../../services/http/JournalRunStore.js"
import * as Runs from "../../../services/http/Runs.js"
import * as TestAgent from "../../../services/testing/TestAgent.js"
import * as Executor from "../../../src/Executor.js"
import type * as RunJournal from "../../../src/RunJournal.js"
import * as Task from "../../../src/Task.js"
import * as TaskFile from "../../../src/TaskFile.js"
import * as Server from "./server.js"

export interface Backend {
  readonly name: string
  /** A new, empty store for one test: `open` gives a journal layer over it, as a new process would open it. */
  readonly store: Effect.Effect<
    { readonly open: () => Layer.Layer<RunJournal.RunJournal, RunJournal.RunJournalError> },
    unknown,
    Scope.Scope
  >
  readonly skip?: (() => string | undefined) | undefined
}

/** An agent that sleeps for its input's `ms` on the real clock and answers it. */
const sleepy = Effect.map(
  TestAgent.make({
    name: "sleepy",
    run: (input: { readonly ms: number }) => Effect.as(Effect.sleep(input.ms), input.ms)
  }),
  (agent) =>
    Runs.agent({
      name: "sleepy",
      description: "sleeps for ms milliseconds",
      input: Schema.Struct({ ms: Schema.Number }),
      factory: agent.factory
    })
)

const text = (server: Server.TestServer, path: string) =>
  server.http.execute(HttpClientRequest.get(path)).pipe(
    Effect.flatMap((response) => Effect.map(response.text, (body) => ({ status: response.status, body }))),
    Effect.scoped
  )

const lines = (body: string) =>
  body.trimEnd().split("\n").map((line) => Schema.decodeUnknownSync(TaskFile.ResultLine)(JSON.parse(line)))

/** What a record keeps across a restart (not who reads it now). */
const kept = (info: Runs.RunInfo) => {
  const { eventStreams: _, lastEventId: __, ...rest } = info
  return rest
}

const startServer = (
  backend: { readonly open: () => Layer.Layer<RunJournal.RunJournal, RunJournal.RunJournalError> }
) =>
  Effect.flatMap(sleepy, (agent) =>
    Server.start({
      latency: "20 millis",
      agents: [agent],
      store: JournalRunStore.layer().pipe(Layer.provide(backend.open()), Layer.orDie)
    }))

export const restartSuite = (backend: Backend) =>
  describe(`the HTTP API over a journal (${backend.name})`, () => {
    it.scopedLive("runs, their records, results in the order recorded, reports and events survive a restart", (ctx) =>
      Effect.gen(function*() {
        const reason = backend.skip?.()
        if (reason !== undefined) return ctx.skip(reason)
        const store = yield* backend.store

        // The first server: a run that finishes, and one cancelled mid-way.
        const before = yield* Effect.scoped(Effect.gen(function*() {
          const server = yield* startServer(store)
          const finished = yield* server.client.runs.start({
            payload: {
              agent: "classify",
              tasks: Array.from({ length: 12 }, (_, i) => ({ text: `document ${i} ${i % 3 === 0 ? "bad" : "good"}` })),
              concurrency: 3
            },
            urlParams: {}
          })
          const cancelled = yield* server.client.runs.start({
            payload: {
              agent: "sleepy",
              tasks: [{ ms: 5 }, { ms: 10 }, { ms: 60_000 }, { ms: 60_000 }, { ms: 15 }, { ms: 60_000 }],
              concurrency: 3
            },
            urlParams: {}
          })
          const done = yield* Server.finished(server, finished.id)
          assert.strictEqual(done.state, "finished")
          // Cancelled once three tasks ended: three are still sleeping.
          yield* server.client.runs.get({ path: { id: cancelled.id } }).pipe(
            Effect.delay("10 millis"),
            Effect.repeat({ until: (info) => info.summary.total >= 3 }),
            Effect.timeout("20 seconds"),
            Effect.orDie
          )
          const stopped = yield* server.client.runs.cancel({ path: { id: cancelled.id } })
          assert.strictEqual(stopped.state, "cancelled")
          return {
            finished: yield* server.client.runs.get({ path: { id: finished.id } }),
            cancelled: yield* server.client.runs.get({ path: { id: cancelled.id } }),
            results: (yield* text(server, `/runs/${finished.id}/results`)).body,
            cancelledResults: (yield* text(server, `/runs/${cancelled.id}/results`)).body,
            events: yield* Server.allEvents(server, finished.id)
          }
        }))
        assert.lengthOf(lines(before.results), 12)

        // The second server, on the same store.
        const server = yield* startServer(store)
        const list = yield* server.client.runs.list()
        assert.deepStrictEqual(list.map((info) => [info.id, info.state]), [
          [before.cancelled.id, "cancelled"],
          [before.finished.id, "finished"]
        ])
        assert.deepStrictEqual(
          kept(yield* server.client.runs.get({ path: { id: before.finished.id } })),
          kept(before.finished)
        )
        assert.deepStrictEqual(
          kept(yield* server.client.runs.get({ path: { id: before.cancelled.id } })),
          kept(before.cancelled)
        )
        // Stopped: the three that ended, and the three still sleeping, stopped.
        assert.deepStrictEqual(before.cancelled.summary, {
          total: 6,
          succeeded: 3,
          failed: 0,
          timedOut: 0,
          interrupted: 3
        })

        // Results: the same lines, in the order they were recorded.
        const results = yield* text(server, `/runs/${before.finished.id}/results`)
        assert.strictEqual(results.status, 200)
        assert.strictEqual(results.body, before.results)
        assert.strictEqual((yield* text(server, `/runs/${before.cancelled.id}/results`)).body, before.cancelledResults)

        // Events: replayed from the results (start, each result in order, end), then the stream ends. They are
        // numbered after the first server's live log, whose numbers a client of that server has.
        const events = yield* Server.allEvents(server, before.finished.id)
        const live = before.finished.lastEventId
        assert.strictEqual(live, before.events.at(-1)!.id)
        assert.deepStrictEqual(events.map((event) => event.id), Array.from({ length: 14 }, (_, i) => live + i + 1))
        assert.strictEqual(events[0]!.event, "RunStarted")
        assert.strictEqual(events[13]!.event, "RunFinished")
        assert.deepStrictEqual(events[13]!.data.summary, before.finished.summary)
        assert.deepStrictEqual(
          events.slice(1, 13).map((event) => [event.event, event.data.taskId]),
          lines(before.results).map((line) => [`Task${line.status}`, line.id])
        )
        // The same task ends as the first server sent, in the same order.
        assert.deepStrictEqual(
          events.slice(1, 13).map((event) => event.data.taskId),
          before.events.filter((event) => event.event === "TaskSucceeded").map((event) => event.data.taskId)
        )
        const after = yield* Server.allEvents(server, before.finished.id, live + 10)
        assert.deepStrictEqual(after.map((event) => event.id), [live + 11, live + 12, live + 13, live + 14])
        // A number of the first server's log (a client that followed it live): the replay from its start.
        assert.deepStrictEqual(yield* Server.allEvents(server, before.finished.id, 10), events)

        const report = yield* text(server, `/runs/${before.finished.id}/report`)
        assert.strictEqual(report.status, 200)
        assert.strictEqual(report.body.match(/<rect class="bar bar-succeeded"/g)!.length, 12)
        assert.include(report.body, `Run ${before.finished.id}: classify, finished`)

        // The second server runs runs of its own beside them.
        const next = yield* server.client.runs.start({
          payload: { agent: "classify", tasks: [{ text: "good" }, { text: "bad" }] },
          urlParams: {}
        })
        assert.notInclude([before.finished.id, before.cancelled.id], next.id)
        assert.strictEqual((yield* Server.finished(server, next.id)).summary.succeeded, 2)
        assert.deepStrictEqual((yield* server.client.runs.list()).map((info) => info.id), [
          next.id,
          before.cancelled.id,
          before.finished.id
        ])
        assert.strictEqual((yield* text(server, "/runs/no-such-run/results")).status, 404)
      }))

    it.scopedLive("a run the engine recorded (`parallel-agents run --journal`) is listed, its results read", (ctx) =>
      Effect.gen(function*() {
        const reason = backend.skip?.()
        if (reason !== undefined) return ctx.skip(reason)
        const store = yield* backend.store
        const agent = yield* TestAgent.make({
          name: "doubler",
          run: (input: { readonly n: number }) => Effect.succeed({ doubled: input.n * 2 })
        })
        yield* Executor.run(
          [3, 1, 2].map((n) => Task.make({ id: `doc-${n}`, input: { n }, labels: { line: String(n) } })),
          agent.factory,
          { durable: { runId: "engine-run" }, concurrency: 1 }
        ).pipe(
          Effect.provide(Layer.mergeAll(Executor.layer(), store.open())),
          Effect.orDie
        )
        const server = yield* startServer(store)
        const [info] = yield* server.client.runs.list()
        assert.strictEqual(info!.id, "engine-run")
        assert.strictEqual(info!.agent, "doubler")
        assert.strictEqual(info!.state, "finished")
        assert.strictEqual(info!.tasks, 3)
        assert.strictEqual(info!.options.concurrency, 1)
        assert.deepStrictEqual(info!.summary, { total: 3, succeeded: 3, failed: 0, timedOut: 0, interrupted: 0 })
        // In the order they were recorded (concurrency 1: the order of the tasks).
        assert.deepStrictEqual(
          lines((yield* text(server, "/runs/engine-run/results")).body).map((line) => [line.id, line.value]),
          [["doc-3", { doubled: 6 }], ["doc-1", { doubled: 2 }], ["doc-2", { doubled: 4 }]]
        )
        const events = yield* Server.allEvents(server, "engine-run")
        assert.deepStrictEqual(events.map((event) => event.event), [
          "RunStarted",
          "TaskSucceeded",
          "TaskSucceeded",
          "TaskSucceeded",
          "RunFinished"
        ])
      }))

    it.scopedLive("a run that was going when its process died is interrupted, with the results it had recorded", (ctx) =>
      Effect.gen(function*() {
        const reason = backend.skip?.()
        if (reason !== undefined) return ctx.skip(reason)
        const store = yield* backend.store
        // What a process killed mid-run leaves in the store: the record saved when the run started, and the
        // results recorded until then. The first server records them; its scope is then left open, never closed,
        // as a killed process never closes it (the test's scope closes it at the end, after the second server).
        const first = yield* startServer(store)
        const started = yield* first.client.runs.start({
          payload: { agent: "sleepy", tasks: [{ ms: 1 }, { ms: 2 }, { ms: 60_000 }, { ms: 60_000 }], concurrency: 4 },
          urlParams: {}
        })
        yield* first.client.runs.get({ path: { id: started.id } }).pipe(
          Effect.delay("10 millis"),
          Effect.repeat({ until: (info) => info.summary.total >= 2 }),
          Effect.timeout("20 seconds"),
          Effect.orDie
        )

        const second = yield* startServer(store)
        const info = yield* second.client.runs.get({ path: { id: started.id } })
        assert.strictEqual(info.state, "interrupted")
        assert.deepStrictEqual(info.summary, { total: 2, succeeded: 2, failed: 0, timedOut: 0, interrupted: 0 })
        assert.strictEqual(info.inFlight, 0)
        assert.isNotNull(info.endedAt)
        assert.match(info.error ?? "", /was going when its server stopped/)
        assert.deepStrictEqual((yield* second.client.runs.list()).map((run) => [run.id, run.state]), [
          [started.id, "interrupted"]
        ])
        // The two short tasks (1 and 2 ms, at once) may end in either order on a loaded machine: the results are
        // in the order they were recorded.
        assert.deepStrictEqual(
          lines((yield* text(second, `/runs/${started.id}/results`)).body).map((line) => [line.id, line.value])
            .sort(([a], [b]) => String(a).localeCompare(String(b))),
          [["1", 1], ["2", 2]]
        )
        const events = yield* Server.allEvents(second, started.id)
        assert.deepStrictEqual(events.map((event) => event.event), [
          "RunStarted",
          "TaskSucceeded",
          "TaskSucceeded",
          "RunFinished"
        ])
        // How far the first server's log went is not known: the replay's numbers start above any it could reach,
        // so a client of the first server gets the replay from its start, and one of the replay resumes in it.
        assert.deepStrictEqual(events.map((event) => event.id), [1, 2, 3, 4].map((i) => 2 ** 40 + i))
        assert.deepStrictEqual(yield* Server.allEvents(second, started.id, 7), events)
        assert.deepStrictEqual(yield* Server.allEvents(second, started.id, 2 ** 40 + 2), events.slice(2))
        // Cancelling it changes nothing: it is not running here.
        assert.strictEqual((yield* second.client.runs.cancel({ path: { id: started.id } })).state, "interrupted")
        assert(Exit.isSuccess(yield* Effect.exit(second.client.runs.report({ path: { id: started.id } }))))
      }))
  })
