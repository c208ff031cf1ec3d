/**
 * `parallel-agents run --cluster`: the same file of tasks run locally and on a cluster of two runner processes (the
 * executable, `parallel-agents runner`) sharing a real PostgreSQL gives the same result lines and summary; run again
 * with the same `--run-id`, it gets the stored results.
 */
import { FileSystem } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import * as SqlClient from "@effect/sql/SqlClient"
import { assert } from "@effect/vitest"
import { Effect, Layer } from "effect"
import * as Cluster from "../cluster/cluster.js"
import * as Processes from "../cluster/processes.js"
import type { ResultLine } from "./process.js"
import { runCli, withInput } from "./runCli.js"

interface Line extends ResultLine {
  readonly issues?: unknown
}

const parse = (text: string): Array<Line> =>
  text.split("\n").filter((line) => line !== "").map((line) => JSON.parse(line) as Line).sort((a, b) => a.line - b.line)

/**
 * What a local run and a cluster run must agree on, line by line. Instance names differ in one way: a local stream
 * gives a task whose id is not its position that position too (`doc-7@6`), to keep names unique when ids repeat;
 * on the cluster a run's ids are unique, and names are `<agent>#<runId>/<taskId>/<attempt>`.
 */
const comparable = (lines: ReadonlyArray<Line>) =>
  lines.map(({ error, errorTag, id, issues, line, status, value }) => ({
    line,
    id,
    status,
    value,
    error: error?.replace(/@\d+\//g, "/"),
    errorTag,
    issues
  }))

Cluster.withPostgres("parallel-agents run --cluster", (it) => {
  it.scoped(
    "the same file gives the same results and summary locally and on two runner processes; the same --run-id again gets the stored results",
    () =>
      Effect.gen(function*() {
        const url = yield* Cluster.database
        const fs = yield* FileSystem.FileSystem
        const documents = Array.from({ length: 120 }, (_, i) => JSON.stringify({ id: `doc-${i}`, text: `Doc ${i}` }))
        // A line that is not JSON and one without its text: each fails on its own, the same way in both runs.
        documents.splice(10, 0, "{not json")
        documents.splice(20, 0, JSON.stringify({ id: "no-text", body: "x" }))
        const { directory, file } = yield* withInput(documents)

        const runners = yield* Effect.forEach([0, 1], () =>
          Effect.flatMap(Cluster.freePort, (port) =>
            Processes.start(Processes.bin, {
              DATABASE_URL: url,
              AGENT_MODEL: "offline",
              AGENT_OFFLINE_LATENCY: "20 millis",
              RUNNER_CONCURRENCY: "20"
            }, ["runner", "--host", "127.0.0.1", "--port", String(port)])))
        for (const runner of runners) {
          yield* Processes.until(
            "a runner listening",
            120,
            Effect.map(runner.output, (text) =>
              text.includes("Listening on")),
            runner.output
          )
        }

        const run = (name: string, cluster: boolean) =>
          Effect.gen(function*() {
            const output = `${directory}/${name}.jsonl`
            const result = yield* runCli(
              [
                "run",
                "--agent",
                "classify",
                "--input",
                file,
                "--output",
                output,
                "--json",
                "--concurrency",
                "30",
                "--run-id",
                "same-file",
                ...(cluster ? ["--cluster"] : [])
              ],
              { DATABASE_URL: url, AGENT_OFFLINE_LATENCY: "20 millis" }
            )
            return { ...result, lines: parse(yield* fs.readFileString(output)) }
          })

        const local = yield* run("local", false)
        const remote = yield* run("cluster", true).pipe(Effect.timeout("120 seconds"), Effect.orDie)
        // Exit code 1: two lines did not succeed.
        assert.strictEqual(remote.code, 1, remote.stderr)
        assert.strictEqual(local.code, 1, local.stderr)
        assert.strictEqual(remote.lines.length, 122)
        assert.deepStrictEqual(comparable(remote.lines), comparable(local.lines))
        // The bad lines' errors name the instance: with its position locally (a stream), without on the cluster.
        assert.match(local.lines[20]?.error ?? "", /#same-file\/no-text@20\/1/)
        assert.match(remote.lines[20]?.error ?? "", /#same-file\/no-text\/1/)
        const summary = (stdout: string) => {
          const { summary } = JSON.parse(stdout) as { readonly summary: unknown }
          return summary
        }
        assert.deepStrictEqual(summary(remote.stdout), summary(local.stdout))
        assert.deepStrictEqual(summary(remote.stdout), {
          total: 122,
          succeeded: 120,
          failed: 2,
          timedOut: 0,
          interrupted: 0
        })
        const bad = remote.lines.filter((line) =>
          line.status !== "Succeeded"
        )
        assert.deepStrictEqual(bad.map((line) => line.errorTag), ["AgentInputError", "AgentInputError"])
        // The tasks went through the cluster: one stored message and reply each, the bad lines never sent.
        const sql = yield* Effect.provide(SqlClient.SqlClient, yield* Layer.build(Cluster.client(url)))
        const stored = sql<{ readonly messages: number; readonly replies: number }>`
          SELECT count(*)::int AS messages, count(r.id)::int AS replies
          FROM cluster_messages m LEFT JOIN cluster_replies r ON r.request_id = m.id AND r.kind = 0
          WHERE m.entity_id LIKE 'same-file/%'`.pipe(Effect.map((rows) => rows[0]), Effect.orDie)
        assert.deepStrictEqual(yield* stored, { messages: 120, replies: 120 })

        // Again with the same run id: the results stored on the cluster, the same lines.
        const again = yield* run("again", true).pipe(Effect.timeout("120 seconds"), Effect.orDie)
        assert.strictEqual(again.code, 1, again.stderr)
        assert.deepStrictEqual(comparable(again.lines), comparable(remote.lines))
        assert.deepStrictEqual(yield* stored, { messages: 120, replies: 120 })

        for (const runner of runners) yield* runner.kill("SIGTERM")
        for (const runner of runners) assert.strictEqual(yield* runner.exited(60), 130, yield* runner.output)
      }).pipe(Effect.provide(NodeContext.layer)),
    240_000
  )
})
