import { AiError, LanguageModel, Response, Telemetry, Toolkit } from "@effect/ai"
import { assert, describe, it } from "@effect/vitest"
import { Cause, Clock, Effect, Exit, Option, ParseResult, Schema, TestClock, Tracer } from "effect"
import * as InternalLanguageModel from "../../../../services/models/internal/languageModel.js"
import * as OfflineLanguageModel from "../../../../services/models/OfflineLanguageModel.js"

// `generateObject` calls the provider of a model built by `InternalLanguageModel.make` with codecs built once. These
// tests hold it to what it replaces: for every outcome, the same value or error, the same spans (names,
// attributes, parents, status) and the same span transformer call as `LanguageModel.generateObject` on the same
// model.

const Label = Schema.Struct({ label: Schema.Literal("positive", "negative") }).annotations({ identifier: "Label" })

/** The offline model, with answers scripted by the prompt. */
const offline = OfflineLanguageModel.make({
  latency: 0,
  answer: (request) =>
    request.text === "fits"
      ? { value: { label: "negative" } }
      : request.text === "off-schema"
      ? { text: JSON.stringify({ label: "maybe" }) }
      : request.text === "not-json"
      ? { text: "Sure! It is positive." }
      : undefined
})

/** A provider answering `parts`, or failing with `error`. */
const scripted = (answer: Effect.Effect<Array<Response.PartEncoded>, AiError.AiError>) =>
  InternalLanguageModel.make({ generateText: () => answer, streamText: () => Effect.die("not used") as never })

interface Observed {
  readonly exit: string
  readonly spans: ReadonlyArray<unknown>
  readonly transformed: ReadonlyArray<unknown>
}

/** Runs `call` with a tracer and a span transformer that record everything, and describes what they saw. */
const observe = <A>(call: Effect.Effect<A, AiError.AiError>): Effect.Effect<Observed> =>
  Effect.gen(function*() {
    const native = yield* Effect.tracer
    const spans: Array<Tracer.Span> = []
    const tracer = Tracer.make({
      span: (name, parent, context, links, startTime, kind, options) => {
        const span = native.span(name, parent, context, links, startTime, kind, options)
        spans.push(span)
        return span
      },
      context: (f, fiber) => native.context(f, fiber)
    })
    const transformed: Array<unknown> = []
    const exit = yield* Effect.exit(call).pipe(
      Effect.withTracer(tracer),
      Effect.provideService(Telemetry.CurrentSpanTransformer, (options) => {
        transformed.push({
          responseFormat: options.responseFormat.type,
          objectName: options.responseFormat.type === "json" ? options.responseFormat.objectName : undefined,
          toolChoice: options.toolChoice,
          tools: options.tools.length,
          prompt: options.prompt.content.length,
          // Timestamps are the clock's: the same under the test clock.
          response: JSON.parse(JSON.stringify(options.response))
        })
      })
    )
    const nameOf = (span: Tracer.AnySpan | undefined) => span?._tag === "Span" ? span.name : undefined
    return {
      exit: Exit.match(exit, {
        onSuccess: (value) => `success ${JSON.stringify(value)}`,
        onFailure: (cause) => {
          const error = Cause.squash(cause)
          return AiError.isAiError(error)
            ? `${error._tag} ${JSON.stringify({ ...error, cause: String((error as { cause?: unknown }).cause) })}`
            : `defect ${String(error)}`
        }
      }),
      spans: spans.map((span) => ({
        name: span.name,
        parent: Option.getOrUndefined(Option.map(span.parent, nameOf)),
        attributes: Object.fromEntries(span.attributes),
        status: span.status._tag === "Ended" ? Exit.isSuccess(span.status.exit) : "open"
      })),
      transformed
    }
  })

const same = (
  model: Effect.Effect<LanguageModel.Service>,
  options: { readonly prompt: string; readonly objectName?: string }
) =>
  Effect.gen(function*() {
    const service = yield* model
    const request = { prompt: options.prompt, schema: Label, objectName: options.objectName }
    const fast = yield* observe(InternalLanguageModel.generateObject(service, request))
    const reference = yield* observe(
      Effect.map(
        service.generateObject({
          prompt: options.prompt,
          schema: Label,
          ...(options.objectName === undefined ? {} : { objectName: options.objectName })
        }),
        (response) => response.value
      )
    )
    assert.deepStrictEqual(fast, reference)
    return fast
  })

const sameText = (model: Effect.Effect<LanguageModel.Service>, prompt: string) =>
  Effect.gen(function*() {
    const service = yield* model
    const fast = yield* observe(InternalLanguageModel.generateText(service, { prompt }))
    const reference = yield* observe(Effect.map(service.generateText({ prompt }), (response) => response.text))
    assert.deepStrictEqual(fast, reference)
    return fast
  })

describe("InternalLanguageModel.generateText", () => {
  it.effect("an answer: its text, with the same spans and span transformer call", () =>
    Effect.gen(function*() {
      const seen = yield* sameText(offline, "Write a sentence about the sea")
      assert.match(seen.exit, /^success "\w/)
      assert.deepStrictEqual(seen.spans.map((span) => (span as { name: string }).name), ["LanguageModel.generateText"])
      assert.lengthOf(seen.transformed, 1)
    }))

  it.effect("no text, parts that are not response parts, a failure of the provider: the same outcome", () =>
    Effect.gen(function*() {
      const finish: Response.PartEncoded = {
        type: "finish",
        reason: "stop",
        usage: { inputTokens: 1, outputTokens: 0, totalTokens: 1 }
      }
      assert.strictEqual((yield* sameText(scripted(Effect.succeed([finish])), "hello")).exit, `success ""`)
      const invalid = scripted(Effect.succeed([{ type: "no-such-part" } as unknown as Response.PartEncoded]))
      assert.match((yield* sameText(invalid, "hello")).exit, /^MalformedOutput /)
      const error = new AiError.MalformedInput({ module: "Test", method: "generateText", description: "refused" })
      assert.match((yield* sameText(scripted(Effect.fail(error)), "hello")).exit, /^MalformedInput /)
    }))

  it.effect("a model built here whose generateText a wrapper replaced goes through the wrapper", () =>
    Effect.gen(function*() {
      const model = yield* offline
      let calls = 0
      const wrapped: LanguageModel.Service = {
        ...model,
        generateText: (options) => {
          calls++
          return model.generateText(options)
        }
      }
      yield* InternalLanguageModel.generateText(wrapped, { prompt: "hello" })
      assert.strictEqual(calls, 1)
    }))
})

describe("InternalLanguageModel.generateObject", () => {
  it.effect("an answer that fits: the value, with the same spans and span transformer call", () =>
    Effect.gen(function*() {
      const seen = yield* same(offline, { prompt: "fits", objectName: "Label" })
      assert.strictEqual(seen.exit, `success ${JSON.stringify({ label: "negative" })}`)
      assert.deepStrictEqual(seen.spans.map((span) => (span as { name: string }).name), [
        "LanguageModel.generateObject"
      ])
      assert.lengthOf(seen.transformed, 1)
    }))

  it.effect("the object name by default, and a generated answer", () =>
    Effect.gen(function*() {
      const seen = yield* same(offline, { prompt: "anything at all" })
      assert.match(seen.exit, /^success/)
    }))

  it.effect("an answer off the schema, and one that is not JSON: the same MalformedOutput", () =>
    Effect.gen(function*() {
      for (const prompt of ["off-schema", "not-json"]) {
        const seen = yield* same(offline, { prompt, objectName: "Label" })
        assert.match(seen.exit, /^MalformedOutput .*Generated object failed to conform to provided schema/)
      }
    }))

  it.effect("no text in the answer: the same MalformedOutput", () =>
    Effect.gen(function*() {
      const seen = yield* same(
        scripted(
          Effect.succeed([{
            type: "finish",
            reason: "stop",
            usage: { inputTokens: 1, outputTokens: 0, totalTokens: 1 }
          }])
        ),
        { prompt: "hello" }
      )
      assert.match(seen.exit, /^MalformedOutput .*No object was generated/)
    }))

  it.effect("parts that are not response parts: the same MalformedOutput", () =>
    Effect.gen(function*() {
      const seen = yield* same(
        scripted(Effect.succeed([{ type: "no-such-part" } as unknown as Response.PartEncoded])),
        { prompt: "hello" }
      )
      assert.match(seen.exit, /^MalformedOutput /)
    }))

  it.effect("a failure of the provider: the same error", () =>
    Effect.gen(function*() {
      const error = new AiError.MalformedInput({ module: "Test", method: "generateText", description: "refused" })
      const seen = yield* same(scripted(Effect.fail(error)), { prompt: "hello" })
      assert.match(seen.exit, /^MalformedInput .*refused/)
      assert.lengthOf(seen.transformed, 0)
    }))

  it.effect("a span the provider makes is a child of the call's span, whether it makes its parts itself or not", () =>
    Effect.gen(function*() {
      const answer: Array<Response.PartEncoded> = [
        { type: "text", text: JSON.stringify({ label: "positive" }) },
        { type: "finish", reason: "stop", usage: { inputTokens: 1, outputTokens: 1, totalTokens: 2 } }
      ]
      const request = Effect.withSpan(Effect.succeed(answer), "provider.request")
      const decode = Schema.decodeUnknown(Schema.mutable(Schema.Array(Response.Part(Toolkit.empty))))
      const models = [
        scripted(request),
        // A provider that makes its parts itself, as `compat:` does, in a span of its own.
        InternalLanguageModel.make({ generateText: () => request, streamText: () => Effect.die("not used") as never }, {
          generateParts: () => Effect.orDie(Effect.flatMap(request, decode))
        })
      ]
      for (const model of models) {
        const seen = yield* same(model, { prompt: "hello" })
        assert.deepStrictEqual(seen.spans.map((span) => (span as { parent: unknown }).parent), [
          undefined,
          "LanguageModel.generateObject"
        ])
      }
    }))

  it.effect("a schema whose decoding runs an effect decodes in the caller's fiber (its clock, here the test clock)", () =>
    Effect.gen(function*() {
      const Stamped = Schema.Struct({
        label: Schema.Literal("positive", "negative"),
        at: Schema.transformOrFail(Schema.String, Schema.Number, {
          strict: true,
          decode: () => Clock.currentTimeMillis,
          encode: (n) => ParseResult.succeed(String(n))
        })
      })
      const model = yield* OfflineLanguageModel.make({
        latency: 0,
        answer: () => ({ text: JSON.stringify({ label: "positive", at: "now" }) })
      })
      yield* TestClock.adjust("1234 millis")
      const value = yield* InternalLanguageModel.generateObject(model, { prompt: "hello", schema: Stamped })
      assert.deepStrictEqual(value, { label: "positive", at: 1234 })
    }))

  it.effect("a model built here whose generateObject a wrapper replaced goes through the wrapper", () =>
    Effect.gen(function*() {
      const model = yield* offline
      let calls = 0
      const wrapped: LanguageModel.Service = {
        ...model,
        generateObject: (options) => {
          calls++
          return model.generateObject(options)
        }
      }
      const value = yield* InternalLanguageModel.generateObject(wrapped, { prompt: "fits", schema: Label })
      assert.deepStrictEqual(value, { label: "negative" })
      assert.strictEqual(calls, 1)
    }))

  it.effect("a model built elsewhere goes through its own generateObject", () =>
    Effect.gen(function*() {
      const model = yield* LanguageModel.make({
        generateText: () =>
          Effect.succeed([
            { type: "text", text: JSON.stringify({ label: "positive" }) },
            { type: "finish", reason: "stop", usage: { inputTokens: 1, outputTokens: 1, totalTokens: 2 } }
          ]),
        streamText: () => Effect.die("not used") as never
      })
      let calls = 0
      const counted: LanguageModel.Service = {
        ...model,
        generateObject: (options) => {
          calls++
          return model.generateObject(options)
        }
      }
      const value = yield* InternalLanguageModel.generateObject(counted, { prompt: "hello", schema: Label })
      assert.deepStrictEqual(value, { label: "positive" })
      assert.strictEqual(calls, 1)
    }))
})
