import { type AiError, LanguageModel, Prompt, Telemetry } from "@effect/ai"
import { assert, describe, it } from "@effect/vitest"
import { Cause, Chunk, Context, Effect, Fiber, Layer, Metric, Option, Schema, Stream, TestClock } from "effect"
import * as LanguageModelAgent from "../../../services/models/LanguageModelAgent.js"
import * as OfflineLanguageModel from "../../../services/models/OfflineLanguageModel.js"
import type * as Agent from "../../../src/Agent.js"
import * as Executor from "../../../src/Executor.js"
import * as ExecutorMetrics from "../../../src/ExecutorMetrics.js"
import * as RunEvent from "../../../src/RunEvent.js"
import * as RunReport from "../../../src/RunReport.js"
import * as Task from "../../../src/Task.js"
import * as TaskResult from "../../../src/TaskResult.js"
import * as Usage from "../../../src/Usage.js"
import { uniqueName, withClock } from "../../utils.js"
import * as TestMeter from "../testMeter.js"

const Label = Schema.Struct({ label: Schema.Literal("positive", "negative") }).annotations({ identifier: "Label" })

interface Doc {
  readonly id: number
  readonly text: string
}

const docs = (count: number) =>
  Task.fromIterable(Array.from({ length: count }, (_, i): Doc => ({ id: i, text: `document number ${i}` })), {
    id: (doc) => `doc-${doc.id}`
  })

/** What the offline model was asked, and by whom. */
const recording = () => {
  const requests: Array<OfflineLanguageModel.Request> = []
  const layer = OfflineLanguageModel.layer({
    latency: "100 millis",
    answer: (request) => {
      requests.push(request)
      return request.text.includes("refuse") ? { text: `{"label":"maybe"}` } : undefined
    }
  })
  return { requests, layer }
}

const values = <A, E>(results: ReadonlyArray<TaskResult.TaskResult<A, E>>): Array<A> =>
  results.map((result) => {
    assert(TaskResult.isSucceeded(result), `expected success, got ${result._tag}: ${TaskResult.message(result)}`)
    return result.value
  })

describe("LanguageModelAgent", () => {
  describe("template", () => {
    it("replaces each {{field}} with the input's field: strings as they are, other values as JSON", () => {
      const prompt = LanguageModelAgent.template("Label {{text}} (id {{id}}, tags {{tags}}, {{text}})")
      assert.strictEqual(
        prompt({ id: 7, tags: ["a", "b"], text: "the soup" }),
        `Label the soup (id 7, tags ["a","b"], the soup)`
      )
      assert.strictEqual(LanguageModelAgent.template("no placeholders")({}), "no placeholders")
    })
  })

  describe("factory", () => {
    it.effect("runs a fresh instance per task, asks for structured output and answers the decoded value", () =>
      Effect.gen(function*() {
        const { layer, requests } = recording()
        const instances: Array<string | undefined> = []
        const classifier = LanguageModelAgent.factory({
          name: "classifier",
          system: "You label documents.",
          prompt: (doc: Doc, instance) => {
            instances.push(instance?.name)
            return `Label this: ${doc.text}`
          },
          output: Label
        })
        const report = yield* withClock(Executor.run(docs(3), classifier, { concurrency: 3, runId: "r" })).pipe(
          Effect.provide(layer)
        )
        assert.isTrue(values(report.results).every(Schema.is(Label)))
        assert.deepStrictEqual(instances, ["classifier#r/doc-0/1", "classifier#r/doc-1/1", "classifier#r/doc-2/1"])
        assert.deepStrictEqual(
          requests.map((request) => [
            request.format,
            request.objectName,
            request.text,
            request.prompt.content.map((message) => message.role).join(",")
          ]),
          [0, 1, 2].map((i) => ["json", "Label", `Label this: document number ${i}`, "system,user"])
        )
        assert.strictEqual(requests[0]!.schema, Label)
        // The prompt the agent writes out (its system message made once, the user's written out) is the one
        // `@effect/ai`'s own constructors make.
        assert.deepStrictEqual(
          requests[0]!.prompt,
          Prompt.setSystem(Prompt.make("Label this: document number 0"), "You label documents.")
        )
      }).pipe(Effect.provide(Executor.layer())))

    it.effect("answers text without an output schema", () =>
      Effect.gen(function*() {
        const summarizer = LanguageModelAgent.factory({
          name: "summarizer",
          prompt: LanguageModelAgent.template("Summarize: {{text}}")
        })
        const report = yield* withClock(Executor.run(docs(2), summarizer))
        const [first, second] = values(report.results)
        assert.isString(first)
        assert.match(first!, /^[A-Z].*\.$/)
        assert.notStrictEqual(first, second)
      }).pipe(Effect.provide(Layer.merge(Executor.layer(), OfflineLanguageModel.layer()))))

    it.scoped("streaming: each piece of text is published as the task's output before it ends; same value, same usage", () =>
      Effect.gen(function*() {
        const prompt = LanguageModelAgent.template("Summarize: {{text}}")
        const plain = LanguageModelAgent.factory({ name: "plain", prompt })
        const streaming = LanguageModelAgent.factory({ name: "streaming", prompt, stream: true })
        const events = yield* RunEvent.subscribe
        const seen = yield* events.pipe(
          Stream.takeUntil((event) => event._tag === "RunFinished" && event.runId === "s"),
          Stream.filter((event) => event.runId === "s"),
          Stream.runCollect,
          Effect.fork
        )
        const expected = yield* withClock(Executor.run(docs(2), plain, { runId: "p" }))
        const report = yield* withClock(Executor.run(docs(2), streaming, { runId: "s" }))
        assert.deepStrictEqual(values(report.results), values(expected.results))
        assert.deepStrictEqual(
          report.results.map((result) => result.usage),
          expected.results.map((result) => result.usage)
        )
        const all = Chunk.toReadonlyArray(yield* Fiber.join(seen))
        for (const result of report.results) {
          const outputs = all.filter((event) => event._tag === "TaskOutput" && event.taskId === result.taskId)
          const deltas = outputs.map((event) => event._tag === "TaskOutput" ? event.delta : "")
          // Published while the task ran, in pieces (coalesced per interval), before the event that ends it.
          assert.isAtLeast(deltas.length, 1)
          assert.strictEqual(deltas.join(""), (result as TaskResult.Succeeded<string>).value)
          const end = all.findIndex((event) => event._tag === "TaskSucceeded" && event.taskId === result.taskId)
          assert.isBelow(all.lastIndexOf(outputs.at(-1)!), end)
        }
      }).pipe(Effect.provide(Layer.mergeAll(Executor.layer(), RunEvent.layer(), OfflineLanguageModel.layer()))))

    it.effect("an explicit objectName wins over the schema's identifier", () =>
      Effect.gen(function*() {
        const { layer, requests } = recording()
        const agent = LanguageModelAgent.factory({
          name: "named",
          prompt: (doc: Doc) => doc.text,
          output: Label,
          objectName: "sentiment"
        })
        yield* withClock(Executor.run(docs(1), agent)).pipe(Effect.provide(layer))
        assert.strictEqual(requests[0]!.objectName, "sentiment")
      }).pipe(Effect.provide(Executor.layer())))

    it.effect("an answer that does not fit the schema fails the task with MalformedOutput; the run goes on", () =>
      Effect.gen(function*() {
        const { layer } = recording()
        const agent = LanguageModelAgent.factory({
          name: "strict",
          prompt: (doc: Doc) => doc.id === 1 ? `refuse ${doc.text}` : doc.text,
          output: Label
        })
        const report = yield* withClock(Executor.run(docs(3), agent)).pipe(Effect.provide(layer))
        assert.deepStrictEqual(report.results.map((result) => result._tag), ["Succeeded", "Failed", "Succeeded"])
        const failed = report.results[1]!
        assert(TaskResult.isFailed(failed))
        const error = Option.getOrThrow(Cause.failureOption(failed.cause))
        assert.strictEqual(error._tag, "MalformedOutput")
      }).pipe(Effect.provide(Executor.layer())))

    it.effect("a model slower than the task timeout: the task times out on the clock", () =>
      Effect.gen(function*() {
        const agent = LanguageModelAgent.factory({ name: "slow", prompt: (doc: Doc) => doc.text, output: Label })
        const fiber = yield* Effect.fork(Executor.run(docs(2), agent, { timeout: "1 second" }))
        yield* TestClock.adjust("1 second")
        const report = yield* Fiber.join(fiber)
        assert.deepStrictEqual(report.results.map((result) => result._tag), ["TimedOut", "TimedOut"])
        assert.deepStrictEqual(report.stats.usage, Usage.empty)
      }).pipe(
        Effect.provide(Layer.merge(Executor.layer(), OfflineLanguageModel.layer({ latency: "5 seconds" })))
      ))
  })

  describe("usage", () => {
    it.effect("each task's result has its response's usage; the report adds them up and names the offline model", () =>
      Effect.gen(function*() {
        const { layer } = recording()
        const agent = LanguageModelAgent.factory({
          name: "metered",
          prompt: (doc: Doc) => doc.id === 2 ? `refuse ${doc.text}` : doc.text,
          output: Label
        })
        const report = yield* withClock(Executor.run(docs(3), agent)).pipe(Effect.provide(layer))
        const tokens = (text: string) => OfflineLanguageModel.countTokens(text)
        // Every prompt is one user message: 3 tokens of framing, 3 of priming, and its text.
        const input = report.results.map((result) =>
          6 + tokens(`${result.taskId === "doc-2" ? "refuse " : ""}${(result.task.input as Doc).text}`)
        )
        assert.deepStrictEqual(report.results.map((result) => result.usage.inputTokens), input)
        assert.deepStrictEqual(report.results.map((result) => result.usage.requests), [1, 1, 1])
        // The answer that did not fit the schema was still a response: it is counted.
        assert.strictEqual(report.results[2]!.usage.outputTokens, tokens(`{"label":"maybe"}`))
        assert.strictEqual(
          report.stats.usage.inputTokens,
          input.reduce((a, b) => a + b, 0)
        )
        assert.deepStrictEqual(report.stats.models, ["offline"])
        assert.match(RunReport.format(report), /models\s+offline/)
      }).pipe(Effect.provide(Executor.layer())))

    it.effect("usage feeds the model metrics, tagged with the agent and the model, and the run's budget", () =>
      Effect.gen(function*() {
        const name = uniqueName("budgeted")
        const agent = LanguageModelAgent.factory({ name, prompt: (doc: Doc) => doc.text, output: Label })
        // One task at a time, against a budget of 40 tokens: tasks start while any is left, then find it spent.
        const report = yield* withClock(Executor.run(docs(5), agent, { concurrency: 1, budget: { tokens: 40 } }))
        const used = report.results.filter(TaskResult.isSucceeded).map((result) => Usage.totalTokens(result.usage))
        const total = used.reduce((a, b) => a + b, 0)
        assert.isAtLeast(used.length, 2)
        assert.isAtLeast(total, 40)
        assert.isBelow(total - used.at(-1)!, 40)
        assert.deepStrictEqual(
          report.results.map((result) => result._tag),
          [...used.map(() => "Succeeded"), ...Array.from({ length: 5 - used.length }, () => "Failed")]
        )
        for (const result of report.results.slice(used.length)) {
          assert(TaskResult.isFailed(result))
          const error = Option.getOrThrow(Cause.failureOption(result.cause))
          assert.strictEqual((error as { readonly _tag: string })._tag, "BudgetExceeded")
        }
        assert.strictEqual(Usage.totalTokens(report.stats.budget!.used), total)
        const counter = (metric: typeof ExecutorMetrics.modelInputTokens) =>
          Metric.value(metric.pipe(Metric.tagged("agent", name), Metric.tagged("model", "offline")))
        assert.strictEqual((yield* counter(ExecutorMetrics.modelRequests)).count, used.length)
        assert.strictEqual(
          (yield* counter(ExecutorMetrics.modelInputTokens)).count +
            (yield* counter(ExecutorMetrics.modelOutputTokens)).count,
          total
        )
      }).pipe(Effect.provide(Layer.merge(Executor.layer(), OfflineLanguageModel.layer()))))

    // Two calls of 1 and 2 words under a meter and an app's span transformer: what each recorded.
    const meteredCalls = <E, R>(calls: Effect.Effect<unknown, E, R>) =>
      Effect.gen(function*() {
        const { meter, records } = TestMeter.make()
        const transformed: Array<number> = []
        yield* withClock(calls).pipe(
          Effect.provideService(Usage.UsageMeter, meter),
          Effect.provideService(Telemetry.CurrentSpanTransformer, (options) => {
            transformed.push(options.response.length)
          })
        )
        assert.deepStrictEqual(records.map((record) => [record.model, record.inputTokens]), [
          ["offline", 6 + 1],
          ["offline", 6 + 2]
        ])
        return transformed
      })

    it.effect("metered records every response of an agent of your own, and keeps the app's span transformer", () =>
      Effect.gen(function*() {
        const twoCalls = Effect.gen(function*() {
          const model = yield* LanguageModel.LanguageModel
          yield* model.generateText({ prompt: "first" })
          yield* model.generateText({ prompt: "second question" })
        })
        assert.lengthOf(yield* meteredCalls(LanguageModelAgent.metered(twoCalls)), 2)
      }).pipe(Effect.provide(OfflineLanguageModel.layer())))

    it.effect("an agent records its usage and keeps the app's span transformer, text and structured alike", () =>
      Effect.gen(function*() {
        const structured = yield* LanguageModelAgent.make({ name: "s", prompt: (s: string) => s, output: Label })
        const text = yield* LanguageModelAgent.make({ name: "t", prompt: (s: string) => s })
        assert.deepStrictEqual(yield* meteredCalls(Effect.zip(structured.run("first"), text.run("second question"))), [
          3,
          3
        ])
      }).pipe(Effect.provide(OfflineLanguageModel.layer())))

    it.effect("outside a task, with no meter, nothing is recorded and nothing fails", () =>
      Effect.gen(function*() {
        const agent = yield* LanguageModelAgent.make({ name: "plain", prompt: (s: string) => s, output: Label })
        assert.isTrue(Schema.is(Label)(yield* withClock(agent.run("hello"))))
      }).pipe(Effect.provide(OfflineLanguageModel.layer())))
  })

  describe("layer", () => {
    it.effect("builds the agent under a tag of your own", () =>
      Effect.gen(function*() {
        class Classifier extends Context.Tag("Classifier")<
          Classifier,
          Agent.Agent<Doc, typeof Label.Type, AiError.AiError>
        >() {}
        const live = LanguageModelAgent.layer(Classifier, {
          name: "classifier",
          prompt: LanguageModelAgent.template("Label: {{text}}"),
          output: Label
        })
        const agent = yield* Classifier.pipe(Effect.provide(live))
        assert.strictEqual(agent.name, "classifier")
        assert.isTrue(Schema.is(Label)(yield* withClock(agent.run({ id: 0, text: "fine" }))))
      }).pipe(Effect.provide(OfflineLanguageModel.layer())))
  })
})
