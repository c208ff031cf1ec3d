/**
 * What one task of a W1-W3 row holds and allocates, in bytes: `node --expose-gc build/bench/perTask.js <held|allocated>
 * <workload> <implementation> [tasks] [rows]`. Not part of `npm run bench`.
 *
 * - `held`: the live heap per task in flight. `tasks` tasks (default 5,000) run at once (concurrency = tasks), each
 *   sleeping 3 s; after a full GC a heap snapshot is summed by constructor, and the same is done with 10 tasks: the
 *   difference over the extra tasks is what each in-flight task holds (its fibers, closures, effects, timer, and the
 *   engine's records of it), with the count of each kind of object.
 * - `allocated`: the bytes allocated per task, the garbage included (V8's sampling heap profiler, every 256 bytes,
 *   with the objects the scavenger and the full GC collected), by module and by function, over `tasks` tasks (default
 *   40,000) at the workload's concurrency and task length, after a warm-up run of 5,000.
 */
import * as Fs from "node:fs"
import * as V8 from "node:v8"
import { sample, top } from "./allocations.js"
import { type Implementation, type Run, workloads } from "./workloads.js"

const [mode, workloadName, implementation, tasksArg, rowsArg] = process.argv.slice(2)
const workload = workloads.find((w) => w.name === workloadName)
if ((mode !== "held" && mode !== "allocated") || workload === undefined || implementation === undefined) {
  throw new Error("usage: node --expose-gc build/bench/perTask.js <held|allocated> <W1|W2|W3> <implementation> [tasks]")
}
if (!workload.implementations.includes(implementation as Implementation)) {
  throw new Error(`${workloadName} has no implementation ${implementation}`)
}
const rows = Number(rowsArg ?? 30)
const { run }: { readonly run: Run } = await import(`./implementations/${implementation}.js`)
const inputs = (n: number) => Array.from({ length: n }, (_, i) => i)
/** Bytes and objects per task, by kind, the largest first. */
const table = (sizes: Map<string, number>, per: number, counts: Map<string, number>) =>
  [...sizes].sort((a, b) => b[1] - a[1]).slice(0, rows).map(([name, size]) =>
    `${(size / per).toFixed(0).padStart(8)} ${(counts.get(name)! / per).toFixed(2).padStart(7)} ×  ${name}`
  ).join("\n")

interface Summary {
  readonly bytes: Map<string, number>
  readonly counts: Map<string, number>
}

/** The live heap, by kind of object, while `n` tasks sleep. */
const heldWith = async (n: number): Promise<Summary> => {
  const gc = (globalThis as { gc?: () => void }).gc
  if (gc === undefined) throw new Error("run with node --expose-gc")
  const running = run(inputs(n), { ...workload, concurrency: n, taskMillis: 3_000 })
  await new Promise((resolve) => setTimeout(resolve, 1_500))
  gc()
  const file = V8.writeHeapSnapshot()
  await running
  const snapshot = JSON.parse(Fs.readFileSync(file, "utf8"))
  Fs.unlinkSync(file)
  const meta = snapshot.snapshot.meta
  const fields: Array<string> = meta.node_fields
  const types: Array<string> = meta.node_types[0]
  const [type, name, size] = ["type", "name", "self_size"].map((field) => fields.indexOf(field)) as [
    number,
    number,
    number
  ]
  const nodes: Array<number> = snapshot.nodes
  const strings: Array<string> = snapshot.strings
  const bytes = new Map<string, number>()
  const counts = new Map<string, number>()
  for (let i = 0; i < nodes.length; i += fields.length) {
    const kind = types[nodes[i + type]!]!
    const key = kind === "object" || kind === "closure"
      ? `${kind} ${strings[nodes[i + name]!] || "(anonymous)"}`
      : `(${kind})`
    bytes.set(key, (bytes.get(key) ?? 0) + nodes[i + size]!)
    counts.set(key, (counts.get(key) ?? 0) + 1)
  }
  return { bytes, counts }
}

if (mode === "held") {
  const tasks = Number(tasksArg ?? 5_000)
  const few = await heldWith(10)
  const many = await heldWith(tasks)
  const per = tasks - 10
  const bytes = new Map<string, number>()
  const counts = new Map<string, number>()
  let total = 0
  for (const [key, size] of many.bytes) {
    bytes.set(key, size - (few.bytes.get(key) ?? 0))
    counts.set(key, many.counts.get(key)! - (few.counts.get(key) ?? 0))
    total += size - (few.bytes.get(key) ?? 0)
  }
  console.log(`${workload.name} ${implementation}: ${(total / per).toFixed(0)} bytes held per task in flight`)
  console.log(`\nbytes, objects per task, kind\n${table(bytes, per, counts)}`)
} else {
  const tasks = Number(tasksArg ?? 40_000)
  await run(inputs(5_000), workload)
  const { byFunction, byModule, total } = await sample(() => run(inputs(tasks), workload), 256)
  console.log(`${workload.name} ${implementation}: ${(total / tasks).toFixed(0)} bytes allocated per task (sampled)`)
  console.log(`\nby module\n${top(byModule, tasks, rows)}\n\nby function\n${top(byFunction, tasks, rows)}`)
}
process.exit(0)
