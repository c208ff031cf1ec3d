/**
 * The cluster-wide limit with real processes: three runner processes started with CLUSTER_GLOBAL_CONCURRENCY=12 (10
 * tasks at once each), two coordinators sending two runs at once (30 tasks at once each), and one runner killed with
 * SIGKILL mid-run. The tasks under way across the cluster, counted at the agent (the runners' call logs), never
 * exceed 12; the dead runner's leases come back (after it, the survivors run more tasks at once than they could
 * without them); every task is reported.
 */
import { FileSystem } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import * as SqlClient from "@effect/sql/SqlClient"
import { assert } from "@effect/vitest"
import { Effect, Layer } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import * as ClusterConfig from "../../../services/cluster/ClusterConfig.js"
import * as Cluster from "./cluster.js"
import * as Processes from "./processes.js"

const readResults = (file: string): Array<{ readonly id: string; readonly outcome: string }> =>
  fs.existsSync(file)
    ? fs.readFileSync(file, "utf8").split("\n").filter((line) => line !== "").map((line) => JSON.parse(line))
    : []

/**
 * The most calls under way at once (among those that start at or after `from`); a call with no end (its runner was
 * killed) ends at `killedAt` (or at its start, if it started between the signal and the death). `killedAt` is read
 * before the signal, which comes before the process's death, and its leases are free only once PostgreSQL sees its
 * session end, after that: ending its calls at the kill hides no overlap.
 */
const peakOverlap = (calls: ReadonlyArray<Processes.Call>, killedAt: number, from?: number) =>
  Processes.peakOverlap(calls, (call) => Math.max(killedAt, call.at), from)
const readCalls = Processes.readCalls

const shards = 300
const limit = 12

Cluster.withPostgres("ClusterLimit processes", (it) => {
  it.scoped(
    "three runners under CLUSTER_GLOBAL_CONCURRENCY=12, two runs of 30 at once, a runner SIGKILLed: never more than 12 calls at once, the dead runner's leases come back, every task reported",
    () =>
      Effect.gen(function*() {
        const url = yield* Cluster.database
        const directory = yield* (yield* FileSystem.FileSystem).makeTempDirectoryScoped()
        const sqlContext = yield* Layer.build(Cluster.client(url))
        const query = <A extends object>(text: string) =>
          Effect.flatMap(SqlClient.SqlClient, (client) => client.unsafe<A>(text)).pipe(
            Effect.provide(sqlContext),
            Effect.orDie
          )
        const holders = query<{ readonly locks: number; readonly holders: number }>(
          `SELECT count(*)::int AS locks, count(DISTINCT pid)::int AS holders FROM pg_locks
           WHERE locktype = 'advisory' AND granted AND objsubid = 1
           AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`
        ).pipe(Effect.map((rows) => rows[0]!))
        const common = { DATABASE_URL: url, RUNNER_HOST: "127.0.0.1", CLUSTER_GLOBAL_CONCURRENCY: String(limit) }
        const started: Array<Processes.Proc> = []
        const runner = (port: number) =>
          Processes.start(Processes.script("runner"), {
            ...common,
            RUNNER_PORT: String(port),
            RUNNER_CONCURRENCY: "10",
            ECHO_LATENCY_MS: "200",
            CALLS_DIR: directory
          }).pipe(Effect.tap((proc) => started.push(proc)))
        const explain = Effect.gen(function*() {
          const outputs = yield* Effect.forEach(started, (proc) =>
            Effect.map(proc.output, (output) => `--- pid ${proc.pid}:\n${output.slice(-3000)}`))
          return `${JSON.stringify(yield* holders)}\n${outputs.join("\n")}`
        })
        const coordinator = (runId: string, tasks: number) =>
          Processes.start(Processes.script("coordinator"), {
            ...common,
            RUN_ID: runId,
            TASKS: String(tasks),
            CONCURRENCY: "30",
            RESULTS_FILE: path.join(directory, `${runId}.jsonl`)
          })

        const ports = [yield* Cluster.freePort, yield* Cluster.freePort, yield* Cluster.freePort]
        const [a, b, c] = yield* Effect.all(ports.map(runner), { concurrency: "unbounded" })
        yield* Processes.until(
          "three runners holding every shard",
          180,
          Effect.map(holders, (h) =>
            h.locks === shards && h.holders === 3),
          explain
        )
        const total = 300
        const one = yield* coordinator("limitA", total)
        const two = yield* coordinator("limitB", total)
        // Runner A is killed once both runs are well under way, with tasks of its own running.
        yield* Processes.until(
          "120 results of each run",
          120,
          Effect.sync(() =>
            readResults(path.join(directory, "limitA.jsonl")).length >= 120 &&
            readResults(path.join(directory, "limitB.jsonl")).length >= 120
          ),
          explain
        )
        const onA = () => readCalls(directory).filter((call) => call.pid === a!.pid)
        const underWayOnA = () => {
          const calls = onA()
          return calls.filter((call) => call.event === "start").length -
            calls.filter((call) => call.event === "end").length
        }
        yield* Processes.until("two tasks under way on runner A", 30, Effect.sync(() => underWayOnA() >= 2))
        // Read before the signal: `kill` returns once the process has exited, and by then PostgreSQL may have freed
        // its leases and the survivors started calls with them.
        const killedAt = Date.now()
        yield* a!.kill("SIGKILL")
        yield* a!.exited(30)
        assert.strictEqual(yield* one.exited(180), 0, yield* one.output)
        assert.strictEqual(yield* two.exited(180), 0, yield* two.output)

        // Every task reported once, succeeded.
        for (const runId of ["limitA", "limitB"]) {
          const lines = readResults(path.join(directory, `${runId}.jsonl`))
          assert.strictEqual(lines.length, total)
          assert.strictEqual(new Set(lines.map((line) => line.id)).size, total)
          assert.isTrue(lines.every((line) => line.outcome === "Succeeded"), runId)
        }
        const calls = readCalls(directory)
        // The limit held across both runs and every runner, the killed one included; and it was reached, or nearly
        // (on a loaded machine a freed slot may stay free for a poll or two before it is taken again).
        const peak = peakOverlap(calls, killedAt)
        assert.isAtMost(peak, limit)
        assert.isAtLeast(peak, limit - 2)
        // The dead runner's leases came back. It held one per call it had under way when it died (all in one
        // session's name: they come back together or not at all); had they not, the two survivors could never run
        // more than `limit - lost` tasks at once after the kill.
        const lost = underWayOnA()
        assert.isAtLeast(lost, 1)
        assert.isAbove(
          peakOverlap(calls.filter((call) => call.pid !== a!.pid), killedAt, killedAt),
          limit - lost,
          `runner A held ${lost} leases when it was killed`
        )
        // The runner's own limit held too.
        for (const pid of new Set(calls.map((call) => call.pid))) {
          assert.isAtMost(peakOverlap(calls.filter((call) => call.pid === pid), killedAt), 10)
        }
        // Nothing is left held by a live session.
        const held = yield* query<{ readonly n: number }>(
          `SELECT count(*)::int AS n FROM cluster_limit l JOIN pg_locks k ON k.locktype = 'advisory' AND k.granted
           AND k.objsubid = 2 AND k.classid::bigint = ${ClusterConfig.lockSpace + 1} AND k.objid::bigint = l.holder`
        )
        assert.deepStrictEqual(held, [{ n: 0 }])

        // A runner without the cluster's limit is refused, with the reason.
        const unlimited = yield* Processes.start(Processes.script("runner"), {
          DATABASE_URL: url,
          RUNNER_HOST: "127.0.0.1",
          RUNNER_PORT: String(yield* Cluster.freePort),
          CALLS_DIR: directory
        })
        assert.notStrictEqual(yield* unlimited.exited(60), 0)
        assert.include(yield* unlimited.output, "globalConcurrency is 12 in the cluster, none here")

        yield* Effect.forEach([b!, c!], (p) => p.kill("SIGTERM"), { discard: true })
        yield* Effect.forEach([b!, c!], (p) => p.exited(60), { concurrency: "unbounded" })
      }).pipe(Effect.provide(NodeContext.layer)),
    300_000
  )
})
