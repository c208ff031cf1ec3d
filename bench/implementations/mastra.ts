/**
 * Mastra's workflow `.foreach`: a workflow whose input is the array of inputs, with one step run for each element,
 * `concurrency` of them at a time; the workflow's result is the steps' outputs in input order. The step runs the
 * same promise task as `p-limit` (a fresh agent object, a 30-second timeout raced with its call, the outcome
 * captured).
 */
import { createStep, createWorkflow } from "@mastra/core/workflows"
import { z } from "zod"
import type { Outcome, Run } from "../workloads.js"
import { promiseTask } from "./promise.js"

const outcome = z.union([z.object({ ok: z.number() }), z.object({ error: z.unknown() })])

export const run: Run = async (inputs, workload) => {
  const task = promiseTask(workload)
  const worker = createStep({
    id: "worker",
    inputSchema: z.number(),
    outputSchema: outcome,
    execute: ({ inputData }) => task(inputData)
  })
  const workflow = createWorkflow({
    id: "fanout",
    inputSchema: z.array(z.number()),
    outputSchema: z.array(outcome)
  }).foreach(worker, { concurrency: workload.concurrency }).commit()
  const result = await (await workflow.createRun()).start({ inputData: [...inputs] })
  if (result.status !== "success") throw new Error(`mastra: the workflow ended ${result.status}`)
  const outcomes: ReadonlyArray<Outcome> = result.result
  return () => outcomes
}
