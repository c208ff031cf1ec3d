import { assert, describe, it } from "@effect/vitest"
import { Effect, FastCheck } from "effect"
import { createHash } from "node:crypto"
import * as RunJournal from "../src/RunJournal.js"
import { journalSuite, readAll } from "./services/store/journalSuite.js"

journalSuite({
  name: "memory",
  persistent: false,
  concurrentOpen: true,
  store: Effect.map(RunJournal.makeMemory, (journal) => ({ open: () => Effect.succeed(journal) }))
})

describe("RunJournal", () => {
  it.effect("layerMemory provides a journal", () =>
    Effect.gen(function*() {
      const journal = yield* RunJournal.RunJournal
      yield* journal.record("run", { taskId: "t", inputHash: "h", outcome: "Succeeded", result: { value: 1 } })
      assert.deepStrictEqual((yield* journal.runs).map((run) => run.recorded.total), [1])
    }).pipe(Effect.provide(RunJournal.layerMemory)))

  it.effect("the memory journal keeps a copy: changing a recorded value afterwards changes nothing", () =>
    Effect.gen(function*() {
      const journal = yield* RunJournal.makeMemory
      const result = { labels: ["a"] }
      yield* journal.record("run", { taskId: "t", inputHash: "h", outcome: "Succeeded", result })
      result.labels.push("b")
      const [entry] = yield* readAll(journal, "run")
      assert.deepStrictEqual(entry?.result, { labels: ["a"] })
    }))
})

describe("RunJournal.canonicalJson", () => {
  it.effect("sorts the keys of every object, keeps arrays in order, writes what JSON.stringify writes", () =>
    Effect.gen(function*() {
      assert.strictEqual(
        yield* RunJournal.canonicalJson({ b: 1, a: [3, { z: null, y: "ü" }], c: { e: true, d: -1.5e-7 } }),
        `{"a":[3,{"y":"ü","z":null}],"b":1,"c":{"d":-1.5e-7,"e":true}}`
      )
      // Keys are sorted by UTF-16 code units, integer-like keys included (JSON.stringify puts those first).
      assert.strictEqual(yield* RunJournal.canonicalJson({ b: 1, 10: 2, 9: 3, A: 4 }), `{"10":2,"9":3,"A":4,"b":1}`)
      // As JSON.stringify: undefined and functions are left out of objects and are null in arrays; numbers that
      // are not finite are null; toJSON is called; boxed primitives are unboxed.
      assert.strictEqual(
        yield* RunJournal.canonicalJson({
          u: undefined,
          f: () => 1,
          list: [undefined, NaN, Infinity, -0],
          date: new Date(0),
          boxed: [new String("s"), new Number(2), new Boolean(false)]
        }),
        `{"boxed":["s",2,false],"date":"1970-01-01T00:00:00.000Z","list":[null,null,null,0]}`
      )
      assert.strictEqual(yield* RunJournal.canonicalJson("a\u0000\"b"), JSON.stringify("a\u0000\"b"))
    }))

  it.effect("fails with Encode for what JSON cannot write", () =>
    Effect.gen(function*() {
      const cyclic: Record<string, unknown> = { a: 1 }
      cyclic["self"] = { back: cyclic }
      for (
        const [value, description] of [
          [{ n: 10n }, `cannot write the value as JSON: a bigint at "n"`],
          [cyclic, `cannot write the value as JSON: a circular reference at "back"`],
          [undefined, "cannot write the value as JSON: it is undefined"],
          [() => 1, "cannot write the value as JSON: it is function"]
        ] as const
      ) {
        const error = yield* Effect.flip(RunJournal.canonicalJson(value))
        assert.strictEqual(error.reason, "Encode")
        assert.strictEqual(error.description, description)
      }
      // A value seen twice without a cycle is fine.
      const shared = { x: 1 }
      assert.strictEqual(yield* RunJournal.canonicalJson([shared, shared]), `[{"x":1},{"x":1}]`)
    }))

  it.effect.prop(
    "equals JSON.stringify of the value with its keys sorted",
    [FastCheck.jsonValue({ maxDepth: 4 })],
    ([value]) =>
      Effect.gen(function*() {
        const sortKeys = (v: unknown): unknown =>
          Array.isArray(v)
            ? v.map(sortKeys)
            : v !== null && typeof v === "object"
            ? Object.fromEntries(
              Object.keys(v).sort().map((k) => [k, sortKeys((v as Record<string, unknown>)[k])])
            )
            : v
        const canonical = yield* RunJournal.canonicalJson(value)
        assert.deepStrictEqual(JSON.parse(canonical), JSON.parse(JSON.stringify(value)))
        // Reading it back and writing it again gives the same text, whatever the keys' order was.
        assert.strictEqual(yield* RunJournal.canonicalJson(sortKeys(JSON.parse(canonical))), canonical)
      })
  )
})

describe("RunJournal.hashInput", () => {
  it.effect("is SHA-256 of the input's canonical JSON, as 64 hex digits", () =>
    Effect.gen(function*() {
      const sha256 = (text: string) => createHash("sha256").update(text, "utf8").digest("hex")
      assert.strictEqual(
        yield* RunJournal.hashInput({ text: "naïve café 😀", id: 7 }),
        sha256(`{"id":7,"text":"naïve café 😀"}`)
      )
      // The published digest of "abc", whose canonical JSON is the string with its quotes.
      assert.strictEqual(
        yield* RunJournal.hashInput("abc"),
        sha256(`"abc"`)
      )
      assert.strictEqual(
        createHash("sha256").update("abc").digest("hex"),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
      )
    }))

  it.effect("is the same for equal inputs written in another key order, different for different inputs", () =>
    Effect.gen(function*() {
      const a = yield* RunJournal.hashInput({ text: "x", meta: { lang: "en", n: 1 } })
      assert.strictEqual(a, yield* RunJournal.hashInput({ meta: { n: 1, lang: "en" }, text: "x" }))
      assert.notStrictEqual(a, yield* RunJournal.hashInput({ text: "x", meta: { lang: "en", n: 2 } }))
      assert.notStrictEqual(a, yield* RunJournal.hashInput({ text: "x ", meta: { lang: "en", n: 1 } }))
      assert.match(a, /^[0-9a-f]{64}$/)
    }))

  it.effect.prop(
    "matches node:crypto for any JSON input",
    [FastCheck.jsonValue({ maxDepth: 4 })],
    ([value]) =>
      Effect.gen(function*() {
        const canonical = yield* RunJournal.canonicalJson(value)
        assert.strictEqual(
          yield* RunJournal.hashInput(value),
          createHash("sha256").update(canonical, "utf8").digest("hex")
        )
      })
  )

  it.effect("fails with Encode for an input that is not JSON", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(RunJournal.hashInput({ id: 1n }))
      assert.strictEqual(error.reason, "Encode")
      assert.strictEqual(
        error.message,
        `Run journal: a value is not JSON: cannot write the value as JSON: a bigint at "id"`
      )
    }))
})

describe("RunJournal.RunJournalError", () => {
  it("names the run and the task when it has them", () => {
    assert.strictEqual(
      new RunJournal.RunJournalError({ reason: "Write", runId: "r", taskId: "t", description: "disk full" }).message,
      "Run journal: could not record (run r, task t): disk full"
    )
    assert.strictEqual(
      new RunJournal.RunJournalError({ reason: "Open" }).message,
      "Run journal: could not open the store"
    )
  })
})
