/**
 * `parallel-agents serve --journal <file>` killed with `kill -9` mid-run and started again on the same file: the
 * runs of the killed process are still there, the one that was going as `interrupted` with the results it had
 * recorded.
 */
import { Command } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Stream } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { inject } from "vitest"

const root = fileURLToPath(new URL("../../..", import.meta.url))
// The bundled executable, as `npm run build` makes it (test/globalSetup.ts).
const bin = inject("bin")
const token = "journal-test-token-0123456789"

/** Starts `parallel-agents serve --port 0 --journal <file>` and waits until it says where it listens. */
const serve = (journal: string) =>
  Effect.gen(function*() {
    const process = yield* Command.make("node", bin, "serve", "--port", "0", "--journal", journal)
      .pipe(
        Command.workingDirectory(root),
        Command.env({
          AGENT_MODEL: "offline",
          OPENAI_API_KEY: "",
          OPENAI_BASE_URL: "",
          AGENT_HTTP_TOKEN: token,
          AGENT_OFFLINE_LATENCY: "200 millis"
        }),
        Command.start
      )
    let stderr = ""
    yield* Effect.fork(
      Stream.runForEach(Stream.decodeText(process.stderr), (text) => Effect.sync(() => (stderr += text)))
    )
    const banner = yield* Effect.sync(() => stderr).pipe(
      Effect.delay("50 millis"),
      Effect.repeat({ until: (text) => text.includes("Ctrl-C stops the server") }),
      Effect.timeoutFail({ duration: "60 seconds", onTimeout: () => new Error(`no banner in: ${stderr}`) })
    )
    assert.include(banner, `Runs are kept in ${journal}.`)
    return { process, url: banner.match(/serving the API and the dashboard on (http:\/\/127\.0\.0\.1:\d+) /)![1]! }
  })

const call = (url: string, init?: RequestInit) =>
  Effect.promise(async () => {
    const response = await fetch(url, { ...init, headers: { authorization: `Bearer ${token}`, ...init?.headers } })
    return { status: response.status, body: await response.text() }
  })

const json = (url: string) => Effect.map(call(url), (response) => JSON.parse(response.body))

const start = (url: string, documents: number) =>
  Effect.map(
    call(`${url}/runs?agent=classify&concurrency=2`, {
      method: "POST",
      headers: { "content-type": "application/x-ndjson" },
      body: Array.from({ length: documents }, (_, i) => `{"text": "document ${i}"}`).join("\n")
    }),
    (response) => JSON.parse(response.body).id as string
  )

describe("parallel-agents serve --journal", () => {
  it.scopedLive(
    "killed with kill -9 mid-run and started again: its runs are there, the one going interrupted",
    () =>
      Effect.gen(function*() {
        const dir = yield* Effect.acquireRelease(
          Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "serve-journal-"))),
          (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
        )
        const journal = path.join(dir, "runs.db")
        const first = yield* serve(journal)
        const done = yield* start(first.url, 2)
        yield* json(`${first.url}/runs/${done}`).pipe(
          Effect.delay("50 millis"),
          Effect.repeat({ until: (run) => run.state !== "running" })
        )
        const going = yield* start(first.url, 400)
        const before = yield* json(`${first.url}/runs/${going}`).pipe(
          Effect.delay("50 millis"),
          Effect.repeat({ until: (run) => run.summary.total >= 4 })
        )
        yield* first.process.kill("SIGKILL")
        yield* first.process.exitCode.pipe(Effect.ignore)

        const second = yield* serve(journal)
        const runs = yield* json(`${second.url}/runs`) as Effect.Effect<Array<any>>
        assert.deepStrictEqual(runs.map((run) => [run.id, run.state]), [[going, "interrupted"], [done, "finished"]])
        const interrupted = runs[0]
        assert.isAtLeast(interrupted.summary.total, before.summary.total)
        assert.isBelow(interrupted.summary.total, 400)
        assert.strictEqual(interrupted.summary.total, interrupted.summary.succeeded)
        const lines = (yield* call(`${second.url}/runs/${going}/results`)).body.trimEnd().split("\n")
        assert.strictEqual(lines.length, interrupted.summary.total)
        assert.strictEqual(runs[1].summary.succeeded, 2)
        const events = (yield* call(`${second.url}/runs/${going}/events`)).body
        assert.strictEqual(events.match(/^event: TaskSucceeded$/gm)!.length, interrupted.summary.total)
        assert.include(events, "event: RunFinished")
        yield* second.process.kill("SIGINT")
        assert.strictEqual(yield* second.process.exitCode, 130)
      }).pipe(Effect.provide(NodeContext.layer)),
    { timeout: 120_000 }
  )
})
