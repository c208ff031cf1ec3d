import { NodeSdk } from "@effect/opentelemetry"
import { NodeHttpClient } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { InMemoryLogRecordExporter, SimpleLogRecordProcessor } from "@opentelemetry/sdk-logs"
import { InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base"
import type { Console } from "effect"
import { Cause, Effect, Inspectable, Layer, List, Logger, LogLevel, Redacted, Schedule, Schema } from "effect"
import { format, inspect } from "node:util"
import * as AgentModel from "../../../services/models/AgentModel.js"
import * as LanguageModelAgent from "../../../services/models/LanguageModelAgent.js"
import * as Executor from "../../../src/Executor.js"
import * as RunReport from "../../../src/RunReport.js"
import * as Task from "../../../src/Task.js"
import * as TaskResult from "../../../src/TaskResult.js"
import * as ModelServer from "../modelServer.js"

// A known key goes to real HTTP servers through both providers, with every failure the providers can give. Every
// log line (all levels, in every built-in format and through OpenTelemetry), every span, every error and every
// form of the report is captured, and the key is in none of them; the server did receive it.

const key = "sk-test-5f1d3c9a8e7b6d2c4a0f"

const Label = Schema.Struct({ label: Schema.Literal("positive", "negative") }).annotations({ identifier: "Label" })

const classifier = LanguageModelAgent.factory({
  name: "classifier",
  prompt: LanguageModelAgent.template("scenario={{scenario}} Label this document: {{text}}"),
  output: Label
})

const scenarios: ReadonlyArray<ModelServer.Scenario> = [
  "ok",
  // A 429 with a Retry-After of a fraction of a second, so that the retry is quick.
  "rate-limited-once",
  "server-error",
  "hang",
  "malformed-json",
  "off-schema",
  "not-json",
  "wrong-shape"
]

interface Input {
  readonly scenario: ModelServer.Scenario
  readonly text: string
}

const tasks: ReadonlyArray<Task.Task<Input>> = scenarios.map((scenario) =>
  Task.make({
    id: scenario,
    input: { scenario, text: "the soup was cold" },
    timeout: scenario === "hang" ? "200 millis" : undefined
  })
)

/**
 * Everything written: each log in every built-in format, and the cause of each, pretty. The pretty logger writes
 * to the `Console` rather than return its text, so `console` captures what it writes (provide it with
 * `Effect.withConsole`): nothing reaches the test's output.
 */
const capture = (console: Console.Console) => {
  const out: Array<string> = []
  const write = (...args: ReadonlyArray<unknown>) => void out.push(format(...args))
  const captured: Console.Console = {
    ...console,
    unsafe: { ...console.unsafe, log: write, error: write, info: write, warn: write, debug: write, group: () => {} }
  }
  const loggers = [Logger.stringLogger, Logger.logfmtLogger, Logger.jsonLogger]
  const logger = Logger.make<unknown, void>((options) => {
    for (const each of loggers) out.push(each.log(options))
    Logger.prettyLoggerDefault.log(options)
    out.push(JSON.stringify(Logger.structuredLogger.log(options)))
    out.push(Cause.pretty(options.cause))
    out.push(Inspectable.format(List.toArray(options.spans)))
  })
  return { out, logger, console: captured }
}

/** Every way a result can be shown: its message, JSON, inspection, and its causes and errors, pretty and raw. */
const showResult = (result: TaskResult.TaskResult<unknown, unknown>): Array<string> => {
  const causes = [
    ...(result._tag === "Failed" || result._tag === "Interrupted" ? [result.cause] : []),
    ...result.failedAttempts.map((attempt) => attempt.cause)
  ]
  const errors = causes.flatMap((cause) => [...Cause.failures(cause)])
  return [
    TaskResult.message(result),
    JSON.stringify(result),
    inspect(result, { depth: null }),
    ...causes.flatMap((cause) => [Cause.pretty(cause), JSON.stringify(cause), inspect(cause, { depth: null })]),
    ...errors.flatMap((error) => [
      String(error),
      (error as Error).message,
      (error as Error).stack ?? "",
      JSON.stringify(error),
      Inspectable.format(error),
      inspect(error, { depth: null })
    ])
  ]
}

/** Runs `f` from a timer, outside any fiber: where Effect's redaction of headers has no fiber to ask. */
const outsideAnyFiber = <A>(f: () => A): Effect.Effect<A> =>
  Effect.promise(() => new Promise<A>((resolve) => setTimeout(() => resolve(f()), 0)))

/** The same tasks with no timeout of their own: against a server that is not there, each fails on its own. */
const untimed = tasks.map((task) => Task.make({ id: task.id, input: task.input }))

const run = (model: AgentModel.Spec, baseUrl: string, list: ReadonlyArray<Task.Task<Input>> = tasks) =>
  Executor.run(list, classifier, {
    concurrency: "unbounded",
    timeout: "10 seconds",
    retry: { schedule: Schedule.spaced("1 millis"), times: 1 }
  }).pipe(
    Effect.provide(
      AgentModel.layer({ model, apiKey: Redacted.make(key), baseUrl }).pipe(Layer.provide(NodeHttpClient.layerUndici))
    )
  )

describe("the API key", () => {
  for (const model of ["openai:gpt-4o-mini", "compat:llama-test"] as const) {
    it.scopedLive(`${model}: never appears in a log line, a span, an error or a report`, () =>
      Effect.gen(function*() {
        const server = yield* ModelServer.make
        const spans = new InMemorySpanExporter()
        const otelLogs = new InMemoryLogRecordExporter()
        const { console, logger, out } = capture(yield* Effect.console)
        const telemetry = NodeSdk.layer(() => ({
          resource: { serviceName: "redaction-test" },
          spanProcessor: new SimpleSpanProcessor(spans),
          logRecordProcessor: new SimpleLogRecordProcessor({ exporter: otelLogs })
        }))

        const [reports, exported] = yield* Effect.gen(function*() {
          const reports = [
            yield* run(model, server.baseUrl),
            // A server that is not there: a transport error, whose request is the one that carried the key.
            // Untimed: on a busy machine, the 200 ms of the "hang" task could end before its connection is refused.
            yield* run(model, "http://127.0.0.1:9/v1", untimed)
          ]
          return [reports, {
            spans: spans.getFinishedSpans().map((span) =>
              JSON.stringify({
                name: span.name,
                attributes: span.attributes,
                events: span.events,
                status: span.status,
                links: span.links
              })
            ),
            logs: otelLogs.getFinishedLogRecords().map((record) =>
              JSON.stringify({ body: record.body, attributes: record.attributes })
            )
          }] as const
        }).pipe(
          Effect.provide(Layer.mergeAll(Executor.layer(), telemetry)),
          Effect.provide(Logger.replace(Logger.defaultLogger, logger)),
          Logger.withMinimumLogLevel(LogLevel.All),
          Effect.withConsole(console)
        )

        // The runs had every kind of outcome, so every path was taken.
        const [served, refused] = reports
        assert.deepStrictEqual(served!.summary, { total: 8, succeeded: 2, failed: 5, timedOut: 1, interrupted: 0 })
        // Retried: the 429, the 500 and the hang.
        assert.strictEqual(served!.stats.retries, 3)
        assert.deepStrictEqual(refused!.summary, { total: 8, succeeded: 0, failed: 8, timedOut: 0, interrupted: 0 })
        assert.isAbove(out.length, 0)
        // The pretty logger's lines were captured too: `[time] DEBUG (#fiber): message`, colours or not.
        assert.isTrue(out.some((line) => /DEBUG\S* \(#\d+\)/.test(line)), "no line of the pretty logger")
        assert.isAbove(exported.spans.length, 0)
        assert.isTrue(exported.spans.some((span) => span.includes("http.request.header.authorization")))

        const shown: Array<[string, string]> = [
          ...out.map((line) => ["log", line] as [string, string]),
          ...exported.logs.map((line) => ["OpenTelemetry log", line] as [string, string]),
          ...exported.spans.map((span) => ["span", span] as [string, string]),
          ...reports.flatMap((report) => [
            ["report format", RunReport.format(report)] as [string, string],
            ["report JSON", JSON.stringify(report)] as [string, string],
            ["report HTML", RunReport.toHtml(report, { title: "redaction" })] as [string, string],
            ...report.results.flatMap((result) =>
              showResult(result).map((text) => ["result", text] as [string, string])
            )
          ])
        ]
        const leaks = shown.filter(([, text]) => text.includes(key))
        assert.deepStrictEqual(
          leaks.map(([where, text]) =>
            `${where}: ${text.slice(Math.max(0, text.indexOf(key) - 300), text.indexOf(key) + 40)}`
          ),
          []
        )

        // What is shown outside any fiber (after the program, in plain code) is clean too.
        const outside = yield* outsideAnyFiber(() =>
          reports.flatMap((report) => [JSON.stringify(report), ...report.results.flatMap(showResult)])
        )
        assert.deepStrictEqual(outside.filter((text) => text.includes(key)).map((text) => text.slice(0, 400)), [])

        // And the server did receive the key, as a bearer token.
        const received = yield* server.received
        assert.isAbove(received.length, 0)
        assert.isTrue(received.every((request) => request.authorization === `Bearer ${key}`))
      }))
  }
})
