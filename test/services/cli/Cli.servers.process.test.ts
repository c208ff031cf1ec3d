/**
 * The command line against a misbehaving model server, for both wire formats (OpenAI's Responses API, chat
 * completions), as a process: 401 (quoting the key it was sent), 500, 429 with a Retry-After of a day, a body that
 * is not JSON, one of the wrong shape, an HTML 502, a hang, a hang half-way through the body, a reset connection
 * and a message full of terminal control sequences, one task each, with a key and credentials in the base URL.
 * Every task ends with a typed outcome within its bounds (the task timeout, the run's deadline), and no key, token
 * or URL credential is in any artefact: the result lines, stdout, stderr (with `--log-level debug`), the report.
 * And against a server that answers: a run keeps its connections open and has no more of them than its concurrency.
 */
import { NodeContext } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import * as Text from "../../../services/cli/internal/text.js"
import * as ModelServer from "../modelServer.js"
import { readLines, run, tempDirectory, writeLines } from "./process.js"

const key = "sk-suite-3f9a1c77e0"
const urlUser = "suite-user"
const urlPassword = "url-secret-b41d"

const scenarios: ReadonlyArray<ModelServer.Scenario> = [
  "ok",
  "unauthorized",
  "server-error",
  "rate-limited-long",
  "malformed-json",
  "wrong-shape",
  "bad-gateway",
  "hang",
  "hang-mid-body",
  "reset",
  "hostile-error"
]

/** What each scenario may end as: a status, and the error tag or reason it carries. */
const allowed: Record<string, ReadonlyArray<string>> = {
  ok: ["Succeeded"],
  unauthorized: ["Failed HttpResponseError"],
  "server-error": ["Failed HttpResponseError"],
  // Retried after its Retry-After only if the engine honours it (it caps it); the run's deadline bounds it anyway.
  "rate-limited-long": [
    "Failed HttpResponseError",
    "Failed RateLimited",
    "TimedOut RunDeadline",
    "Interrupted RunDeadline"
  ],
  "malformed-json": ["Failed HttpResponseError"],
  "wrong-shape": ["Failed MalformedOutput"],
  "bad-gateway": ["Failed HttpResponseError"],
  hang: ["TimedOut TaskTimeout"],
  "hang-mid-body": ["TimedOut TaskTimeout"],
  reset: ["Failed HttpRequestError"],
  "hostile-error": ["Failed HttpResponseError"]
}

const deadlineSeconds = 12

describe("parallel-agents (a process): a misbehaving model server", () => {
  for (const model of ["openai:gpt-4o-mini", "compat:llama-test"]) {
    it.scopedLive(
      `${model}: every task ends typed within its bounds; no key or credential in any artefact`,
      () =>
        Effect.gen(function*() {
          const server = yield* ModelServer.make
          const directory = yield* tempDirectory
          const input = path.join(directory, "tasks.jsonl")
          yield* writeLines(
            input,
            scenarios.map((scenario) => JSON.stringify({ id: scenario, text: `scenario=${scenario}` }))
          )
          const started = Date.now()
          const { exitCode, stderr, stdout } = yield* run(
            [
              "--log-level",
              "debug",
              "run",
              "-i",
              input,
              "-a",
              "classify",
              "-c",
              String(scenarios.length),
              "--timeout",
              "2s",
              "--retries",
              "1",
              "--deadline",
              `${deadlineSeconds}s`,
              "-o",
              "results.jsonl",
              "--report",
              "report.html"
            ],
            {
              directory,
              env: {
                AGENT_MODEL: model,
                OPENAI_API_KEY: key,
                OPENAI_BASE_URL: server.baseUrl.replace("http://", `http://${urlUser}:${urlPassword}@`)
              }
            }
          )
          const elapsed = Date.now() - started
          assert.strictEqual(exitCode, 1, stderr)
          // The deadline, plus the time a process takes to start and to write its report on a loaded machine.
          assert.isBelow(elapsed, (deadlineSeconds + 30) * 1000)

          const lines = readLines(path.join(directory, "results.jsonl"))
          assert.deepStrictEqual(lines.map((line) => line.id).sort(), [...scenarios].sort())
          for (const line of lines) {
            const outcome = line.status === "Succeeded"
              ? "Succeeded"
              : `${line.status} ${line.status === "Failed" ? line.errorTag : line.reason}`
            assert.isTrue(
              (allowed[line.id] ?? []).includes(outcome),
              `${line.id} ended ${outcome}: ${JSON.stringify(line).slice(0, 600)}`
            )
          }

          const report = fs.readFileSync(path.join(directory, "report.html"), "utf8")
          assert.match(report, /<\/html>\n?$/)
          const artefacts = {
            results: fs.readFileSync(path.join(directory, "results.jsonl"), "utf8"),
            stdout,
            stderr,
            report
          }
          for (const [where, text] of Object.entries(artefacts)) {
            for (const secret of [key, urlPassword, `${urlUser}:`]) {
              assert.notInclude(text, secret, `${where} holds ${secret}`)
            }
          }
          // The server had the key (a bearer token), never the URL's credentials.
          const received = yield* server.received
          assert.isTrue(received.every((request) => request.authorization === `Bearer ${key}`))
          // The hostile message reached the results and the terminal got it escaped.
          assert.isFalse(Text.hasControl(stderr))
          assert.include(lines.find((line) => line.id === "hostile-error")?.error, "pwned")
          assert.notMatch(stderr, /^line 99:/m)
          assert.include(stderr, "level=DEBUG")
        }).pipe(Effect.provide(NodeContext.layer)),
      180_000
    )
  }

  for (const model of ["openai:gpt-4o-mini", "compat:llama-test"]) {
    it.scopedLive(
      `${model}: a run reuses its connections, as many as its concurrency`,
      () =>
        Effect.gen(function*() {
          const server = yield* ModelServer.makeWith({ latency: "20 millis" })
          const directory = yield* tempDirectory
          const input = path.join(directory, "tasks.jsonl")
          const tasks = 60
          const concurrency = 4
          yield* writeLines(
            input,
            Array.from({ length: tasks }, (_, i) => JSON.stringify({ id: `t${i}`, text: `scenario=ok ${i}` }))
          )
          const { exitCode, stderr } = yield* run(
            ["run", "-i", input, "-a", "classify", "-c", String(concurrency), "-o", "results.jsonl"],
            { directory, env: { AGENT_MODEL: model, OPENAI_API_KEY: key, OPENAI_BASE_URL: server.baseUrl } }
          )
          assert.strictEqual(exitCode, 0, stderr)
          const lines = readLines(path.join(directory, "results.jsonl"))
          assert.strictEqual(lines.filter((line) => line.status === "Succeeded").length, tasks)
          assert.strictEqual((yield* server.received).length, tasks)
          // An unbounded pool opens about twice as many: a connection counts as busy until the client has noticed
          // that its response is over, and a call that comes before then opens a new one.
          const connections = yield* server.connections
          assert.isAtLeast(connections, 1)
          assert.isAtMost(connections, concurrency)
        }).pipe(Effect.provide(NodeContext.layer)),
      120_000
    )
  }
})
