/**
 * Runs every (workload, implementation, size) as its own child process, `--runs` times each (round-robin), plus a
 * 0-task calibration child per implementation, then prints the medians and the targets and writes them to
 * bench/results/. Flags: `--runs N` (default 3), `--large-runs N` (runs of the rows of 1M tasks or more; default
 * `--runs`), `--only W1` (repeatable: W1, W2, W3, W6, storm, jsonl, floors), `--quick` (smaller sizes).
 */
import { spawn } from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"
import { parseArgs } from "node:util"
import type { Sample } from "./child.js"
import { type FloorSample, type Probe, probes } from "./floors.js"
import {
  configs as jsonlConfigs,
  type JsonlSample,
  quickSizes as jsonlQuickSizes,
  sizes as jsonlSizes
} from "./jsonl.js"
import { configs as stormConfigs, LATENCY_MILLIS, RATE, type StormSample, TASKS as STORM_TASKS } from "./storm.js"
import {
  idealMillis as w6Ideal,
  LATENCY_MILLIS as W6_LATENCY,
  type Row,
  rows as w6Rows,
  type W6Sample
} from "./w6/rows.js"
import type { Stats as W6Stats } from "./w6/server.js"
import { type Implementation, median, type Workload, workloads } from "./workloads.js"

const { values: flags } = parseArgs({
  options: {
    runs: { type: "string", default: "3" },
    "large-runs": { type: "string" },
    only: { type: "string", multiple: true },
    quick: { type: "boolean", default: false }
  }
})
const count = (flag: string, value: string) => {
  const n = Number(value)
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${flag} must be a positive integer, got ${value}`)
  return n
}
const runs = count("runs", flags.runs)
const largeRuns = count("large-runs", flags["large-runs"] ?? flags.runs)
const LARGE = 1_000_000
const selected = workloads.filter((w) => flags.only === undefined || flags.only.includes(w.name))
const storm = flags.only === undefined || flags.only.includes("storm")
const jsonl = flags.only === undefined || flags.only.includes("jsonl")
const floors = flags.only === undefined || flags.only.includes("floors")
const w6 = flags.only === undefined || flags.only.includes("W6")
if (selected.length === 0 && !storm && !jsonl && !floors && !w6) {
  throw new Error(`--only matches no workload: ${flags.only?.join(", ")}`)
}

const here = Path.dirname(fileURLToPath(import.meta.url))
const childScript = Path.join(here, "child.js")
const stormScript = Path.join(here, "storm.js")
const jsonlScript = Path.join(here, "jsonl.js")
const floorsScript = Path.join(here, "floors.js")
const w6ChildScript = Path.join(here, "w6", "child.js")
const w6ServerScript = Path.join(here, "w6", "server.js")
const resultsDir = Path.join(here, "..", "..", "bench", "results")

// =============================================================================
// measuring
// =============================================================================

interface Job {
  readonly workload: Workload
  readonly implementation: Implementation
  readonly size: number
}

interface Measurement extends Sample {
  /** Measured by the parent, from spawn to exit. */
  readonly wallMillis: number
}

/** Mastra's usage telemetry (which only its `Mastra` server object sends) stays off in every child. */
const childEnv = { ...process.env, MASTRA_TELEMETRY_DISABLED: "1" }

const keyOf = (job: Job) => `${job.workload.name} ${job.implementation} ${job.size}`

const measure = (job: Job): Promise<Measurement> =>
  new Promise((resolve, reject) => {
    const start = performance.now()
    const child = spawn(
      process.execPath,
      ["--max-old-space-size=4096", childScript, job.workload.name, job.implementation, String(job.size)],
      { stdio: ["ignore", "pipe", "inherit"], env: childEnv }
    )
    let wallMillis = 0
    let stdout = ""
    child.stdout.on("data", (chunk) => stdout += chunk)
    child.on("exit", () => wallMillis = performance.now() - start)
    child.on("error", reject)
    child.on("close", (code) => {
      if (code !== 0) return reject(new Error(`${keyOf(job)}: child exited with code ${code}`))
      const sample: Sample = JSON.parse(stdout.trim().split("\n").at(-1)!)
      resolve({ ...sample, wallMillis })
    })
  })

const medianOf = (samples: ReadonlyArray<Measurement>): Measurement => ({
  wallMillis: median(samples.map((s) => s.wallMillis)),
  workMillis: median(samples.map((s) => s.workMillis)),
  cpuMicros: median(samples.map((s) => s.cpuMicros)),
  maxRssKiB: median(samples.map((s) => s.maxRssKiB))
})

const sizesOf = (workload: Workload) => flags.quick ? workload.quickSizes : workload.sizes
const calibrations: Array<Job> = [...new Set(selected.flatMap((w) => w.implementations))].map((implementation) => ({
  workload: selected.find((w) => w.implementations.includes(implementation))!,
  implementation,
  size: 0
}))
const jobs: Array<Job> = selected.flatMap((workload) =>
  sizesOf(workload).flatMap((size) =>
    workload.implementations.map((implementation) => ({ workload, implementation, size }))
  )
)

const runsOf = (job: Job) => job.size >= LARGE ? largeRuns : runs
const loadBefore = Os.loadavg()[0]!
const samples = new Map<string, Array<Measurement>>()
for (let run = 1; run <= Math.max(runs, largeRuns); run++) {
  for (const job of [...calibrations, ...jobs].filter((job) => run <= runsOf(job))) {
    const sample = await measure(job)
    samples.set(keyOf(job), [...(samples.get(keyOf(job)) ?? []), sample])
    console.error(
      `run ${run}/${runsOf(job)} ${keyOf(job)}: wall ${sample.wallMillis.toFixed(0)} ms, work ${
        sample.workMillis.toFixed(0)
      } ms`
    )
  }
}

// The 429 storm: each configuration in its own child, `runs` times, after the workloads.
const spawnJson = <A>(args: ReadonlyArray<string>): Promise<A> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "inherit"] })
    let stdout = ""
    child.stdout.on("data", (chunk) => stdout += chunk)
    child.on("error", reject)
    child.on("close", (code) =>
      code === 0
        ? resolve(JSON.parse(stdout.trim().split("\n").at(-1)!))
        : reject(new Error(`${args.join(" ")}: exited with code ${code}`)))
  })
const stormSamples = new Map<string, Array<StormSample>>()
if (storm) {
  for (let run = 1; run <= runs; run++) {
    for (const config of stormConfigs) {
      const sample = await spawnJson<StormSample>([stormScript, config])
      stormSamples.set(config, [...(stormSamples.get(config) ?? []), sample])
      console.error(
        `run ${run}/${runs} storm ${config}: work ${
          sample.workMillis.toFixed(0)
        } ms, ${sample.rejected} of ${sample.requests} requests rejected`
      )
    }
  }
}

// The streaming form over a JSONL file: each (configuration, size) in its own child, `runs` times (`--large-runs`
// for 1M).
const jsonlSizesOf = flags.quick ? jsonlQuickSizes : jsonlSizes
const jsonlKey = (config: string, size: number) => `${config} ${size}`
const jsonlSamples = new Map<string, Array<JsonlSample>>()
if (jsonl) {
  for (let run = 1; run <= Math.max(runs, largeRuns); run++) {
    for (const config of jsonlConfigs) {
      for (const size of jsonlSizesOf) {
        if (run > (size >= LARGE ? largeRuns : runs)) continue
        const sample = await spawnJson<JsonlSample>([
          ...config.flags,
          jsonlScript,
          String(size),
          String(config.concurrency)
        ])
        const key = jsonlKey(config.name, size)
        jsonlSamples.set(key, [...(jsonlSamples.get(key) ?? []), sample])
        console.error(
          `run ${run} jsonl ${key}: work ${sample.workMillis.toFixed(0)} ms, peak RSS ${
            (sample.maxRssKiB / 1024).toFixed(0)
          } MiB`
        )
      }
    }
  }
}

// The floors: each probe in its own child, `runs` times.
const floorSamples = new Map<Probe, Array<FloorSample>>()
if (floors) {
  for (let run = 1; run <= runs; run++) {
    for (const probe of probes) {
      const sample = await spawnJson<FloorSample>([floorsScript, probe])
      floorSamples.set(probe, [...(floorSamples.get(probe) ?? []), sample])
      console.error(`run ${run}/${runs} floor ${probe}: work ${sample.workMillis.toFixed(0)} ms`)
    }
  }
}

// W6: the loopback model server in a process of its own (its CPU is not the clients'), then each (row, size) and
// each row's 0-document calibration in its own child, `runs` times, round-robin; the server's counts are zeroed
// before each child and read after it.
interface W6Measurement extends W6Sample {
  /** From the child's spawn to its exit. */
  readonly wallMillis: number
  /** From the child's spawn to the end of its run, before the child checks the results (`W6Sample.endedAt`). */
  readonly processMillis: number
  readonly server: W6Stats
}
const w6Key = (row: Row, size: number) => `${row.name} ${size}`
const w6Sizes = (row: Row) => flags.quick ? row.quickSizes : row.sizes
const w6Jobs = w6Rows.flatMap((row) => [0, ...w6Sizes(row)].map((size) => ({ row, size })))
const w6Samples = new Map<string, Array<W6Measurement>>()
if (w6) {
  const server = spawn(process.execPath, [w6ServerScript, String(W6_LATENCY)], { stdio: ["ignore", "pipe", "inherit"] })
  const port = await new Promise<number>((resolve, reject) => {
    let out = ""
    server.stdout.on("data", (chunk) => {
      out += chunk
      if (out.includes("\n")) resolve((JSON.parse(out.split("\n")[0]!) as { readonly port: number }).port)
    })
    server.on("error", reject)
    server.on("exit", (code) => reject(new Error(`the W6 server exited with code ${code}`)))
  })
  const control = (path: string, method = "GET") =>
    fetch(`http://127.0.0.1:${port}${path}`, { method }).then((response) => response.json() as Promise<W6Stats>)
  const baseUrl = `http://127.0.0.1:${port}/v1`
  try {
    for (let run = 1; run <= runs; run++) {
      for (const { row, size } of w6Jobs) {
        await control("/__reset", "POST")
        const start = performance.now()
        const spawnedAt = performance.timeOrigin + start
        const child = spawn(process.execPath, [w6ChildScript, row.name, String(size), baseUrl], {
          stdio: ["ignore", "pipe", "inherit"]
        })
        let stdout = ""
        child.stdout.on("data", (chunk) => stdout += chunk)
        const code = await new Promise<number | null>((resolve, reject) => {
          child.on("error", reject)
          child.on("close", resolve)
        })
        const wallMillis = performance.now() - start
        if (code !== 0) throw new Error(`W6 ${w6Key(row, size)}: child exited with code ${code}`)
        const sample = JSON.parse(stdout.trim().split("\n").at(-1)!) as W6Sample
        const measurement: W6Measurement = {
          ...sample,
          wallMillis,
          processMillis: sample.endedAt - spawnedAt,
          server: await control("/__stats")
        }
        w6Samples.set(w6Key(row, size), [...(w6Samples.get(w6Key(row, size)) ?? []), measurement])
        console.error(
          `run ${run}/${runs} W6 ${w6Key(row, size)}: wall ${wallMillis.toFixed(0)} ms, work ${
            sample.workMillis.toFixed(0)
          } ms, ${measurement.server.requests} requests, ${measurement.server.connections} connections`
        )
      }
    }
  } finally {
    server.kill()
  }
}

const result = (job: Job) => medianOf(samples.get(keyOf(job))!)
const calibration = (implementation: Implementation) =>
  result(calibrations.find((job) => job.implementation === implementation)!)

// =============================================================================
// figures
// =============================================================================

const fixed = (digits: number) => (n: number) =>
  n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits })
const ms = fixed(0)
const mb = (kib: number) => fixed(1)(kib * 1024 / 1e6)
const us = fixed(2)
/** CPU per task, net of the implementation's 0-task child: module loading is not counted per task. */
const cpuPerTask = (job: Job) => (result(job).cpuMicros - calibration(job.implementation).cpuMicros) / job.size
const wallPerTask = (job: Job) => result(job).wallMillis * 1000 / job.size
const netWallPerTask = (job: Job) =>
  (result(job).wallMillis - calibration(job.implementation).wallMillis) * 1000 / job.size
const idealMillis = (job: Job) => job.size / job.workload.concurrency * job.workload.taskMillis
const find = (name: string, implementation: Implementation, size?: number) =>
  jobs.find((job) =>
    job.workload.name === name && job.implementation === implementation && (size === undefined || job.size === size)
  )

const table = (header: ReadonlyArray<string>, rows: ReadonlyArray<ReadonlyArray<string>>) =>
  [header, header.map(() => "---"), ...rows].map((row) => `| ${row.join(" | ")} |`).join("\n")

// =============================================================================
// targets: the engine against the floor measured in the same run
// =============================================================================

const targets: Array<ReadonlyArray<string>> = []
const info: Array<ReadonlyArray<string>> = []
const target = (name: string, figure: string, pass: boolean) => {
  targets.push([name, figure, pass ? "pass" : "FAIL"])
  return pass ? "pass" : "FAIL"
}
/** The verdicts of the targets a row is measured by, printed beside it in its workload's table. */
const rowTargets = new Map<string, Array<string>>()
/** A target that `job`'s row is measured by: in the targets table as `name`, beside the row as `short`. */
const targetOf = (job: Job, short: string, name: string, figure: string, pass: boolean) =>
  rowTargets.set(keyOf(job), [...(rowTargets.get(keyOf(job)) ?? []), `${short}: ${target(name, figure, pass)}`])

/** The `effect-floor` row of the same workload and size: bare `Effect.forEach` + `Effect.either`, no timeout. */
const floorOf = (job: Job) => find(job.workload.name, "effect-floor", job.size)
const times = (value: number) => `${fixed(2)(value)} ×`
const cpuRatio = (job: Job, floor: Job) => cpuPerTask(job) / cpuPerTask(floor)
const makespanRatio = (job: Job, floor: Job) => result(job).workMillis / result(floor).workMillis
const wallRatio = (job: Job, floor: Job) => result(job).wallMillis / result(floor).wallMillis
const rssRatio = (job: Job, floor: Job) => result(job).maxRssKiB / result(floor).maxRssKiB

const w1Engine = find("W1", "engine")
const w1Floor = w1Engine && floorOf(w1Engine)
if (w1Engine && w1Floor) {
  const ratio = cpuRatio(w1Engine, w1Floor)
  targetOf(
    w1Engine,
    "CPU ≤ 2 × floor",
    "W1 engine CPU/task ≤ 2 × effect-floor's (Agent.effect, a timeout, metrics)",
    `${times(ratio)} (${us(cpuPerTask(w1Engine))} vs ${us(cpuPerTask(w1Floor))} µs)`,
    ratio <= 2
  )
  // Reported, not targets: what the other factory kinds and the promise limiter cost against the same floor.
  for (const name of ["engine-layer", "engine-scoped", "effect-raw", "effect-fiber", "p-limit"] as const) {
    const row = find("W1", name)
    if (row) {
      info.push([
        `W1 ${name} CPU/task vs effect-floor's`,
        `${times(cpuRatio(row, w1Floor))} (${us(cpuPerTask(row))} vs ${us(cpuPerTask(w1Floor))} µs)`
      ])
    }
  }
}
const w1Untraced = find("W1", "engine-untraced")
if (w1Engine && w1Untraced) {
  const overhead = (row: Job) => cpuPerTask(row) / cpuPerTask(w1Untraced) - 1
  const percent = (row: Job) => `${fixed(1)(overhead(row) * 100)}%`
  targetOf(
    w1Engine,
    "observability ≤ 10 %",
    "W1 observability overhead ≤ 10% (engine defaults vs engine-untraced CPU/task)",
    `${us(cpuPerTask(w1Engine))} vs ${us(cpuPerTask(w1Untraced))} µs (${percent(w1Engine)})`,
    overhead(w1Engine) <= 0.1
  )
  // Reported, not targets: what an installed tracer and Debug-level logs add.
  for (const name of ["engine-traced", "engine-logged"] as const) {
    const row = find("W1", name)
    if (row) {
      info.push([
        `W1 ${name} vs engine-untraced CPU/task`,
        `${us(cpuPerTask(row))} vs ${us(cpuPerTask(w1Untraced))} µs (${percent(row)})`
      ])
    }
  }
}
const w2Engine = find("W2", "engine")
const w2Floor = w2Engine && floorOf(w2Engine)
if (w2Engine && w2Floor) {
  const ratio = makespanRatio(w2Engine, w2Floor)
  targetOf(
    w2Engine,
    "makespan ≤ 1.25 × floor",
    "W2 engine makespan ≤ 1.25 × effect-floor's",
    `${times(ratio)} (${ms(result(w2Engine).workMillis)} vs ${ms(result(w2Floor).workMillis)} ms)`,
    ratio <= 1.25
  )
}
if (w2Engine) {
  // Reported, not targets: against the ideal, the floor of a fiber per task, and p-limit.
  info.push([
    "W2 engine makespan / ideal",
    `${fixed(3)(result(w2Engine).workMillis / idealMillis(w2Engine))} (ideal ${ms(idealMillis(w2Engine))} ms)`
  ])
  const fiber = find("W2", "effect-fiber")
  if (fiber && w2Floor) {
    info.push([
      "W2 effect-fiber (a fiber of its own per task, no engine) makespan vs effect-floor's",
      `${times(makespanRatio(fiber, w2Floor))} (${ms(result(fiber).workMillis)} vs ${
        ms(result(w2Floor).workMillis)
      } ms)`
    ])
    info.push([
      "W2 engine makespan vs effect-fiber's",
      `${times(makespanRatio(w2Engine, fiber))} (${ms(result(w2Engine).workMillis)} vs ${
        ms(result(fiber).workMillis)
      } ms)`
    ])
  }
  const limit = find("W2", "p-limit")
  if (limit) {
    info.push([
      "W2 engine makespan vs p-limit's",
      `${times(makespanRatio(w2Engine, limit))} (${ms(result(w2Engine).workMillis)} vs ${
        ms(result(limit).workMillis)
      } ms)`
    ])
  }
  // The agent frameworks: the engine at least 2 × ahead on makespan.
  for (const name of ["langgraph", "mastra"] as const) {
    const row = find("W2", name)
    if (row) {
      const ahead = result(row).workMillis / result(w2Engine).workMillis
      targetOf(
        row,
        "engine ≥ 2 × ahead",
        `W2 engine makespan at least 2 × ahead of ${name}'s`,
        `${times(ahead)} ahead (${ms(result(w2Engine).workMillis)} vs ${ms(result(row).workMillis)} ms)`,
        ahead >= 2
      )
    }
  }
}
const w3 = selected.find((w) => w.name === "W3")
if (w3) {
  const sizes = sizesOf(w3)
  const [smallest, largest] = [sizes[0]!, sizes.at(-1)!]
  const engine = find("W3", "engine", largest)!
  const floor = floorOf(engine)!
  const label = fixed(0)(largest)
  const wall = wallRatio(engine, floor)
  targetOf(
    engine,
    "wall ≤ 1.3 × floor",
    `W3 ${label} engine wall ≤ 1.3 × effect-floor's`,
    `${times(wall)} (${ms(result(engine).wallMillis)} vs ${ms(result(floor).wallMillis)} ms)`,
    wall <= 1.3
  )
  const rss = rssRatio(engine, floor)
  targetOf(
    engine,
    "peak RSS ≤ floor",
    `W3 ${label} engine peak RSS ≤ effect-floor's`,
    `${times(rss)} (${mb(result(engine).maxRssKiB)} vs ${mb(result(floor).maxRssKiB)} MB)`,
    rss <= 1
  )
  // Reported, not targets: the earlier targets against p-map and an absolute RSS.
  const pMap = find("W3", "p-map", largest)
  if (pMap) {
    info.push([
      `W3 ${label} engine wall vs p-map's`,
      `${times(wallRatio(engine, pMap))} (${ms(result(engine).wallMillis)} vs ${ms(result(pMap).wallMillis)} ms)`
    ])
  }
  info.push([`W3 ${label} engine peak RSS`, `${mb(result(engine).maxRssKiB)} MB`])
  // The shape without the engine (a fiber of its own per task): what the targets leave for the engine at this size.
  const fiber = find("W3", "effect-fiber", largest)
  if (fiber) {
    info.push([
      `W3 ${label} effect-fiber (a fiber of its own per task, no engine) vs effect-floor: wall, peak RSS`,
      `${times(wallRatio(fiber, floor))}, ${times(rssRatio(fiber, floor))}`
    ])
    info.push([
      `W3 ${label} engine vs effect-fiber: wall, peak RSS`,
      `${times(wallRatio(engine, fiber))}, ${times(rssRatio(engine, fiber))}`
    ])
  }
  // Flat: no size costs more than 1.5 × the size below it per task (the smallest sizes also pay for JIT warm-up).
  const perTask = sizes.map((size) => netWallPerTask(find("W3", "engine", size)!))
  const growth = Math.max(...perTask.slice(1).map((value, i) => value / perTask[i]!))
  target(
    `W3 engine net wall/task flat from ${fixed(0)(smallest)} to ${label} (each size ≤ 1.5 × the one below)`,
    `${perTask.map(us).join(" → ")} µs (largest step ×${fixed(2)(growth)})`,
    growth <= 1.5
  )
}

// =============================================================================
// the workload tables, each row with its floor beside it
// =============================================================================

const againstFloor = (ratio: (job: Job, floor: Job) => number) => (job: Job) => {
  const floor = floorOf(job)
  return floor === undefined || floor === job ? "-" : times(ratio(job, floor))
}
const columns: Record<Workload["name"], [ReadonlyArray<string>, (job: Job) => ReadonlyArray<string>]> = {
  W1: [["tasks/s (work)", "CPU µs/task", "CPU/task × floor"], (job) => [
    fixed(0)(job.size / (result(job).workMillis / 1000)),
    us(cpuPerTask(job)),
    againstFloor(cpuRatio)(job)
  ]],
  W2: [["makespan / ideal", "makespan × floor", "CPU µs/task"], (job) => [
    `${fixed(3)(result(job).workMillis / idealMillis(job))} (ideal ${ms(idealMillis(job))} ms)`,
    againstFloor(makespanRatio)(job),
    us(cpuPerTask(job))
  ]],
  W3: [["wall µs/task", "net wall µs/task", "CPU µs/task", "wall × floor", "peak RSS × floor"], (job) => [
    us(wallPerTask(job)),
    us(netWallPerTask(job)),
    us(cpuPerTask(job)),
    againstFloor(wallRatio)(job),
    againstFloor(rssRatio)(job)
  ]]
}

const sections = selected.map((workload) => {
  const [extraHeader, extra] = columns[workload.name]
  const rows = jobs.filter((job) => job.workload === workload).map((job) => {
    const r = result(job)
    return [
      job.implementation,
      fixed(0)(job.size),
      ms(r.wallMillis),
      ms(r.workMillis),
      ms(r.cpuMicros / 1000),
      mb(r.maxRssKiB),
      ...extra(job),
      rowTargets.get(keyOf(job))?.join("; ") ?? ""
    ]
  })
  return `### ${workload.name} ${workload.title}, concurrency ${fixed(0)(workload.concurrency)}\n\n` +
    table(["implementation", "tasks", "wall ms", "work ms", "CPU ms", "peak RSS MB", ...extraHeader, "targets"], rows)
})

const calibrationSection = "### 0-task calibration\n\n" + table(
  ["implementation", "wall ms", "CPU ms", "peak RSS MB"],
  calibrations.map((job) => {
    const r = result(job)
    return [job.implementation, ms(r.wallMillis), ms(r.cpuMicros / 1000), mb(r.maxRssKiB)]
  })
)

const stormIdealMillis = STORM_TASKS / RATE * 1000
const stormMedian = (config: string) => {
  const list = stormSamples.get(config)!
  // The median run by completion time, with its own counts.
  return [...list].sort((a, b) => a.workMillis - b.workMillis)[list.length >> 1]!
}
const stormSection = !storm ? [] : [
  `### 429 storm: ${
    fixed(0)(STORM_TASKS)
  } tasks, a provider limited to ${RATE} requests/s (token bucket of ${RATE}), ` +
  `${LATENCY_MILLIS} ms per request; N / R = ${ms(stormIdealMillis)} ms\n\n` +
  table(
    [
      "configuration",
      "work ms",
      "× N/R",
      "requests",
      "429s",
      "429 share",
      "succeeded",
      "lowest concurrency",
      "CPU ms",
      "peak RSS MB"
    ],
    stormConfigs.map((config) => {
      const r = stormMedian(config)
      return [
        config,
        ms(r.workMillis),
        fixed(2)(r.workMillis / stormIdealMillis),
        fixed(0)(r.requests),
        fixed(0)(r.rejected),
        `${fixed(2)(r.rejected / r.requests * 100)}%`,
        fixed(0)(r.succeeded),
        r.lowestConcurrency === undefined ? "-" : String(r.lowestConcurrency),
        ms(r.cpuMicros / 1000),
        mb(r.maxRssKiB)
      ]
    })
  )
]
if (storm) {
  const adaptive = stormMedian("adaptive")
  target(
    "429 storm adaptive: every task succeeds",
    `${adaptive.succeeded} of ${STORM_TASKS}`,
    adaptive.succeeded === STORM_TASKS
  )
  const share = adaptive.rejected / adaptive.requests
  target(
    "429 storm adaptive: 429s < 1% of requests",
    `${fixed(2)(share * 100)}% (${adaptive.rejected} of ${adaptive.requests})`,
    share < 0.01
  )
  target(
    "429 storm adaptive: completion ≤ 1.1 × N / R",
    `${fixed(2)(adaptive.workMillis / stormIdealMillis)} × (${ms(adaptive.workMillis)} ms)`,
    adaptive.workMillis <= 1.1 * stormIdealMillis
  )
}

const jsonlMedian = (config: string, size: number) => {
  const list = jsonlSamples.get(jsonlKey(config, size))!
  return {
    workMillis: median(list.map((s) => s.workMillis)),
    cpuMicros: median(list.map((s) => s.cpuMicros)),
    maxRssKiB: median(list.map((s) => s.maxRssKiB)),
    heapBefore: median(list.map((s) => s.heapBefore)),
    heapAtLastResult: median(list.map((s) => s.heapAtLastResult)),
    heapAfter: median(list.map((s) => s.heapAfter))
  }
}
const heapMb = (bytes: number) => fixed(1)(bytes / 1e6)
const jsonlSection = !jsonl ? [] : [
  `### JSONL through Executor.stream: one \`{"n": i}\` per line, agents of 1 ms, results counted, none kept\n\n` +
  "Live heap: `heapUsed` right after `global.gc()` (a full GC), before the run, when the last result is counted " +
  "(the run still open) and after the run.\n\n" +
  table(
    [
      "configuration",
      "Node flags",
      "tasks",
      "work ms",
      "wall µs/task",
      "CPU µs/task",
      "peak RSS MB",
      "live heap MB: before / at last result / after"
    ],
    jsonlConfigs.flatMap((config) =>
      jsonlSizesOf.map((size) => {
        const r = jsonlMedian(config.name, size)
        return [
          config.name,
          config.flags.map((flag) => `\`${flag}\``).join(" "),
          fixed(0)(size),
          ms(r.workMillis),
          us(r.workMillis * 1000 / size),
          us(r.cpuMicros / size),
          mb(r.maxRssKiB),
          `${heapMb(r.heapBefore)} / ${heapMb(r.heapAtLastResult)} / ${heapMb(r.heapAfter)}`
        ]
      })
    )
  )
]
if (jsonl) {
  const [smallest, largest] = [jsonlSizesOf[0]!, jsonlSizesOf.at(-1)!]
  for (const config of jsonlConfigs) {
    const [small, large] = [jsonlMedian(config.name, smallest), jsonlMedian(config.name, largest)]
    const heapGrowth = large.heapAtLastResult / small.heapAtLastResult
    target(
      `JSONL stream live heap (after a full GC, at the last result) flat from ${fixed(0)(smallest)} to ${
        fixed(0)(largest)
      } (≤ 1.1 ×; ${config.name})`,
      `${heapMb(small.heapAtLastResult)} → ${heapMb(large.heapAtLastResult)} MB (× ${fixed(2)(heapGrowth)})`,
      heapGrowth <= 1.1
    )
    target(
      `JSONL stream ${fixed(0)(largest)} peak RSS < 100 MB (${config.name})`,
      `${mb(large.maxRssKiB)} MB`,
      large.maxRssKiB * 1024 / 1e6 < 100
    )
    // Reported, not a target any more: peak RSS is V8's heap sizing as much as the run's needs.
    info.push([
      `JSONL stream peak RSS from ${fixed(0)(smallest)} to ${fixed(0)(largest)} (${config.name})`,
      `${mb(small.maxRssKiB)} → ${mb(large.maxRssKiB)} MB (× ${fixed(2)(large.maxRssKiB / small.maxRssKiB)})`
    ])
  }
}

const floorMedian = (probe: Probe) => {
  const list = floorSamples.get(probe)!
  return {
    workMillis: median(list.map((s) => s.workMillis)),
    cpuMicros: median(list.map((s) => s.cpuMicros)),
    maxRssKiB: median(list.map((s) => s.maxRssKiB)),
    tasks: list[0]!.tasks
  }
}
const floorsSection = !floors ? [] : (() => {
  const w2 = workloads.find((workload) => workload.name === "W2")!
  const w2Ideal = w2.sizes[0]! / w2.concurrency * w2.taskMillis
  const makespan = (probe: Probe) => `${fixed(3)(floorMedian(probe).workMillis / w2Ideal)} × ideal`
  const perTask = (probe: Probe) => floorMedian(probe).cpuMicros / floorMedian(probe).tasks
  const spanCost = perTask("spans-on") / perTask("spans-off") - 1
  return [
    "### Floors: what the platform and Effect cost before the engine adds anything (`floors.ts`)\n\n" +
    table(["probe", "figure"], [
      ["idle process, nothing loaded: peak RSS", `${mb(floorMedian("idle-node").maxRssKiB)} MB`],
      ["idle process, `effect/Effect` loaded: peak RSS", `${mb(floorMedian("idle-effect").maxRssKiB)} MB`],
      ["idle process, this library's `Executor` loaded: peak RSS", `${mb(floorMedian("idle-library").maxRssKiB)} MB`],
      [`W2 with ${fixed(0)(w2.concurrency)} promise workers and nothing else`, makespan("workers-promise")],
      [
        `W2 with ${fixed(0)(w2.concurrency)} fibers looping on \`Effect.sleep\` and nothing else`,
        makespan("workers-effect")
      ],
      ["W1 in plain `Effect.forEach`: CPU µs/task", us(perTask("spans-off"))],
      [
        "W1 in plain `Effect.forEach` with `Effect.withSpan` per task: CPU µs/task",
        `${us(perTask("spans-on"))} (+${fixed(0)(spanCost * 100)} %)`
      ],
      [
        "W1 in plain `Effect.forEach`, each task on a fiber of its own (`Runtime.runFork` + `Effect.async`): CPU µs/task",
        `${us(perTask("attempt-fiber"))} (${
          fixed(1)(perTask("attempt-fiber") / perTask("spans-off"))
        } × plain \`Effect.forEach\`)`
      ],
      [
        "W1 in plain `Stream.mapEffect(..., { concurrency: 64, unordered: true })`: CPU µs/task",
        `${us(perTask("stream-unordered"))} (${
          fixed(1)(perTask("stream-unordered") / perTask("spans-off"))
        } × plain \`Effect.forEach\`)`
      ]
    ])
  ]
})()

// W6: medians of each (row, size), CPU per call net of the row's 0-document child.
const w6Median = (row: Row, size: number) => {
  const list = w6Samples.get(w6Key(row, size))!
  return {
    wallMillis: median(list.map((s) => s.wallMillis)),
    workMillis: median(list.map((s) => s.workMillis)),
    cpuMicros: median(list.map((s) => s.cpuMicros)),
    maxRssKiB: median(list.map((s) => s.maxRssKiB)),
    list
  }
}
const w6CpuPerCall = (row: Row, size: number) => (w6Median(row, size).cpuMicros - w6Median(row, 0).cpuMicros) / size
const w6Row = (name: Row["name"]) => w6Rows.find((row) => row.name === name)!
const w6Largest = (row: Row) => w6Sizes(row).at(-1)!
const w6Counts = (values: ReadonlyArray<number>) => [...new Set(values)].map((n) => fixed(0)(n)).join(" / ")
const w6Section = !w6 ? [] : [
  `### W6 model-call throughput: \`classify\` over a loopback OpenAI-compatible server (${W6_LATENCY} ms a call), ` +
  `or the offline model (1 ms a call)\n\n` +
  table(
    [
      "row",
      "documents",
      "concurrency",
      "wall ms",
      "work ms",
      "work / ideal",
      "CPU ms",
      "CPU ms / call",
      "peak RSS MB",
      "requests (server)",
      "connections (server)",
      "tokens accounted = server's"
    ],
    w6Rows.flatMap((row) =>
      w6Sizes(row).map((size) => {
        const r = w6Median(row, size)
        const accounted = row.name === "library-openai" || row.name === "library-compat" || row.name === "cli-compat"
          ? r.list.every((s) => s.inputTokens === s.server.inputTokens && s.outputTokens === s.server.outputTokens)
            ? "yes"
            : "NO"
          : "-"
        return [
          row.name,
          fixed(0)(size),
          fixed(0)(row.concurrency),
          ms(r.wallMillis),
          ms(r.workMillis),
          `${fixed(2)(r.workMillis / w6Ideal(row, size))} (ideal ${ms(w6Ideal(row, size))} ms)`,
          ms(r.cpuMicros / 1000),
          fixed(3)(w6CpuPerCall(row, size) / 1000),
          mb(r.maxRssKiB),
          row.http ? w6Counts(r.list.map((s) => s.server.requests)) : "-",
          row.http ? w6Counts(r.list.map((s) => s.server.connections)) : "-",
          accounted
        ]
      })
    )
  ) +
  "\n\n" + w6Rows.map((row) => `- \`${row.name}\`: ${row.title}`).join("\n")
]
if (w6) {
  for (const row of w6Rows.filter((row) => row.http)) {
    for (const size of w6Sizes(row)) {
      const seen = w6Median(row, size).list.map((s) => s.server.requests)
      target(
        `W6 ${row.name}: the server saw exactly ${fixed(0)(size)} requests in every run`,
        w6Counts(seen),
        seen.every((n) => n === size)
      )
    }
  }
  const floor = w6Row("openai-sdk")
  const langchain = w6Row("langchain")
  const n = w6Largest(floor)
  for (const name of ["library-openai", "library-compat"] as const) {
    const row = w6Row(name)
    const work = w6Median(row, n).workMillis
    const cpu = w6CpuPerCall(row, n)
    const floorWork = w6Median(floor, n).workMillis
    const floorCpu = w6CpuPerCall(floor, n)
    target(
      `W6 ${name} work ≤ 1.1 × the openai SDK's`,
      `${fixed(2)(work / floorWork)} × (${ms(work)} vs ${ms(floorWork)} ms)`,
      work <= 1.1 * floorWork
    )
    target(
      `W6 ${name} CPU/call ≤ 1.5 × the openai SDK's`,
      `${fixed(2)(cpu / floorCpu)} × (${fixed(3)(cpu / 1000)} vs ${fixed(3)(floorCpu / 1000)} ms)`,
      cpu <= 1.5 * floorCpu
    )
    const lcWork = w6Median(langchain, n).workMillis
    const lcCpu = w6CpuPerCall(langchain, n)
    target(
      `W6 ${name} ahead of LangChain.js (work and CPU/call)`,
      `${ms(work)} vs ${ms(lcWork)} ms; ${fixed(3)(cpu / 1000)} vs ${fixed(3)(lcCpu / 1000)} ms/call`,
      work < lcWork && cpu < lcCpu
    )
  }
  // Connections kept alive, a pool sized to the run: the library rows (`ModelHttpClient`) and the CLI's own.
  for (const name of ["library-openai", "library-compat", "cli-compat"] as const) {
    const row = w6Row(name)
    const seen = w6Median(row, w6Largest(row)).list.map((s) => s.server.connections)
    target(
      `W6 ${name}: connections the server saw ≤ the concurrency (${row.concurrency}) in every run`,
      w6Counts(seen),
      seen.every((n) => n <= row.concurrency)
    )
  }
  // Reported, not a target: the CLI over HTTP, what a user runs against a local server, against the library's row.
  const cliHttp = w6Row("cli-compat")
  const libraryHttp = w6Row("library-compat")
  const cliN = w6Largest(cliHttp)
  if (w6Largest(libraryHttp) === cliN && w6Largest(floor) === cliN) {
    const cliWork = w6Median(cliHttp, cliN).workMillis
    const cliCpu = w6CpuPerCall(cliHttp, cliN)
    info.push([
      `W6 cli-compat (the CLI, whole process) against library-compat and the openai SDK: work, CPU a call`,
      `${fixed(2)(cliWork / w6Median(libraryHttp, cliN).workMillis)} × and ${
        fixed(2)(cliWork / w6Median(floor, cliN).workMillis)
      } × the work (${ms(cliWork)} ms); ${fixed(2)(cliCpu / w6CpuPerCall(libraryHttp, cliN))} × and ${
        fixed(2)(cliCpu / w6CpuPerCall(floor, cliN))
      } × the CPU a call (${fixed(3)(cliCpu / 1000)} ms)`
    ])
  }
  const cli = w6Row("cli-offline")
  const [small, large] = [w6Sizes(cli)[0]!, w6Largest(cli)]
  const cliWall = w6Median(cli, large).wallMillis
  // The whole process up to the command's end: its start, its module loading and its run, not the bench's check of
  // its result lines after it (read back and parsed, about a quarter of a second for 100,000).
  const cliProcess = median(w6Samples.get(w6Key(cli, large))!.map((sample) => sample.processMillis))
  target(
    `W6 cli-offline: ${fixed(0)(large)} documents at concurrency ${cli.concurrency} in ≤ 10 s (whole process)`,
    `${ms(cliProcess)} ms (spawn to the command's end; ${
      ms(cliWall)
    } ms to the child's exit, the bench's check of the result lines included)`,
    cliProcess <= 10_000
  )
  // Reported, not a target: the floor of the CLI row, the agent alone on the offline model (its whole process).
  const alone = w6Rows.find((row) => row.name === "agent-offline")
  if (alone !== undefined && w6Sizes(alone).includes(large)) {
    const aloneWall = w6Median(alone, large).wallMillis
    info.push([
      `W6 agent-offline (the classify agent alone, no engine, no CLI): ${fixed(0)(large)} calls, whole process`,
      `${ms(aloneWall)} ms, ${fixed(3)(w6CpuPerCall(alone, large) / 1000)} ms CPU a call; cli-offline ${
        fixed(2)(cliWall / aloneWall)
      } × its wall`
    ])
  }
  const growth = w6Median(cli, large).maxRssKiB / w6Median(cli, small).maxRssKiB
  target(
    `W6 cli-offline: peak RSS flat from ${fixed(0)(small)} to ${fixed(0)(large)} documents (≤ 1.25 ×)`,
    `${mb(w6Median(cli, small).maxRssKiB)} → ${mb(w6Median(cli, large).maxRssKiB)} MB (× ${fixed(2)(growth)})`,
    growth <= 1.25
  )
}

// =============================================================================
// output
// =============================================================================

const machine = `${Os.availableParallelism()} CPUs (${Os.cpus()[0]?.model ?? "unknown"}), ${
  fixed(1)(Os.totalmem() / 2 ** 30)
} GiB, Node ${process.version}`
const medians = runs === largeRuns || !jobs.some((job) => job.size >= LARGE)
  ? `Median of ${runs} run(s) per row`
  : `Median of ${runs} run(s) per row, ${largeRuns} for the rows of ${fixed(0)(LARGE)} tasks`
const load = `load average ${fixed(2)(loadBefore)} before, ${fixed(2)(Os.loadavg()[0]!)} after`
const report = [
  `## Results ${new Date().toISOString().slice(0, 10)}${flags.quick ? " (--quick)" : ""}`,
  `${machine}; ${load}. ${medians}; MB = 10^6 bytes.`,
  ...sections,
  ...(selected.length === 0 ? [] : [calibrationSection]),
  ...stormSection,
  ...jsonlSection,
  ...floorsSection,
  ...w6Section,
  "### Targets\n\n" + table(["target", "figure", "result"], targets),
  ...(info.length === 0 ? [] : ["### Reported\n\n" + table(["figure", "value"], info)])
].join("\n\n") + "\n"

console.log("\n" + report)
Fs.mkdirSync(resultsDir, { recursive: true })
Fs.writeFileSync(Path.join(resultsDir, "results.md"), report)
Fs.writeFileSync(Path.join(resultsDir, "samples.json"), JSON.stringify(Object.fromEntries(samples), null, 2) + "\n")
console.error(`wrote ${Path.relative(process.cwd(), resultsDir)}/results.md and samples.json`)
