import { Prompt } from "@effect/ai"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Either, Layer, Option, Schema } from "effect"
import * as AgentRegistry from "../../../services/models/AgentRegistry.js"
import * as OfflineLanguageModel from "../../../services/models/OfflineLanguageModel.js"
import * as Executor from "../../../src/Executor.js"
import * as RunReport from "../../../src/RunReport.js"
import * as Task from "../../../src/Task.js"
import { withClock } from "../../utils.js"

const documents = Task.fromIterable(
  Array.from({ length: 4 }, (_, i) => ({ text: `Sample document number ${i}` })),
  { id: (_, i) => `doc-${i}` }
)

const ModelLive = OfflineLanguageModel.layer({ answer: AgentRegistry.offlineAnswers })

describe("AgentRegistry", () => {
  it("lists the built-in agents and finds them by name", () => {
    assert.deepStrictEqual(AgentRegistry.names, ["classify", "summarize"])
    assert.strictEqual(Option.getOrThrow(AgentRegistry.find("classify")).agent.name, "classifier")
    assert.strictEqual(Option.getOrThrow(AgentRegistry.find("summarize")).agent.name, "summarizer")
    assert.isTrue(Option.isNone(AgentRegistry.find("translate")))
    for (const entry of AgentRegistry.builtIn) {
      assert.isAbove(entry.description.length, 0)
      assert.strictEqual(entry.factory.name, entry.agent.name)
      assert.strictEqual(entry.output, entry.agent.output)
    }
  })

  it("decodes documents and ignores their other fields; anything else is rejected with its path", () => {
    const decode = Schema.decodeUnknownEither(AgentRegistry.classify.input)
    assert.deepStrictEqual(decode({ id: "a", text: "Great food" }), Either.right({ text: "Great food" }))
    assert.isTrue(Either.isLeft(decode({ txt: "x" })))
    assert.isTrue(Either.isLeft(decode("x")))
  })

  it.effect("classify and summarize answer offline as the seed's simulated agents did", () =>
    Effect.gen(function*() {
      const [classified, summarized] = yield* withClock(Effect.all([
        Executor.run(documents, AgentRegistry.classify.factory),
        Executor.run(documents, AgentRegistry.summarize.factory)
      ], { concurrency: "unbounded" }))
      assert.deepStrictEqual(RunReport.successes(classified).map((value) => value.label), [
        "positive",
        "negative",
        "positive",
        "negative"
      ])
      assert.deepStrictEqual(RunReport.successes(summarized)[3], { summary: "Sample document number 3" })
      assert.deepStrictEqual(classified.stats.models, ["offline"])
    }).pipe(Effect.provide(Layer.merge(Executor.layer({ concurrency: 4 }), ModelLive))))

  it.effect("a document that ends in no number gets the offline model's own answer, which fits the schema", () =>
    Effect.gen(function*() {
      const report = yield* withClock(
        Executor.run(Task.fromIterable([{ text: "Great food" }]), AgentRegistry.classify.factory)
      )
      const [value] = RunReport.successes(report)
      assert.include(["positive", "negative"], value?.label)
      assert.isUndefined(
        AgentRegistry.offlineAnswers({
          prompt: Prompt.make("Anything"),
          text: "Anything",
          format: "text",
          objectName: undefined,
          schema: undefined
        })
      )
    }).pipe(Effect.provide(Layer.merge(Executor.layer(), ModelLive))))
})
