import type * as RunJournal from "../../../src/RunJournal.js"

/** A result as the engine will store it: an encoded `TaskResult`, with text a store must keep byte for byte. */
export const resultOf = (taskId: string, tag: RunJournal.Outcome) => ({
  _tag: tag,
  task: { id: taskId, input: { text: `document ${taskId}: naïve café 日本語 😀 \u0000 "quoted" \\ back` } },
  index: 0,
  attempt: 1,
  startedAt: 1_700_000_000_000,
  durationMillis: 12.5,
  usage: { requests: 1, inputTokens: 34, outputTokens: 9, cost: 0.000123 },
  ...(tag === "Succeeded" ? { value: { label: "positive", scores: [0.1, 1e-7, 0, 1e21, -2.5] } } : {}),
  ...(tag === "Failed" ? { cause: { _tag: "Fail", error: { _tag: "AgentRunError", message: "boom" } } } : {})
})

export const entryOf = (taskId: string, outcome: RunJournal.Outcome = "Succeeded"): RunJournal.Entry => ({
  taskId,
  inputHash: `hash-of-${taskId}`,
  outcome,
  result: resultOf(taskId, outcome)
})
