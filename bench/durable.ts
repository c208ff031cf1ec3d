/**
 * Durable runs on the command line, whole processes: `parallel-agents run` (the bundled executable) over 100,000
 * documents with the offline model (`AGENT_OFFLINE_LATENCY="1 millis"`) at concurrency 100, without a journal and
 * with `--journal` (a new SQLite file each run), interleaved, `--runs` times each (default 3), medians; then the
 * resume of a run that had finished 99 % (`--resume`: 99,000 results replayed, 1,000 run), beside a fresh run of
 * those 1,000 alone; then the read of that journal's run into a map by task id, in this process, as a resumed run
 * reads it (median of 3). Targets: journal wall <= 1.10 x without; the read <= 1 s.
 *
 * `npm run bench:durable` (`tsc -b && node bundle.config.mjs && node build/bench/durable.js [--tasks 100000] [--runs 3]`). Each child runs
 * under GNU time (`/usr/bin/time`), which reports its wall, user + system CPU and peak RSS.
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import * as SqlRunJournal from "../services/store/SqlRunJournal.js"
import * as RunJournal from "../src/RunJournal.js"

const argument = (name: string): string | undefined => {
  const i = process.argv.indexOf(`--${name}`)
  return i === -1 ? undefined : process.argv[i + 1]
}
const TASKS = Number(argument("tasks") ?? 100_000)
const RUNS = Number(argument("runs") ?? 3)
const CONCURRENCY = 100
const DONE_SHARE = 0.99

const bin = fileURLToPath(new URL("../bin/parallel-agents.js", import.meta.url))
const directory = fs.mkdtempSync(path.join(os.tmpdir(), "durable-bench-"))
// The inputs, results and journals go when the bench ends, whether it ends well or not.
process.on("exit", () => fs.rmSync(directory, { recursive: true, force: true }))

const documentText = (i: number) =>
  `Document ${i}: the delivery was quick and the staff were friendly, but the soup was cold when it arrived.`

const writeInput = (file: string, from: number, to: number) => {
  const lines: Array<string> = []
  for (let i = from; i < to; i++) lines.push(JSON.stringify({ id: `doc-${i}`, text: documentText(i) }))
  fs.writeFileSync(file, lines.join("\n") + "\n")
}

interface Sample {
  readonly wallMillis: number
  readonly cpuMillis: number
  readonly maxRssMB: number
  readonly lines: number
  readonly replayed: number
  readonly stderr: string
}

/** One CLI process under GNU time: its wall, CPU, peak RSS, and the results it wrote. */
const child = (args: ReadonlyArray<string>): Sample => {
  const timing = path.join(directory, "time.txt")
  const output = path.join(directory, "results.jsonl")
  fs.rmSync(output, { force: true })
  const result = spawnSync(
    "/usr/bin/time",
    ["-f", "%e %U %S %M", "-o", timing, process.execPath, bin, "run", "-a", "classify", "-o", output, ...args],
    {
      cwd: directory,
      env: { ...process.env, AGENT_OFFLINE_LATENCY: "1 millis", AGENT_MODEL: "offline" },
      encoding: "utf8",
      maxBuffer: 64 * 1024 * 1024
    }
  )
  if (result.status !== 0) {
    throw new Error(`parallel-agents ${args.join(" ")} exited ${result.status}: ${result.stderr}`)
  }
  const [wall, user, system, rss] = fs.readFileSync(timing, "utf8").trim().split("\n").at(-1)!.split(" ").map(Number)
  const text = fs.readFileSync(output, "utf8")
  let lines = 0
  let replayed = 0
  for (const line of text.split("\n")) {
    if (line === "") continue
    lines++
    if (line.includes(`"replayed":true`)) replayed++
  }
  return {
    wallMillis: wall! * 1000,
    cpuMillis: (user! + system!) * 1000,
    maxRssMB: (rss! * 1024) / 1e6,
    lines,
    replayed,
    stderr: result.stderr
  }
}

const median = (values: ReadonlyArray<number>) => {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

const all = path.join(directory, "all.jsonl")
const most = path.join(directory, "most.jsonl")
const rest = path.join(directory, "rest.jsonl")
const done = Math.round(TASKS * DONE_SHARE)
writeInput(all, 0, TASKS)
writeInput(most, 0, done)
writeInput(rest, done, TASKS)

const common = ["-c", String(CONCURRENCY), "--json"]
const rows: Record<string, Array<Sample>> = { "no journal": [], "--journal": [] }
for (let run = 0; run < RUNS; run++) {
  rows["no journal"]!.push(child(["-i", all, ...common]))
  const journal = path.join(directory, `journal-${run}.db`)
  rows["--journal"]!.push(child(["-i", all, ...common, "--journal", journal]))
  fs.rmSync(journal, { force: true })
}
for (const [name, samples] of Object.entries(rows)) {
  for (const sample of samples) {
    if (sample.lines !== TASKS) throw new Error(`${name}: ${sample.lines} result lines, expected ${TASKS}`)
  }
}

// A run that finished 99 %: the first 99 % of the documents under one run id, then resumed over all of them.
const resumeRows: Record<string, Array<Sample>> = { "--resume (99 % recorded)": [], "fresh run of the 1 % left": [] }
let lastJournal = ""
let lastRunId = ""
for (let run = 0; run < RUNS; run++) {
  const journal = path.join(directory, `resume-${run}.db`)
  const first = child(["-i", most, ...common, "--journal", journal])
  const runId = first.stderr.match(/^Run (\w+), journal /m)?.[1]
  if (runId === undefined) throw new Error(`no run id in: ${first.stderr}`)
  const resumed = child(["-i", all, ...common, "--resume", runId, "--journal", journal])
  if (resumed.lines !== TASKS || resumed.replayed !== done) {
    throw new Error(`resume: ${resumed.lines} lines, ${resumed.replayed} replayed; expected ${TASKS}, ${done}`)
  }
  resumeRows["--resume (99 % recorded)"]!.push(resumed)
  resumeRows["fresh run of the 1 % left"]!.push(child(["-i", rest, ...common]))
  if (lastJournal !== "") fs.rmSync(lastJournal, { force: true })
  lastJournal = journal
  lastRunId = runId
}

// The read a resumed run starts with: every entry of the run into a map by task id.
const reads: Array<number> = []
await Effect.runPromise(Effect.scoped(Effect.gen(function*() {
  const context = yield* Layer.build(SqlRunJournal.layerSqlite({ filename: lastJournal }))
  const journal = Context.get(context, RunJournal.RunJournal)
  for (let i = 0; i < 3; i++) {
    const start = performance.now()
    const map = new Map<string, RunJournal.Entry>()
    yield* Stream.runForEachChunk(journal.entries(lastRunId), (chunk) =>
      Effect.sync(() => {
        for (const entry of chunk) map.set(entry.taskId, entry)
      }))
    reads.push(performance.now() - start)
    if (map.size !== TASKS) throw new Error(`read ${map.size} entries, expected ${TASKS}`)
  }
})))

const fmt = (n: number, digits = 0) => n.toLocaleString("en-US", { maximumFractionDigits: digits })
const table = (title: string, data: Record<string, Array<Sample>>) => {
  console.log(`\n${title}`)
  console.log("| row | wall | CPU | peak RSS | runs (wall, ms) |")
  console.log("| --- | ---: | ---: | ---: | --- |")
  for (const [name, samples] of Object.entries(data)) {
    console.log(
      `| ${name} | ${fmt(median(samples.map((s) => s.wallMillis)))} ms | ${
        fmt(median(samples.map((s) => s.cpuMillis)))
      } ms | ${fmt(median(samples.map((s) => s.maxRssMB)))} MB | ${samples.map((s) => fmt(s.wallMillis)).join(", ")} |`
    )
  }
}
console.log(`parallel-agents run over ${fmt(TASKS)} offline documents (1 ms), concurrency ${CONCURRENCY}, ${RUNS} runs`)
console.log(`load average at the end: ${os.loadavg().map((n) => n.toFixed(2)).join(", ")}`)
table("Journaling overhead", rows)
const overhead = median(rows["--journal"]!.map((s) => s.wallMillis)) /
  median(rows["no journal"]!.map((s) => s.wallMillis))
console.log(
  `\njournal wall / no journal wall: ${overhead.toFixed(3)} (target <= 1.10: ${overhead <= 1.1 ? "met" : "NOT met"})`
)
table(`Resume of a run that finished ${DONE_SHARE * 100} %`, resumeRows)
const read = median(reads)
console.log(
  `\nread of the ${fmt(TASKS)}-entry run into a map (in process, median of 3): ${fmt(read)} ms ` +
    `(${reads.map((n) => fmt(n)).join(", ")}; target <= 1,000 ms: ${read <= 1000 ? "met" : "NOT met"})`
)
