import { FileSystem } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Chunk, Effect, Either, Schema, Stream } from "effect"
import * as TestAgent from "../services/testing/TestAgent.js"
import * as Executor from "../src/Executor.js"
import * as Task from "../src/Task.js"
import * as TaskFile from "../src/TaskFile.js"
import * as TaskResult from "../src/TaskResult.js"
import { badInput, meta, succeeded, timedOut } from "./results.js"
import { withClock } from "./utils.js"

// =============================================================================
// fixtures
// =============================================================================

/** The tasks of a text given in chunks, as `[id, line, input]`. */
const read = (...chunks: ReadonlyArray<string>) =>
  Stream.runCollect(TaskFile.fromText(Stream.fromIterable(chunks))).pipe(
    Effect.map((tasks) => Chunk.toArray(tasks).map((task) => [task.id, TaskFile.lineOf(task), task.input] as const))
  )

const bad = (line: number, message: string) => new TaskFile.BadLine({ line, message })

// =============================================================================
// tests
// =============================================================================

describe("TaskFile", () => {
  describe("reading", () => {
    it.effect("one task per non-blank line: the id is the object's id, else the line number", () =>
      Effect.gen(function*() {
        const tasks = yield* read(
          `{"text": "a"}\n`,
          `\n`,
          `   \n`,
          `{"id": "doc-1", "text": "b"}\n{"id": 7, "text": "c"}\n`,
          `{"id": "", "text": "d"}\n{"id": null}\n{"id": 1.5}`
        )
        assert.deepStrictEqual(tasks, [
          ["1", 1, { text: "a" }],
          ["doc-1", 4, { id: "doc-1", text: "b" }],
          ["7", 5, { id: 7, text: "c" }],
          ["6", 6, { id: "", text: "d" }],
          ["7", 7, { id: null }],
          ["1.5", 8, { id: 1.5 }]
        ])
      }))

    it.effect("an id that is neither a string nor a number (an object, an array, a boolean) makes a bad line", () =>
      Effect.gen(function*() {
        const tasks = yield* read(`{"id": {"n": 1}, "text": "a"}\n{"id": [1], "text": "b"}\n{"id": true}\n{"id": 4}`)
        assert.deepStrictEqual(tasks.map(([id, line]) => [id, line]), [["1", 1], ["2", 2], ["3", 3], ["4", 4]])
        const messages = tasks.map(([, , input]) => TaskFile.isBadLine(input) ? input.message : undefined)
        assert.deepStrictEqual(messages, [
          `at ["id"]: expected a string or a number, got {"n":1}`,
          `at ["id"]: expected a string or a number, got [1]`,
          `at ["id"]: expected a string or a number, got true`,
          undefined
        ])
      }))

    it.effect("lines may end with \\r\\n or be cut across chunks, and a byte order mark at the start is ignored", () =>
      Effect.gen(function*() {
        const tasks = yield* read(`\uFEFF{"id": "a"}\r\n\r\n{"id":`, ` "b"}\r`, `\n{"id": "c"}`)
        assert.deepStrictEqual(tasks.map(([id, line]) => [id, line]), [["a", 1], ["b", 3], ["c", 4]])
        // Only at the start of the file: elsewhere it is not JSON.
        const later = yield* read(`{}\n\uFEFF{}\n`)
        assert.isTrue(TaskFile.isBadLine(later[1]![2]))
      }))

    it.effect("a line that is not JSON, or not an object, is a bad line with its number, and reading goes on", () =>
      Effect.gen(function*() {
        const tasks = yield* read(
          [`{"id": "ok"}`, `not json`, `[1, 2]`, `42`, `"text"`, `null`, `{"id": "x"`, `{"id": "last"}`].join("\n")
        )
        assert.deepStrictEqual(tasks.map(([id]) => id), ["ok", "2", "3", "4", "5", "6", "7", "last"])
        assert.deepStrictEqual(tasks.slice(2, 6).map(([, , input]) => input), [
          bad(3, "not a JSON object: got an array"),
          bad(4, "not a JSON object: got a number"),
          bad(5, "not a JSON object: got a string"),
          bad(6, "not a JSON object: got null")
        ])
        const notJson = tasks[1]![2]
        assert.isTrue(TaskFile.isBadLine(notJson))
        assert.strictEqual((notJson as TaskFile.BadLine).line, 2)
        assert.match((notJson as TaskFile.BadLine).message, /^not JSON: Unexpected token/)
        assert.match((tasks[6]![2] as TaskFile.BadLine).message, /^not JSON: /)
      }))

    it("a long line's message stays short", () => {
      const decoded = TaskFile.decodeLine(`x${"y".repeat(100_000)}`, 3)
      assert.isTrue(Either.isLeft(decoded) && decoded.left.line === 3)
      const message = Either.isLeft(decoded) ? decoded.left.message : ""
      assert.match(message, /^not JSON: /)
      assert.isAtMost(message.length, 201)
    })

    describe("bytes", () => {
      const encoder = new TextEncoder()
      const bytes = (...parts: ReadonlyArray<string | ReadonlyArray<number>>) =>
        Uint8Array.from(parts.flatMap((part) => typeof part === "string" ? [...encoder.encode(part)] : [...part]))
      /** The tasks of bytes given in chunks of `size`, as `[id, line, input]`. */
      const readBytes = (data: Uint8Array, size: number) => {
        const chunks = Array.from(
          { length: Math.ceil(data.length / size) },
          (_, i) => data.slice(i * size, (i + 1) * size)
        )
        return Stream.runCollect(TaskFile.fromBytes(Stream.fromIterable(chunks))).pipe(
          Effect.map((tasks) =>
            Chunk.toArray(tasks).map((task) => [task.id, TaskFile.lineOf(task), task.input] as const)
          )
        )
      }

      it.effect("lines end at \\n or \\r\\n, wherever the chunks are cut, as fromText reads them", () =>
        Effect.gen(function*() {
          const text = `\uFEFF{"id": "a"}\r\n\r\n{"id": "b"}\r\n{"id": "c"}\n\n  \t\n{"id": "é€𝄞"}\r\n` +
            `{"id": "e"}\r{"id": "f"}\n{"id": "g"}\r`
          const expected = yield* read(text)
          assert.deepStrictEqual(expected.map(([id, line]) => [id, line]), [
            ["a", 1],
            ["b", 3],
            ["c", 4],
            ["é€𝄞", 7],
            ["8", 8],
            ["g", 9]
          ])
          for (const size of [1, 2, 3, 5, 7, 64]) {
            assert.deepStrictEqual(yield* readBytes(bytes(text), size), expected, `chunks of ${size}`)
          }
          assert.strictEqual(yield* TaskFile.countTasks(Stream.make(bytes(text))), 6)
        }))

      it.effect("countTasks counts what fromBytes reads, whitespace of every kind, ASCII or not, included", () =>
        Effect.gen(function*() {
          // Blank: ASCII whitespace, no-break and ideographic spaces, a byte order mark, a line separator. Not
          // blank: the separator controls (not whitespace to JavaScript), NEL, text after whitespace, a line that is
          // not UTF-8 after whitespace or before it.
          const data = bytes(
            `{"id": "a"}\n \t\u000b\u000c\r\n\u00a0\u3000\n\uFEFF\n\u2028\n`,
            `\u001c\n\u0085\n  {"id": "b"}\n \t`,
            [0xff],
            `\n`,
            [0xc3],
            `  \n\u00a0{"id": "c"}\n\n`
          )
          const tasks = yield* readBytes(data, 1024)
          assert.strictEqual(tasks.length, 7)
          assert.strictEqual(yield* TaskFile.countTasks(Stream.make(data)), tasks.length)
        }))

      it.effect("a line that is not UTF-8 is a bad line with its number; U+FFFD written as UTF-8 is text", () =>
        Effect.gen(function*() {
          const data = bytes(
            `{"id": "a", "t": "x`,
            [0xff, 0xfe],
            `"}\n{"id": "b", "t": "\uFFFD"}\n`,
            [0xc3],
            `\n{"id": "c"}\n`
          )
          for (const size of [1, 4, 1024]) {
            const tasks = yield* readBytes(data, size)
            assert.deepStrictEqual(tasks, [
              ["1", 1, bad(1, "not UTF-8: the line holds an invalid byte sequence")],
              ["b", 2, { id: "b", t: "\uFFFD" }],
              ["3", 3, bad(3, "not UTF-8: the line holds an invalid byte sequence")],
              ["c", 4, { id: "c" }]
            ])
          }
          assert.strictEqual(yield* TaskFile.countTasks(Stream.make(data)), 4)
        }))

      it.effect("a line longer than maxLineBytes is a bad line, and its bytes are not kept", () =>
        Effect.gen(function*() {
          const long = new Uint8Array(TaskFile.maxLineBytes + 1).fill(0x20)
          long[0] = 0x7b
          const data = [
            bytes(`{"id": "a"}\n`),
            ...Array.from({ length: 17 }, (_, i) => long.subarray(i * 2 ** 20, (i + 1) * 2 ** 20)),
            bytes(`\n{"id": "b"}`)
          ]
          const tasks = Chunk.toArray(yield* Stream.runCollect(TaskFile.fromBytes(Stream.fromIterable(data))))
          assert.deepStrictEqual(tasks.map((task) => [task.id, task.input]), [
            ["a", { id: "a" }],
            ["2", bad(2, `longer than ${TaskFile.maxLineBytes} bytes (${TaskFile.maxLineBytes + 1} bytes)`)],
            ["b", { id: "b" }]
          ])
        }))
    })

    it("a line nested deeper than maxDepth is a bad line, not a stack overflow later", () => {
      const nested = (depth: number, open = "[", close = "]") =>
        `{"text": ${open.repeat(depth)}${close.repeat(depth)}, "s": "[[[[ in a string ]"}`
      assert.isTrue(Either.isRight(TaskFile.decodeLine(nested(TaskFile.maxDepth - 1), 1)))
      for (
        const line of [nested(TaskFile.maxDepth), nested(10_000), nested(10_000, `{"a":`, "}").replace("}}", "1}}")]
      ) {
        assert.deepStrictEqual(
          TaskFile.decodeLine(line, 4),
          Either.left(bad(4, `nested deeper than ${TaskFile.maxDepth} levels of arrays and objects`))
        )
      }
      // Brackets inside strings do not nest.
      assert.isTrue(Either.isRight(TaskFile.decodeLine(JSON.stringify({ text: "[".repeat(10_000) }), 1)))
    })

    it.scoped("reads a file from the FileSystem", () =>
      Effect.gen(function*() {
        const fs = yield* FileSystem.FileSystem
        const file = `${yield* fs.makeTempDirectoryScoped()}/tasks.jsonl`
        yield* fs.writeFileString(file, `\uFEFF{"id": "a"}\r\n\r\nbroken\r\n{"id": 3}\r\n`)
        const tasks = Chunk.toArray(yield* Stream.runCollect(TaskFile.fromFile(file)))
        assert.deepStrictEqual(tasks.map((task) => [task.id, task.labels.line]), [["a", "1"], ["3", "3"], ["3", "4"]])
        assert.isTrue(TaskFile.isBadLine(tasks[1]!.input))
        const missing = yield* Effect.either(Stream.runCollect(TaskFile.fromFile(`${file}.missing`)))
        assert.isTrue(Either.isLeft(missing))
      }).pipe(Effect.provide(NodeContext.layer)))
  })

  describe("running", () => {
    it.effect("input(schema): a bad line's task fails on its own with its message, the others run", () =>
      Effect.gen(function*() {
        const agent = yield* TestAgent.succeed("upper", (input: { readonly text: string }) => input.text.toUpperCase())
        const results = yield* withClock(Stream.runCollect(
          Executor.stream(
            TaskFile.fromText(Stream.make(`{"text": "a"}\nnot json\n[1]\n{"id": "d", "txt": "b"}\n{"text": "c"}\n`)),
            agent.factory,
            { input: TaskFile.input(Schema.Struct({ text: Schema.String })), runId: "r1", concurrency: 2 }
          )
        ))
        const lines = Chunk.toArray(results).map(TaskFile.resultLine).sort((a, b) => a.line! - b.line!)
        assert.deepStrictEqual(lines.map((line) => [line.line, line.id, line.status, line.value]), [
          [1, "1", "Succeeded", "A"],
          [2, "2", "Failed", undefined],
          [3, "3", "Failed", undefined],
          [4, "d", "Failed", undefined],
          [5, "5", "Succeeded", "C"]
        ])
        assert.deepStrictEqual(lines.slice(1, 4).map((line) => line.errorTag), [
          "AgentInputError",
          "AgentInputError",
          "AgentInputError"
        ])
        assert.match(lines[1]!.issues![0]!.message, /^not JSON: Unexpected token/)
        assert.deepStrictEqual(lines[2]!.issues, [{ path: [], message: "not a JSON object: got an array" }])
        assert.deepStrictEqual(lines[3]!.issues, [{ path: ["text"], message: "is missing" }])
        // What is written reads back with the schema.
        for (const line of lines) {
          const decoded = Schema.decodeUnknownSync(Schema.parseJson(TaskFile.ResultLine))(JSON.stringify(line))
          assert.deepStrictEqual(decoded, line)
        }
        const stats = yield* agent.stats
        assert.deepStrictEqual([stats.builds, stats.releases], [2, 2])
      }).pipe(Effect.provide(Executor.layer())))
  })

  describe("results", () => {
    it("one JSON line per result, with its line number, in the order written", () => {
      const line = TaskFile.resultLine(succeeded(3))
      assert.deepStrictEqual(line, {
        line: 3,
        id: "3",
        status: "Succeeded",
        value: { label: "positive" },
        attempts: 1,
        durationMillis: 100,
        agent: "classifier#r1/3/1",
        usage: { requests: 1, inputTokens: 30, outputTokens: 5 }
      })
      assert.strictEqual(
        JSON.stringify(line),
        `{"line":3,"id":"3","status":"Succeeded","value":{"label":"positive"},"attempts":1,"durationMillis":100,` +
          `"agent":"classifier#r1/3/1","usage":{"requests":1,"inputTokens":30,"outputTokens":5}}`
      )
      const failed = TaskFile.resultLine(badInput(4))
      assert.deepStrictEqual(failed, {
        line: 4,
        id: "4",
        status: "Failed",
        error: "classifier: the input of task 4 does not match the schema: at [\"text\"]: is missing",
        errorTag: "AgentInputError",
        issues: [{ path: ["text"], message: "is missing" }],
        attempts: 1,
        durationMillis: 0,
        agent: "classifier#r1/4/1"
      })
      assert.deepStrictEqual(Object.keys(failed), [
        "line",
        "id",
        "status",
        "error",
        "errorTag",
        "issues",
        "attempts",
        "durationMillis",
        "agent"
      ])
      const late = TaskFile.resultLine(timedOut(5))
      assert.deepStrictEqual([late.status, late.reason, late.durationMillis], ["TimedOut", "TaskTimeout", 30_000])
      assert.match(String(late.error), /stopped by its timeout/)
    })

    it("a task not read from a file has no line", () => {
      const result = TaskResult.succeeded({ ...meta(1), task: Task.make({ id: "x", input: 1 }) }, 2)
      assert.isUndefined(TaskFile.lineOf(result.task))
      assert.deepStrictEqual(Object.keys(TaskFile.resultLine(result)).slice(0, 2), ["id", "status"])
    })
  })
})
