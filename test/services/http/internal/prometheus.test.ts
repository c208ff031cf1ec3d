import { assert, describe, it } from "@effect/vitest"
import { Effect, Metric, MetricBoundaries } from "effect"
import * as prometheus from "../../../../services/http/internal/prometheus.js"
import { uniqueName } from "../../../utils.js"

describe("prometheus.format", () => {
  it.effect("writes counters with _total, gauges, cumulative histograms, summaries and frequencies", () =>
    Effect.gen(function*() {
      const name = uniqueName("test").replace(/-/g, "_")
      const counter = Metric.counter(`${name}_requests`, { description: "Requests\nmade" }).pipe(
        Metric.tagged("path", "a\"b\\c")
      )
      const gauge = Metric.gauge(`${name}_depth`)
      const histogram = Metric.histogram(`${name}_latency`, MetricBoundaries.fromIterable([10, 100]))
      const summary = Metric.summary({
        name: `${name}_sizes`,
        maxAge: "1 minute",
        maxSize: 10,
        error: 0,
        quantiles: [0.5]
      })
      const frequency = Metric.frequency(`${name}_colors`)
      yield* Metric.incrementBy(counter, 3)
      yield* Metric.set(gauge, 7)
      yield* Effect.forEach([5, 50, 500], (n) => Metric.update(histogram, n))
      yield* Metric.update(summary, 4)
      yield* Effect.forEach(["red", "red", "blue"], (color) => Metric.update(frequency, color))
      const text = prometheus.format(yield* Metric.snapshot)
      const ours = text.split("\n").filter((line) => line.includes(name)).join("\n")
      assert.strictEqual(
        ours,
        [
          `# TYPE ${name}_colors_total counter`,
          `${name}_colors_total{key="red"} 2`,
          `${name}_colors_total{key="blue"} 1`,
          `# TYPE ${name}_depth gauge`,
          `${name}_depth 7`,
          `# TYPE ${name}_latency histogram`,
          `${name}_latency_bucket{le="10"} 1`,
          `${name}_latency_bucket{le="100"} 2`,
          `${name}_latency_bucket{le="+Inf"} 3`,
          `${name}_latency_sum 555`,
          `${name}_latency_count 3`,
          `# HELP ${name}_requests_total Requests\\nmade`,
          `# TYPE ${name}_requests_total counter`,
          `${name}_requests_total{path="a\\"b\\\\c"} 3`,
          `# TYPE ${name}_sizes summary`,
          `${name}_sizes{quantile="0.5"} 4`,
          `${name}_sizes_sum 4`,
          `${name}_sizes_count 1`
        ].join("\n")
      )
      assert.isTrue(text.endsWith("\n"))
    }))
})
