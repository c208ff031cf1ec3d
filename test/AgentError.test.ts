import { assert, describe, it } from "@effect/vitest"
import { Data, Duration, Effect, Either, Exit, ParseResult, Schema } from "effect"
import * as AgentError from "../src/AgentError.js"

const parseError = <A, I>(schema: Schema.Schema<A, I>, value: unknown): ParseResult.ParseError => {
  const result = Schema.decodeUnknownEither(schema, { errors: "all" })(value)
  assert(Either.isLeft(result), "expected the value not to decode")
  return result.left
}

const Order = Schema.Struct({
  id: Schema.String,
  items: Schema.Array(Schema.Struct({ name: Schema.String, quantity: Schema.Number })),
  note: Schema.String
})

class MissingKey extends Data.TaggedError("MissingKey")<{ readonly message: string }> {}
class NoCredentials extends Data.TaggedError("NoCredentials")<{}> {}

describe("AgentError", () => {
  describe("AgentTimeout", () => {
    it("names the task's own timeout", () => {
      const error = new AgentError.AgentTimeout({
        agent: "writer#r1/doc-1/1",
        taskId: "doc-1",
        reason: "TaskTimeout",
        timeout: Duration.seconds(30)
      })
      assert.strictEqual(error._tag, "AgentTimeout")
      assert.strictEqual(error.message, "writer#r1/doc-1/1: task doc-1 was stopped by its timeout (30s)")
    })

    it("names the run's deadline, and adds the description when there is one", () => {
      const error = new AgentError.AgentTimeout({
        agent: "writer",
        taskId: "doc-2",
        reason: "RunDeadline",
        timeout: Duration.millis(1500),
        description: "the batch window closed"
      })
      assert.strictEqual(
        error.message,
        "writer: task doc-2 was stopped by the run's deadline (1s 500ms): the batch window closed"
      )
    })

    it.effect("is an Error that can be yielded as a failure", () =>
      Effect.gen(function*() {
        const error = new AgentError.AgentTimeout({
          agent: "a",
          taskId: "t",
          reason: "TaskTimeout",
          timeout: Duration.seconds(1)
        })
        assert(error instanceof Error)
        const exit = yield* Effect.exit(Effect.gen(function*() {
          return yield* error
        }))
        assert.deepStrictEqual(exit, Exit.fail(error))
        const caught = yield* Effect.catchTag(error, "AgentTimeout", (e) => Effect.succeed(e.taskId))
        assert.strictEqual(caught, "t")
      }))

    it("round-trips through its schema, the timeout as milliseconds", () => {
      const error = new AgentError.AgentTimeout({
        agent: "writer",
        taskId: "doc-3",
        reason: "RunDeadline",
        timeout: Duration.seconds(2),
        description: "late"
      })
      const encoded = Schema.encodeSync(AgentError.AgentTimeout)(error)
      assert.deepStrictEqual(encoded, {
        _tag: "AgentTimeout",
        agent: "writer",
        taskId: "doc-3",
        reason: "RunDeadline",
        timeout: 2000,
        description: "late"
      })
      const decoded = Schema.decodeUnknownSync(AgentError.AgentTimeout)(JSON.parse(JSON.stringify(encoded)))
      assert(decoded instanceof AgentError.AgentTimeout)
      assert.isTrue(AgentError.isAgentError(decoded))
      assert.strictEqual(decoded.message, error.message)
      assert.strictEqual(Duration.toMillis(decoded.timeout), 2000)
      assert.deepStrictEqual(decoded, error)
    })

    it("rejects an unknown reason when decoding", () => {
      const result = Schema.decodeUnknownEither(AgentError.AgentTimeout)({
        _tag: "AgentTimeout",
        agent: "a",
        taskId: "t",
        reason: "Tired",
        timeout: 10
      })
      assert(Either.isLeft(result))
    })
  })

  describe("AgentBuildError", () => {
    it("uses the message of an Error cause", () => {
      const error = new AgentError.AgentBuildError({ agent: "a", taskId: "t1", cause: new Error("socket closed") })
      assert.strictEqual(error.message, "a: building the agent for task t1 failed: socket closed")
    })

    it("prefixes the tag of a tagged cause", () => {
      const error = new AgentError.AgentBuildError({
        agent: "a",
        taskId: "t1",
        cause: new MissingKey({ message: "OPENAI_API_KEY is not set" })
      })
      assert.strictEqual(
        error.message,
        "a: building the agent for task t1 failed: MissingKey: OPENAI_API_KEY is not set"
      )
      const plain = new AgentError.AgentBuildError({ agent: "a", taskId: "t1", cause: { _tag: "Quota" } })
      assert.strictEqual(plain.message, "a: building the agent for task t1 failed: Quota")
    })

    it("names a tagged cause without a message by its tag alone", () => {
      const error = new AgentError.AgentBuildError({ agent: "a", taskId: "t1", cause: new NoCredentials() })
      assert.strictEqual(error.message, "a: building the agent for task t1 failed: NoCredentials")
    })

    it("uses a string cause as it is", () => {
      const error = new AgentError.AgentBuildError({ agent: "a", taskId: "t1", cause: "no credentials" })
      assert.strictEqual(error.message, "a: building the agent for task t1 failed: no credentials")
    })

    it("prefers the description over the cause", () => {
      const error = new AgentError.AgentBuildError({
        agent: "a",
        taskId: "t1",
        cause: new Error("ECONNREFUSED"),
        description: "the vector store is down"
      })
      assert.strictEqual(error.message, "a: building the agent for task t1 failed: the vector store is down")
    })

    it("round-trips through its schema, keeping the cause's message", () => {
      const error = new AgentError.AgentBuildError({ agent: "a", taskId: "t1", cause: new Error("socket closed") })
      const encoded = Schema.encodeSync(AgentError.AgentBuildError)(error)
      assert.deepStrictEqual(encoded, {
        _tag: "AgentBuildError",
        agent: "a",
        taskId: "t1",
        cause: { name: "Error", message: "socket closed" }
      })
      const decoded = Schema.decodeUnknownSync(AgentError.AgentBuildError)(JSON.parse(JSON.stringify(encoded)))
      assert(decoded instanceof AgentError.AgentBuildError)
      assert.strictEqual(decoded.message, error.message)
      assert.strictEqual(decoded.taskId, "t1")
    })
  })

  describe("AgentInputError and AgentOutputError", () => {
    const invalid = {
      id: "order-1",
      items: [{ name: "pen", quantity: 1 }, { name: "ink", quantity: 2 }, { name: 3, quantity: 1 }],
      note: 7
    }

    it("fromParseError keeps the path of the first issue and every issue with its path", () => {
      const error = AgentError.AgentInputError.fromParseError({
        agent: "orders#r/t/1",
        taskId: "t",
        error: parseError(Order, invalid)
      })
      assert.strictEqual(error._tag, "AgentInputError")
      assert.strictEqual(error.agent, "orders#r/t/1")
      assert.strictEqual(error.taskId, "t")
      assert.deepStrictEqual(error.path, ["items", 2, "name"])
      assert.deepStrictEqual(error.issues, [
        { path: ["items", 2, "name"], message: "Expected string, actual 3" },
        { path: ["note"], message: "Expected string, actual 7" }
      ])
      assert(ParseResult.isParseError(error.cause))
      assert.strictEqual(
        error.message,
        "orders#r/t/1: the input of task t does not match the schema: " +
          "at [\"items\"][2][\"name\"]: Expected string, actual 3; at [\"note\"]: Expected string, actual 7"
      )
    })

    it("an issue with the value itself has an empty path, shown as (root)", () => {
      const error = AgentError.AgentOutputError.fromParseError({
        agent: "a",
        taskId: "t",
        error: parseError(Schema.Number, "seven")
      })
      assert.strictEqual(error._tag, "AgentOutputError")
      assert.deepStrictEqual(error.path, [])
      assert.deepStrictEqual(error.issues, [{ path: [], message: "Expected number, actual \"seven\"" }])
      assert.strictEqual(
        error.message,
        "a: the output of task t does not match the schema: at (root): Expected number, actual \"seven\""
      )
    })

    it("a missing key is reported at its path", () => {
      const error = AgentError.AgentOutputError.fromParseError({
        agent: "a",
        taskId: "t",
        error: parseError(Schema.Struct({ label: Schema.String }), {})
      })
      assert.deepStrictEqual(error.path, ["label"])
      assert.include(error.message, "at [\"label\"]: is missing")
    })

    it("each builds its own class from the same parse error, differing only in tag and wording", () => {
      const options = { agent: "a", taskId: "t", error: parseError(Order, invalid) }
      const input = AgentError.AgentInputError.fromParseError(options)
      const output = AgentError.AgentOutputError.fromParseError(options)
      assert(input instanceof AgentError.AgentInputError && !(input instanceof AgentError.AgentOutputError))
      assert(output instanceof AgentError.AgentOutputError && !(output instanceof AgentError.AgentInputError))
      assert(AgentError.isAgentError(input) && AgentError.isAgentError(output))
      assert.deepStrictEqual(input.issues, output.issues)
      assert.strictEqual(input.message.replace("input", "output"), output.message)
    })

    it("round-trips through its schema, keeping path, issues and message", () => {
      const error = AgentError.AgentOutputError.fromParseError({
        agent: "a",
        taskId: "t",
        error: parseError(Order, invalid)
      })
      const encoded = Schema.encodeSync(AgentError.AgentOutputError)(error)
      const decoded = Schema.decodeUnknownSync(AgentError.AgentOutputError)(JSON.parse(JSON.stringify(encoded)))
      assert(decoded instanceof AgentError.AgentOutputError)
      assert.deepStrictEqual(decoded.path, error.path)
      assert.deepStrictEqual(decoded.issues, error.issues)
      assert.strictEqual(decoded.message, error.message)
    })
  })

  describe("isAgentError", () => {
    it("is true for the agent errors", () => {
      const errors: ReadonlyArray<AgentError.AgentError> = [
        new AgentError.AgentTimeout({ agent: "a", taskId: "t", reason: "TaskTimeout", timeout: Duration.seconds(1) }),
        new AgentError.AgentBuildError({ agent: "a", taskId: "t", cause: "x" }),
        AgentError.AgentInputError.fromParseError({ agent: "a", taskId: "t", error: parseError(Schema.String, 1) }),
        AgentError.AgentOutputError.fromParseError({ agent: "a", taskId: "t", error: parseError(Schema.String, 1) }),
        new AgentError.TaskOptionsError({ agent: "a", taskId: "t", option: "timeout", description: "x" })
      ]
      assert.deepStrictEqual(errors.map(AgentError.isAgentError), [true, true, true, true, true])
    })

    it("is false for anything else", () => {
      assert.isFalse(AgentError.isAgentError(new Error("plain")))
      assert.isFalse(AgentError.isAgentError(new MissingKey({ message: "x" })))
      assert.isFalse(AgentError.isAgentError({ _tag: "AgentTimeout", agent: "a", taskId: "t" }))
      assert.isFalse(AgentError.isAgentError(new AgentError.RunOptionsError({ option: "x", description: "y" })))
      assert.isFalse(AgentError.isAgentError(null))
      assert.isFalse(AgentError.isAgentError("AgentTimeout"))
    })
  })

  describe("TaskOptionsError", () => {
    it("names the task, the option and the problem, and round-trips through its schema", () => {
      const error = new AgentError.TaskOptionsError({
        agent: "classify",
        taskId: "line-3",
        option: "timeout",
        description: "got \"soon\""
      })
      assert.strictEqual(
        error.message,
        "classify: task line-3 was not started: invalid option \"timeout\": got \"soon\""
      )
      const encoded = Schema.encodeSync(AgentError.TaskOptionsError)(error)
      assert.deepStrictEqual(encoded, {
        _tag: "TaskOptionsError",
        agent: "classify",
        taskId: "line-3",
        option: "timeout",
        description: "got \"soon\""
      })
      assert.deepStrictEqual(Schema.decodeUnknownSync(AgentError.TaskOptionsError)(encoded), error)
    })
  })

  describe("RunOptionsError", () => {
    it("names the option and the problem", () => {
      const error = new AgentError.RunOptionsError({
        option: "concurrency",
        description: "expected a positive integer"
      })
      assert.strictEqual(error._tag, "RunOptionsError")
      assert.strictEqual(error.message, "Invalid run option \"concurrency\": expected a positive integer")
    })

    it("round-trips through its schema", () => {
      const error = new AgentError.RunOptionsError({ option: "deadline", description: "not a duration: soon" })
      const encoded = Schema.encodeSync(AgentError.RunOptionsError)(error)
      assert.deepStrictEqual(encoded, {
        _tag: "RunOptionsError",
        option: "deadline",
        description: "not a duration: soon"
      })
      const decoded = Schema.decodeUnknownSync(AgentError.RunOptionsError)(encoded)
      assert(decoded instanceof AgentError.RunOptionsError)
      assert.deepStrictEqual(decoded, error)
    })
  })
})
