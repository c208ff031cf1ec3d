/**
 * The same 20 model calls, one at a time and then five at a time: the wall times, the speedup of the parallel run
 * over the sequential one, the parallel run's efficiency and report table, and its HTML report with a timeline of
 * the five slots, written to `sequential-vs-parallel.html` in the current directory (its own file: `npm start`
 * writes `run-report.html`).
 *
 *   npx tsx examples/sequential-vs-parallel.ts
 */
import { Path } from "@effect/platform"
import { NodeContext, NodeRuntime } from "@effect/platform-node"
import { Console, Context, Data, Duration, Effect, Layer } from "effect"
import { Agent, Executor, RunReport, Task } from "effect-parallel-agents"

interface Question {
  readonly id: number
  readonly text: string
}

class ModelOverloaded extends Data.TaggedError("ModelOverloaded")<{ readonly questionId: number }> {
  override get message() {
    return `the model is overloaded (question ${this.questionId})`
  }
}

// A stand-in for a model call: between 50 and 250 ms, different for each question but the same on every run.
const latencyOf = (question: Question) => Duration.millis(50 + ((question.id * 7) % 11) * 20)

class Answerer
  extends Context.Tag("answerer")<Answerer, Agent.Agent<Question, { readonly answer: string }, ModelOverloaded>>()
{}

const AnswererLive = Layer.succeed(
  Answerer,
  Agent.make({
    name: "answerer",
    run: (question: Question) =>
      Effect.gen(function*() {
        yield* Effect.sleep(latencyOf(question))
        // The injected failure: the model gives up on this one question.
        if (question.id === 13) return yield* new ModelOverloaded({ questionId: question.id })
        return { answer: `answer to "${question.text}"` }
      })
  })
)

const questions = Task.fromIterable(
  Array.from({ length: 20 }, (_, id): Question => ({ id, text: `question ${id}` })),
  { id: (question) => `q-${question.id}` }
)

const answerer = Agent.factory(Answerer, AnswererLive)

const program = Effect.gen(function*() {
  const sequential = yield* Executor.run(questions, answerer, { concurrency: 1 })
  const parallel = yield* Executor.run(questions, answerer, { concurrency: 5 })

  const wall = (report: { readonly stats: RunReport.Stats }) => Duration.toMillis(report.stats.wallTime)
  yield* Console.log(`Sequential (concurrency 1): wall time ${RunReport.formatMillis(wall(sequential))}`)
  yield* Console.log(`Parallel (concurrency 5): wall time ${RunReport.formatMillis(wall(parallel))}`)
  yield* Console.log(`Speedup: ${(wall(sequential) / wall(parallel)).toFixed(2)}x (sequential wall / parallel wall)`)
  // The report's own speedup compares the run with its tasks' busy time, the sum of their durations.
  const busy = Duration.toMillis(parallel.stats.busyTime)
  yield* Console.log(
    `Parallel efficiency: ${(parallel.stats.efficiency * 100).toFixed(0)}% (busy ${RunReport.formatMillis(busy)} / ` +
      `wall ${RunReport.formatMillis(wall(parallel))} = ${parallel.stats.speedup.toFixed(2)}x, over 5 slots)`
  )
  yield* Console.log("")
  yield* Console.log(RunReport.format(parallel))

  // The file goes through the FileSystem service, which NodeContext provides (with Path) on Node.
  const file = (yield* Path.Path).resolve("sequential-vs-parallel.html")
  yield* RunReport.writeHtml(parallel, file, { title: "20 questions at concurrency 5" })
  yield* Console.log("")
  yield* Console.log(`HTML report: ${file}`)
})

program.pipe(Effect.provide(Layer.mergeAll(Executor.layer(), NodeContext.layer)), NodeRuntime.runMain)
