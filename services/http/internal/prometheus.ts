/**
 * The metrics of the app (Effect's global metric registry, `Metric.snapshot`) in Prometheus' text format: the
 * engine's `ExecutorMetrics` and any metric the app defines. Counters get the conventional `_total` suffix, as the
 * OpenTelemetry Prometheus exporter writes them; histograms their cumulative `_bucket` series with `le`, `_sum` and
 * `_count`; summaries their `quantile` series; a frequency one counter series per value.
 *
 * @internal
 */
import type * as MetricPair from "effect/MetricPair"
import * as MetricState from "effect/MetricState"
import * as Option from "effect/Option"

/** The media type of the format. @internal */
export const contentType = "text/plain; version=0.0.4; charset=utf-8"

const name = (text: string): string => {
  const cleaned = text.replace(/[^a-zA-Z0-9_:]/g, "_")
  return /^[a-zA-Z_:]/.test(cleaned) ? cleaned : `_${cleaned}`
}

const labelName = (text: string): string => {
  const cleaned = text.replace(/[^a-zA-Z0-9_]/g, "_")
  return /^[a-zA-Z_]/.test(cleaned) ? cleaned : `_${cleaned}`
}

const escapeLabel = (value: string): string => value.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, "\\\"")

const escapeHelp = (text: string): string => text.replace(/\\/g, "\\\\").replace(/\n/g, "\\n")

const value = (n: number | bigint): string =>
  typeof n === "bigint"
    ? n.toString()
    : Number.isNaN(n)
    ? "NaN"
    : n === Infinity
    ? "+Inf"
    : n === -Infinity
    ? "-Inf"
    : String(n)

const labels = (pairs: ReadonlyArray<readonly [string, string]>): string =>
  pairs.length === 0 ? "" : `{${pairs.map(([key, v]) => `${labelName(key)}="${escapeLabel(v)}"`).join(",")}}`

interface Family {
  readonly type: "counter" | "gauge" | "histogram" | "summary"
  readonly help: string | undefined
  readonly lines: Array<string>
}

/** The text of a snapshot of metrics, families sorted by name. @internal */
export const format = (snapshot: ReadonlyArray<MetricPair.MetricPair.Untyped>): string => {
  const families = new Map<string, Family>()
  const family = (key: string, type: Family["type"], help: string | undefined) => {
    let found = families.get(key)
    if (found === undefined) {
      found = { type, help, lines: [] }
      families.set(key, found)
    }
    return found.lines
  }
  for (const pair of snapshot) {
    const key = pair.metricKey
    const base = name(key.name)
    const help = Option.getOrUndefined(key.description)
    const tags = key.tags.map((tag) => [tag.key, tag.value] as const)
    const state: unknown = pair.metricState
    if (MetricState.isCounterState(state)) {
      const total = base.endsWith("_total") ? base : `${base}_total`
      family(total, "counter", help).push(`${total}${labels(tags)} ${value(state.count)}`)
    } else if (MetricState.isGaugeState(state)) {
      family(base, "gauge", help).push(`${base}${labels(tags)} ${value(state.value)}`)
    } else if (MetricState.isHistogramState(state)) {
      const lines = family(base, "histogram", help)
      let infinite = false
      for (const [bound, count] of state.buckets) {
        if (bound === Infinity) infinite = true
        lines.push(`${base}_bucket${labels([...tags, ["le", value(bound)]])} ${value(count)}`)
      }
      if (!infinite) lines.push(`${base}_bucket${labels([...tags, ["le", "+Inf"]])} ${value(state.count)}`)
      lines.push(`${base}_sum${labels(tags)} ${value(state.sum)}`)
      lines.push(`${base}_count${labels(tags)} ${value(state.count)}`)
    } else if (MetricState.isSummaryState(state)) {
      const lines = family(base, "summary", help)
      for (const [quantile, v] of state.quantiles) {
        lines.push(
          `${base}${labels([...tags, ["quantile", value(quantile)]])} ${value(Option.getOrElse(v, () => NaN))}`
        )
      }
      lines.push(`${base}_sum${labels(tags)} ${value(state.sum)}`)
      lines.push(`${base}_count${labels(tags)} ${value(state.count)}`)
    } else if (MetricState.isFrequencyState(state)) {
      const total = base.endsWith("_total") ? base : `${base}_total`
      const lines = family(total, "counter", help)
      for (const [occurrence, count] of state.occurrences) {
        lines.push(`${total}${labels([...tags, ["key", occurrence]])} ${value(count)}`)
      }
    }
  }
  const out: Array<string> = []
  for (const key of Array.from(families.keys()).sort()) {
    const { help, lines, type } = families.get(key)!
    if (help !== undefined) out.push(`# HELP ${key} ${escapeHelp(help)}`)
    out.push(`# TYPE ${key} ${type}`)
    for (const line of lines) out.push(line)
  }
  return out.length === 0 ? "" : `${out.join("\n")}\n`
}
