import { AiError } from "@effect/ai"
import type { LanguageModel } from "@effect/ai"
import { assert, describe, it } from "@effect/vitest"
import { Cause, Deferred, Effect, Layer, Option, Schedule, Schema } from "effect"
import * as LanguageModelAgent from "../../services/models/LanguageModelAgent.js"
import * as Executor from "../../src/Executor.js"
import * as Task from "../../src/Task.js"
import * as TaskResult from "../../src/TaskResult.js"
import * as Usage from "../../src/Usage.js"
import * as ModelServer from "./modelServer.js"

/**
 * What both wire formats (OpenAI's Responses API and chat completions) are tested with: a classifier with
 * structured output, one task per server scenario, and the failures every provider must turn into typed per-task
 * errors. Real HTTP against a server on 127.0.0.1, so the live clock; each test takes milliseconds.
 */

export const Label = Schema.Struct({ label: Schema.Literal("positive", "negative") }).annotations({
  identifier: "Label",
  description: "The sentiment of a document"
})

export interface Doc {
  readonly scenario: ModelServer.Scenario
  readonly text: string
}

export const classifier = LanguageModelAgent.factory({
  name: "classifier",
  system: "You label the sentiment of documents.",
  prompt: LanguageModelAgent.template("scenario={{scenario}} Label this document: {{text}}"),
  output: Label
})

/**
 * Runs one task per scenario through the engine, against the server. The hanging task has a timeout of its own,
 * short so that the test is fast; the others have the run's, long so that a busy machine does not fail them.
 */
export const runScenarios = <E>(
  model: Layer.Layer<LanguageModel.LanguageModel, E>,
  scenarios: ReadonlyArray<ModelServer.Scenario>,
  options?: { readonly retry?: Executor.RunOptions<unknown, unknown, unknown>["retry"] }
) =>
  Executor.run(
    scenarios.map((scenario) =>
      Task.make<Doc>({
        id: scenario,
        input: { scenario, text: "the soup was cold" },
        timeout: scenario === "hang" || scenario === "hang-mid-body" ? "200 millis" : undefined
      })
    ),
    classifier,
    { concurrency: "unbounded", timeout: "10 seconds", retry: options?.retry }
  ).pipe(Effect.provide(Layer.merge(Executor.layer(), model)))

export const failure = <A, E>(result: TaskResult.TaskResult<A, E>): E => {
  assert(TaskResult.isFailed(result), `expected Failed, got ${result._tag}: ${TaskResult.message(result)}`)
  return Option.getOrThrow(Cause.failureOption(result.cause))
}

/**
 * The failures every wire format must end as typed per-task errors, with the run going on: 429 (retried after
 * the server's Retry-After, or reported), 500, a hang, a body that is not JSON, answers that do not fit.
 */
export const failureSuite = <E>(options: {
  /** The `LanguageModel` over the test's server. */
  readonly model: (server: ModelServer.ModelServer) => Layer.Layer<LanguageModel.LanguageModel, E>
  /** The model name responses carry. */
  readonly modelName: string
  /** The scenarios whose answers this format reports as `MalformedOutput`. */
  readonly malformed: ReadonlyArray<ModelServer.Scenario>
}) =>
  describe("failures end as typed per-task errors, and the run goes on", () => {
    const run = (
      server: ModelServer.ModelServer,
      scenarios: ReadonlyArray<ModelServer.Scenario>,
      retry?: Executor.RunOptions<unknown, unknown, unknown>["retry"]
    ) => runScenarios(options.model(server), scenarios, { retry })

    it.scopedLive("429 with Retry-After, then an answer: retried after the wait the server asked for, and succeeds", () =>
      Effect.gen(function*() {
        const server = yield* ModelServer.make
        const report = yield* run(server, ["rate-limited-once", "ok"], {
          schedule: Schedule.spaced("1 millis"),
          times: 2
        })
        const [retried, ok] = report.results
        assert(TaskResult.isSucceeded(retried!), TaskResult.message(retried!))
        assert.deepStrictEqual(retried.value, { label: "positive" })
        assert.strictEqual(retried.attempt, 2)
        const [first] = retried.failedAttempts
        assert.strictEqual(first!.outcome, "Failed")
        const error = Option.getOrThrow(Cause.failureOption(first!.cause))
        assert(AiError.isAiError(error) && error._tag === "HttpResponseError")
        assert.strictEqual(error.response.status, 429)
        assert.isAtLeast(first!.delayMillis, ModelServer.retryAfterOnce * 1000 - 1)
        assert.strictEqual(ok!._tag, "Succeeded")
        assert.strictEqual(report.stats.retries, 1)
        // The engine waited the Retry-After (150 ms), not the schedule's 1 ms.
        const times = (yield* server.received)
          .filter((request) => JSON.stringify(request.body).includes("rate-limited-once"))
          .map((request) => request.at)
        assert.lengthOf(times, 2)
        assert.isAtLeast(times[1]! - times[0]!, ModelServer.retryAfterOnce * 1000 - 5)
      }))

    it.scopedLive("each task's usage, over its attempts, is in its result and the report, with the model", () =>
      Effect.gen(function*() {
        const server = yield* ModelServer.make
        const report = yield* run(server, ["ok", "rate-limited-once", "off-schema", "server-error"], {
          schedule: Schedule.spaced("1 millis"),
          times: 1
        })
        const one = Usage.make({
          requests: 1,
          inputTokens: ModelServer.usage.input,
          outputTokens: ModelServer.usage.output
        })
        // A 429 or a 500 is no response and uses nothing; an answer that does not fit the schema still used tokens.
        assert.deepStrictEqual(report.results.map((result) => result.usage), [one, one, one, Usage.empty])
        assert.deepStrictEqual(report.stats.usage, Usage.make({ requests: 3, inputTokens: 63, outputTokens: 15 }))
        assert.deepStrictEqual(report.stats.models, [options.modelName])
      }))

    it.scopedLive("429: an HttpResponseError with the status and the Retry-After header", () =>
      Effect.gen(function*() {
        const server = yield* ModelServer.make
        const report = yield* run(server, ["rate-limited", "ok"])
        const error = failure(report.results[0]!)
        assert(error._tag === "HttpResponseError")
        assert.strictEqual(error.response.status, 429)
        assert.strictEqual(error.response.headers["retry-after"], "2")
        assert.strictEqual(error.reason, "StatusCode")
        assert.include(error.message, "Rate limit reached")
        assert.strictEqual(report.results[1]!._tag, "Succeeded")
      }))

    it.scopedLive("500: an HttpResponseError with the status", () =>
      Effect.gen(function*() {
        const server = yield* ModelServer.make
        const report = yield* run(server, ["server-error", "ok"])
        const error = failure(report.results[0]!)
        assert(error._tag === "HttpResponseError")
        assert.strictEqual(error.response.status, 500)
        assert.strictEqual(report.results[1]!._tag, "Succeeded")
      }))

    it.scopedLive("a hang: the task timeout aborts the HTTP request and the server sees the connection closed", () =>
      Effect.gen(function*() {
        const server = yield* ModelServer.make
        const report = yield* run(server, ["hang", "ok"])
        const hang = report.results[0]!
        assert(TaskResult.isTimedOut(hang), hang._tag)
        assert.strictEqual(hang.reason, "TaskTimeout")
        assert.strictEqual(report.results[1]!._tag, "Succeeded")
        // The server's handler was interrupted because its client closed the connection.
        assert.isTrue(yield* Deferred.await(server.hangClosed).pipe(Effect.timeout("2 seconds")))
      }))

    it.scopedLive("a body that is not JSON: an HttpResponseError of reason Decode", () =>
      Effect.gen(function*() {
        const server = yield* ModelServer.make
        const report = yield* run(server, ["malformed-json", "ok"])
        const error = failure(report.results[0]!)
        assert(error._tag === "HttpResponseError")
        assert.strictEqual(error.reason, "Decode")
        assert.strictEqual(error.response.status, 200)
        assert.strictEqual(report.results[1]!._tag, "Succeeded")
      }))

    it.scopedLive("401, a 502 page, a reset, a body cut short, a hostile message: each a typed error of its own", () =>
      Effect.gen(function*() {
        const server = yield* ModelServer.make
        const report = yield* run(server, [
          "unauthorized",
          "bad-gateway",
          "reset",
          "hang-mid-body",
          "hostile-error",
          "ok"
        ])
        const [unauthorized, badGateway, reset, cut, hostile, ok] = report.results
        const status = (result: TaskResult.TaskResult<unknown, unknown>) => {
          const error = failure(result)
          assert(AiError.isAiError(error) && error._tag === "HttpResponseError", String(error))
          return error.response.status
        }
        assert.strictEqual(status(unauthorized!), 401)
        assert.strictEqual(status(badGateway!), 502)
        assert.strictEqual(status(hostile!), 500)
        const refused = failure(reset!)
        assert(AiError.isAiError(refused) && refused._tag === "HttpRequestError", String(refused))
        assert.strictEqual(refused.reason, "Transport")
        assert(TaskResult.isTimedOut(cut!), cut!._tag)
        assert.strictEqual(ok!._tag, "Succeeded")
        // The 401's message quotes the token it was sent: the error holds it redacted.
        const tokens = (yield* server.received).flatMap((request) =>
          request.authorization?.startsWith("Bearer ") ? [request.authorization.slice("Bearer ".length)] : []
        )
        const shown = JSON.stringify(failure(unauthorized!)) + TaskResult.message(unauthorized!)
        for (const token of tokens) assert.notInclude(shown, token)
      }))

    it.scopedLive(`answers that do not fit (${options.malformed.join(", ")}): MalformedOutput`, () =>
      Effect.gen(function*() {
        const server = yield* ModelServer.make
        const report = yield* run(server, [...options.malformed, "ok"])
        for (const [i, result] of report.results.slice(0, options.malformed.length).entries()) {
          const error = failure(result)
          assert(AiError.isAiError(error) && error._tag === "MalformedOutput", String(error))
          if (options.malformed[i] === "off-schema" || options.malformed[i] === "not-json") {
            assert.strictEqual(error.description, "Generated object failed to conform to provided schema")
          }
        }
        assert.strictEqual(report.results.at(-1)!._tag, "Succeeded")
      }))
  })
