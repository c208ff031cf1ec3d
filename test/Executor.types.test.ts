import { assert, describe, it } from "@effect/vitest"
import { Effect, Schema, Stream } from "effect"
import * as TestAgent from "../services/testing/TestAgent.js"
import type * as AgentError from "../src/AgentError.js"
import * as Aggregate from "../src/Aggregate.js"
import * as Executor from "../src/Executor.js"
import * as Task from "../src/Task.js"
import type * as TaskResult from "../src/TaskResult.js"

/** Exact type equality: `any` is not equal to anything else. */
type Equals<X, Y> = (<T>() => T extends X ? 1 : 2) extends (<T>() => T extends Y ? 1 : 2) ? true : false

// These checks run in `tsc -b`: each `@ts-expect-error` fails the type-check if its line stops being an error.
const program = Effect.gen(function*() {
  const agent = yield* TestAgent.make({
    name: "label",
    run: (n: number) => n > 3 ? Effect.fail("too big" as const) : Effect.succeed({ label: String(n) })
  })
  const tasks = Task.fromIterable([1, 2, 3])

  const plain = yield* Executor.run(tasks, agent.factory, { aggregate: Aggregate.successes() })
  const values: Array<{ label: string }> = plain.aggregate
  const results: ReadonlyArray<TaskResult.TaskResult<{ label: string }, "too big" | AgentError.AgentError>> =
    plain.results

  const none = yield* Executor.run(tasks, agent.factory)
  const nothing: undefined = none.aggregate

  const both = yield* Executor.run(tasks, agent.factory, {
    aggregate: Aggregate.struct({ all: Aggregate.successes(), split: Aggregate.partition() })
  })
  const all: Array<{ label: string }> = both.aggregate.all
  const failed: ReadonlyArray<TaskResult.TaskResult<unknown, "too big" | AgentError.AgentError>> = both.aggregate.split
    .failed

  // Fields of a struct are typed from the run: an untyped lambda gets the agent's output.
  const byLambda = yield* Executor.run(tasks, agent.factory, {
    aggregate: Aggregate.struct({ labels: Aggregate.countBy((value) => value.label), all: Aggregate.successes() })
  })
  const counted: Record<string, number> = byLambda.aggregate.labels

  // A struct defined on its own takes its input type from its fields.
  const standalone = Aggregate.struct({
    labels: Aggregate.countBy((value: { readonly label: string }) => value.label),
    quorum: Aggregate.quorum(0.5)
  })
  const reused = yield* Executor.run(tasks, agent.factory, { aggregate: standalone })
  const reached: boolean = reused.aggregate.quorum.reached

  // Inside Effect.all the run's requirements stay `Executor`, not `any`.
  const together = Effect.all([
    Executor.run(tasks, agent.factory),
    Executor.run(tasks, agent.factory, { aggregate: Aggregate.successes() })
  ], { concurrency: 2 })
  const exactlyExecutor: Equals<Effect.Effect.Context<typeof together>, Executor.Executor> = true

  const LabelNumber = Schema.Struct({ label: Schema.NumberFromString })
  const decoded = yield* Executor.run(tasks, agent.factory, {
    output: LabelNumber,
    aggregate: Aggregate.successes<typeof LabelNumber.Type>()
  })
  const numbers: Array<{ readonly label: number }> = decoded.aggregate

  const raw = Task.fromIterable<unknown>(["1", "2"])
  const fromJson = yield* Executor.run(raw, agent.factory, { input: Schema.NumberFromString })

  // @ts-expect-error tasks whose input is not the agent's need an input schema
  yield* Executor.run(raw, agent.factory)
  // @ts-expect-error an aggregate over another value type is rejected
  yield* Executor.run(tasks, agent.factory, { aggregate: Aggregate.successes<string>() })
  // @ts-expect-error the concurrency is a number or "unbounded"
  yield* Executor.run(tasks, agent.factory, { concurrency: "lots" })

  // The streaming form: results typed like run's; the input stream's error and requirements are kept.
  const streamed = Executor.stream(tasks, agent.factory)
  const streamedTypes: Equals<
    typeof streamed,
    Stream.Stream<
      TaskResult.TaskResult<{ label: string }, "too big" | AgentError.AgentError>,
      AgentError.RunOptionsError,
      Executor.Executor
    >
  > = true
  const fromStream = Executor.stream(
    Stream.fromIterable(tasks).pipe(Stream.mapError(() => "read" as const)),
    agent.factory,
    {
      output: LabelNumber
    }
  )
  const fromStreamTypes: Equals<
    typeof fromStream,
    Stream.Stream<
      TaskResult.TaskResult<{ readonly label: number }, "too big" | AgentError.AgentError>,
      AgentError.RunOptionsError | "read",
      Executor.Executor
    >
  > = true
  // @ts-expect-error a stream run has no aggregate
  Executor.stream(tasks, agent.factory, { aggregate: Aggregate.successes() })
  // @ts-expect-error tasks whose input is not the agent's need an input schema, streamed or not
  Executor.stream(raw, agent.factory)

  return [
    streamed,
    fromStream,
    streamedTypes,
    fromStreamTypes,
    values,
    results,
    nothing,
    all,
    failed,
    numbers,
    fromJson,
    counted,
    reached,
    together,
    exactlyExecutor
  ] as const
})

describe("Executor types", () => {
  it("type-checks (see tsc -b)", () => {
    assert.isTrue(Effect.isEffect(program))
  })
})
