import { assert, describe, it } from "@effect/vitest"
import * as Text from "../../../services/cli/internal/text.js"
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
    const failedWrite = Summary.format({ ...summary, outputFailed: true }, {
      path: (file) => file.replace("/work/", "")
    })
    assert.include(failedWrite, "\nResults: results.jsonl, incomplete: writing to it failed (above)\n")
    const one = Summary.format({ ...summary, usage: Usage.make({ requests: 1, inputTokens: 32, outputTokens: 9 }) })
    assert.include(one, "\nTokens: 32 in, 9 out, over 1 request\n")
  })

  it("a run slower than one after another says so; names and paths cannot drive the terminal", () => {
    const summary: Summary.Summary = {
      agent: "classify",
      model: "compat:\u001b]0;title\u0007model",
      runId: "r1",
      concurrency: 1,
      input: "/work/tasks\u001b[2J.jsonl",
      output: null,
      report: null,
      interrupted: false,
      exitCode: 0,
      summary: { total: 2, succeeded: 2, failed: 0, timedOut: 0, interrupted: 0 },
      badInput: 0,
      linesDone: 2,
      linesTotal: 2,
      wallMillis: 500,
      busyMillis: 250,
      retries: 0,
      usage: Usage.empty
    }
    const text = Summary.format(summary)
    assert.include(text, "Wall time: 500 ms (one after another: 250 ms, 2.0x slower)")
    assert.include(text, "classify: 2 tasks from /work/tasks\\x1b[2J.jsonl at concurrency 1")
    const one = { ...summary, summary: { ...summary.summary, total: 1, succeeded: 1 }, linesDone: 1, linesTotal: 1 }
    assert.include(Summary.format(one), "classify: 1 task from /work/tasks")
    assert.include(text, "Model: compat:\\x1b]0;title\\x07model")
    assert.isFalse(Text.hasControl(text))
    assert.include(Summary.format({ ...summary, wallMillis: 250 }), "(one after another: 250 ms, about the same)")
    assert.include(Summary.format({ ...summary, wallMillis: 100 }), "(one after another: 250 ms, 2.5x faster)")
  })
})
