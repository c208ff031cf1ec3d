/**
 * The agent factory pattern: every task gets a fresh agent instance with its own mutable scratchpad and its own
 * session, acquired when the instance is built and released when the task ends, also when it times out. The
 * session pool the sessions come from is a shared client: the app builds it once.
 *
 *   npx tsx examples/agent-factory.ts
 */
import { NodeRuntime } from "@effect/platform-node"
import { Console, Context, Duration, Effect, Layer, Ref } from "effect"
import { Agent, AgentInstance, Executor, RunReport, Task, TaskResult } from "effect-parallel-agents"

// How many times the pool below was built, to show that the app builds it once for every instance.
let poolBuilds = 0

// A shared client, built once by the app: it hands out sessions and counts them.
class SessionPool extends Effect.Service<SessionPool>()("SessionPool", {
  effect: Effect.gen(function*() {
    poolBuilds++
    const opened = yield* Ref.make(0)
    const closed = yield* Ref.make(0)
    return {
      open: (owner: string) =>
        Effect.acquireRelease(
          Effect.map(Ref.updateAndGet(opened, (n) => n + 1), (id) => ({ id, owner })),
          () => Ref.update(closed, (n) => n + 1)
        ),
      counts: Effect.all({ opened: Ref.get(opened), closed: Ref.get(closed) })
    } as const
  })
}) {}

interface Finding {
  readonly topic: string
  readonly session: number
  /** Everything this instance's scratchpad holds when it answers. */
  readonly notes: ReadonlyArray<string>
}

class Researcher extends Context.Tag("researcher")<Researcher, Agent.Agent<string, Finding>>() {}

// The factory: runs once per task, so the scratchpad and the session belong to one task only.
const ResearcherLive = Layer.scoped(
  Researcher,
  Effect.gen(function*() {
    const instance = yield* AgentInstance.AgentInstance
    const pool = yield* SessionPool
    const session = yield* pool.open(instance.name)
    const scratchpad: Array<string> = []
    return Agent.make({
      name: "researcher",
      run: (topic: string) =>
        Effect.gen(function*() {
          for (const step of ["search", "read", "summarise"]) {
            scratchpad.push(`${topic}: ${step}`)
            // The deep dive is far slower than the others and will hit the timeout.
            yield* Effect.sleep(topic === "deep-dive" ? "10 seconds" : "50 millis")
          }
          return { topic, session: session.id, notes: [...scratchpad] }
        })
    })
  })
)

const topics = ["quantum", "enzymes", "tides", "glaciers", "deep-dive", "volcanoes"]

const program = Effect.gen(function*() {
  const timeout = Duration.millis(500)
  const report = yield* Executor.run(
    Task.fromIterable(topics, { id: (_, i) => `t${i}` }),
    Agent.factory(Researcher, ResearcherLive),
    { concurrency: 3, timeout, runId: "demo" }
  )
  yield* Console.log(`${topics.length} research tasks, concurrency 3, timeout ${Duration.format(timeout)}`)
  let leaked = 0
  for (const result of report.results) {
    const line = TaskResult.match(result, {
      onSucceeded: ({ value }) => {
        const own = value.notes.every((note) => note.startsWith(`${value.topic}:`))
        if (!own) leaked++
        return `${value.topic.padEnd(10)} session ${value.session}, ${value.notes.length} notes, ${
          own ? "all its own" : "SOME FROM ANOTHER TASK"
        }`
      },
      onFailed: (failed) => `failed: ${TaskResult.message(failed)}`,
      onTimedOut: (timedOut) =>
        `${topics[timedOut.index]!.padEnd(10)} timed out after ${
          RunReport.formatMillis(timedOut.durationMillis)
        }, its session released`,
      onInterrupted: () => "interrupted"
    })
    yield* Console.log(`  ${result.agent}  ${line}`)
  }
  const counts = yield* Effect.flatMap(SessionPool, (pool) => pool.counts)
  yield* Console.log(
    `Sessions opened: ${counts.opened}, closed: ${counts.closed}, open now: ${counts.opened - counts.closed}`
  )
  yield* Console.log(`Session pool built: ${poolBuilds} time, shared by every instance`)
  yield* Console.log(`Scratchpad notes seen by another instance: ${leaked}`)
})

program.pipe(
  Effect.provide(Layer.mergeAll(Executor.layer(), SessionPool.Default)),
  NodeRuntime.runMain
)
