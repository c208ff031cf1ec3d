/**
 * Compares two builds on one row, interleaved so that drift on the machine falls on both alike:
 * `node build/bench/compare.js <buildA> <buildB> <workload> <implementation> <size> [runs]`, where each build is a
 * copy of `build/` (after `tsc -b`) placed where it resolves this project's `node_modules`, for example under
 * `node_modules/.compare/`. Prints the median and every sample of CPU, work time and peak RSS for each build.
 *
 * ```sh
 * npx tsc -b && mkdir -p node_modules/.compare && cp -r build node_modules/.compare/before
 * # change src/, then
 * npx tsc -b && cp -r build node_modules/.compare/after
 * node build/bench/compare.js node_modules/.compare/before node_modules/.compare/after W3 engine 100000 7
 * ```
 */
import { spawnSync } from "node:child_process"
import * as Path from "node:path"
import type { Sample } from "./child.js"
import { median } from "./workloads.js"

const [buildA, buildB, workload, implementation, size, runsArg] = process.argv.slice(2)
if (buildA === undefined || buildB === undefined || workload === undefined || implementation === undefined) {
  throw new Error("usage: node build/bench/compare.js <buildA> <buildB> <workload> <implementation> <size> [runs]")
}
const runs = Number(runsArg ?? 5)
if (!Number.isInteger(runs) || runs < 1) throw new Error(`runs must be a positive integer, got ${runsArg}`)

const measure = (build: string): Sample => {
  const child = spawnSync(
    process.execPath,
    ["--max-old-space-size=4096", Path.join(build, "bench", "child.js"), workload, implementation, String(size)],
    { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] }
  )
  if (child.status !== 0) throw new Error(`${build}: child exited with code ${child.status}`)
  return JSON.parse(child.stdout.trim().split("\n").at(-1)!)
}

const samples = new Map<string, Array<Sample>>([[buildA, []], [buildB, []]])
for (let run = 0; run < runs; run++) {
  for (const build of [buildA, buildB]) samples.get(build)!.push(measure(build))
}

for (const [build, list] of samples) {
  const cpu = list.map((sample) => sample.cpuMicros / 1000)
  console.log(
    `${build}: CPU ${median(cpu).toFixed(0)} ms, work ${median(list.map((s) => s.workMillis)).toFixed(0)} ms, ` +
      `peak RSS ${(median(list.map((s) => s.maxRssKiB)) * 1024 / 1e6).toFixed(0)} MB; CPU samples ${
        cpu.map((ms) => ms.toFixed(0)).sort((a, b) => Number(a) - Number(b)).join(" ")
      }`
  )
}
