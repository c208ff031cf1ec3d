import { HttpClientRequest, type HttpClientResponse } from "@effect/platform"
import { NodeHttpServer } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import {
  Chunk,
  ConfigProvider,
  Duration,
  Effect,
  Exit,
  Fiber,
  Layer,
  Logger,
  Option,
  Redacted,
  Schema,
  Scope,
  Sink,
  Stream
} from "effect"
import * as http from "node:http"
import * as Runs from "../../../services/http/Runs.js"
import * as RunsServer from "../../../services/http/RunsServer.js"
import * as RunStore from "../../../services/http/RunStore.js"
import * as TestAgent from "../../../services/testing/TestAgent.js"
import * as Executor from "../../../src/Executor.js"
import * as TaskFile from "../../../src/TaskFile.js"
import * as Server from "./server.js"

/** An agent that sleeps for its input's `ms` (on the real clock: these tests run a real server) and answers it. */
const sleepy = (name = "sleepy") =>
  Effect.map(
    TestAgent.make({ name, run: (input: { readonly ms: number }) => Effect.as(Effect.sleep(input.ms), input.ms) }),
    (agent) => ({
      agent,
      registered: Runs.agent({
        name,
        description: "sleeps for ms milliseconds",
        input: Schema.Struct({ ms: Schema.Number }),
        factory: agent.factory
      })
    })
  )

const json = (response: HttpClientResponse.HttpClientResponse) =>
  Effect.map(response.json, (body) => ({ status: response.status, body: body as any }))

const post = (server: Server.TestServer, body: string, contentType = "application/json", query = "") =>
  server.http.execute(
    HttpClientRequest.post(`/runs${query}`).pipe(HttpClientRequest.bodyText(body, contentType))
  ).pipe(Effect.flatMap(json), Effect.scoped)

const get = (server: Server.TestServer, path: string) =>
  server.http.execute(HttpClientRequest.get(path)).pipe(Effect.flatMap(json), Effect.scoped)

const docs = (n: number) => Array.from({ length: n }, (_, i) => ({ text: `document ${i}` }))

const resultLines = (text: string) =>
  text.trimEnd().split("\n").map((line) => Schema.decodeUnknownSync(TaskFile.ResultLine)(JSON.parse(line)))

/** Waits (polling) until `f` holds for the run's record. */
const until = (server: Server.TestServer, id: string, f: (info: Runs.RunInfo) => boolean) =>
  server.client.runs.get({ path: { id } }).pipe(
    Effect.delay("10 millis"),
    Effect.repeat({ until: f }),
    Effect.timeoutFail({ duration: "10 seconds", onTimeout: () => `run ${id} never got there` }),
    Effect.orDie
  )

describe("RunsServer", () => {
  it.scopedLive("POST /runs with JSON answers 202 at once; the run goes on, and every endpoint reads it", () =>
    Effect.gen(function*() {
      const server = yield* Server.start()
      const [info, response] = yield* server.client.runs.start({
        payload: {
          agent: "classify",
          tasks: [{ text: "good 2" }, { text: "bad 3" }, { text: "fine 4" }, { text: "meh 5" }, { text: "ok 6" }],
          concurrency: 2,
          timeout: Duration.seconds(5),
          retries: 1
        },
        urlParams: {},
        withResponse: true
      })
      assert.strictEqual(response.status, 202)
      assert.strictEqual(info.state, "running")
      assert.strictEqual(info.tasks, 5)
      assert.deepStrictEqual(info.options, { concurrency: 2, timeoutMillis: 5000, retries: 1, deadlineMillis: null })

      const done = yield* Server.finished(server, info.id)
      assert.strictEqual(done.state, "finished")
      assert.deepStrictEqual(done.summary, { total: 5, succeeded: 5, failed: 0, timedOut: 0, interrupted: 0 })
      assert.strictEqual(done.inFlight, 0)
      assert.strictEqual(done.stats.requests, 5)
      assert.isAbove(done.stats.inputTokens, 0)
      assert.isAtMost(done.stats.peakInFlight, 2)
      assert.isNotNull(done.endedAt)

      const list = yield* server.client.runs.list()
      assert.deepStrictEqual(list.map((run) => run.id), [info.id])

      // One JSON line per task, as the command line writes them: position as line and id, the offline answers.
      const lines = resultLines(yield* server.client.runs.results({ path: { id: info.id } }))
      assert.deepStrictEqual(
        lines.map((line) => [line.line, line.id, line.status, line.value]).sort((a, b) => Number(a[0]) - Number(b[0])),
        [
          [1, "1", "Succeeded", { label: "positive" }],
          [2, "2", "Succeeded", { label: "negative" }],
          [3, "3", "Succeeded", { label: "positive" }],
          [4, "4", "Succeeded", { label: "negative" }],
          [5, "5", "Succeeded", { label: "positive" }]
        ]
      )

      const report = yield* server.client.runs.report({ path: { id: info.id } })
      assert.strictEqual(report.match(/<rect class="bar bar-succeeded"/g)!.length, 5)
      assert.include(report, `Run ${info.id}: classify, finished`)

      const agents = yield* server.client.runs.agents()
      assert.deepStrictEqual(agents.map((agent) => agent.name), ["classify", "summarize", "explain"])
    }))

  it.scopedLive("POST /runs with JSONL: agent and options in the URL; a bad line fails on its own, the run goes on", () =>
    Effect.gen(function*() {
      const server = yield* Server.start()
      const body = [`{"id": "a", "text": "first 2"}`, "", "not json", `{"txt": "oops"}`, `{"text": "last 3"}`].join(
        "\n"
      )
      const info = yield* server.client.runs.start({
        payload: body,
        urlParams: { agent: "classify", concurrency: 3, timeout: Duration.seconds(2) }
      })
      assert.strictEqual(info.tasks, 4)
      assert.deepStrictEqual(info.options, { concurrency: 3, timeoutMillis: 2000, retries: 0, deadlineMillis: null })
      const done = yield* Server.finished(server, info.id)
      assert.deepStrictEqual(done.summary, { total: 4, succeeded: 2, failed: 2, timedOut: 0, interrupted: 0 })
      const lines = resultLines(yield* server.client.runs.results({ path: { id: info.id } }))
      const byLine = new Map(lines.map((line) => [line.line, line]))
      assert.deepStrictEqual([byLine.get(1)!.id, byLine.get(1)!.value], ["a", { label: "positive" }])
      assert.strictEqual(byLine.get(3)!.errorTag, "AgentInputError")
      assert.include(byLine.get(3)!.error, "not JSON")
      assert.deepStrictEqual(byLine.get(4)!.issues?.map((issue) => issue.path), [["text"]])
      assert.deepStrictEqual(byLine.get(5)!.value, { label: "negative" })
    }))

  it.scopedLive("GET /runs/{id}/results streams each result as its task ends, while the run goes", () =>
    Effect.gen(function*() {
      const { registered } = yield* sleepy()
      const server = yield* Server.start({ agents: [registered] })
      const info = yield* server.client.runs.start({
        payload: { agent: "sleepy", tasks: [{ ms: 10 }, { ms: 20 }, { ms: 2500 }], concurrency: 3 },
        urlParams: {}
      })
      const response = yield* server.http.execute(HttpClientRequest.get(`/runs/${info.id}/results`))
      assert.strictEqual(response.headers["content-type"], "application/x-ndjson; charset=utf-8")
      const lines = response.stream.pipe(Stream.decodeText(), Stream.splitLines)
      const [first, rest] = yield* Stream.peel(lines, Sink.take(2))
      // Two lines arrived while the third task still runs.
      assert.deepStrictEqual(Chunk.toReadonlyArray(first).map((line) => JSON.parse(line).id).sort(), ["1", "2"])
      assert.strictEqual((yield* server.client.runs.get({ path: { id: info.id } })).state, "running")
      // The third comes when its task ends, and then the response ends with the run.
      const last = Chunk.toReadonlyArray(yield* Stream.runCollect(rest))
      assert.deepStrictEqual(last.map((line) => JSON.parse(line).id), ["3"])
      assert.strictEqual((yield* server.client.runs.get({ path: { id: info.id } })).state, "finished")
    }))

  it.scopedLive("a body that does not fit gets 400 with the path of what is wrong, and starts nothing", () =>
    Effect.gen(function*() {
      const server = yield* Server.start()
      const cases: ReadonlyArray<
        readonly [body: string, contentType: string, query: string, path: ReadonlyArray<string>]
      > = [
        [`{"tasks": [{"text": "a"}]}`, "application/json", "", ["agent"]],
        [`{"agent": "classify", "tasks": "all of them"}`, "application/json", "", ["tasks"]],
        [`{"agent": "classify", "tasks": []}`, "application/json", "", ["tasks"]],
        [`{"agent": "classify", "tasks": [{}], "concurrency": 0}`, "application/json", "", ["concurrency"]],
        [`{"agent": "classify", "tasks": [{}], "retries": 2.5}`, "application/json", "", ["retries"]],
        [`{"agent": "classify", "tasks": [{}], "timeout": "soon"}`, "application/json", "", ["timeout"]],
        [`{"agent": "classify", "tasks": [{}], "deadline": -5}`, "application/json", "", ["deadline"]],
        [`{"text": "a"}`, "application/x-ndjson", "", ["agent"]],
        ["\n\n  \n", "application/x-ndjson", "?agent=classify", ["tasks"]],
        [`{"text": "a"}`, "application/x-ndjson", "?agent=classify&concurrency=many", ["concurrency"]]
      ]
      for (const [body, contentType, query, path] of cases) {
        const { body: error, status } = yield* post(server, body, contentType, query)
        assert.strictEqual(status, 400, body)
        assert.strictEqual(error._tag, "HttpApiDecodeError", body)
        assert.deepStrictEqual(error.issues[0].path, path, body)
      }
      // The message says what was expected, and what came.
      const messages: ReadonlyArray<readonly [body: string, contentType: string, query: string, message: RegExp]> = [
        [
          `{"agent": "classify", "tasks": [{}], "concurrency": -1}`,
          "application/json",
          "",
          /^expected a whole number, 1 or more, got -1$/
        ],
        [
          `{"agent": "classify", "tasks": [{}], "concurrency": 1.5}`,
          "application/json",
          "",
          /^expected a whole number, 1 or more, got 1.5$/
        ],
        [
          `{"agent": "classify", "tasks": [{}], "retries": 2.5}`,
          "application/json",
          "",
          /^expected a whole number from 0 to 10, got 2.5$/
        ],
        [
          `{"agent": "classify", "tasks": [{}], "retries": 11}`,
          "application/json",
          "",
          /^expected a whole number from 0 to 10, got 11$/
        ],
        [`{"agent": "classify", "tasks": []}`, "application/json", "", /^expected at least one task, got none$/],
        [
          `{"text": "a"}`,
          "application/x-ndjson",
          "?agent=classify&concurrency=0",
          /^expected a whole number, 1 or more, got 0$/
        ],
        [
          `{"text": "a"}`,
          "application/x-ndjson",
          "?agent=classify&retries=-1",
          /^expected a whole number from 0 to 10, got -1$/
        ]
      ]
      for (const [body, contentType, query, message] of messages) {
        const { body: error, status } = yield* post(server, body, contentType, query)
        assert.strictEqual(status, 400, body)
        assert.match(error.issues[0].message, message, body)
      }
      // Not JSON at all, and a type of body the API does not take.
      const notJson = yield* post(server, `{"agent": "classify", "tasks": [`)
      assert.strictEqual(notJson.status, 400)
      assert.match(notJson.body.message, /JSON/)
      const csv = yield* post(server, "text\nhello", "text/csv")
      assert.strictEqual(csv.status, 400)
      assert.include(csv.body.message, "application/x-ndjson")
      assert.deepStrictEqual(yield* server.client.runs.list(), [])
    }))

  it.scopedLive("a concurrency above the server's maximum gets 400 naming the limit, and starts nothing", () =>
    Effect.gen(function*() {
      const server = yield* Server.start({ runs: { maxConcurrency: 4 } })
      const json = yield* post(server, `{"agent": "classify", "tasks": [{"text": "a"}], "concurrency": 5}`)
      const jsonl = yield* post(server, `{"text": "a"}`, "application/x-ndjson", "?agent=classify&concurrency=500")
      for (const [{ body, status }, requested] of [[json, 5], [jsonl, 500]] as const) {
        assert.strictEqual(status, 400)
        assert.deepStrictEqual(body, {
          _tag: "ConcurrencyTooHigh",
          concurrency: requested,
          maximum: 4
        })
      }
      assert.deepStrictEqual(yield* server.client.runs.list(), [])
      // The typed client fails with the error, and its message names the limit.
      const error = yield* Effect.flip(
        server.client.runs.start({ payload: { agent: "classify", tasks: docs(1), concurrency: 5 }, urlParams: {} })
      )
      assert(error._tag === "ConcurrencyTooHigh")
      assert.strictEqual(error.message, "a concurrency of 5 is above this server's maximum, 4")
      // At the maximum, the run starts with it.
      const ok = yield* server.client.runs.start({
        payload: { agent: "classify", tasks: docs(1), concurrency: 4 },
        urlParams: {}
      })
      assert.strictEqual(ok.options.concurrency, 4)
    }))

  it.effect("options out of range fail the server's and the runs service's layers with a RunOptionsError", () =>
    Effect.gen(function*() {
      // A keep-alive that is not a duration threw when the layer was made; a body limit of 0, -1 or NaN refused
      // every run with 413.
      const cases: ReadonlyArray<readonly [RunsServer.Options, string]> = [
        [{ keepAlive: "soon" as Duration.DurationInput }, "keepAlive"],
        [{ keepAlive: -1 }, "keepAlive"],
        [{ maxBodySize: 0 }, "maxBodySize"],
        [{ maxBodySize: -1 }, "maxBodySize"],
        [{ maxBodySize: Number.NaN }, "maxBodySize"],
        [{ maxBodySize: 1.5 }, "maxBodySize"]
      ]
      for (const [options, option] of cases) {
        const layer = RunsServer.layerServer(options).pipe(
          Layer.provide(Runs.layer<never>({ agents: [] })),
          Layer.provide(Layer.mergeAll(Executor.layer(), RunStore.layerMemory())),
          Layer.provide(RunsServer.layerAccessToken(Server.token)),
          Layer.provide(NodeHttpServer.layer(http.createServer, { port: 0, host: "127.0.0.1" }))
        )
        const error = yield* Effect.flip(Effect.scoped(Layer.build(layer)))
        assert.strictEqual(error._tag, "RunOptionsError", JSON.stringify(options))
        assert.strictEqual((error as { readonly option: string }).option, option)
      }
      // And the runs service's: a NaN concurrency limit made every run's record unsendable (500s).
      const runsCases: ReadonlyArray<readonly [Omit<Runs.Options<never>, "agents">, string]> = [
        [{ maxConcurrency: Number.NaN }, "maxConcurrency"],
        [{ maxConcurrency: 0 }, "maxConcurrency"],
        [{ maxConcurrency: 2.5 }, "maxConcurrency"],
        [{ keepEventLogs: Number.NaN }, "keepEventLogs"],
        [{ keepEventLogs: -1 }, "keepEventLogs"]
      ]
      for (const [options, option] of runsCases) {
        const layer = Runs.layer<never>({ agents: [], ...options }).pipe(
          Layer.provide(Layer.mergeAll(Executor.layer(), RunStore.layerMemory()))
        )
        const error = yield* Effect.flip(Effect.scoped(Layer.build(layer)))
        assert.strictEqual(error._tag, "RunOptionsError", JSON.stringify(options))
        assert.strictEqual((error as { readonly option: string }).option, option)
      }
    }))

  it.scopedLive("an unknown agent is 404 and names the known ones", () =>
    Effect.gen(function*() {
      const server = yield* Server.start()
      const { body, status } = yield* post(server, `{"agent": "translate", "tasks": [{"text": "hola"}]}`)
      assert.strictEqual(status, 404)
      assert.deepStrictEqual(body, {
        _tag: "AgentNotFound",
        agent: "translate",
        known: ["classify", "summarize", "explain"]
      })
      for (const path of ["/runs/nope", "/runs/nope/results", "/runs/nope/report", "/runs/nope/events"]) {
        const found = yield* get(server, path)
        assert.deepStrictEqual([found.status, found.body], [404, { _tag: "RunNotFound", runId: "nope" }], path)
      }
      const cancelled = yield* server.http.execute(HttpClientRequest.del("/runs/nope")).pipe(
        Effect.flatMap(json),
        Effect.scoped
      )
      assert.strictEqual(cancelled.status, 404)
    }))

  it.scopedLive("a missing or wrong token is 401 and starts nothing; the dashboard page and the docs need none", () =>
    Effect.gen(function*() {
      const { agent, registered } = yield* sleepy("probe")
      const server = yield* Server.start({ agents: [registered] })
      const body = `{"agent": "probe", "tasks": [{"ms": 1}]}`
      const wrong = ["Bearer wrong", `Bearer ${Server.token.slice(0, -1)}x`, `Basic ${Server.token}`, Server.token, ""]
      for (const authorization of wrong) {
        const response = yield* server.anonymous.execute(
          HttpClientRequest.post("/runs").pipe(
            HttpClientRequest.bodyText(body, "application/json"),
            authorization === "" ? (r) => r : HttpClientRequest.setHeader("authorization", authorization)
          )
        )
        assert.strictEqual(response.status, 401, authorization)
        // The body says what is missing, and never shows the token (the right one, or the one sent).
        const text = yield* response.text
        const error = JSON.parse(text)
        assert.strictEqual(error._tag, "Unauthorized", text)
        assert.match(
          error.message,
          authorization === ""
            ? /^no bearer token: this endpoint needs the server's token, as Authorization: Bearer <token>$/
            : /^the token was refused: this endpoint needs the server's token, as Authorization: Bearer <token>$/,
          text
        )
        assert.notInclude(text, Server.token.slice(0, 12))
        assert.notInclude(text, "wrong")
      }
      for (
        const path of ["/runs", "/runs/x", "/runs/x/events", "/runs/x/results", "/agents", "/metrics", "/openapi.json"]
      ) {
        const response = yield* server.anonymous.execute(HttpClientRequest.get(path)).pipe(Effect.scoped)
        assert.strictEqual(response.status, 401, path)
      }
      const removed = yield* server.anonymous.execute(HttpClientRequest.del("/runs/x")).pipe(Effect.scoped)
      assert.strictEqual(removed.status, 401)
      for (const path of ["/", "/docs"]) {
        const response = yield* server.anonymous.execute(HttpClientRequest.get(path)).pipe(Effect.scoped)
        assert.strictEqual(response.status, 200, path)
        assert.match(response.headers["content-type"]!, /^text\/html/)
      }
      assert.deepStrictEqual(yield* server.client.runs.list(), [])
      assert.strictEqual((yield* agent.stats).builds, 0)
    }))

  it.scopedLive("no CORS unless origins are configured; then those origins only", () =>
    Effect.gen(function*() {
      const preflight = (server: Server.TestServer, origin: string) =>
        server.anonymous.execute(
          HttpClientRequest.make("OPTIONS")("/runs").pipe(
            HttpClientRequest.setHeaders({
              origin,
              "access-control-request-method": "POST",
              "access-control-request-headers": "authorization, content-type"
            })
          )
        ).pipe(Effect.map((response) => response.headers["access-control-allow-origin"]), Effect.scoped)
      const closed = yield* Server.start()
      assert.isUndefined(yield* preflight(closed, "https://app.example"))
      const open = yield* Server.start({ server: { cors: ["https://app.example"] } })
      assert.strictEqual(yield* preflight(open, "https://app.example"), "https://app.example")
      // Another origin is not allowed: the header names the allowed one, which the browser compares with its own.
      assert.notStrictEqual(yield* preflight(open, "https://elsewhere.example"), "https://elsewhere.example")
    }))

  it.scopedLive("a body over the limit is 413, with or without a length, and starts nothing", () =>
    Effect.gen(function*() {
      const server = yield* Server.start({ server: { maxBodySize: 1024 } })
      const big = JSON.stringify({ agent: "classify", tasks: docs(100) })
      assert.isAbove(big.length, 1024)
      const sized = yield* post(server, big)
      assert.deepStrictEqual([sized.status, sized.body], [413, { _tag: "PayloadTooLarge", limit: 1024 }])
      // Streamed with no length (chunked): cut off once it passes the limit.
      const chunked = yield* server.http.execute(
        HttpClientRequest.post("/runs").pipe(
          HttpClientRequest.bodyStream(
            Stream.encodeText(Stream.fromIterable(big.match(/.{1,100}/gs)!)),
            { contentType: "application/json" }
          )
        )
      ).pipe(Effect.flatMap(json), Effect.scoped)
      assert.deepStrictEqual([chunked.status, chunked.body], [413, { _tag: "PayloadTooLarge", limit: 1024 }])
      // A body under the limit goes through.
      const small = yield* post(server, JSON.stringify({ agent: "classify", tasks: docs(3) }))
      assert.strictEqual(small.status, 202)
      assert.strictEqual((yield* server.client.runs.list()).length, 1)
    }))

  it.scopedLive("events: ids from 1, RunStarted first, RunFinished last; Last-Event-ID resumes after it", () =>
    Effect.gen(function*() {
      const server = yield* Server.start()
      const info = yield* server.client.runs.start({
        payload: { agent: "classify", tasks: docs(10), concurrency: 3 },
        urlParams: {}
      })
      // Followed live, from the start, to the end of the run: the stream ends by itself.
      const events = yield* Server.allEvents(server, info.id)
      assert.deepStrictEqual(events.map((event) => event.id), events.map((_, i) => i + 1))
      assert.strictEqual(events[0]!.event, "RunStarted")
      assert.deepStrictEqual(
        [events[0]!.data.runId, events[0]!.data.total, events[0]!.data.concurrency],
        [info.id, 10, 3]
      )
      assert.strictEqual(events.at(-1)!.event, "RunFinished")
      assert.deepStrictEqual(events.at(-1)!.data.summary, {
        total: 10,
        succeeded: 10,
        failed: 0,
        timedOut: 0,
        interrupted: 0
      })
      const count = (type: string) => events.filter((event) => event.event === type).length
      assert.deepStrictEqual([count("TaskQueued"), count("TaskStarted"), count("TaskSucceeded")], [10, 10, 10])
      // A task's events leave out what the stream says already: their kind and their run.
      const queued = events.find((event) => event.event === "TaskQueued")!
      assert.deepStrictEqual(Object.keys(queued.data), ["at", "taskId", "index"])
      const started = events.find((event) => event.event === "TaskStarted")!
      assert.deepStrictEqual(Object.keys(started.data), ["at", "taskId", "index", "agent", "attempt"])
      assert.match(started.data.agent, new RegExp(`^classifier#${info.id}/`))
      for (const event of events.slice(1, -1)) {
        assert.notProperty(event.data, "_tag")
        assert.notProperty(event.data, "runId")
      }
      // A task's end carries its result line without what the event (its id, its status) and the task's
      // TaskStarted (its agent) say, with when and in which slot it started.
      const results = resultLines(yield* server.client.runs.results({ path: { id: info.id } }))
      for (const event of events.filter((event) => event.event === "TaskSucceeded")) {
        const result = event.data.result
        const { agent, id: _id, status: _status, ...line } = results.find((r) => r.id === event.data.taskId)!
        assert.deepStrictEqual(result, { ...line, startedAt: result.startedAt, slot: result.slot })
        assert.isAtLeast(result.slot, 0)
        assert.isAtMost(result.slot, 2)
        assert.isAtLeast(result.startedAt, events[0]!.data.at)
        const start = events.find((e) => e.event === "TaskStarted" && e.data.taskId === event.data.taskId)!
        assert.strictEqual(start.data.agent, agent)
      }
      // Resuming after event 5 gives the rest, the same events.
      const rest = yield* Server.allEvents(server, info.id, 5)
      assert.deepStrictEqual(rest, events.slice(5))
      const finished = yield* server.client.runs.get({ path: { id: info.id } })
      assert.strictEqual(finished.lastEventId, events.length)
    }))

  it.scopedLive("events of a run whose log was let go are replayed from its results", () =>
    Effect.gen(function*() {
      const server = yield* Server.start({ runs: { keepEventLogs: 0 } })
      const info = yield* server.client.runs.start({ payload: { agent: "classify", tasks: docs(4) }, urlParams: {} })
      const { lastEventId: last } = yield* Server.finished(server, info.id)
      const events = yield* Server.allEvents(server, info.id)
      // Numbered after the live log's events (RunStarted, 4 times queued, started and succeeded, RunFinished).
      assert.strictEqual(last, 14)
      assert.deepStrictEqual(events.map((event) => [event.id, event.event]), [
        [15, "RunStarted"],
        [16, "TaskSucceeded"],
        [17, "TaskSucceeded"],
        [18, "TaskSucceeded"],
        [19, "TaskSucceeded"],
        [20, "RunFinished"]
      ])
      assert.strictEqual(events[0]!.data.total, 4)
      assert.strictEqual(events[5]!.data.summary.succeeded, 4)
      // With no TaskStarted to name them, the ends name their agent instances.
      for (const event of events.slice(1, 5)) {
        assert.match(event.data.result.agent, new RegExp(`^classifier#${info.id}/`))
      }
      assert.deepStrictEqual(yield* Server.allEvents(server, info.id, 18), events.slice(4))
    }))

  it.scopedLive("a Last-Event-ID past the end of an ended run's log gets its RunFinished again, not nothing", () =>
    Effect.gen(function*() {
      // A client that followed the run live has the live log's numbers (14 events for 4 tasks); the log rebuilt
      // from the results (after it was let go, or by a server started again on a journal) has 6, numbered 15 to 20.
      // Resuming after a later number (a log of a server before this one), with nothing sent, it would never learn
      // that the run ended, and the dashboard would reconnect every second for ever.
      const server = yield* Server.start({ runs: { keepEventLogs: 0 } })
      const info = yield* server.client.runs.start({ payload: { agent: "classify", tasks: docs(4) }, urlParams: {} })
      yield* Server.finished(server, info.id)
      assert.lengthOf(yield* Server.allEvents(server, info.id), 6)
      const resumed = yield* Server.allEvents(server, info.id, 40)
      assert.deepStrictEqual(resumed.map((event) => [event.id, event.event]), [[20, "RunFinished"]])
      assert.strictEqual(resumed[0]!.data.summary.succeeded, 4)
      // At its end, nothing more.
      assert.deepStrictEqual(yield* Server.allEvents(server, info.id, 20), [])
      // The same for a log still kept: a number it never gave gets its end.
      const kept = yield* Server.start()
      const run = yield* kept.client.runs.start({ payload: { agent: "classify", tasks: docs(2) }, urlParams: {} })
      yield* Server.finished(kept, run.id)
      const end = yield* Server.allEvents(kept, run.id, 1_000)
      assert.deepStrictEqual(end.map((event) => [event.id, event.event]), [[8, "RunFinished"]])
    }))

  it.scopedLive("a Last-Event-ID that is not a decimal whole number gets 400 naming the header", () =>
    Effect.gen(function*() {
      const server = yield* Server.start()
      const info = yield* server.client.runs.start({ payload: { agent: "classify", tasks: docs(1) }, urlParams: {} })
      yield* Server.finished(server, info.id)
      for (const id of ["0x10", "1e1", "+3", "3.0", "-1", "3 4", "abc", "", "99999999999999999999"]) {
        const response = yield* server.http.execute(
          HttpClientRequest.get(`/runs/${info.id}/events`).pipe(HttpClientRequest.setHeader("last-event-id", id))
        )
        const body = yield* response.json.pipe(Effect.orElseSucceed(() => ({}) as any))
        assert.strictEqual(response.status, 400, id)
        assert.strictEqual(body._tag, "HttpApiDecodeError", id)
        assert.deepStrictEqual(body.issues[0].path, ["last-event-id"], id)
        assert.match(body.issues[0].message, /^expected a decimal whole number \(the id of an event\), got /, id)
      }
      // Leading zeros are still the same decimal number.
      assert.deepStrictEqual(
        yield* Server.allEvents(server, info.id, "0002" as unknown as number),
        yield* Server.allEvents(server, info.id, 2)
      )
    }))

  it.scopedLive("a replayed log numbers its events after the live log's: resuming in it skips and repeats nothing", () =>
    Effect.gen(function*() {
      const server = yield* Server.start({ runs: { keepEventLogs: 0 } })
      const info = yield* server.client.runs.start({ payload: { agent: "classify", tasks: docs(4) }, urlParams: {} })
      const live = yield* Server.allEvents(server, info.id)
      const done = yield* Server.finished(server, info.id)
      const last = done.lastEventId
      assert.strictEqual(live.at(-1)!.id, last)
      // The log was let go: the replay goes on from the live numbering, so its numbers are never the live log's.
      const replayed = yield* Server.allEvents(server, info.id)
      assert.deepStrictEqual(replayed.map((event) => [event.id, event.event]), [
        [last + 1, "RunStarted"],
        [last + 2, "TaskSucceeded"],
        [last + 3, "TaskSucceeded"],
        [last + 4, "TaskSucceeded"],
        [last + 5, "TaskSucceeded"],
        [last + 6, "RunFinished"]
      ])
      // A number of the replay resumes right after it, for every number in it.
      for (let i = 0; i < replayed.length; i++) {
        assert.deepStrictEqual(
          yield* Server.allEvents(server, info.id, replayed[i]!.id),
          replayed.slice(i + 1),
          String(i)
        )
      }
      // A number of the live log, which is gone: the replay cannot tell which of its events the client saw, so it
      // sends them all from its RunStarted (the client starts over) rather than skip one.
      for (const id of [1, 3, 6, last - 1]) {
        assert.deepStrictEqual(yield* Server.allEvents(server, info.id, id), replayed, String(id))
      }
      // The live log's last event (its RunFinished): the client saw the whole run, and gets its end again.
      assert.deepStrictEqual(
        (yield* Server.allEvents(server, info.id, last)).map((event) => [event.id, event.event]),
        [[last + 6, "RunFinished"]]
      )
    }))

  it.scopedLive("an event stream sends a keep-alive comment while nothing happens", () =>
    Effect.gen(function*() {
      const { registered } = yield* sleepy()
      const server = yield* Server.start({ agents: [registered], server: { keepAlive: "100 millis" } })
      const info = yield* server.client.runs.start({
        // Long enough that the run is still going when a loaded machine gets to the request (it is cancelled when
        // the server closes).
        payload: { agent: "sleepy", tasks: [{ ms: 20_000 }] },
        urlParams: {}
      })
      const response = yield* server.http.execute(HttpClientRequest.get(`/runs/${info.id}/events`))
      assert.match(response.headers["content-type"]!, /^text\/event-stream/)
      assert.strictEqual(response.headers["cache-control"], "no-cache")
      const text = yield* response.stream.pipe(
        Stream.decodeText(),
        Stream.scan("", (all, piece) => all + piece),
        Stream.takeUntil((all) => all.includes(": keep-alive\n\n")),
        Stream.runLast,
        Effect.timeout("15 seconds")
      )
      assert.include(Option.getOrThrow(text), ": keep-alive\n\n")
    }))

  it.scopedLive("a reader that does not read never slows the run, and still gets every event", () =>
    Effect.gen(function*() {
      const { registered } = yield* sleepy()
      const server = yield* Server.start({ agents: [registered] })
      const tasks = Array.from({ length: 2000 }, () => ({ ms: 0 }))
      const info = yield* server.client.runs.start({
        payload: { agent: "sleepy", tasks, concurrency: 50 },
        urlParams: {}
      })
      // A raw reader, paused: it takes nothing from the socket until the run has ended.
      const reader = yield* Effect.acquireRelease(
        Effect.async<http.IncomingMessage>((resume) => {
          const request = http.get(`${server.baseUrl}/runs/${info.id}/events`, {
            headers: { authorization: `Bearer ${Server.token}` }
          }, (response) => {
            response.pause()
            resume(Effect.succeed(response))
          })
          request.on("error", (error) => resume(Effect.die(error)))
        }),
        (response) => Effect.sync(() => response.destroy())
      )
      const done = yield* Server.finished(server, info.id)
      assert.deepStrictEqual(done.summary.succeeded, 2000)
      // The events of 2,000 tasks (about a megabyte) are more than the socket holds: the reader is far behind.
      assert.isAbove(done.lastEventId, 6000)
      const text = yield* Effect.async<string>((resume) => {
        let all = ""
        reader.setEncoding("utf8")
        reader.on("data", (piece: string) => {
          all += piece
        })
        reader.on("end", () => resume(Effect.succeed(all)))
        reader.resume()
      })
      const ids = Array.from(text.matchAll(/^id: (\d+)$/gm), (match) => Number(match[1]))
      assert.strictEqual(ids.length, done.lastEventId)
      assert.deepStrictEqual(ids.slice(0, 3), [1, 2, 3])
      assert.strictEqual(ids.at(-1), done.lastEventId)
      assert.strictEqual(text.slice(text.lastIndexOf("\nevent: ") + 1).split("\n")[0], "event: RunFinished")
    }))

  it.scopedLive("a client that disconnects: its event stream ends, the run goes on", () =>
    Effect.gen(function*() {
      const { registered } = yield* sleepy()
      const server = yield* Server.start({ agents: [registered] })
      const info = yield* server.client.runs.start({
        payload: { agent: "sleepy", tasks: Array.from({ length: 6 }, () => ({ ms: 2000 })), concurrency: 2 },
        urlParams: {}
      })
      const scope = yield* Scope.make()
      const response = yield* server.http.execute(HttpClientRequest.get(`/runs/${info.id}/events`)).pipe(
        Scope.extend(scope)
      )
      // Read without ending the stream: ending it (`Stream.take`) closes the response's body, and so the
      // connection, which raced the count of readers below.
      const pull = yield* Stream.toPull(Server.sseEvents(response)).pipe(Scope.extend(scope))
      const first: Array<{ readonly event: string }> = []
      while (first.length < 3) for (const event of yield* Effect.orDie(pull)) first.push(event)
      assert.strictEqual(first[0]!.event, "RunStarted")
      assert.strictEqual((yield* server.client.runs.get({ path: { id: info.id } })).eventStreams, 1)
      // The client goes away mid-run.
      yield* Scope.close(scope, Exit.void)
      const left = yield* until(server, info.id, (run) => run.eventStreams === 0)
      assert.strictEqual(left.state, "running")
      const done = yield* Server.finished(server, info.id)
      assert.deepStrictEqual([done.state, done.summary.succeeded], ["finished", 6])
    }))

  it.scopedLive("DELETE /runs/{id}: running agents are interrupted and released, every task has its result", () =>
    Effect.gen(function*() {
      const { agent, registered } = yield* sleepy()
      const server = yield* Server.start({ agents: [registered] })
      const info = yield* server.client.runs.start({
        payload: {
          agent: "sleepy",
          // 30 tasks, 3 at once: 3 end at once, 3 run for a minute, 24 wait.
          tasks: [{ ms: 10 }, { ms: 10 }, { ms: 10 }, ...Array.from({ length: 27 }, () => ({ ms: 60_000 }))],
          concurrency: 3
        },
        urlParams: {}
      })
      yield* until(server, info.id, (run) => run.summary.total === 3 && run.inFlight === 3)
      const started = Date.now()
      const cancelled = yield* server.client.runs.cancel({ path: { id: info.id } })
      assert.isBelow(Date.now() - started, 5000)
      assert.strictEqual(cancelled.state, "cancelled")
      assert.deepStrictEqual(cancelled.summary, { total: 30, succeeded: 3, failed: 0, timedOut: 0, interrupted: 27 })
      assert.strictEqual(cancelled.inFlight, 0)
      // Six agents were built (three finished, three interrupted), all released; the other 24 tasks never started.
      const stats = yield* agent.stats
      assert.deepStrictEqual([stats.builds, stats.releases, stats.running], [6, 6, 0])
      // Every task has its result: the three stopped under way, and the 24 that never started.
      const lines = resultLines(yield* server.client.runs.results({ path: { id: info.id } }))
        .sort((a, b) => a.line! - b.line!)
      assert.deepStrictEqual(lines.map((line) => line.line), Array.from({ length: 30 }, (_, i) => i + 1))
      assert.deepStrictEqual(
        lines.map((line) => [line.status, line.reason ?? null, line.attempts]),
        [
          ...Array.from({ length: 3 }, () => ["Succeeded", null, 1]),
          ...Array.from({ length: 3 }, () => ["Interrupted", "Stopped", 1]),
          ...Array.from({ length: 24 }, () => ["Interrupted", "Stopped", 0])
        ]
      )
      const report = yield* server.client.runs.report({ path: { id: info.id } })
      assert.include(report, "<b>This run was cut short</b> (cancelled).")
      assert.notInclude(report, "never read")
      const events = yield* Server.allEvents(server, info.id)
      assert.strictEqual(events.at(-1)!.event, "RunFinished")
      // Cancelling again changes nothing.
      assert.deepStrictEqual(yield* server.client.runs.cancel({ path: { id: info.id } }), cancelled)
    }))

  it.scopedLive("a run's summary counts a result once the store has kept it (what a durable store still has)", () =>
    Effect.gen(function*() {
      const { registered } = yield* sleepy()
      const kept = yield* Effect.makeLatch(false)
      // A store that keeps results only once told to.
      const store = Layer.effect(
        RunStore.RunStore,
        Effect.map(RunStore.RunStore, (store) => ({
          ...store,
          append: (id: string, results: Parameters<RunStore.Service["append"]>[1]) =>
            Effect.zipRight(kept.await, store.append(id, results))
        }))
      ).pipe(Layer.provide(RunStore.layerMemory()))
      const server = yield* Server.start({ agents: [registered], store })
      const info = yield* server.client.runs.start({
        payload: { agent: "sleepy", tasks: [{ ms: 10 }, { ms: 10 }], concurrency: 2 },
        urlParams: {}
      })
      // Both tasks started and ended (the run's events say so), their results not kept yet: none counted.
      const ended = yield* until(server, info.id, (run) => run.stats.peakInFlight === 2 && run.inFlight === 0)
      assert.deepStrictEqual(ended.summary, { total: 0, succeeded: 0, failed: 0, timedOut: 0, interrupted: 0 })
      yield* kept.open
      const done = yield* Server.finished(server, info.id)
      assert.deepStrictEqual(done.summary, { total: 2, succeeded: 2, failed: 0, timedOut: 0, interrupted: 0 })
    }))

  it.scopedLive("50 runs at once each run to the end with their own results", () =>
    Effect.gen(function*() {
      const server = yield* Server.start({ latency: "20 millis" })
      const started = yield* Effect.forEach(
        Array.from({ length: 50 }, (_, i) => i),
        (i) =>
          server.client.runs.start({
            payload: { agent: i % 2 === 0 ? "classify" : "summarize", tasks: docs(20), concurrency: 5 },
            urlParams: {}
          }),
        { concurrency: "unbounded" }
      )
      assert.strictEqual(new Set(started.map((run) => run.id)).size, 50)
      const done = yield* Effect.forEach(started, (run) => Server.finished(server, run.id), { concurrency: 10 })
      for (const run of done) {
        assert.deepStrictEqual([run.state, run.summary.succeeded, run.summary.total], ["finished", 20, 20])
      }
      const lines = yield* Effect.forEach(
        started,
        (run) => Effect.map(server.client.runs.results({ path: { id: run.id } }), resultLines),
        { concurrency: 10 }
      )
      lines.forEach((results, i) => {
        assert.strictEqual(results.length, 20)
        assert.isTrue(results.every((line) => line.agent!.includes(started[i]!.id)))
      })
      assert.strictEqual((yield* server.client.runs.list()).length, 50)
    }), { timeout: 120_000 })

  it.scopedLive("GET /metrics is the engine's metrics in Prometheus' text format", () =>
    Effect.gen(function*() {
      const server = yield* Server.start()
      const info = yield* server.client.runs.start({ payload: { agent: "classify", tasks: docs(3) }, urlParams: {} })
      yield* Server.finished(server, info.id)
      const response = yield* server.http.execute(HttpClientRequest.get("/metrics"))
      assert.strictEqual(response.headers["content-type"], "text/plain; version=0.0.4; charset=utf-8")
      const text = yield* response.text
      assert.include(text, "# TYPE effect_parallel_agents_tasks_succeeded_total counter")
      assert.match(text, /^effect_parallel_agents_tasks_succeeded_total\{agent="classifier"\} \d+$/m)
      assert.include(text, "# TYPE effect_parallel_agents_task_duration histogram")
      assert.match(
        text,
        /^effect_parallel_agents_task_duration_bucket\{time_unit="milliseconds",agent="classifier",le="\+Inf"\} \d+$/m
      )
      assert.match(text, /^effect_parallel_agents_tasks_in_flight\{agent="classifier"\} \d+$/m)
    }))

  it.scopedLive("GET /openapi.json documents the API and its token; /docs is the page, with its script inline", () =>
    Effect.gen(function*() {
      const server = yield* Server.start()
      const spec = (yield* server.client.docs.openapi()) as any
      for (const path of ["/runs", "/runs/{id}", "/runs/{id}/results", "/runs/{id}/report", "/runs/{id}/events"]) {
        assert.property(spec.paths, path)
      }
      assert.deepStrictEqual(Object.keys(spec.paths["/runs/{id}"]).sort(), ["delete", "get"])
      assert.deepStrictEqual(spec.components.securitySchemes.bearer, {
        type: "http",
        scheme: "bearer",
        description: "The server's token: AGENT_HTTP_TOKEN, or the one it printed when it started"
      })
      assert.property(spec.paths["/runs/{id}/events"].get.responses["200"].content, "text/event-stream")
      const page = yield* server.anonymous.execute(HttpClientRequest.get("/docs")).pipe(
        Effect.flatMap((response) => response.text),
        Effect.scoped
      )
      assert.notMatch(page, /<script[^>]+src=/)
      assert.isAbove(page.length, 1_000_000)
    }))

  it.scopedLive("running tasks' streamed text comes as TaskOutput events before each task ends", () =>
    Effect.gen(function*() {
      const server = yield* Server.start({ latency: "400 millis" })
      const info = yield* server.client.runs.start({
        payload: { agent: "explain", tasks: [{ text: "the harbour at dawn" }, { text: "a quiet street" }] },
        urlParams: {}
      })
      const events = yield* Server.allEvents(server, info.id)
      for (const taskId of ["1", "2"]) {
        const outputs = events.filter((event) => event.event === "TaskOutput" && event.data.taskId === taskId)
        const end = events.find((event) => event.event === "TaskSucceeded" && event.data.taskId === taskId)!
        // The engine coalesces a task's text to one event per 100 ms: 400 ms of streaming is a few events.
        assert.isAtLeast(outputs.length, 2)
        assert.isBelow(outputs.at(-1)!.id, end.id)
        assert.strictEqual(outputs.map((event) => event.data.delta).join(""), end.data.result.value)
        assert.strictEqual(outputs[0]!.data.attempt, 1)
      }
      // A finished run's log keeps its events, not the text written along the way.
      const replay = yield* Server.allEvents(server, info.id)
      assert.isTrue(replay.every((event) => event.event !== "TaskOutput"))
      assert.deepStrictEqual(replay, events.filter((event) => event.event !== "TaskOutput"))
    }))

  it.live("closing the server cancels the runs still going: agents interrupted and released, the run recorded", () =>
    Effect.gen(function*() {
      const { agent, registered } = yield* sleepy()
      const scope = yield* Scope.make()
      const server = yield* Server.start({ agents: [registered] }).pipe(Scope.extend(scope))
      const info = yield* server.client.runs.start({
        payload: { agent: "sleepy", tasks: [{ ms: 60_000 }, { ms: 60_000 }, { ms: 60_000 }], concurrency: 2 },
        urlParams: {}
      })
      yield* until(server, info.id, (run) => run.inFlight === 2)
      const closing = yield* Effect.fork(Scope.close(scope, Exit.void))
      yield* Fiber.join(closing).pipe(Effect.timeout("10 seconds"))
      const stats = yield* agent.stats
      assert.deepStrictEqual([stats.builds, stats.releases, stats.running], [2, 2, 0])
      const record = Option.getOrThrow(yield* server.store.get(info.id))
      assert.strictEqual(record.state, "cancelled")
      assert.isNotNull(record.endedAt)
      // Stopped, not cut off: every task has its result in the store.
      assert.deepStrictEqual(record.summary, { total: 3, succeeded: 0, failed: 0, timedOut: 0, interrupted: 3 })
      const results = yield* server.store.results(info.id, 0)
      assert.deepStrictEqual(
        results.map((r) => [r.index, r._tag === "Interrupted" ? r.reason : r._tag, r.started]).sort(),
        [[0, "Stopped", true], [1, "Stopped", true], [2, "Stopped", false]]
      )
    }))

  it.scopedLive("the token appears in no response, event, report or log", () =>
    Effect.gen(function*() {
      const logs: Array<string> = []
      const logger = Logger.make(({ annotations, message }) => {
        logs.push(JSON.stringify({ message, annotations: Array.from(annotations) }))
      })
      const server = yield* Server.start({ latency: "20 millis" }).pipe(
        Effect.provide(Logger.replace(Logger.defaultLogger, logger))
      )
      const info = yield* server.client.runs.start({ payload: { agent: "classify", tasks: docs(3) }, urlParams: {} })
      yield* Server.finished(server, info.id)
      const texts: Array<string> = []
      const read = (request: HttpClientRequest.HttpClientRequest, client = server.http) =>
        client.execute(request).pipe(
          Effect.flatMap((response) => Effect.map(response.text, (text) => JSON.stringify(response.headers) + text)),
          Effect.scoped,
          Effect.map((text) => texts.push(text))
        )
      for (
        const path of [
          "/runs",
          `/runs/${info.id}`,
          `/runs/${info.id}/results`,
          `/runs/${info.id}/report`,
          `/runs/${info.id}/events`,
          "/agents",
          "/metrics",
          "/openapi.json",
          "/"
        ]
      ) {
        yield* read(HttpClientRequest.get(path))
        yield* read(HttpClientRequest.get(path), server.anonymous)
      }
      yield* read(
        HttpClientRequest.post("/runs").pipe(HttpClientRequest.bodyText(`{"agent": "x"}`, "application/json"))
      )
      assert.isAbove(texts.length, 18)
      for (const text of [...texts, ...logs]) assert.notInclude(text, Server.token)
    }))

  it.effect("with no token configured, the server makes one up, long and random, and says so", () =>
    Effect.gen(function*() {
      const tokens = yield* Effect.forEach(
        [1, 2],
        () => RunsServer.AccessToken.pipe(Effect.provide(RunsServer.layerAccessTokenConfig()))
      )
      for (const { generated, token } of tokens) {
        assert.isTrue(generated)
        assert.match(String(token), /redacted/)
      }
      const [first, second] = tokens.map(({ token }) => Redacted.value(token))
      assert.match(first!, /^[A-Za-z0-9_-]{43}$/)
      assert.notStrictEqual(first, second)
      const configured = yield* RunsServer.AccessToken.pipe(
        Effect.provide(RunsServer.layerAccessTokenConfig()),
        Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["AGENT_HTTP_TOKEN", "s3cret"]])))
      )
      assert.deepStrictEqual([configured.generated, Redacted.value(configured.token)], [false, "s3cret"])
      const empty = yield* RunsServer.AccessToken.pipe(
        Effect.provide(RunsServer.layerAccessTokenConfig()),
        Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["AGENT_HTTP_TOKEN", ""]])))
      )
      assert.isTrue(empty.generated)
    }).pipe(Effect.withConfigProvider(ConfigProvider.fromMap(new Map()))))
})
