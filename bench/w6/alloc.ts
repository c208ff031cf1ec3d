/**
 * Where a W6 row's calls allocate: `node build/bench/w6/alloc.js <row> <calls> <baseUrl> [rows]` runs the row's
 * `run` once to warm up, then again under V8's sampling heap profiler with the objects the scavenger and the full GC
 * collected included (so it counts all the garbage, not only what is left), and prints the bytes per call by module
 * and by function. Not part of `npm run bench`.
 */
import { sample, top } from "../allocations.js"
import type { RunRow } from "./rows.js"

const [row, callsArg, baseUrl, rowsArg] = process.argv.slice(2)
const calls = Number(callsArg)
if (row === undefined || !Number.isInteger(calls) || calls < 1 || baseUrl === undefined) {
  throw new Error("usage: node build/bench/w6/alloc.js <row> <calls> <baseUrl> [rows]")
}
const { run }: { readonly run: RunRow } = await import(`./${row}.js`)
await run({ size: 50, concurrency: 16, baseUrl })
const { byFunction, byModule, total } = await sample(() => run({ size: calls, concurrency: 256, baseUrl }), 512)
const rows = Number(rowsArg ?? 30)
console.log(
  `${row}: ${(total / calls).toFixed(0)} bytes allocated per call (sampled)\n\nby module\n${top(byModule, calls, rows)}`
)
console.log(`\nby function\n${top(byFunction, calls, rows)}`)
process.exit(0)
