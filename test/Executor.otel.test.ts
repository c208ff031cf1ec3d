import { NodeSdk } from "@effect/opentelemetry"
import { assert, describe, it } from "@effect/vitest"
import { type HrTime, SpanKind, SpanStatusCode } from "@opentelemetry/api"
import { PrometheusExporter, PrometheusSerializer } from "@opentelemetry/exporter-prometheus"
import {
  AggregationTemporality,
  DataPointType,
  type Histogram,
  InMemoryMetricExporter,
  type MetricData,
  type MetricReader,
  PeriodicExportingMetricReader,
  type ResourceMetrics
} from "@opentelemetry/sdk-metrics"
import { InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base"
import { Data, Effect } from "effect"
import * as TestAgent from "../services/testing/TestAgent.js"
import * as Executor from "../src/Executor.js"
import * as Task from "../src/Task.js"
import { uniqueName, withClock } from "./utils.js"

// The real OpenTelemetry SDK, wired the way an app wires it: `NodeSdk.layer` from @effect/opentelemetry.

const serviceName = "effect-parallel-agents-test"

/**
 * Runs `effect` with spans going through a `SimpleSpanProcessor` to memory, and returns its value with the spans
 * exported, read before the SDK shuts down (shutting the exporter down clears them).
 */
const traced = <A, E, R>(effect: Effect.Effect<A, E, R>) => {
  const exporter = new InMemorySpanExporter()
  return Effect.map(effect, (value) => [value, exporter.getFinishedSpans()] as const).pipe(
    Effect.provide(
      NodeSdk.layer(() => ({ resource: { serviceName }, spanProcessor: new SimpleSpanProcessor(exporter) }))
    )
  )
}

const metricsWith = (reader: MetricReader) => NodeSdk.layer(() => ({ resource: { serviceName }, metricReader: reader }))

class Refused extends Data.TaggedError("Refused")<{ readonly reason: string }> {
  override get message() {
    return `refused: ${this.reason}`
  }
}

/** Each input names what the agent does with it; the task id is the input. */
type Script = "ok-1" | "ok-2" | "fail" | "die" | "hang" | "interrupt"

const scripts: ReadonlyArray<Script> = ["ok-1", "fail", "die", "hang", "interrupt", "ok-2"]

/** An agent that does what its input says. Its successes and its hang run in its own span, tagged with the task id. */
const scripted = (name: string) =>
  TestAgent.make({
    name,
    run: (script: Script, instance) => {
      const call = <A, E>(effect: Effect.Effect<A, E>) =>
        Effect.withSpan(effect, "agent.call", { attributes: { taskId: instance.taskId } })
      switch (script) {
        case "fail":
          return Effect.fail(new Refused({ reason: "off-topic" }))
        case "die":
          return Effect.die(new Error("boom"))
        case "hang":
          return call(Effect.never)
        case "interrupt":
          return Effect.interrupt
        default:
          return call(Effect.as(Effect.sleep("10 millis"), script))
      }
    }
  })

const nanos = (time: HrTime): bigint => BigInt(time[0]) * BigInt(1e9) + BigInt(time[1])
const millis = (time: HrTime): number => time[0] * 1000 + time[1] / 1e6

const named = (spans: ReadonlyArray<ReadableSpan>, name: string) => spans.filter((span) => span.name === name)

const exceptionType = (span: ReadableSpan) =>
  span.events.find((event) => event.name === "exception")?.attributes?.["exception.type"]

/** The one metric named `name`, and its data point for the agent `agent`. */
const point = (metrics: ResourceMetrics, name: string, agent: string) => {
  const metric: MetricData | undefined = metrics.scopeMetrics.flatMap((scope) => scope.metrics)
    .find((metric) => metric.descriptor.name === name)
  assert.isDefined(metric, `no metric ${name}`)
  const points = (metric!.dataPoints as ReadonlyArray<MetricData["dataPoints"][number]>)
    .filter((point) => point.attributes.agent === agent)
  assert.strictEqual(points.length, 1, `data points of ${name} for ${agent}`)
  return { metric: metric!, point: points[0]! }
}

describe("Executor with OpenTelemetry", () => {
  describe("traces", () => {
    it.effect("exports a run span, a task span per task under it with its outcome as status, agent spans below", () =>
      Effect.gen(function*() {
        const name = uniqueName("otel")
        const agent = yield* scripted(name)
        const [report, spans] = yield* traced(withClock(
          Executor.run(Task.fromIterable(scripts, { id: (script) => script }), agent.factory, {
            runId: "r1",
            timeout: "1 second"
          })
        ))
        assert.deepStrictEqual(report.summary, { total: 6, succeeded: 2, failed: 2, timedOut: 1, interrupted: 1 })

        const runs = named(spans, "Executor.run")
        const tasks = named(spans, "Executor.task")
        const calls = named(spans, "agent.call")
        assert.strictEqual(runs.length, 1)
        assert.strictEqual(tasks.length, scripts.length)
        // The agent's own spans: both successes and the hung call, which the timeout ended.
        assert.strictEqual(calls.length, 3)
        assert.strictEqual(spans.length, 1 + scripts.length + 3)

        const run = runs[0]!
        assert.isUndefined(run.parentSpanContext)
        assert.strictEqual(run.resource.attributes["service.name"], serviceName)
        assert.deepStrictEqual(run.status, { code: SpanStatusCode.OK })
        assert.deepInclude(run.attributes, {
          agent: name,
          runId: "r1",
          tasks: 6,
          total: 6,
          succeeded: 2,
          failed: 2,
          timedOut: 1,
          interrupted: 1
        })

        for (const task of tasks) {
          assert.strictEqual(task.parentSpanContext?.spanId, run.spanContext().spanId)
          assert.strictEqual(task.spanContext().traceId, run.spanContext().traceId)
          assert.strictEqual(task.kind, SpanKind.INTERNAL)
          const taskId = String(task.attributes.taskId)
          assert.deepInclude(task.attributes, { agent: name, agentInstance: `${name}#r1/${taskId}/1`, attempt: 1 })
          // Every task span lies within the run's span.
          assert.isTrue(nanos(task.startTime) >= nanos(run.startTime) && nanos(task.endTime) <= nanos(run.endTime))
        }
        assert.deepStrictEqual(tasks.map((task) => task.attributes.taskId).sort(), [...scripts].sort())

        const byTask = (id: Script) => tasks.find((task) => task.attributes.taskId === id)!
        const outcome = (id: Script) => [byTask(id).attributes.outcome, byTask(id).status.code]
        assert.deepStrictEqual(outcome("ok-1"), ["Succeeded", SpanStatusCode.OK])
        assert.deepStrictEqual(outcome("ok-2"), ["Succeeded", SpanStatusCode.OK])
        assert.deepStrictEqual(outcome("fail"), ["Failed", SpanStatusCode.ERROR])
        assert.deepStrictEqual(outcome("die"), ["Failed", SpanStatusCode.ERROR])
        assert.deepStrictEqual(outcome("hang"), ["TimedOut", SpanStatusCode.ERROR])
        // @effect/opentelemetry ends a span whose cause is only interruption as OK, marked `status.interrupted`.
        assert.deepStrictEqual(outcome("interrupt"), ["Interrupted", SpanStatusCode.OK])
        assert.strictEqual(byTask("interrupt").attributes["status.interrupted"], true)
        assert.isUndefined(byTask("ok-1").attributes["status.interrupted"])

        // An error status carries the first error's message and an `exception` event.
        assert.strictEqual(byTask("fail").status.message, "refused: off-topic")
        assert.strictEqual(exceptionType(byTask("fail")), "Refused")
        assert.strictEqual(byTask("die").status.message, "boom")
        assert.strictEqual(exceptionType(byTask("die")), "Error")
        assert.strictEqual(
          byTask("hang").status.message,
          `${name}#r1/hang/1: task hang was stopped by its timeout (1s)`
        )
        assert.strictEqual(exceptionType(byTask("hang")), "AgentTimeout")
        for (const id of ["ok-1", "ok-2", "interrupt"] as const) {
          assert.deepStrictEqual(byTask(id).events, [])
        }

        // Spans are timed by the Clock: the hung task ran exactly to its timeout, a success for its 10 ms.
        assert.deepStrictEqual(byTask("hang").duration, [1, 0])
        assert.strictEqual(millis(byTask("ok-1").duration), 10)

        // The agent's spans are children of their own task's span.
        for (const call of calls) {
          const task = byTask(call.attributes.taskId as Script)
          assert.strictEqual(call.parentSpanContext?.spanId, task.spanContext().spanId)
          assert.strictEqual(call.spanContext().traceId, run.spanContext().traceId)
        }
        const hung = calls.find((call) => call.attributes.taskId === "hang")!
        assert.strictEqual(hung.status.code, SpanStatusCode.OK)
        assert.strictEqual(hung.attributes["status.interrupted"], true)
        assert.deepStrictEqual(calls.map((call) => call.attributes.taskId).sort(), ["hang", "ok-1", "ok-2"])
      }).pipe(Effect.provide(Executor.layer())))

    it.effect("a run inside the app's own span joins its trace", () =>
      Effect.gen(function*() {
        const agent = yield* scripted(uniqueName("nested"))
        const [, spans] = yield* traced(withClock(
          Executor.run(Task.fromIterable<Script>(["ok-1", "ok-2"]), agent.factory).pipe(Effect.withSpan("batch"))
        ))
        const [batch] = named(spans, "batch")
        const [run] = named(spans, "Executor.run")
        assert.strictEqual(run!.parentSpanContext?.spanId, batch!.spanContext().spanId)
        const traces = new Set(spans.map((span) => span.spanContext().traceId))
        assert.deepStrictEqual([...traces], [batch!.spanContext().traceId])
        assert.strictEqual(named(spans, "Executor.task").length, 2)
      }).pipe(Effect.provide(Executor.layer())))

    it.effect("exports no spans when tracing is disabled", () =>
      Effect.gen(function*() {
        const agent = yield* scripted(uniqueName("untraced"))
        const [report, spans] = yield* traced(
          withClock(Executor.run(Task.fromIterable<Script>(["ok-1", "fail"]), agent.factory)).pipe(
            Effect.withTracerEnabled(false)
          )
        )
        assert.strictEqual(report.summary.total, 2)
        assert.deepStrictEqual(spans, [])
      }).pipe(Effect.provide(Executor.layer())))

    // Real time is the point: exported spans carry wall-clock timestamps from the live Clock.
    it.live("with the live clock, spans carry wall-clock times and a timed-out task's span lasts its timeout", () =>
      Effect.gen(function*() {
        const agent = yield* scripted(uniqueName("live"))
        const before = Date.now()
        const tasks = Task.fromIterable<Script>(["ok-1", "hang"], { id: (script) => script })
        // A generous timeout: under CPU load a task that ends after its timeout is reported timed out, and a loaded
        // CI machine has delayed a 10 ms sleep by half a second.
        const [report, spans] = yield* traced(Executor.run(tasks, agent.factory, { timeout: "2 seconds" }))
        const after = Date.now()
        assert.deepStrictEqual([report.summary.succeeded, report.summary.timedOut], [1, 1])
        for (const span of spans) {
          // A little slack: the live Clock is monotonic from an origin taken from Date.now, in whole milliseconds.
          assert.isAtLeast(millis(span.startTime), before - 5)
          assert.isAtMost(millis(span.endTime), after + 5)
        }
        const hang = named(spans, "Executor.task").find((span) => span.attributes.taskId === "hang")!
        assert.strictEqual(hang.attributes.outcome, "TimedOut")
        assert.isAtLeast(millis(hang.duration), 1_999)
        assert.isBelow(millis(hang.duration), 10_000)
      }).pipe(Effect.provide(Executor.layer())))
  })

  describe("metrics", () => {
    /** Five tasks of 100 ms (on the TestClock); the fourth fails. Labels set with `Effect.tagMetrics` are kept. */
    const batch = (name: string) =>
      Effect.gen(function*() {
        const agent = yield* TestAgent.make({
          name,
          run: (n: number) =>
            Effect.zipRight(
              Effect.sleep("100 millis"),
              n === 3 ? Effect.fail(new Refused({ reason: "n" })) : Effect.succeed(n)
            )
        })
        return yield* withClock(
          Executor.run(Task.fromIterable([0, 1, 2, 3, 4]), agent.factory).pipe(Effect.tagMetrics("team", "blue"))
        )
      })

    const checkBatch = (metrics: ResourceMetrics, name: string) => {
      const labels = { agent: name, team: "blue" }
      const succeeded = point(metrics, "effect_parallel_agents_tasks_succeeded", name)
      assert.strictEqual(succeeded.metric.dataPointType, DataPointType.SUM)
      assert.isTrue(succeeded.metric.dataPointType === DataPointType.SUM && succeeded.metric.isMonotonic)
      assert.strictEqual(succeeded.metric.aggregationTemporality, AggregationTemporality.CUMULATIVE)
      assert.deepStrictEqual(succeeded.point.attributes, labels)
      assert.strictEqual(succeeded.point.value, 4)
      assert.strictEqual(point(metrics, "effect_parallel_agents_tasks_failed", name).point.value, 1)
      assert.strictEqual(point(metrics, "effect_parallel_agents_tasks_started", name).point.value, 5)
      const inFlight = point(metrics, "effect_parallel_agents_tasks_in_flight", name)
      assert.strictEqual(inFlight.metric.dataPointType, DataPointType.GAUGE)
      assert.strictEqual(inFlight.point.value, 0)

      const duration = point(metrics, "effect_parallel_agents_task_duration", name)
      assert.strictEqual(duration.metric.dataPointType, DataPointType.HISTOGRAM)
      assert.strictEqual(duration.metric.descriptor.unit, "milliseconds")
      assert.deepStrictEqual(duration.point.attributes, { time_unit: "milliseconds", ...labels })
      const histogram = duration.point.value as Histogram
      assert.strictEqual(histogram.count, 5)
      assert.strictEqual(histogram.sum, 500)
      const boundaries = histogram.buckets.boundaries
      assert.deepStrictEqual(boundaries.slice(0, 5), [5, 10, 25, 50, 100])
      // Counts per bucket (not cumulative): all five tasks in (50, 100].
      assert.strictEqual(histogram.buckets.counts.length, boundaries.length + 1)
      assert.strictEqual(histogram.buckets.counts[boundaries.indexOf(100)], 5)
      assert.strictEqual(histogram.buckets.counts.reduce((a, b) => a + b, 0), 5)
    }

    it.effect("reach a PrometheusExporter, and scrape as Prometheus counters and histograms", () =>
      Effect.gen(function*() {
        const name = uniqueName("prom")
        const reader = new PrometheusExporter({ preventServerStart: true })
        // Collect while the layer is open: closing it shuts the reader down.
        const { errors, resourceMetrics } = yield* Effect.zipRight(batch(name), Effect.promise(() => reader.collect()))
          .pipe(Effect.provide(metricsWith(reader)))
        assert.deepStrictEqual(errors, [])
        checkBatch(resourceMetrics, name)

        const text = new PrometheusSerializer().serialize(resourceMetrics).split("\n")
        const line = (prefix: string) => text.filter((line) => line.startsWith(prefix) && line.includes(`"${name}"`))
        const scope = `otel_scope_name="@effect/opentelemetry/Metrics"`
        assert.deepStrictEqual(line("effect_parallel_agents_tasks_succeeded"), [
          `effect_parallel_agents_tasks_succeeded_total{agent="${name}",team="blue",${scope}} 4`
        ])
        assert.deepStrictEqual(line("effect_parallel_agents_tasks_failed"), [
          `effect_parallel_agents_tasks_failed_total{agent="${name}",team="blue",${scope}} 1`
        ])
        const labels = `time_unit="milliseconds",agent="${name}",team="blue",${scope}`
        assert.includeMembers(line("effect_parallel_agents_task_duration"), [
          `effect_parallel_agents_task_duration_count{${labels}} 5`,
          `effect_parallel_agents_task_duration_sum{${labels}} 500`,
          `effect_parallel_agents_task_duration_bucket{${labels},le="50"} 0`,
          `effect_parallel_agents_task_duration_bucket{${labels},le="100"} 5`,
          `effect_parallel_agents_task_duration_bucket{${labels},le="+Inf"} 5`
        ])
      }).pipe(Effect.provide(Executor.layer())))

    it.effect("reach a push reader (the path an OTLP exporter takes)", () =>
      Effect.gen(function*() {
        const name = uniqueName("push")
        const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE)
        // The interval never fires during the test: `forceFlush` exports.
        const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 })
        yield* Effect.gen(function*() {
          yield* batch(name)
          yield* Effect.promise(() => reader.forceFlush())
          const exported = exporter.getMetrics()
          assert.isAtLeast(exported.length, 1)
          checkBatch(exported.at(-1)!, name)
          assert.strictEqual(exported.at(-1)!.resource.attributes["service.name"], serviceName)
        }).pipe(Effect.provide(metricsWith(reader)))
      }).pipe(Effect.provide(Executor.layer())))
  })
})
