/**
 * The cluster's own costs: TASKS tasks of LATENCY ms (an agent that only waits) run on 1, 2 and 3 runner processes
 * with 200 tasks at once per runner, against the same tasks run locally in one process at the same concurrency.
 * For each runner count: tasks per second, and the CPU time per task of the coordinator, of the runners and of
 * PostgreSQL (its server processes), next to the local run's.
 *
 * `npm run bench:cluster -- [--tasks 20000] [--latency 100] [--runners 1,2,3] [--per-runner 200] [--profile DIR]`
 * prints one table; with `--profile`, the runners and the coordinator write V8 CPU profiles to DIR.
 * It starts its own PostgreSQL (test/postgres.ts: the server binaries on this machine, fsync off) and every process
 * on the sources through tsx, as the process tests do; each runner count gets a database of its own.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process"
import * as fs from "node:fs"
import { createRequire } from "node:module"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"

const argument = (name: string): string | undefined => {
  const i = process.argv.indexOf(`--${name}`)
  return i === -1 ? undefined : process.argv[i + 1]
}
const TASKS = Number(argument("tasks") ?? 20_000)
const LATENCY = Number(argument("latency") ?? 100)
const RUNNERS = (argument("runners") ?? "1,2,3").split(",").map(Number)
const PER_RUNNER = Number(argument("per-runner") ?? 200)
/** A directory for V8 CPU profiles of the runners and the coordinator (`node --cpu-prof`), if given. */
const PROFILE = argument("profile")

const root = fileURLToPath(new URL("..", import.meta.url))
const tsx = pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href
const worker = path.join(root, "bench", "cluster-worker.ts")

let psql = "psql"

interface PgServer {
  readonly url: string
  readonly createDatabase: (name: string) => Promise<string>
  readonly stop: () => Promise<void>
}

/** The test suite's PostgreSQL server (loaded by path: the benchmark runs on the sources through tsx). */
const startPostgres = async (): Promise<PgServer> => {
  const module = await import(pathToFileURL(path.join(root, "test", "postgres.ts")).href) as {
    readonly start: () => Promise<PgServer>
    readonly binary: (name: string) => string | undefined
  }
  psql = module.binary("psql") ?? psql
  return module.start()
}

const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = net.createServer()
    server.on("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo
      server.close(() => resolve(port))
    })
  })

const ticks = 100 // CLK_TCK on Linux
/** A process's CPU time (user + system) in milliseconds, from /proc; 0 once it is gone. */
const cpuOf = (pid: number): number => {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8")
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
    return ((Number(fields[11]) + Number(fields[12])) / ticks) * 1000
  } catch {
    return 0
  }
}

interface Child {
  readonly process: ChildProcess
  readonly output: () => string
  readonly exited: Promise<number | null>
}

const children = new Set<ChildProcess>()
const start = (mode: string, env: Record<string, string>): Child => {
  const profile = PROFILE !== undefined && mode !== "local"
    ? ["--cpu-prof", "--cpu-prof-dir", path.resolve(PROFILE, mode)]
    : []
  const child = spawn("node", [...profile, "--import", tsx, worker, mode], {
    cwd: root,
    env: { ...process.env, TSX_TSCONFIG_PATH: path.join(root, "tsconfig.json"), LATENCY_MS: String(LATENCY), ...env },
    stdio: ["ignore", "pipe", "pipe"]
  })
  children.add(child)
  let output = ""
  child.stdout!.on("data", (chunk) => output += chunk)
  child.stderr!.on("data", (chunk) => output += chunk)
  const exited = new Promise<number | null>((resolve) =>
    child.on("exit", (code) => {
      children.delete(child)
      resolve(code)
    })
  )
  return { process: child, output: () => output, exited }
}
const killAll = () => {
  for (const child of children) child.kill("SIGKILL")
}
process.on("exit", killAll)
process.on("SIGINT", () => {
  killAll()
  process.exit(130)
})

const within = <A>(promise: Promise<A>, seconds: number, what: string): Promise<A> =>
  Promise.race([
    promise,
    new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error(`${what}: not done within ${seconds} s`)), seconds * 1000).unref()
    )
  ])

interface RunLine {
  readonly wallMillis: number
  readonly cpuMillis: number
  readonly summary: { readonly total: number; readonly succeeded: number }
}

const runOf = async (child: Child, what: string): Promise<RunLine> => {
  const code = await within(child.exited, 900, what)
  const line = child.output().split("\n").find((l) => l.startsWith("{\"wallMillis\""))
  if (code !== 0 || line === undefined) throw new Error(`${what} exited with ${code}:\n${child.output().slice(-3000)}`)
  const run = JSON.parse(line) as RunLine
  if (run.summary.succeeded !== TASKS) throw new Error(`${what}: ${JSON.stringify(run.summary)}`)
  return run
}

/** Runs a query with psql; its rows, each a list of columns. */
const query = (url: string, text: string): Array<Array<string>> =>
  execFileSync(psql, ["-At", "-d", url, "-c", text], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] })
    .split("\n").filter((line) => line !== "").map((line) => line.split("|"))

/** Transactions committed in the database so far (each statement outside a transaction is one). */
const pgTransactions = (url: string): number =>
  Number(query(url, "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()")[0]?.[0] ?? 0)

const pgCpu = (url: string): number =>
  query(url, "SELECT pid FROM pg_stat_activity").reduce((sum, [pid]) => sum + cpuOf(Number(pid)), 0)

interface Row {
  readonly runners: number
  readonly concurrency: number
  readonly wallSeconds: number
  readonly tasksPerSecond: number
  readonly coordinatorCpu: number
  readonly runnersCpu: number
  readonly postgresCpu: number
  readonly transactions: number
  readonly localWallSeconds: number
  readonly localCpu: number
}

const main = async () => {
  const server = await startPostgres()
  const rows: Array<Row> = []
  try {
    for (const count of RUNNERS) {
      const concurrency = PER_RUNNER * count
      const local = await runOf(
        start("local", { TASKS: String(TASKS), CONCURRENCY: String(concurrency) }),
        `local run at ${concurrency}`
      )
      const url = await server.createDatabase(`bench_${count}_${Date.now().toString(36)}`)
      const runners: Array<Child> = []
      for (let i = 0; i < count; i++) {
        runners.push(start("runner", {
          DATABASE_URL: url,
          RUNNER_HOST: "127.0.0.1",
          RUNNER_PORT: String(await freePort()),
          RUNNER_CONCURRENCY: String(PER_RUNNER)
        }))
      }
      // Every shard held (the cluster's 300 advisory shard locks), by `count` sessions.
      const ready = async () => {
        for (;;) {
          const [held] = query(
            url,
            `SELECT count(*), count(DISTINCT pid) FROM pg_locks
             WHERE locktype = 'advisory' AND granted AND objsubid = 1
             AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`
          )
          if (held?.[0] === "300" && held[1] === String(count)) return
          await new Promise((resolve) => setTimeout(resolve, 200))
        }
      }
      await within(ready(), 180, `${count} runners holding every shard`).catch((error) => {
        throw new Error(`${error.message}\n${runners.map((r) => r.output().slice(-2000)).join("\n---\n")}`)
      })
      const runnersBefore = runners.reduce((sum, r) => sum + cpuOf(r.process.pid!), 0)
      const pgBefore = pgCpu(url)
      const transactionsBefore = pgTransactions(url)
      const coordinator = await runOf(
        start("coordinator", {
          DATABASE_URL: url,
          TASKS: String(TASKS),
          CONCURRENCY: String(concurrency),
          RUN_ID: `bench-${count}`
        }),
        `cluster run on ${count} runners`
      )
      const runnersCpu = runners.reduce((sum, r) => sum + cpuOf(r.process.pid!), 0) - runnersBefore
      const postgresCpu = pgCpu(url) - pgBefore
      // The statistics collector reports with a delay of up to half a second.
      await new Promise((resolve) => setTimeout(resolve, 1000))
      const transactions = pgTransactions(url) - transactionsBefore
      for (const runner of runners) runner.process.kill("SIGTERM")
      await within(Promise.all(runners.map((r) => r.exited)), 60, "runners stopping").catch(killAll)
      rows.push({
        runners: count,
        concurrency,
        wallSeconds: coordinator.wallMillis / 1000,
        tasksPerSecond: TASKS / (coordinator.wallMillis / 1000),
        coordinatorCpu: coordinator.cpuMillis / TASKS,
        runnersCpu: runnersCpu / TASKS,
        postgresCpu: postgresCpu / TASKS,
        transactions: transactions / TASKS,
        localWallSeconds: local.wallMillis / 1000,
        localCpu: local.cpuMillis / TASKS
      })
      process.stderr.write(`${count} runners: ${JSON.stringify(rows.at(-1))}\n`)
    }
  } finally {
    killAll()
    await server.stop()
  }
  const f = (n: number, digits = 2) => n.toFixed(digits)
  console.log(
    `${TASKS} tasks of ${LATENCY} ms, ${PER_RUNNER} at once per runner; ${os.cpus().length} CPUs, load ` +
      `${os.loadavg().map((l) => l.toFixed(2)).join(" ")}; CPU in ms per task`
  )
  console.log(
    "| runners | concurrency | wall (s) | tasks/s | coordinator CPU | runners CPU | PostgreSQL CPU | cluster CPU, total | PostgreSQL transactions per task | local wall (s) | local CPU | CPU cost |"
  )
  console.log("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
  for (const row of rows) {
    const total = row.coordinatorCpu + row.runnersCpu + row.postgresCpu
    console.log(
      `| ${row.runners} | ${row.concurrency} | ${f(row.wallSeconds, 1)} | ${f(row.tasksPerSecond, 0)} | ` +
        `${f(row.coordinatorCpu)} | ${f(row.runnersCpu)} | ${f(row.postgresCpu)} | ${f(total)} | ` +
        `${f(row.transactions, 1)} | ` +
        `${f(row.localWallSeconds, 1)} | ${f(row.localCpu, 3)} | ${f(total / row.localCpu, 0)} x |`
    )
  }
}

main().catch((error) => {
  console.error(error)
  killAll()
  process.exit(1)
})
