/**
 * p-limit: `Promise.all` over every task, each through the limiter.
 */
import pLimit from "p-limit"
import type { Run } from "../workloads.js"
import { promiseTask } from "./promise.js"

export const run: Run = async (inputs, workload) => {
  const limit = pLimit(workload.concurrency)
  const task = promiseTask(workload)
  const results = await Promise.all(inputs.map((input) => limit(() => task(input))))
  return () => results
}
