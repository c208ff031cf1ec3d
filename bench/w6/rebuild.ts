/**
 * The upstream report's reproduction (bench/README.md, "W6: the per-call rebuild in @effect/ai"):
 * `node build/bench/w6/rebuild.js` prints the CPU per call of `LanguageModel.generateObject` over a provider that
 * answers at once, and of its decoding alone, with its two schemas built on every call (as it does) and built once.
 */
import * as LanguageModel from "@effect/ai/LanguageModel"
import * as Response from "@effect/ai/Response"
import * as Toolkit from "@effect/ai/Toolkit"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"

const Label = Schema.Struct({ label: Schema.Literal("positive", "negative") })
const parts: Array<Response.PartEncoded> = [
  { type: "text", text: "{\"label\":\"positive\"}" },
  { type: "finish", reason: "stop", usage: { inputTokens: 1, outputTokens: 1, totalTokens: 2 } }
]

const perCall = <A, E>(label: string, call: Effect.Effect<A, E>) =>
  Effect.gen(function*() {
    for (let i = 0; i < 2_000; i++) yield* call
    const start = process.cpuUsage()
    for (let i = 0; i < 20_000; i++) yield* call
    const used = process.cpuUsage(start)
    console.log(`${label.padEnd(34)} ${((used.user + used.system) / 20_000).toFixed(1)} µs of CPU per call`)
  })

const textOf = (content: ReadonlyArray<Response.Part<{}>>) => content[0]?.type === "text" ? content[0].text : ""

// What generateObject does once the provider has answered, building both schemas on every call, as it does.
const rebuilt = Effect.gen(function*() {
  const content = yield* Schema.decodeUnknown(Schema.mutable(Schema.Array(Response.Part(Toolkit.empty))))(parts)
  return yield* Schema.decode(Schema.parseJson(Label))(textOf(content))
})

// The same with both schemas built once.
const Parts = Schema.mutable(Schema.Array(Response.Part(Toolkit.empty)))
const LabelJson = Schema.parseJson(Label)
const once = Effect.gen(function*() {
  const content = yield* Schema.decodeUnknown(Parts)(parts)
  return yield* Schema.decode(LabelJson)(textOf(content))
})

await Effect.runPromise(Effect.gen(function*() {
  const model = yield* LanguageModel.make({ generateText: () => Effect.succeed(parts), streamText: () => Stream.empty })
  yield* perCall("generateObject", model.generateObject({ prompt: "Classify", schema: Label }))
  yield* perCall("its decoding, schemas rebuilt", rebuilt)
  yield* perCall("its decoding, schemas built once", once)
}))
