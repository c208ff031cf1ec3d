/**
 * One run of one implementation with the time its main thread spent on a CPU beside its work time:
 * `node build/bench/mainThread.js <workload> <implementation> <size>` prints one JSON line (`mainMillis`, `workMillis`,
 * `cpuMillis`: the process's user + system CPU during the run, all threads). The main thread's time is read from
 * `/proc/thread-self/schedstat` (Linux; nanoseconds on a CPU) before and after the run.
 *
 * W2 is bound by the main thread: its makespan is the main thread's busy time plus the time it waits for timers with
 * nothing to run, so a change to what a task costs the main thread shows in `mainMillis` about one for one. It moves
 * much less with the machine's load than the work time does (the time the thread waits for a CPU is not counted;
 * shared caches and cores still make each instruction slower, by 10 to 20 % at a load of 5 to 10 on 2 CPUs), so
 * builds run interleaved compare on a shared machine. It is not a figure of `npm run bench`: the quiet-machine work
 * times are the ones the targets are read against.
 */
import * as Fs from "node:fs"
import { childRun } from "./workloads.js"

const { inputs, run, workload } = await childRun(process.argv.slice(2))

const mainThreadMillis = () => Number(Fs.readFileSync("/proc/thread-self/schedstat", "utf8").split(" ")[0]) / 1e6

const cpu = process.cpuUsage()
const main = mainThreadMillis()
const start = performance.now()
const outcomes = await run(inputs, workload)
const workMillis = performance.now() - start
const mainMillis = mainThreadMillis() - main
const used = process.cpuUsage(cpu)
if (outcomes().length !== inputs.length) throw new Error(`expected ${inputs.length} results, got ${outcomes().length}`)
process.stdout.write(JSON.stringify({ mainMillis, workMillis, cpuMillis: (used.user + used.system) / 1000 }) + "\n")
