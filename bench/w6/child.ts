/**
 * One W6 measurement: `node build/bench/w6/child.js <row> <size> [baseUrl]`. Runs the row once and, at exit,
 * prints one JSON line (`W6Sample`): the time of the run itself and when it ended, the process's CPU and peak RSS
 * (all taken before the results are checked), and the counts. A row that loses a result or a success exits
 * non-zero. Only the row's own modules are loaded, so its 0-document child measures its own startup.
 */
import { rows, type RunRow, type W6Sample } from "./rows.js"

type Counts = Awaited<ReturnType<RunRow>>

const [name, sizeArg, baseUrl] = process.argv.slice(2)
const row = rows.find((row) => row.name === name)
const size = Number(sizeArg)
if (row === undefined || !Number.isInteger(size) || (row.http && baseUrl === undefined)) {
  throw new Error("usage: node build/bench/w6/child.js <row> <size> [baseUrl]")
}

/** At exit: the usage first, then the counts (which may read a file), then one JSON line. */
const onExit = (workMillis: () => number, counts: () => Counts) =>
  process.on("exit", () => {
    const endedAt = performance.timeOrigin + performance.now()
    const work = workMillis()
    const usage = process.resourceUsage()
    const counted = counts()
    const sample: W6Sample = {
      workMillis: work,
      endedAt,
      cpuMicros: usage.userCPUTime + usage.systemCPUTime,
      maxRssKiB: usage.maxRSS,
      ...counted
    }
    process.stdout.write("\n" + JSON.stringify(sample) + "\n")
    if (counted.results !== size || counted.succeeded !== size) {
      process.stderr.write(
        `${name} ${size}: expected ${size} successes, got ${counted.succeeded} of ${counted.results}\n`
      )
      process.exitCode = 1
    }
  })

if (row.name === "cli-offline" || row.name === "cli-compat") {
  // The CLI exits the process itself when the run is over. Its work is the whole command, loading included.
  const start = performance.now()
  const { start: startCli } = await import("./cli.js")
  const check = await startCli({ size, concurrency: row.concurrency, baseUrl: row.http ? baseUrl : undefined })
  onExit(() => performance.now() - start, check)
} else {
  // The work is the run, from its modules loaded (they are in the wall time and the 0-document child's CPU).
  const { run }: { readonly run: RunRow } = await import(`./${row.name}.js`)
  const start = performance.now()
  const counts = await run({ size, concurrency: row.concurrency, baseUrl: baseUrl ?? "" })
  const workMillis = performance.now() - start
  onExit(() => workMillis, () => counts)
}
