/**
 * The workloads: how long one agent call takes, how many tasks, at what concurrency. Only the agent's `run`
 * differs between workloads; every implementation runs the same tasks with the same semantics.
 */

export type Implementation =
  | "engine"
  | "engine-layer"
  | "engine-scoped"
  | "engine-untraced"
  | "engine-traced"
  | "engine-logged"
  | "effect-raw"
  | "effect-floor"
  | "effect-fiber"
  | "p-limit"
  | "p-map"
  | "langgraph"
  | "mastra"

export interface Workload {
  readonly name: "W1" | "W2" | "W3"
  readonly title: string
  readonly concurrency: number
  /** How long one agent call takes; 0 means it returns at once (`Effect.succeed(n)` / `Promise.resolve(n)`). */
  readonly taskMillis: number
  readonly sizes: ReadonlyArray<number>
  readonly quickSizes: ReadonlyArray<number>
  readonly implementations: ReadonlyArray<Implementation>
}

export const workloads: ReadonlyArray<Workload> = [
  {
    name: "W1",
    title: "overhead: tasks that return at once",
    concurrency: 64,
    taskMillis: 0,
    sizes: [100_000],
    quickSizes: [10_000],
    implementations: [
      "engine",
      "engine-layer",
      "engine-scoped",
      "engine-untraced",
      "engine-traced",
      "engine-logged",
      "effect-raw",
      "effect-floor",
      "effect-fiber",
      "p-limit"
    ]
  },
  {
    name: "W2",
    title: "makespan: tasks of 10 ms",
    concurrency: 500,
    taskMillis: 10,
    sizes: [10_000],
    quickSizes: [2_000],
    implementations: ["engine", "effect-raw", "effect-floor", "effect-fiber", "p-limit", "langgraph", "mastra"]
  },
  {
    name: "W3",
    title: "scale: tasks of 1 ms",
    concurrency: 1_000,
    taskMillis: 1,
    sizes: [10_000, 100_000, 1_000_000],
    quickSizes: [1_000, 10_000, 100_000],
    implementations: ["engine", "effect-raw", "effect-floor", "effect-fiber", "p-map"]
  }
]

/** The per-task timeout every implementation arms; no task comes near it. */
export const TIMEOUT_MILLIS = 30_000

/** One task's outcome, whatever the implementation: its value, or its failure captured on its own. */
export type Outcome = { readonly ok: number } | { readonly error: unknown }

/**
 * An implementation, in `implementations/<name>.ts` (each child loads only its own). It runs one agent per task
 * and resolves once the run is over, to a function that turns its native results into outcomes in input order:
 * the child times the run, not that conversion.
 */
export type Run = (inputs: ReadonlyArray<number>, workload: Workload) => Promise<() => ReadonlyArray<Outcome>>

/**
 * What a child process runs, from its arguments `<workload> <implementation> <size>`: the workload, that
 * implementation's `run` (only its modules are loaded, so a 0-task child measures its own startup) and the inputs.
 */
export const childRun = async (
  [workloadName, implementation, size]: ReadonlyArray<string | undefined>
): Promise<{ readonly workload: Workload; readonly run: Run; readonly inputs: ReadonlyArray<number> }> => {
  const workload = workloads.find((w) => w.name === workloadName)
  if (workload === undefined) throw new Error(`unknown workload ${workloadName}`)
  if (!workload.implementations.includes(implementation as Implementation)) {
    throw new Error(`${workloadName} has no implementation ${implementation}`)
  }
  const { run }: { readonly run: Run } = await import(`./implementations/${implementation}.js`)
  return { workload, run, inputs: Array.from({ length: Number(size) }, (_, i) => i) }
}

/** The median of some samples (the mean of the two middle ones for an even count). */
export const median = (values: ReadonlyArray<number>): number => {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}
