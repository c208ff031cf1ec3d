import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, HashMap, Logger, LogLevel, Metric, Option, TestClock, Tracer } from "effect"
import * as TestAgent from "../services/testing/TestAgent.js"
import * as Executor from "../src/Executor.js"
import * as ExecutorMetrics from "../src/ExecutorMetrics.js"
import * as Task from "../src/Task.js"
import { uniqueName, withClock } from "./utils.js"

interface Line {
  readonly level: string
  readonly message: unknown
  readonly annotations: Record<string, unknown>
}

/** A logger that keeps every line, added next to whatever the app has. */
const capture = () => {
  const lines: Array<Line> = []
  const logger = Logger.make<unknown, void>(({ annotations, logLevel, message }) => {
    lines.push({
      level: logLevel.label,
      message: Array.isArray(message) ? message[0] : message,
      annotations: Object.fromEntries(HashMap.toEntries(annotations))
    })
  })
  return { lines, layer: Logger.add(logger) }
}

/** A tracer that records every span the default tracer makes. */
const recordSpans = Effect.map(Effect.tracer, (tracer) => {
  const spans: Array<Tracer.Span> = []
  const recording = Tracer.make({
    span: (name, parent, context, links, startTime, kind, options) => {
      const span = tracer.span(name, parent, context, links, startTime, kind, options)
      spans.push(span)
      return span
    },
    context: (f, fiber) => tracer.context(f, fiber)
  })
  return { spans, tracer: recording }
})

const mixed = (name: string) =>
  TestAgent.make({
    name,
    run: (n: number) =>
      n === 1
        ? Effect.fail("refused")
        : n === 2
        ? Effect.never
        : Effect.withSpan(Effect.as(Effect.sleep("10 millis"), n), "agent.call")
  })

describe("Executor observability", () => {
  describe("logs", () => {
    it.effect("logs one Debug line when each task starts and one when it ends, annotated", () =>
      Effect.gen(function*() {
        const agent = yield* mixed("logged")
        const { layer, lines } = capture()
        yield* withClock(
          Executor.run(Task.fromIterable([0, 1, 2]), agent.factory, { runId: "r9", timeout: "1 second" })
        ).pipe(Logger.withMinimumLogLevel(LogLevel.Debug), Effect.provide(layer))
        const tasks = lines.filter((line) => line.annotations.module === "Executor")
        assert.strictEqual(tasks.length, 6)
        assert.isTrue(tasks.every((line) => line.level === "DEBUG"))
        const byTask = (taskId: string) => tasks.filter((line) => line.annotations.taskId === taskId)
        const [started, ended] = byTask("1")
        assert.strictEqual(started!.message, "Task started")
        assert.deepStrictEqual(started!.annotations, {
          package: "effect-parallel-agents",
          module: "Executor",
          runId: "r9",
          taskId: "1",
          agent: "logged",
          agentInstance: "logged#r9/1/1",
          attempt: 1
        })
        assert.strictEqual(ended!.message, "Task failed")
        assert.strictEqual(ended!.annotations.status, "Failed")
        assert.strictEqual(ended!.annotations.error, "refused")
        assert.strictEqual(ended!.annotations.durationMillis, 0)
        const [, timedOut] = byTask("2")
        assert.strictEqual(timedOut!.message, "Task timed out")
        assert.strictEqual(timedOut!.annotations.durationMillis, 1000)
        assert.include(String(timedOut!.annotations.error), "stopped by its timeout")
        const [, succeeded] = byTask("0")
        assert.strictEqual(succeeded!.message, "Task succeeded")
        assert.isFalse("error" in succeeded!.annotations)
      }).pipe(Effect.provide(Executor.layer())))

    it.effect("logs nothing per task at the default Info level", () =>
      Effect.gen(function*() {
        const agent = yield* mixed("quiet")
        const { layer, lines } = capture()
        yield* withClock(Executor.run(Task.fromIterable([0, 1, 2]), agent.factory, { timeout: "1 second" })).pipe(
          Effect.provide(layer)
        )
        assert.deepStrictEqual(lines.filter((line) => line.annotations.module === "Executor"), [])
      }).pipe(Effect.provide(Executor.layer())))
  })

  describe("spans", () => {
    it.effect("one Executor.task span per task, children of Executor.run, parents of the agent's spans", () =>
      Effect.gen(function*() {
        const agent = yield* mixed("traced")
        const { spans, tracer } = yield* recordSpans
        yield* withClock(
          Executor.run(Task.fromIterable([0, 1, 2, 3]), agent.factory, { runId: "t1", timeout: "1 second" })
        ).pipe(Effect.withTracer(tracer))
        const runs = spans.filter((span) => span.name === "Executor.run")
        const tasks = spans.filter((span) => span.name === "Executor.task")
        assert.strictEqual(runs.length, 1)
        assert.strictEqual(tasks.length, 4)
        const run = runs[0]!
        for (const task of tasks) {
          assert.strictEqual(Option.getOrThrow(task.parent).spanId, run.spanId)
          assert.strictEqual(task.status._tag, "Ended")
        }
        const byTask = (id: string) => tasks.find((span) => span.attributes.get("taskId") === id)!
        assert.strictEqual(byTask("0").attributes.get("agentInstance"), "traced#t1/0/1")
        assert.strictEqual(byTask("0").attributes.get("agent"), "traced")
        assert.strictEqual(byTask("0").attributes.get("attempt"), 1)
        const outcome = (id: string) => {
          const span = byTask(id)
          return [span.attributes.get("outcome"), span.status._tag === "Ended" ? span.status.exit._tag : ""]
        }
        assert.deepStrictEqual(outcome("0"), ["Succeeded", "Success"])
        assert.deepStrictEqual(outcome("1"), ["Failed", "Failure"])
        assert.deepStrictEqual(outcome("2"), ["TimedOut", "Failure"])
        assert.deepStrictEqual(outcome("3"), ["Succeeded", "Success"])
        // The agent's own spans nest under their task's span.
        const calls = spans.filter((span) => span.name === "agent.call")
        assert.strictEqual(calls.length, 2)
        for (const call of calls) {
          const parent = Option.getOrThrow(call.parent).spanId
          assert.isTrue([byTask("0").spanId, byTask("3").spanId].includes(parent))
        }
        assert.isTrue(Option.isNone(run.parent))
      }).pipe(Effect.provide(Executor.layer())))

    it.effect("with Effect's built-in tracer, which exports nowhere, the engine makes no task spans", () =>
      Effect.gen(function*() {
        const agent = yield* TestAgent.make({
          name: "builtin",
          run: (_: number) => Effect.map(Effect.currentSpan, (span) => span.name)
        })
        const tasks = Task.fromIterable([0, 1])
        const builtIn = yield* Executor.run(tasks, agent.factory)
        assert.deepStrictEqual(builtIn.results.map((r) => r._tag === "Succeeded" ? r.value : r._tag), [
          "Executor.run",
          "Executor.run"
        ])
        const { tracer } = yield* recordSpans
        const installed = yield* Executor.run(tasks, agent.factory).pipe(Effect.withTracer(tracer))
        assert.deepStrictEqual(installed.results.map((r) => r._tag === "Succeeded" ? r.value : r._tag), [
          "Executor.task",
          "Executor.task"
        ])
      }).pipe(Effect.provide(Executor.layer())))

    it.effect("no task spans when tracing is disabled", () =>
      Effect.gen(function*() {
        const agent = yield* mixed("untraced")
        const { spans, tracer } = yield* recordSpans
        const report = yield* withClock(
          Executor.run(Task.fromIterable([0, 3]), agent.factory, { timeout: "1 second" })
        ).pipe(Effect.withTracerEnabled(false), Effect.withTracer(tracer))
        assert.strictEqual(report.summary.succeeded, 2)
        assert.deepStrictEqual(spans.filter((span) => span.name === "Executor.task"), [])
      }).pipe(Effect.provide(Executor.layer())))
  })

  describe("metrics", () => {
    it.effect("tracks the queue: tasks waiting for a slot, and how long each waited", () =>
      Effect.gen(function*() {
        const name = uniqueName("queued")
        const agent = yield* TestAgent.sleep(name, "100 millis", (n: number) => n)
        const tagged = <Type, In, Out>(metric: Metric.Metric<Type, In, Out>) =>
          metric.pipe(Metric.tagged("agent", name))
        const fiber = yield* Effect.fork(
          Executor.run(Task.fromIterable([0, 1, 2, 3, 4, 5]), agent.factory, { concurrency: 2 })
        )
        yield* TestClock.adjust("1 millis")
        assert.strictEqual((yield* Metric.value(tagged(ExecutorMetrics.queueDepth))).value, 4)
        yield* TestClock.adjust("100 millis")
        assert.strictEqual((yield* Metric.value(tagged(ExecutorMetrics.queueDepth))).value, 2)
        yield* TestClock.adjust("1 second")
        yield* Fiber.join(fiber)
        assert.strictEqual((yield* Metric.value(tagged(ExecutorMetrics.queueDepth))).value, 0)
        const waits = yield* Metric.value(tagged(ExecutorMetrics.queueWait))
        assert.strictEqual(waits.count, 6)
        assert.strictEqual(waits.sum, 0 + 0 + 100 + 100 + 200 + 200)
        assert.strictEqual(waits.max, 200)
      }).pipe(Effect.provide(Executor.layer())))

    it.effect("the queue empties when a run is interrupted or cut by its deadline", () =>
      Effect.gen(function*() {
        const name = uniqueName("cut")
        const agent = yield* TestAgent.sleep(name, "1 minute", (n: number) => n)
        const depth = Metric.value(ExecutorMetrics.queueDepth.pipe(Metric.tagged("agent", name)))
        const fiber = yield* Effect.fork(
          Executor.run(Task.fromIterable([0, 1, 2, 3]), agent.factory, { concurrency: 1 })
        )
        yield* TestClock.adjust("1 millis")
        assert.strictEqual((yield* depth).value, 3)
        yield* Fiber.interrupt(fiber)
        assert.strictEqual((yield* depth).value, 0)
        yield* withClock(
          Executor.run(Task.fromIterable([0, 1, 2, 3]), agent.factory, { concurrency: 1, deadline: "1 second" })
        )
        assert.strictEqual((yield* depth).value, 0)
      }).pipe(Effect.provide(Executor.layer())))
  })

  describe("slots", () => {
    it.effect("each result names the slot that ran it; a slot runs one task at a time", () =>
      Effect.gen(function*() {
        const agent = yield* TestAgent.sleep("lanes", (n: number) => `${n * 10} millis`, (n: number) => n)
        const report = yield* withClock(
          Executor.run(Task.fromIterable([5, 3, 8, 1, 4, 6, 2, 7]), agent.factory, { concurrency: 3 })
        )
        const lanes = new Set(report.results.map((result) => result.slot))
        assert.deepStrictEqual([...lanes].sort(), [0, 1, 2])
        for (const lane of lanes) {
          const runs = report.results.filter((result) => result.slot === lane)
            .sort((a, b) => a.startedAt! - b.startedAt!)
          runs.slice(1).forEach((result, i) => {
            const previous = runs[i]!
            assert.isAtLeast(result.startedAt!, previous.startedAt! + previous.durationMillis)
          })
        }
      }).pipe(Effect.provide(Executor.layer())))
  })
})
