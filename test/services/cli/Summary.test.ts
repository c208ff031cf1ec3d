import { assert, describe, it } from "@effect/vitest"
import * as Summary from "../../../services/cli/Summary.js"
import * as Usage from "../../../src/Usage.js"

describe("Summary", () => {
  it("the summary: outcomes, wall time against one after another, model, tokens, where the results went", () => {
    const summary: Summary.Summary = {
      agent: "classify",
      model: "offline",
      runId: "r1",
      concurrency: 8,
      input: "/work/tasks.jsonl",
      output: "/work/results.jsonl",
      report: "/work/report.html",
      interrupted: false,
      exitCode: 1,
      summary: { total: 40, succeeded: 38, failed: 2, timedOut: 0, interrupted: 0 },
      badInput: 2,
      linesDone: 40,
      linesTotal: 40,
      wallMillis: 600,
      busyMillis: 4_500,
      retries: 0,
      usage: Usage.make({ requests: 38, inputTokens: 1_292, outputTokens: 342 })
    }
    assert.strictEqual(
      Summary.format(summary, { path: (file) => file.replace("/work/", "") }),
      [
        "classify: 40 tasks from tasks.jsonl at concurrency 8",
        "  succeeded   38  95.0%",
        "  failed       2  5.0%  (bad input: 2)",
        "  timed out    0",
        "  interrupted  0",
        "Wall time: 600 ms (one after another: 4.50 s, 7.5x faster)",
        "Model: offline (generated answers: no key, no network; set AGENT_MODEL for a real one)",
        "Tokens: 1,292 in, 342 out, over 38 requests",
        "Results: results.jsonl",
        "Report: report.html"
      ].join("\n")
    )
    const interrupted = Summary.format({
      ...summary,
      interrupted: true,
      output: null,
      report: null,
      linesDone: 12,
      summary: { total: 12, succeeded: 9, failed: 0, timedOut: 0, interrupted: 3 }
    })
    assert.match(
      interrupted,
      /^Interrupted: classify: 12 tasks from \/work\/tasks.jsonl at concurrency 8 \(12 of 40 lines\)/
    )
    assert.match(interrupted, /\nResults: stdout$/)
  })
})
