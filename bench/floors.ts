/**
 * Floors: what the platform and Effect cost before the engine adds anything, measured so that a target the engine
 * misses can be read against what is reachable at all. `node build/bench/floors.js <probe>` runs one probe in its
 * own process and prints one JSON line. Each probe loads only what it names (dynamic imports; the `import type` is
 * erased), so the idle probes measure what loading costs.
 *
 * - `idle-node`, `idle-effect`, `idle-library`: a process that loads nothing, `effect/Effect`, or this library's
 *   `Executor`, and runs no task. Its peak RSS.
 * - `workers-promise`, `workers-effect`: W2 (10,000 tasks of 10 ms, 500 at a time) with nothing but workers: 500
 *   async functions awaiting a `setTimeout`, or 500 fibers looping on `Effect.sleep`. No agent, no timeout, no
 *   metrics. Makespan / ideal.
 * - `spans-off`, `spans-on`: W1 in plain Effect (`Effect.forEach`, concurrency 64, 300,000 tasks that return at once,
 *   each in `Effect.either`), without and with `Effect.withSpan` around each task, under Effect's built-in tracer.
 *   CPU µs per task of the run, after a warm-up of 20,000 tasks.
 * - `attempt-fiber`: W1 in plain `Effect.forEach` as in `spans-off`, each task's work run the way the engine runs an
 *   attempt and nothing else: on a fiber of its own started with `Runtime.runFork` from the run's runtime with the
 *   task's own `Context` (one service added), awaited with `Effect.async` (no canceler) through the fiber's observer.
 *   What a fiber per attempt costs before the engine's bookkeeping. CPU µs per task, after the same warm-up.
 * - `stream-unordered`: the same tasks through `Stream.mapEffect(task, { concurrency: 64, unordered: true })` over
 *   `Stream.fromIterable` (the operator `Executor.stream` ran on before it moved to a `Semaphore` and a `FiberSet`),
 *   10,000 tasks after a warm-up of 1,000, since a task costs about a hundred times more there. CPU µs per task of
 *   the run.
 */
import type * as EffectModule from "effect/Effect"
import { pathToFileURL } from "node:url"
import { workloads } from "./workloads.js"

export const probes = [
  "idle-node",
  "idle-effect",
  "idle-library",
  "workers-promise",
  "workers-effect",
  "spans-off",
  "spans-on",
  "attempt-fiber",
  "stream-unordered"
] as const
export type Probe = typeof probes[number]

export interface FloorSample {
  readonly probe: Probe
  /** The probe's own work, in milliseconds (0 for the idle probes). */
  readonly workMillis: number
  /** CPU of the probe's own work, in microseconds (the whole process's for the idle probes). */
  readonly cpuMicros: number
  /** Peak RSS of the whole process, in KiB. */
  readonly maxRssKiB: number
  /** How many tasks the work ran. */
  readonly tasks: number
}

const w2 = workloads.find((workload) => workload.name === "W2")!
const W2_TASKS = w2.sizes[0]!
const SPAN_TASKS = 300_000
const SPAN_WARMUP = 20_000
const STREAM_TASKS = 10_000
const STREAM_WARMUP = 1_000

const timed = async (tasks: number, work: () => Promise<unknown>) => {
  const cpu = process.cpuUsage()
  const start = performance.now()
  await work()
  const workMillis = performance.now() - start
  const used = process.cpuUsage(cpu)
  return { workMillis, cpuMicros: used.user + used.system, tasks }
}

const workersPromise = () => {
  let next = 0
  const results: Array<number> = new Array(W2_TASKS)
  const worker = async () => {
    while (next < W2_TASKS) {
      const i = next++
      await new Promise((resolve) => setTimeout(resolve, w2.taskMillis))
      results[i] = i
    }
  }
  return timed(W2_TASKS, () => Promise.all(Array.from({ length: w2.concurrency }, worker)))
}

const workersEffect = async () => {
  const Effect = await import("effect/Effect")
  let next = 0
  const results: Array<number> = new Array(W2_TASKS)
  const worker: EffectModule.Effect<void> = Effect.suspend(() => {
    if (next >= W2_TASKS) return Effect.void
    const i = next++
    return Effect.flatMap(Effect.sleep(w2.taskMillis), () => {
      results[i] = i
      return worker
    })
  })
  const all = Effect.all(Array.from({ length: w2.concurrency }, () => worker), {
    concurrency: "unbounded",
    discard: true
  })
  return timed(W2_TASKS, () => Effect.runPromise(all))
}

const spans = async (on: boolean) => {
  const Effect = await import("effect/Effect")
  const task = (n: number) =>
    Effect.either(
      on
        ? Effect.withSpan(Effect.succeed(n), "task", { captureStackTrace: false, attributes: { n } })
        : Effect.succeed(n)
    )
  const run = (tasks: number) =>
    Effect.runPromise(Effect.forEach(Array.from({ length: tasks }, (_, i) => i), task, { concurrency: 64 }))
  await run(SPAN_WARMUP)
  return timed(SPAN_TASKS, () => run(SPAN_TASKS))
}

const attemptFiber = async () => {
  const Context = await import("effect/Context")
  const Effect = await import("effect/Effect")
  const Runtime = await import("effect/Runtime")
  class Instance extends Context.Tag("bench/floors/Instance")<Instance, number>() {}
  const run = (tasks: number) =>
    Effect.runPromise(Effect.flatMap(Effect.runtime<never>(), (runtime) =>
      Effect.forEach(
        Array.from({ length: tasks }, (_, i) => i),
        (n) =>
          Effect.either(Effect.async<number>((resume) => {
            const taskRuntime = Runtime.make({
              context: Context.add(runtime.context, Instance, n),
              fiberRefs: runtime.fiberRefs,
              runtimeFlags: runtime.runtimeFlags
            })
            Runtime.runFork(taskRuntime)(Effect.map(Instance, (instance) => instance)).addObserver(resume)
          })),
        { concurrency: 64 }
      )))
  await run(SPAN_WARMUP)
  return timed(SPAN_TASKS, () => run(SPAN_TASKS))
}

const streamUnordered = async () => {
  const Effect = await import("effect/Effect")
  const Stream = await import("effect/Stream")
  const run = (tasks: number) =>
    Effect.runPromise(Stream.runCount(
      Stream.fromIterable(Array.from({ length: tasks }, (_, i) => i)).pipe(
        Stream.mapEffect((n) => Effect.either(Effect.succeed(n)), { concurrency: 64, unordered: true })
      )
    )).then((count) => {
      if (count !== tasks) throw new Error(`stream-unordered: expected ${tasks} results, got ${count}`)
    })
  await run(STREAM_WARMUP)
  return timed(STREAM_TASKS, () => run(STREAM_TASKS))
}

const measure = async (probe: Probe) => {
  switch (probe) {
    case "idle-node":
      return undefined
    case "idle-effect":
      await import("effect/Effect")
      return undefined
    case "idle-library":
      await import("../src/Executor.js")
      return undefined
    case "workers-promise":
      return workersPromise()
    case "workers-effect":
      return workersEffect()
    case "spans-off":
      return spans(false)
    case "spans-on":
      return spans(true)
    case "attempt-fiber":
      return attemptFiber()
    case "stream-unordered":
      return streamUnordered()
  }
}

const main = async (probe: Probe) => {
  const work = await measure(probe)
  process.on("exit", () => {
    const usage = process.resourceUsage()
    const sample: FloorSample = {
      probe,
      workMillis: work?.workMillis ?? 0,
      cpuMicros: work?.cpuMicros ?? usage.userCPUTime + usage.systemCPUTime,
      maxRssKiB: usage.maxRSS,
      tasks: work?.tasks ?? 0
    }
    process.stdout.write(JSON.stringify(sample) + "\n")
  })
}

// Runs only as a child: `run.ts` imports this module for its constants.
const probe = import.meta.url === pathToFileURL(process.argv[1] ?? "").href ? process.argv[2] : undefined
if (probe !== undefined) {
  if (!(probes as ReadonlyArray<string>).includes(probe)) throw new Error(`unknown probe ${probe}`)
  await main(probe as Probe)
}
