import { assert, describe, it } from "@effect/vitest"
import { Effect, Either, Schema, TestClock } from "effect"
import * as InternalSchema from "../../src/internal/schema.js"
import * as TaskFile from "../../src/TaskFile.js"

interface Tree {
  readonly children: ReadonlyArray<Tree>
}
const Tree: Schema.Schema<Tree> = Schema.Struct({ children: Schema.Array(Schema.suspend(() => Tree)) })

const Document = Schema.Struct({
  text: Schema.String.pipe(Schema.maxLength(50)),
  tags: Schema.optional(Schema.Array(Schema.String))
})

describe("internal/schema", () => {
  it("isPlain: types, filters and compositions of these only; no other transformation, declaration or recursion", () => {
    const plain = [
      Schema.Literal("positive", "negative"),
      Document,
      Schema.Tuple(Schema.Number, Schema.Boolean),
      Schema.Record({ key: Schema.String, value: Schema.Union(Schema.Number, Schema.Null) }),
      // A task file's input: a filter on the line, composed with the agent's schema.
      TaskFile.input(Document),
      Schema.compose(Schema.Unknown, Schema.String, { strict: false })
    ]
    const notPlain = [
      Schema.NumberFromString,
      Schema.Struct({ n: Schema.NumberFromString }),
      Schema.Struct({ at: Schema.DateFromSelf }),
      Tree,
      Schema.Array(Schema.Struct({ trimmed: Schema.Trim })),
      Schema.compose(Schema.String, Schema.NumberFromString),
      TaskFile.input(Schema.Struct({ n: Schema.NumberFromString })),
      Schema.compose(Schema.Trim, Schema.String.pipe(Schema.maxLength(3)))
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
        null,
        new TaskFile.BadLine({ line: 3, message: "not JSON: Unexpected token" })
      ]
      const schemas = [
        Document,
        TaskFile.input(Document),
        Schema.Struct({ n: Schema.NumberFromString }),
        TaskFile.input(Schema.Struct({ n: Schema.NumberFromString }))
      ] as const
      for (const schema of schemas) {
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
