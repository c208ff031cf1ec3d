/**
 * Partial failure is normal: one of 20 classification calls fails with a typed error, the other 19 succeed, the
 * run reports all 20, and the aggregate reads the successes.
 *
 *   npx tsx examples/partial-failure.ts
 */
import { NodeRuntime } from "@effect/platform-node"
import { Console, Context, Data, Effect, Layer } from "effect"
import { Agent, Aggregate, Executor, RunReport, Task, TaskResult } from "effect-parallel-agents"

interface Document {
  readonly id: number
  readonly text: string
}

type Label = "positive" | "negative"

class ModelRefused extends Data.TaggedError("ModelRefused")<{ readonly reason: string }> {
  override get message() {
    return `the model refused: ${this.reason}`
  }
}

class Classifier
  extends Context.Tag("classifier")<Classifier, Agent.Agent<Document, { readonly label: Label }, ModelRefused>>()
{}

const ClassifierLive = Layer.succeed(
  Classifier,
  Agent.make({
    name: "classifier",
    run: (doc: Document) =>
      Effect.gen(function*() {
        yield* Effect.sleep("100 millis")
        // The injected failure: this one document makes the simulated model refuse.
        if (doc.id === 7) return yield* new ModelRefused({ reason: `document ${doc.id} is not in a known language` })
        return { label: doc.id % 2 === 0 ? "positive" as const : "negative" as const }
      })
  })
)

const documents = Task.fromIterable(
  Array.from({ length: 20 }, (_, id): Document => ({ id, text: `Sample document number ${id}` })),
  { id: (doc) => `doc-${doc.id}` }
)

const program = Effect.gen(function*() {
  const report = yield* Executor.run(documents, Agent.factory(Classifier, ClassifierLive), {
    aggregate: Aggregate.struct({
      labels: Aggregate.countBy((value) => value.label),
      vote: Aggregate.majority((value) => value.label)
    })
  })

  yield* Console.log(`Total: ${report.summary.total}`)
  yield* Console.log(`Success: ${report.summary.succeeded}`)
  yield* Console.log(`Failed: ${report.summary.failed}`)
  for (const result of RunReport.failures(report)) {
    const error = TaskResult.isFailed(result) ? result.error : undefined
    const tag = error instanceof ModelRefused ? `${error._tag}: ` : ""
    yield* Console.log(`Failed task: ${result.taskId} (${result.agent}): ${tag}${TaskResult.message(result)}`)
  }
  const { labels, vote } = report.aggregate
  yield* Console.log(
    `Labels over the ${vote.cast} successes: ${
      Object.entries(labels).map(([label, count]) => `${label} ${count}`).join(", ")
    } (${vote.missing} missing)`
  )
  yield* Console.log(RunReport.format(report))
})

program.pipe(Effect.provide(Executor.layer({ concurrency: 5 })), NodeRuntime.runMain)
