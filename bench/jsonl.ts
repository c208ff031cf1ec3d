/**
 * The streaming form at scale: `SIZE` tasks read from a JSONL file (one `{"n": i}` per line) through
 * `Executor.stream`, agents of 1 ms, every result counted as it comes out and none kept.
 * `node build/bench/jsonl.js <size> <concurrency>` writes the file if it is missing (in the OS temp folder), runs
 * once and prints one JSON line: the work time, the process's CPU and peak RSS, the live heap, and the counts. It
 * exits non-zero if a task is missing or did not succeed. `configs` are the rows `npm run bench` runs, each with its
 * Node flags.
 *
 * The live heap is `process.memoryUsage().heapUsed` right after a full, synchronous GC (`global.gc()`, so the child
 * runs with `--expose-gc`), read three times: before the run (modules loaded, input file written), when the last
 * result is counted (inside the stream's consumer, the run still open: whatever the run holds per task is still
 * held), and after the run has ended.
 */
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as FileSystem from "@effect/platform/FileSystem"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { pathToFileURL } from "node:url"
import { Agent, Executor, Task } from "../src/index.js"

export const sizes: ReadonlyArray<number> = [10_000, 100_000, 1_000_000]
export const quickSizes: ReadonlyArray<number> = [10_000, 100_000]

export interface Config {
  readonly name: string
  readonly concurrency: number
  /** Node flags of the child. */
  readonly flags: ReadonlyArray<string>
}

/**
 * Concurrency 1,000 as in W3, and 100 (still more than the 1 ms agents need to keep the CPU busy), with Node's
 * default heap sizing; then 100 in a process whose heap is capped (old space 48 MB, semi-spaces 1 MB), which
 * shows what the run itself needs when V8 is not sizing its heap for throughput.
 */
export const configs: ReadonlyArray<Config> = [
  { name: "concurrency 1,000", concurrency: 1_000, flags: ["--expose-gc", "--max-old-space-size=4096"] },
  { name: "concurrency 100", concurrency: 100, flags: ["--expose-gc", "--max-old-space-size=4096"] },
  {
    name: "concurrency 100, heap capped",
    concurrency: 100,
    flags: ["--expose-gc", "--max-old-space-size=48", "--max-semi-space-size=1"]
  }
]

export interface JsonlSample {
  readonly size: number
  readonly concurrency: number
  readonly workMillis: number
  readonly cpuMicros: number
  readonly maxRssKiB: number
  readonly results: number
  readonly succeeded: number
  /** Live heap (heapUsed after a full GC) before the run, in bytes. */
  readonly heapBefore: number
  /** Live heap when the last result is counted, the run still open, in bytes. */
  readonly heapAtLastResult: number
  /** Live heap after the run has ended, in bytes. */
  readonly heapAfter: number
}

/** `heapUsed` right after a full GC; the child runs with `--expose-gc`. */
const liveHeap = (): number => {
  if (globalThis.gc === undefined) throw new Error("jsonl.js needs node --expose-gc")
  globalThis.gc()
  return process.memoryUsage().heapUsed
}

/** The input file for `size` tasks, written once. */
export const inputFile = (size: number): string => {
  const file = Path.join(Os.tmpdir(), `effect-parallel-agents-bench-${size}.jsonl`)
  if (!Fs.existsSync(file)) {
    const lines: Array<string> = []
    for (let i = 0; i < size; i++) lines.push(JSON.stringify({ n: i }))
    Fs.writeFileSync(`${file}.tmp`, lines.join("\n") + "\n")
    Fs.renameSync(`${file}.tmp`, file)
  }
  return file
}

class Worker extends Context.Tag("bench/jsonl/Worker")<Worker, Agent.Agent<{ readonly n: number }, number>>() {}

const main = async (size: number, concurrency: number) => {
  const file = inputFile(size)
  // A fresh agent per task, made by an Effect (`Agent.effect`, the factory an app with many small tasks uses).
  const factory = Agent.effect(
    Worker,
    Effect.sync(() =>
      Agent.make({ name: "worker", run: (input: { readonly n: number }) => Effect.as(Effect.sleep(1), input.n) })
    )
  )
  let results = 0
  let succeeded = 0
  let heapAtLastResult = 0
  const heapBefore = liveHeap()
  const start = performance.now()
  await Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    let line = 0
    const tasks = fs.stream(file).pipe(
      Stream.decodeText(),
      Stream.splitLines,
      Stream.filter((text) => text.length > 0),
      Stream.map((text) => Task.make({ id: String(++line), input: JSON.parse(text) as { readonly n: number } }))
    )
    yield* Executor.stream(tasks, factory, { concurrency, timeout: 30_000 }).pipe(
      Stream.runForEach((result) =>
        Effect.sync(() => {
          results++
          if (result._tag === "Succeeded") succeeded++
          if (results === size) heapAtLastResult = liveHeap()
        })
      )
    )
  }).pipe(Effect.provide(Layer.mergeAll(Executor.layer(), NodeFileSystem.layer)), Effect.runPromise)
  const workMillis = performance.now() - start
  const heapAfter = liveHeap()
  if (results !== size || succeeded !== size) {
    throw new Error(`expected ${size} successes, got ${succeeded} of ${results}`)
  }
  process.on("exit", () => {
    const usage = process.resourceUsage()
    const sample: JsonlSample = {
      size,
      concurrency,
      workMillis,
      cpuMicros: usage.userCPUTime + usage.systemCPUTime,
      maxRssKiB: usage.maxRSS,
      results,
      succeeded,
      heapBefore,
      heapAtLastResult,
      heapAfter
    }
    process.stdout.write(JSON.stringify(sample) + "\n")
  })
}

// Runs only as a child: `run.ts` imports this module for its constants.
if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const [size, concurrency] = process.argv.slice(2).map(Number)
  if (!Number.isInteger(size) || !Number.isInteger(concurrency)) {
    throw new Error("usage: node build/bench/jsonl.js <size> <concurrency>")
  }
  await main(size!, concurrency!)
}
