/**
 * The run journal's own costs (`effect-parallel-agents/store`'s SqlRunJournal), without the engine: how fast
 * concurrent records are committed and in how many batches, and how long reading back a run of 100,000 entries
 * takes (what a resumed run does first; the target is 1 s for 100,000).
 *
 * `npm run build && node build/bench/journal.js [--tasks 100000] [--runs 3] [--pg-url postgres://...]` prints one
 * table. Each store is a new SQLite file in a temporary folder (synchronous `normal`, the default, and `full`),
 * and, with `--pg-url` (or `JOURNAL_BENCH_PG_URL`), tables of their own in that PostgreSQL database. The results
 * are JSON objects shaped like an encoded task result, about 500 bytes each.
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import * as Tracer from "effect/Tracer"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as SqlRunJournal from "../services/store/SqlRunJournal.js"
import * as RunJournal from "../src/RunJournal.js"

const argument = (name: string): string | undefined => {
  const i = process.argv.indexOf(`--${name}`)
  return i === -1 ? undefined : process.argv[i + 1]
}
const TASKS = Number(argument("tasks") ?? 100_000)
const RUNS = Number(argument("runs") ?? 3)
const PG_URL = argument("pg-url") ?? process.env["JOURNAL_BENCH_PG_URL"]
const CONCURRENCIES = [100, 1_000]

const resultOf = (i: number) => ({
  _tag: "Succeeded",
  task: {
    id: `doc-${i}`,
    input: {
      text: `Document ${i}: the delivery was quick and the staff were friendly, but the soup was cold when it ` +
        `arrived and the bread was stale; I would order again only for the dessert.`
    },
    labels: {}
  },
  index: i,
  instance: {
    agent: "classifier",
    runId: "k3x9qa",
    taskId: `doc-${i}`,
    attempt: 1,
    name: `classifier#k3x9qa/doc-${i}/1`
  },
  attempt: 1,
  startedAt: 1_700_000_000_000 + i,
  durationMillis: 1.25,
  usage: { requests: 1, inputTokens: 34, outputTokens: 9, cost: 0 },
  failedAttempts: [],
  replayed: false,
  value: { label: i % 2 === 0 ? "positive" : "negative" }
})

const median = (values: ReadonlyArray<number>) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!

interface Row {
  readonly store: string
  readonly concurrency: number
  readonly writeMillis: number
  readonly cpuMicrosPerRecord: number
  readonly batches: number
  readonly readMillis: number
  readonly readCpuMillis: number
  readonly runsMillis: number
}

/** Writes TASKS records at `concurrency` into a new journal, then reads them back RUNS times. */
const measure = (
  store: string,
  concurrency: number,
  layer: Layer.Layer<RunJournal.RunJournal, RunJournal.RunJournalError>
) =>
  Effect.gen(function*() {
    const builtIn = yield* Effect.tracer
    let batches = 0
    const tracer = Tracer.make({
      span: (...args) => {
        if (args[0] === "RunJournal.write") batches++
        return builtIn.span(...args)
      },
      context: (f, fiber) => builtIn.context(f, fiber)
    })
    const journal = yield* Effect.map(Layer.build(layer), Context.get(RunJournal.RunJournal)).pipe(
      Effect.withTracer(tracer)
    )
    const runId = `bench-${concurrency}`
    const entries = Array.from({ length: TASKS }, (_, i): RunJournal.Entry => ({
      taskId: `doc-${i}`,
      inputHash: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
      outcome: "Succeeded",
      result: resultOf(i)
    }))
    const cpu = process.cpuUsage()
    const start = performance.now()
    yield* Effect.forEach(entries, (entry) => journal.record(runId, entry), { concurrency, discard: true })
    const writeMillis = performance.now() - start
    const used = process.cpuUsage(cpu)

    const reads: Array<number> = []
    const readCpu: Array<number> = []
    for (let run = 0; run < RUNS; run++) {
      const cpu = process.cpuUsage()
      const start = performance.now()
      // What a resumed run does: every entry of the run, by task id.
      const byTask = yield* Stream.runFold(
        journal.entries(runId),
        new Map<string, RunJournal.Entry>(),
        (map, entry) => map.set(entry.taskId, entry)
      )
      reads.push(performance.now() - start)
      const used = process.cpuUsage(cpu)
      readCpu.push((used.user + used.system) / 1000)
      if (byTask.size !== TASKS) return yield* Effect.dieMessage(`read ${byTask.size} entries, expected ${TASKS}`)
    }
    const start2 = performance.now()
    const runs = yield* journal.runs
    const runsMillis = performance.now() - start2
    if (runs.find((run) => run.runId === runId)?.recorded.succeeded !== TASKS) {
      return yield* Effect.dieMessage(`the listing does not count ${TASKS} results`)
    }
    return {
      store,
      concurrency,
      writeMillis,
      cpuMicrosPerRecord: (used.user + used.system) / TASKS,
      batches,
      readMillis: median(reads),
      readCpuMillis: median(readCpu),
      runsMillis
    } satisfies Row
  }).pipe(Effect.scoped)

const program = Effect.gen(function*() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "journal-bench-"))
  const rows: Array<Row> = []
  try {
    for (const concurrency of CONCURRENCIES) {
      for (const synchronous of ["normal", "full"] as const) {
        const filename = path.join(dir, `journal-${synchronous}-${concurrency}.db`)
        rows.push(
          yield* measure(`SQLite (${synchronous})`, concurrency, SqlRunJournal.layerSqlite({ filename, synchronous }))
        )
      }
      if (PG_URL !== undefined) {
        const prefix = `bench_${Date.now()}_${concurrency}`
        rows.push(
          yield* measure("PostgreSQL", concurrency, SqlRunJournal.layerPg({ url: Redacted.make(PG_URL), prefix }))
        )
      }
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
  const bytes = JSON.stringify(resultOf(TASKS - 1)).length
  console.log(`${TASKS.toLocaleString("en")} records of about ${bytes} bytes; reads: median of ${RUNS}`)
  console.log(`load average: ${os.loadavg().map((n) => n.toFixed(2)).join(", ")}; ${os.cpus().length} CPUs`)
  console.log("")
  console.log(
    "| store | concurrency | write | per record | CPU per record | batches | mean batch | read all | read CPU | runs |"
  )
  console.log("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
  for (const row of rows) {
    console.log(
      `| ${row.store} | ${row.concurrency} | ${(row.writeMillis / 1000).toFixed(2)} s | ` +
        `${(row.writeMillis * 1000 / TASKS).toFixed(1)} µs | ${row.cpuMicrosPerRecord.toFixed(1)} µs | ` +
        `${row.batches} | ${(TASKS / row.batches).toFixed(0)} | ${row.readMillis.toFixed(0)} ms | ` +
        `${row.readCpuMillis.toFixed(0)} ms | ` +
        `${row.runsMillis.toFixed(0)} ms |`
    )
  }
})

Effect.runPromise(program).catch((error) => {
  console.error(error)
  process.exit(1)
})
