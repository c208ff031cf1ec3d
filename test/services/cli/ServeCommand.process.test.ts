/**
 * `parallel-agents serve` as people run it: the bundled executable in a process of its own, called over HTTP,
 * stopped with a real Ctrl-C.
 */
import { Command } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Stream } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { inject } from "vitest"
import { run, tempDirectory, writeLines } from "./process.js"

const root = fileURLToPath(new URL("../../..", import.meta.url))
// The bundled executable, as `npm run build` makes it (test/globalSetup.ts).
const bin = inject("bin")

/** Starts `parallel-agents serve --port 0` and waits until it says where it listens. */
const serve = (env: Record<string, string>, args: ReadonlyArray<string> = []) =>
  Effect.gen(function*() {
    const process = yield* Command.make("node", bin, "serve", "--port", "0", ...args).pipe(
      Command.workingDirectory(root),
      Command.env({
        AGENT_MODEL: "offline",
        OPENAI_API_KEY: "",
        OPENAI_BASE_URL: "",
        AGENT_HTTP_TOKEN: "",
        ...env
      }),
      Command.start
    )
    let stderr = ""
    const reader = yield* Effect.fork(
      Stream.runForEach(Stream.decodeText(process.stderr), (text) => Effect.sync(() => (stderr += text)))
    )
    const banner = yield* Effect.sync(() => stderr).pipe(
      Effect.delay("50 millis"),
      Effect.repeat({ until: (text) => text.includes("Ctrl-C stops the server") }),
      Effect.timeoutFail({ duration: "60 seconds", onTimeout: () => new Error(`no banner in: ${stderr}`) })
    )
    const url = banner.match(/serving the API and the dashboard on (http:\/\/127\.0\.0\.1:\d+) /)![1]!
    return {
      process,
      banner,
      url,
      stderr: Effect.zipRight(Fiber.await(reader), Effect.sync(() => stderr))
    }
  })

const call = (url: string, token: string | undefined, init?: RequestInit) =>
  Effect.promise(async () => {
    const response = await fetch(url, {
      ...init,
      headers: { ...(token === undefined ? {} : { authorization: `Bearer ${token}` }), ...init?.headers }
    })
    return { status: response.status, body: await response.text() }
  })

describe("parallel-agents serve", () => {
  it.scopedLive(
    "listens on 127.0.0.1, prints a token it made up once, serves runs; Ctrl-C stops it and its runs",
    () =>
      Effect.gen(function*() {
        const server = yield* serve({ AGENT_OFFLINE_LATENCY: "100 millis" })
        const token = server.banner.match(/Dashboard: http:\/\/127\.0\.0\.1:\d+\/#token=([\w-]+)\n/)![1]!
        assert.lengthOf(token, 43)
        assert.include(server.banner, `API docs: ${server.url}/docs`)
        assert.strictEqual((yield* call(`${server.url}/runs`, undefined)).status, 401)
        assert.deepStrictEqual(yield* call(`${server.url}/runs`, token), { status: 200, body: "[]" })
        const agents = JSON.parse((yield* call(`${server.url}/agents`, token)).body) as Array<{ name: string }>
        assert.deepStrictEqual(agents.map((agent) => agent.name), ["classify", "summarize", "explain"])
        assert.strictEqual((yield* call(`${server.url}/`, undefined)).status, 200)

        const started = yield* call(`${server.url}/runs?agent=classify&concurrency=2`, token, {
          method: "POST",
          headers: { "content-type": "application/x-ndjson" },
          body: `{"text": "good 2"}\n{"text": "bad 3"}\n`
        })
        assert.strictEqual(started.status, 202)
        const id = JSON.parse(started.body).id as string
        const done = yield* call(`${server.url}/runs/${id}`, token).pipe(
          Effect.map((response) => JSON.parse(response.body)),
          Effect.delay("50 millis"),
          Effect.repeat({ until: (run) => run.state !== "running" })
        )
        assert.deepStrictEqual([done.state, done.summary.succeeded, done.stats.requests], ["finished", 2, 2])

        // A long run, then Ctrl-C: the server stops at once, cancelling it.
        const long = yield* call(`${server.url}/runs?agent=classify&concurrency=2`, token, {
          method: "POST",
          headers: { "content-type": "application/x-ndjson" },
          body: Array.from({ length: 400 }, (_, i) => `{"text": "document ${i}"}`).join("\n")
        })
        assert.strictEqual(long.status, 202)
        yield* Effect.sleep("300 millis")
        const stopping = Date.now()
        yield* server.process.kill("SIGINT")
        assert.strictEqual(yield* server.process.exitCode, 130)
        assert.isBelow(Date.now() - stopping, 10_000)
        const stderr = yield* server.stderr
        // The token was shown once, in the banner, and nowhere else.
        assert.strictEqual(stderr.split(token).length - 1, 1)
      }).pipe(Effect.provide(NodeContext.layer)),
    { timeout: 120_000 }
  )

  it.scopedLive(
    "serve --journal holds each run's lock while it goes: a run --resume of it is refused until it ends",
    () =>
      Effect.gen(function*() {
        const token = "a-token-of-my-own-0123456789"
        const directory = yield* tempDirectory
        const journal = path.join(directory, "runs.db")
        const lines = [`{"id": "a", "text": "good 1"}`, `{"id": "b", "text": "bad 2"}`]
        yield* writeLines(path.join(directory, "tasks.jsonl"), lines)
        // Long enough that the run still goes when the command line has started (2 to 20 s on a loaded machine).
        const server = yield* serve({ AGENT_HTTP_TOKEN: token, AGENT_OFFLINE_LATENCY: "2 minutes" }, [
          "--journal",
          journal
        ])
        yield* Effect.gen(function*() {
          const started = yield* call(`${server.url}/runs?agent=classify&concurrency=2`, token, {
            method: "POST",
            headers: { "content-type": "application/x-ndjson" },
            body: lines.join("\n")
          })
          assert.strictEqual(started.status, 202, started.body)
          const id = JSON.parse(started.body).id as string
          const resume = ["run", "-i", "tasks.jsonl", "-a", "classify", "--journal", "runs.db", "--resume", id]
          // Before, both ran it: the server's agents and the command line's were called for the same tasks.
          const refused = yield* run(resume, { directory, env: { AGENT_OFFLINE_LATENCY: "1 millis" } })
          assert.strictEqual(refused.exitCode, 2, refused.stderr)
          assert.include(refused.stderr, `run ${id} is going on in another process`)
          const cancelled = yield* call(`${server.url}/runs/${id}`, token, { method: "DELETE" })
          assert.strictEqual(JSON.parse(cancelled.body).state, "cancelled", cancelled.body)
          // Ended, the run's lock is let go and its file deleted: the command line may take it.
          // (Its record says it ended a moment before the server has saved it and let the lock go.)
          const locks = yield* Effect.sync(() => fs.readdirSync(path.join(directory, ".runs.db.locks"))).pipe(
            Effect.delay("50 millis"),
            Effect.repeat({ until: (files) => files.length === 0 }),
            Effect.timeout("5 seconds"),
            Effect.catchAll(() => Effect.sync(() => fs.readdirSync(path.join(directory, ".runs.db.locks"))))
          )
          assert.deepStrictEqual(locks, [])
          const after = yield* run(resume, { directory, env: { AGENT_OFFLINE_LATENCY: "1 millis" } })
          assert.notInclude(after.stderr, "going on in another process")
        }).pipe(Effect.ensuring(Effect.ignore(server.process.kill("SIGINT"))))
      }).pipe(Effect.provide(NodeContext.layer)),
    { timeout: 180_000 }
  )

  it.scopedLive("with AGENT_HTTP_TOKEN it takes that token and never prints it", () =>
    Effect.gen(function*() {
      const token = "a-token-of-my-own-0123456789"
      const server = yield* serve({ AGENT_HTTP_TOKEN: token })
      assert.notInclude(server.banner, token)
      assert.include(server.banner, `Dashboard: ${server.url}/ (token: AGENT_HTTP_TOKEN)`)
      assert.strictEqual((yield* call(`${server.url}/runs`, token)).status, 200)
      assert.strictEqual((yield* call(`${server.url}/runs`, "another")).status, 401)
      yield* server.process.kill("SIGINT")
      yield* server.process.exitCode
      assert.notInclude(yield* server.stderr, token)
    }).pipe(Effect.provide(NodeContext.layer)), { timeout: 120_000 })
})
