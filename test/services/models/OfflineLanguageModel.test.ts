import { type AiError, LanguageModel, Model, Prompt, Response, Telemetry } from "@effect/ai"
import { assert, describe, it } from "@effect/vitest"
import { Chunk, Clock, Duration, Effect, FastCheck, Fiber, Option, Schema, Stream, TestClock } from "effect"
import * as InternalLanguageModel from "../../../services/models/internal/languageModel.js"
import * as OfflineLanguageModel from "../../../services/models/OfflineLanguageModel.js"
import { withClock } from "../../utils.js"
import * as GenAI from "../genAI.js"

const Review = Schema.Struct({
  label: Schema.Literal("positive", "negative"),
  confidence: Schema.Number.pipe(Schema.between(0, 1)),
  keywords: Schema.Array(Schema.String),
  note: Schema.optional(Schema.String)
}).annotations({ identifier: "Review" })

const offline = (options?: OfflineLanguageModel.Options) => Effect.provide(OfflineLanguageModel.layer(options))

/** How long `effect` takes on the `TestClock`. */
const millisOf = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.map(Effect.timed(effect), ([duration]) => Duration.toMillis(duration))

/** The latency of each prompt's answer, all asked at once on the `TestClock`. */
const latencies = (count: number) =>
  withClock(Effect.forEach(
    Array.from({ length: count }, (_, i) => `prompt ${i}`),
    (prompt) => millisOf(LanguageModel.generateText({ prompt })),
    { concurrency: "unbounded" }
  ))

/** How long `effect` takes on the `TestClock`, and its value. */
const timed = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  withClock(Effect.map(Effect.timed(effect), ([duration, value]) => [Duration.toMillis(duration), value] as const))

const words = (text: string) => new Set(text.toLowerCase().match(/[\p{L}\p{N}'-]+/gu) ?? [])

describe("OfflineLanguageModel", () => {
  describe("answers", () => {
    it.effect("text: a sentence of the prompt's own words, the same for the same prompt", () =>
      Effect.gen(function*() {
        const prompt = "Summarize: the quarterly results beat every forecast the analysts made"
        const first = yield* withClock(LanguageModel.generateText({ prompt }))
        const again = yield* withClock(LanguageModel.generateText({ prompt }))
        const other = yield* withClock(LanguageModel.generateText({ prompt: `${prompt}, again` }))
        assert.strictEqual(first.text, again.text)
        assert.notStrictEqual(first.text, other.text)
        assert.match(first.text, /^[A-Z].*\.$/)
        const allowed = words(prompt)
        const used = [...words(first.text)]
        assert.isAtLeast(used.length, 1)
        assert.isTrue(used.every((word) => allowed.has(word)), first.text)
        assert.strictEqual(first.finishReason, "stop")
      }).pipe(offline()))

    it.effect("structured output: a value that fits the schema, the same for the same prompt", () =>
      Effect.gen(function*() {
        const prompt = "Review: the soup was cold"
        const first = yield* withClock(LanguageModel.generateObject({ prompt, schema: Review }))
        const again = yield* withClock(LanguageModel.generateObject({ prompt, schema: Review }))
        assert.isTrue(Schema.is(Review)(first.value))
        assert.deepStrictEqual(first.value, again.value)
        assert.deepStrictEqual(JSON.parse(first.text), Schema.encodeSync(Review)(first.value))
        // Other prompts give other values.
        const values = yield* withClock(Effect.forEach(
          Array.from({ length: 10 }, (_, i) => `Review number ${i}`),
          (prompt) =>
            Effect.map(LanguageModel.generateObject({ prompt, schema: Review }), (r) => JSON.stringify(r.value)),
          { concurrency: "unbounded" }
        ))
        assert.isAtLeast(new Set(values).size, 8)
      }).pipe(offline()))

    it.effect("the seed changes the answers, and the same seed keeps them", () =>
      Effect.gen(function*() {
        const ask = (seed: number) =>
          withClock(LanguageModel.generateObject({ prompt: "Review: fine", schema: Review })).pipe(
            Effect.map((response) => response.value),
            offline({ seed })
          )
        assert.deepStrictEqual(yield* ask(1), yield* ask(1))
        assert.notStrictEqual(JSON.stringify(yield* ask(1)), JSON.stringify(yield* ask(2)))
      }))

    it.effect("a schema it cannot generate a value of: MalformedOutput", () =>
      Effect.gen(function*() {
        const Opaque = Schema.Struct({ at: Schema.declare((u): u is symbol => typeof u === "symbol") })
        // Twice: what the model derives from a schema is kept per schema, failures included.
        for (const prompt of ["x", "y"]) {
          const error = yield* withClock(Effect.flip(LanguageModel.generateObject({ prompt, schema: Opaque })))
          assert.strictEqual(error._tag, "MalformedOutput")
          assert.include(error.description, "cannot generate a value of the requested schema")
        }
      }).pipe(offline()))

    it.effect("scripted answers: text, values encoded by the schema, and a value that does not fit", () =>
      Effect.gen(function*() {
        const seen: Array<OfflineLanguageModel.Request> = []
        const layer = offline({
          answer: (request) => {
            seen.push(request)
            if (request.text.includes("text")) return { text: "scripted text" }
            if (request.text.includes("value")) {
              return { value: { label: "negative", confidence: 0.25, keywords: ["cold"] } }
            }
            if (request.text.includes("wrong")) return { value: { label: "maybe" } }
            return undefined
          }
        })
        const text = yield* withClock(LanguageModel.generateText({ prompt: "say text" })).pipe(layer)
        assert.strictEqual(text.text, "scripted text")
        const value = yield* withClock(LanguageModel.generateObject({
          prompt: [{ role: "system", content: "Be brief." }, { role: "user", content: "give a value" }],
          schema: Review
        })).pipe(layer)
        assert.deepStrictEqual(value.value, { label: "negative", confidence: 0.25, keywords: ["cold"] })
        const wrong = yield* withClock(Effect.flip(LanguageModel.generateObject({ prompt: "wrong", schema: Review })))
          .pipe(layer)
        assert.strictEqual(wrong._tag, "MalformedOutput")
        const generated = yield* withClock(LanguageModel.generateObject({ prompt: "anything", schema: Review })).pipe(
          layer
        )
        assert.isTrue(Schema.is(Review)(generated.value))
        // What the script saw: the last user message's text, the format, the object's name and the schema.
        assert.deepStrictEqual(seen.map((request) => [request.text, request.format, request.objectName]), [
          ["say text", "text", undefined],
          ["give a value", "json", "generateObject"],
          ["wrong", "json", "generateObject"],
          ["anything", "json", "generateObject"]
        ])
        assert.strictEqual(seen[1]!.schema, Review)
        assert.deepStrictEqual(seen[1]!.prompt.content.map((message) => message.role), ["system", "user"])
      }))
  })

  describe("usage and metadata", () => {
    it.effect("reports tokens as a provider: each message plus its framing in, the answer out", () =>
      Effect.gen(function*() {
        const prompt = Prompt.make([
          { role: "system", content: "You are terse." },
          { role: "user", content: "Classify: the soup was cold" }
        ])
        const response = yield* withClock(LanguageModel.generateObject({ prompt, schema: Review }))
        const input = 3 + (3 + OfflineLanguageModel.countTokens("You are terse.")) +
          (3 + OfflineLanguageModel.countTokens("Classify: the soup was cold"))
        assert.strictEqual(response.usage.inputTokens, input)
        assert.strictEqual(response.usage.outputTokens, OfflineLanguageModel.countTokens(response.text))
        assert.strictEqual(response.usage.totalTokens, input + OfflineLanguageModel.countTokens(response.text))
      }).pipe(offline()))

    it.effect("names the offline model in the response metadata, and as a Model's provider", () =>
      Effect.gen(function*() {
        const response = yield* withClock(LanguageModel.generateText({ prompt: "hello" }))
        const metadata = response.content.find((part) => part.type === "response-metadata")
        assert.deepStrictEqual(metadata?.modelId, Option.some("offline"))
        assert.strictEqual(yield* Model.ProviderName, "offline")
      }).pipe(Effect.provide(OfflineLanguageModel.model())))

    it("counts tokens roughly as hosted models' tokenizers do", () => {
      assert.strictEqual(OfflineLanguageModel.countTokens(""), 0)
      assert.strictEqual(OfflineLanguageModel.countTokens("Sample document number 3"), 4)
      assert.strictEqual(OfflineLanguageModel.countTokens("Hello, world!"), 4)
      assert.strictEqual(OfflineLanguageModel.countTokens("1234567"), 3)
      assert.strictEqual(OfflineLanguageModel.countTokens("internationalization"), 2)
      assert.strictEqual(OfflineLanguageModel.countTokens(`{"label":"positive"}`), 9)
      // Letters and digits of other scripts, and other whitespace, count as in ASCII text.
      assert.strictEqual(OfflineLanguageModel.countTokens("Crème brûlée, 42 €"), 5)
      assert.strictEqual(OfflineLanguageModel.countTokens("٣٤٥٦ 日本語\u00a0!"), 4)
    })

    it("counts ASCII text as the pattern does for any text", () => {
      // ASCII text is counted by its character codes, text with any other character by the pattern: a word of one
      // letter after a space adds one token to either.
      FastCheck.assert(
        FastCheck.property(FastCheck.string({ unit: "binary-ascii", maxLength: 60 }), (text) => {
          assert.strictEqual(
            OfflineLanguageModel.countTokens(`${text} é`),
            OfflineLanguageModel.countTokens(text) + 1,
            JSON.stringify(text)
          )
        }),
        { numRuns: 2_000 }
      )
    })

    it.effect("the parts it makes for agents are those its encoded answer decodes to", () =>
      Effect.gen(function*() {
        // Each path's response parts, as a span transformer sees them: `LanguageModel`'s own methods decode what
        // the model's `generateText` encodes; the agents' path (`LanguageModelAgent`) takes the parts as made.
        const seen: Array<ReadonlyArray<unknown>> = []
        const spans: Array<ReadonlyMap<string, unknown>> = []
        const transformer: Telemetry.SpanTransformer = ({ response, span }) => {
          seen.push(response)
          spans.push(span.attributes)
        }
        const model = yield* LanguageModel.LanguageModel
        const prompt = Prompt.setSystem(Prompt.make("Classify: the soup was cold 7"), "You are terse.")
        const paths: Array<Effect.Effect<unknown, AiError.AiError, LanguageModel.LanguageModel>> = [
          withClock(LanguageModel.generateObject({ prompt, schema: Review })),
          withClock(InternalLanguageModel.generateObject(model, { prompt, schema: Review })),
          withClock(LanguageModel.generateText({ prompt })),
          withClock(InternalLanguageModel.generateText(model, { prompt }))
        ]
        for (const path of paths) {
          // Each at the same time, for the same timestamp.
          yield* TestClock.setTime(0)
          yield* Effect.provideService(path, Telemetry.CurrentSpanTransformer, transformer)
        }
        assert.strictEqual(seen.length, 4)
        assert.deepStrictEqual(seen[1], seen[0])
        assert.deepStrictEqual(seen[3], seen[2])
        assert.notDeepEqual(seen[2], seen[0])
        const finish = seen[1]!.find((part) => (part as Response.Part<{}>).type === "finish") as Response.FinishPart
        assert.instanceOf(finish.usage, Response.Usage)
        assert.isTrue(finish.usage.inputTokens! > 0)
        // The span has the attributes `Telemetry.addGenAIAnnotations` gives, with the answer's id and usage.
        const metadata = seen[1]!.find((part) =>
          (part as Response.Part<{}>).type === "response-metadata"
        ) as Response.ResponseMetadataPart
        const expected = GenAI.expected({
          system: "offline",
          operation: { name: "chat" },
          request: { model: "offline" },
          response: { id: Option.getOrThrow(metadata.id), model: "offline", finishReasons: ["stop"] },
          usage: { inputTokens: finish.usage.inputTokens, outputTokens: finish.usage.outputTokens }
        })
        assert.deepStrictEqual(GenAI.of(spans[1]!), expected)
      }).pipe(offline({ latency: 5 })))
  })

  describe("latency, on the Clock", () => {
    it.effect("a fixed latency: nothing before it, the answer at it", () =>
      Effect.gen(function*() {
        const fiber = yield* Effect.fork(LanguageModel.generateText({ prompt: "hello" }))
        yield* TestClock.adjust("249 millis")
        assert.isNull(fiber.unsafePoll())
        yield* TestClock.adjust("1 millis")
        assert.strictEqual((yield* Fiber.join(fiber)).finishReason, "stop")
      }).pipe(offline({ latency: "250 millis" })))

    it.effect("by default, between 100 and 120 ms, the same for the same prompt", () =>
      Effect.gen(function*() {
        const millis = yield* latencies(50)
        assert.isTrue(millis.every((millis) => millis >= 100 && millis <= 120), String(millis))
        assert.isAtLeast(new Set(millis).size, 15)
        const [again] = yield* timed(LanguageModel.generateText({ prompt: "prompt 7" }))
        assert.strictEqual(again, millis[7])
      }).pipe(offline()))

    it.effect("log-normal: half the requests under the median, and a long tail", () =>
      Effect.gen(function*() {
        const millis = yield* latencies(200)
        const sorted = [...millis].sort((a, b) => a - b)
        assert.closeTo(sorted[100]!, 800, 100)
        // With sigma 0.5, 5% of the requests take more than 2.3 times the median.
        const slow = millis.filter((millis) => millis > 800 * 2.3).length
        assert.isAtLeast(slow, 3)
        assert.isAtMost(slow, 20)
      }).pipe(offline({ latency: OfflineLanguageModel.logNormalLatency({ median: "800 millis", sigma: 0.5 }) })))

    it.effect("a uniform latency stays within its bounds", () =>
      Effect.gen(function*() {
        const millis = yield* latencies(50)
        assert.isTrue(millis.every((millis) => millis >= 1000 && millis <= 3000), String(millis))
        assert.isBelow(Math.min(...millis), 1400)
        assert.isAbove(Math.max(...millis), 2600)
      }).pipe(offline({ latency: OfflineLanguageModel.uniformLatency("1 second", "3 seconds") })))

    it.effect("a latency that depends on the request", () =>
      Effect.gen(function*() {
        const [long] = yield* timed(LanguageModel.generateText({ prompt: "write the full report" }))
        const [short] = yield* timed(LanguageModel.generateText({ prompt: "vote: yes or no?" }))
        const [drawn] = yield* timed(LanguageModel.generateText({ prompt: "anything else" }))
        assert.deepStrictEqual([long, short], [900, 40])
        assert.isTrue(drawn >= 100 && drawn <= 120, String(drawn))
      }).pipe(offline({
        latency: (request) =>
          request.text.includes("report")
            ? "900 millis"
            : request.text.startsWith("vote")
            ? Duration.millis(40)
            : OfflineLanguageModel.defaultLatency
      })))

    it.effect("time per output token comes on top", () =>
      Effect.gen(function*() {
        const [millis, response] = yield* timed(LanguageModel.generateText({ prompt: "hello there" }))
        assert.strictEqual(millis, 200 + 10 * response.usage.outputTokens!)
      }).pipe(offline({ latency: "200 millis", perOutputToken: "10 millis" })))
  })

  it.effect("streams one delta per word, joined to the text generateText gives, then the usage", () =>
    Effect.gen(function*() {
      const prompt = "Tell me about the weather in Lisbon in spring"
      const whole = yield* withClock(LanguageModel.generateText({ prompt }))
      const [millis, parts] = yield* timed(
        Effect.map(Stream.runCollect(LanguageModel.streamText({ prompt })), Chunk.toArray)
      )
      const deltas = parts.flatMap((part) => part.type === "text-delta" ? [part.delta] : [])
      assert.strictEqual(deltas.join(""), whole.text)
      assert.strictEqual(deltas.length, whole.text.split(" ").length)
      assert.deepStrictEqual(parts.map((part) => part.type).filter((type) => type !== "text-delta"), [
        "response-metadata",
        "text-start",
        "text-end",
        "finish"
      ])
      const finish = parts.at(-1)!
      assert(finish.type === "finish")
      assert.deepStrictEqual(finish.usage, whole.usage)
      // The words spread over the latency, each also after its tokens' time: as long as generateText takes.
      assert.strictEqual(millis, 50 + 2 * whole.usage.outputTokens!)
    }).pipe(offline({ latency: "50 millis", perOutputToken: "2 millis" })))

  it.effect("streams its words over the latency, the last one at its end", () =>
    Effect.gen(function*() {
      const prompt = "Describe the harbour at dawn with its boats and gulls"
      const arrivals = yield* withClock(
        LanguageModel.streamText({ prompt }).pipe(
          Stream.filter((part) => part.type === "text-delta"),
          Stream.mapEffect(() => Clock.currentTimeMillis),
          Stream.runCollect,
          Effect.map(Chunk.toArray)
        )
      )
      const n = arrivals.length
      assert.isAtLeast(n, 8)
      // Evenly spread over the 1,000 ms: the first word after about 1000 / n, half of them by 500 ms.
      assert.deepStrictEqual(arrivals, arrivals.map((_, i) => Math.round((1000 * (i + 1)) / n)))
      assert.strictEqual(arrivals.at(-1), 1000)
    }).pipe(offline({ latency: "1 second" })))
})
