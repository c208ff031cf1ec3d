/**
 * The cluster as it runs in production: runner and coordinator processes of their own (through tsx, on the
 * sources; test/services/cluster/runner.ts and coordinator.ts), on loopback, sharing a real PostgreSQL. A runner is
 * killed with SIGKILL in the middle of a run of 2,000 tasks and started again; a coordinator is killed and started
 * again with the same run id; a runner with other sharding settings is refused.
 */
import { FileSystem } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import * as SqlClient from "@effect/sql/SqlClient"
import { assert } from "@effect/vitest"
import { Effect, Layer } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import * as Cluster from "./cluster.js"
import * as Processes from "./processes.js"

/** The cluster's tables' default prefix and shard count (ClusterConfig.defaults). */
const shards = 300

type Proc = Processes.Proc
const start = (name: string, env: Record<string, string>) => Processes.start(Processes.script(name), env)
const until = Processes.until

type Call = Processes.Call
const readCalls = Processes.readCalls

interface ResultLine {
  readonly id: string
  readonly index: number
  readonly runner?: string
  readonly outcome: string
  readonly value?: { readonly n: number; readonly doubled: number }
  readonly error?: string
  readonly attempt: number
}

const readResults = (file: string): Array<ResultLine> =>
  fs.existsSync(file)
    ? fs.readFileSync(file, "utf8").split("\n").filter((line) => line !== "").map((line) => JSON.parse(line))
    : []

const peakOverlap = Processes.peakOverlap

Cluster.withPostgres("Cluster processes", (it) => {
  it.scoped(
    "three runners and a coordinator; SIGKILL a runner mid-run: every task reported once, stored results never run again, the shards move within seconds; the runner comes back and takes work; a coordinator restarted with the same run id gets the stored results",
    () =>
      Effect.gen(function*() {
        const began = Date.now()
        const phases: Array<string> = []
        const phase = (name: string) =>
          Effect.sync(() => phases.push(`${name} ${((Date.now() - began) / 1000).toFixed(1)}s`))
        const url = yield* Cluster.database
        const directory = yield* (yield* FileSystem.FileSystem).makeTempDirectoryScoped()
        const sqlContext = yield* Layer.build(Cluster.client(url))
        const sql = SqlClient.SqlClient.pipe(Effect.provide(sqlContext))
        const query = <A extends object>(text: string) =>
          Effect.flatMap(sql, (client) => client.unsafe<A>(text)).pipe(Effect.orDie)

        /** Advisory shard locks held in this database, and by how many sessions (runners). */
        const locks = query<{ readonly locks: number; readonly holders: number }>(
          `SELECT count(*)::int AS locks, count(DISTINCT pid)::int AS holders FROM pg_locks
           WHERE locktype = 'advisory' AND granted AND objsubid = 1
           AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`
        ).pipe(Effect.map((rows) => rows[0]!))

        const common = { DATABASE_URL: url, RUNNER_HOST: "127.0.0.1" }
        const runnerConcurrency = 10
        const started: Array<readonly [string, Proc]> = []
        const runner = (port: number) =>
          start("runner", {
            ...common,
            RUNNER_PORT: String(port),
            RUNNER_CONCURRENCY: String(runnerConcurrency),
            ECHO_LATENCY_MS: "250",
            CALLS_DIR: directory
          }).pipe(Effect.tap((proc) => started.push([`runner on ${port}`, proc])))
        // What the cluster looks like, for a wait that timed out.
        const explain = Effect.gen(function*() {
          const { holders, locks: held } = yield* locks
          const runners = yield* query<{ readonly address: string; readonly healthy: boolean; readonly age: string }>(
            `SELECT address, healthy, round(extract(epoch FROM now() - last_heartbeat)::numeric, 1)::text AS age
             FROM cluster_runners`
          )
          const outputs = yield* Effect.forEach(started, ([name, proc]) =>
            Effect.map(proc.output, (output) => `--- ${name}, pid ${proc.pid}:\n${output.slice(-4000)}`))
          return `${held} shard locks held by ${holders} sessions; runners (heartbeat age in s): ` +
            `${JSON.stringify(runners)}\n${outputs.join("\n")}`
        })
        const coordinator = (runId: string, tasks: number, concurrency: number, file: string) =>
          start("coordinator", {
            ...common,
            RUN_ID: runId,
            TASKS: String(tasks),
            CONCURRENCY: String(concurrency),
            RESULTS_FILE: path.join(directory, file)
          })

        const ports = [yield* Cluster.freePort, yield* Cluster.freePort, yield* Cluster.freePort]
        const [a, b, c] = yield* Effect.all(ports.map(runner), { concurrency: "unbounded" })
        yield* until(
          "three runners holding every shard",
          180,
          Effect.map(locks, (l) =>
            l.locks === shards && l.holders === 3),
          explain
        )

        yield* phase("runners up")
        // --- A run of 2,000 tasks; runner A is killed when 400 are done.
        const total = 2000
        const globalConcurrency = 30
        const first = yield* coordinator("run1", total, globalConcurrency, "run1.jsonl")
        const results1 = path.join(directory, "run1.jsonl")
        yield* until("400 results", 120, Effect.sync(() => readResults(results1).length >= 400), explain)
        // Read before the signal: `kill` returns once the process has exited, and by then its shards may have moved
        // and the survivors started calls.
        const killedAt = Date.now()
        yield* a!.kill("SIGKILL")
        yield* a!.exited(30)
        // Results stored when A died (a COMMIT under way when it died is done or undone by now).
        yield* Effect.sleep("500 millis")
        const stored = new Set(
          (yield* query<{ readonly entity_id: string }>(
            `SELECT m.entity_id FROM cluster_messages m JOIN cluster_replies r ON r.request_id = m.id WHERE r.kind = 0`
          )).map((row) => row.entity_id)
        )
        yield* until(
          "the two other runners holding every shard",
          60,
          Effect.map(locks, (l) => l.locks === shards && l.holders === 2),
          explain
        )
        const movedAt = Date.now()
        const doneAtMove = readResults(results1).length

        yield* phase("shards moved")
        // --- A comes back on its port while the run goes on, and takes shards (and tasks) again.
        const a2 = yield* runner(ports[0]!)
        const restartedAt = Date.now()
        yield* until(
          "three runners again",
          120,
          Effect.map(locks, (l) => l.locks === shards && l.holders === 3),
          explain
        )
        const doneAtRejoin = readResults(results1).length
        assert.isBelow(doneAtRejoin, total - 200, "the run ended before the runner came back: make it longer")

        yield* phase("runner back")
        const exit1 = yield* first.exited(180)
        assert.strictEqual(exit1, 0, yield* first.output)

        yield* phase("run done")
        // Every task reported exactly once, in full.
        const lines = readResults(results1)
        assert.strictEqual(lines.length, total)
        assert.deepStrictEqual(
          new Set(lines.map((l) => l.id)),
          new Set(Array.from({ length: total }, (_, i) => `t${i}`))
        )
        for (const line of lines) {
          assert.strictEqual(line.outcome, "Succeeded", JSON.stringify(line))
          const n = Number(line.id.slice(1))
          assert.deepStrictEqual(line.value, { n, doubled: n * 2 })
        }

        // Calls: a task was called again only if it had started on A and its result was not stored when A died
        // (its call was under way, or had just ended and its reply was not committed yet).
        const calls = readCalls(directory).filter((call) => call.runId === "run1")
        const starts = new Map<string, Array<Call>>()
        for (const call of calls) {
          if (call.event === "start") starts.set(call.taskId, [...(starts.get(call.taskId) ?? []), call])
        }
        const onA = (call: Call) => call.port === String(ports[0]) && call.pid !== a2.pid
        const lostOnA = new Set(
          calls.filter((c) => c.event === "start" && onA(c) && !stored.has(`run1/${c.taskId}`)).map((c) => c.taskId)
        )
        assert.strictEqual(starts.size, total, "every task was called")
        const again = [...starts].filter(([, s]) => s.length > 1).map(([id]) => id)
        for (const id of again) {
          const history = JSON.stringify(calls.filter((c) => c.taskId === id))
          assert.isTrue(lostOnA.has(id), `task ${id} was called ${starts.get(id)!.length} times: ${history}`)
          assert.strictEqual(starts.get(id)!.length, 2, `task ${id}: ${history}`)
          assert.isTrue(onA(starts.get(id)![0]!), `task ${id}: ${history}`)
        }
        assert.isAtMost(lostOnA.size, 2 * runnerConcurrency)
        assert.isAbove(stored.size, 300)
        for (const entity of stored) {
          const id = entity.slice("run1/".length)
          assert.strictEqual(starts.get(id)?.length, 1, `task ${id}'s result was stored, yet it was called again`)
        }

        // Concurrency: each runner at most RUNNER_CONCURRENCY, the cluster at most the coordinator's limit.
        for (const pid of new Set(calls.map((c) => c.pid))) {
          assert.isAtMost(
            peakOverlap(calls.filter((c) => c.pid === pid), (c) => Math.max(killedAt, c.at)),
            runnerConcurrency
          )
        }
        assert.isAtMost(peakOverlap(calls, (c) => Math.max(killedAt, c.at)), globalConcurrency)

        // The runner that came back took work.
        const onA2 = calls.filter((c) => c.pid === a2.pid && c.event === "start")
        assert.isAbove(onA2.length, 0, "the restarted runner ran no task")
        assert.isTrue(onA2.every((c) => c.at >= restartedAt))
        assert.isTrue(lines.some((l) => l.runner === `127.0.0.1:${ports[0]}`))

        const failover = movedAt - killedAt
        const rerun = Math.min(
          ...again.map((id) => starts.get(id)!.find((s) => s.port !== String(ports[0]) || s.pid === a2.pid)!.at)
        ) - killedAt
        yield* Effect.logInfo(
          `failover: shards moved ${failover} ms after SIGKILL; first interrupted task running again after ` +
            `${again.length > 0 ? rerun : "-"} ms; ${again.length} tasks called twice (under way on the killed ` +
            `runner), ${stored.size} results stored at the kill; ${doneAtMove} tasks done when the shards had moved, ` +
            `${doneAtRejoin} when the runner was back; the runner back ran ${onA2.length} tasks`
        )
        assert.isAtMost(failover, 15_000, "the dead runner's shards took too long to move")

        yield* phase("checked")
        // --- The same run again: every result comes from storage, no agent is called.
        const callsBefore = readCalls(directory).length
        // (Nothing runs, so the limit can be higher: the replies come from the database.)
        const replay = yield* coordinator("run1", total, 100, "run1-again.jsonl")
        assert.strictEqual(yield* replay.exited(120), 0, yield* replay.output)
        const replayed = readResults(path.join(directory, "run1-again.jsonl"))
        assert.strictEqual(replayed.length, total)
        const byId = new Map(lines.map((l) => [l.id, l]))
        for (const line of replayed) {
          const original = byId.get(line.id)!
          assert.deepStrictEqual(
            { outcome: line.outcome, value: line.value, runner: line.runner, attempt: line.attempt },
            { outcome: original.outcome, value: original.value, runner: original.runner, attempt: original.attempt }
          )
        }
        assert.strictEqual(readCalls(directory).length, callsBefore, "a stored result's agent was called again")

        yield* phase("replayed")
        // --- A coordinator killed mid-run and started again with the same run id: the tasks it had sent finish on
        // their runners, and the new one gets every result without calling any agent twice.
        const killed = yield* coordinator("run2", 300, globalConcurrency, "run2-killed.jsonl")
        yield* until(
          "60 results of run2",
          60,
          Effect.sync(() => readResults(path.join(directory, "run2-killed.jsonl")).length >= 60)
        )
        yield* killed.kill("SIGKILL")
        yield* killed.exited(30)
        const resumed = yield* coordinator("run2", 300, globalConcurrency, "run2-resumed.jsonl")
        assert.strictEqual(yield* resumed.exited(120), 0, yield* resumed.output)
        const run2 = readResults(path.join(directory, "run2-resumed.jsonl"))
        assert.strictEqual(run2.length, 300)
        assert.isTrue(run2.every((l) => l.outcome === "Succeeded"))
        const run2Starts = readCalls(directory).filter((c) => c.runId === "run2" && c.event === "start")
        assert.strictEqual(run2Starts.length, 300)
        assert.strictEqual(new Set(run2Starts.map((c) => c.taskId)).size, 300)

        yield* phase("run2 done")
        // --- A runner whose shardsPerGroup differs from the cluster's is refused, with the reason.
        const odd = yield* start("runner", {
          ...common,
          RUNNER_PORT: String(yield* Cluster.freePort),
          CLUSTER_SHARDS_PER_GROUP: "100",
          CALLS_DIR: directory
        })
        const oddExit = yield* odd.exited(60)
        const oddOutput = yield* odd.output
        assert.notStrictEqual(oddExit, 0, oddOutput)
        assert.include(oddOutput, "SettingsMismatch")
        assert.include(oddOutput, "shardsPerGroup is 300 in the cluster, 100 here")
        assert.deepStrictEqual(yield* locks, { locks: shards, holders: 3 })

        yield* phase("mismatch refused")
        yield* Effect.forEach([b!, c!, a2], (p) => p.kill("SIGTERM"), { discard: true })
        const codes = yield* Effect.forEach([b!, c!, a2], (p) => p.exited(60), { concurrency: "unbounded" })
        assert.deepStrictEqual(codes, [0, 0, 0], "a runner stopped with SIGTERM did not exit cleanly")
        yield* phase("runners stopped")
        yield* Effect.logInfo(phases.join(", "))
      }).pipe(Effect.provide(NodeContext.layer)),
    360_000
  )
})
