import { LanguageModel, Prompt } from "@effect/ai"
import { Command, FetchHttpClient, FileSystem } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Effect, Either, Layer, Option, Schema, Stream } from "effect"
import { createRequire } from "node:module"
import * as path from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"
import * as AgentModel from "../../../services/models/AgentModel.js"
import * as AgentRegistry from "../../../services/models/AgentRegistry.js"
import * as OfflineLanguageModel from "../../../services/models/OfflineLanguageModel.js"
import * as Executor from "../../../src/Executor.js"
import * as RunReport from "../../../src/RunReport.js"
import * as Task from "../../../src/Task.js"
import * as TaskResult from "../../../src/TaskResult.js"
import { withClock } from "../../utils.js"

const root = fileURLToPath(new URL("../../..", import.meta.url))

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

  it.effect("classify and summarize answer offline by their fixed rule: even numbers positive, summaries the first 50 characters", () =>
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

  it.scopedLive("classify gives the same labels offline from the command line and from AgentModel.layerConfig()", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const input = path.join(root, "examples", "data", "documents.jsonl")
      const documents = (yield* fs.readFileString(input)).trim().split("\n").map((line) =>
        JSON.parse(line) as { readonly id: string; readonly text: string }
      )

      // The command line, as `npm start` runs it.
      const output = path.join(yield* fs.makeTempDirectoryScoped(), "results.jsonl")
      const cli = yield* Command.make(
        "node",
        "--import",
        pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href,
        path.join(root, "services", "bin", "parallel-agents.ts"),
        ...["run", "--input", input, "--agent", "classify", "--output", output]
      ).pipe(
        Command.env({
          TSX_TSCONFIG_PATH: path.join(root, "tsconfig.json"),
          AGENT_MODEL: "offline",
          OPENAI_API_KEY: "",
          OPENAI_BASE_URL: "",
          AGENT_OFFLINE_LATENCY: "1 millis"
        }),
        Command.start
      )
      const [stderr, exitCode] = yield* Effect.all([
        Stream.mkString(Stream.decodeText(cli.stderr)),
        cli.exitCode
      ], { concurrency: "unbounded" })
      assert.strictEqual(exitCode, 0, stderr)
      const fromCli = new Map(
        (yield* fs.readFileString(output)).trim().split("\n").map((line) => {
          const result = JSON.parse(line) as { readonly id: string; readonly value: { readonly label: string } }
          return [result.id, result.value.label]
        })
      )

      // A program of one's own, with the model configuration chooses and nothing configured.
      const report = yield* Executor.run(
        documents.map((document) => Task.make({ id: document.id, input: { text: document.text } })),
        AgentRegistry.classify.factory,
        { concurrency: "unbounded" }
      ).pipe(
        Effect.provide(Layer.merge(
          Executor.layer(),
          AgentModel.layerConfig({ offline: { latency: "1 millis" } }).pipe(
            Layer.provide(
              Layer.merge(FetchHttpClient.layer, Layer.setConfigProvider(ConfigProvider.fromMap(new Map())))
            )
          )
        ))
      )
      const fromProgram = new Map(
        report.results.filter(TaskResult.isSucceeded).map((result) => [result.taskId, result.value.label])
      )

      assert.strictEqual(fromCli.size, 40)
      assert.deepStrictEqual(fromProgram, fromCli)
      // The fixed rule, not generated labels: an even number is positive.
      assert.deepStrictEqual(
        documents.map((document) => fromCli.get(document.id)),
        documents.map((_, i) => i % 2 === 0 ? "positive" : "negative")
      )
    }).pipe(Effect.provide(NodeContext.layer)))

  it.effect("AgentModel's offline model: the app's own answers first, the fixed rule only for the built-in schemas", () =>
    Effect.gen(function*() {
      const texts = [2, 3, 4, 5, 6, 7].map((n) => `Sample document number ${n}`)
      const report = yield* withClock(Executor.run(
        Task.fromIterable([...texts, "Scripted document number 2"].map((text) => ({ text }))),
        AgentRegistry.classify.factory
      ))
      assert.deepStrictEqual(RunReport.successes(report).map((value) => value.label), [
        "positive",
        "negative",
        "positive",
        "negative",
        "positive",
        "negative",
        "negative"
      ])
      // A schema of the app's own, named like a built-in one: the model's generated answer, which fits it.
      const Summary = Schema.Struct({ title: Schema.String, points: Schema.Array(Schema.Number) }).annotations({
        identifier: "Summary"
      })
      const own = yield* withClock(
        LanguageModel.generateObject({ prompt: "Document: number 2", schema: Summary, objectName: "Summary" })
      )
      assert.isTrue(Schema.is(Summary)(own.value))
    }).pipe(Effect.provide(Layer.merge(
      Executor.layer(),
      AgentModel.layer({
        offline: {
          answer: (request) => request.text.includes("Scripted") ? { value: { label: "negative" } } : undefined
        }
      }).pipe(Layer.provide(FetchHttpClient.layer))
    ))))

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
