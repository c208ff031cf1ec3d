import { assert, describe, it } from "@effect/vitest"
import { Effect, Either, Schema, TestClock } from "effect"
import * as InternalSchema from "../../src/internal/schema.js"

interface Tree {
  readonly children: ReadonlyArray<Tree>
}
const Tree: Schema.Schema<Tree> = Schema.Struct({ children: Schema.Array(Schema.suspend(() => Tree)) })

const Document = Schema.Struct({
  text: Schema.String.pipe(Schema.maxLength(50)),
  tags: Schema.optional(Schema.Array(Schema.String))
})

describe("internal/schema", () => {
  it("isPlain: types and filters only, no transformation, declaration or recursion", () => {
    const plain = [
      Schema.Literal("positive", "negative"),
      Document,
      Schema.Tuple(Schema.Number, Schema.Boolean),
      Schema.Record({ key: Schema.String, value: Schema.Union(Schema.Number, Schema.Null) })
    ]
    const notPlain = [
      Schema.NumberFromString,
      Schema.Struct({ n: Schema.NumberFromString }),
      Schema.Struct({ at: Schema.DateFromSelf }),
      Tree,
      Schema.Array(Schema.Struct({ trimmed: Schema.Trim }))
    ]
    for (const schema of plain) assert.isTrue(InternalSchema.isPlain(schema.ast), String(schema.ast))
    for (const schema of notPlain) assert.isFalse(InternalSchema.isPlain(schema.ast), String(schema.ast))
  })

  it.effect("decodeUnknown gives what Schema.decodeUnknown gives: the value, or the same error with every issue", () =>
    Effect.gen(function*() {
      const options = { errors: "all" } as const
      const inputs: Array<unknown> = [
        { text: "short", tags: ["a"] },
        { text: "x".repeat(51), tags: [1] },
        { txt: "a typo" },
        [1, 2],
        null
      ]
      for (const schema of [Document, Schema.Struct({ n: Schema.NumberFromString })] as const) {
        const ours = InternalSchema.decodeUnknown(schema as Schema.Schema<unknown, unknown>, options)
        const theirs = Schema.decodeUnknown(schema as Schema.Schema<unknown, unknown>, options)
        for (const input of [...inputs, { n: "12" }, { n: "twelve" }]) {
          const a = yield* Effect.either(ours(input))
          const b = yield* Effect.either(theirs(input))
          assert.deepStrictEqual(
            Either.mapLeft(a, (error) => error.message),
            Either.mapLeft(b, (error) => error.message),
            JSON.stringify(input)
          )
        }
      }
    }))

  it.effect("a schema whose transformation runs an effect is still decoded in the caller's fiber", () =>
    Effect.gen(function*() {
      const Stamped = Schema.transformOrFail(Schema.String, Schema.String, {
        strict: true,
        decode: (s) => Effect.map(Effect.sleep("1 millis"), () => `${s}!`),
        encode: (s) => Effect.succeed(s)
      })
      const fiber = yield* Effect.fork(InternalSchema.decodeUnknown(Stamped)("hi"))
      yield* TestClock.adjust("1 millis")
      assert.strictEqual(yield* fiber, "hi!")
    }))
})
