/**
 * Where a W6 row's calls allocate: `node build/bench/w6/alloc.js <row> <calls> <baseUrl> [rows]` runs the row's
 * `run` once to warm up, then again under V8's sampling heap profiler with the objects the scavenger and the full GC
 * collected included (so it counts all the garbage, not only what is left), and prints the bytes per call by module
 * and by function. Not part of `npm run bench`.
 */
import * as Inspector from "node:inspector/promises"
import type { RunRow } from "./rows.js"

interface Node {
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number }
  readonly selfSize: number
  readonly children: ReadonlyArray<Node>
}

const [row, callsArg, baseUrl, rowsArg] = process.argv.slice(2)
const calls = Number(callsArg)
if (row === undefined || !Number.isInteger(calls) || calls < 1 || baseUrl === undefined) {
  throw new Error("usage: node build/bench/w6/alloc.js <row> <calls> <baseUrl> [rows]")
}
const { run }: { readonly run: RunRow } = await import(`./${row}.js`)
await run({ size: 50, concurrency: 16, baseUrl })
const session = new Inspector.Session()
session.connect()
await session.post("HeapProfiler.startSampling", {
  samplingInterval: 512,
  includeObjectsCollectedByMajorGC: true,
  includeObjectsCollectedByMinorGC: true
})
await run({ size: calls, concurrency: 256, baseUrl })
const { profile } = await session.post("HeapProfiler.stopSampling") as { readonly profile: { readonly head: Node } }
session.disconnect()

const byFunction = new Map<string, number>()
const byModule = new Map<string, number>()
let total = 0
const walk = (node: Node) => {
  const frame = node.callFrame
  const url = frame.url.replace(/.*node_modules\//, "").replace(/.*\/build\//, "")
  const name = `${frame.functionName || "(anonymous)"} ${url}:${frame.lineNumber + 1}`
  total += node.selfSize
  byFunction.set(name, (byFunction.get(name) ?? 0) + node.selfSize)
  byModule.set(url, (byModule.get(url) ?? 0) + node.selfSize)
  for (const child of node.children) walk(child)
}
walk(profile.head)
const top = (sizes: Map<string, number>, rows: number) =>
  [...sizes].sort((a, b) => b[1] - a[1]).slice(0, rows).map(([name, size]) =>
    `${(size / calls).toFixed(0).padStart(8)}  ${name}`
  ).join("\n")
const rows = Number(rowsArg ?? 30)
console.log(
  `${row}: ${(total / calls).toFixed(0)} bytes allocated per call (sampled)\n\nby module\n${top(byModule, rows)}`
)
console.log(`\nby function\n${top(byFunction, rows)}`)
process.exit(0)
