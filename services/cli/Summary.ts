/**
 * The summary of a `parallel-agents run`: the outcomes, the wall time against the time one after another, the model
 * and its tokens, and where the results and the report went. Printed for people on stderr, or with `--json` as one
 * JSON object, the last line on stdout.
 *
 * @since 0.1.0
 */
import * as RunReport from "../../src/RunReport.js"
import * as Usage from "../../src/Usage.js"
import * as Progress from "./internal/progress.js"
import * as Text from "./internal/text.js"

/**
 * The summary of a run, as `--json` prints it.
 *
 * @category models
 * @since 0.1.0
 */
export interface Summary {
  readonly agent: string
  readonly model: string
  readonly runId: string
  /** How many agents ran at once, at most. */
  readonly concurrency: number
  /** The input file, as an absolute path. */
  readonly input: string
  /** The results file, or `null` when the results went to stdout. */
  readonly output: string | null
  /**
   * `true` when the run failed before it wrote its first line (a journal it could not read back, say): the results
   * file was left as it was, not replaced.
   */
  readonly outputKept?: boolean | undefined
  /**
   * `true` when a write of result lines failed (a full disk, say): the results file holds only the lines written
   * before it.
   */
  readonly outputFailed?: boolean | undefined
  /** The HTML report, or `null` without `--report`. */
  readonly report: string | null
  /** Whether Ctrl-C stopped the run. */
  readonly interrupted: boolean
  readonly exitCode: number
  /** The tasks that ended, by outcome. */
  readonly summary: RunReport.Summary
  /** Failed tasks whose line was not JSON or did not fit the agent's input schema. */
  readonly badInput: number
  /** Non-blank lines with a result: every line read, unless Ctrl-C stopped the run. */
  readonly linesDone: number
  /** Non-blank lines in the input, `null` if the run ended before they were counted. */
  readonly linesTotal: number | null
  readonly wallMillis: number
  /** The sum of task durations: what the tasks would take one after another. */
  readonly busyMillis: number
  /** Attempts that failed and were retried. */
  readonly retries: number
  readonly usage: Usage.Usage
  /** With `--journal` or `--resume`: the journal file, as an absolute path. */
  readonly journal?: string | undefined
  /** With `--journal` or `--resume`: the results read back from the journal rather than run again. */
  readonly replayed?: number | undefined
}

/**
 * The summary for people: the outcomes, the wall time against the time one after another, the model and its
 * tokens, and where the results and the report went. `path` shows a file's path (relative to the working
 * directory, say). Control characters in names and paths are escaped.
 *
 * @category getters
 * @since 0.1.0
 */
export const format = (
  summary: Summary,
  options?: { readonly path?: ((file: string) => string) | undefined }
): string => {
  const show = (file: string) => Text.escape(options?.path === undefined ? file : options.path(file))
  const s = summary.summary
  const share = (n: number) => n === 0 || s.total === 0 ? "" : `  ${((n / s.total) * 100).toFixed(1)}%`
  const lines = [
    `${summary.interrupted ? "Interrupted: " : ""}${Text.escape(summary.agent)}: ${Progress.count(s.total)} ${
      s.total === 1 ? "task" : "tasks"
    } from ${show(summary.input)} at concurrency ${summary.concurrency}${
      summary.linesTotal === null || summary.linesTotal === summary.linesDone
        ? ""
        : ` (${Progress.count(summary.linesDone)} of ${Progress.count(summary.linesTotal)} lines)`
    }`
  ]
  const rows: Array<[string, number, string]> = [
    ["succeeded", s.succeeded, ""],
    ["failed", s.failed, summary.badInput > 0 ? `  (bad input: ${Progress.count(summary.badInput)})` : ""],
    ["timed out", s.timedOut, ""],
    ["interrupted", s.interrupted, ""]
  ]
  const width = Math.max(...rows.map(([, n]) => Progress.count(n).length))
  for (const [label, n, note] of rows) {
    lines.push(`  ${label.padEnd(12)}${Progress.count(n).padStart(width)}${share(n)}${note}`)
  }
  const wall = RunReport.formatMillis(summary.wallMillis)
  lines.push(
    summary.busyMillis > 0 && summary.wallMillis > 0
      ? `Wall time: ${wall} (one after another: ${RunReport.formatMillis(summary.busyMillis)}, ${
        against(summary.wallMillis, summary.busyMillis)
      })`
      : `Wall time: ${wall}`
  )
  if (summary.retries > 0) lines.push(`Retried attempts: ${Progress.count(summary.retries)}`)
  if (summary.journal !== undefined) {
    lines.push(
      `Journal: ${show(summary.journal)}, run ${Text.escape(summary.runId)}${
        summary.replayed === undefined || summary.replayed === 0
          ? ""
          : ` (${Progress.count(summary.replayed)} results replayed, not run again)`
      }`
    )
  }
  lines.push(
    `Model: ${Text.escape(summary.model)}${
      summary.model === "offline" ? " (generated answers: no key, no network; set AGENT_MODEL for a real one)" : ""
    }`
  )
  if (!Usage.isEmpty(summary.usage)) {
    lines.push(
      `Tokens: ${Progress.count(summary.usage.inputTokens)} in, ${
        Progress.count(summary.usage.outputTokens)
      } out, over ${Progress.count(summary.usage.requests)} ${summary.usage.requests === 1 ? "request" : "requests"}`
    )
  }
  lines.push(
    `Results: ${summary.output === null ? "stdout" : show(summary.output)}${
      summary.outputKept === true
        ? ", left as it was: the run wrote no line"
        : summary.outputFailed === true
        ? ", incomplete: writing to it failed (above)"
        : ""
    }`
  )
  if (summary.report !== null) lines.push(`Report: ${show(summary.report)}`)
  return lines.join("\n")
}

/** The wall time against the time one after another: `7.5x faster`, `2.0x slower`, or `about the same`. */
const against = (wallMillis: number, busyMillis: number): string => {
  const faster = busyMillis / wallMillis
  const shown = faster >= 1 ? faster.toFixed(1) : (1 / faster).toFixed(1)
  return shown === "1.0" ? "about the same" : faster > 1 ? `${shown}x faster` : `${shown}x slower`
}
