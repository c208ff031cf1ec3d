/**
 * One measurement: `node build/bench/child.js <workload> <implementation> <size>`. Runs the tasks once, checks the
 * outcomes, and at exit prints one JSON line: the time of the work itself and the process's resource usage.
 * A wrong count, order or number of successes throws, so the process exits non-zero.
 */
import { childRun, type Outcome } from "./workloads.js"

export interface Sample {
  /** From just before the run to just after, in milliseconds. */
  readonly workMillis: number
  /** User plus system CPU of the whole process, in microseconds. */
  readonly cpuMicros: number
  /** Peak resident set size, in KiB. */
  readonly maxRssKiB: number
}

const check = (outcomes: ReadonlyArray<Outcome>, inputs: ReadonlyArray<number>) => {
  if (outcomes.length !== inputs.length) {
    throw new Error(`expected ${inputs.length} results, got ${outcomes.length}`)
  }
  let succeeded = 0
  outcomes.forEach((outcome, i) => {
    if (!("ok" in outcome)) return
    if (outcome.ok !== inputs[i]) throw new Error(`result ${i} holds the value of task ${outcome.ok}`)
    succeeded++
  })
  if (succeeded !== inputs.length) {
    const failure = outcomes.find((outcome) => "error" in outcome)
    throw new Error(
      `expected ${inputs.length} successes, got ${succeeded}; first failure: ${
        String(failure && "error" in failure ? failure.error : undefined)
      }`
    )
  }
}

const { inputs, run, workload } = await childRun(process.argv.slice(2))

const start = performance.now()
const outcomes = await run(inputs, workload)
const workMillis = performance.now() - start
check(outcomes(), inputs)

process.on("exit", () => {
  const usage = process.resourceUsage()
  const sample: Sample = {
    workMillis,
    cpuMicros: usage.userCPUTime + usage.systemCPUTime,
    maxRssKiB: usage.maxRSS
  }
  process.stdout.write(JSON.stringify(sample) + "\n")
})
